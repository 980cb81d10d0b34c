package remotewrite_test

import (
	"math"
	"testing"
	"time"

	"github.com/watchfloor/watchfloor/gateway/internal/tsdbtest"
	"github.com/watchfloor/watchfloor/gateway/remotewrite"
)

var nan = math.NaN()

func TestVictoriaMetricsRoundTrip(t *testing.T) {
	vm := tsdbtest.StartVictoria(t)
	w, err := remotewrite.New(remotewrite.Options{URL: vm.WriteURL(), FlushInterval: 20 * time.Millisecond, Resend: -1})
	if err != nil {
		t.Fatal(err)
	}
	run(t, w)

	// Labels given out of order, one empty (so absent), values that need
	// escaping or are not ASCII or not UTF-8.
	a := w.Series([]remotewrite.Label{
		{Name: "probe", Value: `web "01"\n`},
		{Name: "__name__", Value: "rw_roundtrip_a"},
		{Name: "empty", Value: ""},
		{Name: "cell", Value: "Ünïcødé ✓"},
	})
	b := w.Series([]remotewrite.Label{{Name: "__name__", Value: "rw_roundtrip_b"}, {Name: "bad", Value: "x\xffy"}})
	t0 := time.Now().Add(-time.Minute).UnixMilli()
	// The samples of a series come out of order across and within calls;
	// a request carries them in time order.
	w.Add([]remotewrite.Sample{
		{Series: a, T: t0 + 2000, V: 42},
		{Series: b, T: t0, V: -1.5},
		{Series: a, T: t0, V: 0.25},
	})
	w.Add([]remotewrite.Sample{
		{Series: a, T: t0 + 1000, V: 123456.789},
		{Series: b, T: t0 + 1, V: 3.25e9},
		{Series: b, T: t0 + 2, V: 1e-3},
	})
	waitStats(t, w, "6 samples sent", func(s remotewrite.Stats) bool { return s.Sent >= 6 })

	tsdbtest.CheckSeries(t, vm.Export(t, `{__name__=~"rw_roundtrip_.*"}`), map[string][]tsdbtest.Point{
		`{"__name__":"rw_roundtrip_a","cell":"Ünïcødé ✓","probe":"web \"01\"\\n"}`: {{T: t0, V: 0.25}, {T: t0 + 1000, V: 123456.789}, {T: t0 + 2000, V: 42}},
		"{\"__name__\":\"rw_roundtrip_b\",\"bad\":\"x\uFFFDy\"}":                   {{T: t0, V: -1.5}, {T: t0 + 1, V: 3.25e9}, {T: t0 + 2, V: 1e-3}},
	})
	if st := w.Stats(); st.Sent != 6 || st.Dropped != 0 || st.Rejected != 0 || st.Pending != 0 || st.LastSuccess.IsZero() {
		t.Errorf("stats %+v, want 6 sent and nothing else", st)
	}
}

