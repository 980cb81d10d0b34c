package store_test

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tidwall/buntdb"

	"github.com/watchfloor/watchfloor/gateway/store"
)

func hashOf(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

func alice() store.User {
	return store.User{Name: "alice", Roles: []string{"operator"}, Scope: store.Scope{Attribute: "client", Values: []string{"acme"}},
		PasswordHash: "$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA", Created: t0, Updated: t0}
}

func session(user, secret string, at time.Time) store.Session {
	return store.Session{Hash: hashOf(secret), ID: "id-" + secret, User: user, Created: at, LastSeen: at, Source: "192.0.2.9", UserAgent: "test"}
}

func audit(action, target string) store.Audit {
	return store.Audit{Time: t0, Who: "admin", Kind: "person", Source: "cli", Action: action, Target: target, OK: true}
}

// sessionIDs lists the sessions' ids, sorted.
func sessionIDs(ss []store.Session) []string {
	var out []string
	for _, s := range ss {
		out = append(out, s.ID)
	}
	slices.Sort(out)
	return out
}

func storedSessions(t *testing.T, s *store.Store) []string {
	t.Helper()
	ss, err := s.Sessions()
	if err != nil {
		t.Fatal(err)
	}
	return sessionIDs(ss)
}

// auditActions lists the actions recorded, oldest first.
func auditActions(t *testing.T, s *store.Store) []string {
	t.Helper()
	es, _, err := s.Query(store.AuditQuery{Limit: store.MaxAuditLimit})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range slices.Backward(es) {
		out = append(out, e.Action+" "+e.Target)
	}
	return out
}

func TestUsers(t *testing.T) {
	backends(t, func(t *testing.T, s *store.Store) {
		a := alice()
		if err := s.AddUser(a, audit(store.AuditUserAdd, "alice")); err != nil {
			t.Fatal(err)
		}
		if err := s.AddUser(a, audit(store.AuditUserAdd, "alice")); !errors.Is(err, store.ErrExists) {
			t.Errorf("adding alice twice: %v, want ErrExists", err)
		}
		b := store.User{Name: "bob", Roles: []string{"admin", "viewer"}, PasswordHash: "x", Created: t0, Updated: t0}
		if err := s.AddUser(b); err != nil {
			t.Fatal(err)
		}
		got, err := s.User("alice")
		if err != nil || !reflect.DeepEqual(got, a) {
			t.Errorf("User(alice) = %+v, %v\nwant %+v", got, err, a)
		}
		if _, err := s.User("carol"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("User(carol): %v, want ErrNotFound", err)
		}
		all, err := s.Users()
		if err != nil || len(all) != 2 || all[0].Name != "alice" || all[1].Name != "bob" {
			t.Errorf("Users = %+v, %v; want alice, bob", all, err)
		}
		if err := s.AddUser(store.User{}); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("a user without a name: %v, want ErrInvalid", err)
		}
		// The refused second add wrote no audit entry.
		if got := auditActions(t, s); !reflect.DeepEqual(got, []string{"user.add alice"}) {
			t.Errorf("audit = %q, want the one add", got)
		}
	})
}

// A change to what a user's sessions rest on deletes them in the same
// transaction; other changes keep them.
func TestChangeUserEndsSessions(t *testing.T) {
	backends(t, func(t *testing.T, s *store.Store) {
		if err := s.AddUser(alice()); err != nil {
			t.Fatal(err)
		}
		if err := s.AddUser(store.User{Name: "bob", Roles: []string{"viewer"}, PasswordHash: "x"}); err != nil {
			t.Fatal(err)
		}
		login := func(user, secret string) {
			t.Helper()
			if err := s.PutSession(session(user, secret, t0), audit(store.AuditLogin, user)); err != nil {
				t.Fatal(err)
			}
		}
		yes, no := true, false
		at := t0.Add(time.Hour)
		for _, c := range []struct {
			name  string
			ch    store.UserChange
			ended []string
		}{
			{"no change", store.UserChange{At: at}, nil},
			{"same roles in another order", store.UserChange{Roles: []string{"operator", "operator"}, At: at}, nil},
			{"enable an enabled user", store.UserChange{Disabled: &no, At: at}, nil},
			{"roles", store.UserChange{Roles: []string{"engineer"}, At: at}, []string{"id-a1", "id-a2"}},
			{"scope", store.UserChange{Scope: &store.Scope{Attribute: "client", Values: []string{"beta"}}, At: at}, []string{"id-a1", "id-a2"}},
			{"password, keeping one", store.UserChange{PasswordHash: "new", KeepSession: hashOf("a2"), At: at}, []string{"id-a1"}},
			{"disable", store.UserChange{Disabled: &yes, At: at}, []string{"id-a1", "id-a2"}},
		} {
			t.Run(c.name, func(t *testing.T) {
				login("alice", "a1")
				login("alice", "a2")
				login("bob", "b1")
				u, ended, err := s.ChangeUser("alice", c.ch, audit(store.AuditUserUpdate, "alice"))
				if err != nil {
					t.Fatal(err)
				}
				if got := sessionIDs(ended); !reflect.DeepEqual(got, c.ended) {
					t.Errorf("ended %q, want %q", got, c.ended)
				}
				left := []string{"id-a1", "id-a2", "id-b1"}
				left = slices.DeleteFunc(left, func(id string) bool { return slices.Contains(c.ended, id) })
				if got := storedSessions(t, s); !reflect.DeepEqual(got, left) {
					t.Errorf("sessions left %q, want %q", got, left)
				}
				if !u.Updated.Equal(at) {
					t.Errorf("Updated = %v, want %v", u.Updated, at)
				}
				stored, _ := s.User("alice")
				if !reflect.DeepEqual(stored, u) {
					t.Errorf("ChangeUser returned %+v, the store holds %+v", u, stored)
				}
				// Restore alice for the next case.
				if _, err := s.PutUser(alice()); err != nil {
					t.Fatal(err)
				}
			})
		}
		if _, _, err := s.ChangeUser("carol", store.UserChange{At: at}); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("ChangeUser(carol): %v, want ErrNotFound", err)
		}
		// PutUser follows the same rule.
		login("alice", "a3")
		changed := alice()
		changed.Disabled = true
		ended, err := s.PutUser(changed)
		if err != nil || !slices.Contains(sessionIDs(ended), "id-a3") {
			t.Errorf("PutUser disabling alice ended %q, %v; want her sessions", sessionIDs(ended), err)
		}
	})
}

