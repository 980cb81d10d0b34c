package netprobe

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/watchfloor/watchfloor/netprobe/protocol"
	"github.com/watchfloor/watchfloor/samplers"
)

// newsSampler is a Waker whose news the test makes: each Sample and
// SampleNews returns a dataview whose one headline says which it was and
// how many of each came before.
type newsSampler struct {
	wake          chan struct{}
	ticks, newses atomic.Int64
}

func (n *newsSampler) dv(kind string, count int64) []samplers.Dataview {
	return []samplers.Dataview{{Name: "d", Headlines: []samplers.Headline{{Name: kind, Value: samplers.Int(count)}}}}
}

func (n *newsSampler) Sample(context.Context) ([]samplers.Dataview, error) {
	return n.dv("tick", n.ticks.Add(1)), nil
}

func (n *newsSampler) SampleNews(context.Context) ([]samplers.Dataview, error) {
	return n.dv("news", n.newses.Add(1)), nil
}

func (n *newsSampler) Wake() <-chan struct{} { return n.wake }
func (n *newsSampler) Close() error          { return nil }

// News between ticks is sampled and stored at once, not at the next tick;
// a burst of it is coalesced into at most one update per newsSpacing.
func TestRunnerShipsNewsBetweenTicks(t *testing.T) {
	st := newStore()
	m := testMetrics()
	r := newRunner(discard(), st, m, samplers.Env{})
	defer r.stop()
	ns := &newsSampler{wake: make(chan struct{}, 1)}
	params := newFunc(t, func() samplers.Sampler { return ns })
	// A tick far longer than the test: only news can bring a second sample.
	c := protocol.SamplerConfig{ID: 1, Entity: "e", Name: "s", Type: "test-func", Params: params, Interval: time.Hour}
	<-r.apply([]protocol.SamplerConfig{c})
	waitFor(t, "the first tick", func() bool { return ns.ticks.Load() == 1 })
	st.takeDirty()

	start := time.Now()
	samplers.Signal(ns.wake)
	waitFor(t, "the news sample", func() bool { return ns.newses.Load() == 1 })
	got := st.takeDirty()[1]
	if got == nil || got.dvs[0].Headlines[0].Name != "news" {
		t.Fatalf("after news the store holds %+v, want the news sample", got)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("news took %v to be sampled", d)
	}

	// A burst: twenty signals as fast as they come. The first waits out
	// the spacing since the last news; all of them together make at most
	// two samples.
	before := ns.newses.Load()
	for range 20 {
		samplers.Signal(ns.wake)
		time.Sleep(time.Millisecond)
	}
	waitFor(t, "the burst's news sample", func() bool { return ns.newses.Load() > before })
	time.Sleep(3 * newsSpacing)
	if n := ns.newses.Load() - before; n > 2 {
		t.Errorf("a burst of 20 wakes within ~20 ms made %d news samples, want at most 2 (spacing %v)", n, newsSpacing)
	}
	if m.newsCoalesced.Get() == 0 {
		t.Error("no wake was counted as coalesced")
	}
	if ns.ticks.Load() != 1 {
		t.Errorf("news moved the tick: %d ticks, want 1", ns.ticks.Load())
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}