// TestVictoriaMetricsOutage stops the store while samples keep coming:
// those that fit in the buffer arrive once it is back, the rest are
// dropped and counted, and Add never waits.
func TestVictoriaMetricsOutage(t *testing.T) {
	vm := tsdbtest.StartVictoria(t)
	const bufferSize = 200
	w, err := remotewrite.New(remotewrite.Options{
		URL:           vm.WriteURL(),
		BatchSize:     50,
		BufferSize:    bufferSize,
		FlushInterval: 20 * time.Millisecond,
		MinBackoff:    10 * time.Millisecond,
		MaxBackoff:    100 * time.Millisecond,
		Resend:        -1,
	})
	if err != nil {
		t.Fatal(err)
	}
	run(t, w)

	series := make([]*remotewrite.Series, 10)
	for i := range series {
		series[i] = w.Series([]remotewrite.Label{{Name: "__name__", Value: "rw_outage"}, {Name: "n", Value: string(rune('a' + i))}})
	}
	t0 := time.Now().Add(-10 * time.Minute).UnixMilli()
	want := make(map[string][]tsdbtest.Point)
	sample := func(k int) remotewrite.Sample {
		return remotewrite.Sample{Series: series[k%10], T: t0 + int64(k)*10, V: float64(k)}
	}
	expect := func(k int) {
		key := `{"__name__":"rw_outage","n":"` + string(rune('a'+k%10)) + `"}`
		want[key] = append(want[key], tsdbtest.Point{T: t0 + int64(k)*10, V: float64(k)})
	}

	for k := range 100 {
		w.Add([]remotewrite.Sample{sample(k)})
		expect(k)
	}
	waitStats(t, w, "the first 100 samples sent", func(s remotewrite.Stats) bool { return s.Sent == 100 && s.Pending == 0 })
	before := w.Stats()

	vm.Stop()
	// The store is down: every Add returns at once. The first bufferSize
	// samples fit, including the batch being retried; the rest are dropped.
	const added = 1000
	for k := 100; k < 100+added; k++ {
		w.Add([]remotewrite.Sample{sample(k)})
		if k < 100+bufferSize {
			expect(k)
		}
	}
	if st := w.Stats(); st.Dropped != added-bufferSize || st.Pending != bufferSize {
		t.Fatalf("with the store down: dropped %d, pending %d; want %d, %d", st.Dropped, st.Pending, added-bufferSize, bufferSize)
	}
	down := waitStats(t, w, "a retry while the store is down", func(s remotewrite.Stats) bool { return s.Retries > 0 })
	if down.LastError == "" || !down.LastErrorAt.After(before.LastSuccess) {
		t.Errorf("stats %+v: want the failure recorded", down)
	}

	vm.Start()
	st := waitStats(t, w, "the buffered samples sent", func(s remotewrite.Stats) bool { return s.Pending == 0 })
	tsdbtest.CheckSeries(t, vm.Export(t, `rw_outage`), want)
	delivered := uint64(100 + bufferSize)
	if st.Sent != delivered || st.Dropped != 100+added-delivered || st.Rejected != 0 {
		t.Errorf("stats %+v: want %d sent, %d dropped", st, delivered, 100+added-delivered)
	}
}

