package netprobe

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/watchfloor/watchfloor/netprobe/protocol"
	"github.com/watchfloor/watchfloor/samplers"
)

func discard() *slog.Logger { return slog.New(slog.DiscardHandler) }

// slowSampler takes longer than its tick and records when each sample
// started and whether two samples ever overlapped.
type slowSampler struct {
	mu         sync.Mutex
	running    bool
	overlapped bool
	starts     []time.Time
	took       time.Duration
}

func (*slowSampler) Close() error { return nil }

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

// A sample that takes 2.5 ticks skips the ticks it overlapped: the next
// sample starts on the first tick after it ends, never back to back to
// catch up, and the skips are counted. Time is virtual, so the start
// times are exact.
func TestOverrunningSampleSkipsTicks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const interval = 100 * time.Millisecond
		s := &slowSampler{took: 250 * time.Millisecond}
		m := testMetrics()
		st := newStore()
		r := newRunner(discard(), st, m, samplers.Env{})
		defer r.stop()
		st.own(1, 1)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		t0 := time.Now()
		go func() {
			defer close(done)
			r.run(ctx, protocol.SamplerConfig{ID: 1, Name: "slow", Interval: interval}, 1, s)
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

// life records one sampler's lifecycle: whether a Sample ever ran
// concurrently with another or with Close, and how often Close was
// called.
type life struct {
	mu       sync.Mutex
	sampling bool
	closes   int
	bad      []string
	closed   chan struct{}
}

func newLife() *life { return &life{closed: make(chan struct{})} }

func (l *life) sampler(dvs ...samplers.Dataview) samplers.Sampler {
	return &funcSampler{
		sample: func(context.Context) ([]samplers.Dataview, error) {
			l.mu.Lock()
			if l.sampling || l.closes > 0 {
				l.bad = append(l.bad, "Sample overlapping another Sample or after Close")
			}
			l.sampling = true
			l.mu.Unlock()
			l.mu.Lock()
			l.sampling = false
			l.mu.Unlock()
			return dvs, nil
		},
		close: func() error {
			l.mu.Lock()
			defer l.mu.Unlock()
			if l.sampling {
				l.bad = append(l.bad, "Close during a Sample")
			}
			l.closes++
			if l.closes == 1 {
				close(l.closed)
			}
			return nil
		},
	}
}

func (l *life) check(t *testing.T, name string) {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closes != 1 {
		t.Errorf("%s: Close called %d times, want once", name, l.closes)
	}
	for _, b := range l.bad {
		t.Errorf("%s: %s", name, b)
	}
}

// apply starts, keeps, restarts and stops instances to match the config:
// an unchanged instance is not rebuilt, a changed one is rebuilt and the
// old one closed, a dropped one closed; each Close comes once, after the
// last Sample.
func TestRunnerApply(t *testing.T) {
	st := newStore()
	r := newRunner(discard(), st, testMetrics(), samplers.Env{})
	defer r.stop()

	var mu sync.Mutex
	var lives []*life
	params := newFunc(t, func() samplers.Sampler {
		l := newLife()
		mu.Lock()
		lives = append(lives, l)
		mu.Unlock()
		return l.sampler(samplers.Dataview{Name: "d"})
	})
	built := func() []*life {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(lives)
	}
	c := protocol.SamplerConfig{ID: 1, Entity: "e", Name: "s", Type: "test-func", Params: params, Interval: 100 * time.Millisecond}
	<-r.apply([]protocol.SamplerConfig{c})
	<-r.apply([]protocol.SamplerConfig{c})
	if n := len(built()); n != 1 {
		t.Fatalf("an unchanged config built %d samplers, want 1", n)
	}
	changed := c
	changed.Interval = 200 * time.Millisecond
	<-r.apply([]protocol.SamplerConfig{changed})
	if n := len(built()); n != 2 {
		t.Fatalf("a changed config built %d samplers in all, want 2", n)
	}
	<-built()[0].closed
	if got := r.startedIDs(); !slices.Equal(got, []uint32{1}) {
		t.Errorf("started IDs %v, want [1]", got)
	}
	<-r.apply(nil)
	<-built()[1].closed
	if got := r.startedIDs(); len(got) != 0 {
		t.Errorf("started IDs %v after an empty config, want none", got)
	}
	for i, l := range built() {
		l.check(t, []string{"first", "second"}[i])
	}
}

// An instance restarted by a config change (here its interval) keeps its
// last sample until it samples again: the next delta must not remove its
// dataview, and the restarted instance's sample is an update of it.
func TestRunnerRestartKeepsDataviews(t *testing.T) {
	gate, params := newGate(t)
	st := newStore()
	r := newRunner(discard(), st, testMetrics(), samplers.Env{})
	defer r.stop()
	c := protocol.SamplerConfig{ID: 1, Entity: "e", Name: "g", Type: "test-gated", Params: params, Interval: 100 * time.Millisecond}
	<-r.apply([]protocol.SamplerConfig{c})
	gate <- struct{}{}
	<-st.changed
	d := newDiffer(nil, nil)
	if decls := d.snapshot(st.all()); len(decls) != 1 {
		t.Fatalf("snapshot declares %d dataviews, want 1", len(decls))
	}

	c.Interval = 200 * time.Millisecond
	<-r.apply([]protocol.SamplerConfig{c})
	var b protocol.Batch
	d.delta(st.takeDirty(), &b, nil)
	if len(b.Removes)+len(b.Declares) != 0 {
		t.Fatalf("delta after an interval change = %+v, want the dataview left alone", b)
	}

	gate <- struct{}{}
	<-st.changed
	b.Reset()
	d.delta(st.takeDirty(), &b, nil)
	if len(b.Removes)+len(b.Declares) != 0 || len(b.Updates) != 1 {
		t.Fatalf("delta after the restarted instance sampled = %+v, want one update", b)
	}

	// A change whose sampler cannot be built leaves nothing to refresh the
	// old sample, so the dataview goes.
	c.Params = json.RawMessage(`{"gate":"none"}`)
	<-r.apply([]protocol.SamplerConfig{c})
	b.Reset()
	d.delta(st.takeDirty(), &b, nil)
	if len(b.Removes) != 1 {
		t.Fatalf("delta after a change that failed to build = %+v, want the dataview removed", b)
	}
}

// stuck is a sampler stuck in Sample, ignoring its context (a read of a
// hung NFS mount does), until the test releases it.
type stuck struct {
	entered, release, closed chan struct{}
}

func newStuck() *stuck {
	return &stuck{entered: make(chan struct{}), release: make(chan struct{}), closed: make(chan struct{})}
}

func (s *stuck) sampler() samplers.Sampler {
	return &funcSampler{
		sample: func(context.Context) ([]samplers.Dataview, error) {
			close(s.entered)
			<-s.release
			return []samplers.Dataview{{Name: "late", Columns: []string{"v"}}}, nil
		},
		close: func() error { close(s.closed); return nil },
	}
}

// A config change never waits for a sampler stuck in Sample: the change
// is applied at once, the other samplers go on, the stuck one's sample is
// dropped when it finally returns, and it is closed then, by its own
// goroutine.
func TestConfigChangeDoesNotWaitForStuckSampler(t *testing.T) {
	for _, tc := range []struct {
		name string
		// next is the config that replaces the stuck instance (ID 1).
		next func(countParams json.RawMessage) []protocol.SamplerConfig
	}{
		{"stuck instance dropped", func(json.RawMessage) []protocol.SamplerConfig {
			return []protocol.SamplerConfig{{ID: 2, Entity: "e", Name: "count", Type: "test-count", Interval: 100 * time.Millisecond}}
		}},
		{"stuck instance restarted", func(json.RawMessage) []protocol.SamplerConfig {
			return []protocol.SamplerConfig{{ID: 1, Entity: "e", Name: "s", Type: "test-count", Interval: 100 * time.Millisecond}}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				st := newStore()
				r := newRunner(discard(), st, testMetrics(), samplers.Env{})
				defer r.stop()
				s := newStuck()
				c := protocol.SamplerConfig{ID: 1, Entity: "e", Name: "s", Type: "test-func", Params: newFunc(t, s.sampler), Interval: 100 * time.Millisecond}
				<-r.apply([]protocol.SamplerConfig{c})
				<-s.entered

				next := tc.next(nil)
				select {
				case <-r.apply(next):
				case <-time.After(time.Hour):
					t.Fatal("applying a config waited for the stuck sampler")
				}
				// The new config's instance samples meanwhile.
				time.Sleep(50 * time.Millisecond)
				synctest.Wait()
				all := st.all()
				newID := next[0].ID
				if smp := all[newID]; smp == nil || smp.dvs[0].Name != "count" {
					t.Fatalf("instance %d has %+v while the old one is stuck, want the count sampler's sample", newID, smp)
				}
				if newID != 1 && all[1] != nil {
					t.Errorf("the dropped instance still has a sample: %+v", all[1])
				}

				close(s.release)
				<-s.closed
				synctest.Wait()
				for id, smp := range st.all() {
					for _, dv := range smp.dvs {
						if dv.Name == "late" {
							t.Errorf("instance %d holds the stopped instance's late sample", id)
						}
					}
				}
			})
		})
	}
}

