package netprobe

import (
	"bytes"
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/watchfloor/watchfloor/netprobe/protocol"
	"github.com/watchfloor/watchfloor/samplers"
)

// ErrorHeadline is the headline a failing sampler's dataviews carry, with
// the error as its value, until the sampler samples again.
const ErrorHeadline = "samplerError"

// newsSpacing is the least time between two out-of-tick updates of one
// sampler instance (see samplers.Waker): news that comes sooner waits for
// the spacing and is coalesced, so a crash loop or a busy log cannot flood
// the gateway.
const newsSpacing = 50 * time.Millisecond

// stopGrace bounds how long stopping the probe waits for samplers still
// in a Sample that ignores its cancelled context.
const stopGrace = 5 * time.Second

// sample is a sampler instance's latest result.
type sample struct {
	cfg  protocol.SamplerConfig
	dvs  []samplers.Dataview
	time int64 // Unix nanoseconds
}

// store holds each instance's latest sample for the sender, which picks up
// whatever changed since it last looked. Samplers never wait for the
// network: a slow connection sees only the newest sample. Only the samples
// of the instance that currently owns an ID count: one that was stopped or
// replaced may still be finishing a sample, which is dropped.
type store struct {
	mu      sync.Mutex
	latest  map[uint32]*sample
	owner   map[uint32]uint64 // ID → generation of the instance it belongs to
	dirty   map[uint32]struct{}
	changed chan struct{}
}

func newStore() *store {
	return &store{
		latest:  make(map[uint32]*sample),
		owner:   make(map[uint32]uint64),
		dirty:   make(map[uint32]struct{}),
		changed: make(chan struct{}, 1),
	}
}

func (s *store) notify() {
	select {
	case s.changed <- struct{}{}:
	default:
	}
}

// own gives id to the instance of generation gen. The previous owner's
// last sample stays until the new one replaces it, so a restarted
// instance's dataviews do not vanish in between.
func (s *store) own(id uint32, gen uint64) {
	s.mu.Lock()
	s.owner[id] = gen
	s.mu.Unlock()
}

// put records a sample of the instance of generation gen, and reports
// whether it counted: it does not when id belongs to another instance, or
// to none.
func (s *store) put(id uint32, gen uint64, smp *sample) bool {
	s.mu.Lock()
	if owner, ok := s.owner[id]; !ok || owner != gen {
		s.mu.Unlock()
		return false
	}
	s.latest[id] = smp
	s.dirty[id] = struct{}{}
	s.mu.Unlock()
	s.notify()
	return true
}

// remove forgets id: its dataviews go, and samples still on their way
// from the instance that had it are dropped.
func (s *store) remove(id uint32) {
	s.mu.Lock()
	delete(s.latest, id)
	delete(s.owner, id)
	s.dirty[id] = struct{}{}
	s.mu.Unlock()
	s.notify()
}

// hasAll reports whether every one of ids has a sample.
func (s *store) hasAll(ids []uint32) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range ids {
		if s.latest[id] == nil {
			return false
		}
	}
	return true
}

// takeDirty returns the instances changed since the last call; a nil
// sample means the instance is gone.
func (s *store) takeDirty() map[uint32]*sample {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[uint32]*sample, len(s.dirty))
	for id := range s.dirty {
		out[id] = s.latest[id]
	}
	clear(s.dirty)
	return out
}

// all returns every instance's latest sample and clears the dirty set,
// for a full snapshot.
func (s *store) all() map[uint32]*sample {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[uint32]*sample, len(s.latest))
	for id, smp := range s.latest {
		out[id] = smp
	}
	clear(s.dirty)
	return out
}

// runner owns the sampler instances. It outlives connections, so a
// reconnect does not restart sampling.
//
// Its goroutines: one owner goroutine (loop) applies configurations, the
// latest one winning, and is the only one to start or stop instances; each
// instance has a goroutine of its own that samples on its tick and closes
// its sampler when it ends. Nothing waits for an instance to end but stop:
// an instance that is stopped is cancelled and left to finish, and its
// late sample is dropped by the store.
type runner struct {
	log   *slog.Logger
	store *store
	m     *probeMetrics
	env   samplers.Env

	ctx      context.Context // cancelled by stop; every instance's parent
	cancel   context.CancelFunc
	wake     chan struct{} // a configuration is pending
	loopDone chan struct{}

	mu         sync.Mutex
	pending    []protocol.SamplerConfig
	hasPending bool
	waiters    []chan struct{}    // closed once pending is applied
	started    map[uint32]bool    // instances running, by ID
	live       map[*instance]bool // instances whose goroutine has not ended
}

