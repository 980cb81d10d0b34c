package store_test

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tidwall/buntdb"
	"go.uber.org/goleak"

	"github.com/watchfloor/watchfloor/gateway/store"
	"github.com/watchfloor/watchfloor/rules"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// open opens a store file in a fresh directory, closed when t ends.
func open(t *testing.T) (*store.Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "watchfloor.db")
	s, err := store.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { closeStore(t, s) })
	return s, path
}

// closeStore closes s, if it is open, and waits for buntdb's background
// goroutine to end: it notices the close on its next one-second tick.
func closeStore(t *testing.T, s *store.Store) {
	t.Helper()
	if err := s.Close(); err != nil && !errors.Is(err, store.ErrClosed) {
		t.Errorf("close: %v", err)
	}
	waitBuntStopped(t)
}

// waitBuntStopped waits until no buntdb database's background goroutine
// runs: each ends on its next one-second tick after its database closed.
func waitBuntStopped(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for buntGoroutines() > 0 {
		if time.Now().After(deadline) {
			t.Fatal("buntdb's background goroutine still runs 20s after Close")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func buntGoroutines() int {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	return strings.Count(string(buf), "buntdb.(*DB).backgroundManager")
}

// backends runs f against a store file and a memory store.
func backends(t *testing.T, f func(t *testing.T, s *store.Store)) {
	t.Run("file", func(t *testing.T) {
		s, _ := open(t)
		f(t, s)
	})
	t.Run("memory", func(t *testing.T) {
		s := store.OpenMemory()
		defer s.Close()
		f(t, s)
	})
}

var t0 = time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)

func cpuRule(when string) rules.Def {
	return rules.Def{Name: "cpu-high", Match: "*/*/cpu/cpu/total/utilisation", Critical: &rules.LevelDef{When: when}}
}

func create(t *testing.T, s *store.Store, def rules.Def, at time.Time) store.RuleVersion {
	t.Helper()
	v, err := s.PutRule(store.Edit{Def: def, Action: store.Create, Author: "alice", At: at, Expect: store.NewRule})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func update(t *testing.T, s *store.Store, def rules.Def, at time.Time, expect int) store.RuleVersion {
	t.Helper()
	v, err := s.PutRule(store.Edit{Def: def, Action: store.Update, Author: "bob", At: at, Expect: expect})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestRoundTrip(t *testing.T) {
	backends(t, func(t *testing.T, s *store.Store) {
		if defs, err := s.Rules(); err != nil || len(defs) != 0 {
			t.Fatalf("a new store's rules = %v, %v; want none", defs, err)
		}
		def := cpuRule("value > 90")
		def.Where = map[string]rules.Values{"region": {"emea", "apac"}}
		stale := rules.Duration(30 * time.Second)
		other := rules.Def{Name: "a.feed-stale", Match: "*/*/feed/*", Stale: &stale, Severity: rules.Warning}
		v := create(t, s, def, t0)
		want := store.RuleVersion{Name: "cpu-high", Version: 1, Action: store.Create, Change: "created", Author: "alice", Time: t0, Def: def}
		if !reflect.DeepEqual(v, want) {
			t.Errorf("PutRule = %+v\nwant %+v", v, want)
		}
		create(t, s, other, t0.Add(time.Minute))

		got, err := s.Rule("cpu-high")
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("Rule = %+v, %v\nwant %+v", got, err, want)
		}
		defs, err := s.Rules()
		if err != nil || !reflect.DeepEqual(defs, []rules.Def{other, def}) {
			t.Errorf("Rules = %+v, %v; want a.feed-stale, cpu-high", defs, err)
		}
		if v1, err := s.Version("cpu-high", 1); err != nil || !reflect.DeepEqual(v1, want) {
			t.Errorf("Version 1 = %+v, %v", v1, err)
		}
		if _, err := s.Version("cpu-high", 2); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Version 2 of a rule at 1: %v, want ErrNotFound", err)
		}
		if _, err := s.Rule("nope"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Rule(nope): %v, want ErrNotFound", err)
		}
		if _, err := s.History("nope"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("History(nope): %v, want ErrNotFound", err)
		}
	})
}

// Each version records what changed from the one before, in one line.
func TestHistoryAndChanges(t *testing.T) {
	backends(t, func(t *testing.T, s *store.Store) {
		at := func(i int) time.Time { return t0.Add(time.Duration(i) * time.Minute) }
		v1 := cpuRule("value > 90")
		create(t, s, v1, at(1))

		v2 := cpuRule("value > 95")
		v2.Warning = &rules.LevelDef{When: "value > 80", For: rules.Duration(time.Minute)}
		update(t, s, v2, at(2), 1)

		v3 := v2
		w := *v2.Warning
		w.For = rules.Duration(5 * time.Minute)
		v3.Warning = &w
		v3.Description = "CPU of the order gateways"
		v3.Where = map[string]rules.Values{"system": {"oms"}}
		update(t, s, v3, at(3), store.AnyVersion)
		update(t, s, v3, at(4), 3)

		if _, err := s.DeleteRule("cpu-high", store.Deletion{Author: "carol", At: at(5), Expect: 4}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Rule("cpu-high"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Rule of a deleted rule: %v, want ErrNotFound", err)
		}
		if defs, _ := s.Rules(); len(defs) != 0 {
			t.Errorf("Rules after the delete = %v, want none", defs)
		}
		if _, err := s.PutRule(store.Edit{Def: v2, Action: store.Update, Author: "bob", At: at(6)}); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("update of a deleted rule: %v, want ErrNotFound", err)
		}
		rv, err := s.PutRule(store.Edit{Def: v1, Action: store.Revert, From: "1", Author: "dave", At: at(6), Expect: 5})
		if err != nil {
			t.Fatal(err)
		}
		if rv.Version != 6 {
			t.Errorf("revert made version %d, want 6", rv.Version)
		}
		if _, err := s.PutRule(store.Edit{Def: v2, Action: store.Revert, From: "2", Author: "dave", At: at(7), Expect: 6}); err != nil {
			t.Fatal(err)
		}
		cp := v1
		cp.Name = "cpu-high-copy"
		if _, err := s.PutRule(store.Edit{Def: cp, Action: store.Copy, From: "cpu-high", Author: "erin", At: at(8), Expect: store.NewRule}); err != nil {
			t.Fatal(err)
		}

		hist, err := s.History("cpu-high")
		if err != nil {
			t.Fatal(err)
		}
		want := []struct {
			action store.Action
			author string
			change string
			def    rules.Def
		}{
			{store.Create, "alice", "created", v1},
			{store.Update, "bob", "critical.when: value > 90 → value > 95; warning added", v2},
			{store.Update, "bob", "description: (none) → CPU of the order gateways; where.system: (none) → [oms]; warning.for: 1m0s → 5m0s", v3},
			{store.Update, "bob", "no change", v3},
			{store.Delete, "carol", "deleted", v3},
			{store.Revert, "dave", "reverted to version 1, restoring the deleted rule", v1},
			{store.Revert, "dave", "reverted to version 2: critical.when: value > 90 → value > 95; warning added", v2},
		}
		if len(hist) != len(want) {
			t.Fatalf("history has %d versions, want %d: %+v", len(hist), len(want), hist)
		}
		for i, w := range want {
			h := hist[i]
			if h.Version != i+1 || h.Action != w.action || h.Author != w.author || h.Change != w.change ||
				!h.Time.Equal(at(i+1)) || !reflect.DeepEqual(h.Def, w.def) {
				t.Errorf("version %d = %d %s by %s at %v: %q %+v\nwant %s by %s at %v: %q %+v",
					i+1, h.Version, h.Action, h.Author, h.Time, h.Change, h.Def, w.action, w.author, at(i+1), w.change, w.def)
			}
		}
		if !hist[4].Deleted() || hist[5].Deleted() {
			t.Errorf("Deleted: version 5 %v, version 6 %v; want true, false", hist[4].Deleted(), hist[5].Deleted())
		}
		copied, err := s.History("cpu-high-copy")
		if err != nil || len(copied) != 1 || copied[0].Change != "copied from cpu-high" || copied[0].From != "cpu-high" {
			t.Errorf("the copy's history = %+v, %v", copied, err)
		}
	})
}

// TestIncidentChanges checks that a version's change summary lists what
// it changes in the rule's incident settings, field by field.
func TestIncidentChanges(t *testing.T) {
	s := store.OpenMemory()
	defer s.Close()
	at := func(i int) time.Time { return t0.Add(time.Duration(i) * time.Minute) }
	v1 := cpuRule("value > 90")
	create(t, s, v1, at(1))

	v2 := cpuRule("value > 90")
	v2.Incident = &rules.IncidentDef{Open: rules.Critical, Notify: []string{"desk-hook"}}
	v3 := cpuRule("value > 90")
	v3.Incident = &rules.IncidentDef{Open: rules.Warning, Client: "customer", Manual: true, Impact: true,
		Escalation: "desk", Notify: []string{"desk-hook", "pager"}, Title: "{{.Rule}} on {{.Entity}}"}
	v4 := cpuRule("value > 95")
	v4.Incident = &rules.IncidentDef{Notify: []string{}}
	steps := []struct {
		def    rules.Def
		change string
	}{
		{v2, "incident added"},
		{v3, "incident.open: critical → warning; incident.client: (none) → customer; incident.manual: false → true; " +
			"incident.impact: false → true; incident.escalation: (none) → desk; incident.notify: [desk-hook] → [desk-hook, pager]; " +
			"incident.title: (none) → {{.Rule}} on {{.Entity}}"},
		{v4, "critical.when: value > 90 → value > 95; incident.open: warning → (none); incident.client: customer → (none); " +
			"incident.manual: true → false; incident.impact: true → false; incident.escalation: desk → (none); " +
			"incident.notify: [desk-hook, pager] → (none); incident.title: {{.Rule}} on {{.Entity}} → (none)"},
		{cpuRule("value > 95"), "incident removed"},
	}
	for i, st := range steps {
		update(t, s, st.def, at(i+2), i+1)
	}
	hist, err := s.History("cpu-high")
	if err != nil {
		t.Fatal(err)
	}
	if len(hist) != len(steps)+1 {
		t.Fatalf("history has %d versions, want %d", len(hist), len(steps)+1)
	}
	for i, st := range steps {
		if got := hist[i+1].Change; got != st.change {
			t.Errorf("version %d: %q\nwant %q", i+2, got, st.change)
		}
	}
}

// A name that was deleted can be created again: its versions go on from
// the deletion, and its history stays.
func TestCreateAfterDelete(t *testing.T) {
	backends(t, func(t *testing.T, s *store.Store) {
		create(t, s, cpuRule("value > 90"), t0)
		if _, err := s.DeleteRule("cpu-high", store.Deletion{Author: "bob", At: t0, Expect: store.AnyVersion}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.DeleteRule("cpu-high", store.Deletion{Author: "bob", At: t0, Expect: store.AnyVersion}); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("deleting a deleted rule: %v, want ErrNotFound", err)
		}
		v := create(t, s, cpuRule("value > 99"), t0)
		if v.Version != 3 || v.Change != "created" {
			t.Errorf("created again as version %d (%q), want 3", v.Version, v.Change)
		}
		if h, _ := s.History("cpu-high"); len(h) != 3 {
			t.Errorf("history has %d versions, want 3", len(h))
		}
	})
}

// Optimistic concurrency: a write that expects another version, a create
// over a live rule and an edit of a missing one are refused.
func TestConflicts(t *testing.T) {
	backends(t, func(t *testing.T, s *store.Store) {
		create(t, s, cpuRule("value > 90"), t0)
		update(t, s, cpuRule("value > 91"), t0, 1)
		for _, c := range []struct {
			name string
			e    store.Edit
			want error
		}{
			{"update expecting an old version", store.Edit{Def: cpuRule("value > 92"), Action: store.Update, Expect: 1}, store.ErrConflict},
			{"update expecting a future version", store.Edit{Def: cpuRule("value > 92"), Action: store.Update, Expect: 3}, store.ErrConflict},
			{"create over a live rule", store.Edit{Def: cpuRule("value > 92"), Action: store.Create, Expect: store.NewRule}, store.ErrExists},
			{"copy over a live rule", store.Edit{Def: cpuRule("value > 92"), Action: store.Copy, From: "x"}, store.ErrExists},
			{"update expecting a new rule", store.Edit{Def: cpuRule("value > 92"), Action: store.Update, Expect: store.NewRule}, store.ErrExists},
			{"update of a missing rule", store.Edit{Def: rules.Def{Name: "missing"}, Action: store.Update}, store.ErrNotFound},
			{"revert of a missing rule", store.Edit{Def: rules.Def{Name: "missing"}, Action: store.Revert, From: "1"}, store.ErrNotFound},
		} {
			if _, err := s.PutRule(c.e); !errors.Is(err, c.want) {
				t.Errorf("%s: %v, want %v", c.name, err, c.want)
			}
		}
		if _, err := s.DeleteRule("cpu-high", store.Deletion{Author: "bob", At: t0, Expect: 1}); !errors.Is(err, store.ErrConflict) {
			t.Errorf("delete expecting an old version: %v, want ErrConflict", err)
		}
		if v, _ := s.Rule("cpu-high"); v.Version != 2 || v.Def.Critical.When != "value > 91" {
			t.Errorf("after refused writes the rule is version %d %+v, want version 2", v.Version, v.Def.Critical)
		}
	})
}

// A refused write leaves no trace: not in what the store answers, and
// not in the file.
func TestFailedWriteChangesNothing(t *testing.T) {
	s, path := open(t)
	create(t, s, cpuRule("value > 90"), t0)
	update(t, s, cpuRule("value > 91"), t0, 1)
	before, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	hist, _ := s.History("cpu-high")
	defs, _ := s.Rules()

	refused := []func() error{
		func() error {
			_, err := s.PutRule(store.Edit{Def: cpuRule("value > 99"), Action: store.Update, Expect: 1})
			return err
		},
		func() error {
			_, err := s.PutRule(store.Edit{Def: cpuRule("value > 99"), Action: store.Create, Expect: store.NewRule})
			return err
		},
		func() error {
			_, err := s.DeleteRule("cpu-high", store.Deletion{Author: "x", At: t0, Expect: 7})
			return err
		},
		func() error {
			_, err := s.PutRule(store.Edit{Def: rules.Def{Name: "bad:name"}, Action: store.Create})
			return err
		},
	}
	for i, f := range refused {
		if f() == nil {
			t.Errorf("write %d was not refused", i)
		}
	}
	after, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(after) != string(before) {
		t.Errorf("refused writes changed the file:\nbefore %q\nafter  %q", before, after)
	}
	hist2, _ := s.History("cpu-high")
	defs2, _ := s.Rules()
	if !reflect.DeepEqual(hist, hist2) || !reflect.DeepEqual(defs, defs2) {
		t.Errorf("refused writes changed the store:\nhistory %+v\n     now %+v\nrules %+v\n  now %+v", hist, hist2, defs, defs2)
	}
}

// Closed and opened again, the file holds every rule and every version.
func TestReopenKeepsEverything(t *testing.T) {
	s, path := open(t)
	create(t, s, cpuRule("value > 90"), t0)
	update(t, s, cpuRule("value > 95"), t0.Add(time.Second), 1)
	gone := rules.Def{Name: "gone", Match: "*", ProbeDown: new(rules.Duration), Severity: rules.Critical}
	create(t, s, gone, t0)
	if _, err := s.DeleteRule("gone", store.Deletion{Author: "bob", At: t0, Expect: 1}); err != nil {
		t.Fatal(err)
	}
	defs, _ := s.Rules()
	hist, _ := s.History("cpu-high")
	goneHist, _ := s.History("gone")
	closeStore(t, s)
	if _, err := s.Rules(); !errors.Is(err, store.ErrClosed) {
		t.Errorf("Rules after Close: %v, want ErrClosed", err)
	}

	s2, err := store.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer closeStore(t, s2)
	defs2, _ := s2.Rules()
	hist2, _ := s2.History("cpu-high")
	goneHist2, _ := s2.History("gone")
	if !reflect.DeepEqual(defs, defs2) || !reflect.DeepEqual(hist, hist2) || !reflect.DeepEqual(goneHist, goneHist2) {
		t.Errorf("reopened store differs:\nrules %+v\n  now %+v\nhistory %+v\n    now %+v\ngone %+v\n now %+v",
			defs, defs2, hist, hist2, goneHist, goneHist2)
	}
	if v := update(t, s2, cpuRule("value > 97"), t0, 2); v.Version != 3 {
		t.Errorf("an update after reopening made version %d, want 3", v.Version)
	}
}

// writeRaw writes keys into a buntdb file directly, as another program
// (or another version of this one) would.
func writeRaw(t *testing.T, path string, kv ...string) {
	t.Helper()
	db, err := buntdb.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *buntdb.Tx) error {
		for i := 0; i < len(kv); i += 2 {
			if _, _, err := tx.Set(kv[i], kv[i+1], nil); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestSchema(t *testing.T) {
	f := func(name, wantErr string, kv ...string) {
		t.Helper()
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "watchfloor.db")
			if kv != nil {
				writeRaw(t, path, kv...)
			}
			s, err := store.Open(path)
			if err == nil {
				defer closeStore(t, s)
			} else {
				waitBuntStopped(t)
			}
			switch {
			case wantErr == "" && err != nil:
				t.Fatalf("Open: %v", err)
			case wantErr != "" && (err == nil || !strings.Contains(err.Error(), wantErr)):
				t.Fatalf("Open: %v, want an error with %q", err, wantErr)
			}
		})
	}
	f("a new file", "")
	f("schema 1", "", "meta:schema", "1")
	f("a newer schema", "written by a newer Watchfloor (schema 99); this one knows up to 4", "meta:schema", "99")
	f("the next schema", "written by a newer Watchfloor (schema 5); this one knows up to 4", "meta:schema", "5")
	f("schema 2", "", "meta:schema", "2")
	f("schema 3", "", "meta:schema", "3")
	f("schema 4", "", "meta:schema", "4")
	f("schema 3 with keys schema 4 introduces", `migrate schema 3 to 4: schema 3 has no maint: keys, but the file holds "maint:release"`,
		"meta:schema", "3", "maint:release", "{}")
	f("schema 2 with keys schema 3 introduces", `migrate schema 2 to 3: schema 2 has no incident: keys, but the file holds "incident:20261201:000001"`,
		"meta:schema", "2", "incident:20261201:000001", "{}")
	f("schema 1 with keys schema 3 introduces", `migrate schema 2 to 3: schema 2 has no snooze: keys, but the file holds "snooze:a%2Fb"`,
		"meta:schema", "1", "snooze:a%2Fb", "{}")
	f("schema 1 with keys schema 2 introduces", `migrate schema 1 to 2: schema 1 has no user: keys, but the file holds "user:alice"`,
		"meta:schema", "1", "user:alice", "{}")
	f("a schema that is not a number", `the schema version is "one"`, "meta:schema", "one")
	f("data without a schema", "not a Watchfloor store", "something:else", "x")
}

// A new file gets the schema version, which a later Open finds.
func TestSchemaWritten(t *testing.T) {
	s, path := open(t)
	closeStore(t, s)
	db, err := buntdb.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	var v string
	db.View(func(tx *buntdb.Tx) error { v, err = tx.Get("meta:schema"); return err })
	db.Close()
	if want := strconv.Itoa(store.SchemaVersion); err != nil || v != want {
		t.Errorf("meta:schema = %q, %v; want %s", v, err, want)
	}
	waitBuntStopped(t)
}

// Two writers would corrupt a store file: a second Open of a file that is
// open is refused, and the file opens again once the first has closed.
func TestOneOpenerAtATime(t *testing.T) {
	s, path := open(t)
	if _, err := store.Open(path); err == nil || !strings.Contains(err.Error(), "in use by another gateway") {
		t.Fatalf("second open of %s: %v, want refused as in use", path, err)
	}
	closeStore(t, s)
	again, err := store.Open(path)
	if err != nil {
		t.Fatalf("open after close: %v", err)
	}
	closeStore(t, again)
}
