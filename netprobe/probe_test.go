package netprobe

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"go.uber.org/goleak"

	"github.com/watchfloor/watchfloor/samplers"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func testMetrics() *probeMetrics {
	s := metrics.NewSet()
	return &probeMetrics{
		samples:       s.NewCounter("samples"),
		sampleErrors:  s.NewCounter("errors"),
		skippedTicks:  s.NewCounter("skipped"),
		news:          s.NewCounter("news"),
		newsCoalesced: s.NewCounter("coalesced"),
		failing:       s.NewGauge("failing", nil),
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
	samplers.Register(samplers.Type{Name: "test-func", Validate: func(json.RawMessage) error { return nil }, New: func(p json.RawMessage, _ samplers.Env) (samplers.Sampler, error) {
		var opts struct {
			Func string `json:"func"`
		}
		if err := samplers.DecodeParams(p, &opts); err != nil {
			return nil, err
		}
		build, ok := factories.Load(opts.Func)
		if !ok {
			return nil, fmt.Errorf("no sampler func %q", opts.Func)
		}
		return build.(func() samplers.Sampler)(), nil
	}})
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

// funcSampler does what its test says: each test builds its own through
// the test-func type, so it can see and steer every call.
type funcSampler struct {
	sample func(ctx context.Context) ([]samplers.Dataview, error)
	close  func() error
}

func (f *funcSampler) Sample(ctx context.Context) ([]samplers.Dataview, error) { return f.sample(ctx) }

func (f *funcSampler) Close() error {
	if f.close == nil {
		return nil
	}
	return f.close()
}

var (
	factories  sync.Map // name → func() samplers.Sampler
	factorySeq atomic.Int64
)

// newFunc registers build for the test-func type and returns the params of
// a sampler it builds. Each New calls build once.
func newFunc(t *testing.T, build func() samplers.Sampler) json.RawMessage {
	name := fmt.Sprintf("%s-%d", t.Name(), factorySeq.Add(1))
	factories.Store(name, build)
	t.Cleanup(func() { factories.Delete(name) })
	params, _ := json.Marshal(map[string]string{"func": name})
	return params
}

// logRecorder is a slog handler that keeps each record's message, for
// tests that count what was logged.
type logRecorder struct {
	mu   sync.Mutex
	msgs []string
}

func (l *logRecorder) Enabled(context.Context, slog.Level) bool { return true }

func (l *logRecorder) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	l.msgs = append(l.msgs, r.Message)
	l.mu.Unlock()
	return nil
}

func (l *logRecorder) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *logRecorder) WithGroup(string) slog.Handler      { return l }

// count returns how many records had a message starting with prefix.
func (l *logRecorder) count(prefix string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, m := range l.msgs {
		if strings.HasPrefix(m, prefix) {
			n++
		}
	}
	return n
}
