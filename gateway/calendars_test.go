package gateway_test

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/watchfloor/watchfloor/gateway"
	"github.com/watchfloor/watchfloor/gateway/config"
	gt "github.com/watchfloor/watchfloor/gateway/gatewaytest"
	"github.com/watchfloor/watchfloor/gateway/incident"
	"github.com/watchfloor/watchfloor/gateway/internal/browsertest"
)

// calendarsYAML is a gateway with an LSE-like work cycle, a schedule and
// two desks, and a rule that judges the cycle's phase.
const calendarsYAML = `
calendars:
  desks:
    - {name: London, zone: Europe/London}
    - {name: Tokyo, zone: Asia/Tokyo}
  schedules:
    - {name: lse-trading, zone: Europe/London, days: [mon, tue, wed, thu, fri], windows: ["08:00-16:30"]}
` + lseCycle + `rules:
  - name: lse-open
    match: "watchfloor/gateway/self/work-cycles/lse-equities/phase"
    warning: {when: text == "intraday"}
`

// selfRow reads a row of one of the gateway's own dataviews, by column.
func selfRow(t *testing.T, s *gt.Session, view, row string) map[string]cellJSON {
	t.Helper()
	return dataviewRow(t, s, "watchfloor/gateway/self/"+view, row)
}

// dataviewRow reads a row of a dataview, by column; nil if there is none.
func dataviewRow(t *testing.T, s *gt.Session, path, row string) map[string]cellJSON {
	t.Helper()
	var dv struct {
		Rows []struct {
			Name  string
			Cells []cellJSON
		}
	}
	code, body := s.Do(t, http.MethodGet, "/api/v1/dataviews/"+path, nil)
	if code != http.StatusOK {
		return nil
	}
	if err := json.Unmarshal(body, &dv); err != nil {
		t.Fatal(err)
	}
	for _, r := range dv.Rows {
		if r.Name == row {
			out := map[string]cellJSON{}
			for _, c := range r.Cells {
				out[c.Column] = c
			}
			return out
		}
	}
	return nil
}

// A work cycle's phase is a live dataview of the gateway's own: at 07:59:58
// London time on a Tuesday the LSE cycle is in Beginning of Day, two
// seconds to Intraday; when the gateway's clock passes 08:00, the phase is
// Intraday and a rule on it judges it; the schedule opens with it, and
// the desks' clocks show their zones.
func TestWorkCyclePhaseChangesAtItsInstant(t *testing.T) {
	start := time.Date(2026, 12, 1, 7, 59, 58, 0, time.UTC) // London is on UTC in December
	clock := gt.NewManualClock(start)
	ln := gt.Listen(t)
	cfg, err := config.Parse("calendars.yaml", []byte(gt.Config(ln.Addr().String())+calendarsYAML))
	if err != nil {
		t.Fatal(err)
	}
	gw := gt.Start(t, gateway.Options{Config: cfg, Listener: ln, Clock: clock})
	admin := gw.Admin(t)
	var row map[string]cellJSON
	gt.Eventually(t, "the cycle in Beginning of Day", func() bool {
		row = selfRow(t, admin, "work-cycles", "lse-equities")
		return row != nil && row["phase"].Value == "bod"
	})
	if row["next"].Value != "intraday" || row["nextAt"].Value != "2026-12-01T08:00:00Z" || row["secondsToNext"].Value != "2" ||
		row["since"].Value != "2026-12-01T07:00:00Z" || row["zone"].Value != "Europe/London" || row["where"].Value != "system=lse" {
		t.Fatalf("the cycle before 08:00: %+v", row)
	}
	if row["phase"].Severity != "ok" || row["phase"].Rule != "lse-open" {
		t.Fatalf("the rule on the phase before 08:00: %+v", row["phase"])
	}
	if s := selfRow(t, admin, "schedules", "lse-trading"); s["active"].Value != "false" || s["nextChange"].Value != "2026-12-01T08:00:00Z" {
		t.Fatalf("the schedule before 08:00: %+v", s)
	}
	if d := selfRow(t, admin, "desks", "Tokyo"); d["time"].Value != "2026-12-01 16:59:58" || d["utcOffset"].Value != "+09:00" {
		t.Fatalf("Tokyo's desk: %+v", d)
	}

	clock.Advance(2 * time.Second)
	gt.Eventually(t, "the cycle in Intraday, judged", func() bool {
		row = selfRow(t, admin, "work-cycles", "lse-equities")
		return row["phase"].Value == "intraday" && row["phase"].Severity == "warning"
	})
	if row["next"].Value != "eod" || row["nextAt"].Value != "2026-12-01T16:30:00Z" {
		t.Fatalf("the cycle after 08:00: %+v", row)
	}
	if s := selfRow(t, admin, "schedules", "lse-trading"); s["active"].Value != "true" {
		t.Fatalf("the schedule after 08:00: %+v", s)
	}
}

