package gateway

import (
	"testing"

	"github.com/watchfloor/watchfloor/netprobe/protocol"
)

// The same path declared twice in one batch, the second time with another
// shape, leaves every node counting exactly the cells there are.
func TestDoubleDeclareKeepsCountsRight(t *testing.T) {
	a, _, sid, clock := testActor(t, testLimits)
	now := clock.Now().UnixNano()
	first := declare(1, sid, "d", now, "1", "2", "3") // 3 rows + 1 headline
	second := declare(2, sid, "d", now)
	second.Columns = []string{"w"} // another shape: carryState
	second.Rows = []protocol.RowDecl{{Index: 0, Name: "x", Cells: text("9")}}
	if err := a.do(protocol.Batch{Declares: []protocol.Declare{first, second}}); err != nil {
		t.Fatal(err)
	}
	checkCounts(t, a)
	// And once the dataview is gone, nothing should be left counted.
	if err := a.do(protocol.Batch{Removes: []uint32{2}}); err != nil {
		t.Fatal(err)
	}
	if got := a.node.counts.load(); !got.zero() {
		t.Errorf("the probe has no dataview but counts %v", got)
	}
}

// So does a re-declaration of the same shape (reconciled in place, a row
// added) followed in the same batch by one of another shape.
func TestInPlaceThenReshapeKeepsCountsRight(t *testing.T) {
	a, _, sid, clock := testActor(t, testLimits)
	now := clock.Now().UnixNano()
	if err := a.do(snapshot(declare(1, sid, "d", now, "1"))); err != nil {
		t.Fatal(err)
	}
	again := declare(2, sid, "d", now+1, "1", "2", "3", "4") // same shape, 3 rows more
	reshaped := declare(3, sid, "d", now+1)
	reshaped.Columns = []string{"w"}
	if err := a.do(protocol.Batch{Declares: []protocol.Declare{again, reshaped}}); err != nil {
		t.Fatal(err)
	}
	checkCounts(t, a)
}
