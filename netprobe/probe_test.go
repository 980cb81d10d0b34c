package netprobe

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"go.uber.org/goleak"

	"github.com/watchfloor/watchfloor/netprobe/protocol"
	"github.com/watchfloor/watchfloor/samplers"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// slowSampler takes longer than its tick and records when each sample
// started and whether two samples ever overlapped.
func (*slowSampler) Close() error { return nil }

type slowSampler struct {
	mu         sync.Mutex
	running    bool
	overlapped bool
	starts     []time.Time
	took       time.Duration
}

func (s *slowSampler) Sample(ctx context.Context) ([]samplers.Dataview, error) {
	s.mu.Lock()
	if s.running {
		s.overlapped = true
	}
	s.running = true
	s.starts = append(s.starts, time.Now())
	s.mu.Unlock()
	select {
	case <-time.After(s.took):
	case <-ctx.Done():
	}
	s.mu.Lock()
	s.running = false
	s.mu.Unlock()
	return []samplers.Dataview{{Name: "slow"}}, nil
}

func testMetrics() *probeMetrics {
	s := metrics.NewSet()
	return &probeMetrics{
		samples:      s.NewCounter("samples"),
		sampleErrors: s.NewCounter("errors"),
		skippedTicks: s.NewCounter("skipped"),
	}
}

// A sample that takes 2.5 ticks skips the ticks it overlapped: the next
// sample starts on the first tick after it ends, never back to back to
// catch up, and the skips are counted. Time is virtual, so the start
// times are exact.
func TestOverrunningSampleSkipsTicks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const interval = 100 * time.Millisecond
		s := &slowSampler{took: 250 * time.Millisecond}
		m := testMetrics()
		r := newRunner(context.Background(), slog.New(slog.DiscardHandler), newStore(), m)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		t0 := time.Now()
		go func() {
			defer close(done)
			r.run(ctx, protocol.SamplerConfig{ID: 1, Name: "slow", Interval: interval}, s)
		}()
		// Samples run 0–250, 300–550, 600–850, 900–1150 ms; stop while
		// the runner waits for the 1200 ms tick.
		time.Sleep(1190 * time.Millisecond)
		synctest.Wait()
		cancel()
		<-done

		s.mu.Lock()
		defer s.mu.Unlock()
		if s.overlapped {
			t.Error("samples overlapped")
		}
		var got []time.Duration
		for _, at := range s.starts {
			got = append(got, at.Sub(t0))
		}
		want := []time.Duration{0, 300 * time.Millisecond, 600 * time.Millisecond, 900 * time.Millisecond}
		if !slices.Equal(got, want) {
			t.Errorf("samples started at %v, want %v", got, want)
		}
		// Each 250 ms sample overlaps two 100 ms ticks.
		if n := m.skippedTicks.Get(); n != 8 {
			t.Errorf("skipped ticks = %d, want 8", n)
		}
		if n := m.samples.Get(); n != 4 {
			t.Errorf("samples = %d, want 4", n)
		}
	})
}

// Cancelling Run stops it promptly even while it is backing off from a
// gateway that refuses it, and the backoff grows between attempts.
func TestReconnectBacksOffAndStops(t *testing.T) {
	var mu sync.Mutex
	var attempts []time.Time
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		attempts = append(attempts, time.Now())
		mu.Unlock()
		if r.Header.Get("Authorization") != "Bearer secret" {
			t.Errorf("Authorization = %q", r.Header.Get("Authorization"))
		}
		http.Error(w, "unauthorized", http.StatusUnauthorized)
	}))
	defer srv.Close()

	const minB, maxB = 20 * time.Millisecond, 160 * time.Millisecond
	p, err := New(Options{Gateway: "ws" + strings.TrimPrefix(srv.URL, "http"), Name: "p", Token: "secret",
		Logger: slog.New(slog.DiscardHandler), MinBackoff: minB, MaxBackoff: maxB})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		p.Run(ctx)
	}()
	deadline := time.Now().Add(20 * time.Second)
	for {
		mu.Lock()
		n := len(attempts)
		mu.Unlock()
		if n >= 7 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %d attempts", n)
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
	mu.Lock()
	defer mu.Unlock()
	backoff := minB
	for i := 1; i < len(attempts); i++ {
		// The wait is jittered between half and all of the backoff, so
		// half is a floor no scheduler delay can break.
		if gap := attempts[i].Sub(attempts[i-1]); gap < backoff/2 {
			t.Errorf("attempt %d came %v after the previous, want at least %v", i, gap, backoff/2)
		}
		backoff = min(2*backoff, maxB)
	}
}

