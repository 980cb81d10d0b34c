package gateway

import (
	"runtime"
	"strconv"
	"testing"

	"github.com/watchfloor/watchfloor/netprobe/protocol"
	"github.com/watchfloor/watchfloor/samplers"
)

func liveHeap() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// A dataview replaced by a declaration of another shape is not kept alive
// by its stale deadline: the heap holds paths, and what a probe
// re-declares over and over costs the gateway only what is live.
func TestReplacedDataviewsNotPinnedByDeadlines(t *testing.T) {
	lim := protocol.Limits{MaxDataviews: 8, MaxColumns: 100, MaxHeadlines: 4, MaxRows: 1000, MaxCells: 100_000}
	a, _, sid, clock := testActor(t, lim)
	a.consumers = nil // the recorder would keep every event's cells
	now := clock.Now().UnixNano()
	big := func(id uint32, prefix string) protocol.Declare {
		d := protocol.Declare{ID: id, SamplerID: sid, Name: "d", SampleTime: now}
		for c := range 90 {
			d.Columns = append(d.Columns, prefix+strconv.Itoa(c))
		}
		for r := range 1000 {
			row := protocol.RowDecl{Index: uint32(r), Name: "r" + strconv.Itoa(r), Cells: make([]samplers.Cell, 90)}
			d.Rows = append(d.Rows, row)
		}
		return d
	}
	before := liveHeap()
	const rounds = 20
	for i := range rounds {
		prefix := "a"
		if i%2 == 1 {
			prefix = "b"
		}
		id := uint32(i + 1)
		b := protocol.Batch{Declares: []protocol.Declare{big(id, prefix)}}
		if i > 0 {
			b.Removes = []uint32{id - 1}
		}
		if err := a.do(b); err != nil {
			t.Fatal(err)
		}
	}
	grew := int64(liveHeap()) - int64(before)
	const perCell = 200 // docs/protocol.md, Limits
	t.Logf("after %d re-declarations the live heap grew %d KiB (budget %d cells)", rounds, grew>>10, lim.MaxCells)
	if grew > int64(lim.MaxCells)*perCell {
		t.Errorf("the heap grew %d MiB, over the %d MiB the whole budget may cost: replaced dataviews are kept", grew>>20, int64(lim.MaxCells)*perCell>>20)
	}
	runtime.KeepAlive(a)
}

// However many batches start a snapshot, the heap holds one snapshot
// deadline.
func TestSnapshotDeadlinesBounded(t *testing.T) {
	a, _, _, _ := testActor(t, testLimits)
	const batches = 100_000
	for range batches {
		if err := a.do(protocol.Batch{Flags: protocol.SnapshotStart}); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(a.timers); n > 16 {
		t.Errorf("after %d SnapshotStart batches the deadline heap holds %d entries (%d KiB of slice)", batches, n, cap(a.timers)*40>>10)
	}
}
