package chunkenc

import (
	"fmt"
	"math"
	"testing"

	"github.com/prometheus/prometheus/tsdb/chunkenc"

	"github.com/watchfloor/watchfloor/gateway/history/chunk"
	"github.com/watchfloor/watchfloor/gateway/history/chunk/chunktest"
)

// segments cuts a data set's series into chunks of at most
// chunktest.ChunkPoints points, as the gateway and Prometheus' head do.
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

// encoding is one chunk encoding under test.
type encoding struct {
	name string
	// appender returns a function that appends a point to the chunk it
	// was made for, one that returns the chunk's encoded bytes so far,
	// and one that returns the bytes its array holds.
	appender func() (add func(chunktest.Point), bytes func() []byte, held func() int)
	// reader returns a function that appends the points of one chunk's
	// bytes to ps, reusing its iterator between calls.
	reader func() func(ps []chunktest.Point, b []byte) ([]chunktest.Point, error)
}

var encodings = []encoding{
	{
		name: "ours",
		appender: func() (func(chunktest.Point), func() []byte, func() int) {
			var c chunk.Chunk
			return func(p chunktest.Point) {
				if err := c.Append(p.T, p.V); err != nil {
					panic(err)
				}
			}, c.Bytes, c.Size
		},
		reader: func() func([]chunktest.Point, []byte) ([]chunktest.Point, error) {
			var it chunk.Iter
			return func(ps []chunktest.Point, b []byte) ([]chunktest.Point, error) {
				it.Reset(b)
				for it.Next() {
					t, v := it.At()
					ps = append(ps, chunktest.Point{T: t, V: v})
				}
				return ps, it.Err()
			}
		},
	},
	prometheus("prom-xor", func() chunkenc.Chunk { return chunkenc.NewXORChunk() }),
	prometheus("prom-xor2", func() chunkenc.Chunk { return chunkenc.NewXOR2Chunk() }),
}

func prometheus(name string, newChunk func() chunkenc.Chunk) encoding {
	enc := newChunk().Encoding()
	return encoding{
		name: name,
		appender: func() (func(chunktest.Point), func() []byte, func() int) {
			c := newChunk()
			app, err := c.Appender()
			if err != nil {
				panic(err)
			}
			return func(p chunktest.Point) { app.Append(0, p.T, p.V) }, c.Bytes, func() int { return cap(c.Bytes()) }
		},
		reader: func() func([]chunktest.Point, []byte) ([]chunktest.Point, error) {
			c, err := chunkenc.FromData(enc, nil)
			if err != nil {
				panic(err)
			}
			var it chunkenc.Iterator
			return func(ps []chunktest.Point, b []byte) ([]chunktest.Point, error) {
				c.Reset(b)
				it = c.Iterator(it)
				for it.Next() == chunkenc.ValFloat {
					t, v := it.At()
					ps = append(ps, chunktest.Point{T: t, V: v})
				}
				return ps, it.Err()
			}
		},
	}
}

// encodeAll returns the encoded chunks of segs, and per point their
// bytes and the bytes their arrays hold: Prometheus' chunks start at 128
// bytes and grow as append grows them, ours start at 32 and grow by a
// quarter.
func encodeAll(e encoding, segs [][]chunktest.Point) (streams [][]byte, perPoint, capPerPoint float64) {
	var points, size, held int
	for _, seg := range segs {
		add, bytes, heldBytes := e.appender()
		for _, p := range seg {
			add(p)
		}
		b := bytes()
		streams = append(streams, b)
		points += len(seg)
		size += len(b)
		held += heldBytes()
	}
	return streams, float64(size) / float64(points), float64(held) / float64(points)
}

// TestSameData: every encoding gives back every data set's points, bit
// for bit, so the benchmarks compare like with like.
func TestSameData(t *testing.T) {
	for _, ds := range chunktest.DataSets() {
		segs := segments(ds)
		for _, e := range encodings {
			streams, perPoint, _ := encodeAll(e, segs)
			read := e.reader()
			var got []chunktest.Point
			for k, b := range streams {
				var err error
				if got, err = read(got[:0], b); err != nil {
					t.Fatalf("%s %s chunk %d: %v", e.name, ds.Name, k, err)
				}
				if len(got) != len(segs[k]) {
					t.Fatalf("%s %s chunk %d: %d points, want %d", e.name, ds.Name, k, len(got), len(segs[k]))
				}
				for i, want := range segs[k] {
					if got[i].T != want.T || math.Float64bits(got[i].V) != math.Float64bits(want.V) {
						t.Fatalf("%s %s chunk %d point %d: %v, want %v", e.name, ds.Name, k, i, got[i], want)
					}
				}
			}
			t.Logf("%s %s: %.3f B/point", ds.Name, e.name, perPoint)
		}
	}
}

// BenchmarkAppend appends each data set's points one by one (an op is a
// point), starting a new chunk every chunktest.ChunkPoints points, so
// making chunks and growing them is counted too.
func BenchmarkAppend(b *testing.B) {
	for _, ds := range chunktest.DataSets() {
		segs := segments(ds)
		for _, e := range encodings {
			b.Run(fmt.Sprintf("data=%s/enc=%s", ds.Name, e.name), func(b *testing.B) {
				_, perPoint, capPerPoint := encodeAll(e, segs)
				add, _, _ := e.appender()
				k, i := 0, 0
				for b.Loop() {
					if i == len(segs[k]) {
						k, i = (k+1)%len(segs), 0
						add, _, _ = e.appender()
					}
					add(segs[k][i])
					i++
				}
				b.ReportMetric(perPoint, "B/point")
				b.ReportMetric(capPerPoint, "cap-B/point")
			})
		}
	}
}

// BenchmarkIterate reads each data set's chunks back into a reused slice
// of points, as a history read does, with one reused iterator (an op is
// the whole data set; ns/point is what to compare).
func BenchmarkIterate(b *testing.B) {
	for _, ds := range chunktest.DataSets() {
		segs := segments(ds)
		for _, e := range encodings {
			b.Run(fmt.Sprintf("data=%s/enc=%s", ds.Name, e.name), func(b *testing.B) {
				streams, perPoint, _ := encodeAll(e, segs)
				read := e.reader()
				ps := make([]chunktest.Point, 0, chunktest.ChunkPoints)
				points := 0
				for b.Loop() {
					for _, s := range streams {
						var err error
						if ps, err = read(ps[:0], s); err != nil {
							b.Fatal(err)
						}
						points += len(ps)
					}
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(points), "ns/point")
				b.ReportMetric(perPoint, "B/point")
			})
		}
	}
}
