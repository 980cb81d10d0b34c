// Package demo wires Watchfloor's demo: a gateway bound to loopback and a
// netprobe for this machine in the same process, connected over the same
// loopback WebSocket a remote netprobe would use, running every sampler
// type's sample configuration. It needs no configuration file. Given a
// victoria-metrics binary, it also runs VictoriaMetrics on loopback and
// exports its history there.
package demo

import (
	"context"
	"crypto/rand"
	_ "embed"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/watchfloor/watchfloor/gateway"
	"github.com/watchfloor/watchfloor/gateway/config"
	"github.com/watchfloor/watchfloor/gateway/store"
	"github.com/watchfloor/watchfloor/netprobe"
	"github.com/watchfloor/watchfloor/samplers"
	_ "github.com/watchfloor/watchfloor/samplers/all" // the demo runs every sampler type
)

// DefaultListen is where the demo listens unless told otherwise.
const DefaultListen = "127.0.0.1:7039"

// demoAdmin is the demo's administrator, and onceTTL how long the login
// link Run prints works (once).
const (
	demoAdmin = "admin"
	onceTTL   = 15 * time.Minute
)

// Options configure a demo.
type Options struct {
	// Listen is a loopback host:port; DefaultListen if empty. Port 0 picks
	// a free port.
	Listen string
	Logger *slog.Logger
	// Ready, if set, is called once the gateway listens, with what a
	// newcomer needs to start.
	Ready func(Started)
	// Store is the store file, where rules authored through the API are
	// kept from one run to the next; "" keeps them in memory only.
	Store string
	// VictoriaMetrics is the path of a victoria-metrics binary for the
	// demo to run on loopback and export its history to, or "" for none.
	// If it does not start, the demo runs without export and logs why.
	VictoriaMetrics string
	// VictoriaMetricsData is the directory where it keeps its data
	// (DefaultVictoriaMetricsData, say); "" is a temporary directory,
	// removed when the demo ends.
	VictoriaMetricsData string
}

// Started is what a demo tells Ready.
type Started struct {
	// Link is the one-time link that logs the demo's administrator in.
	Link string
	// URL is the gateway's base URL, http://host:port.
	URL string
	// Probe is this machine's probe, and its entity.
	Probe string
	// VictoriaMetrics is the base URL of the VictoriaMetrics the demo
	// runs and exports to, and VictoriaMetricsPID its process; "" and 0
	// when there is none.
	VictoriaMetrics    string
	VictoriaMetricsPID int
	// PagerLog is the file the demo's pager writes each message to.
	PagerLog string
}

// History is the URL of the last five minutes of this machine's CPU
// utilisation in the history API, in ten-second steps.
func (s Started) History() string {
	cell := samplers.DataviewPath{Probe: s.Probe, Entity: s.Probe, Sampler: "cpu", Dataview: "cpu"}.Cell("total", "utilisation")
	// A slash needs no escaping in a query, and the URL reads better
	// with them.
	return s.URL + "/api/v1/history?path=" + strings.ReplaceAll(url.QueryEscape(cell.String()), "%2F", "/") + "&from=-5m&step=10s"
}

// VictoriaMetricsUI is the URL of its web UI, "" when there is none.
func (s Started) VictoriaMetricsUI() string {
	if s.VictoriaMetrics == "" {
		return ""
	}
	return s.VictoriaMetrics + "/vmui"
}

// DefaultStore is the demo's store file: watchfloor/demo.db in the user's
// cache directory, or "" (memory only) where there is none.
func DefaultStore() string {
	dir, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	return filepath.Join(dir, "watchfloor", "demo.db")
}

