package remotewrite

import (
	"fmt"
	"testing"
)

// benchSeries makes n series with labels like the gateway's cells.
func benchSeries(w *Writer, n int) []*Series {
	s := make([]*Series, n)
	for i := range s {
		s[i] = w.Series([]Label{
			{"__name__", "watchfloor_cell"},
			{"probe", fmt.Sprintf("probe-%03d", i/1000)},
			{"sampler", "cpu"},
			{"dataview", "cpu"},
			{"row", fmt.Sprintf("cpu%d", i%1000)},
			{"column", "percentUtilisation"},
		})
	}
	return s
}

// BenchmarkAdd is the buffer's cost per sample: one Add of 100 samples,
// and for every 50 Adds one take of a batch of 5000, as the sender does
// (the take is done inline, so no scheduler delay lets the buffer fill).
func BenchmarkAdd(b *testing.B) {
	for _, goroutines := range []int{1, 2} {
		b.Run(fmt.Sprintf("goroutines=%d", goroutines), func(b *testing.B) {
			w, err := New(Options{URL: "http://127.0.0.1:1/api/v1/write"})
			if err != nil {
				b.Fatal(err)
			}
			series := benchSeries(w, 100)
			batch := make([]Sample, 100)
			for i := range batch {
				batch[i] = Sample{Series: series[i], T: 1_700_000_000_000, V: float64(i)}
			}
			perTake := w.batchSize / len(batch)
			add := func(taken []Sample, i int) []Sample {
				w.Add(batch)
				if i%perTake == perTake-1 {
					w.mu.Lock()
					taken = w.q.pop(taken[:0], w.batchSize)
					w.mu.Unlock()
				}
				return taken
			}
			b.ReportAllocs()
			if goroutines == 1 {
				var taken []Sample
				for i := 0; b.Loop(); i++ {
					taken = add(taken, i)
				}
			} else {
				b.SetParallelism(1) // GOMAXPROCS goroutines: 2 here
				b.RunParallel(func(pb *testing.PB) {
					var taken []Sample
					for i := 0; pb.Next(); i++ {
						taken = add(taken, i)
					}
				})
			}
			b.StopTimer()
			if d := w.dropped.Get(); d > 0 {
				b.Fatalf("%d samples dropped: the benchmark measured the wrong path", d)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(batch)), "ns/sample")
		})
	}
}

// BenchmarkEncode is the sender's cost for a full batch of 5000: grouping
// by series, the resend bookkeeping, protobuf and snappy.
func BenchmarkEncode(b *testing.B) {
	for _, perSeries := range []int{1, 5} {
		b.Run(fmt.Sprintf("samples_per_series=%d", perSeries), func(b *testing.B) {
			w, err := New(Options{URL: "http://127.0.0.1:1/api/v1/write"})
			if err != nil {
				b.Fatal(err)
			}
			series := benchSeries(w, DefaultBatchSize/perSeries)
			batch := make([]Sample, 0, DefaultBatchSize)
			for k := range perSeries {
				for i, s := range series {
					batch = append(batch, Sample{Series: s, T: 1_700_000_000_000 + int64(k)*1000, V: float64(i*k) / 7})
				}
			}
			now := int64(1_700_000_010_000)
			var body []byte
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				w.enc.group(batch)
				w.account(now)
				body = w.enc.encode()
				w.enc.reset()
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(batch)), "ns/sample")
			b.ReportMetric(float64(len(body))/float64(len(batch)), "bytes/sample")
			b.ReportMetric(float64(len(w.enc.raw))/float64(len(batch)), "raw-bytes/sample")
		})
	}
}

// BenchmarkSeries is the cost of making a series of six labels: a
// Series keeps 64 bytes plus labels-bytes/series (rounded up to Go's size
// class); the rest of B/op is garbage.
func BenchmarkSeries(b *testing.B) {
	w, err := New(Options{URL: "http://127.0.0.1:1/api/v1/write"})
	if err != nil {
		b.Fatal(err)
	}
	labels := []Label{
		{"probe", "probe-017"},
		{"__name__", "watchfloor_cell"},
		{"sampler", "cpu"},
		{"dataview", "cpu"},
		{"row", "cpu3"},
		{"column", "percentUtilisation"},
	}
	var s *Series
	b.ReportAllocs()
	for b.Loop() {
		s = w.Series(labels)
	}
	b.ReportMetric(float64(len(s.labels)), "labels-bytes/series")
}
