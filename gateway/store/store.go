// Package store keeps what the gateway must not lose at a restart, in one
// buntdb file: the rules authored through the API, each with every version
// it has had; the users managed at run time, their sessions and the kiosk
// links; the incidents with their timelines, and the snoozes of cells; the
// maintenance windows planned through the API; and the audit log.
//
// Every committed write is fsynced before the call returns (buntdb's
// SyncPolicy Always), so what the API confirms survives a crash of the
// process or the machine. A failed write to the file fails the
// transaction, which buntdb rolls back; a failed fsync it does not report
// (buntdb v1.3.0 ignores fsync's error). The file carries a schema version (key
// meta:schema): a new file gets the current one, an older one is migrated
// when opened, and a newer one is refused rather than misread.
//
// # Keys
//
//	meta:schema               the schema version, "4"
//	rule:<name>:head          {"version": N, "deleted": bool}: the rule's current version
//	rule:<name>:v:<00000001>  one version of the rule (RuleVersion as JSON)
//	user:<name>               a user managed at run time (User as JSON)
//	session:<sha256 hex>      a person's session, by the SHA-256 of its secret (Session)
//	kiosk:<id>                a kiosk link (Kiosk); its secret only as a SHA-256
//	audit:<ns>:<seq>          one audit entry (Audit): ns the entry's time in Unix
//	                          nanoseconds, 20 digits; seq 8 digits, apart entries
//	                          of the same nanosecond
//	incident:<day>:<n>        an incident (incident.Incident), day and n from its ID:
//	                          INC-20261201-0042 is incident:20261201:000042
//	incev:<day>:<n>:<seq>     one event on its timeline (incident.Event), seq 8 digits
//	incidx:state:<state>:<day>:<n>
//	                          "": the incident is in that state (open, resolved, closed)
//	incidx:client:<client>:<day>:<n>
//	                          "": the incident concerns that client, query-escaped
//	                          (url.QueryEscape) so that no ':' is inside
//	snooze:<path>             a cell's snooze (incident.Snooze), the path query-escaped;
//	                          an incident's own snooze is in the incident
//	note:<ns>:<seq>           a note one shift leaves the next (Note), keyed by time
//	                          like audit entries
//	maint:<id>                a maintenance window planned through the API
//	                          (maintenance.Window); its id holds no ':'
//
// A rule's name is a rules.Def name (letters, digits, '.', '_', '-'), so a
// ':' never appears inside one. Audit keys sort by time, so the log is read
// newest first by walking its keys backwards, and retention deletes from
// the front. An incident's number is zero-padded to 6 digits in its keys
// (so a day has at most 999,999), and they sort by day and number: the
// newest first walking backwards, and a day's highest number is its last.
// The incidx: keys index incidents for the list queries; the transactions
// that write an incident write and delete them, so they never disagree
// with it. No secret is stored: sessions and kiosk links are found by the
// hash of the secret their holder presents, and passwords are kept as
// their argon2id or bcrypt hashes.
//
// Schema 1 had rules only; schema 2 adds users, sessions, kiosks and the
// audit log under new prefixes, schema 3 incidents, their events and
// indexes, cells' snoozes and handover notes, and schema 4 maintenance
// windows, so no migration changes a key.
//
// # Audit entries ride with the change
//
// Every method that changes users, sessions, kiosks, rules, incidents,
// snoozes or maintenance windows takes the audit entries describing the change and writes them
// in the same transaction: the change and its record are committed
// together or not at all. Record writes an entry on its own, for what
// changes nothing here (a failed login, a config reload, a backup).
//
// A Store is safe for concurrent use. Each write is one transaction: it
// happens whole or not at all.
package store

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"

	"github.com/tidwall/buntdb"
)

// SchemaVersion is the version of the key layout this build writes.
const SchemaVersion = 4

const keySchema = "meta:schema"

// migrations[i] migrates a store from schema i+1 to i+2, inside the
// transaction that opens it.
var migrations = []func(tx txn) error{
	// 1 → 2: users, sessions, kiosks and the audit log come under new
	// prefixes; no key of schema 1 changes. A schema 1 file holds none
	// under them, and one that does was not written by Watchfloor.
	func(tx txn) error { return noKeys(tx, 1, userPrefix, sessionPrefix, kioskPrefix, auditPrefix) },
	// 2 → 3: incidents, their events and indexes, and cells' snoozes come
	// under new prefixes, in the same way.
	func(tx txn) error {
		return noKeys(tx, 2, incidentPrefix, eventPrefix, indexPrefix, snoozePrefix, notePrefix)
	},
	// 3 → 4: maintenance windows planned through the API come under a
	// new prefix, in the same way.
	func(tx txn) error { return noKeys(tx, 3, maintenancePrefix) },
}

// noKeys checks that a store of schema v holds no key under the prefixes
// a later schema introduces.
func noKeys(tx txn, v int, prefixes ...string) error {
	for _, p := range prefixes {
		var found string
		if err := tx.ascend(p, func(k, _ string) bool { found = k; return false }); err != nil {
			return err
		}
		if found != "" {
			return fmt.Errorf("schema %d has no %s keys, but the file holds %q", v, p, found)
		}
	}
	return nil
}

