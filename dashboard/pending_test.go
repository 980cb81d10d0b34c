package dashboard

import (
	"strconv"
	"testing"
)

// A removed row's earlier pending cells do not come back with the frame,
// cells set after the removal (the row added again) do, and headlines are
// never taken for a row's cells.
func TestPendingRemovedRows(t *testing.T) {
	var p pending
	p.add(&Update{Changes: []Change{
		{Row: "a", Column: "v", Cell: Cell{V: "1"}},
		{Row: "b", Column: "v", Cell: Cell{V: "2"}},
		{Headline: true, Column: "a", Cell: Cell{V: "h"}},
	}})
	p.add(&Update{RemovedRows: []string{"a", "b"}})
	// b comes back in the same update that removes it again: its cells
	// are the new row's.
	p.add(&Update{RemovedRows: []string{"b"}, Changes: []Change{{Row: "b", Column: "v", Cell: Cell{V: "3"}}}})
	frame, n := p.encode("dataview/p/e/s/d", "p/e/s/d")
	want := `{"type":"delta","topic":"dataview/p/e/s/d","dataview":"p/e/s/d","removed":["a","b"],` +
		`"cells":[{"r":"b","c":"v","v":"3","s":"","t":0}],"headlines":[{"name":"a","v":"h","s":"","t":0}]}`
	if string(frame) != want || n != 2 {
		t.Fatalf("frame %s (%d cells)\nwant  %s (2)", frame, n, want)
	}
}

// BenchmarkPublishRemovals publishes an update removing many rows onto a
// topic with many pending cells: work under the topic lock, which the
// hub's goroutine and so every browser waits on, must grow with what the
// update holds, not with what else is pending.
func BenchmarkPublishRemovals(b *testing.B) {
	for _, pendingCells := range []int{1_000, 40_000} {
		b.Run("pending="+strconv.Itoa(pendingCells), func(b *testing.B) {
			var cells, removals Update
			for i := range pendingCells {
				cells.Changes = append(cells.Changes, Change{Row: "keep" + strconv.Itoa(i), Column: "v", Cell: Cell{V: "1"}})
			}
			for i := range 1_000 {
				removals.RemovedRows = append(removals.RemovedRows, "gone"+strconv.Itoa(i))
			}
			var p pending
			for b.Loop() {
				b.StopTimer()
				p.reset()
				p.add(&cells)
				b.StartTimer()
				p.add(&removals)
			}
		})
	}
}
