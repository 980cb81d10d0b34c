package store

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Scope is a data scope as stored: the entities whose Attribute has one
// of Values. The zero Scope is the whole estate.
type Scope struct {
	Attribute string   `json:"attribute,omitempty"`
	Values    []string `json:"values,omitempty"`
}

// Equal reports whether two scopes select the same entities' attribute
// values, in whatever order they list them.
func (s Scope) Equal(o Scope) bool {
	return s.Attribute == o.Attribute && sameSet(s.Values, o.Values)
}

// User is a person managed at run time (the configuration file defines
// others, which are not stored). What its sessions rest on — its roles,
// scope, password and being enabled — is changed only together with them:
// a write that disables the user, changes its password, roles or scope
// deletes its sessions in the same transaction.
type User struct {
	Name  string   `json:"name"`
	Roles []string `json:"roles"`
	Scope Scope    `json:"scope"`
	// PasswordHash is an argon2id or bcrypt hash, never the password.
	PasswordHash string    `json:"password_hash"`
	Disabled     bool      `json:"disabled"`
	Created      time.Time `json:"created"`
	Updated      time.Time `json:"updated"`
}

// endsSessions reports whether replacing u by next must end u's sessions.
func (u User) endsSessions(next User) bool {
	return next.Disabled || u.PasswordHash != next.PasswordHash ||
		!sameSet(u.Roles, next.Roles) || !u.Scope.Equal(next.Scope)
}

func (u User) normal() User {
	u.Created = u.Created.UTC().Round(0)
	u.Updated = u.Updated.UTC().Round(0)
	return u
}

// Session is a person's login. It is stored under the SHA-256 of its
// secret, which only the person's browser holds (in a cookie); the store
// never sees the secret.
type Session struct {
	// Hash is the SHA-256 of the secret, in lower-case hex: the key.
	Hash string `json:"-"`
	// ID names the session in the API and logs; it is random, not derived
	// from the secret, and useless to log in with.
	ID       string    `json:"id"`
	User     string    `json:"user"`
	Created  time.Time `json:"created"`
	LastSeen time.Time `json:"last_seen"`
	// Source is the client's address at login.
	Source string `json:"source"`
	// UserAgent is the browser's User-Agent at login, at most 256 bytes.
	UserAgent string `json:"user_agent"`
	// Basis is what the session rests on, as package auth digests it at
	// login (never a secret): auth drops a stored session whose user no
	// longer matches it, such as a configuration file's user whose
	// password or roles changed while the gateway was down.
	Basis string `json:"basis,omitempty"`
}

// MaxUserAgent bounds a stored Session's UserAgent, in bytes.
const MaxUserAgent = 256

func (s Session) normal() Session {
	s.Created = s.Created.UTC().Round(0)
	s.LastSeen = s.LastSeen.UTC().Round(0)
	if len(s.UserAgent) > MaxUserAgent {
		s.UserAgent = strings.ToValidUTF8(s.UserAgent[:MaxUserAgent], "")
	}
	return s
}

const (
	userPrefix    = "user:"
	sessionPrefix = "session:"
)

func userKey(name string) string { return userPrefix + name }

func sessionKey(hash string) string { return sessionPrefix + hash }

// checkUserName refuses a name that cannot be stored. The auth package
// allows far fewer.
func checkUserName(name string) error {
	if name == "" || strings.ContainsAny(name, "\x00*?") {
		return fmt.Errorf("user name %q cannot be stored: %w", name, ErrInvalid)
	}
	return nil
}

// CheckHash reports whether h is a SHA-256 in lower-case hex, as session
// and kiosk secrets are stored.
func CheckHash(h string) error {
	if len(h) != 64 || strings.ToLower(h) != h {
		return fmt.Errorf("want a SHA-256 in lower-case hex: %w", ErrInvalid)
	}
	if _, err := hex.DecodeString(h); err != nil {
		return fmt.Errorf("want a SHA-256 in lower-case hex: %w", ErrInvalid)
	}
	return nil
}

func readUser(tx txn, name string) (User, bool, error) {
	text, ok, err := tx.get(userKey(name))
	if err != nil || !ok {
		return User{}, false, err
	}
	var u User
	if err := json.Unmarshal([]byte(text), &u); err != nil {
		return User{}, false, fmt.Errorf("read user %s: %w", name, err)
	}
	return u, true, nil
}