type instance struct {
	cfg    protocol.SamplerConfig
	gen    uint64
	cancel context.CancelFunc
	done   chan struct{} // closed when the goroutine has ended, its sampler closed
}

type probeMetrics struct {
	samples, sampleErrors, skippedTicks *metrics.Counter
	news, newsCoalesced                 *metrics.Counter // out-of-tick updates; wakes folded into one
	failing                             *metrics.Gauge   // instances whose last sample failed
}

// newRunner starts a runner's owner goroutine; stop ends it.
func newRunner(log *slog.Logger, st *store, m *probeMetrics, env samplers.Env) *runner {
	ctx, cancel := context.WithCancel(context.Background())
	r := &runner{
		log: log, store: st, m: m, env: env,
		ctx: ctx, cancel: cancel,
		wake:     make(chan struct{}, 1),
		loopDone: make(chan struct{}),
		started:  make(map[uint32]bool),
		live:     make(map[*instance]bool),
	}
	go r.loop()
	return r
}

func sameConfig(a, b protocol.SamplerConfig) bool {
	return a.Entity == b.Entity && a.Name == b.Name && a.Type == b.Type &&
		a.Interval == b.Interval && bytes.Equal(a.Params, b.Params)
}

// apply hands cfg to the owner goroutine and returns at once, with a
// channel closed when cfg (or a later configuration that replaced it
// before it was applied) is in force: its instances started, the ones it
// drops told to stop.
func (r *runner) apply(cfg []protocol.SamplerConfig) <-chan struct{} {
	applied := make(chan struct{})
	r.mu.Lock()
	r.pending, r.hasPending = cfg, true
	r.waiters = append(r.waiters, applied)
	r.mu.Unlock()
	select {
	case r.wake <- struct{}{}:
	default:
	}
	return applied
}

// loop applies configurations until stop. Only it touches instances.
func (r *runner) loop() {
	defer close(r.loopDone)
	instances := make(map[uint32]*instance)
	var gen uint64
	for {
		select {
		case <-r.ctx.Done():
			r.mu.Lock()
			for _, w := range r.waiters {
				close(w)
			}
			r.waiters = nil
			r.mu.Unlock()
			return
		case <-r.wake:
		}
		r.mu.Lock()
		cfg, has, waiters := r.pending, r.hasPending, r.waiters
		r.pending, r.hasPending, r.waiters = nil, false, nil
		r.mu.Unlock()
		if has {
			r.reconcile(instances, cfg, &gen)
		}
		for _, w := range waiters {
			close(w)
		}
	}
}

// reconcile makes the running instances match cfg: unchanged ones keep
// running, changed ones restart, missing ones stop. A restarted instance's
// last sample stays in the store until the new one samples, so its
// dataviews do not vanish from the gateway in between; only an instance
// that is gone (or whose new config cannot be built) loses them.
func (r *runner) reconcile(instances map[uint32]*instance, cfg []protocol.SamplerConfig, gen *uint64) {
	want := make(map[uint32]protocol.SamplerConfig, len(cfg))
	for _, c := range cfg {
		want[c.ID] = c
	}
	restarted := make(map[uint32]bool)
	for id, in := range instances {
		c, kept := want[id]
		if kept && sameConfig(c, in.cfg) {
			continue
		}
		in.cancel()
		delete(instances, id)
		if kept {
			restarted[id] = true
		} else {
			r.store.remove(id)
		}
	}
	for id, c := range want {
		if _, running := instances[id]; running {
			continue
		}
		s, err := samplers.New(c.Type, c.Params, r.env)
		if err != nil {
			r.log.Error("sampler not started", "entity", c.Entity, "sampler", c.Name, "err", err)
			if restarted[id] {
				r.store.remove(id)
			}
			continue
		}
		*gen++
		ctx, cancel := context.WithCancel(r.ctx)
		in := &instance{cfg: c, gen: *gen, cancel: cancel, done: make(chan struct{})}
		instances[id] = in
		r.store.own(id, in.gen)
		r.mu.Lock()
		r.live[in] = true
		r.mu.Unlock()
		go r.instance(ctx, in, s)
	}
	r.mu.Lock()
	clear(r.started)
	for id := range instances {
		r.started[id] = true
	}
	r.mu.Unlock()
}

