// Package coalesce holds the buffer that everything off the hot path
// uses between a producer that must never wait and a consumer that works
// in batches: the dashboard hub's pending changes per topic, and the
// gateway's queues to incidents, storage and history. Between two drains a
// key's later values merge into its entry, so a buffer never grows past
// the number of distinct keys and never loses a key's latest state; what
// it saves is counted as merges.
//
// It lives under dashboard because the hub's pending changes were its
// first user; it imports nothing of Watchfloor's, so any package may use
// it.
package coalesce

import (
	"iter"
	"sync"
)

// Map keeps one value per key, in the order the keys first arrived. The
// zero Map is empty and ready to use. A Map is not safe for concurrent
// use; Queue is a Map behind a lock.
type Map[K comparable, V any] struct {
	index  map[K]int
	keys   []K
	vals   []V
	merges uint64
}

// Put sets k's value to v, and reports whether k was already there (v then
// merged into its entry, keeping its place).
func (m *Map[K, V]) Put(k K, v V) bool {
	return m.Merge(k, v, nil)
}

// Merge sets k's value, merging v into the value already there with merge
// (nil means v replaces it), and reports whether k was already there.
func (m *Map[K, V]) Merge(k K, v V, merge func(old *V, v V)) bool {
	if i, ok := m.index[k]; ok {
		if merge != nil {
			merge(&m.vals[i], v)
		} else {
			m.vals[i] = v
		}
		m.merges++
		return true
	}
	if m.index == nil {
		m.index = make(map[K]int)
	}
	m.index[k] = len(m.keys)
	m.keys = append(m.keys, k)
	m.vals = append(m.vals, v)
	return false
}

// Get returns k's value.
func (m *Map[K, V]) Get(k K) (V, bool) {
	if i, ok := m.index[k]; ok {
		return m.vals[i], true
	}
	var zero V
	return zero, false
}

// Len returns the number of keys.
func (m *Map[K, V]) Len() int { return len(m.keys) }

// Merges returns how many Puts and Merges found their key already there,
// since the Map was made.
func (m *Map[K, V]) Merges() uint64 { return m.merges }

// All yields the keys and their values in the order the keys arrived.
func (m *Map[K, V]) All() iter.Seq2[K, V] {
	return func(yield func(K, V) bool) {
		for i, k := range m.keys {
			if !yield(k, m.vals[i]) {
				return
			}
		}
	}
}

// DeleteFunc removes the entries for which del returns true, keeping the
// others in order.
func (m *Map[K, V]) DeleteFunc(del func(K, V) bool) {
	n := 0
	for i, k := range m.keys {
		if del(k, m.vals[i]) {
			delete(m.index, k)
			continue
		}
		m.keys[n], m.vals[n] = k, m.vals[i]
		m.index[k] = n
		n++
	}
	clear(m.keys[n:])
	clear(m.vals[n:])
	m.keys, m.vals = m.keys[:n], m.vals[:n]
}

// Reset empties m, keeping its storage for reuse. Merges is not reset.
func (m *Map[K, V]) Reset() {
	clear(m.index)
	clear(m.keys)
	clear(m.vals)
	m.keys, m.vals = m.keys[:0], m.vals[:0]
}

// Queue is a Map shared by producers and one consumer. Producers Put
// without ever waiting on the consumer; the consumer waits on Ready and
// Takes everything pending at once. A Queue holds at most its limit of
// distinct keys: a key already pending always merges, but a new key over
// the limit is refused, and the producer decides what that means (resend
// everything, count it). A Queue is safe for concurrent use.
type Queue[K comparable, V any] struct {
	limit int
	ready chan struct{}

	mu      sync.Mutex
	pending Map[K, V]
	refused uint64
}

// NewQueue returns a queue of at most limit distinct keys (no limit if
// limit is 0 or less).
func NewQueue[K comparable, V any](limit int) *Queue[K, V] {
	return &Queue[K, V]{limit: limit, ready: make(chan struct{}, 1)}
}

// Put queues v for k, merging into k's pending value as Map.Merge does,
// and reports false, queueing nothing, when k is new and the queue is full.
func (q *Queue[K, V]) Put(k K, v V, merge func(old *V, v V)) bool {
	q.mu.Lock()
	if q.limit > 0 && q.pending.Len() >= q.limit {
		if _, ok := q.pending.index[k]; !ok {
			q.refused++
			q.mu.Unlock()
			return false
		}
	}
	q.pending.Merge(k, v, merge)
	q.mu.Unlock()
	select {
	case q.ready <- struct{}{}:
	default:
	}
	return true
}

// Ready is signalled after a Put; one signal may stand for many Puts.
func (q *Queue[K, V]) Ready() <-chan struct{} { return q.ready }

// Take moves everything pending into dst, which it empties first, and
// leaves the queue empty with dst's old storage, so that a consumer
// alternating between two Maps allocates nothing once they have grown.
func (q *Queue[K, V]) Take(dst *Map[K, V]) {
	dst.Reset()
	q.mu.Lock()
	merges := q.pending.merges
	q.pending, *dst = *dst, q.pending
	q.pending.merges = merges
	q.mu.Unlock()
}

// Len returns the number of keys pending.
func (q *Queue[K, V]) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.pending.Len()
}

// Merges returns how many Puts merged into a pending key since the queue
// was made; Refused how many it refused because it was full.
func (q *Queue[K, V]) Merges() uint64 {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.pending.merges
}

// Refused returns how many Puts were refused because the queue was full.
func (q *Queue[K, V]) Refused() uint64 {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.refused
}
