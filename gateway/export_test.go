package gateway_test

// The gateway's export to real time-series stores: a raw probe sends
// known values at known sample times, the gateway sends them by remote
// write, and the store is asked what it holds.

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/watchfloor/watchfloor/gateway"
	"github.com/watchfloor/watchfloor/gateway/config"
	gt "github.com/watchfloor/watchfloor/gateway/gatewaytest"
	"github.com/watchfloor/watchfloor/gateway/internal/tsdbtest"
	"github.com/watchfloor/watchfloor/netprobe/protocol"
	"github.com/watchfloor/watchfloor/samplers"
)

// exportYAML is a gateway configuration listening on listen for p, whose
// entity runs the sampler "busy" (of type cpu, so its series are
// watchfloor_cpu_*) and has attributes that need care as labels: two
// named like labels of the exported series, one whose name is not a
// label name. Its interval is long, so that no dataview goes stale (and
// ends its series) while a test waits. extra is appended: remote_write
// and rules.
func exportYAML(listen string, p gt.Probe, extra string) string {
	return fmt.Sprintf(`listen: %q
probes:
  - name: %q
    token_sha256: %s
samplers:
  - name: busy
    type: cpu
    interval: 1m
entities:
  - name: %q
    probe: %q
    attributes: {region: emea, probe: spoofed, data-centre: ld4, column: c7}
    samplers: [busy]
`, listen, p.Name, config.HashToken(p.Token), p.Entity(), p.Name) + gt.Users(gt.Admin) + extra
}

// exportConfig is exportYAML parsed, listening on ln.
func exportConfig(t *testing.T, ln net.Listener, p gt.Probe, extra string) *config.Config {
	t.Helper()
	cfg, err := config.Parse("export.yaml", []byte(exportYAML(ln.Addr().String(), p, extra)))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// remoteWrite is a remote_write section with one target; keys are more
// of its keys. Resends are off unless keys has one, so that a store holds
// only what the probe sent.
func remoteWrite(name, url string, keys ...string) string {
	s := fmt.Sprintf("remote_write:\n  - name: %s\n    url: %s\n", name, url)
	resend := "resend: 0s"
	for _, k := range keys {
		if strings.HasPrefix(k, "resend:") {
			resend = k
			continue
		}
		s += "    " + k + "\n"
	}
	return s + "    " + resend + "\n"
}

// latencyRule warns on a latency above 40.
const latencyRule = `rules:
  - name: latency
    match: "*/*/busy/orders/*/latency"
    warning: {when: value > 40}
`

// Severity values as exported.
const (
	sevOK      = 1
	sevWarning = 2
)

// orderSeries is the key tsdbtest gives the value series of an orders
// cell of p: row "" is the headline row; name is the metric name.
func orderSeries(p gt.Probe, name, row string) string {
	return seriesKey(p, row, map[string]string{"__name__": name})
}

// severitySeries is the key of the severity series of an orders cell.
func severitySeries(p gt.Probe, column, row string) string {
	return seriesKey(p, row, map[string]string{"__name__": "watchfloor_severity", "type": "cpu", "column": column})
}

func seriesKey(p gt.Probe, row string, labels map[string]string) string {
	maps.Copy(labels, map[string]string{
		"probe": p.Name, "entity": p.Entity(), "sampler": "busy", "dataview": "orders",
		"region": "emea", "attr_probe": "spoofed", "data_centre": "ld4", "attr_column": "c7",
	})
	if row == "" {
		labels["headline"] = "true"
	} else {
		labels["row"] = row
	}
	b, _ := json.Marshal(labels)
	return string(b)
}

// exportScenario starts a gateway for p exporting to url (as target
// "store") with latencyRule, sends the orders dataview through a few
// samples, and returns the series a store should then hold, the text
// column state not among them.
func exportScenario(t *testing.T, p gt.Probe, url string) map[string][]tsdbtest.Point {
	t.Helper()
	ln := gt.Listen(t)
	gw := gt.Start(t, gateway.Options{Config: exportConfig(t, ln, p, remoteWrite("store", url)+latencyRule), Listener: ln})
	base := time.Now().Add(-time.Minute).Truncate(time.Millisecond)
	at := func(s int) int64 { return base.Add(time.Duration(s) * time.Second).UnixMilli() }
	o := dialOrders(t, gw, p, base, [3]string{"10", "1", "up"}, [3]string{"20", "2", "up"})
	o.sample(base.Add(1*time.Second), "A/latency=45", "A/state=down")             // A crosses 40
	o.sample(base.Add(2*time.Second), "A/latency=12.5", "B/count=3", "#/total=7") // and back
	o.sample(base.Add(3*time.Second), "B/latency=0.001", "A/count=1e6", "B/state=halted")
	return map[string][]tsdbtest.Point{
		orderSeries(p, "watchfloor_cpu_latency", "A"): {{T: at(0), V: 10}, {T: at(1), V: 45}, {T: at(2), V: 12.5}},
		orderSeries(p, "watchfloor_cpu_latency", "B"): {{T: at(0), V: 20}, {T: at(3), V: 0.001}},
		orderSeries(p, "watchfloor_cpu_count", "A"):   {{T: at(0), V: 1}, {T: at(3), V: 1e6}},
		orderSeries(p, "watchfloor_cpu_count", "B"):   {{T: at(0), V: 2}, {T: at(2), V: 3}},
		orderSeries(p, "watchfloor_cpu_total", ""):    {{T: at(0), V: 0}, {T: at(2), V: 7}},
		severitySeries(p, "latency", "A"):             {{T: at(0), V: sevOK}, {T: at(1), V: sevWarning}, {T: at(2), V: sevOK}},
		severitySeries(p, "latency", "B"):             {{T: at(0), V: sevOK}},
	}
}

// awaitSeries polls read until it returns want's series (a store may
// show what it took a moment late), for up to tsdbtest.Patience, then
// reports every difference.
func awaitSeries(t *testing.T, want map[string][]tsdbtest.Point, read func() map[string][]tsdbtest.Point) {
	t.Helper()
	has := func(got map[string][]tsdbtest.Point) bool {
		for k, w := range want {
			if !tsdbtest.SamePoints(got[k], w) {
				return false
			}
		}
		return true
	}
	deadline := time.Now().Add(tsdbtest.Patience)
	got := read()
	for !has(got) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
		got = read()
	}
	tsdbtest.CheckSeries(t, got, want)
}