// Stopping the runner waits for samplers to end, but not for ever for one
// that ignores its context: after the grace period it names the sampler
// and returns.
func TestStopGivesUpOnStuckSampler(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		log := &logRecorder{}
		r := newRunner(slog.New(log), newStore(), testMetrics(), samplers.Env{})
		s := newStuck()
		l := newLife()
		<-r.apply([]protocol.SamplerConfig{
			{ID: 1, Entity: "e", Name: "stuck", Type: "test-func", Params: newFunc(t, s.sampler), Interval: time.Second},
			{ID: 2, Entity: "e", Name: "fine", Type: "test-func", Params: newFunc(t, func() samplers.Sampler { return l.sampler() }), Interval: time.Second},
		})
		<-s.entered
		start := time.Now()
		r.stop()
		if took := time.Since(start); took != stopGrace {
			t.Errorf("stop returned after %v, want the grace period %v", took, stopGrace)
		}
		select {
		case <-l.closed:
		default:
			t.Error("stop returned before the well-behaved sampler was closed")
		}
		if n := log.count("sampler did not stop within the grace period"); n != 1 {
			t.Errorf("%d log records about the stuck sampler, want 1", n)
		}
		close(s.release)
		<-s.closed
	})
}

func TestFailureBackoff(t *testing.T) {
	f := func(interval time.Duration, failures int, want time.Duration) {
		t.Helper()
		if got := failureBackoff(interval, failures); got != want {
			t.Errorf("failureBackoff(%v, %d) = %v, want %v", interval, failures, got, want)
		}
	}
	f(time.Second, 1, time.Second)
	f(time.Second, 2, 2*time.Second)
	f(time.Second, 5, 16*time.Second)
	f(time.Second, 6, 30*time.Second) // 30 intervals
	f(time.Second, 60, 30*time.Second)
	f(5*time.Second, 5, time.Minute) // a minute before 30 intervals
	f(5*time.Second, 1000, time.Minute)
	f(100*time.Millisecond, 7, 3*time.Second)
	f(2*time.Minute, 3, 2*time.Minute) // never below the interval
}

