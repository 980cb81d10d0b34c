package gateway

import (
	"testing"

	"github.com/watchfloor/watchfloor/netprobe/protocol"
)

// Declarations for samplers the gateway does not configure are ignored,
// but the IDs they take are held to max_dataviews too, so a probe cannot
// make the gateway keep them without end.
func TestIgnoredDeclarationsBounded(t *testing.T) {
	a, _, sid, clock := testActor(t, testLimits)
	now := clock.Now().UnixNano()
	if err := a.do(snapshot(declare(1, sid, "d", now, "1"))); err != nil {
		t.Fatal(err)
	}
	before := liveHeap()
	const batches, per = 4, 100_000
	id := uint32(100)
	for range batches {
		b := protocol.Batch{Declares: make([]protocol.Declare, per)}
		for i := range b.Declares {
			id++
			b.Declares[i] = protocol.Declare{ID: id, SamplerID: 999_999}
		}
		if err := a.do(b); err != nil {
			t.Logf("refused: %v", err)
			break
		}
	}
	grew := int64(liveHeap()) - int64(before)
	t.Logf("the actor keeps %d dataview IDs (max_dataviews %d); live heap grew %d KiB", len(a.byID), testLimits.MaxDataviews, grew>>10)
	// Live dataviews and those of unconfigured samplers are each held to
	// max_dataviews.
	if len(a.byID) > 2*int(testLimits.MaxDataviews) {
		t.Errorf("%d dataview IDs held for one connection, past twice max_dataviews %d: nothing bounds them", len(a.byID), testLimits.MaxDataviews)
	}
}