// The values and severities a probe sends reach VictoriaMetrics, at the
// probe's sample times, as series named by sampler type and column with
// the cell's place and its entity's attributes as labels; the text
// column does not.
func TestExportToVictoriaMetrics(t *testing.T) {
	vm := tsdbtest.StartVictoria(t)
	p := probe("oms-vm")
	want := exportScenario(t, p, vm.WriteURL())
	awaitSeries(t, want, func() map[string][]tsdbtest.Point {
		return vm.Export(t, `{probe="oms-vm"}`)
	})
}

// The same reaches Prometheus through its remote-write receiver.
func TestExportToPrometheus(t *testing.T) {
	prom := tsdbtest.StartPrometheus(t)
	p := probe("oms-prom")
	want := exportScenario(t, p, prom.WriteURL())
	at := time.Now().UnixMilli()
	awaitSeries(t, want, func() map[string][]tsdbtest.Point {
		return prom.Query(t, `{probe="oms-prom"}[5m]`, at)
	})
}

// While the store is down the gateway keeps taking samples; once it is
// back, what fitted in the target's buffer arrives, and the rest is
// counted as dropped: sent plus dropped is every sample the gateway
// queued, counted here from what the probe sent and, for the gateway's
// own dataviews (which are exported too), from the gateway's history.
func TestExportSurvivesStoreOutage(t *testing.T) {
	const buffer = 50
	vm := tsdbtest.StartVictoria(t)
	p := probe("oms-out")
	ln := gt.Listen(t)
	gw := gt.Start(t, gateway.Options{Config: exportConfig(t, ln, p,
		remoteWrite("vm", vm.WriteURL(), "buffer: "+strconv.Itoa(buffer), "batch_size: 10")+latencyRule), Listener: ln})
	admin := gw.Admin(t)
	path := gt.DataviewPath(p.Name, p.Entity(), "busy", "orders")
	const target = `{target="vm"}`
	rw := func(name string) float64 { return metric(t, gw, "watchfloor_remote_write_"+name+target) }

	base := time.Now().Add(-time.Minute).Truncate(time.Millisecond)
	want := map[string][]tsdbtest.Point{} // what VictoriaMetrics holds of the probe's series in the end
	var values, severities int            // samples of the probe's series queued
	var outage []sample                   // those queued while the store is down, in order
	latA := orderSeries(p, "watchfloor_cpu_latency", "A")
	sevA := severitySeries(p, "latency", "A")
	queue := func(key string, t time.Time, v float64, down bool) {
		if down {
			outage = append(outage, sample{key, tsdbtest.Point{T: t.UnixMilli(), V: v}})
		} else {
			want[key] = append(want[key], tsdbtest.Point{T: t.UnixMilli(), V: v})
		}
	}
	o := dialOrders(t, gw, p, base, [3]string{"10", "1", "up"}, [3]string{"20", "2", "up"})
	for _, c := range []struct {
		key string
		v   float64
	}{
		{latA, 10}, {orderSeries(p, "watchfloor_cpu_latency", "B"), 20},
		{orderSeries(p, "watchfloor_cpu_count", "A"), 1}, {orderSeries(p, "watchfloor_cpu_count", "B"), 2},
		{orderSeries(p, "watchfloor_cpu_total", ""), 0},
	} {
		queue(c.key, base, c.v, false)
		values++
	}
	queue(sevA, base, sevOK, false)
	queue(severitySeries(p, "latency", "B"), base, sevOK, false)
	severities += 2
	// latency sends A's latency at k and queues its samples: the value,
	// and the severity when it changes.
	sev := float64(sevOK)
	var last time.Time
	var lastV float64
	latency := func(k int, down bool) {
		v := float64(20 + 7*(k%5)) // 20, 27, 34, 41, 48: each differs from the one before
		last, lastV = base.Add(time.Duration(k)*100*time.Millisecond), v
		o.sample(last, "A/latency="+strconv.FormatFloat(v, 'f', -1, 64))
		queue(latA, last, v, down)
		values++
		if s := map[bool]float64{false: sevOK, true: sevWarning}[v > 40]; s != sev {
			sev = s
			queue(sevA, last, s, down)
			severities++
		}
	}
	for k := 1; k <= 5; k++ {
		latency(k, false)
	}
	awaitSeries(t, want, func() map[string][]tsdbtest.Point {
		return vm.Export(t, `{probe="oms-out"}`)
	})

	vm.Stop()
	const updates = 150 // about 210 samples with the severities, against a buffer of 50
	for k := 6; k < 6+updates; k++ {
		latency(k, true)
	}
	// The gateway took every sample: its own history has the last.
	params := url.Values{"path": {path + "/A/latency"}, "from": {rfc(base.Add(-time.Second))}, "to": {"now"}}
	gt.Eventually(t, "the last sample in the history while the store is down", func() bool {
		code, h, body := historyQuery(t, admin, params)
		if code != http.StatusOK {
			t.Fatalf("GET history: %d %s", code, body)
		}
		if len(h.Series) != 1 || h.Series[0].Sampled != rfc(last) {
			return false
		}
		pts := h.Series[0].Points
		return len(pts) > 0 && pts[len(pts)-1][1] == lastV
	})
	gt.Eventually(t, "the buffer full, and samples dropped", func() bool {
		return rw("pending_samples") == buffer && rw("samples_dropped_total") > 0
	})
	sentBefore := rw("samples_sent_total")

	vm.Start()
	// The buffer's samples go first, in full batches.
	gt.Eventually(t, "the buffered samples sent", func() bool { return rw("samples_sent_total") >= sentBefore+buffer })
	// Samples of the gateway's own dataviews keep coming, a few a second,
	// so there may be some pending: the counts are compared when nothing
	// moved while they were read.
	var arrived map[string][]tsdbtest.Point
	var counts string
	tsdbtest.WaitFor(t, "every sample queued sent, pending or counted as dropped", func() bool {
		before := [3]float64{rw("samples_sent_total"), rw("samples_dropped_total"), rw("pending_samples")}
		own := historyPoints(t, admin, config.SelfProbe+"/**")
		arrived = vm.Export(t, `{__name__=~"watchfloor_.+"}`)
		after := [3]float64{rw("samples_sent_total"), rw("samples_dropped_total"), rw("pending_samples")}
		if before != after {
			return false
		}
		n := 0
		for _, pts := range arrived {
			n += len(pts)
		}
		sent, dropped, pending := int(after[0]), int(after[1]), int(after[2])
		queued := values + severities + own
		if c := fmt.Sprintf("sent %d, dropped %d, pending %d; %d samples in VictoriaMetrics, %d queued", sent, dropped, pending, n, queued); c != counts {
			counts = c
			t.Log(c) // a store may show what it took a moment late
		}
		return sent == n && sent+dropped+pending == queued
	})
	if r := rw("samples_rejected_total"); r != 0 {
		t.Errorf("%v samples rejected", r)
	}
	// What fitted is the first of what was queued while the store was
	// down; all of it arrived.
	mine := map[string][]tsdbtest.Point{}
	fitted := -(values + severities - len(outage))
	for key, pts := range arrived {
		if strings.Contains(key, `"probe":"oms-out"`) {
			mine[key] = pts
			fitted += len(pts)
		}
	}
	if fitted < 0 || fitted > buffer {
		t.Fatalf("%d of the probe's samples queued in the outage arrived, with a buffer of %d", fitted, buffer)
	}
	t.Logf("%d of the %d samples the probe queued during the outage fitted", fitted, len(outage))
	for _, s := range outage[:fitted] {
		want[s.key] = append(want[s.key], s.p)
	}
	tsdbtest.CheckSeries(t, mine, want)
	// The history agrees with the probe on its own series.
	if n := historyPoints(t, admin, path+"/*/*"); n != values {
		t.Errorf("the history holds %d points of the probe's cells; it sent %d values", n, values)
	}
}

