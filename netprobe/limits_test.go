package netprobe

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/watchfloor/watchfloor/netprobe/protocol"
	"github.com/watchfloor/watchfloor/samplers"
)

// strictGateway applies batches as the strictest gateway could: it
// checks every limit at every step, in the order the batch applies (a
// cell budget passed for a moment, before a later part of the same batch
// shrinks things again, is a failure), and counts a snapshot on its own,
// from its first batch.
type strictGateway struct {
	limits protocol.Limits
	model
	cost uint64
}

func newStrictGateway(l protocol.Limits) *strictGateway {
	return &strictGateway{limits: l, model: model{views: map[uint32]*modelView{}}}
}

func viewCost(v *modelView) uint64 {
	c := protocol.Cost(v.name)
	for _, col := range v.columns {
		c += protocol.Cost(col)
	}
	for i, h := range v.headlines {
		c += protocol.Cost(h) + protocol.Cost(v.head[i])
	}
	for _, r := range v.rows {
		c += protocol.Cost(r.name)
		for _, cell := range r.cells {
			c += protocol.Cost(cell)
		}
	}
	return c
}

func (g *strictGateway) grow(t *testing.T, by uint64, what string) {
	t.Helper()
	g.cost += by
	if g.cost > g.limits.MaxCells {
		t.Fatalf("%s: the probe's cost %d passes the budget of %d", what, g.cost, g.limits.MaxCells)
	}
}

func (g *strictGateway) apply(t *testing.T, b protocol.Batch) {
	t.Helper()
	var got protocol.Batch
	if err := got.Decode(b.Append(nil)); err != nil {
		t.Fatalf("decode: %v", err)
	}
	l := g.limits
	if got.Flags&protocol.SnapshotStart != 0 {
		g.views = map[uint32]*modelView{}
		g.cost = 0
	}
	for _, id := range got.Removes {
		v := g.views[id]
		if v == nil {
			t.Fatalf("remove of unknown dataview %d", id)
		}
		g.cost -= viewCost(v)
		delete(g.views, id)
	}
	for _, d := range got.Declares {
		if g.views[d.ID] != nil {
			t.Fatalf("dataview %d declared twice", d.ID)
		}
		if uint32(len(g.views)) == l.MaxDataviews {
			t.Fatalf("declare of %s passes the limit of %d dataviews", d.Name, l.MaxDataviews)
		}
		if uint32(len(d.Columns)) > l.MaxColumns || uint32(len(d.Headlines)) > l.MaxHeadlines || uint32(len(d.Rows)) > l.MaxRows {
			t.Fatalf("declare of %s with %d columns, %d headlines, %d rows passes the limits %+v", d.Name, len(d.Columns), len(d.Headlines), len(d.Rows), l)
		}
		v := &modelView{samplerID: d.SamplerID, name: d.Name, columns: d.Columns, headlines: d.Headlines,
			head: raws(d.HeadValues), rows: map[uint32]*modelRow{}}
		for _, r := range d.Rows {
			if len(r.Cells) != len(d.Columns) {
				t.Fatalf("row %s of %s has %d cells for %d columns", r.Name, d.Name, len(r.Cells), len(d.Columns))
			}
			v.rows[r.Index] = &modelRow{name: r.Name, cells: raws(r.Cells)}
		}
		g.views[d.ID] = v
		g.grow(t, viewCost(v), "declare of "+d.Name)
	}
	for _, u := range got.Updates {
		v := g.views[u.ID]
		if v == nil {
			t.Fatalf("update of unknown dataview %d", u.ID)
		}
		for _, idx := range u.RemoveRows {
			r := v.rows[idx]
			if r == nil {
				t.Fatalf("remove of unknown row %d", idx)
			}
			g.cost -= viewCost(&modelView{rows: map[uint32]*modelRow{0: r}}) - protocol.Cost("")
			delete(v.rows, idx)
		}
		for _, r := range u.AddRows {
			if v.rows[r.Index] != nil {
				t.Fatalf("row index %d added while in use", r.Index)
			}
			if uint32(len(v.rows)) == l.MaxRows {
				t.Fatalf("row %s added to %s passes the limit of %d rows", r.Name, v.name, l.MaxRows)
			}
			nr := &modelRow{name: r.Name, cells: raws(r.Cells)}
			v.rows[r.Index] = nr
			g.grow(t, viewCost(&modelView{rows: map[uint32]*modelRow{0: nr}})-protocol.Cost(""), "row added to "+v.name)
		}
		for _, c := range u.Cells {
			old := v.rows[c.Row].cells[c.Col]
			v.rows[c.Row].cells[c.Col] = c.Value.Raw
			g.cost -= protocol.Cost(old)
			g.grow(t, protocol.Cost(c.Value.Raw), "cell change in "+v.name)
		}
		for _, h := range u.Headlines {
			old := v.head[h.Index]
			v.head[h.Index] = h.Value.Raw
			g.cost -= protocol.Cost(old)
			g.grow(t, protocol.Cost(h.Value.Raw), "headline change in "+v.name)
		}
	}
	if c := g.recount(); c != g.cost {
		t.Fatalf("the model's running cost %d differs from its recount %d", g.cost, c)
	}
}