// instance is an instance's goroutine: it samples until ctx is done, then
// closes the sampler. Close runs here, after the last Sample has returned,
// never concurrently with it.
func (r *runner) instance(ctx context.Context, in *instance, s samplers.Sampler) {
	defer func() {
		if err := s.Close(); err != nil {
			r.log.Warn("sampler did not close cleanly", "entity", in.cfg.Entity, "sampler", in.cfg.Name, "err", err)
		}
		r.mu.Lock()
		delete(r.live, in)
		r.mu.Unlock()
		close(in.done)
	}()
	r.run(ctx, in.cfg, in.gen, s)
}

// startedIDs returns the instances that are running; those whose sampler
// could not be built are not among them.
func (r *runner) startedIDs() []uint32 {
	r.mu.Lock()
	defer r.mu.Unlock()
	ids := make([]uint32, 0, len(r.started))
	for id := range r.started {
		ids = append(ids, id)
	}
	return ids
}

// stop ends the owner goroutine and every instance, and waits for them:
// at most stopGrace for instances stuck in a Sample that ignores its
// context, which are logged by name and left behind.
func (r *runner) stop() {
	r.cancel()
	<-r.loopDone
	r.mu.Lock()
	live := make([]*instance, 0, len(r.live))
	for in := range r.live {
		live = append(live, in)
	}
	r.mu.Unlock()
	grace := time.NewTimer(stopGrace)
	defer grace.Stop()
	for i, in := range live {
		select {
		case <-in.done:
		case <-grace.C:
			for _, in := range live[i:] {
				select {
				case <-in.done:
				default:
					r.log.Error("sampler did not stop within the grace period; leaving it", "entity", in.cfg.Entity, "sampler", in.cfg.Name, "grace", stopGrace)
				}
			}
			return
		}
	}
}

// failureBackoff is the wait after n consecutive failed samples: the
// interval after the first, doubling after each further one, up to 30
// intervals or a minute, whichever is less (but never below the interval).
func failureBackoff(interval time.Duration, n int) time.Duration {
	ceiling := max(interval, min(30*interval, time.Minute))
	d := interval
	for i := 1; i < n && d < ceiling; i++ {
		d *= 2
	}
	return min(d, ceiling)
}