// headline returns the value of dataview dv's headline name in smp, and
// whether it has one.
func headline(smp *sample, dv, name string) (string, bool) {
	for _, d := range smp.dvs {
		if d.Name != dv {
			continue
		}
		for _, h := range d.Headlines {
			if h.Name == name {
				return h.Value.Raw, true
			}
		}
	}
	return "", false
}

// A failing sampler shows its error in a headline on the dataviews it
// had, is sampled less and less often while it fails (the interval after
// the first failure, then doubling up to 30 intervals), is logged once
// when it starts failing and once when it recovers, and its recovery
// removes the headline.
func TestFailingSamplerBacksOffAndReports(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const interval = 100 * time.Millisecond
		var (
			mu     sync.Mutex
			starts []time.Duration
		)
		t0 := time.Now()
		params := newFunc(t, func() samplers.Sampler {
			n := 0
			return &funcSampler{sample: func(context.Context) ([]samplers.Dataview, error) {
				mu.Lock()
				starts = append(starts, time.Since(t0))
				mu.Unlock()
				n++
				if n >= 2 && n <= 7 {
					return nil, errors.New("disk gone")
				}
				return []samplers.Dataview{{Name: "d", Columns: []string{"v"}, Headlines: []samplers.Headline{{Name: "h", Value: samplers.Int(int64(n))}},
					Rows: []samplers.Row{{Name: "r", Cells: []samplers.Cell{samplers.Int(int64(n))}}}}}, nil
			}}
		})
		log := &logRecorder{}
		m := testMetrics()
		st := newStore()
		r := newRunner(slog.New(log), st, m, samplers.Env{})
		defer r.stop()
		<-r.apply([]protocol.SamplerConfig{{ID: 1, Entity: "e", Name: "s", Type: "test-func", Params: params, Interval: interval}})

		// The second sample, at 100 ms, fails.
		time.Sleep(150 * time.Millisecond)
		synctest.Wait()
		smp := st.all()[1]
		if v, ok := headline(smp, "d", ErrorHeadline); !ok || v != "disk gone" {
			t.Errorf("while failing, dataview d has %s = %q (%v), want the error", ErrorHeadline, v, ok)
		}
		if v, _ := headline(smp, "d", "h"); v != "1" {
			t.Errorf("while failing, headline h = %q, want the last good sample's 1", v)
		}
		if smp.time != t0.UnixNano() {
			t.Errorf("while failing, the dataview's sample time is %v after start, want the last good sample's (0)", time.Duration(smp.time-t0.UnixNano()))
		}
		if got := m.failing.Get(); got != 1 {
			t.Errorf("failing samplers gauge = %v, want 1", got)
		}

		// Samples 2 to 7 fail; sample 8 recovers.
		time.Sleep(6300*time.Millisecond - 150*time.Millisecond)
		synctest.Wait()
		ms := time.Millisecond
		want := []time.Duration{0, 100 * ms, 200 * ms, 400 * ms, 800 * ms, 1600 * ms, 3200 * ms, 6200 * ms, 6300 * ms}
		mu.Lock()
		if !slices.Equal(starts, want) {
			t.Errorf("samples started at %v, want %v", starts, want)
		}
		mu.Unlock()
		smp = st.all()[1]
		if v, ok := headline(smp, "d", ErrorHeadline); ok {
			t.Errorf("after recovering, dataview d still has %s = %q", ErrorHeadline, v)
		}
		if got := m.failing.Get(); got != 0 {
			t.Errorf("failing samplers gauge = %v after recovering, want 0", got)
		}
		if n := m.sampleErrors.Get(); n != 6 {
			t.Errorf("sample errors = %d, want 6", n)
		}
		if n := log.count("sampler failing"); n != 1 {
			t.Errorf("%d log records of the sampler failing, want 1 (not one per failure)", n)
		}
		if n := log.count("sampler recovered"); n != 1 {
			t.Errorf("%d log records of the sampler recovering, want 1", n)
		}
	})
}