// demoCalendars are the demo's desks, venues and work cycles: the demo's
// entity is an LSE system; New York's cycle and a 24/7 FX desk show how
// other venues' days look beside it.
const demoCalendars = `calendars:
  desks:
    - {name: London, zone: Europe/London}
    - {name: New York, zone: America/New_York}
    - {name: Vilnius, zone: Europe/Vilnius}
    - {name: Tokyo, zone: Asia/Tokyo}
  holidays:
    lse: {dates: {2026-12-25: Christmas Day, 2026-12-28: Boxing Day (substitute), 2027-01-01: New Year's Day}, half_days: {2026-12-24: "12:30", 2026-12-31: "12:30"}}
  schedules:
    - {name: lse-trading, zone: Europe/London, days: [mon, tue, wed, thu, fri], windows: ["08:00-16:30"], holidays: lse}
    - {name: nyse-trading, zone: America/New_York, days: [mon, tue, wed, thu, fri], windows: ["09:30-16:00"]}
  work_cycles:
    - {name: lse-equities, where: {system: lse}, zone: Europe/London, days: [mon, tue, wed, thu, fri], holidays: lse,
       phases: {bod: "07:00", intraday: "08:00", eod: "16:30", closed: "17:30"}}
    - {name: nyse-equities, where: {system: nyse}, zone: America/New_York, days: [mon, tue, wed, thu, fri],
       phases: {bod: "08:00", intraday: "09:30", eod: "16:00", closed: "17:00"}}
    - {name: fx, where: {system: fx}, zone: UTC, preset: 24/7}
`

// demoDay is the demo's compressed day, the demo entity's work cycle
// (listed first, so it is the one its entity follows): Beginning of Day
// a minute or two after the demo starts, Intraday a minute later, End of
// Day four minutes after that and Closed two minutes later, in UTC, so a
// newcomer sees the phases change and the rules that follow them judge.
// A start too close to midnight for the day to fit begins just after it.
func demoDay(now time.Time) string {
	now = now.UTC()
	base := now.Truncate(time.Minute).Add(time.Minute)
	if base.Add(9*time.Minute).Day() != base.Day() {
		base = time.Date(base.Year(), base.Month(), base.Day(), 0, 0, 0, 0, time.UTC).AddDate(0, 0, 1)
	}
	at := func(m int) string { return base.Add(time.Duration(m) * time.Minute).Format("15:04") }
	return fmt.Sprintf("    - {name: demo-day, where: {calendar: demo-day}, zone: UTC, phases: {bod: %q, intraday: %q, eod: %q, closed: %q}}\n",
		at(1), at(2), at(6), at(8))
}

// demoMaintenance is the demo's planned maintenance: a release over the
// coming weekend for the LSE systems (the demo's entity among them),
// listed at /api/v1/maintenance; the demo's incidents are not held by it
// unless the demo runs into the weekend.
func demoMaintenance(now time.Time) string {
	london, _ := time.LoadLocation("Europe/London")
	day := now.In(london)
	for day.Weekday() != time.Saturday || !day.After(now) {
		day = day.AddDate(0, 0, 1)
		day = time.Date(day.Year(), day.Month(), day.Day(), 0, 0, 0, 0, london)
	}
	sunday := day.AddDate(0, 0, 1)
	return fmt.Sprintf(`maintenance:
  - id: weekend-release
    reason: OMS release over the weekend; incidents wait until it is over
    zone: Europe/London
    start: %sT08:00
    end: %sT18:00
    where: {system: lse}
`, day.Format("2006-01-02"), sunday.Format("2006-01-02"))
}

// demoEstate lists the rest of the demo's estate: systems in production,
// pre-production and UAT beside the machine's own entity, so that the wall
// has environments to group and filter by. They are this machine too,
// through the same probe, each with its own CPU and memory samplers.
func demoEstate(probe string) string {
	var b strings.Builder
	for _, e := range []struct{ name, attrs string }{
		{"lse-oms-preprod", "{environment: pre-production, client: " + Client + ", system: lse}"},
		{"lse-oms-uat", "{environment: uat, client: " + Client + ", system: lse}"},
		{"nyse-sor", "{environment: production, client: globex, system: nyse}"},
		{"nyse-sor-uat", "{environment: uat, client: globex, system: nyse}"},
		{"fx-pricing", "{environment: production, system: fx}"},
		{"fx-pricing-uat", "{environment: uat, system: fx}"},
	} {
		fmt.Fprintf(&b, "  - name: %q\n    probe: %q\n    attributes: %s\n    samplers: [cpu, memory]\n", e.name, probe, e.attrs)
	}
	return b.String()
}