// sample is one sample queued for a series.
type sample struct {
	key string
	p   tsdbtest.Point
}

// historyPoints counts the points the gateway's history holds for the
// cells pattern selects.
func historyPoints(t *testing.T, s *gt.Session, pattern string) int {
	t.Helper()
	code, h, body := historyQuery(t, s, url.Values{"path": {pattern}, "from": {"-10m"}, "to": {"now"}})
	if code != http.StatusOK {
		t.Fatalf("GET history %s: %d %s", pattern, code, body)
	}
	n := 0
	for _, s := range h.Series {
		n += len(s.Points)
	}
	return n
}

// A password_file that cannot be read stops the gateway at Run, with a
// message naming the target and the file.
func TestExportMissingPasswordFile(t *testing.T) {
	p := probe("oms-pw")
	ln := gt.Listen(t)
	t.Cleanup(func() { ln.Close() }) // Run does not close a listener it was given
	missing := filepath.Join(t.TempDir(), "vm.pass")
	cfg := exportConfig(t, ln, p, remoteWrite("vm", "http://127.0.0.1:1/api/v1/write", "basic_auth: {username: u, password_file: "+missing+"}"))
	gw, err := gateway.New(gateway.Options{Config: cfg, Listener: ln})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), tsdbtest.Patience)
	defer cancel()
	err = gw.Run(ctx)
	if err == nil || !strings.Contains(err.Error(), "remote_write vm") || !strings.Contains(err.Error(), missing) || !strings.Contains(err.Error(), "password_file") {
		t.Fatalf("Run: %v, want an error naming remote_write vm, password_file and %s", err, missing)
	}
}