func TestSessions(t *testing.T) {
	backends(t, func(t *testing.T, s *store.Store) {
		long := session("alice", "s1", t0)
		long.UserAgent = strings.Repeat("é", 200) // 400 bytes
		long.Basis = "config:digest"
		if err := s.PutSession(long); err != nil {
			t.Fatal(err)
		}
		if err := s.PutSession(session("bob", "s2", t0)); err != nil {
			t.Fatal(err)
		}
		if err := s.PutSession(store.Session{Hash: "secret", ID: "x"}); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("a session keyed by no hash: %v, want ErrInvalid", err)
		}
		all, err := s.Sessions()
		if err != nil || len(all) != 2 {
			t.Fatalf("Sessions = %+v, %v", all, err)
		}
		for _, sess := range all {
			if sess.ID == "id-s1" && (len(sess.UserAgent) != 256 || sess.UserAgent != strings.Repeat("é", 128) || sess.Hash != hashOf("s1")) {
				t.Errorf("stored user agent %d bytes %q, hash %s; want 256 bytes of whole characters", len(sess.UserAgent), sess.UserAgent, sess.Hash)
			}
		}
		// Touch: later times win, earlier ones and deleted sessions are skipped.
		deleted, err := s.DeleteSessions([]string{hashOf("s2"), hashOf("never")}, audit(store.AuditLogout, "bob"))
		if err != nil || !reflect.DeepEqual(sessionIDs(deleted), []string{"id-s2"}) {
			t.Errorf("DeleteSessions = %q, %v; want s2", sessionIDs(deleted), err)
		}
		if err := s.TouchSessions(map[string]time.Time{hashOf("s1"): t0.Add(time.Minute), hashOf("s2"): t0.Add(time.Minute)}); err != nil {
			t.Fatal(err)
		}
		if err := s.TouchSessions(map[string]time.Time{hashOf("s1"): t0.Add(time.Second)}); err != nil {
			t.Fatal(err)
		}
		all, _ = s.Sessions()
		if len(all) != 1 || !all[0].LastSeen.Equal(t0.Add(time.Minute)) || all[0].Basis != "config:digest" {
			t.Errorf("after touches: %+v; want s1 only, last seen a minute in, its basis kept", all)
		}
		if got := auditActions(t, s); !reflect.DeepEqual(got, []string{"logout bob"}) {
			t.Errorf("audit = %q", got)
		}
	})
}

