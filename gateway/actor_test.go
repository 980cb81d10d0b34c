package gateway

import (
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/watchfloor/watchfloor/gateway/config"
	"github.com/watchfloor/watchfloor/netprobe/protocol"
	"github.com/watchfloor/watchfloor/rules"
	"github.com/watchfloor/watchfloor/samplers"
)

// event is what a recorder saw of one DataviewChange.
type seen struct {
	key                             string
	declared, removed, staleChanged bool
	stale                           bool
	cells                           []string // "row/column=value" ("#/name=value" for headlines), "+" prefixed when added
	removedRows                     []string
}

// recorder is a Consumer that keeps what it is given, as a test's
// independent view of what each event changed.
type recorder struct {
	events    [][]seen
	structure []bool
}

func (r *recorder) Consume(ch *Changes) {
	var evs []seen
	for i := range ch.Dataviews {
		d := &ch.Dataviews[i]
		s := seen{key: d.Path().String(), declared: d.Declared, removed: d.Removed, staleChanged: d.StaleChanged, stale: d.Stale(),
			removedRows: slices.Clone(ch.RemovedRows(d))}
		for c := range ch.Cells(d) {
			row := c.Row
			if c.Headline {
				row = "#"
			}
			item := row + "/" + c.Column + "=" + c.Value.Raw
			if c.Added {
				item = "+" + item
			}
			s.cells = append(s.cells, item)
		}
		evs = append(evs, s)
	}
	r.events = append(r.events, evs)
	r.structure = append(r.structure, ch.Structure)
}

func (r *recorder) last() []seen {
	if len(r.events) == 0 {
		return nil
	}
	return r.events[len(r.events)-1]
}

// testLimits are small, so tests reach them cheaply.
var testLimits = protocol.Limits{MaxDataviews: 8, MaxColumns: 4, MaxHeadlines: 4, MaxRows: 50, MaxCells: 10_000}

