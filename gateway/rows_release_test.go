package gateway

import (
	"strconv"
	"testing"

	"github.com/watchfloor/watchfloor/netprobe/protocol"
)

// Rows removed give back what they held: a probe that fills dataviews to
// max_rows and drains them again, one after another within its budget,
// leaves the gateway holding what is left, not what once was.
func TestDrainedRowsReleaseMemory(t *testing.T) {
	lim := protocol.Limits{MaxDataviews: 100, MaxColumns: 4, MaxHeadlines: 4, MaxRows: 100_000, MaxCells: 150_000}
	a, _, sid, clock := testActor(t, lim)
	a.consumers = nil // the recorder would keep every removed row's name
	now := clock.Now().UnixNano()
	before := liveHeap()
	const dataviews, rows = 10, 100_000
	for n := range dataviews {
		id := uint32(n + 1)
		d := protocol.Declare{ID: id, SamplerID: sid, Name: "d" + strconv.Itoa(n), SampleTime: now}
		if err := a.do(protocol.Batch{Declares: []protocol.Declare{d}}); err != nil {
			t.Fatal(err)
		}
		fill := protocol.Update{ID: id, SampleTime: now}
		drain := protocol.Update{ID: id, SampleTime: now}
		for r := range rows {
			fill.AddRows = append(fill.AddRows, protocol.RowDecl{Index: uint32(r), Name: strconv.Itoa(r)})
			drain.RemoveRows = append(drain.RemoveRows, uint32(r))
		}
		if err := a.do(protocol.Batch{Updates: []protocol.Update{fill}}); err != nil {
			t.Fatal(err)
		}
		if err := a.do(protocol.Batch{Updates: []protocol.Update{drain}}); err != nil {
			t.Fatal(err)
		}
	}
	grew := int64(liveHeap()) - int64(before)

	const perCell = 200 // the documented bound
	bound := int64(lim.MaxCells) * perCell
	t.Logf("%d dataviews, no rows, cost %d cells of %d; live heap grew %d MiB (documented bound for the whole budget: %d MiB)",
		len(a.dvs), a.cost, lim.MaxCells, grew>>20, bound>>20)
	if grew > bound {
		t.Errorf("the probe costs %d cells but holds %d MiB, over the %d MiB its whole budget may cost", a.cost, grew>>20, bound>>20)
	}
}