// Errors a Store's methods return, tested with errors.Is; the errors
// returned wrap them with the rule and version at fault.
var (
	// ErrNotFound: no such rule, version, user, session, kiosk or
	// incident.
	ErrNotFound = errors.New("not found")
	// ErrExists: a rule or user by that name exists already.
	ErrExists = errors.New("exists")
	// ErrConflict: the rule is not at the version the caller expected;
	// someone else changed it first. Or an event takes a place on an
	// incident's timeline that another event has.
	ErrConflict = errors.New("version conflict")
	// ErrClosed: the store was closed.
	ErrClosed = errors.New("store closed")
	// ErrInvalid: the argument cannot be stored or used as given, such as
	// an audit cursor that no query returned, or an incident ID of the
	// wrong form.
	ErrInvalid = errors.New("invalid")
)

// Store is the gateway's durable state. Make one with Open or OpenMemory.
type Store struct {
	kv   backend
	path string   // "" for a memory store
	lock *os.File // held locked while the store is open; nil for a memory store
	seq  atomic.Uint32
}

// Open opens the store in the file at path, creating it if it does not
// exist. A file written by a newer Watchfloor (a higher schema version)
// is refused; an older one is migrated. One gateway at a time may have
// it open: a second is refused, as two writers would corrupt it.
func Open(path string) (*Store, error) {
	lock, err := lockFile(path + ".lock")
	if errors.Is(err, errLocked) {
		return nil, fmt.Errorf("open store %s: in use by another gateway (%w)", path, err)
	}
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	db, err := buntdb.Open(path)
	if err != nil {
		lock.Close()
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	var cfg buntdb.Config
	if err = db.ReadConfig(&cfg); err == nil {
		cfg.SyncPolicy = buntdb.Always
		err = db.SetConfig(cfg)
	}
	if err != nil {
		db.Close()
		lock.Close()
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	s := &Store{kv: &bunt{db: db}, path: path, lock: lock}
	if err := s.kv.update(migrate); err != nil {
		db.Close()
		lock.Close()
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	return s, nil
}

// errLocked: another process holds the lock file.
var errLocked = errors.New("its lock file is held")

// lockFile takes an exclusive lock on the file at path, creating it; the
// lock goes when the file is closed, or the process ends. A lock held
// already is errLocked.
func lockFile(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, errLocked
		}
		return nil, err
	}
	return f, nil
}

// OpenMemory returns a store that keeps everything in memory, for demo
// mode and tests: nothing in it survives the process. It behaves as a
// store file does, transactions included, but starts no goroutine (buntdb
// starts one per database, which outlives Close by up to a second).
func OpenMemory() *Store {
	s := &Store{kv: newMemory()}
	if err := s.kv.update(migrate); err != nil {
		panic("store: initialise a memory store: " + err.Error()) // it cannot fail
	}
	return s
}

// Path is the store's file, "" for a memory store.
func (s *Store) Path() string { return s.path }

// Close closes the store. Calls after Close fail with ErrClosed.
func (s *Store) Close() error {
	err := s.kv.close()
	if s.lock != nil && !errors.Is(err, ErrClosed) {
		s.lock.Close() // whatever the close said: the file is not ours any more
	}
	if err != nil {
		return fmt.Errorf("close store %s: %w", s.path, err)
	}
	return nil
}

// migrate brings the schema to SchemaVersion, or refuses a store it does
// not know.
func migrate(tx txn) error {
	v, err := schema(tx)
	switch {
	case err != nil:
		return err
	case v == 0:
		return tx.set(keySchema, strconv.Itoa(SchemaVersion))
	case v == SchemaVersion:
		return nil
	}
	for ; v < SchemaVersion; v++ {
		if err := migrations[v-1](tx); err != nil {
			return fmt.Errorf("migrate schema %d to %d: %w", v, v+1, err)
		}
	}
	return tx.set(keySchema, strconv.Itoa(SchemaVersion))
}

// schema returns the store's schema version, 0 for a store with no key
// at all, or why it is not a store this build can use: a newer schema,
// or no Watchfloor store.
func schema(tx txn) (int, error) {
	text, ok, err := tx.get(keySchema)
	if err != nil {
		return 0, err
	}
	if !ok {
		empty := true
		if err := tx.ascend("", func(string, string) bool { empty = false; return false }); err != nil {
			return 0, err
		}
		if !empty {
			return 0, errors.New("the file holds data but no schema version: it is not a Watchfloor store")
		}
		return 0, nil
	}
	v, err := strconv.Atoi(strings.TrimSpace(text))
	switch {
	case err != nil || v < 1:
		return 0, fmt.Errorf("the schema version is %q, not a version this or any Watchfloor writes", text)
	case v > SchemaVersion:
		return 0, fmt.Errorf("written by a newer Watchfloor (schema %d); this one knows up to %d", v, SchemaVersion)
	}
	return v, nil
}