// testActor returns the actor of probe "p" (entity "e", sampler "s", whose
// instance ID it returns) of a gateway that is not serving: its methods
// are called directly, as its goroutine would, with a fake clock.
func testActor(t testing.TB, lim protocol.Limits) (*probeActor, *recorder, uint32, *stepClock) {
	t.Helper()
	yaml := fmt.Sprintf(`listen: "127.0.0.1:0"
probes: [{name: p, token_sha256: %s}]
samplers: [{name: s, type: cpu, interval: 1s}]
entities: [{name: e, probe: p, attributes: {client: acme}, samplers: [s]}]
`, config.HashToken("t"))
	cfg, err := config.Parse("test", []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	clock := newStepClock()
	g, err := New(Options{Config: cfg, Logger: slog.New(slog.DiscardHandler), Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	g.mu.Lock()
	pc := g.probeConfig(cfg, "p")
	g.mu.Unlock()
	pc.limits = lim
	rec := &recorder{}
	a := newProbeActor(g, "p", pc, []Consumer{rec})
	return a, rec, pc.msg.Samplers[0].ID, clock
}

// setSeverity gives a cell a severity as the rules evaluator will: through the
// event's change list, so that the counts follow.
func (a *probeActor) setSeverity(dv *Dataview, c *cellState, sev rules.Severity) {
	a.begin(a.clock.Now())
	i := a.ch.begin(dv)
	a.ch.count(c.sev, -1)
	c.sev = sev
	a.ch.count(sev, 1)
	a.ch.end(i)
	a.finish()
}

// do applies one batch as the actor's goroutine would.
func (a *probeActor) do(b protocol.Batch) error {
	now := a.clock.Now()
	a.begin(now)
	err := a.apply(&b, now)
	a.finish()
	return err
}

func text(vs ...string) []samplers.Cell {
	out := make([]samplers.Cell, len(vs))
	for i, v := range vs {
		out[i] = samplers.Text(v)
	}
	return out
}

// declare is a declaration of dataview name with one column "v" and a row
// per value, named r0, r1, …, and headline "h".
func declare(id, sampler uint32, name string, t int64, values ...string) protocol.Declare {
	d := protocol.Declare{ID: id, SamplerID: sampler, Name: name, SampleTime: t, Columns: []string{"v"},
		Headlines: []string{"h"}, HeadValues: text("head")}
	for i, v := range values {
		d.Rows = append(d.Rows, protocol.RowDecl{Index: uint32(i), Name: "r" + strconv.Itoa(i), Cells: text(v)})
	}
	return d
}

func snapshot(decls ...protocol.Declare) protocol.Batch {
	return protocol.Batch{Flags: protocol.SnapshotStart | protocol.SnapshotEnd, Declares: decls}
}

// cellOf returns the state of dataview key's cell in row, column "v".
func cellOf(t *testing.T, a *probeActor, key, row string) cellState {
	t.Helper()
	dv := a.dvs[key]
	if dv == nil {
		t.Fatalf("no dataview %s", key)
	}
	i, ok := dv.rowIndex[row]
	if !ok {
		t.Fatalf("dataview %s has no row %s", key, row)
	}
	return dv.rows[i].cells[0]
}

const key = "p/e/s/d"

// A probe that reconnects and sends the same values again leaves every
// cell as it was — last-change time included — and what it sends reaches
// the consumers as a delta of only what really changed, not a new
// dataview.
func TestReconnectKeepsUnchangedCells(t *testing.T) {
	a, rec, sid, clock := testActor(t, testLimits)
	t1 := clock.Now().UnixNano()
	if err := a.do(snapshot(declare(1, sid, "d", t1, "1", "2", "3"))); err != nil {
		t.Fatal(err)
	}
	a.setSeverity(a.dvs[key], &a.dvs[key].rows[0].cells[0], rules.Warning)
	clock.Advance(time.Minute)
	a.disconnected(clock.Now())
	if !a.dvs[key].staleNow {
		t.Fatal("a disconnected probe's dataview is not stale")
	}

	clock.Advance(time.Minute)
	t2 := clock.Now().UnixNano()
	// The new connection numbers rows differently: r2 first.
	d := declare(7, sid, "d", t2)
	d.Rows = []protocol.RowDecl{
		{Index: 0, Name: "r2", Cells: text("3")},
		{Index: 1, Name: "r0", Cells: text("1")},
		{Index: 2, Name: "r1", Cells: text("20")},
	}
	if err := a.do(snapshot(d)); err != nil {
		t.Fatal(err)
	}
	for row, want := range map[string]int64{"r0": t1, "r1": t2, "r2": t1} {
		if got := cellOf(t, a, key, row).changed; got != want {
			t.Errorf("%s changed at %v, want %v", row, time.Unix(0, got), time.Unix(0, want))
		}
	}
	if sev := cellOf(t, a, key, "r0").sev; sev != rules.Warning {
		t.Errorf("r0's severity = %v after the reconnect, want the warning it had", sev)
	}
	if a.dvs[key].head[0].changed != t1 {
		t.Error("the unchanged headline's last-change time moved")
	}
	got := rec.last()
	var cells []string
	for _, s := range got {
		if s.declared || s.removed {
			t.Errorf("reconnect reported %+v: the dataview was replaced, not reconciled", s)
		}
		cells = append(cells, s.cells...)
	}
	if !slices.Equal(cells, []string{"r1/v=20"}) {
		t.Errorf("reconnect reported cells %v, want only r1/v=20", cells)
	}
	if a.dvs[key].staleNow {
		t.Error("the reconciled dataview is still stale")
	}
	// Updates use the new connection's indexes.
	err := a.do(protocol.Batch{Updates: []protocol.Update{{ID: 7, SampleTime: t2 + 1, Cells: []protocol.CellChange{{Row: 0, Col: 0, Value: samplers.Text("30")}}}}})
	if err != nil {
		t.Fatal(err)
	}
	if v := cellOf(t, a, key, "r2").raw; v != "30" {
		t.Errorf("row index 0 of the new connection changed %q, want r2 set to 30", v)
	}
}

// A probe that drops in the middle of a chunked snapshot leaves the last
// complete state: while the snapshot is open, nothing of it is served, and
// one that never ends changes nothing.
func TestHalfSnapshotChangesNothing(t *testing.T) {
	a, _, sid, clock := testActor(t, testLimits)
	var forty []string
	for i := range 40 {
		forty = append(forty, strconv.Itoa(i))
	}
	if err := a.do(snapshot(declare(1, sid, "d", clock.Now().UnixNano(), forty...))); err != nil {
		t.Fatal(err)
	}
	a.disconnected(clock.Now())
	before := a.dvs[key]

	// A new connection's snapshot declares the dataview with no rows, then
	// sends 30 of its 40 rows with new values, and drops.
	clock.Advance(time.Second)
	d := declare(1, sid, "d", clock.Now().UnixNano())
	if err := a.do(protocol.Batch{Flags: protocol.SnapshotStart, Declares: []protocol.Declare{d}}); err != nil {
		t.Fatal(err)
	}
	u := protocol.Update{ID: 1, SampleTime: d.SampleTime}
	for i := range 30 {
		u.AddRows = append(u.AddRows, protocol.RowDecl{Index: uint32(i), Name: "r" + strconv.Itoa(i), Cells: text("new")})
	}
	if err := a.do(protocol.Batch{Updates: []protocol.Update{u}}); err != nil {
		t.Fatal(err)
	}
	if got := a.g.tree.get(key); got != before || got.live != 40 || !got.staleNow {
		t.Fatalf("while the snapshot is open the tree serves %d rows (stale %v), want the old 40, stale", got.live, got.staleNow)
	}
	a.disconnected(clock.Now())
	dv := a.dvs[key]
	if dv != before || dv.live != 40 || cellOf(t, a, key, "r5").raw != "5" || !dv.staleNow {
		t.Fatalf("after the drop: %d rows, r5 = %q, stale %v; want the complete old state", dv.live, cellOf(t, a, key, "r5").raw, dv.staleNow)
	}
	if a.cost != dv.cost {
		t.Errorf("the probe's cost is %d, its one dataview's %d: the abandoned snapshot was counted", a.cost, dv.cost)
	}
}

// A dataview removed and declared again in one batch (what the netprobe
// sends when a sampler restarts) is reconciled, not replaced.
func TestRedeclaredInOneBatchKeepsState(t *testing.T) {
	a, rec, sid, clock := testActor(t, testLimits)
	t1 := clock.Now().UnixNano()
	if err := a.do(snapshot(declare(1, sid, "d", t1, "1", "2"))); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Second)
	if err := a.do(protocol.Batch{Removes: []uint32{1}, Declares: []protocol.Declare{declare(2, sid, "d", clock.Now().UnixNano(), "1", "5")}}); err != nil {
		t.Fatal(err)
	}
	if cellOf(t, a, key, "r0").changed != t1 {
		t.Error("r0's last-change time moved")
	}
	if got := rec.last(); len(got) != 1 || got[0].declared || got[0].removed || !slices.Equal(got[0].cells, []string{"r1/v=5"}) {
		t.Errorf("re-declaration reported %+v, want one delta with r1/v=5", got)
	}
	if rec.structure[len(rec.structure)-1] {
		t.Error("the tree's structure is reported changed, but no dataview came or went")
	}
}

// New columns make a new dataview, but cells of the same row and column
// with the same value keep their state.
func TestNewColumnsCarryCellState(t *testing.T) {
	a, rec, sid, clock := testActor(t, testLimits)
	t1 := clock.Now().UnixNano()
	if err := a.do(snapshot(declare(1, sid, "d", t1, "1", "2"))); err != nil {
		t.Fatal(err)
	}
	a.setSeverity(a.dvs[key], &a.dvs[key].rows[0].cells[0], rules.Critical)
	clock.Advance(time.Second)
	t2 := clock.Now().UnixNano()
	d := declare(2, sid, "d", t2)
	d.Columns = []string{"w", "v"}
	d.Rows = []protocol.RowDecl{{Index: 0, Name: "r0", Cells: text("x", "1")}, {Index: 1, Name: "r1", Cells: text("y", "9")}}
	if err := a.do(protocol.Batch{Removes: []uint32{1}, Declares: []protocol.Declare{d}}); err != nil {
		t.Fatal(err)
	}
	dv := a.dvs[key]
	r0 := dv.rows[dv.rowIndex["r0"]]
	if r0.cells[1].changed != t1 || r0.cells[1].sev != rules.Critical {
		t.Errorf("r0/v kept changed=%v sev=%v, want %v and critical", r0.cells[1].changed, r0.cells[1].sev, t1)
	}
	if r0.cells[0].changed != t2 {
		t.Error("the new column's cell has an old last-change time")
	}
	got := rec.last()
	if len(got) != 1 || !got[0].declared {
		t.Fatalf("column change reported %+v, want one declared dataview", got)
	}
	if want := []string{"+r0/w=x", "+r1/w=y", "+r1/v=9"}; !slices.Equal(got[0].cells, want) {
		t.Errorf("cells reported %v, want %v", got[0].cells, want)
	}
	checkCounts(t, a)
}

// checkCounts recounts every node's cells by severity and compares with
// the counts the actor kept, and the probe's cost with its dataviews'.
func checkCounts(t testing.TB, a *probeActor) {
	t.Helper()
	var cost uint64
	probe := sevCounts{}
	for _, e := range a.node.entities {
		ent := sevCounts{}
		for _, s := range e.samplers {
			smp := sevCounts{}
			for _, dv := range s.dataviews {
				c := dv.ownCounts()
				if got := dv.counts.load(); got != c {
					t.Errorf("dataview %s counts %v, recount %v", dv.key, got, c)
				}
				smp.add(&c)
				cost += recost(dv)
				if dv.cost != recost(dv) {
					t.Errorf("dataview %s costs %d, recomputed %d", dv.key, dv.cost, recost(dv))
				}
			}
			if got := s.counts.load(); got != smp {
				t.Errorf("sampler %s counts %v, recount %v", s.path, got, smp)
			}
			ent.add(&smp)
		}
		if got := e.counts.load(); got != ent {
			t.Errorf("entity %s counts %v, recount %v", e.path, got, ent)
		}
		probe.add(&ent)
	}
	own := findingsCounts(a.node.findings.Load())
	probe.add(&own)
	if got := a.node.counts.load(); got != probe {
		t.Errorf("probe counts %v, recount %v", got, probe)
	}
	if a.cost != cost {
		t.Errorf("probe cost %d, its dataviews' %d", a.cost, cost)
	}
}

func recost(dv *Dataview) uint64 {
	c := protocol.Cost(dv.path.Dataview)
	for _, col := range dv.columns {
		c += protocol.Cost(col)
	}
	for i, h := range dv.headlines {
		c += protocol.Cost(h) + protocol.Cost(dv.head[i].raw)
	}
	for _, r := range dv.rows {
		if r != nil {
			c += rowCost(r)
		}
	}
	return c
}

// Counts follow cells as they come, go and change severity, at every
// level, kept by the actor without scans.
func TestCountsFollowCells(t *testing.T) {
	a, _, sid, clock := testActor(t, testLimits)
	now := clock.Now().UnixNano()
	if err := a.do(snapshot(declare(1, sid, "d", now, "1", "2", "3"), declare(2, sid, "d2", now, "1"))); err != nil {
		t.Fatal(err)
	}
	checkCounts(t, a)
	if got := a.node.counts.load(); got[rules.Undefined] != 6 {
		t.Fatalf("probe counts %v, want 6 undefined (4 rows and 2 headlines)", got)
	}
	err := a.do(protocol.Batch{Updates: []protocol.Update{{ID: 1, SampleTime: now + 1, RemoveRows: []uint32{1},
		AddRows: []protocol.RowDecl{{Index: 1, Name: "r9", Cells: text("9")}, {Index: 3, Name: "r10", Cells: text("10")}}}}})
	if err != nil {
		t.Fatal(err)
	}
	checkCounts(t, a)
	if err := a.do(protocol.Batch{Removes: []uint32{2}}); err != nil {
		t.Fatal(err)
	}
	checkCounts(t, a)
	if got := a.node.counts.load(); got[rules.Undefined] != 5 {
		t.Fatalf("probe counts %v, want 5 undefined", got)
	}
	a.stop()
	if got := a.node.counts.load(); !got.zero() {
		t.Errorf("a stopped probe still counts %v", got)
	}
}

// Each limit refuses the batch that would pass it, with a reason that
// names it.
func TestLimits(t *testing.T) {
	many := func(n int, f func(i int) string) []string {
		var out []string
		for i := range n {
			out = append(out, f(i))
		}
		return out
	}
	tests := []struct {
		name string
		b    func(sid uint32) protocol.Batch
		want string
	}{
		{"columns", func(sid uint32) protocol.Batch {
			d := declare(1, sid, "d", 1)
			d.Columns = many(5, strconv.Itoa)
			return snapshot(d)
		}, "5 columns, over the limit of 4"},
		{"headlines", func(sid uint32) protocol.Batch {
			d := declare(1, sid, "d", 1)
			d.Headlines = many(5, strconv.Itoa)
			d.HeadValues = text(many(5, strconv.Itoa)...)
			return snapshot(d)
		}, "5 headlines, over the limit of 4"},
		{"rows", func(sid uint32) protocol.Batch {
			return snapshot(declare(1, sid, "d", 1, many(51, strconv.Itoa)...))
		}, "more than 50 rows"},
		{"dataviews", func(sid uint32) protocol.Batch {
			var ds []protocol.Declare
			for i := range 9 {
				ds = append(ds, declare(uint32(i+1), sid, "d"+strconv.Itoa(i), 1))
			}
			return snapshot(ds...)
		}, "more than 8 dataviews"},
		{"cell budget", func(sid uint32) protocol.Batch {
			return snapshot(declare(1, sid, "d", 1, many(10, func(int) string { return strings.Repeat("x", 64*1000) })...))
		}, "over its budget of 10000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, _, sid, _ := testActor(t, testLimits)
			err := a.do(tt.b(sid))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want one containing %q", err, tt.want)
			}
		})
	}
	// The budget holds for updates too: values that grow.
	a, _, sid, _ := testActor(t, testLimits)
	if err := a.do(snapshot(declare(1, sid, "d", 1, "1"))); err != nil {
		t.Fatal(err)
	}
	err := a.do(protocol.Batch{Updates: []protocol.Update{{ID: 1, SampleTime: 2,
		Cells: []protocol.CellChange{{Row: 0, Col: 0, Value: samplers.Text(strings.Repeat("y", 64*10_000))}}}}})
	if err == nil || !strings.Contains(err.Error(), "budget") {
		t.Fatalf("a value growing past the budget: err = %v", err)
	}
}