func (g *strictGateway) recount() uint64 {
	var c uint64
	for _, v := range g.views {
		c += viewCost(v)
	}
	return c
}

// names returns "sampler/dataview" for each dataview the gateway holds,
// sorted.
func (g *strictGateway) names() []string {
	var out []string
	for _, v := range g.views {
		out = append(out, fmt.Sprintf("%d/%s", v.samplerID, v.name))
	}
	slices.Sort(out)
	return out
}

// send runs one tick through d into g: its batch, and the second one
// when the differ splits the tick.
func send(t *testing.T, d *differ, g *strictGateway, dirty map[uint32]*sample) {
	t.Helper()
	var b, then protocol.Batch
	d.delta(dirty, &b, &then)
	g.apply(t, b)
	if len(then.Removes)+len(then.Declares)+len(then.Updates) > 0 {
		g.apply(t, then)
	}
	sameCost(t, d, g)
}

func snapshot(t *testing.T, d *differ, g *strictGateway, all map[uint32]*sample) {
	t.Helper()
	for _, part := range protocol.SplitSnapshot(d.snapshot(all), 1<<20) {
		g.apply(t, part)
	}
	sameCost(t, d, g)
}

// sameCost checks that the differ's idea of what the gateway holds is
// what it holds: were it more, the differ would leave out what fits.
func sameCost(t *testing.T, d *differ, g *strictGateway) {
	t.Helper()
	if d.cost != g.cost {
		t.Fatalf("the differ counts the gateway's hold at %d, the gateway at %d", d.cost, g.cost)
	}
}

// wide is a dataview with cols columns, heads headlines and rows rows,
// each value tagged with v so a test can change them all.
func wide(name string, cols, heads, rows int, v string) samplers.Dataview {
	dv := samplers.Dataview{Name: name}
	for c := range cols {
		dv.Columns = append(dv.Columns, fmt.Sprintf("c%d", c))
	}
	for h := range heads {
		dv.Headlines = append(dv.Headlines, samplers.Headline{Name: fmt.Sprintf("h%d", h), Value: samplers.Text(v)})
	}
	for r := range rows {
		row := samplers.Row{Name: fmt.Sprintf("r%d", r)}
		for c := range cols {
			row.Cells = append(row.Cells, samplers.Text(fmt.Sprintf("%s.%d.%d", v, r, c)))
		}
		dv.Rows = append(dv.Rows, row)
	}
	return dv
}

const unlimited = 1 << 30

