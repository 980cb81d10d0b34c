package store_test

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/tidwall/buntdb"

	"github.com/watchfloor/watchfloor/gateway/incident"
	"github.com/watchfloor/watchfloor/gateway/store"
)

// numbered is the write of incident n of day0, with its two events.
func numbered(n int) store.IncidentWrite {
	inc, evs := newIncident(n, day0, "t")
	evs = append(evs, event(&inc, day0, incident.EvComment, "c")...)
	return store.IncidentWrite{Incident: inc, Events: evs}
}

// checkNumbered checks that s holds incidents 1 to at least least of day0,
// none missing and each whole, and returns how many it holds.
func checkNumbered(t *testing.T, s *store.Store, least int) int {
	t.Helper()
	last, err := s.LastIncidentNumber("20261201")
	if err != nil {
		t.Fatal(err)
	}
	if last < least {
		t.Errorf("the store holds incidents up to %d, want at least %d", last, least)
	}
	for n := 1; n <= last; n++ {
		w := numbered(n)
		inc, err := s.Incident(w.Incident.ID)
		if err != nil {
			t.Errorf("incident %d: %v", n, err)
			continue
		}
		if _, tl, err := s.Timeline(inc.ID); err != nil || len(tl) != inc.Events || len(tl) != 2 {
			t.Errorf("incident %d has %d events, and a timeline of %d: %v", n, inc.Events, len(tl), err)
		}
	}
	return last
}

// A backup taken while writes go on holds every write that returned
// before it began, whole, and is a store that opens.
func TestBackupWhileWriting(t *testing.T) {
	s, _ := open(t)
	var confirmed atomic.Int64
	progress := make(chan struct{}, 1)
	stop := make(chan struct{})
	errc := make(chan error, 1)
	go func() {
		for n := 1; ; n++ {
			select {
			case <-stop:
				errc <- nil
				return
			default:
			}
			if err := s.PutIncidents([]store.IncidentWrite{numbered(n)}, incAudit(store.AuditIncidentRaise, numbered(n).Incident.ID, day0)); err != nil {
				errc <- err
				return
			}
			confirmed.Store(int64(n))
			select {
			case progress <- struct{}{}:
			default:
			}
		}
	}()
	waitFor := func(n int64) {
		t.Helper()
		for confirmed.Load() < n {
			select {
			case <-progress:
			case err := <-errc:
				t.Fatalf("the writer stopped: %v", err)
			}
		}
	}
	var backups [][]byte
	var before []int
	for i := range 3 {
		waitFor(int64(50 * (i + 1)))
		before = append(before, int(confirmed.Load()))
		var buf bytes.Buffer
		if err := s.Backup(&buf); err != nil {
			t.Fatal(err)
		}
		backups = append(backups, buf.Bytes())
	}
	close(stop)
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	closeStore(t, s)
	for i, b := range backups {
		path := filepath.Join(t.TempDir(), "restored.db")
		if err := store.Restore(path, bytes.NewReader(b)); err != nil {
			t.Fatal(err)
		}
		c, err := store.Open(path)
		if err != nil {
			t.Fatalf("backup %d does not open: %v", i, err)
		}
		held := checkNumbered(t, c, before[i])
		entries, _, err := c.Query(store.AuditQuery{Limit: store.MaxAuditLimit})
		if err != nil || len(entries) != held {
			t.Errorf("backup %d holds %d incidents and %d audit entries, %v: want one each", i, held, len(entries), err)
		}
		closeStore(t, c)
	}
}

func TestBackupRefused(t *testing.T) {
	m := store.OpenMemory()
	defer m.Close()
	if err := m.Backup(&bytes.Buffer{}); !errors.Is(err, store.ErrInvalid) || !strings.Contains(err.Error(), "a memory store keeps nothing to back up") {
		t.Errorf("Backup of a memory store: %v, want ErrInvalid", err)
	}
	s, _ := open(t)
	closeStore(t, s)
	if err := s.Backup(&bytes.Buffer{}); !errors.Is(err, store.ErrClosed) {
		t.Errorf("Backup of a closed store: %v, want ErrClosed", err)
	}
}