// run samples on every tick until ctx is done. A sample that overruns its
// tick makes the ticks it overlapped be skipped, never queued, and says
// so. A failing sampler is slowed down (failureBackoff) and its error is
// shown in the ErrorHeadline of its dataviews, logged when it starts
// failing and when it recovers, not on every tick.
func (r *runner) run(ctx context.Context, cfg protocol.SamplerConfig, gen uint64, s samplers.Sampler) {
	interval := max(cfg.Interval, samplers.MinInterval)
	timeout := max(10*interval, time.Second)
	var (
		good      *sample // the last successful sample
		failures  int     // consecutive failed samples
		failedAt  time.Time
		lastError string
	)
	defer func() {
		if failures > 0 {
			r.m.failing.Dec()
		}
	}()
	due := time.Now()
	timer := time.NewTimer(0)
	defer timer.Stop()
	// A Waker's news is sampled between ticks, at most once per
	// newsSpacing; news that comes sooner arms newsTimer for the rest of
	// the spacing. A nil channel never fires, so other samplers only tick.
	var (
		wake      <-chan struct{}
		lastNews  time.Time
		newsTimer *time.Timer
		newsC     <-chan time.Time
	)
	waker, isWaker := s.(samplers.Waker)
	if isWaker {
		wake = waker.Wake()
		newsTimer = time.NewTimer(time.Hour)
		newsTimer.Stop()
		defer newsTimer.Stop()
	}
	for {
		news := false
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		case <-wake:
			if wait := newsSpacing - time.Since(lastNews); wait > 0 {
				if newsC == nil {
					newsTimer.Reset(wait)
					newsC = newsTimer.C
				}
				r.m.newsCoalesced.Inc()
				continue
			}
			news = true
		case <-newsC:
			newsC = nil
			news = true
		}
		if news {
			lastNews = time.Now()
			if good == nil || failures > 0 {
				continue // the next tick's full sample carries it
			}
			sctx, cancel := context.WithTimeout(ctx, timeout)
			dvs, err := waker.SampleNews(sctx)
			cancel()
			if ctx.Err() != nil {
				return
			}
			if err != nil {
				r.log.Debug("out-of-tick sample failed; the tick will retry", "entity", cfg.Entity, "sampler", cfg.Name, "err", err)
				continue
			}
			r.m.news.Inc()
			good = &sample{cfg: cfg, dvs: dvs, time: time.Now().UnixNano()}
			r.store.put(cfg.ID, gen, good)
			continue
		}
		start := time.Now()
		sctx, cancel := context.WithTimeout(ctx, timeout)
		dvs, err := s.Sample(sctx)
		cancel()
		if ctx.Err() != nil {
			return
		}
		end := time.Now()
		if err != nil {
			r.m.sampleErrors.Inc()
			failures++
			if failures == 1 {
				failedAt = start
				r.m.failing.Inc()
				r.log.Warn("sampler failing; backing off", "entity", cfg.Entity, "sampler", cfg.Name, "err", err)
			}
			if msg := err.Error(); msg != lastError {
				lastError = msg
				r.store.put(cfg.ID, gen, failedSample(cfg, good, msg, end))
			}
			due = end.Add(failureBackoff(interval, failures))
			timer.Reset(time.Until(due))
			continue
		}
		r.m.samples.Inc()
		if failures > 0 {
			r.m.failing.Dec()
			r.log.Info("sampler recovered", "entity", cfg.Entity, "sampler", cfg.Name,
				"failures", failures, "after", end.Sub(failedAt))
			failures, lastError = 0, ""
		}
		good = &sample{cfg: cfg, dvs: dvs, time: end.UnixNano()}
		r.store.put(cfg.ID, gen, good)
		due = due.Add(interval)
		if !end.Before(due) {
			skipped := end.Sub(due)/interval + 1
			r.m.skippedTicks.Add(int(skipped))
			r.log.Warn("sample overran its tick; skipping ticks", "entity", cfg.Entity, "sampler", cfg.Name,
				"took", end.Sub(start), "interval", interval, "skipped", skipped)
			due = due.Add(skipped * interval)
		}
		timer.Reset(time.Until(due))
	}
}

// failedSample is what a failed sample leaves in the store: the last good
// sample's dataviews, with their sample time (they were not sampled
// again, so they age), and the error in their ErrorHeadline; or, for a
// sampler that has produced none, one dataview named after the instance
// holding only that headline.
func failedSample(cfg protocol.SamplerConfig, good *sample, msg string, now time.Time) *sample {
	errHead := samplers.Headline{Name: ErrorHeadline, Value: samplers.Text(msg)}
	if good != nil && hasNamed(good.dvs) {
		dvs := make([]samplers.Dataview, len(good.dvs))
		for i, dv := range good.dvs {
			hs := make([]samplers.Headline, 0, len(dv.Headlines)+1)
			for _, h := range dv.Headlines {
				if h.Name != ErrorHeadline {
					hs = append(hs, h)
				}
			}
			dv.Headlines = append(hs, errHead)
			dvs[i] = dv
		}
		return &sample{cfg: cfg, dvs: dvs, time: good.time}
	}
	return &sample{cfg: cfg, dvs: []samplers.Dataview{{Name: cfg.Name, Headlines: []samplers.Headline{errHead}}}, time: now.UnixNano()}
}

func hasNamed(dvs []samplers.Dataview) bool {
	for _, dv := range dvs {
		if dv.Name != "" {
			return true
		}
	}
	return false
}
