package store_test

import (
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/watchfloor/watchfloor/gateway/store"
)

func entry(at time.Time, who, action, target string) store.Audit {
	return store.Audit{Time: at, Who: who, Kind: "person", Source: "192.0.2.7", Action: action, Target: target, OK: true, Detail: "d"}
}

// actions lists the entries' actions and targets, to compare pages.
func actions(es []store.Audit) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.Action + " " + e.Target
	}
	return out
}

func TestAuditQuery(t *testing.T) {
	backends(t, func(t *testing.T, s *store.Store) {
		at := func(m int) time.Time { return t0.Add(time.Duration(m) * time.Minute) }
		if err := s.Record(
			entry(at(0), "alice", store.AuditLogin, "alice"),
			entry(at(1), "mallory", store.AuditLoginFailed, "bob"),
			entry(at(2), "mallory", store.AuditLoginSlowed, "bob"),
			entry(at(3), "alice", store.AuditUserAdd, "carol"),
			entry(at(4), "alice", store.AuditUserDisable, "carol"),
			entry(at(5), "alice", store.AuditLogout, "alice"),
			entry(at(6), "bob", store.AuditConfigReload, ""),
			entry(at(7), "bob", store.AuditConfigReloadFailed, ""),
		); err != nil {
			t.Fatal(err)
		}
		f := func(name string, q store.AuditQuery, want ...string) {
			t.Helper()
			got, next, err := s.Query(q)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if next != "" {
				t.Errorf("%s: next = %q, want none", name, next)
			}
			if g := actions(got); !reflect.DeepEqual(g, want) && !(len(g) == 0 && len(want) == 0) {
				t.Errorf("%s: %q\nwant %q", name, g, want)
			}
		}
		f("everything, newest first", store.AuditQuery{},
			"config.reload.failed ", "config.reload ", "logout alice", "user.disable carol", "user.add carol",
			"login.slowed bob", "login.failed bob", "login alice")
		f("who", store.AuditQuery{Who: "mallory"}, "login.slowed bob", "login.failed bob")
		f("target", store.AuditQuery{Target: "carol"}, "user.disable carol", "user.add carol")
		f("exact action", store.AuditQuery{Action: "login"}, "login alice")
		f("family with its head", store.AuditQuery{Action: "login."}, "login.slowed bob", "login.failed bob", "login alice")
		f("family", store.AuditQuery{Action: "user."}, "user.disable carol", "user.add carol")
		f("family of a dotted action", store.AuditQuery{Action: "config.reload."}, "config.reload.failed ", "config.reload ")
		f("a prefix without a dot is exact", store.AuditQuery{Action: "log"})
		f("since is inclusive", store.AuditQuery{Since: at(6)}, "config.reload.failed ", "config.reload ")
		f("until is exclusive", store.AuditQuery{Until: at(2)}, "login.failed bob", "login alice")
		f("since and until", store.AuditQuery{Since: at(3), Until: at(5)}, "user.disable carol", "user.add carol")
		f("all filters", store.AuditQuery{Who: "alice", Action: "user.", Target: "carol", Since: at(4)}, "user.disable carol")
		f("nothing matches", store.AuditQuery{Who: "nobody"})
		f("until before everything", store.AuditQuery{Until: at(0)})

		got, _, _ := s.Query(store.AuditQuery{Action: "login"})
		want := entry(at(0), "alice", store.AuditLogin, "alice")
		if len(got) != 1 || !reflect.DeepEqual(got[0], want) {
			t.Errorf("the login entry reads back as %+v, want %+v", got, want)
		}
	})
}

// Pages follow each other without gaps or repeats, newest first, with the
// filters applied across pages; the last page has no next cursor.
func TestAuditPaging(t *testing.T) {
	backends(t, func(t *testing.T, s *store.Store) {
		var all []store.Audit
		for i := range 25 {
			action := store.AuditLogin
			if i%2 == 1 {
				action = store.AuditLoginFailed
			}
			// Several entries share a nanosecond: keys still differ.
			all = append(all, entry(t0.Add(time.Duration(i/3)*time.Second), "alice", action, fmt.Sprint(i)))
		}
		if err := s.Record(all...); err != nil {
			t.Fatal(err)
		}
		var seen []string
		q := store.AuditQuery{Action: store.AuditLoginFailed, Limit: 5}
		for page := 0; ; page++ {
			got, next, err := s.Query(q)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) > 5 {
				t.Fatalf("page %d has %d entries, limit 5", page, len(got))
			}
			for _, e := range got {
				seen = append(seen, e.Target)
			}
			if next == "" {
				break
			}
			if page > 5 {
				t.Fatal("paging does not end")
			}
			q.Before = next
		}
		var want []string
		for i := 23; i >= 1; i -= 2 {
			want = append(want, fmt.Sprint(i))
		}
		// Entries of one second are in the order they were written.
		if len(seen) != len(want) {
			t.Fatalf("pages hold %q, want %q", seen, want)
		}
		for i := range want {
			if seen[i] != want[i] {
				t.Fatalf("pages hold %q, want %q", seen, want)
			}
		}

		// Exactly a page's worth: no next cursor.
		got, next, _ := s.Query(store.AuditQuery{Action: store.AuditLoginFailed, Limit: 12})
		if len(got) != 12 || next != "" {
			t.Errorf("a query for exactly all 12 = %d entries, next %q; want 12 and none", len(got), next)
		}
		if _, _, err := s.Query(store.AuditQuery{Before: "rule:x:head"}); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("a cursor that no query returned: %v, want ErrInvalid", err)
		}
	})
}