// reloadExport replaces the configuration file of gw with exportYAML for
// p and extra, and reloads it.
func reloadExport(t *testing.T, gw *gt.Gateway, write func(string), p gt.Probe, extra string) {
	t.Helper()
	write(exportYAML(gw.Addr, p, extra))
	if code, body := gw.Admin(t).Do(t, http.MethodPost, "/api/v1/config/reload", nil); code != http.StatusOK {
		t.Fatalf("reload: %d %s", code, body)
	}
}

// isStale reports whether a point is a staleness marker.
func isStale(pt tsdbtest.Point) bool { return math.IsNaN(pt.V) }

// A rule removed by a reload ends the severity series of the cells it
// judged; their values go on: the value series gets no staleness marker
// after its last value.
func TestExportRuleRemovedKeepsValue(t *testing.T) {
	vm := tsdbtest.StartVictoria(t)
	p := probe("oms-unrule")
	gw, write := gt.StartFile(t, gateway.Options{}, p)
	reloadExport(t, gw, write, p, remoteWrite("vm", vm.WriteURL())+latencyRule)
	base := time.Now().Add(-time.Minute).Truncate(time.Millisecond)
	dialOrders(t, gw, p, base, [3]string{"10", "1", "up"}, [3]string{"20", "2", "up"})
	value, severity := orderSeries(p, "watchfloor_cpu_latency", "A"), severitySeries(p, "latency", "A")
	read := func() map[string][]tsdbtest.Point { return vm.Export(t, `{probe="oms-unrule",row="A"}`) }
	tsdbtest.WaitFor(t, "A's latency and its severity in VictoriaMetrics", func() bool {
		got := read()
		return len(got[value]) > 0 && len(got[severity]) > 0
	})

	reloadExport(t, gw, write, p, remoteWrite("vm", vm.WriteURL()))
	var got map[string][]tsdbtest.Point
	tsdbtest.WaitFor(t, "A's severity series ended", func() bool {
		got = read()
		s := got[severity]
		return len(s) > 0 && isStale(s[len(s)-1])
	})
	if v := got[value]; len(v) == 0 || isStale(v[len(v)-1]) {
		t.Errorf("A's latency series, whose cell still holds 10, ends with a staleness marker: %v", v)
	}
	if q := vm.Query(t, `watchfloor_cpu_latency{probe="oms-unrule",row="A"}`, time.Now().UnixMilli()); len(q) != 1 {
		t.Errorf("a query for A's latency now finds %v, want its value 10", q)
	}
}

