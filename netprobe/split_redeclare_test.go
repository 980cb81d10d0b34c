package netprobe

import (
	"strings"
	"testing"
	"time"

	"github.com/watchfloor/watchfloor/netprobe/protocol"
	"github.com/watchfloor/watchfloor/samplers"
)

// A tick split in two to stay within the cell budget keeps a
// re-declaration's removal with its declaration, in the second batch, so
// the gateway reconciles the two and the dataview's cells keep their
// state.
func TestSplitKeepsRedeclarationTogether(t *testing.T) {
	long := strings.Repeat("v", protocol.CostUnit)
	cell := func(v string) []samplers.Cell { return []samplers.Cell{samplers.Text(v)} }
	orders := func() samplers.Dataview {
		return samplers.Dataview{Name: "orders", Columns: []string{"n"}, Rows: []samplers.Row{{Name: "acme", Cells: cell("1")}}}
	}
	pair := func(a, b string) samplers.Dataview {
		return samplers.Dataview{Name: "pair", Columns: []string{"v"}, Rows: []samplers.Row{{Name: "a", Cells: cell(a)}, {Name: "b", Cells: cell(b)}}}
	}
	cfg1 := protocol.SamplerConfig{ID: 1, Entity: "e", Name: "s1"}
	cfg2 := protocol.SamplerConfig{ID: 2, Entity: "e", Name: "s2"}
	all := map[uint32]*sample{
		1: {cfg: cfg1, dvs: []samplers.Dataview{orders()}, time: 1},
		2: {cfg: cfg2, dvs: []samplers.Dataview{pair(long, "x")}, time: 1},
	}
	// The budget is what the snapshot costs once orders carries the error
	// headline, so the final state fits exactly.
	probeDiffer := newDiffer(&protocol.Limits{MaxDataviews: 10, MaxColumns: 10, MaxHeadlines: 10, MaxRows: 10, MaxCells: unlimited}, nil)
	probeDiffer.snapshot(all)
	failing := failedSample(cfg1, all[1], "boom", time.Unix(0, 2))
	budget := probeDiffer.cost + protocol.Cost(ErrorHeadline) + protocol.Cost("boom")
	l := protocol.Limits{MaxDataviews: 10, MaxColumns: 10, MaxHeadlines: 10, MaxRows: 10, MaxCells: budget}
	d := newDiffer(&l, nil)
	g := newStrictGateway(l)
	snapshot(t, d, g, all)

	next := map[uint32]*sample{1: failing, 2: {cfg: cfg2, dvs: []samplers.Dataview{pair("x", long)}, time: 2}}
	var b, then protocol.Batch
	d.delta(next, &b, &then)
	g.apply(t, b)
	if len(then.Removes)+len(then.Declares)+len(then.Updates) > 0 {
		g.apply(t, then)
	}
	declaredIn := func(batch protocol.Batch, name string) bool {
		for _, d := range batch.Declares {
			if d.Name == name {
				return true
			}
		}
		return false
	}
	if len(b.Removes) > 0 && !declaredIn(b, "orders") && declaredIn(then, "orders") {
		t.Errorf("the tick went as two batches: the first removes dataview %v, the second declares orders again (removes %v): "+
			"the gateway drops it in between and its cells' state is lost", b.Removes, then.Removes)
	}
}