func TestAuditLimits(t *testing.T) {
	s := store.OpenMemory()
	defer s.Close()
	var es []store.Audit
	for i := range 1500 {
		es = append(es, entry(t0.Add(time.Duration(i)), "a", store.AuditLogin, ""))
	}
	if err := s.Record(es...); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ limit, want int }{{0, store.DefaultAuditLimit}, {-3, store.DefaultAuditLimit}, {7, 7}, {5000, store.MaxAuditLimit}} {
		got, next, err := s.Query(store.AuditQuery{Limit: c.limit})
		if err != nil || len(got) != c.want || next == "" {
			t.Errorf("limit %d: %d entries, next %q, %v; want %d and a next page", c.limit, len(got), next, err, c.want)
		}
	}
	if err := s.Record(store.Audit{Time: t0}); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("an entry without an action: %v, want ErrInvalid", err)
	}
	if err := s.Record(store.Audit{Action: store.AuditLogin}); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("an entry without a time: %v, want ErrInvalid", err)
	}
}

// Retention deletes entries older than the cut, across several
// transactions when there are many, and keeps the rest.
func TestAuditExpire(t *testing.T) {
	backends(t, func(t *testing.T, s *store.Store) {
		var es []store.Audit
		for i := range 23_000 {
			es = append(es, entry(t0.Add(time.Duration(i)*time.Millisecond), "a", store.AuditLogin, fmt.Sprint(i)))
		}
		if err := s.Record(es...); err != nil {
			t.Fatal(err)
		}
		cut := t0.Add(21_500 * time.Millisecond)
		n, err := s.Expire(cut)
		if err != nil || n != 21_500 {
			t.Fatalf("Expire = %d, %v; want 21500", n, err)
		}
		got, next, err := s.Query(store.AuditQuery{Limit: store.MaxAuditLimit})
		if err != nil {
			t.Fatal(err)
		}
		rest, _, _ := s.Query(store.AuditQuery{Limit: store.MaxAuditLimit, Before: next})
		got = append(got, rest...)
		if len(got) != 1500 || got[len(got)-1].Target != "21500" || got[0].Target != "22999" {
			t.Errorf("after expiry %d entries remain, from %s to %s; want 1500, 21500 to 22999",
				len(got), got[len(got)-1].Target, got[0].Target)
		}
		if n, err := s.Expire(cut); err != nil || n != 0 {
			t.Errorf("a second Expire = %d, %v; want 0", n, err)
		}
	})
}

// Every rule edit writes its audit entry with the version.
func TestRuleEditsAudited(t *testing.T) {
	backends(t, func(t *testing.T, s *store.Store) {
		if _, err := s.PutRule(store.Edit{Def: cpuRule("value > 90"), Action: store.Create, Author: "alice",
			Source: "192.0.2.1", At: t0, Expect: store.NewRule}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.PutRule(store.Edit{Def: cpuRule("value > 95"), Action: store.Update, Author: "bob",
			Kind: "person", Source: "192.0.2.2", At: t0.Add(time.Second)}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.DeleteRule("cpu-high", store.Deletion{Author: "carol", Source: "192.0.2.3", At: t0.Add(2 * time.Second)}); err != nil {
			t.Fatal(err)
		}
		// A refused edit records nothing.
		if _, err := s.DeleteRule("cpu-high", store.Deletion{Author: "carol", At: t0.Add(3 * time.Second)}); !errors.Is(err, store.ErrNotFound) {
			t.Fatal(err)
		}
		got, _, err := s.Query(store.AuditQuery{Action: "rule."})
		if err != nil {
			t.Fatal(err)
		}
		want := []store.Audit{
			{Time: t0.Add(2 * time.Second), Who: "carol", Kind: "person", Source: "192.0.2.3", Action: store.AuditRuleDelete, Target: "cpu-high", OK: true, Detail: "version 3: deleted"},
			{Time: t0.Add(time.Second), Who: "bob", Kind: "person", Source: "192.0.2.2", Action: store.AuditRuleUpdate, Target: "cpu-high", OK: true,
				Detail: "version 2: critical.when: value > 90 → value > 95"},
			{Time: t0, Who: "alice", Kind: "person", Source: "192.0.2.1", Action: store.AuditRuleCreate, Target: "cpu-high", OK: true, Detail: "version 1: created"},
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("rule audit entries:\n%+v\nwant\n%+v", got, want)
		}
	})
}

// Entries of the same nanosecond written before and after a restart (which
// starts the sequence again) are all kept.
func TestAuditKeysSurviveRestart(t *testing.T) {
	s, path := open(t)
	if err := s.Record(entry(t0, "a", store.AuditLogin, "1"), entry(t0, "a", store.AuditLogin, "2")); err != nil {
		t.Fatal(err)
	}
	closeStore(t, s)
	s2, err := store.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer closeStore(t, s2)
	if err := s2.Record(entry(t0, "a", store.AuditLogin, "3")); err != nil {
		t.Fatal(err)
	}
	got, _, _ := s2.Query(store.AuditQuery{})
	if g := actions(got); !reflect.DeepEqual(g, []string{"login 3", "login 2", "login 1"}) {
		t.Errorf("entries after a restart: %q, want all three", g)
	}
}
