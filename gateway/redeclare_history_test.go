package gateway_test

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/watchfloor/watchfloor/gateway"
	gt "github.com/watchfloor/watchfloor/gateway/gatewaytest"
	"github.com/watchfloor/watchfloor/gateway/internal/tsdbtest"
	"github.com/watchfloor/watchfloor/netprobe/protocol"
	"github.com/watchfloor/watchfloor/samplers"
)

// ordersDecl is a declaration of the dataview orders with columns and
// rows (name → cells' texts, in columns' order).
func ordersDecl(rp *gt.RawProbe, id uint32, at time.Time, columns []string, rows ...[]string) protocol.Declare {
	d := protocol.Declare{ID: id, SamplerID: rp.Config.Samplers[0].ID, Name: "orders", SampleTime: at.UnixNano(), Columns: columns,
		Headlines: []string{"total"}, HeadValues: []samplers.Cell{samplers.Text("0")}}
	for i, r := range rows {
		cells := make([]samplers.Cell, len(r)-1)
		for j, v := range r[1:] {
			cells[j] = samplers.Text(v)
		}
		d.Rows = append(d.Rows, protocol.RowDecl{Index: uint32(i), Name: r[0], Cells: cells})
	}
	return d
}

// A probe that declares its dataview again with other columns (a
// reconnect after an upgrade) ends, in the history, the cells the new
// declaration lacks: their columns and rows are gone, so they are stale
// from then, not shown holding their last value; the cells it keeps go
// on.
func TestHistoryRedeclaredWithOtherColumns(t *testing.T) {
	p := probe("oms-redecl", "cpu")
	gw := gt.Start(t, gateway.Options{}, p)
	base := time.Now().Add(-time.Minute).Truncate(time.Second)
	o := dialOrders(t, gw, p, base, [3]string{"10", "1", "up"}, [3]string{"20", "2", "up"})
	// Again, without count, and without row B.
	again := base.Add(time.Second)
	o.rp.Send(protocol.Batch{Flags: protocol.SnapshotStart | protocol.SnapshotEnd, Declares: []protocol.Declare{
		ordersDecl(o.rp, 1, again, []string{"latency", "state"}, []string{"A", "10", "up"})}})
	path := dvPath(p, "cpu", "orders")
	params := url.Values{"path": {path + "/*/*"}, "from": {rfc(base.Add(-time.Second))}, "to": {"now"}}
	var h historyJSON
	gt.Eventually(t, "the second declaration in the history", func() bool {
		_, h, _ = historyQuery(t, gw.Admin(t), params)
		return len(h.Series) > 0 && h.Series[0].Sampled == rfc(again)
	})
	got := map[string]string{}
	for _, s := range h.Series {
		got[strings.TrimPrefix(s.Path, path+"/")] = fmt.Sprint(s.Points)
	}
	at, gone := ms(base), ms(again)
	for cell, want := range map[string][][2]any{
		"#/total":   {{at, 0.0}},
		"A/latency": {{at, 10.0}},
		"A/count":   {{at, 1.0}, {gone, nil}},
		"B/latency": {{at, 20.0}, {gone, nil}},
		"B/count":   {{at, 2.0}, {gone, nil}},
	} {
		if got[cell] != fmt.Sprint(want) {
			t.Errorf("%s: points %s, want %v", cell, got[cell], want)
		}
	}
}

// A probe that declares its dataview again with another column keeps
// the series of the cells it still has: they go on in the store, with
// no staleness marker, though their values did not change.
func TestExportRedeclaredKeepsSeries(t *testing.T) {
	vm := tsdbtest.StartVictoria(t)
	p := probe("oms-redecl-x")
	ln := gt.Listen(t)
	gw := gt.Start(t, gateway.Options{Config: exportConfig(t, ln, p, remoteWrite("vm", vm.WriteURL())), Listener: ln})
	base := time.Now().Add(-time.Minute).Truncate(time.Millisecond)
	o := dialOrders(t, gw, p, base, [3]string{"10", "1", "up"}, [3]string{"20", "2", "up"})
	a, b := orderSeries(p, "watchfloor_cpu_latency", "A"), orderSeries(p, "watchfloor_cpu_latency", "B")
	read := func() map[string][]tsdbtest.Point {
		return vm.Export(t, `watchfloor_cpu_latency{probe="oms-redecl-x"}`)
	}
	tsdbtest.WaitFor(t, "A's latency in VictoriaMetrics", func() bool { return len(read()[a]) > 0 })

	// The same cells, and a column more.
	columns := append(append([]string{}, ordersColumns...), "extra")
	o.rp.Send(protocol.Batch{Flags: protocol.SnapshotStart | protocol.SnapshotEnd, Declares: []protocol.Declare{
		ordersDecl(o.rp, 1, base.Add(time.Second), columns, []string{"A", "10", "1", "up", "5"}, []string{"B", "20", "2", "up", "6"})}})
	o.sample(base.Add(2*time.Second), "B/latency=21")
	var got map[string][]tsdbtest.Point
	// Samples are sent in order: once B's 21 is there, so is anything
	// the declaration before it sent.
	tsdbtest.WaitFor(t, "B's new latency in VictoriaMetrics", func() bool {
		got = read()
		s := got[b]
		return len(s) > 0 && s[len(s)-1].V == 21
	})
	if s := got[a]; len(s) == 0 || isStale(s[len(s)-1]) {
		t.Errorf("A's latency, still 10 in the new declaration, ends in the store: %v", s)
	}
}

// A batch that declares a dataview twice, each time with other columns,
// leaves no series behind: the cells of the declaration that lasted only
// within the batch end when the dataview goes, and are not resent for
// ever.
func TestExportDeclaredTwiceInABatchLeavesNoSeries(t *testing.T) {
	vm := tsdbtest.StartVictoria(t)
	p := probe("oms-twice")
	ln := gt.Listen(t)
	gw := gt.Start(t, gateway.Options{Config: exportConfig(t, ln, p, remoteWrite("vm", vm.WriteURL(), "resend: 1s")), Listener: ln})
	base := time.Now().Add(-time.Minute).Truncate(time.Millisecond)
	o := dialOrders(t, gw, p, base, [3]string{"10", "1", "up"}, [3]string{"20", "2", "up"})
	at := base.Add(time.Second)
	o.rp.Send(protocol.Batch{Declares: []protocol.Declare{
		ordersDecl(o.rp, 2, at, []string{"latency", "extra"}, []string{"A", "10", "5"}),
		ordersDecl(o.rp, 3, at, []string{"latency", "other"}, []string{"A", "10", "7"}),
	}})
	extra := orderSeries(p, "watchfloor_cpu_extra", "A")
	read := func() map[string][]tsdbtest.Point { return vm.Export(t, `{probe="oms-twice",row="A"}`) }
	tsdbtest.WaitFor(t, "A's other in VictoriaMetrics", func() bool {
		return len(read()[orderSeries(p, "watchfloor_cpu_other", "A")]) > 0
	})
	o.rp.Send(protocol.Batch{Removes: []uint32{3}})
	tsdbtest.WaitFor(t, "every series of row A ended", func() bool {
		got := read()
		for key, s := range got {
			if len(s) == 0 || !isStale(s[len(s)-1]) {
				t.Logf("%s: %v", key, s)
				return false
			}
		}
		return len(got[extra]) > 0
	})
}
