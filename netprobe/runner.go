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

// sample is a sampler instance's latest result.
type sample struct {
	cfg  protocol.SamplerConfig
	dvs  []samplers.Dataview
	time int64 // Unix nanoseconds
}

// store holds each instance's latest sample for the sender, which picks up
// whatever changed since it last looked. Samplers never wait for the
// network: a slow connection sees only the newest sample.
type store struct {
	mu      sync.Mutex
	latest  map[uint32]*sample
	dirty   map[uint32]struct{}
	changed chan struct{}
}

func newStore() *store {
	return &store{
		latest:  make(map[uint32]*sample),
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

func (s *store) put(id uint32, smp *sample) {
	s.mu.Lock()
	s.latest[id] = smp
	s.dirty[id] = struct{}{}
	s.mu.Unlock()
	s.notify()
}

func (s *store) remove(id uint32) {
	s.mu.Lock()
	delete(s.latest, id)
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

// runner owns the sampler goroutines. It outlives connections, so a
// reconnect does not restart sampling.
type runner struct {
	ctx   context.Context
	log   *slog.Logger
	store *store
	m     *probeMetrics

	mu        sync.Mutex
	instances map[uint32]*instance
}

type instance struct {
	cfg    protocol.SamplerConfig
	cancel context.CancelFunc
	done   chan struct{}
}

type probeMetrics struct {
	samples, sampleErrors, skippedTicks *metrics.Counter
}

func newRunner(ctx context.Context, log *slog.Logger, st *store, m *probeMetrics) *runner {
	return &runner{ctx: ctx, log: log, store: st, m: m, instances: make(map[uint32]*instance)}
}

func sameConfig(a, b protocol.SamplerConfig) bool {
	return a.Entity == b.Entity && a.Name == b.Name && a.Type == b.Type &&
		a.Interval == b.Interval && bytes.Equal(a.Params, b.Params)
}

// apply makes the running samplers match cfg: unchanged instances keep
// running, changed ones restart, missing ones stop. A restarted instance's
// last sample stays in the store until it samples again, so its dataviews
// do not vanish from the gateway in between; only an instance that is gone
// (or whose new config cannot be built) loses them.
func (r *runner) apply(cfg []protocol.SamplerConfig) {
	r.mu.Lock()
	defer r.mu.Unlock()
	want := make(map[uint32]protocol.SamplerConfig, len(cfg))
	for _, c := range cfg {
		want[c.ID] = c
	}
	restarted := make(map[uint32]bool)
	for id, in := range r.instances {
		c, kept := want[id]
		if kept && sameConfig(c, in.cfg) {
			continue
		}
		in.cancel()
		<-in.done
		delete(r.instances, id)
		if kept {
			restarted[id] = true
		} else {
			r.store.remove(id)
		}
	}
	for id, c := range want {
		if _, running := r.instances[id]; running {
			continue
		}
		s, err := samplers.New(c.Type, c.Params, samplers.Env{})
		if err != nil {
			r.log.Error("sampler not started", "entity", c.Entity, "sampler", c.Name, "err", err)
			if restarted[id] {
				r.store.remove(id)
			}
			continue
		}
		ctx, cancel := context.WithCancel(r.ctx)
		in := &instance{cfg: c, cancel: cancel, done: make(chan struct{})}
		r.instances[id] = in
		go func() {
			defer close(in.done)
			r.run(ctx, in.cfg, s)
		}()
	}
}

// startedIDs returns the instances that are running; those whose sampler
// could not be built are not among them.
func (r *runner) startedIDs() []uint32 {
	r.mu.Lock()
	defer r.mu.Unlock()
	ids := make([]uint32, 0, len(r.instances))
	for id := range r.instances {
		ids = append(ids, id)
	}
	return ids
}

// stop ends every sampler goroutine and waits for them.
func (r *runner) stop() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for id, in := range r.instances {
		in.cancel()
		<-in.done
		delete(r.instances, id)
	}
}

// run samples on every tick. A sample that overruns its tick makes the
// ticks it overlapped be skipped, never queued, and says so.
func (r *runner) run(ctx context.Context, cfg protocol.SamplerConfig, s samplers.Sampler) {
	interval := max(cfg.Interval, samplers.MinInterval)
	timeout := max(10*interval, time.Second)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		start := time.Now()
		sctx, cancel := context.WithTimeout(ctx, timeout)
		dvs, err := s.Sample(sctx)
		cancel()
		if ctx.Err() != nil {
			return
		}
		elapsed := time.Since(start)
		if err != nil {
			r.m.sampleErrors.Inc()
			r.log.Warn("sample failed", "entity", cfg.Entity, "sampler", cfg.Name, "err", err)
		} else {
			r.m.samples.Inc()
			r.store.put(cfg.ID, &sample{cfg: cfg, dvs: dvs, time: time.Now().UnixNano()})
		}
		if elapsed > interval {
			skipped := uint64(elapsed / interval)
			r.m.skippedTicks.Add(int(skipped))
			r.log.Warn("sample overran its tick; skipping ticks", "entity", cfg.Entity, "sampler", cfg.Name,
				"took", elapsed, "interval", interval, "skipped", skipped)
			select {
			case <-t.C: // drop the tick that fell due while sampling
			default:
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
