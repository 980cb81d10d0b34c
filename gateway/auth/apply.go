package auth

import (
	"fmt"

	"github.com/watchfloor/watchfloor/gateway/config"
	"github.com/watchfloor/watchfloor/gateway/store"
)

// Check reports whether Apply(cfg) would succeed, saying every way in
// which cfg does not fit the database: a user defined in both, a database
// user (not disabled) holding a role cfg does not define, or a role that
// requires a scope held by a user without one.
func (s *Service) Check(cfg *config.Config) error {
	_, err := build(cfg, s.databaseUsers(), s.store.Path())
	if err != nil {
		return fmt.Errorf("auth: %w", err)
	}
	return nil
}

// databaseUsers returns the database's users as memory holds them, which
// is as the store does: every change to them goes through the service.
func (s *Service) databaseUsers() []store.User {
	var out []store.User
	for _, p := range s.snap.Load().users {
		if !p.config {
			out = append(out, store.User{Name: p.name, Roles: p.roles, Scope: toStore(p.scope), PasswordHash: p.hash,
				Disabled: p.disabled, Created: p.created, Updated: p.updated})
		}
	}
	return out
}

// Apply makes cfg's users, roles, session timeouts, metrics access and
// audit retention take effect for the next request. The sessions of
// configuration users that cfg removes, or whose roles, scope or password
// hash it changes, end (Ended is told); every other session goes on, with
// the permissions its user's roles now grant. A cfg that Check refuses
// changes nothing.
func (s *Service) Apply(cfg *config.Config) error {
	ids, err := s.apply(cfg)
	if err != nil {
		return err
	}
	s.notify(ids)
	return nil
}

func (s *Service) apply(cfg *config.Config) ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	next, err := build(cfg, s.databaseUsers(), s.store.Path())
	if err != nil {
		return nil, fmt.Errorf("auth: %w", err)
	}
	sn := s.snap.Load()
	next.byHash, next.byID = sn.byHash, sn.byID
	next = next.clone()
	var ended []*live
	for _, l := range sn.byHash {
		if l.kiosk != nil {
			continue
		}
		p := l.user.Load()
		np := next.users[p.name]
		if p.endsSessions(np) {
			next.remove(l)
			ended = append(ended, l)
			continue
		}
		l.user.Store(np)
	}
	s.snap.Store(next)
	var ids, hashes []string
	for _, l := range ended {
		ids = append(ids, l.id)
		hashes = append(hashes, l.key)
	}
	// A failure to delete them is not undone at the next start either:
	// New drops a session whose user is gone or no longer its basis.
	if len(hashes) > 0 {
		if _, err := s.store.DeleteSessions(hashes); err != nil {
			s.log.Error("auth: delete the sessions a reload ended; they are ended in memory", "sessions", len(hashes), "err", err)
		}
	}
	return ids, nil
}