// Columns, headlines and rows past their limits are cut: the first ones
// are sent, in the sampler's order, and a row that moves up past a
// removed one is sent once it is within the limit.
func TestDifferCutsDataviewsToLimits(t *testing.T) {
	l := protocol.Limits{MaxDataviews: unlimited, MaxColumns: 3, MaxHeadlines: 2, MaxRows: 4, MaxCells: unlimited}
	var states []limitState
	d := newDiffer(&l, func(s limitState) { states = append(states, s) })
	g := newStrictGateway(l)
	all := map[uint32]*sample{1: {cfg: protocol.SamplerConfig{Entity: "e", Name: "s"}, dvs: []samplers.Dataview{wide("w", 5, 4, 6, "a")}, time: 1}}
	snapshot(t, d, g, all)

	check := func(rows ...string) {
		t.Helper()
		if len(g.views) != 1 {
			t.Fatalf("gateway holds %d dataviews, want 1", len(g.views))
		}
		for _, v := range g.views {
			if !slices.Equal(v.columns, []string{"c0", "c1", "c2"}) || !slices.Equal(v.headlines, []string{"h0", "h1"}) {
				t.Errorf("columns %v, headlines %v; want the first 3 and 2", v.columns, v.headlines)
			}
			var got []string
			for _, r := range v.rows {
				got = append(got, r.name+"="+strings.Join(r.cells, ","))
			}
			slices.Sort(got)
			if !slices.Equal(got, rows) {
				t.Errorf("rows %v, want %v", got, rows)
			}
		}
	}
	check("r0=a.0.0,a.0.1,a.0.2", "r1=a.1.0,a.1.1,a.1.2", "r2=a.2.0,a.2.1,a.2.2", "r3=a.3.0,a.3.1,a.3.2")

	// r1 goes: r4 moves within the limit and is sent.
	dv := wide("w", 5, 4, 6, "a")
	dv.Rows = slices.Delete(dv.Rows, 1, 2)
	next := map[uint32]*sample{1: {cfg: all[1].cfg, dvs: []samplers.Dataview{dv}, time: 2}}
	send(t, d, g, next)
	check("r0=a.0.0,a.0.1,a.0.2", "r2=a.2.0,a.2.1,a.2.2", "r3=a.3.0,a.3.1,a.3.2", "r4=a.4.0,a.4.1,a.4.2")

	if len(states) != 1 {
		t.Fatalf("reported %d changes of what is cut, want 1 (the rows cut went from 2 to 1: the same state)", len(states))
	}
	if want := []string{"e/s/w: columns 3 of 5, headlines 2 of 4, rows 4 of 6"}; !slices.Equal(states[0].Cut, want) || len(states[0].LeftOut) != 0 {
		t.Errorf("reported %+v, want cut %v", states[0], want)
	}

	// Within every limit again: reported once more, with nothing cut.
	small := map[uint32]*sample{1: {cfg: all[1].cfg, dvs: []samplers.Dataview{wide("w", 3, 2, 4, "b")}, time: 3}}
	send(t, d, g, small)
	if len(states) != 2 || len(states[1].Cut)+len(states[1].LeftOut) != 0 {
		t.Errorf("reports %+v, want a second, empty one once everything fits", states)
	}
}

// Whole dataviews that do not fit the dataview count or the cell budget
// are left out, the same ones each time: those of the later samplers.
// One that grows pushes a later one out; when it shrinks, that one comes
// back. The strict gateway never sees a limit passed.
func TestDifferKeepsWithinDataviewsAndBudget(t *testing.T) {
	// Each 2-column, 2-row dataview with short names costs
	// 1 (name) + 2 (columns) + 2 × (1 + 2) (rows) = 9.
	mk := func(v string, names ...string) []samplers.Dataview {
		var dvs []samplers.Dataview
		for _, n := range names {
			dvs = append(dvs, wide(n, 2, 0, 2, v))
		}
		return dvs
	}
	cfg := func(id uint32) protocol.SamplerConfig {
		return protocol.SamplerConfig{ID: id, Entity: "e", Name: fmt.Sprint("s", id)}
	}
	l := protocol.Limits{MaxDataviews: 4, MaxColumns: unlimited, MaxHeadlines: unlimited, MaxRows: unlimited, MaxCells: 30}
	var states []limitState
	d := newDiffer(&l, func(s limitState) { states = append(states, s) })
	g := newStrictGateway(l)
	all := map[uint32]*sample{
		3: {cfg: cfg(3), dvs: mk("a", "x"), time: 1},
		1: {cfg: cfg(1), dvs: mk("a", "p", "q"), time: 1},
		2: {cfg: cfg(2), dvs: mk("a", "z"), time: 1},
	}
	snapshot(t, d, g, all)
	// 9 + 9 + 9 = 27 of 30: sampler 3's x does not fit.
	if got, want := g.names(), []string{"1/p", "1/q", "2/z"}; !slices.Equal(got, want) {
		t.Fatalf("gateway holds %v, want %v", got, want)
	}
	if len(states) != 1 || !slices.Equal(states[0].LeftOut, []string{"e/s3/x: over the cell budget"}) {
		t.Errorf("reported %+v, want e/s3/x left out", states)
	}

	// Sampler 1's q grows past a cost unit per value: 1 + 2 + 2 × (1 +
	// 2 × 2) = 13, and z (9) no longer fits after it (9 + 13 + 9 = 31).
	long := strings.Repeat("v", protocol.CostUnit)
	grown := map[uint32]*sample{1: {cfg: cfg(1), dvs: append(mk("a", "p"), wide("q", 2, 0, 2, long)), time: 2}}
	all[1] = grown[1]
	send(t, d, g, grown)
	if got, want := g.names(), []string{"1/p", "1/q"}; !slices.Equal(got, want) {
		t.Fatalf("after q grew, gateway holds %v, want %v", got, want)
	}

	// It shrinks back; z returns, though its sampler did not sample.
	shrunk := map[uint32]*sample{1: {cfg: cfg(1), dvs: mk("a", "p", "q"), time: 3}}
	all[1] = shrunk[1]
	send(t, d, g, shrunk)
	if got, want := g.names(), []string{"1/p", "1/q", "2/z"}; !slices.Equal(got, want) {
		t.Fatalf("after q shrank, gateway holds %v, want %v", got, want)
	}

	// The dataview count: with more budget, four of the five.
	l.MaxCells = unlimited
	d = newDiffer(&l, nil)
	g = newStrictGateway(l)
	all[2] = &sample{cfg: cfg(2), dvs: mk("a", "z", "y"), time: 4}
	snapshot(t, d, g, all)
	if got, want := g.names(), []string{"1/p", "1/q", "2/y", "2/z"}; !slices.Equal(got, want) {
		t.Fatalf("with four dataviews allowed, gateway holds %v, want %v", got, want)
	}
}