func TestNewRefusesBadOptions(t *testing.T) {
	for name, o := range map[string]Options{
		"no name":    {Gateway: "ws://127.0.0.1:1", Token: "t"},
		"no token":   {Gateway: "ws://127.0.0.1:1", Name: "n"},
		"not ws url": {Gateway: "http://127.0.0.1:1", Name: "n", Token: "t"},
	} {
		if _, err := New(o); err == nil {
			t.Errorf("%s: New succeeded", name)
		}
	}
}

// apply starts, keeps, restarts and stops sampler goroutines to match the
// config; unchanged instances are not restarted.
func TestRunnerApply(t *testing.T) {
	st := newStore()
	r := newRunner(context.Background(), slog.New(slog.DiscardHandler), st, testMetrics())
	defer r.stop()
	params, _ := json.Marshal(map[string]bool{"percpu": false})
	cpu := protocol.SamplerConfig{ID: 1, Entity: "e", Name: "cpu", Type: "test-count", Interval: 100 * time.Millisecond}
	r.apply([]protocol.SamplerConfig{cpu})
	first := r.instances[1]
	r.apply([]protocol.SamplerConfig{cpu})
	if r.instances[1] != first {
		t.Fatal("an unchanged instance was restarted")
	}
	changed := cpu
	changed.Params = params
	r.apply([]protocol.SamplerConfig{changed})
	if r.instances[1] == first {
		t.Fatal("a changed instance kept running with its old config")
	}
	select {
	case <-first.done:
	default:
		t.Fatal("the replaced instance's goroutine is still running")
	}
	r.apply(nil)
	if len(r.instances) != 0 {
		t.Fatalf("%d instances left after an empty config", len(r.instances))
	}
}

// An instance restarted by a config change (here its interval) keeps its
// last sample until it samples again: the next delta must not remove its
// dataview, and the restarted instance's sample is an update of it.
func TestRunnerRestartKeepsDataviews(t *testing.T) {
	gate, params := newGate(t)
	st := newStore()
	r := newRunner(context.Background(), slog.New(slog.DiscardHandler), st, testMetrics())
	defer r.stop()
	c := protocol.SamplerConfig{ID: 1, Entity: "e", Name: "g", Type: "test-gated", Params: params, Interval: 100 * time.Millisecond}
	r.apply([]protocol.SamplerConfig{c})
	gate <- struct{}{}
	<-st.changed
	d := newDiffer()
	if decls := d.snapshot(st.all()); len(decls) != 1 {
		t.Fatalf("snapshot declares %d dataviews, want 1", len(decls))
	}

	c.Interval = 200 * time.Millisecond
	r.apply([]protocol.SamplerConfig{c})
	var b protocol.Batch
	d.delta(st.takeDirty(), &b)
	if len(b.Removes)+len(b.Declares) != 0 {
		t.Fatalf("delta after an interval change = %+v, want the dataview left alone", b)
	}

	gate <- struct{}{}
	<-st.changed
	b.Reset()
	d.delta(st.takeDirty(), &b)
	if len(b.Removes)+len(b.Declares) != 0 || len(b.Updates) != 1 {
		t.Fatalf("delta after the restarted instance sampled = %+v, want one update", b)
	}

	// A change whose sampler cannot be built leaves nothing to refresh the
	// old sample, so the dataview goes.
	c.Params = json.RawMessage(`{"gate":"none"}`)
	r.apply([]protocol.SamplerConfig{c})
	b.Reset()
	d.delta(st.takeDirty(), &b)
	if len(b.Removes) != 1 {
		t.Fatalf("delta after a change that failed to build = %+v, want the dataview removed", b)
	}
}