// TestVictoriaMetricsResend moves the writer's clock on: a series with no
// new sample for Resend gets its last value again at the current time; a
// forgotten one gets a staleness marker and never again.
func TestVictoriaMetricsResend(t *testing.T) {
	vm := tsdbtest.StartVictoria(t)
	clk := newClock(time.Now().Add(-5 * time.Minute))
	w, err := remotewrite.New(remotewrite.Options{
		URL:           vm.WriteURL(),
		FlushInterval: 10 * time.Millisecond,
		Resend:        time.Minute,
		Now:           clk.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	run(t, w)
	series := func(name string) *remotewrite.Series {
		return w.Series([]remotewrite.Label{{Name: "__name__", Value: "rw_resend"}, {Name: "s", Value: name}})
	}
	a, b, c := series("a"), series("b"), series("c")
	t0 := clk.UnixMilli()
	sent := func(n uint64) {
		t.Helper()
		if st := waitStats(t, w, "samples sent", func(s remotewrite.Stats) bool { return s.Sent >= n }); st.Sent != n {
			t.Fatalf("sent %d samples, want %d", st.Sent, n)
		}
	}

	w.Add([]remotewrite.Sample{{Series: a, T: t0, V: 1}, {Series: b, T: t0, V: 2}, {Series: c, T: t0, V: 5}})
	sent(3)
	// b's marker is due at t0, where b has a sample: it goes 1 ms later.
	w.Forget(b)
	sent(4)
	clk.Advance(30 * time.Second)
	w.Add([]remotewrite.Sample{{Series: c, T: clk.UnixMilli(), V: 6}})
	sent(5)
	// a is due; c was sent 30s ago; b is gone.
	clk.Advance(30 * time.Second)
	sent(6)
	// A sample of a from a clock behind the writer's comes after the
	// resend: it is moved 1 ms after it, not refused as out of order.
	w.Add([]remotewrite.Sample{{Series: a, T: t0 + 59_000, V: 9}})
	sent(7)
	clk.Advance(30 * time.Second)
	sent(8)

	tsdbtest.CheckSeries(t, vm.Export(t, `rw_resend`), map[string][]tsdbtest.Point{
		`{"__name__":"rw_resend","s":"a"}`: {{T: t0, V: 1}, {T: t0 + 60_000, V: 1}, {T: t0 + 60_001, V: 9}},
		`{"__name__":"rw_resend","s":"b"}`: {{T: t0, V: 2}, {T: t0 + 1, V: nan}},
		`{"__name__":"rw_resend","s":"c"}`: {{T: t0, V: 5}, {T: t0 + 30_000, V: 6}, {T: t0 + 90_000, V: 6}},
	})
}

// TestVictoriaMetricsLastFlush: what is buffered when Run's context ends
// is sent once before Run returns.
func TestVictoriaMetricsLastFlush(t *testing.T) {
	vm := tsdbtest.StartVictoria(t)
	w, err := remotewrite.New(remotewrite.Options{URL: vm.WriteURL(), FlushInterval: time.Hour, Resend: -1})
	if err != nil {
		t.Fatal(err)
	}
	stop := run(t, w)
	s := w.Series([]remotewrite.Label{{Name: "__name__", Value: "rw_last"}})
	t0 := time.Now().Add(-time.Minute).UnixMilli()
	w.Add([]remotewrite.Sample{{Series: s, T: t0, V: 1}, {Series: s, T: t0 + 1, V: 2}})
	stop()
	if st := w.Stats(); st.Sent != 2 || st.Requests != 1 || st.Pending != 0 {
		t.Fatalf("stats after Run returned: %+v, want 2 samples sent in 1 request", st)
	}
	tsdbtest.CheckSeries(t, vm.Export(t, `rw_last`), map[string][]tsdbtest.Point{`{"__name__":"rw_last"}`: {{T: t0, V: 1}, {T: t0 + 1, V: 2}}})
}

// TestVictoriaMetricsBasicAuth: the credentials reach the store, and its
// 401 for wrong ones is a refusal, counted and not retried.
func TestVictoriaMetricsBasicAuth(t *testing.T) {
	vm := tsdbtest.NewVictoria(t, "-httpAuth.username=watch", "-httpAuth.password=s3cret")
	vm.BasicAuth("watch", "s3cret")
	vm.Start()
	t0 := time.Now().Add(-time.Minute).UnixMilli()
	for _, tc := range []struct {
		name, password string
		sent, rejected uint64
	}{
		{"wrong password", "guess", 0, 1},
		{"right password", "s3cret", 1, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w, err := remotewrite.New(remotewrite.Options{URL: vm.WriteURL(), Username: "watch", Password: tc.password, FlushInterval: 10 * time.Millisecond, Resend: -1})
			if err != nil {
				t.Fatal(err)
			}
			run(t, w)
			w.Add([]remotewrite.Sample{{Series: w.Series([]remotewrite.Label{{Name: "__name__", Value: "rw_auth"}}), T: t0, V: 7}})
			st := waitStats(t, w, "the sample sent or refused", func(s remotewrite.Stats) bool { return s.Pending == 0 && s.Requests > 0 })
			if st.Sent != tc.sent || st.Rejected != tc.rejected || st.Retries != 0 {
				t.Errorf("stats %+v, want %d sent, %d rejected, no retry", st, tc.sent, tc.rejected)
			}
		})
	}
	tsdbtest.CheckSeries(t, vm.Export(t, `rw_auth`), map[string][]tsdbtest.Point{`{"__name__":"rw_auth"}`: {{T: t0, V: 7}}})
}