// A phase boundary changes a live cell's severity at its instant: a rule
// active only intraday gives nothing to an LSE system's cell before
// 08:00 London time, and judges it at 08:00, when the gateway's clock
// passes it, without the cell changing; at 16:30 it stops again.
func TestPhaseBoundaryJudgesALiveCell(t *testing.T) {
	clock := gt.NewManualClock(time.Date(2026, 12, 1, 7, 59, 58, 0, time.UTC)) // a Tuesday; London is on UTC
	r := startRig(t, gateway.Options{Clock: clock}, func(yaml string) string {
		yaml = strings.Replace(yaml, "attributes: {client: acme, region: emea}", "attributes: {client: acme, region: emea, system: lse}", 1)
		return strings.Replace(yaml, "rules:\n", `rules:
  - name: latency-intraday
    match: "*/*/orders/orders/*/latency"
    active: {phases: [intraday]}
    critical: {when: value > 20}
    incident: {}
`, 1) + calendarsWorkCycle
	}, "", "")
	admin := r.gw.Admin(t)
	r.latency("router-acme", 30)
	path := "venue/router-acme/orders/orders"
	cell := func() cellJSON { return dataviewRow(t, admin, path, "A")["latency"] }
	gt.Eventually(t, "the cell judged ok before the open", func() bool { return cell().Rule == "latency-high" })
	if c := cell(); c.Severity != "ok" {
		t.Fatalf("before 08:00: %+v, want ok from latency-high alone", c)
	}
	clock.Advance(2 * time.Second)
	gt.Eventually(t, "the cell critical at the open", func() bool {
		c := cell()
		return c.Severity == "critical" && c.Rule == "latency-intraday"
	})
	// Its incident knows where the system was in its day.
	r.waitIncident("the intraday incident", "?state=open", func(i incident.Incident) bool {
		return i.Rule == "latency-intraday" && i.Phase == "intraday"
	})
	clock.Advance(8*time.Hour + 29*time.Minute + 59*time.Second) // 16:29:59
	admin = gt.Login(t, r.gw.URL(), gt.Admin.Name)               // the session timed out on the gateway's clock
	if c := cell(); c.Severity != "critical" {
		_, body := admin.Do(t, http.MethodGet, "/api/v1/dataviews/"+path, nil)
		t.Fatalf("at 16:29:59: %+v, want still critical; %s", c, body)
	}
	clock.Advance(time.Second)
	gt.Eventually(t, "the cell back to latency-high's ok at End of Day", func() bool {
		c := cell()
		return c.Severity == "ok" && c.Rule == "latency-high"
	})
}

// calendarsWorkCycle is calendarsYAML's work cycle on its own.
const calendarsWorkCycle = "\ncalendars:\n" + lseCycle

