package netprobe

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"go.uber.org/goleak"

	"github.com/watchfloor/watchfloor/netprobe/protocol"
	"github.com/watchfloor/watchfloor/samplers"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// slowSampler takes longer than its tick and counts how often it runs and
// whether two samples ever overlapped.
type slowSampler struct {
	mu         sync.Mutex
	running    bool
	overlapped bool
	calls      int
	took       time.Duration
}

func (s *slowSampler) Sample(ctx context.Context) ([]samplers.Dataview, error) {
	s.mu.Lock()
	if s.running {
		s.overlapped = true
	}
	s.running = true
	s.calls++
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

// A sample that takes 2.5 ticks skips the ticks it overlapped: samples never
// run concurrently or back to back to catch up, and the skips are counted.
func TestOverrunningSampleSkipsTicks(t *testing.T) {
	const interval = 100 * time.Millisecond
	s := &slowSampler{took: 250 * time.Millisecond}
	st := newStore()
	m := testMetrics()
	r := newRunner(context.Background(), slog.New(slog.DiscardHandler), st, m)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	start := time.Now()
	go func() {
		defer close(done)
		r.run(ctx, protocol.SamplerConfig{ID: 1, Name: "slow", Interval: interval}, s)
	}()
	for m.skippedTicks.Get() < 4 {
		<-st.changed
	}
	cancel()
	<-done
	elapsed := time.Since(start)

	s.mu.Lock()
	defer s.mu.Unlock()
	if s.overlapped {
		t.Fatal("samples overlapped")
	}
	// Stacked ticks would have run a sample per 100 ms tick, catching up.
	if max := int(elapsed/s.took) + 1; s.calls > max {
		t.Fatalf("%d samples in %v; at most %d fit without stacking", s.calls, elapsed, max)
	}
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

type countSampler struct{ n int }

func (c *countSampler) Sample(context.Context) ([]samplers.Dataview, error) {
	c.n++
	return []samplers.Dataview{{Name: "count", Columns: []string{"n"},
		Rows: []samplers.Row{{Name: "n", Cells: []samplers.Cell{samplers.Int(int64(c.n))}}}}}, nil
}

func init() {
	samplers.Register(samplers.Type{Name: "test-count", New: func(p json.RawMessage) (samplers.Sampler, error) {
		var opts struct {
			PerCPU bool `json:"percpu"`
		}
		return &countSampler{}, samplers.DecodeParams(p, &opts)
	}})
}