// When one dataview grows by what another shrinks, one batch would pass
// the budget before its shrinking part applies; the tick goes in two
// batches, the shrinking part first, and neither passes it.
func TestDifferSplitsABatchThatWouldPeakOverBudget(t *testing.T) {
	long := strings.Repeat("v", protocol.CostUnit)
	one := func(v string) samplers.Dataview {
		return samplers.Dataview{Name: "d", Columns: []string{"c"}, Rows: []samplers.Row{{Name: "r", Cells: []samplers.Cell{samplers.Text(v)}}}}
	}
	// Each dataview costs 1 + 1 + (1 + 1) = 4, or 5 with a long value.
	l := protocol.Limits{MaxDataviews: unlimited, MaxColumns: unlimited, MaxHeadlines: unlimited, MaxRows: unlimited, MaxCells: 9}
	d := newDiffer(&l, nil)
	g := newStrictGateway(l)
	all := map[uint32]*sample{1: {dvs: []samplers.Dataview{one(long)}, time: 1}, 2: {dvs: []samplers.Dataview{one("x")}, time: 1}}
	snapshot(t, d, g, all)
	next := map[uint32]*sample{1: {dvs: []samplers.Dataview{one("x")}, time: 2}, 2: {dvs: []samplers.Dataview{one(long)}, time: 2}}
	var b, then protocol.Batch
	d.delta(next, &b, &then)
	if len(then.Updates) != 1 || len(then.Updates[0].Cells) != 1 || then.Updates[0].Cells[0].Value.Raw != long {
		t.Fatalf("second batch %+v, want only sampler 2's growing cell", then)
	}
	g.apply(t, b)
	g.apply(t, then)
	sameCost(t, d, g)
	if g.cost != 9 {
		t.Errorf("after both batches the gateway holds %d, want 9", g.cost)
	}
	// Both dataviews carry the tick's sample time in the first batch.
	if len(b.Updates) != 2 || b.Updates[0].SampleTime != 2 || b.Updates[1].SampleTime != 2 {
		t.Errorf("first batch updates %+v, want both dataviews at sample time 2", b.Updates)
	}

	// A tick that fits whole stays one batch.
	b.Reset()
	then.Reset()
	d.delta(map[uint32]*sample{1: {dvs: []samplers.Dataview{one("y")}, time: 3}}, &b, &then)
	if len(then.Removes)+len(then.Declares)+len(then.Updates) != 0 || len(b.Updates) != 1 {
		t.Errorf("a tick within the budget went as %+v then %+v, want one batch", b, then)
	}
}