// lseCycle is an LSE-like work cycle for the entities of system lse.
const lseCycle = `  work_cycles:
    - name: lse-equities
      where: {system: lse}
      zone: Europe/London
      days: [mon, tue, wed, thu, fri]
      phases: {bod: "07:00", intraday: "08:00", eod: "16:30", closed: "17:30"}
`

// A reload with a bad calendar is refused with the file, line and field,
// and the running calendars stay; a good one replaces them live.
func TestBadCalendarReloadKeepsTheRunningOnes(t *testing.T) {
	gw, write := gt.StartFile(t, gateway.Options{})
	base := gt.Config(gw.Addr)
	write(base + calendarsYAML)
	if code, res := postReload(t, gw.Addr); code != http.StatusOK || !res.Reloaded {
		t.Fatalf("the first reload: %d %+v", code, res)
	}
	admin := gw.Admin(t)
	cycle := func(name string) bool { return selfRow(t, admin, "work-cycles", name) != nil }
	gt.Eventually(t, "the LSE cycle", func() bool { return cycle("lse-equities") })

	write(base + strings.Replace(calendarsYAML, "zone: Europe/London\n      days", "zone: Europe/Lundon\n      days", 1))
	code, res := postReload(t, gw.Addr)
	if code != http.StatusUnprocessableEntity || res.Reloaded || len(res.Errors) != 1 ||
		!regexp.MustCompile(`gateway\.yaml:\d+:\d+: calendars\.work_cycles\[0\]\.zone: .*Europe/Lundon`).MatchString(res.Errors[0]) {
		t.Fatalf("a bad zone: %d %+v, want 422 naming the file, line and field", code, res)
	}
	if !cycle("lse-equities") {
		t.Fatal("the running cycle went with the refused reload")
	}

	write(base + strings.Replace(calendarsYAML, "lse-equities", "lse-main", 2))
	if code, res := postReload(t, gw.Addr); code != http.StatusOK || !res.Reloaded {
		t.Fatalf("a good reload: %d %+v", code, res)
	}
	gt.Eventually(t, "the renamed cycle", func() bool { return cycle("lse-main") && !cycle("lse-equities") })
}

// The dashboard's header shows the trading day: each work cycle's phase
// and the time to its next, and the desks' clocks, from the gateway's
// own dataviews, changing when the phase does.
func TestBrowserHeaderShowsTheTradingDay(t *testing.T) {
	ctx := browsertest.New(t)
	clock := gt.NewManualClock(time.Date(2026, 12, 1, 7, 59, 58, 0, time.UTC))
	ln := gt.Listen(t)
	cfg, err := config.Parse("calendars.yaml", []byte(gt.Config(ln.Addr().String())+calendarsYAML))
	if err != nil {
		t.Fatal(err)
	}
	gw := gt.Start(t, gateway.Options{Config: cfg, Listener: ln, Clock: clock})
	browsertest.SetSession(t, ctx, gw.URL(), gw.Admin(t).Cookie)
	if err := chromedp.Do(ctx, chromedp.Navigate(gw.URL()+"/")); err != nil {
		t.Fatal(err)
	}
	lse := `document.querySelector('#trading-day li[data-cycle="lse-equities"]')`
	got := browsertest.WaitFor[string](t, ctx, "the LSE cycle in the header", lse+` && `+lse+`.dataset.phase === 'bod' && `+lse+`.textContent`)
	if got != "lse-equitiesBODIntraday in 2s" {
		t.Errorf("the cycle reads %q", got)
	}
	tokyo := browsertest.WaitFor[string](t, ctx, "Tokyo's clock", `(document.querySelector('#trading-day li[data-desk="Tokyo"] time') || {}).textContent || ''`)
	if tokyo != "16:59" {
		t.Errorf("Tokyo's clock reads %q, want 16:59", tokyo)
	}
	clock.Advance(2 * time.Second)
	browsertest.WaitFor[bool](t, ctx, "Intraday in the header", lse+`.dataset.phase === 'intraday'`)
}
