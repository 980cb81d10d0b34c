package gateway

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"hash/fnv"
	"maps"
	"os"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/watchfloor/watchfloor/gateway/config"
	"github.com/watchfloor/watchfloor/gateway/remotewrite"
	"github.com/watchfloor/watchfloor/rules"
)

// Export: every change of every numeric cell, and each judged cell's
// severity, goes to the remote_write targets (docs/history.md). Each
// target has a remotewrite.Writer, whose Add never waits: a store that is
// down or slow fills its bounded buffer, and what does not fit is
// dropped and counted, never slowing ingestion.

// exporter is the set of targets in force. It is replaced whole by a
// reload; gen tells the cells that their series were made for another
// set.
type exporter struct {
	gen     uint64
	targets []*exportTarget
	writers []*remotewrite.Writer // the targets', in order
}

type exportTarget struct {
	cfg    config.RemoteWrite
	w      *remotewrite.Writer
	cancel context.CancelFunc
	done   chan struct{}
}

// exports holds the gateway's exporter and the goroutines of its
// writers.
type exports struct {
	cur  atomic.Pointer[exporter]
	mu   sync.Mutex // serialises configure
	gen  uint64
	wg   sync.WaitGroup
	live []*exportTarget
}

// cellExport is what a live cell has sent: its series on each target of
// the exporter of generation gen, by the target's index (nil until the
// cell sends one there), the value series and the severity series apart,
// and the severity it sent last.
type cellExport struct {
	gen        uint64
	writers    []*remotewrite.Writer // the exporter's, which value and sev are by
	labels     uint64                // a hash of the labels its series were made with
	config     uint64                // the actor's labelsGen when labels was checked
	value, sev []*remotewrite.Series
	last       rules.Severity
	sent       bool // last was sent
}

// configure makes cfg's targets the ones in force: a target whose
// configuration is unchanged keeps its writer (and what it buffers); the
// others are started and stopped. The writers run under ctx.
func (g *Gateway) configureExport(ctx context.Context, cfg *config.Config) error {
	x := &g.exports
	x.mu.Lock()
	defer x.mu.Unlock()
	old := map[string]*exportTarget{}
	for _, t := range x.live {
		old[t.cfg.Name] = t
	}
	var next []*exportTarget
	var started []*exportTarget
	for _, rc := range cfg.RemoteWrite {
		if t := old[rc.Name]; t != nil && reflect.DeepEqual(t.cfg, rc) {
			next = append(next, t)
			delete(old, rc.Name)
			continue
		}
		w, err := g.newWriter(rc)
		if err != nil {
			for _, t := range started {
				t.cancel()
			}
			return err
		}
		t := &exportTarget{cfg: rc, w: w, done: make(chan struct{})}
		started = append(started, t)
		next = append(next, t)
	}
	for _, t := range started {
		wctx, cancel := context.WithCancel(ctx)
		t.cancel = cancel
		x.wg.Add(1)
		go func() {
			defer x.wg.Done()
			defer close(t.done)
			t.w.Run(wctx)
		}()
	}
	x.gen++
	ws := make([]*remotewrite.Writer, len(next))
	for i, t := range next {
		ws[i] = t.w
	}
	x.cur.Store(&exporter{gen: x.gen, targets: next, writers: ws})
	x.live = next
	for _, t := range old {
		t.cancel()
		<-t.done
	}
	return nil
}

// newWriter builds a target's writer, reading its secrets and
// certificates from their files.
func (g *Gateway) newWriter(rc config.RemoteWrite) (*remotewrite.Writer, error) {
	opts := remotewrite.Options{
		URL: rc.URL, Name: rc.Name, Timeout: rc.Timeout, BatchSize: rc.BatchSize, BufferSize: rc.Buffer,
		Resend: rc.Resend, Logger: g.log, Metrics: g.metrics, Now: g.clock.Now, Username: rc.Username,
	}
	if opts.Resend == 0 {
		opts.Resend = -1 // 0s in the configuration: never
	}
	read := func(what, file string) (string, error) {
		b, err := os.ReadFile(file)
		if err != nil {
			return "", fmt.Errorf("%s: %s: %w", rc, what, err)
		}
		return strings.TrimSpace(string(b)), nil
	}
	var err error
	if rc.PasswordFile != "" {
		if opts.Password, err = read("password_file", rc.PasswordFile); err != nil {
			return nil, err
		}
	}
	if rc.BearerTokenFile != "" {
		if opts.BearerToken, err = read("bearer_token_file", rc.BearerTokenFile); err != nil {
			return nil, err
		}
	}
	if rc.CAFile != "" || rc.CertFile != "" {
		tc := &tls.Config{MinVersion: tls.VersionTLS12}
		if rc.CAFile != "" {
			pem, err := os.ReadFile(rc.CAFile)
			if err != nil {
				return nil, fmt.Errorf("%s: ca_file: %w", rc, err)
			}
			tc.RootCAs = x509.NewCertPool()
			if !tc.RootCAs.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("%s: ca_file %s holds no PEM certificate", rc, rc.CAFile)
			}
		}
		if rc.CertFile != "" {
			cert, err := tls.LoadX509KeyPair(rc.CertFile, rc.KeyFile)
			if err != nil {
				return nil, fmt.Errorf("%s: client certificate: %w", rc, err)
			}
			tc.Certificates = []tls.Certificate{cert}
		}
		opts.TLS = tc
	}
	w, err := remotewrite.New(opts)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", rc, err)
	}
	return w, nil
}