// A sampler that has never produced a dataview reports its error on one
// named after its instance; stopping it while it fails leaves the failing
// gauge as it was before.
func TestFailingSamplerWithoutDataviews(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		params := newFunc(t, func() samplers.Sampler {
			return &funcSampler{sample: func(context.Context) ([]samplers.Dataview, error) {
				return nil, errors.New("permission denied")
			}}
		})
		m := testMetrics()
		st := newStore()
		r := newRunner(discard(), st, m, samplers.Env{})
		defer r.stop()
		<-r.apply([]protocol.SamplerConfig{{ID: 1, Entity: "e", Name: "logs", Type: "test-func", Params: params, Interval: time.Second}})
		synctest.Wait()
		smp := st.all()[1]
		if smp == nil || len(smp.dvs) != 1 || smp.dvs[0].Name != "logs" || len(smp.dvs[0].Columns)+len(smp.dvs[0].Rows) != 0 {
			t.Fatalf("failing sampler's sample = %+v, want one dataview named logs with only a headline", smp)
		}
		if v, ok := headline(smp, "logs", ErrorHeadline); !ok || v != "permission denied" {
			t.Errorf("%s = %q (%v), want the error", ErrorHeadline, v, ok)
		}
		if m.failing.Get() != 1 {
			t.Errorf("failing samplers gauge = %v, want 1", m.failing.Get())
		}
		<-r.apply(nil)
		synctest.Wait()
		if m.failing.Get() != 0 {
			t.Errorf("failing samplers gauge = %v after the failing sampler was removed, want 0", m.failing.Get())
		}
	})
}