// Random samples through random limits: the strict gateway never sees a
// limit passed, what it holds is always the samples' own values, and when
// everything fits everything is sent.
func TestDifferLimitsRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	word := func() string { return strings.Repeat("w", rng.IntN(3*protocol.CostUnit)) }
	gen := func(id uint32, tick int) *sample {
		var dvs []samplers.Dataview
		for n := range rng.IntN(4) {
			dv := samplers.Dataview{Name: fmt.Sprintf("d%d", n)}
			for c := range rng.IntN(5) {
				dv.Columns = append(dv.Columns, fmt.Sprintf("c%d", c))
			}
			for h := range rng.IntN(4) {
				dv.Headlines = append(dv.Headlines, samplers.Headline{Name: fmt.Sprintf("h%d", h), Value: samplers.Text(word())})
			}
			for r := range rng.IntN(8) {
				row := samplers.Row{Name: fmt.Sprintf("r%d", rng.IntN(10)+r*10)}
				for range len(dv.Columns) {
					row.Cells = append(row.Cells, samplers.Text(word()))
				}
				dv.Rows = append(dv.Rows, row)
			}
			dvs = append(dvs, dv)
		}
		return &sample{cfg: protocol.SamplerConfig{ID: id}, dvs: dvs, time: int64(tick)}
	}
	for round := range 200 {
		l := protocol.Limits{
			MaxDataviews: uint32(1 + rng.IntN(8)), MaxColumns: uint32(1 + rng.IntN(5)), MaxHeadlines: uint32(1 + rng.IntN(4)),
			MaxRows: uint32(1 + rng.IntN(8)), MaxCells: uint64(10 + rng.IntN(400)),
		}
		t.Run(fmt.Sprint(round), func(t *testing.T) {
			d := newDiffer(&l, nil)
			g := newStrictGateway(l)
			all := map[uint32]*sample{}
			for id := range uint32(4) {
				all[id] = gen(id, 0)
			}
			snapshot(t, d, g, all)
			for tick := 1; tick <= 20; tick++ {
				dirty := map[uint32]*sample{}
				for id := range uint32(4) {
					if rng.IntN(2) == 0 {
						all[id] = gen(id, tick)
						dirty[id] = all[id]
					}
				}
				send(t, d, g, dirty)
				checkHeld(t, g, all, l)
			}
		})
	}
}

// checkHeld checks that every value the gateway holds is its sample's,
// and that if all of it would fit, all of it is held.
func checkHeld(t *testing.T, g *strictGateway, all map[uint32]*sample, l protocol.Limits) {
	t.Helper()
	type key struct {
		id   uint32
		name string
	}
	want := map[key]*samplers.Dataview{}
	var total uint64
	count := 0
	for id, s := range all {
		for i := range s.dvs {
			dv := &s.dvs[i]
			want[key{id, dv.Name}] = dv
			v := &modelView{name: dv.Name, columns: dv.Columns[:min(len(dv.Columns), int(l.MaxColumns))], rows: map[uint32]*modelRow{}}
			for _, h := range dv.Headlines[:min(len(dv.Headlines), int(l.MaxHeadlines))] {
				v.headlines = append(v.headlines, h.Name)
				v.head = append(v.head, h.Value.Raw)
			}
			seen := map[string]bool{}
			for _, r := range dv.Rows {
				if seen[r.Name] || len(v.rows) == int(l.MaxRows) {
					continue
				}
				seen[r.Name] = true
				v.rows[uint32(len(v.rows))] = &modelRow{name: r.Name, cells: raws(r.Cells[:len(v.columns)])}
			}
			total += viewCost(v)
			count++
		}
	}
	for _, v := range g.views {
		dv := want[key{v.samplerID, v.name}]
		if dv == nil {
			t.Fatalf("gateway holds %d/%s, which no sample has", v.samplerID, v.name)
		}
		for _, r := range v.rows {
			i := slices.IndexFunc(dv.Rows, func(sr samplers.Row) bool { return sr.Name == r.name })
			if i < 0 || !reflect.DeepEqual(r.cells, raws(dv.Rows[i].Cells[:len(r.cells)])) {
				t.Fatalf("gateway holds row %s of %s as %v, which its sample does not", r.name, v.name, r.cells)
			}
		}
	}
	if total <= l.MaxCells && count <= int(l.MaxDataviews) && len(g.views) != count {
		t.Fatalf("everything fits (%d dataviews costing %d), but the gateway holds %d of them", count, total, len(g.views))
	}
}