// stopExport stops every writer and waits for them; Run calls it last.
func (g *Gateway) stopExport() {
	x := &g.exports
	x.mu.Lock()
	for _, t := range x.live {
		t.cancel()
	}
	x.live = nil
	x.cur.Store(nil)
	x.mu.Unlock()
	x.wg.Wait()
}

// exportStats are the targets' figures, for the gateway's own dataview.
func (g *Gateway) exportStats() []targetStats {
	x := g.exports.cur.Load()
	if x == nil {
		return nil
	}
	out := make([]targetStats, len(x.targets))
	for i, t := range x.targets {
		out[i] = targetStats{name: t.cfg.Name, url: t.cfg.URL, Stats: t.w.Stats()}
	}
	return out
}

type targetStats struct {
	name, url string
	remotewrite.Stats
}

// metricName makes s fit a Prometheus metric or label name: letters,
// digits and underscores, not starting with a digit.
func metricName(s string) string {
	var b strings.Builder
	for i, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r == '_', r >= '0' && r <= '9' && i > 0:
			b.WriteRune(r)
		case r >= '0' && r <= '9':
			b.WriteByte('_')
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	return b.String()
}

// reservedLabels are the labels an exported series may have; an entity
// attribute of the same name goes as attr_<name>.
var reservedLabels = map[string]bool{"__name__": true, "probe": true, "entity": true, "sampler": true, "dataview": true,
	"row": true, "headline": true, "type": true, "column": true}

// exportLabels are the labels of a cell's series: its value is
// watchfloor_<sampler type>_<column> (with the column's name as written
// as a label too, when it is not a metric name already); its severity
// watchfloor_severity,
// with the type and the column as labels, so that no column's name can
// make a value series and a severity series meet, and one query charts
// the severity of every cell.
func exportLabels(dv *Dataview, typ string, attrs map[string]string, row *rowState, col string, severity bool) []remotewrite.Label {
	ls := make([]remotewrite.Label, 0, 9+len(attrs))
	if severity {
		ls = append(ls, remotewrite.Label{Name: "__name__", Value: "watchfloor_severity"},
			remotewrite.Label{Name: "type", Value: typ}, remotewrite.Label{Name: "column", Value: col})
	} else {
		name := metricName(col)
		ls = append(ls, remotewrite.Label{Name: "__name__", Value: "watchfloor_" + metricName(typ) + "_" + name})
		if name != col {
			// Columns whose names differ only where metricName
			// replaces ("p99-latency", "p99.latency") must not meet in
			// one series: the name as written tells them apart.
			ls = append(ls, remotewrite.Label{Name: "column", Value: col})
		}
	}
	ls = append(ls, remotewrite.Label{Name: "probe", Value: dv.path.Probe}, remotewrite.Label{Name: "entity", Value: dv.path.Entity},
		remotewrite.Label{Name: "sampler", Value: dv.path.Sampler}, remotewrite.Label{Name: "dataview", Value: dv.path.Dataview})
	if row == nil {
		ls = append(ls, remotewrite.Label{Name: "headline", Value: "true"})
	} else {
		ls = append(ls, remotewrite.Label{Name: "row", Value: row.name})
	}
	seen := map[string]bool{}
	for _, k := range slices.Sorted(maps.Keys(attrs)) {
		n := metricName(k)
		if reservedLabels[n] || strings.HasPrefix(n, "__") {
			n = "attr_" + n
		}
		if !seen[n] { // two names that differ only in what metricName replaces: the first
			seen[n] = true
			ls = append(ls, remotewrite.Label{Name: n, Value: attrs[k]})
		}
	}
	return ls
}

// exportOf returns the export state of a cell of dv: row's column col,
// or headline col.
func exportOf(dv *Dataview, row *rowState, col int32) *cellExport {
	if row == nil {
		if dv.headExp == nil {
			dv.headExp = make([]cellExport, len(dv.head))
		}
		return &dv.headExp[col]
	}
	if row.exp == nil {
		row.exp = make([]cellExport, len(row.cells))
	}
	return &row.exp[col]
}

// exported reports whether a cell of dv has export state.
func exported(dv *Dataview, row *rowState, col int32) bool {
	exps := dv.headExp
	if row != nil {
		exps = row.exp
	}
	return exps != nil && exps[col].gen != 0
}

// forget ends a cell's series on every target: each store gets a
// staleness marker.
func (ce *cellExport) forget() {
	forgetSeries(ce.writers, ce.value)
	forgetSeries(ce.writers, ce.sev)
	*ce = cellExport{}
}

func forgetSeries(writers []*remotewrite.Writer, series []*remotewrite.Series) {
	for i, s := range series {
		if s != nil {
			writers[i].Forget(s)
		}
	}
}

