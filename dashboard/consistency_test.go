package dashboard

import (
	"encoding/json"
	"fmt"
	"maps"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// model is a Source that keeps the promise the gateway makes: each change
// is applied and published under mu, which Snapshot and Delta also take,
// so a snapshot never sees a change that is not yet published.
type model struct {
	mu         sync.Mutex
	exists     bool
	sampleTime int64
	stale      bool
	rows       map[string][]string // row → value per column
	heads      map[string]string
	tree       map[string]string
}

var modelColumns = []string{"c0", "c1", "c2"}

// Snapshot copies the state under the lock and encodes it after, as the
// gateway does, letting the publisher run meanwhile.
func (m *model) Snapshot(topic string) ([]byte, bool) {
	m.mu.Lock()
	if topic == treeTopic || strings.HasPrefix(topic, treeTopic+"?") {
		tree := maps.Clone(m.tree)
		m.mu.Unlock()
		runtime.Gosched()
		return encodeTree("snapshot", topic, tree, nil), true
	}
	if !m.exists {
		m.mu.Unlock()
		return nil, false
	}
	s := Snapshot{Topic: dvTopic, Dataview: "p/e/s/d", SampleTime: m.sampleTime, Stale: m.stale, Columns: modelColumns}
	for _, name := range slices.Sorted(maps.Keys(m.rows)) {
		r := Row{Name: name}
		for _, v := range m.rows[name] {
			r.Cells = append(r.Cells, Cell{V: v})
		}
		s.Rows = append(s.Rows, r)
	}
	for _, name := range slices.Sorted(maps.Keys(m.heads)) {
		s.Headlines = append(s.Headlines, Headline{Name: name, Cell: Cell{V: m.heads[name]}})
	}
	m.mu.Unlock()
	runtime.Gosched()
	return EncodeSnapshot(s), true
}

func (m *model) Delta(topic string, keys []string) []byte {
	m.mu.Lock()
	defer m.mu.Unlock()
	return encodeTree("delta", topic, m.tree, keys)
}

// view is what a browser knows of one topic, built from its frames only.
type view struct {
	waiting    bool     // subscribed, no snapshot yet: deltas are ignored
	last       []string // the last frames applied, to show when it is wrong
	gone       bool
	sampleTime int64
	stale      bool
	rows       map[string]map[string]string
	heads      map[string]string
	keys       map[string]string
}

// apply applies a frame of the view's topic, as a browser does.
func (v *view) apply(data []byte) error {
	last := append(v.last, string(data))
	if len(last) > 10 {
		last = last[1:]
	}
	defer func() { v.last = last }()
	var f struct {
		Type       string   `json:"type"`
		SampleTime int64    `json:"sampleTime"`
		Stale      *bool    `json:"stale"`
		Columns    []string `json:"columns"`
		Rows       []Row    `json:"rows"`
		Headlines  []struct {
			Name, V string
		} `json:"headlines"`
		Cells []struct {
			R, C, V string
		} `json:"cells"`
		Removed []string           `json:"removed"`
		Keys    map[string]*string `json:"keys"`
	}
	if err := json.Unmarshal(data, &f); err != nil {
		return fmt.Errorf("frame %q: %v", data, err)
	}
	switch f.Type {
	case "gone":
		*v = view{gone: true}
		return nil
	case "snapshot":
		*v = view{sampleTime: f.SampleTime, stale: f.Stale != nil && *f.Stale, rows: map[string]map[string]string{},
			heads: map[string]string{}, keys: map[string]string{}}
		for _, r := range f.Rows {
			v.rows[r.Name] = map[string]string{}
			for i, c := range r.Cells {
				v.rows[r.Name][f.Columns[i]] = c.V
			}
		}
	case "delta":
		if v.waiting || v.gone {
			return nil
		}
		if f.SampleTime != 0 {
			v.sampleTime = f.SampleTime
		}
		if f.Stale != nil {
			v.stale = *f.Stale
		}
		for _, r := range f.Removed {
			delete(v.rows, r)
		}
		for _, c := range f.Cells {
			if v.rows[c.R] == nil {
				v.rows[c.R] = map[string]string{}
			}
			v.rows[c.R][c.C] = c.V
		}
	default:
		return fmt.Errorf("unexpected frame %s", data)
	}
	for _, h := range f.Headlines {
		v.heads[h.Name] = h.V
	}
	for k, val := range f.Keys {
		if val == nil {
			delete(v.keys, k)
		} else {
			v.keys[k] = *val
		}
	}
	return nil
}

// read applies a frame to the view of its topic, if the browser holds it:
// late frames of a topic just left are dropped, as the web UI drops them.
func read(views map[string]*view, data []byte) error {
	var f struct{ Topic string }
	if err := json.Unmarshal(data, &f); err != nil {
		return fmt.Errorf("frame %q: %v", data, err)
	}
	if v := views[f.Topic]; v != nil {
		return v.apply(data)
	}
	return nil
}

// check compares what a browser knows of topic with the model's state.
func (m *model) check(topic string, v *view) error {
	switch {
	case v.waiting:
		return fmt.Errorf("%s: no snapshot arrived", topic)
	case topic == treeTopic:
		if !maps.Equal(v.keys, m.tree) {
			return fmt.Errorf("tree: browser has %v, source %v", v.keys, m.tree)
		}
		return nil
	case !m.exists || v.gone:
		if m.exists != !v.gone {
			return fmt.Errorf("dataview: browser thinks gone=%v, source exists=%v", v.gone, m.exists)
		}
		return nil
	}
	rows := map[string]map[string]string{}
	for name, vals := range m.rows {
		rows[name] = map[string]string{}
		for i, val := range vals {
			rows[name][modelColumns[i]] = val
		}
	}
	if !maps.EqualFunc(v.rows, rows, maps.Equal) || !maps.Equal(v.heads, m.heads) ||
		v.sampleTime != m.sampleTime || v.stale != m.stale {
		return fmt.Errorf("dataview: browser has rows %v heads %v sampled %d stale %v; source %v %v %d %v",
			v.rows, v.heads, v.sampleTime, v.stale, rows, m.heads, m.sampleTime, m.stale)
	}
	return nil
}

// A publisher that keeps the Source's promise races browsers that join,
// leave, fall behind and resynchronise, half of them paced and
// acknowledging now and then, Reauthorize moving them from one variant of
// the tree to another, and the hub's goroutine flushing under a fake
// clock. Every so often everyone stops, all goes quiet, and
// every browser's view of every topic it holds must equal the source's
// state.
func TestRandomizedConsistency(t *testing.T) {
	for seed := range uint64(4) {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) { consistencyRun(t, seed) })
	}
}

