package remotewrite_test

import (
	"math"
	"testing"
	"time"

	"github.com/watchfloor/watchfloor/gateway/internal/tsdbtest"
	"github.com/watchfloor/watchfloor/gateway/remotewrite"
)

func TestPrometheusRoundTrip(t *testing.T) {
	prom := tsdbtest.StartPrometheus(t)
	w, err := remotewrite.New(remotewrite.Options{URL: prom.WriteURL(), FlushInterval: 20 * time.Millisecond, Resend: -1})
	if err != nil {
		t.Fatal(err)
	}
	run(t, w)
	a := w.Series([]remotewrite.Label{{Name: "probe", Value: "p1"}, {Name: "__name__", Value: "rw_prom"}, {Name: "cell", Value: `cpu "total"`}})
	b := w.Series([]remotewrite.Label{{Name: "__name__", Value: "rw_prom"}, {Name: "probe", Value: "p2"}})
	t0 := time.Now().Add(-time.Minute).UnixMilli()
	// Prometheus keeps float64s exactly, so awkward ones come back as
	// sent; a NaN that is not the staleness marker is a value.
	w.Add([]remotewrite.Sample{
		{Series: a, T: t0, V: 0.1},
		{Series: b, T: t0, V: math.Inf(1)},
		{Series: a, T: t0 + 1000, V: -math.MaxFloat64},
		{Series: b, T: t0 + 1000, V: nan},
		{Series: a, T: t0 + 2000, V: 5e-324},
		{Series: b, T: t0 + 2000, V: 1.0 / 3},
	})
	waitStats(t, w, "6 samples sent", func(s remotewrite.Stats) bool { return s.Sent >= 6 })

	tsdbtest.CheckSeries(t, prom.Query(t, `rw_prom[1m]`, t0+30_000), map[string][]tsdbtest.Point{
		`{"__name__":"rw_prom","cell":"cpu \"total\"","probe":"p1"}`: {{T: t0, V: 0.1}, {T: t0 + 1000, V: -math.MaxFloat64}, {T: t0 + 2000, V: 5e-324}},
		`{"__name__":"rw_prom","probe":"p2"}`:                        {{T: t0, V: math.Inf(1)}, {T: t0 + 1000, V: nan}, {T: t0 + 2000, V: 1.0 / 3}},
	})
}

// TestPrometheusStaleness: after Forget, an instant query no longer
// returns the series, though its sample is well inside the lookback.
func TestPrometheusStaleness(t *testing.T) {
	prom := tsdbtest.StartPrometheus(t)
	clk := newClock(time.Now().Add(-time.Minute))
	w, err := remotewrite.New(remotewrite.Options{URL: prom.WriteURL(), FlushInterval: 10 * time.Millisecond, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	run(t, w)
	gone := w.Series([]remotewrite.Label{{Name: "__name__", Value: "rw_stale"}, {Name: "cell", Value: "gone"}})
	kept := w.Series([]remotewrite.Label{{Name: "__name__", Value: "rw_stale"}, {Name: "cell", Value: "kept"}})
	t0 := clk.UnixMilli()
	w.Add([]remotewrite.Sample{{Series: gone, T: t0, V: 1}, {Series: kept, T: t0, V: 2}})
	waitStats(t, w, "2 samples sent", func(s remotewrite.Stats) bool { return s.Sent >= 2 })
	both := map[string][]tsdbtest.Point{
		`{"__name__":"rw_stale","cell":"gone"}`: {{T: t0 + 1000, V: 1}},
		`{"__name__":"rw_stale","cell":"kept"}`: {{T: t0 + 1000, V: 2}},
	}
	tsdbtest.CheckSeries(t, prom.Query(t, `rw_stale`, t0+1000), both)

	clk.Advance(2 * time.Second)
	w.Forget(gone)
	waitStats(t, w, "the staleness marker sent", func(s remotewrite.Stats) bool { return s.Sent >= 3 })
	tsdbtest.CheckSeries(t, prom.Query(t, `rw_stale`, t0+3000), map[string][]tsdbtest.Point{
		`{"__name__":"rw_stale","cell":"kept"}`: {{T: t0 + 3000, V: 2}},
	})
	// Before the marker, the series is still there.
	tsdbtest.CheckSeries(t, prom.Query(t, `rw_stale`, t0+1000), both)
	if st := w.Stats(); st.Sent != 3 || st.Rejected != 0 {
		t.Errorf("stats %+v, want 3 sent", st)
	}
}
