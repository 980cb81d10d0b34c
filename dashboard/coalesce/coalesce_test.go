package coalesce

import (
	"fmt"
	"slices"
	"sync"
	"testing"
)

func entries[K comparable, V any](m *Map[K, V]) []string {
	var out []string
	for k, v := range m.All() {
		out = append(out, fmt.Sprint(k, "=", v))
	}
	return out
}

func TestMapKeepsLatestInFirstOrder(t *testing.T) {
	var m Map[string, int]
	for i, k := range []string{"a", "b", "a", "c", "b", "a"} {
		m.Put(k, i)
	}
	if got, want := entries(&m), []string{"a=5", "b=4", "c=3"}; !slices.Equal(got, want) {
		t.Fatalf("entries = %v, want %v", got, want)
	}
	if m.Merges() != 3 || m.Len() != 3 {
		t.Fatalf("merges = %d, len = %d; want 3 and 3", m.Merges(), m.Len())
	}
	sum := func(old *int, v int) { *old += v }
	if !m.Merge("c", 10, sum) || m.Merge("d", 1, sum) {
		t.Fatal("Merge reported the wrong presence")
	}
	if v, _ := m.Get("c"); v != 13 {
		t.Fatalf("merged c = %d, want 13", v)
	}
	m.DeleteFunc(func(k string, v int) bool { return k == "b" || v == 1 })
	if got, want := entries(&m), []string{"a=5", "c=13"}; !slices.Equal(got, want) {
		t.Fatalf("after DeleteFunc entries = %v, want %v", got, want)
	}
	m.Put("b", 7) // a deleted key comes back at the end
	if got, want := entries(&m), []string{"a=5", "c=13", "b=7"}; !slices.Equal(got, want) {
		t.Fatalf("entries = %v, want %v", got, want)
	}
	m.Reset()
	if m.Len() != 0 || len(entries(&m)) != 0 {
		t.Fatal("Reset left entries")
	}
	if _, ok := m.Get("a"); ok {
		t.Fatal("Reset left a key in the index")
	}
}

// A full queue still merges keys it holds and refuses only new ones, and
// counts what it refused.
func TestQueueLimit(t *testing.T) {
	q := NewQueue[int, string](2)
	if !q.Put(1, "a", nil) || !q.Put(2, "b", nil) {
		t.Fatal("refused below the limit")
	}
	if q.Put(3, "c", nil) {
		t.Fatal("accepted a third key over a limit of 2")
	}
	if !q.Put(1, "A", nil) {
		t.Fatal("refused a pending key")
	}
	if q.Refused() != 1 || q.Merges() != 1 {
		t.Fatalf("refused = %d, merges = %d; want 1 and 1", q.Refused(), q.Merges())
	}
	var got Map[int, string]
	q.Take(&got)
	if e := entries(&got); !slices.Equal(e, []string{"1=A", "2=b"}) {
		t.Fatalf("taken %v", e)
	}
	if q.Len() != 0 || !q.Put(3, "c", nil) {
		t.Fatal("the queue is not empty after Take")
	}
}

// Many producers and one consumer: every key's last value arrives, the
// consumer wakes for them, and nothing is lost between Takes.
func TestQueueConcurrentLatestWins(t *testing.T) {
	const producers, keys, rounds = 4, 50, 200
	q := NewQueue[string, int](0)
	var wg sync.WaitGroup
	for p := range producers {
		wg.Go(func() {
			for r := range rounds {
				for k := range keys {
					q.Put(fmt.Sprint(p, "/", k), r, nil)
				}
			}
		})
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	latest := map[string]int{}
	var buf Map[string, int]
	drain := func() {
		q.Take(&buf)
		for k, v := range buf.All() {
			if v < latest[k] {
				t.Errorf("key %s went back from %d to %d", k, latest[k], v)
			}
			latest[k] = v
		}
	}
	for running := true; running; {
		select {
		case <-q.Ready():
			drain()
		case <-done:
			running = false
		}
	}
	drain()
	if len(latest) != producers*keys {
		t.Fatalf("saw %d keys, want %d", len(latest), producers*keys)
	}
	for k, v := range latest {
		if v != rounds-1 {
			t.Errorf("key %s ended at %d, want %d", k, v, rounds-1)
		}
	}
}

// Alternating between two Maps, a steady consumer allocates nothing.
func TestQueueTakeReusesStorage(t *testing.T) {
	q := NewQueue[int, int](0)
	var a, b Map[int, int]
	fill := func() {
		for k := range 100 {
			q.Put(k, k, nil)
		}
	}
	for range 3 { // grow both maps
		fill()
		q.Take(&a)
		fill()
		q.Take(&b)
	}
	if n := testing.AllocsPerRun(100, func() { fill(); q.Take(&a); fill(); q.Take(&b) }); n > 0 {
		t.Fatalf("%v allocations per round", n)
	}
}

func BenchmarkMapPut(b *testing.B) {
	var m Map[int, int]
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		m.Put(i&1023, i)
		if i&1023 == 1023 {
			m.Reset()
		}
	}
}
