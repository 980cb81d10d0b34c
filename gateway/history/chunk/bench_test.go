package chunk

import (
	"math"
	"testing"

	"github.com/watchfloor/watchfloor/gateway/history/chunk/chunktest"
)

// segments cuts a data set's series into the chunks the gateway would
// make of them.
func segments(ds chunktest.DataSet) [][]chunktest.Point {
	var segs [][]chunktest.Point
	for _, s := range ds.Series {
		for len(s) > 0 {
			n := min(len(s), chunktest.ChunkPoints)
			segs = append(segs, s[:n])
			s = s[n:]
		}
	}
	return segs
}

// encode returns the chunks of segs, and what they hold per point: the
// encoded bytes and the backing arrays' capacity.
func encode(tb testing.TB, segs [][]chunktest.Point) (chunks []Chunk, perPoint, capPerPoint float64) {
	tb.Helper()
	chunks = make([]Chunk, len(segs))
	var points, size, held int
	for i, seg := range segs {
		for _, p := range seg {
			if err := chunks[i].Append(p.T, p.V); err != nil {
				tb.Fatal(err)
			}
		}
		points += chunks[i].Len()
		size += len(chunks[i].Bytes())
		held += chunks[i].Size()
	}
	return chunks, float64(size) / float64(points), float64(held) / float64(points)
}

// BenchmarkAppend appends each data set's points one by one (an op is a
// point), starting a new chunk every chunktest.ChunkPoints points, so its
// allocations are counted too.
func BenchmarkAppend(b *testing.B) {
	for _, ds := range chunktest.DataSets() {
		b.Run(ds.Name, func(b *testing.B) {
			segs := segments(ds)
			_, perPoint, capPerPoint := encode(b, segs)
			var c Chunk
			k, i := 0, 0
			for b.Loop() {
				if i == len(segs[k]) {
					k, i = (k+1)%len(segs), 0
					c = Chunk{}
				}
				p := segs[k][i]
				if err := c.Append(p.T, p.V); err != nil {
					b.Fatal(err)
				}
				i++
			}
			b.ReportMetric(perPoint, "B/point")
			b.ReportMetric(capPerPoint, "cap-B/point")
		})
	}
}

// BenchmarkIterate reads each data set's chunks with one reused Iter (an
// op is a point).
func BenchmarkIterate(b *testing.B) {
	for _, ds := range chunktest.DataSets() {
		b.Run(ds.Name, func(b *testing.B) {
			chunks, perPoint, _ := encode(b, segments(ds))
			streams := make([][]byte, len(chunks))
			for i := range chunks {
				streams[i] = chunks[i].Bytes()
			}
			var it Iter
			var sum uint64
			k := 0
			it.Reset(streams[0])
			for b.Loop() {
				for !it.Next() {
					if err := it.Err(); err != nil {
						b.Fatal(err)
					}
					k = (k + 1) % len(streams)
					it.Reset(streams[k])
				}
				t, v := it.At()
				sum += uint64(t) ^ math.Float64bits(v)
			}
			if sum == 0 {
				b.Fatal("no points")
			}
			b.ReportMetric(perPoint, "B/point")
		})
	}
}