func (*countSampler) Close() error { return nil }

type countSampler struct{ n int }

func (c *countSampler) Sample(context.Context) ([]samplers.Dataview, error) {
	c.n++
	return []samplers.Dataview{{Name: "count", Columns: []string{"n"},
		Rows: []samplers.Row{{Name: "n", Cells: []samplers.Cell{samplers.Int(int64(c.n))}}}}}, nil
}

// gatedSampler samples only when its test lets it, through the gate its
// params name, so a test decides exactly when a sample lands.
func (*gatedSampler) Close() error { return nil }

type gatedSampler struct {
	gate chan struct{}
	n    int
}

func (g *gatedSampler) Sample(ctx context.Context) ([]samplers.Dataview, error) {
	select {
	case <-g.gate:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	g.n++
	return []samplers.Dataview{{Name: "gated", Columns: []string{"n"},
		Rows: []samplers.Row{{Name: "n", Cells: []samplers.Cell{samplers.Int(int64(g.n))}}}}}, nil
}

// lateSampler takes a while over its first sample, as a sampler that
// must measure a rate over an interval does.
func (*lateSampler) Close() error { return nil }

type lateSampler struct {
	delay   time.Duration
	sampled bool
}

func (l *lateSampler) Sample(ctx context.Context) ([]samplers.Dataview, error) {
	if !l.sampled {
		select {
		case <-time.After(l.delay):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		l.sampled = true
	}
	return []samplers.Dataview{{Name: "late", Columns: []string{"v"}}}, nil
}

var (
	gates   sync.Map // gate name → chan struct{}
	gateSeq atomic.Int64
)

// newGate returns a gate and the params of a test-gated sampler that waits
// on it.
func newGate(t *testing.T) (chan struct{}, json.RawMessage) {
	name := fmt.Sprintf("%s-%d", t.Name(), gateSeq.Add(1))
	ch := make(chan struct{})
	gates.Store(name, ch)
	t.Cleanup(func() { gates.Delete(name) })
	params, _ := json.Marshal(map[string]string{"gate": name})
	return ch, params
}

func init() {
	samplers.Register(samplers.Type{Name: "test-count", Validate: func(json.RawMessage) error { return nil }, New: func(p json.RawMessage, _ samplers.Env) (samplers.Sampler, error) {
		var opts struct {
			PerCPU bool `json:"percpu"`
		}
		return &countSampler{}, samplers.DecodeParams(p, &opts)
	}})
	samplers.Register(samplers.Type{Name: "test-late", Validate: func(json.RawMessage) error { return nil }, New: func(p json.RawMessage, _ samplers.Env) (samplers.Sampler, error) {
		var opts struct {
			DelayMS int `json:"delay_ms"`
		}
		if err := samplers.DecodeParams(p, &opts); err != nil {
			return nil, err
		}
		return &lateSampler{delay: time.Duration(opts.DelayMS) * time.Millisecond}, nil
	}})
	samplers.Register(samplers.Type{Name: "test-gated", Validate: func(json.RawMessage) error { return nil }, New: func(p json.RawMessage, _ samplers.Env) (samplers.Sampler, error) {
		var opts struct {
			Gate string `json:"gate"`
		}
		if err := samplers.DecodeParams(p, &opts); err != nil {
			return nil, err
		}
		ch, ok := gates.Load(opts.Gate)
		if !ok {
			return nil, fmt.Errorf("no gate %q", opts.Gate)
		}
		return &gatedSampler{gate: ch.(chan struct{})}, nil
	}})
}