// The store takes samples only from the instance that owns their ID now:
// an instance stopped or replaced between its context check and its put
// must not overwrite its successor's sample or bring back a removed one.
func TestStoreDropsSamplesOfFormerOwners(t *testing.T) {
	st := newStore()
	st.own(1, 1)
	if !st.put(1, 1, &sample{time: 1}) {
		t.Fatal("the owner's sample was dropped")
	}
	st.own(1, 2) // restarted
	if st.put(1, 1, &sample{time: 2}) {
		t.Error("the replaced instance's sample counted")
	}
	if got := st.all()[1].time; got != 1 {
		t.Errorf("sample time %d, want the last one that counted (1)", got)
	}
	if !st.put(1, 2, &sample{time: 3}) {
		t.Error("the new owner's sample was dropped")
	}
	st.remove(1)
	if st.put(1, 2, &sample{time: 4}) || st.all()[1] != nil {
		t.Error("a removed instance's sample brought it back")
	}
	if st.put(7, 1, &sample{}) {
		t.Error("a sample for an ID nobody owns counted")
	}
}

// Configurations that arrive while one is being applied are not queued:
// the latest replaces the others, which are never built, and every
// caller's applied channel closes once it is in force.
func TestLatestConfigWins(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := newStore()
		r := newRunner(discard(), st, testMetrics(), samplers.Env{})
		defer r.stop()
		building, release := make(chan struct{}), make(chan struct{})
		slow := newFunc(t, func() samplers.Sampler {
			close(building)
			<-release
			return newLife().sampler()
		})
		var mu sync.Mutex
		var built []string
		named := func(name string) json.RawMessage {
			return newFunc(t, func() samplers.Sampler {
				mu.Lock()
				built = append(built, name)
				mu.Unlock()
				return newLife().sampler(samplers.Dataview{Name: name})
			})
		}
		cfg := func(params json.RawMessage) []protocol.SamplerConfig {
			return []protocol.SamplerConfig{{ID: 1, Entity: "e", Name: "s", Type: "test-func", Params: params, Interval: time.Second}}
		}
		a := r.apply(cfg(slow))
		<-building
		b := r.apply(cfg(named("b")))
		c := r.apply(cfg(named("c")))
		close(release)
		<-a
		<-b
		<-c
		synctest.Wait()
		mu.Lock()
		defer mu.Unlock()
		if !slices.Equal(built, []string{"c"}) {
			t.Errorf("built %v after the slow config, want only the latest, c", built)
		}
		if smp := st.all()[1]; smp == nil || smp.dvs[0].Name != "c" {
			t.Errorf("instance 1 holds %+v, want c's sample", smp)
		}
	})
}