func TestKiosks(t *testing.T) {
	backends(t, func(t *testing.T, s *store.Store) {
		k := store.Kiosk{ID: "k1", Label: "Wall 1", Scope: store.Scope{Attribute: "client", Values: []string{"acme"}},
			SecretSHA256: hashOf("kiosk secret"), Created: t0, CreatedBy: "admin", Expires: t0.Add(24 * time.Hour)}
		if err := s.PutKiosk(k, audit(store.AuditKioskIssue, "k1")); err != nil {
			t.Fatal(err)
		}
		never := store.Kiosk{ID: "k2", Label: "Wall 2", SecretSHA256: hashOf("other"), Created: t0, CreatedBy: "admin"}
		if err := s.PutKiosk(never); err != nil {
			t.Fatal(err)
		}
		if err := s.PutKiosk(store.Kiosk{ID: "k3", SecretSHA256: "kiosk secret"}); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("a kiosk with its secret in clear: %v, want ErrInvalid", err)
		}
		if err := s.TouchKiosks(map[string]time.Time{"k1": t0.Add(time.Hour), "gone": t0}); err != nil {
			t.Fatal(err)
		}
		all, err := s.Kiosks()
		k.LastUsed = t0.Add(time.Hour)
		if err != nil || !reflect.DeepEqual(all, []store.Kiosk{k, never}) {
			t.Errorf("Kiosks = %+v, %v\nwant %+v", all, err, []store.Kiosk{k, never})
		}
		if err := s.DeleteKiosk("k1", audit(store.AuditKioskRevoke, "k1")); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteKiosk("k1", audit(store.AuditKioskRevoke, "k1")); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("revoking twice: %v, want ErrNotFound", err)
		}
		if all, _ := s.Kiosks(); len(all) != 1 {
			t.Errorf("after the revoke: %+v", all)
		}
		if got := auditActions(t, s); !reflect.DeepEqual(got, []string{"kiosk.issue k1", "kiosk.revoke k1"}) {
			t.Errorf("audit = %q", got)
		}
	})
}

// Users, sessions, kiosks and audit entries survive closing and opening
// the file, and no secret is in it.
func TestReopenKeepsAccess(t *testing.T) {
	s, path := open(t)
	if err := s.AddUser(alice(), audit(store.AuditUserAdd, "alice")); err != nil {
		t.Fatal(err)
	}
	sess := session("alice", "the-session-secret", t0)
	sess.ID = "s1"
	if err := s.PutSession(sess, audit(store.AuditLogin, "alice")); err != nil {
		t.Fatal(err)
	}
	k := store.Kiosk{ID: "k1", Label: "Wall", SecretSHA256: hashOf("the-kiosk-secret"), Created: t0, CreatedBy: "admin"}
	if err := s.PutKiosk(k, audit(store.AuditKioskIssue, "k1")); err != nil {
		t.Fatal(err)
	}
	users, _ := s.Users()
	sessions, _ := s.Sessions()
	kiosks, _ := s.Kiosks()
	entries, _, _ := s.Query(store.AuditQuery{})
	closeStore(t, s)

	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{"the-session-secret", "the-kiosk-secret"} {
		if strings.Contains(string(raw), secret) {
			t.Errorf("the file holds the secret %q", secret)
		}
	}

	s2, err := store.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer closeStore(t, s2)
	users2, _ := s2.Users()
	sessions2, _ := s2.Sessions()
	kiosks2, _ := s2.Kiosks()
	entries2, _, _ := s2.Query(store.AuditQuery{})
	if !reflect.DeepEqual(users, users2) || !reflect.DeepEqual(sessions, sessions2) ||
		!reflect.DeepEqual(kiosks, kiosks2) || !reflect.DeepEqual(entries, entries2) || len(entries2) != 3 {
		t.Errorf("reopened store differs:\nusers %+v\n  now %+v\nsessions %+v\n     now %+v\nkiosks %+v\n   now %+v\naudit %+v\n  now %+v",
			users, users2, sessions, sessions2, kiosks, kiosks2, entries, entries2)
	}
}

// A schema 1 file (rules only) opens, keeps its rules and becomes the
// current schema.
func TestSchemaOneMigrates(t *testing.T) {
	path := t.TempDir() + "/watchfloor.db"
	v1 := fmt.Sprintf(`{"name":"cpu-high","version":1,"action":"create","change":"created","author":"alice","time":%q,"def":{"name":"cpu-high","match":"*/*/cpu/cpu/total/utilisation","critical":{"when":"value > 90"}}}`,
		t0.Format(time.RFC3339))
	writeRaw(t, path, "meta:schema", "1", "rule:cpu-high:head", `{"version":1}`, "rule:cpu-high:v:00000001", v1)
	s, err := store.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	v, err := s.Rule("cpu-high")
	if err != nil || v.Version != 1 || v.Def.Critical.When != "value > 90" || v.Author != "alice" {
		t.Errorf("the schema 1 rule reads %+v, %v", v, err)
	}
	if err := s.AddUser(alice(), audit(store.AuditUserAdd, "alice")); err != nil {
		t.Errorf("a migrated store takes users: %v", err)
	}
	closeStore(t, s)
	db, err := buntdb.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	var schema string
	db.View(func(tx *buntdb.Tx) error { schema, err = tx.Get("meta:schema"); return err })
	db.Close()
	waitBuntStopped(t)
	if want := strconv.Itoa(store.SchemaVersion); schema != want {
		t.Errorf("after opening, meta:schema = %q, want %s", schema, want)
	}
}
