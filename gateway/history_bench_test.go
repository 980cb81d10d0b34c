package gateway

import (
	"fmt"
	"math"
	"runtime"
	"testing"
	"time"

	"github.com/watchfloor/watchfloor/gateway/history"
	"github.com/watchfloor/watchfloor/netprobe/protocol"
	"github.com/watchfloor/watchfloor/rules"
	"github.com/watchfloor/watchfloor/samplers"
)

// BenchmarkHistoryQuery measures answering a history query of 100 series
// × 15 minutes (10 dataviews of 10 cells, sampled every 250 ms, every
// value a two-decimal number changing at every sample: 3,600 points a
// series), raw and folded into 10 s steps: reading the store and
// encoding the JSON, as GET /api/v1/history does.
func BenchmarkHistoryQuery(b *testing.B) {
	s := history.New(history.Options{})
	const tick, span = 250, 15 * 60 * 1000
	end := time.Now().UnixMilli()
	start := end - span
	for d := range 10 {
		v := s.View(samplers.DataviewPath{Probe: "p", Entity: "e", Sampler: "cpu", Dataview: fmt.Sprintf("dv%d", d)})
		for t := start; t <= end; t += tick {
			v.Begin(t)
			r := v.Row(false, "total")
			for c := range 10 {
				x := math.Round((50+40*math.Sin(float64(t)/7e4+float64(c)))*100) / 100
				v.Add(r, v.Column(false, fmt.Sprintf("c%d", c)), x)
			}
			v.End()
		}
	}
	pat, perr := rules.ParsePattern("p/e/cpu/*/total/*")
	if perr != nil {
		b.Fatal(perr)
	}
	for _, step := range []int64{0, 10_000} {
		b.Run(fmt.Sprintf("step=%dms", step), func(b *testing.B) {
			q := historyQuery{pats: []*rules.Pattern{pat}, from: start, to: end, step: step}
			var size int
			for b.Loop() {
				views, err := s.Read(history.Query{From: q.from, To: q.to, MaxSeries: 500,
					Cell: func(p samplers.CellPath) bool { return pat.MatchCell(p) }})
				if err != nil {
					b.Fatal(err)
				}
				n := 0
				for _, v := range views {
					n += len(v.Cells)
				}
				if n != 100 {
					b.Fatalf("%d series", n)
				}
				size = len(encodeHistory(views, q))
			}
			b.ReportMetric(float64(size), "bytes/answer")
		})
	}
}

// BenchmarkHistoryMemory measures what a probe's live cells cost with
// their history window full: 10,000 cells (10 dataviews of 100 rows × 10
// columns, two-decimal values as samplers give them) sampled every
// 250 ms for 15 minutes, a tenth of them changing at each sample by a
// small step (slowly changing system metrics) or all of them (every
// value moving every tick). It reports the heap per live cell, the live
// tree's included, and the history's bytes per recorded change.
func BenchmarkHistoryMemory(b *testing.B) {
	for _, every := range []int{10, 1} {
		b.Run(fmt.Sprintf("change-every=%d", every), func(b *testing.B) { historyMemory(b, every) })
	}
}

func historyMemory(b *testing.B, every int) {
	const dvs, rows, cols = 10, 100, 10
	const tick = 250 * time.Millisecond
	const ticks = int(15 * time.Minute / tick)
	for b.Loop() {
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		a := benchActor(b)
		decl := declareBatch(a, dvs, rows, cols)
		start := time.Now().Add(-15 * time.Minute)
		for i := range decl.Declares {
			decl.Declares[i].SampleTime = start.UnixNano()
		}
		if err := a.do(decl); err != nil {
			b.Fatal(err)
		}
		values := make([]float64, dvs*rows*cols)
		for i := range values {
			values[i] = float64(i%97) + 0.25
		}
		for k := 1; k <= ticks; k++ {
			at := start.Add(time.Duration(k) * tick).UnixNano()
			batch := protocol.Batch{Updates: make([]protocol.Update, dvs)}
			for d := range dvs {
				u := protocol.Update{ID: uint32(d + 1), SampleTime: at}
				for r := range rows {
					for c := range cols {
						i := (d*rows+r)*cols + c
						if (i+k)%every != 0 {
							continue
						}
						values[i] += float64((i*7+k)%5-2) * 0.01
						u.Cells = append(u.Cells, protocol.CellChange{Row: uint32(r), Col: uint32(c), Value: samplers.Number(values[i], 2)})
					}
				}
				batch.Updates[d] = u
			}
			if err := a.do(batch); err != nil {
				b.Fatal(err)
			}
		}
		a.g.hist.Sweep(start.Add(time.Duration(ticks) * tick))
		runtime.GC()
		runtime.ReadMemStats(&after)
		st := a.g.hist.Stats()
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/(dvs*rows*cols), "B/cell")
		b.ReportMetric(float64(st.Bytes)/float64(st.Held), "B/change")
		b.ReportMetric(float64(st.Bytes)/float64(dvs*rows*cols*ticks), "B/cell-tick")
		runtime.KeepAlive(a)
	}
}
