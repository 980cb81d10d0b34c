package remotewrite

import (
	"math/rand/v2"
	"testing"
	"unsafe"
)

// TestQueueFIFO pushes and pops runs of random lengths across chunk
// boundaries: what comes out is what went in, in order, and a popped
// slot no longer holds its series.
func TestQueueFIFO(t *testing.T) {
	q := newQueue(3000)
	rng := rand.New(rand.NewPCG(1, 2))
	s := &Series{}
	var pushed, popped int64
	var out []Sample
	for range 5000 {
		in := make([]Sample, rng.IntN(3*chunkLen))
		for i := range in {
			in[i] = Sample{Series: s, T: pushed}
			pushed++
		}
		q.push(in)
		out = q.pop(out[:0], rng.IntN(3*chunkLen))
		for _, smp := range out {
			if smp.T != popped || smp.Series != s {
				t.Fatalf("popped %+v, want T %d", smp, popped)
			}
			popped++
		}
		if q.n != int(pushed-popped) {
			t.Fatalf("queue holds %d, want %d", q.n, pushed-popped)
		}
		if q.r > 0 && q.head.s[q.r-1].Series != nil {
			t.Fatal("a popped slot still holds its series")
		}
		if len(q.free) > q.keep {
			t.Fatalf("%d spare chunks, want at most %d", len(q.free), q.keep)
		}
	}
	out = q.pop(out[:0], q.n)
	if popped+int64(len(out)) != pushed || q.n != 0 || q.head != q.tail {
		t.Fatalf("draining left %d samples and %v chunks", q.n, q.head != q.tail)
	}
}

// TestSeriesSize holds the size the package documents for a Series.
func TestSeriesSize(t *testing.T) {
	if n := unsafe.Sizeof(Series{}); n != 64 {
		t.Errorf("a Series is %d bytes; the doc says 64", n)
	}
}
