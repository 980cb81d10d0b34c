package store

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/watchfloor/watchfloor/rules"
)

// failing is a backend whose transactions fail to write any key under a
// prefix, as a full disk would fail them.
type failing struct {
	backend
	prefix string
}

var errDiskFull = errors.New("disk full")

func (f failing) update(fn func(tx txn) error) error {
	return f.backend.update(func(tx txn) error { return fn(failingTx{tx, f.prefix}) })
}

type failingTx struct {
	txn
	prefix string
}

func (t failingTx) set(k, v string) error {
	if strings.HasPrefix(k, t.prefix) {
		return errDiskFull
	}
	return t.txn.set(k, v)
}

func TestMigrationsCoverEverySchema(t *testing.T) {
	if len(migrations) != SchemaVersion-1 {
		t.Errorf("%d migrations for schema %d: want one per step from 1", len(migrations), SchemaVersion)
	}
}

// When the audit entry cannot be written, the change it records is not
// made either: they share one transaction.
func TestAuditFailureUndoesTheChange(t *testing.T) {
	t0 := time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)
	run := func(t *testing.T, s *Store) {
		who := Audit{Time: t0, Who: "admin", Kind: "person", Action: AuditUserAdd, Target: "alice", OK: true}
		alice := User{Name: "alice", Roles: []string{"viewer"}, PasswordHash: "h"}
		sess := Session{Hash: strings.Repeat("ab", 32), ID: "s1", User: "alice", Created: t0, LastSeen: t0}
		kiosk := Kiosk{ID: "k1", Label: "wall", SecretSHA256: strings.Repeat("cd", 32), Created: t0}
		// Set up with audit writes working.
		if err := s.AddUser(alice, who); err != nil {
			t.Fatal(err)
		}
		if err := s.PutSession(sess, who); err != nil {
			t.Fatal(err)
		}
		if err := s.PutKiosk(kiosk, who); err != nil {
			t.Fatal(err)
		}
		good := s.kv
		s.kv = failing{good, auditPrefix}
		defer func() { s.kv = good }()

		yes := true
		for name, f := range map[string]func() error{
			"add user": func() error { return s.AddUser(User{Name: "bob", PasswordHash: "h"}, who) },
			"put user": func() error { _, err := s.PutUser(User{Name: "alice", Disabled: true}, who); return err },
			"disable":  func() error { _, _, err := s.ChangeUser("alice", UserChange{Disabled: &yes, At: t0}, who); return err },
			"login": func() error {
				return s.PutSession(Session{Hash: strings.Repeat("ef", 32), ID: "s2", User: "alice"}, who)
			},
			"logout": func() error { _, err := s.DeleteSessions([]string{sess.Hash}, who); return err },
			"issue":  func() error { return s.PutKiosk(Kiosk{ID: "k2", SecretSHA256: strings.Repeat("12", 32)}, who) },
			"revoke": func() error { return s.DeleteKiosk("k1", who) },
			"rule edit": func() error {
				_, err := s.PutRule(Edit{Def: rules.Def{Name: "r"}, Action: Create, Author: "a", At: t0})
				return err
			},
		} {
			if err := f(); !errors.Is(err, errDiskFull) {
				t.Errorf("%s with the audit write failing: %v, want the failure", name, err)
			}
		}
		s.kv = good
		users, _ := s.Users()
		sessions, _ := s.Sessions()
		kiosks, _ := s.Kiosks()
		defs, _ := s.Rules()
		if len(users) != 1 || users[0].Disabled || len(sessions) != 1 || sessions[0].ID != "s1" ||
			len(kiosks) != 1 || kiosks[0].ID != "k1" || len(defs) != 0 {
			t.Errorf("failed writes changed the store: users %+v, sessions %+v, kiosks %+v, rules %+v", users, sessions, kiosks, defs)
		}
	}
	t.Run("memory", func(t *testing.T) {
		s := OpenMemory()
		defer s.Close()
		run(t, s)
	})
	t.Run("file", func(t *testing.T) {
		s, err := Open(filepath.Join(t.TempDir(), "watchfloor.db"))
		if err != nil {
			t.Fatal(err)
		}
		run(t, s)
		s.Close()
		path := s.Path()
		// The file, opened again, holds only what succeeded.
		s2, err := Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer s2.Close()
		users, _ := s2.Users()
		if len(users) != 1 || users[0].Disabled {
			t.Errorf("reopened, the file's users are %+v", users)
		}
		n := 0
		s2.kv.view(func(tx txn) error {
			return tx.ascend(auditPrefix, func(string, string) bool { n++; return true })
		})
		if n != 3 {
			t.Errorf("reopened, the file has %d audit entries, want the 3 that succeeded", n)
		}
	})
}
