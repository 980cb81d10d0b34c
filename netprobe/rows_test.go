package netprobe

import (
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/watchfloor/watchfloor/netprobe/protocol"
	"github.com/watchfloor/watchfloor/samplers"
)

// A new row always takes the lowest free index, which the gateway holds
// probes to: checked against a plain scan of the indexes in use, over
// random churn.
func TestRowsTakeLowestFreeIndex(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var v sentView
	used := map[uint32]bool{}
	for range 20_000 {
		if len(used) > 0 && r.IntN(2) == 0 {
			for idx := range used { // map order: an arbitrary one
				delete(used, idx)
				v.free.push(idx)
				break
			}
			continue
		}
		want := uint32(0)
		for used[want] {
			want++
		}
		got := v.allocRow()
		if got != want {
			t.Fatalf("allocRow = %d, want the lowest free index %d", got, want)
		}
		used[got] = true
	}
}

// BenchmarkRowChurn replaces every row of a dataview in one tick: each
// freed index is taken again, and the sender's cost must grow with the
// rows, not with their square.
func BenchmarkRowChurn(b *testing.B) {
	for _, n := range []int{4_000, 16_000} {
		b.Run("rows="+strconv.Itoa(n), func(b *testing.B) {
			mk := func(prefix string) samplers.Dataview {
				dv := samplers.Dataview{Name: "d", Columns: []string{"v"}}
				for i := range n {
					dv.Rows = append(dv.Rows, samplers.Row{Name: prefix + strconv.Itoa(i), Cells: []samplers.Cell{samplers.Text("1")}})
				}
				return dv
			}
			a, c := mk("a"), mk("b")
			for b.Loop() {
				b.StopTimer()
				d := newDiffer(nil, nil)
				d.snapshot(map[uint32]*sample{1: {dvs: []samplers.Dataview{a}, time: 1}})
				var batch, then protocol.Batch
				b.StartTimer()
				d.delta(map[uint32]*sample{1: {dvs: []samplers.Dataview{c}, time: 2}}, &batch, &then)
			}
		})
	}
}
