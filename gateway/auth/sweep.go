package auth

import (
	"context"
	"time"
)

// Run sweeps every second, by a real ticker (the times it compares are
// the service's clock's): it ends sessions past their idle or absolute
// timeout and kiosk links past their expiry, writes last-seen times to the
// store, and hourly deletes audit entries older than the retention. It
// returns when ctx is done, after writing every last-seen time the store
// lacks.
func (s *Service) Run(ctx context.Context) {
	s.dummy()
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			s.sweepMu.Lock()
			s.flush(true)
			s.sweepMu.Unlock()
			return
		case <-t.C:
			s.Sweep()
		}
	}
}

// Sweep does now what Run does at each tick, by the service's clock.
func (s *Service) Sweep() {
	s.notify(s.sweep(s.now()))
}

// sweep returns the sessions it ended, for Ended.
func (s *Service) sweep(now time.Time) []string {
	s.sweepMu.Lock()
	defer s.sweepMu.Unlock()
	ns := now.UnixNano()
	sn := s.snap.Load()
	if s.conn != nil {
		// A session with an open socket is in use even without requests.
		for _, id := range s.conn() {
			if l := sn.byID[id]; l != nil {
				l.seen(ns)
			}
		}
	}
	var expired []*live
	for _, l := range sn.byHash {
		if l.expired(sn, ns) {
			expired = append(expired, l)
		}
	}
	var ids []string
	if len(expired) > 0 {
		ids = s.expire(expired)
	}
	s.flush(false)
	if sn.retention > 0 && (s.lastExpiry.IsZero() || now.Sub(s.lastExpiry) >= expireEvery) {
		s.lastExpiry = now
		n, err := s.store.Expire(now.Add(-sn.retention))
		switch {
		case err != nil:
			s.log.Error("auth: delete old audit entries", "err", err)
		case n > 0:
			s.log.Info("auth: deleted old audit entries", "entries", n, "retention", sn.retention)
		}
	}
	return ids
}

// flush writes to the store the last-seen times of sessions and kiosk
// links that it lacks by flushEvery or more, or (all) any it lacks, in one
// transaction each for sessions and kiosks. The caller holds sweepMu.
func (s *Service) flush(all bool) {
	sn := s.snap.Load()
	type written struct {
		l    *live
		seen int64
	}
	sessions := make(map[string]time.Time)
	kiosks := make(map[string]time.Time)
	var done []written
	for _, l := range sn.byHash {
		seen := l.lastSeen.Load()
		if seen <= l.flushed || (!all && seen-l.flushed < int64(flushEvery)) {
			continue
		}
		if l.kiosk != nil {
			kiosks[l.id] = nsTime(seen)
		} else {
			sessions[l.key] = nsTime(seen)
		}
		done = append(done, written{l, seen})
	}
	errS := s.store.TouchSessions(sessions)
	errK := s.store.TouchKiosks(kiosks)
	if errS != nil || errK != nil {
		s.log.Error("auth: write last-seen times", "sessions", len(sessions), "kiosks", len(kiosks), "err", errS, "kiosk_err", errK)
	}
	for _, w := range done {
		if (w.l.kiosk == nil && errS == nil) || (w.l.kiosk != nil && errK == nil) {
			w.l.flushed = w.seen
		}
	}
}