// A dataview that is not sampled for a while goes stale while its probe
// stays connected, and a sample brings it back.
func TestDataviewGoesStaleWithoutSamples(t *testing.T) {
	a, rec, sid, clock := testActor(t, testLimits)
	if err := a.do(snapshot(declare(1, sid, "d", clock.Now().UnixNano(), "1"))); err != nil {
		t.Fatal(err)
	}
	after := staleAfter(time.Second)
	clock.Advance(after - time.Millisecond)
	a.due(clock.Now())
	if a.dvs[key].staleNow {
		t.Fatal("stale before its deadline")
	}
	// A sample just before the deadline moves it.
	if err := a.do(protocol.Batch{Updates: []protocol.Update{{ID: 1, SampleTime: clock.Now().UnixNano()}}}); err != nil {
		t.Fatal(err)
	}
	clock.Advance(2 * time.Millisecond)
	a.due(clock.Now())
	if a.dvs[key].staleNow {
		t.Fatal("stale although sampled since")
	}
	clock.Advance(after)
	a.due(clock.Now())
	if !a.dvs[key].staleNow || !a.dvs[key].stale.Load() {
		t.Fatal("not stale after going unsampled past its deadline")
	}
	if got := rec.last(); len(got) != 1 || !got[0].staleChanged || !got[0].stale {
		t.Errorf("consumers saw %+v, want the dataview turning stale", got)
	}
	if err := a.do(protocol.Batch{Updates: []protocol.Update{{ID: 1, SampleTime: clock.Now().UnixNano()}}}); err != nil {
		t.Fatal(err)
	}
	if a.dvs[key].staleNow {
		t.Fatal("still stale after a sample")
	}
}

// The tree holds one cellState per live cell: its layout is part of the
// memory per cell that docs/benchmarks.md records.
func TestCellStateSize(t *testing.T) {
	if n := unsafe.Sizeof(cellState{}); n != 48 {
		t.Fatalf("cellState takes %d bytes, want 40", n)
	}
}