// Client is the client the demo's entity serves: its incidents are
// the client's, with updates due and notices drafted.
const Client = "acme-trading"

// defaultRules are the demo's rules, examples for every sampler it runs.
//
//go:embed rules.yaml
var defaultRules string

// Config returns the demo's gateway configuration for a probe named probe
// with the given token: one entity for this machine running the sample
// configuration of every registered sampler type, the default rules, an
// in-memory history, incidents for the entity's client told to the
// pager whose script is in the directory pager, and export to the
// remote-write URL remoteWrite unless it is "".
func Config(listen, probe, token, remoteWrite, pager string) (*config.Config, error) {
	var b strings.Builder
	fmt.Fprintf(&b, "listen: %q\n", listen)
	fmt.Fprintf(&b, "probes:\n  - name: %q\n    token_sha256: %q\n", probe, config.HashToken(token))
	b.WriteString("samplers:\n")
	var names []string
	for _, typ := range samplers.TypeNames() {
		t, _ := samplers.Lookup(typ)
		if t.SampleConfig == "" {
			continue
		}
		b.WriteString(indentItem(t.SampleConfig))
		names = append(names, typ)
	}
	fmt.Fprintf(&b, "entities:\n  - name: %q\n    probe: %q\n    attributes: {environment: production, client: %s, system: lse, calendar: demo-day}\n    samplers: [%s]\n",
		probe, probe, Client, strings.Join(names, ", "))
	b.WriteString(demoEstate(probe))
	b.WriteString(strings.Replace(demoCalendars, "  work_cycles:\n", "  work_cycles:\n"+demoDay(time.Now()), 1))
	b.WriteString(demoMaintenance(time.Now()))
	// The demo's administrator has no password: the one-time link Run
	// prints logs them in. A local Prometheus may scrape /metrics.
	fmt.Fprintf(&b, "users:\n  - name: %s\n    roles: [admin]\nmetrics:\n  public_on_loopback: true\n", demoAdmin)
	// The cells a wall would chart keep an hour; the rest the default.
	b.WriteString(`history:
  window: 15m
  windows:
    - match: "*/*/cpu/cpu/total/utilisation"
      window: 1h
    - match: "*/*/memory/memory/physical/usedPercent"
      window: 1h
`)
	// The demo's client is due an update every few minutes, so that a
	// newcomer sees one fall due; an unacknowledged critical incident
	// escalates after two minutes, and again after ten. The pager hears
	// of it all.
	b.WriteString(pagerConfig(pager))
	fmt.Fprintf(&b, `incidents:
  reopen_window: 5m
  notify: [%[1]s]
  default_escalation: desk
  escalations:
    desk:
      - {after: 2m, notify: [%[1]s]}
      - {after: 10m, notify: [%[1]s]}
  clients:
    %[2]s: {update_every: 3m}
`, pagerAction, Client)
	if remoteWrite != "" {
		fmt.Fprintf(&b, "remote_write:\n  - url: %q\n    name: %s\n", remoteWrite, victoriaTarget)
	}
	b.WriteString(defaultRules)
	return config.Parse("demo", []byte(b.String()))
}

// indentItem turns a YAML document into one item of a YAML list.
func indentItem(doc string) string {
	var b strings.Builder
	first := true
	for _, line := range strings.Split(strings.TrimRight(doc, "\n"), "\n") {
		trimmed := strings.TrimSpace(line)
		if trimmed == "" || strings.HasPrefix(trimmed, "#") {
			continue
		}
		if first {
			b.WriteString("  - " + line + "\n")
			first = false
		} else {
			b.WriteString("    " + line + "\n")
		}
	}
	return b.String()
}