// A reload that keeps a target keeps the cells' series on it: after the
// reload, a cell that changes is resent at its new value only, not also
// at the value it had before the reload.
func TestExportReloadKeepsSeries(t *testing.T) {
	vm := tsdbtest.StartVictoria(t)
	p := probe("oms-reload")
	gw, write := gt.StartFile(t, gateway.Options{}, p)
	target := remoteWrite("vm", vm.WriteURL(), "resend: 1s")
	reloadExport(t, gw, write, p, target)
	o := dialOrders(t, gw, p, time.Now().Truncate(time.Millisecond), [3]string{"10", "1", "up"}, [3]string{"20", "2", "up"})
	key := orderSeries(p, "watchfloor_cpu_latency", "A")
	read := func() []tsdbtest.Point {
		return vm.Export(t, `watchfloor_cpu_latency{probe="oms-reload",row="A"}`)[key]
	}
	tsdbtest.WaitFor(t, "A's latency in VictoriaMetrics", func() bool { return len(read()) > 0 })

	reloadExport(t, gw, write, p, target) // the same target
	changed := time.Now().Truncate(time.Millisecond)
	o.sample(changed, "A/latency=20")
	// Until the gateway has the new value, a resend of the old one is
	// right; once it has it, only the new one is.
	path := gt.DataviewPath(p.Name, p.Entity(), "busy", "orders") + "/A/latency"
	gt.Eventually(t, "the new value in the gateway", func() bool {
		_, h, _ := historyQuery(t, gw.Admin(t), url.Values{"path": {path}, "from": {"-1m"}, "to": {"now"}})
		return len(h.Series) == 1 && h.Series[0].Sampled == rfc(changed)
	})
	after := time.Now().UnixMilli()
	var pts []tsdbtest.Point
	tsdbtest.WaitFor(t, "A's new latency resent", func() bool {
		pts = read()
		for _, pt := range pts {
			if pt.T > after && pt.V == 20 {
				return true
			}
		}
		return false
	})
	for _, pt := range pts {
		if pt.T > after && pt.V != 20 {
			t.Errorf("after A's latency changed to 20, the store got %v: %v", pt, pts)
		}
	}
}

