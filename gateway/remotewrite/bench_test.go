package remotewrite_test

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/watchfloor/watchfloor/gateway/internal/tsdbtest"
	"github.com/watchfloor/watchfloor/gateway/remotewrite"
)

// BenchmarkVictoriaMetricsIngest measures samples delivered per second
// into a local VictoriaMetrics on this machine, which runs the store, the
// writer and the producer. An op is one sample for each of 100k series,
// added 100 at a time. The producer pauses while more than 500k samples
// are pending, so that the figure is what the store takes, not what the
// writer drops. The first sample of every series, which makes VictoriaMetrics
// register it, is sent before the clock starts and reported as
// new-series/s. There is one request in flight at a time, so the figure
// follows the batch size.
func BenchmarkVictoriaMetricsIngest(b *testing.B) {
	for _, batch := range []int{remotewrite.DefaultBatchSize, 20_000} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) { benchmarkIngest(b, batch) })
	}
}

func benchmarkIngest(b *testing.B, batchSize int) {
	const (
		nSeries    = 100_000
		perAdd     = 100
		maxPending = 500_000
	)
	vm := tsdbtest.StartVictoria(b)
	w, err := remotewrite.New(remotewrite.Options{URL: vm.WriteURL(), BatchSize: batchSize, Resend: -1})
	if err != nil {
		b.Fatal(err)
	}
	run(b, w)
	series := make([]*remotewrite.Series, nSeries)
	for i := range series {
		series[i] = w.Series([]remotewrite.Label{
			{Name: "__name__", Value: "watchfloor_cell"},
			{Name: "probe", Value: fmt.Sprintf("probe-%03d", i/1000)},
			{Name: "sampler", Value: "cpu"},
			{Name: "row", Value: fmt.Sprintf("cpu%d", i%1000)},
			{Name: "column", Value: "percentUtilisation"},
		})
	}
	t0 := time.Now().Add(-time.Hour).UnixMilli()
	buf := make([]remotewrite.Sample, perAdd)
	var added uint64
	// round adds one sample of every series at t0 + i s.
	round := func(i int) {
		for j := 0; j < nSeries; j += perAdd {
			for k := range buf {
				buf[k] = remotewrite.Sample{Series: series[j+k], T: t0 + int64(i)*1000, V: float64(i*nSeries + j + k)}
			}
			for w.Stats().Pending > maxPending {
				time.Sleep(time.Millisecond)
			}
			w.Add(buf)
			added += perAdd
		}
	}
	delivered := func() {
		st := waitStats(b, w, "every sample sent", func(s remotewrite.Stats) bool { return s.Sent+s.Dropped+s.Rejected >= added })
		if st.Sent != added {
			b.Fatalf("stats %+v: want all %d samples sent", st, added)
		}
	}

	start := time.Now()
	round(0)
	delivered()
	newSeries := nSeries / time.Since(start).Seconds()

	vmCPU, writerCPU := processCPU(b, vm.PID()), ownCPU()
	b.ResetTimer()
	start = time.Now()
	for i := 1; b.Loop(); i++ {
		round(i)
	}
	delivered()
	elapsed := time.Since(start).Seconds()
	b.StopTimer()
	b.ReportMetric(float64(b.N*nSeries)/elapsed, "samples/s")
	b.ReportMetric(newSeries, "new-series/s")
	b.ReportMetric((processCPU(b, vm.PID())-vmCPU)/elapsed, "vm-cores")
	b.ReportMetric((ownCPU()-writerCPU)/elapsed, "writer-cores")
	st := w.Stats()
	b.ReportMetric(float64(st.Sent)/float64(st.Requests), "samples/request")
}

// processCPU is the CPU time, in seconds, pid has used.
func processCPU(b *testing.B, pid int) float64 {
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		b.Fatal(err)
	}
	// Fields 14 and 15, user and system time in clock ticks, after the
	// command in parentheses.
	f := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+2:]))
	utime, _ := strconv.ParseFloat(f[11], 64)
	stime, _ := strconv.ParseFloat(f[12], 64)
	return (utime + stime) / 100
}

// ownCPU is the CPU time, in seconds, this process has used.
func ownCPU() float64 {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}