// Run starts the demo and blocks until ctx is done.
func Run(ctx context.Context, opts Options) error {
	if opts.Listen == "" {
		opts.Listen = DefaultListen
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	host, _, err := net.SplitHostPort(opts.Listen)
	if err != nil {
		return fmt.Errorf("demo listen address %q: %w", opts.Listen, err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("demo mode binds loopback only; %q is not a loopback address", opts.Listen)
	}
	ln, err := net.Listen("tcp", opts.Listen)
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	addr := ln.Addr().String()

	probe, err := os.Hostname()
	if err != nil || probe == "" {
		probe = "localhost"
	}
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		ln.Close()
		return err
	}
	token := hex.EncodeToString(secret)
	// VictoriaMetrics starts first and stops last, so that it takes what
	// the gateway sends up to the end.
	var vm *victoria
	writeURL := ""
	if opts.VictoriaMetrics != "" {
		vm, err = startVictoria(ctx, opts.VictoriaMetrics, opts.VictoriaMetricsData, opts.Logger)
		switch {
		case err == nil:
			defer vm.stop()
			writeURL = vm.writeURL()
			opts.Logger.Info("VictoriaMetrics runs for the demo and takes its history", "url", vm.url(), "pid", vm.pid())
		case ctx.Err() != nil: // stopped while it started
			ln.Close()
			return nil
		default:
			opts.Logger.Warn("VictoriaMetrics did not start; the demo runs without exporting its history", "err", err)
		}
	}
	pager, removePager, err := newPager()
	if err != nil {
		ln.Close()
		return fmt.Errorf("demo pager: %w", err)
	}
	defer removePager()
	cfg, err := Config(addr, probe, token, writeURL, pager)
	if err != nil {
		ln.Close()
		return fmt.Errorf("demo configuration: %w", err)
	}
	st := store.OpenMemory()
	if opts.Store != "" {
		if err := os.MkdirAll(filepath.Dir(opts.Store), 0o700); err != nil {
			ln.Close()
			return fmt.Errorf("demo store: %w", err)
		}
		if st, err = store.Open(opts.Store); err != nil {
			ln.Close()
			return fmt.Errorf("demo store: %w", err)
		}
		opts.Logger.Info("rules authored through the API and incidents are kept", "store", opts.Store)
	}
	defer st.Close()
	var control string
	if opts.Store != "" {
		control = gateway.ControlSocket(opts.Store)
	}
	gw, err := gateway.New(gateway.Options{Config: cfg, Listener: ln, Logger: opts.Logger, Store: st, ControlSocket: control})
	if err != nil {
		ln.Close()
		return err
	}
	np, err := netprobe.New(netprobe.Options{Gateway: "ws://" + addr, Name: probe, Token: token, Logger: opts.Logger})
	if err != nil {
		ln.Close()
		return err
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	gwErr := make(chan error, 1)
	go func() { gwErr <- gw.Run(ctx) }()
	probeDone := make(chan struct{})
	go func() {
		defer close(probeDone)
		np.Run(ctx)
	}()
	if opts.Ready != nil {
		link, err := gw.OnceLink(demoAdmin, onceTTL)
		if err != nil {
			cancel()
			<-gwErr
			<-probeDone
			return err
		}
		started := Started{Link: "http://" + addr + link, URL: "http://" + addr, Probe: probe, PagerLog: filepath.Join(pager, pagerLog)}
		if vm != nil {
			started.VictoriaMetrics, started.VictoriaMetricsPID = vm.url(), vm.pid()
		}
		opts.Ready(started)
	}
	err = <-gwErr
	cancel()
	<-probeDone
	if errors.Is(err, context.Canceled) {
		err = nil
	}
	return err
}