// A target added by a reload gets the value of every numeric cell, not
// only of those that change after the reload: following docs/history.md
// ("point the gateway at it and reload"), a cell that never changes
// would otherwise never reach the store.
func TestExportTargetAddedByReload(t *testing.T) {
	vm := tsdbtest.StartVictoria(t)
	p := probe("oms-added")
	gw, write := gt.StartFile(t, gateway.Options{}, p)
	reloadExport(t, gw, write, p, "") // no target yet
	base := time.Now().Add(-time.Minute).Truncate(time.Millisecond)
	o := dialOrders(t, gw, p, base, [3]string{"10", "1", "up"}, [3]string{"20", "2", "up"})
	path := gt.DataviewPath(p.Name, p.Entity(), "busy", "orders")
	gt.Eventually(t, "the dataview in the history", func() bool { return historyPoints(t, gw.Admin(t), path+"/*/*") == 5 })

	reloadExport(t, gw, write, p, remoteWrite("vm", vm.WriteURL()))
	o.sample(base.Add(time.Second), "A/latency=11")
	want := map[string]float64{ // each cell's value now
		orderSeries(p, "watchfloor_cpu_latency", "A"): 11,
		orderSeries(p, "watchfloor_cpu_latency", "B"): 20,
		orderSeries(p, "watchfloor_cpu_count", "A"):   1,
		orderSeries(p, "watchfloor_cpu_count", "B"):   2,
		orderSeries(p, "watchfloor_cpu_total", ""):    0,
	}
	deadline := time.Now().Add(tsdbtest.Patience)
	for {
		got := vm.Export(t, `{probe="oms-added"}`)
		var missing []string
		for key, v := range want {
			if pts := got[key]; len(pts) == 0 || pts[len(pts)-1].V != v {
				missing = append(missing, fmt.Sprintf("%s=%v (got %v)", key, v, pts))
			}
		}
		if len(missing) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %v, the new target lacks:\n%s", tsdbtest.Patience, strings.Join(missing, "\n"))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Two cells never share a series. Columns whose names differ only in
// what a metric name cannot hold (p99-latency, p99.latency) would
// otherwise both write into watchfloor_cpu_p99_latency, with the same
// labels; a column named latency_severity has its own series, apart
// from latency's severity.
func TestExportCellsNeverShareASeries(t *testing.T) {
	vm := tsdbtest.StartVictoria(t)
	p := probe("oms-clash")
	ln := gt.Listen(t)
	gw := gt.Start(t, gateway.Options{Config: exportConfig(t, ln, p, remoteWrite("vm", vm.WriteURL())+latencyRule), Listener: ln})
	base := time.Now().Add(-time.Minute).Truncate(time.Millisecond)
	rp := gt.DialRawProbe(t, gw.Addr, p.Name, p.Token)
	columns := []string{"latency", "latency_severity", "p99-latency", "p99.latency"}
	values := []string{"45", "777", "1", "2"}
	cells := make([]samplers.Cell, len(values))
	for i, v := range values {
		cells[i] = samplers.Text(v)
	}
	rp.Send(protocol.Batch{Flags: protocol.SnapshotStart | protocol.SnapshotEnd, Declares: []protocol.Declare{{
		ID: 1, SamplerID: rp.Config.Samplers[0].ID, Name: "orders", SampleTime: base.UnixNano(),
		Columns: columns, Rows: []protocol.RowDecl{{Index: 0, Name: "A", Cells: cells}},
	}}})
	latency := orderSeries(p, "watchfloor_cpu_latency", "A")
	var got map[string][]tsdbtest.Point
	// The samples of one event go in one request: once one is there, so
	// is the rest.
	tsdbtest.WaitFor(t, "A's latency in VictoriaMetrics", func() bool {
		got = vm.Export(t, `{probe="oms-clash"}`)
		return len(got[latency]) > 0
	})
	for key, pts := range got {
		if len(pts) != 1 {
			t.Errorf("the series %s holds %v: the samples of %d cells", key, pts, len(pts))
		}
	}
	at := base.UnixMilli()
	for key, want := range map[string]float64{
		latency: 45,
		orderSeries(p, "watchfloor_cpu_latency_severity", "A"): 777,
		severitySeries(p, "latency", "A"):                      sevWarning,
	} {
		if pts := got[key]; !tsdbtest.SamePoints(pts, []tsdbtest.Point{{T: at, V: want}}) {
			t.Errorf("series %s: %v, want %d=%v", key, pts, at, want)
		}
	}
}