// forgetAll forgets the series of the cells exps holds.
func forgetAll(exps []cellExport) {
	for i := range exps {
		if exps[i].gen != 0 {
			exps[i].forget()
		}
	}
}

// cellLabels are the labels of a cell's value and severity series, and a
// hash of them.
func (a *probeActor) cellLabels(dv *Dataview, row *rowState, col int32) (value, sev []remotewrite.Label, sum uint64) {
	a.g.tree.mu.RLock()
	typ, attrs := dv.sampler.typ, dv.sampler.entity.attrs
	a.g.tree.mu.RUnlock()
	name := ""
	if row == nil {
		name = dv.headlines[col]
	} else {
		name = dv.columns[col]
	}
	value = exportLabels(dv, typ, attrs, row, name, false)
	sev = exportLabels(dv, typ, attrs, row, name, true)
	h := fnv.New64a()
	for _, l := range value {
		h.Write([]byte(l.Name))
		h.Write([]byte{0})
		h.Write([]byte(l.Value))
		h.Write([]byte{0})
	}
	return value, sev, h.Sum64()
}

// reconcile moves a cell's series over to the exporter x, after a reload
// (x may be the one they were made for, the configuration having changed):
// a target that kept its writer keeps the cell's series there, unless
// the cell's labels changed (its entity's attributes), which ends them;
// a writer that went takes its series with it.
func (a *probeActor) reconcile(x *exporter, ce *cellExport, dv *Dataview, row *rowState, col int32) {
	_, _, sum := a.cellLabels(dv, row, col)
	at := make(map[*remotewrite.Writer]int, len(x.writers))
	for i, w := range x.writers {
		at[w] = i
	}
	move := func(series []*remotewrite.Series) []*remotewrite.Series {
		out := make([]*remotewrite.Series, len(x.writers))
		for i, s := range series {
			if s == nil {
				continue
			}
			w := ce.writers[i]
			j, kept := at[w]
			switch {
			case !kept: // its target went: the writer stopped
			case sum != ce.labels:
				w.Forget(s)
			default:
				out[j] = s
			}
		}
		return out
	}
	ce.value, ce.sev = move(ce.value), move(ce.sev)
	if sum != ce.labels {
		ce.sent = false
	}
	ce.gen, ce.writers, ce.labels = x.gen, x.writers, sum
}

// exportCell queues what a changed cell sends: its value if it changed
// and is a number (at t, Unix ms, its sample time), its severity if that
// changed (at now, Unix ms, unless the value changed too); and to a
// target it has sent nothing to yet, its value and severity as they are.
// A cell that turned to text ends its value series; one that lost its
// rules, its severity series.
func (a *probeActor) exportCell(x *exporter, dv *Dataview, c *cellRef, cell *cellState, t, now int64) {
	if !cell.isNum && cell.rs == nil && !exported(dv, c.row, c.col) {
		return // text no rule judges: nothing to send, nothing to end
	}
	ce := exportOf(dv, c.row, c.col)
	var value, sev []remotewrite.Label
	if ce.gen != x.gen || ce.config != a.labelsGen {
		if ce.gen == 0 {
			value, sev, ce.labels = a.cellLabels(dv, c.row, c.col)
			ce.gen, ce.writers = x.gen, x.writers
			ce.value, ce.sev = make([]*remotewrite.Series, len(x.writers)), make([]*remotewrite.Series, len(x.writers))
		} else {
			a.reconcile(x, ce, dv, c.row, c.col)
		}
		ce.config = a.labelsGen
	}
	valued := !c.rejudge
	if valued && !cell.isNum {
		forgetSeries(ce.writers, ce.value)
		clear(ce.value)
	}
	if cell.rs == nil && ce.sent {
		forgetSeries(ce.writers, ce.sev)
		clear(ce.sev)
		ce.sent = false
	}
	labels := func() {
		if value == nil {
			value, sev, _ = a.cellLabels(dv, c.row, c.col)
		}
	}
	changed := cell.rs != nil && (!ce.sent || ce.last != cell.sev)
	at := now
	if valued {
		at = t
	}
	// send queues v on a cell's series on target i, made first if need be.
	send := func(i int, s **remotewrite.Series, ls *[]remotewrite.Label, v float64) {
		if *s == nil {
			labels()
			*s = x.targets[i].w.Series(*ls)
		}
		a.expBuf[i] = append(a.expBuf[i], remotewrite.Sample{Series: *s, T: at, V: v})
	}
	for i := range x.targets {
		if cell.isNum && (valued || ce.value[i] == nil) {
			send(i, &ce.value[i], &value, cell.num)
		}
		if cell.rs != nil && (changed || ce.sev[i] == nil) {
			send(i, &ce.sev[i], &sev, float64(cell.sev))
		}
	}
	if cell.rs != nil {
		ce.last, ce.sent = cell.sev, true
	}
}

// flushExport hands each target the samples the event queued.
func (a *probeActor) flushExport(x *exporter) {
	for i, t := range x.targets {
		if len(a.expBuf[i]) > 0 {
			t.w.Add(a.expBuf[i])
			clear(a.expBuf[i])
			a.expBuf[i] = a.expBuf[i][:0]
		}
	}
}