// browser is one simulated browser connection and what it knows.
type browser struct {
	c     *client
	views map[string]*view
	paced bool
}

// take reads a frame the browser's write loop took from the queue,
// numbering it as the write loop does.
func (b *browser) take(msg *message) error {
	b.c.sent.Add(1)
	return read(b.views, dataOf(msg))
}

// ackAll acknowledges every frame taken, reporting whether there were any
// to acknowledge.
func (b *browser) ackAll() (bool, error) {
	if !b.paced || b.c.acked.Load() == b.c.sent.Load() {
		return false, nil
	}
	return true, b.c.ack(b.c.sent.Load())
}

func consistencyRun(t *testing.T, seed uint64) {
	m := &model{exists: true, rows: map[string][]string{}, heads: map[string]string{}, tree: map[string]string{}}
	var clock atomic.Int64 // nanoseconds past t0
	t0 := time.Unix(1_800_000_000, 0)
	now := func() time.Time { return t0.Add(time.Duration(clock.Load())) }
	// Queues and MaxPending small enough that resyncs and overflows happen.
	h := newTestHub(m, Options{QueueLen: 16, MaxPending: 100, Coalesce: 30 * time.Millisecond})
	topics := []string{dvTopic, treeTopic}
	// The tree is watched through one of three variants, or itself, which
	// the publisher changes now and then.
	var variant atomic.Int64
	h.auth = &scopeAuth{decide: func(_, topic string) (string, error) {
		if v := variant.Load() % 4; topic == treeTopic && v > 0 {
			return fmt.Sprint(treeTopic, "?v=", v), nil
		}
		return topic, nil
	}}
	// connect adds a browser's client to the hub's, for Reauthorize to
	// see, paced with a small window if asked.
	connect := func(paced bool) *client {
		c := newTestClient(h)
		if paced {
			if err := c.pace(3); err != nil {
				t.Fatal(err)
			}
		}
		h.mu.Lock()
		h.clients[c] = struct{}{}
		h.mu.Unlock()
		return c
	}

	// The hub goroutine and the browsers each take pause's read lock for a
	// step; a checkpoint takes its write lock to have everything to itself.
	var pause sync.RWMutex
	stop := make(chan struct{})
	var running sync.WaitGroup

	// The hub goroutine: flush, let the fake clock run on, and wait for
	// work when nothing is held back.
	running.Go(func() {
		for {
			pause.RLock()
			next := h.flush(now())
			pause.RUnlock()
			if next == 0 {
				select {
				case <-h.wake:
				case <-stop:
					return
				}
			}
			clock.Add(int64(10 * time.Millisecond))
		}
	})

	// reconnect replaces a browser that was cut off.
	reconnect := func(b *browser) {
		h.removeClient(b.c)
		b.c, b.views = connect(b.paced), map[string]*view{}
	}

	// Browsers, each its own read and write loop, taking steps: subscribe,
	// unsubscribe, ask for a resync, stop reading for a while, or read a
	// frame if there is one.
	browsers := make([]*browser, 6)
	for i := range browsers {
		paced := i%2 == 1
		b := &browser{c: connect(paced), views: map[string]*view{}, paced: paced}
		browsers[i] = b
		rnd := rand.New(rand.NewPCG(seed, uint64(i)))
		step := func() error {
			pause.RLock()
			defer pause.RUnlock()
			switch n := rnd.IntN(1000); {
			case n < 10:
				topic := topics[rnd.IntN(len(topics))]
				if _, ok := b.views[topic]; !ok {
					b.views[topic] = &view{waiting: true}
					b.c.subscribe(topic)
				}
			case n < 15:
				topic := topics[rnd.IntN(len(topics))]
				delete(b.views, topic)
				h.unsubscribe(b.c, topic)
			case n < 16:
				b.c.requestResync()
			case n < 40:
				_, err := b.ackAll()
				return err
			case n < 100:
				for range rnd.IntN(50) {
					runtime.Gosched() // a browser that stops reading for a while
				}
			default:
				select {
				case <-b.c.resync:
					if !b.c.doResync(now()) {
						reconnect(b)
					}
				case msg := <-b.c.send:
					return b.take(msg)
				default:
					runtime.Gosched()
				}
			}
			return nil
		}
		running.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				if err := step(); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}

	// checkpoint stops everyone, flushes past every coalescing window and
	// reads every frame until nothing is left to do, then compares.
	checked := 0
	checkpoint := func() {
		pause.Lock()
		defer pause.Unlock()
		for idle := 0; idle < 3; {
			idle++
			for _, b := range browsers {
				select {
				case <-b.c.resync:
					idle = 0
					if !b.c.doResync(now()) {
						reconnect(b)
					}
				default:
				}
				for _, msg := range queued(b.c) {
					idle = 0
					if err := b.take(msg); err != nil {
						t.Fatal(err)
					}
				}
				if acked, err := b.ackAll(); err != nil {
					t.Fatal(err)
				} else if acked {
					idle = 0
				}
			}
			clock.Add(int64(time.Second))
			h.flush(now())
		}
		for i, b := range browsers {
			for topic, v := range b.views {
				if err := m.check(topic, v); err != nil {
					t.Errorf("browser %d: %v", i, err)
					for _, f := range v.last {
						t.Log("frame:", f)
					}
				}
				checked++
			}
		}
		if t.Failed() {
			t.FailNow()
		}
	}
	defer func() {
		close(stop)
		running.Wait()
	}()

	// The publisher: apply a change to the model and publish it under the
	// model's lock, as the gateway's probe actor does. Most changes add a
	// key or a row never seen before, so a change a browser misses stays
	// missed unless a snapshot mends it.
	rnd := rand.New(rand.NewPCG(seed, 1000))
	var keys, rows []string // what exists, to pick from
	pick := func(from *[]string, remove bool) (string, bool) {
		if len(*from) == 0 {
			return "", false
		}
		i := rnd.IntN(len(*from))
		k := (*from)[i]
		if remove {
			(*from)[i] = (*from)[len(*from)-1]
			*from = (*from)[:len(*from)-1]
		}
		return k, true
	}
	moves := 0
	for i := range 5000 {
		m.mu.Lock()
		val := fmt.Sprint(i)
		reauthorize := false
		switch n := rnd.IntN(1000); {
		case n < 200:
			k := fmt.Sprint("k", i)
			keys = append(keys, k)
			m.tree[k] = val
			h.Touch(treeTopic, k)
		case n < 260:
			if k, ok := pick(&keys, false); ok {
				m.tree[k] = val
				h.Touch(treeTopic, k)
			}
		case n < 300:
			if k, ok := pick(&keys, true); ok {
				delete(m.tree, k)
				h.Touch(treeTopic, k)
			}
		case n < 303: // more keys than MaxPending
			var ks []string
			for j := range h.opts.MaxPending + 1 {
				k := fmt.Sprint("k", i, ".", j)
				keys = append(keys, k)
				m.tree[k] = val
				ks = append(ks, k)
			}
			h.Touch(treeTopic, ks...)
		case n < 305:
			h.Reset(treeTopic)
		case n < 308:
			reauthorize = true
		case !m.exists:
			if n < 350 {
				m.exists, m.rows, m.heads, rows = true, map[string][]string{}, map[string]string{}, nil
				h.Reset(dvTopic)
			}
		case n < 310:
			m.exists = false
			h.Reset(dvTopic)
		case n < 312:
			h.Reset(dvTopic)
		default:
			m.sampleTime++
			u := Update{SampleTime: m.sampleTime}
			for j := range 1 + rnd.IntN(3) {
				switch k := rnd.IntN(10); {
				case k < 3:
					if row, ok := pick(&rows, true); ok {
						delete(m.rows, row)
						// Removals apply before changes: a row added
						// earlier in this update must not be in both.
						u.Changes = slices.DeleteFunc(u.Changes, func(c Change) bool { return !c.Headline && c.Row == row })
						u.RemovedRows = append(u.RemovedRows, row)
					}
				case k < 6:
					row := fmt.Sprint("r", i, ".", j)
					rows = append(rows, row)
					m.rows[row] = []string{val, val, val}
					for _, col := range modelColumns {
						u.Changes = append(u.Changes, Change{Row: row, Column: col, Cell: Cell{V: val}})
					}
				case k < 7:
					name := fmt.Sprint("h", rnd.IntN(3))
					m.heads[name] = val
					u.Changes = append(u.Changes, Change{Headline: true, Column: name, Cell: Cell{V: val}})
				case k < 8:
					m.stale = !m.stale
					s := m.stale
					u.Stale = &s
				default:
					if row, ok := pick(&rows, false); ok {
						col := rnd.IntN(len(modelColumns))
						m.rows[row][col] = val
						u.Changes = append(u.Changes, Change{Row: row, Column: modelColumns[col], Cell: Cell{V: val}})
					}
				}
			}
			h.Publish(dvTopic, u)
		}
		m.mu.Unlock()
		if reauthorize {
			variant.Add(1)
			h.Reauthorize()
			moves++
		}
		if i%250 == 249 {
			checkpoint()
		} else if i%16 == 0 {
			runtime.Gosched() // let the browsers and the hub interleave
		}
	}

	if checked == 0 {
		t.Fatal("no browser held a topic at any checkpoint")
	}
	if moves == 0 {
		t.Error("the tree's variant never changed: the run did not exercise moves")
	}
	for name, c := range map[string]uint64{"resyncs": h.resyncs.Get(), "pending overflows": h.overflows.Get(),
		"snapshots sent": h.snapshotsSent.Get(), "frames coalesced": h.framesCoalesced.Get(),
		"frames held for pacing": h.held.Get(), "paced catch-ups": h.catchUps.Get()} {
		if c == 0 {
			t.Errorf("no %s: the run did not exercise them", name)
		}
	}
	t.Logf("%d topic views checked, %d variant changes; resyncs %d, dropped %d, overflows %d, snapshots %d, frames %d, coalesced %d, held %d, caught up %d, cut off %d",
		checked, moves, h.resyncs.Get(), h.dropped.Get(), h.overflows.Get(), h.snapshotsSent.Get(), h.framesSent.Get(),
		h.framesCoalesced.Get(), h.held.Get(), h.catchUps.Get(), h.slowDisconnects.Get())
}
