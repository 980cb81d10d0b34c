package store

import (
	"errors"
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/tidwall/buntdb"
)

// backend is an ordered key-value store with transactions: a buntdb file,
// or memory.
type backend interface {
	// view runs fn in a read-only transaction.
	view(fn func(tx txn) error) error
	// update runs fn in a read-write transaction, committed (and, for a
	// file, fsynced) if fn returns nil and discarded otherwise.
	update(fn func(tx txn) error) error
	close() error
}

// txn is one transaction's view of the keys.
type txn interface {
	get(key string) (value string, ok bool, err error)
	set(key, value string) error
	// ascend calls fn for each key starting with prefix, in key order,
	// until fn returns false. fn must not call set.
	ascend(prefix string, fn func(key, value string) bool) error
}

// bunt is a buntdb database.
type bunt struct{ db *buntdb.DB }

func (b bunt) view(fn func(tx txn) error) error {
	return closedErr(b.db.View(func(tx *buntdb.Tx) error { return fn(buntTx{tx}) }))
}

func (b bunt) update(fn func(tx txn) error) error {
	return closedErr(b.db.Update(func(tx *buntdb.Tx) error { return fn(buntTx{tx}) }))
}

func (b bunt) close() error { return closedErr(b.db.Close()) }

func closedErr(err error) error {
	if errors.Is(err, buntdb.ErrDatabaseClosed) {
		return ErrClosed
	}
	return err
}

type buntTx struct{ tx *buntdb.Tx }

func (t buntTx) get(key string) (string, bool, error) {
	v, err := t.tx.Get(key)
	if errors.Is(err, buntdb.ErrNotFound) {
		return "", false, nil
	}
	return v, err == nil, err
}

func (t buntTx) set(key, value string) error {
	_, _, err := t.tx.Set(key, value, nil)
	return err
}

func (t buntTx) ascend(prefix string, fn func(key, value string) bool) error {
	return t.tx.AscendGreaterOrEqual("", prefix, func(k, v string) bool {
		return strings.HasPrefix(k, prefix) && fn(k, v)
	})
}

// memory is a backend in a map: one writer at a time and no reader beside
// it; a transaction's writes are applied only when it succeeds.
type memory struct {
	mu     sync.RWMutex
	keys   map[string]string
	closed bool
}

func newMemory() *memory { return &memory{keys: make(map[string]string)} }

func (m *memory) view(fn func(tx txn) error) error {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.closed {
		return ErrClosed
	}
	return fn(&memTx{m: m})
}

func (m *memory) update(fn func(tx txn) error) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	tx := &memTx{m: m, writes: make(map[string]string)}
	if err := fn(tx); err != nil {
		return err
	}
	maps.Copy(m.keys, tx.writes)
	return nil
}

func (m *memory) close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	m.closed = true
	m.keys = nil
	return nil
}

// memTx is a transaction on memory; writes is nil in a read-only one.
type memTx struct {
	m      *memory
	writes map[string]string
}

func (t *memTx) get(key string) (string, bool, error) {
	if v, ok := t.writes[key]; ok {
		return v, true, nil
	}
	v, ok := t.m.keys[key]
	return v, ok, nil
}

func (t *memTx) set(key, value string) error {
	if t.writes == nil {
		return errors.New("set in a read-only transaction")
	}
	t.writes[key] = value
	return nil
}

func (t *memTx) ascend(prefix string, fn func(key, value string) bool) error {
	var keys []string
	for k := range t.m.keys {
		if strings.HasPrefix(k, prefix) {
			keys = append(keys, k)
		}
	}
	for k := range t.writes {
		if _, old := t.m.keys[k]; !old && strings.HasPrefix(k, prefix) {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		v, _, _ := t.get(k)
		if !fn(k, v) {
			break
		}
	}
	return nil
}