// rawFile is what a buntdb file holding the keys reads as.
func rawFile(t *testing.T, kv ...string) []byte {
	t.Helper()
	path := filepath.Join(t.TempDir(), "raw.db")
	writeRaw(t, path, kv...)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// dirNames lists the files in dir.
func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func TestRestore(t *testing.T) {
	src, _ := open(t)
	put(t, src, numbered(1).Incident, numbered(1).Events)
	var backup bytes.Buffer
	if err := src.Backup(&backup); err != nil {
		t.Fatal(err)
	}
	closeStore(t, src)

	dst, path := open(t)
	replaced, revs := newIncident(7, day0, "replaced")
	put(t, dst, replaced, revs)
	err := store.Restore(path, bytes.NewReader(backup.Bytes()))
	if err == nil || !strings.Contains(err.Error(), "in use by a running gateway") {
		t.Errorf("Restore into a store in use: %v, want refused", err)
	}
	if _, err := dst.Incident(replaced.ID); err != nil {
		t.Errorf("after a refused restore, the store in use lost its incident: %v", err)
	}
	closeStore(t, dst)
	old, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := store.Restore(path, bytes.NewReader(backup.Bytes())); err != nil {
		t.Fatal(err)
	}
	if kept, err := os.ReadFile(path + ".before-restore"); err != nil || !bytes.Equal(kept, old) {
		t.Errorf("the store before the restore was not kept: %v", err)
	}
	s, err := store.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	checkNumbered(t, s, 1)
	if _, err := s.Incident(replaced.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the restored store has the incident of the one it replaced: %v", err)
	}
	closeStore(t, s)

	// Restored again, the kept file is the one the last restore made.
	restored, _ := os.ReadFile(path)
	if err := store.Restore(path, bytes.NewReader(backup.Bytes())); err != nil {
		t.Fatal(err)
	}
	if kept, _ := os.ReadFile(path + ".before-restore"); !bytes.Equal(kept, restored) {
		t.Error("a second restore did not keep the file the first made")
	}
	want := []string{"watchfloor.db", "watchfloor.db.before-restore", "watchfloor.db.lock"}
	if names := dirNames(t, filepath.Dir(path)); !slices.Equal(names, want) {
		t.Errorf("after restoring, the directory holds %q, want %q", names, want)
	}

	// Into a directory with no store, and from an older schema.
	fresh := filepath.Join(t.TempDir(), "watchfloor.db")
	v2 := rawFile(t, "meta:schema", "2", "user:alice", `{"name":"alice","roles":["viewer"]}`)
	if err := store.Restore(fresh, bytes.NewReader(v2)); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(fresh + ".before-restore"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("restoring where no store was kept something: %v", err)
	}
	s, err = store.Open(fresh)
	if err != nil {
		t.Fatalf("a restored schema 2 store does not open: %v", err)
	}
	if u, err := s.User("alice"); err != nil || u.Roles[0] != "viewer" {
		t.Errorf("the restored schema 2 store's user: %+v, %v", u, err)
	}
	closeStore(t, s)
	waitBuntStopped(t)
}

// A backup that is not a store this build can open is refused, and the
// store it would have replaced stays as it was.
func TestRestoreRefuses(t *testing.T) {
	s, path := open(t)
	put(t, s, numbered(1).Incident, numbered(1).Events)
	var backup bytes.Buffer
	if err := s.Backup(&backup); err != nil {
		t.Fatal(err)
	}
	closeStore(t, s)
	old, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	noise := make([]byte, 4096)
	rng := rand.NewChaCha8([32]byte{1})
	rng.Read(noise)
	f := func(name string, backup []byte, wantErr string) {
		t.Helper()
		err := store.Restore(path, bytes.NewReader(backup))
		if err == nil || !strings.Contains(err.Error(), wantErr) {
			t.Errorf("%s: %v, want an error with %q", name, err, wantErr)
		}
		if now, _ := os.ReadFile(path); !bytes.Equal(now, old) {
			t.Errorf("%s: the store changed", name)
		}
		if names := dirNames(t, filepath.Dir(path)); !slices.Equal(names, []string{"watchfloor.db", "watchfloor.db.lock"}) {
			t.Errorf("%s: the directory holds %q", name, names)
		}
	}
	f("a newer schema", rawFile(t, "meta:schema", "5"),
		"written by a newer Watchfloor (schema 5); this one knows up to 4")
	f("text", []byte("hello, world\nhello\n"), "the backup is not a Watchfloor store: "+buntdb.ErrInvalid.Error())
	f("noise", noise, "not a Watchfloor store")
	f("nothing", nil, "the backup is empty: it is not a Watchfloor store")
	f("another program's file", rawFile(t, "config:x", "1"), "the file holds data but no schema version: it is not a Watchfloor store")
	f("a schema that is not a number", rawFile(t, "meta:schema", "x"), `the schema version is "x"`)
	f("a backup cut short", backup.Bytes()[:backup.Len()-3], "the backup ends inside a record: it is cut short")
	waitBuntStopped(t)
}
