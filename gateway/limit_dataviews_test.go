package gateway

import (
	"testing"

	"github.com/watchfloor/watchfloor/netprobe/protocol"
)

// A batch that removes one dataview and declares another, ending within
// the dataview limit, is applied: the netprobe sends exactly that when a
// sampler's dataview changes its name, and the removal counts before the
// declaration after it.
func TestRemoveAndDeclareAtDataviewLimit(t *testing.T) {
	lim := testLimits
	lim.MaxDataviews = 2
	a, _, sid, clock := testActor(t, lim)
	now := clock.Now().UnixNano()
	if err := a.do(snapshot(declare(1, sid, "d0", now, "1"), declare(2, sid, "d1", now, "1"))); err != nil {
		t.Fatal(err)
	}
	// d0 goes, d2 comes: two dataviews before, two after.
	err := a.do(protocol.Batch{Removes: []uint32{1}, Declares: []protocol.Declare{declare(3, sid, "d2", now+1, "1")}})
	if err != nil {
		t.Fatalf("a batch that leaves 2 dataviews under a limit of 2 was refused: %v", err)
	}
	if len(a.dvs) != 2 {
		t.Fatalf("%d dataviews live, want 2", len(a.dvs))
	}
}
