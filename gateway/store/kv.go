package store

import (
	"errors"
	"fmt"
	"io"
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
	// save writes a consistent copy of every key to w, in buntdb's file
	// format, while writes wait.
	save(w io.Writer) error
	close() error
}

// txn is one transaction's view of the keys.
type txn interface {
	get(key string) (value string, ok bool, err error)
	set(key, value string) error
	// delete removes key; a key that is not there is no error.
	delete(key string) error
	// ascend calls fn for each key starting with prefix, in key order,
	// until fn returns false. fn must not call set or delete.
	ascend(prefix string, fn func(key, value string) bool) error
	// descend calls fn for each key starting with prefix and below
	// below ("" for no bound), in reverse key order, until fn returns
	// false. fn must not call set or delete.
	descend(prefix, below string, fn func(key, value string) bool) error
}

// bunt is a buntdb database.
type bunt struct {
	db *buntdb.DB
	// mu keeps close from running during a save, and closed a save from
	// running after it: buntdb's Save does not check that the database
	// is open, and would read the trees Close releases.
	mu     sync.RWMutex
	closed bool
}

func (b *bunt) view(fn func(tx txn) error) error {
	return closedErr(b.db.View(func(tx *buntdb.Tx) error { return fn(buntTx{tx}) }))
}

func (b *bunt) update(fn func(tx txn) error) error {
	return closedErr(b.db.Update(func(tx *buntdb.Tx) error { return fn(buntTx{tx}) }))
}

func (b *bunt) save(w io.Writer) error {
	b.mu.RLock()
	defer b.mu.RUnlock()
	if b.closed {
		return ErrClosed
	}
	return b.db.Save(w)
}

func (b *bunt) close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.closed = true
	return closedErr(b.db.Close())
}

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

func (t buntTx) delete(key string) error {
	_, err := t.tx.Delete(key)
	if errors.Is(err, buntdb.ErrNotFound) {
		return nil
	}
	return err
}

func (t buntTx) ascend(prefix string, fn func(key, value string) bool) error {
	return t.tx.AscendGreaterOrEqual("", prefix, func(k, v string) bool {
		return strings.HasPrefix(k, prefix) && fn(k, v)
	})
}

func (t buntTx) descend(prefix, below string, fn func(key, value string) bool) error {
	pivot := upperBound(prefix, below)
	iter := func(k, v string) bool {
		switch {
		case pivot != "" && k >= pivot:
			return true // the pivot itself, which is excluded
		case !strings.HasPrefix(k, prefix):
			return false // below the prefix's keys: done
		}
		return fn(k, v)
	}
	if pivot == "" {
		return t.tx.Descend("", iter)
	}
	return t.tx.DescendLessOrEqual("", pivot, iter)
}

// upperBound returns the key below which descend starts: below, or the
// first key after every key with prefix if that comes first.
func upperBound(prefix, below string) string {
	end := prefixEnd(prefix)
	if below == "" || (end != "" && below > end) {
		return end
	}
	return below
}

// prefixEnd returns the least string greater than every string with
// prefix: prefix with its last byte incremented ("audit:" → "audit;"), or
// "" if there is none (a prefix of 0xff bytes only).
func prefixEnd(prefix string) string {
	b := []byte(prefix)
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] < 0xff {
			b[i]++
			return string(b[:i+1])
		}
	}
	return ""
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
	tx := &memTx{m: m, writes: make(map[string]string), deletes: make(map[string]struct{})}
	if err := fn(tx); err != nil {
		return err
	}
	for k := range tx.deletes {
		delete(m.keys, k)
	}
	maps.Copy(m.keys, tx.writes)
	return nil
}

func (m *memory) save(io.Writer) error {
	return fmt.Errorf("a memory store keeps nothing to back up: %w", ErrInvalid)
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

// memTx is a transaction on memory: the keys it set and those it deleted
// (a key is in one or the other), both nil in a read-only one.
type memTx struct {
	m       *memory
	writes  map[string]string
	deletes map[string]struct{}
}

func (t *memTx) get(key string) (string, bool, error) {
	if v, ok := t.writes[key]; ok {
		return v, true, nil
	}
	if _, gone := t.deletes[key]; gone {
		return "", false, nil
	}
	v, ok := t.m.keys[key]
	return v, ok, nil
}

func (t *memTx) set(key, value string) error {
	if t.writes == nil {
		return errors.New("set in a read-only transaction")
	}
	delete(t.deletes, key)
	t.writes[key] = value
	return nil
}

func (t *memTx) delete(key string) error {
	if t.writes == nil {
		return errors.New("delete in a read-only transaction")
	}
	delete(t.writes, key)
	if _, ok := t.m.keys[key]; ok {
		t.deletes[key] = struct{}{}
	}
	return nil
}

// keys returns the keys the transaction sees that start with prefix, in
// order.
func (t *memTx) keys(prefix string) []string {
	var keys []string
	for k := range t.m.keys {
		if _, gone := t.deletes[k]; !gone && strings.HasPrefix(k, prefix) {
			keys = append(keys, k)
		}
	}
	for k := range t.writes {
		if _, old := t.m.keys[k]; !old && strings.HasPrefix(k, prefix) {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return keys
}

func (t *memTx) ascend(prefix string, fn func(key, value string) bool) error {
	for _, k := range t.keys(prefix) {
		v, _, _ := t.get(k)
		if !fn(k, v) {
			break
		}
	}
	return nil
}

func (t *memTx) descend(prefix, below string, fn func(key, value string) bool) error {
	pivot := upperBound(prefix, below)
	keys := t.keys(prefix)
	for i := len(keys) - 1; i >= 0; i-- {
		k := keys[i]
		if pivot != "" && k >= pivot {
			continue
		}
		v, _, _ := t.get(k)
		if !fn(k, v) {
			break
		}
	}
	return nil
}