func writeJSON(tx txn, key string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %s: %w", key, err)
	}
	return tx.set(key, string(b))
}

// putUser writes u, replacing the user of its name if replace is true, and
// deletes the sessions the replacement ends except keep (a hash). It
// returns those it deleted.
func putUser(tx txn, u User, replace bool, keep string) ([]Session, error) {
	old, exists, err := readUser(tx, u.Name)
	switch {
	case err != nil:
		return nil, err
	case exists && !replace:
		return nil, fmt.Errorf("user %s: %w", u.Name, ErrExists)
	}
	if err := writeJSON(tx, userKey(u.Name), u.normal()); err != nil {
		return nil, err
	}
	if !exists || !old.endsSessions(u) {
		return nil, nil
	}
	return deleteUserSessions(tx, u.Name, keep)
}

// deleteUserSessions deletes user's sessions but keep, returning them.
func deleteUserSessions(tx txn, user, keep string) ([]Session, error) {
	all, err := readSessions(tx)
	if err != nil {
		return nil, err
	}
	var out []Session
	for _, s := range all {
		if s.User != user || s.Hash == keep {
			continue
		}
		if err := tx.delete(sessionKey(s.Hash)); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// AddUser stores a new user, ErrExists if the name is taken, with the
// audit entries in the same transaction.
func (s *Store) AddUser(u User, audit ...Audit) error {
	if err := checkUserName(u.Name); err != nil {
		return err
	}
	return s.kv.update(func(tx txn) error {
		if _, err := putUser(tx, u, false, ""); err != nil {
			return err
		}
		return s.putAudit(tx, audit)
	})
}

// PutUser creates or replaces a user, with the audit entries in the same
// transaction. Replacing a user in a way that changes what its sessions
// rest on (see User) deletes them in the same transaction; PutUser
// returns those it deleted.
func (s *Store) PutUser(u User, audit ...Audit) ([]Session, error) {
	if err := checkUserName(u.Name); err != nil {
		return nil, err
	}
	var ended []Session
	err := s.kv.update(func(tx txn) error {
		var err error
		if ended, err = putUser(tx, u, true, ""); err != nil {
			return err
		}
		return s.putAudit(tx, audit)
	})
	if err != nil {
		return nil, err
	}
	return ended, nil
}

// UserChange is a change to a stored user for ChangeUser; nil and empty
// fields keep what the user has.
type UserChange struct {
	Roles        []string
	Scope        *Scope
	Disabled     *bool
	PasswordHash string
	// At is when the change is made, the user's Updated.
	At time.Time
	// KeepSession is the hash of one session to keep when the change
	// ends the user's sessions: the session of a person changing their
	// own password.
	KeepSession string
}

// ChangeUser changes a stored user (ErrNotFound if there is none) in one
// transaction with the audit entries, deleting the sessions the change
// ends (see User) but ch.KeepSession. It returns the user as changed and
// the sessions it deleted.
func (s *Store) ChangeUser(name string, ch UserChange, audit ...Audit) (User, []Session, error) {
	if err := checkUserName(name); err != nil {
		return User{}, nil, fmt.Errorf("%w: %w", ErrNotFound, err)
	}
	var out User
	var ended []Session
	err := s.kv.update(func(tx txn) error {
		u, ok, err := readUser(tx, name)
		switch {
		case err != nil:
			return err
		case !ok:
			return fmt.Errorf("user %s: %w", name, ErrNotFound)
		}
		if ch.Roles != nil {
			u.Roles = slices.Clone(ch.Roles)
		}
		if ch.Scope != nil {
			u.Scope = *ch.Scope
		}
		if ch.Disabled != nil {
			u.Disabled = *ch.Disabled
		}
		if ch.PasswordHash != "" {
			u.PasswordHash = ch.PasswordHash
		}
		u.Updated = ch.At
		if ended, err = putUser(tx, u, true, ch.KeepSession); err != nil {
			return err
		}
		out = u.normal()
		return s.putAudit(tx, audit)
	})
	if err != nil {
		return User{}, nil, err
	}
	return out, ended, nil
}

// User returns a stored user.
func (s *Store) User(name string) (User, error) {
	var out User
	err := s.kv.view(func(tx txn) error {
		u, ok, err := readUser(tx, name)
		switch {
		case err != nil:
			return err
		case !ok:
			return fmt.Errorf("user %s: %w", name, ErrNotFound)
		}
		out = u
		return nil
	})
	return out, err
}

// Users returns every stored user, sorted by name.
func (s *Store) Users() ([]User, error) {
	var out []User
	err := s.kv.view(func(tx txn) error {
		var bad error
		err := tx.ascend(userPrefix, func(k, v string) bool {
			var u User
			if err := json.Unmarshal([]byte(v), &u); err != nil {
				bad = fmt.Errorf("read %s: %w", k, err)
				return false
			}
			out = append(out, u)
			return true
		})
		if err != nil {
			return err
		}
		return bad
	})
	return out, err
}

// PutSession stores a session, with the audit entries (the login) in the
// same transaction.
func (s *Store) PutSession(sess Session, audit ...Audit) error {
	if err := CheckHash(sess.Hash); err != nil {
		return fmt.Errorf("session %s: %w", sess.ID, err)
	}
	return s.kv.update(func(tx txn) error {
		if err := writeJSON(tx, sessionKey(sess.Hash), sess.normal()); err != nil {
			return err
		}
		return s.putAudit(tx, audit)
	})
}

// DeleteSessions deletes the sessions with the hashes, and writes the
// audit entries, in one transaction. Hashes of sessions not stored are
// ignored; it returns the sessions it deleted.
func (s *Store) DeleteSessions(hashes []string, audit ...Audit) ([]Session, error) {
	var out []Session
	err := s.kv.update(func(tx txn) error {
		out = out[:0]
		for _, h := range hashes {
			text, ok, err := tx.get(sessionKey(h))
			if err != nil {
				return err
			}
			if !ok {
				continue
			}
			sess, err := decodeSession(sessionKey(h), text)
			if err != nil {
				return err
			}
			if err := tx.delete(sessionKey(h)); err != nil {
				return err
			}
			out = append(out, sess)
		}
		return s.putAudit(tx, audit)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func decodeSession(key, text string) (Session, error) {
	var sess Session
	if err := json.Unmarshal([]byte(text), &sess); err != nil {
		return Session{}, fmt.Errorf("read %s: %w", key, err)
	}
	sess.Hash = strings.TrimPrefix(key, sessionPrefix)
	return sess, nil
}

func readSessions(tx txn) ([]Session, error) {
	var out []Session
	var bad error
	err := tx.ascend(sessionPrefix, func(k, v string) bool {
		sess, err := decodeSession(k, v)
		if err != nil {
			bad = err
			return false
		}
		out = append(out, sess)
		return true
	})
	if err != nil {
		return nil, err
	}
	return out, bad
}

// Sessions returns every stored session, in the order of their hashes.
func (s *Store) Sessions() ([]Session, error) {
	var out []Session
	err := s.kv.view(func(tx txn) error {
		var err error
		out, err = readSessions(tx)
		return err
	})
	return out, err
}

// TouchSessions sets when sessions were last seen, by hash, in one
// transaction; a session deleted meanwhile is skipped, and a time earlier
// than the one stored is ignored.
func (s *Store) TouchSessions(seen map[string]time.Time) error {
	if len(seen) == 0 {
		return nil
	}
	return s.kv.update(func(tx txn) error {
		for h, at := range seen {
			key := sessionKey(h)
			text, ok, err := tx.get(key)
			if err != nil {
				return err
			}
			if !ok {
				continue
			}
			sess, err := decodeSession(key, text)
			if err != nil {
				return err
			}
			if !at.After(sess.LastSeen) {
				continue
			}
			sess.LastSeen = at
			if err := writeJSON(tx, key, sess.normal()); err != nil {
				return err
			}
		}
		return nil
	})
}

// sameSet reports whether a and b hold the same strings, ignoring order
// and repeats.
func sameSet(a, b []string) bool {
	for _, x := range a {
		if !slices.Contains(b, x) {
			return false
		}
	}
	for _, x := range b {
		if !slices.Contains(a, x) {
			return false
		}
	}
	return true
}
