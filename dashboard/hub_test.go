package dashboard

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/coder/websocket"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// wait bounds how long a test waits for an event before it reports it
// missing; nothing is paced by it.
const wait = 20 * time.Second

const (
	treeTopic = "tree"
	dvTopic   = "dataview/p/e/s/d"
)

// memSource is an in-memory Source: dataviews with one cell each, and a
// "tree" state topic of keys and values, whose variants ("tree?…") show
// the same keys, each frame saying in "view" which topic it was made for;
// a variant ending in "nobody" has nothing under it. It counts its calls.
type memSource struct {
	mu          sync.Mutex
	dvs         map[string]Snapshot // by topic
	tree        map[string]string
	snaps       map[string]int // Snapshot calls by topic
	deltas      [][]string     // the keys of each Delta call
	deltaTopics []string       // the topic of each Delta call
}

func newMemSource() *memSource {
	return &memSource{dvs: map[string]Snapshot{}, tree: map[string]string{}, snaps: map[string]int{}}
}

func (s *memSource) Snapshot(topic string) ([]byte, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.snaps[topic]++
	if topic == treeTopic || strings.HasPrefix(topic, treeTopic+"?") {
		if strings.HasSuffix(topic, "nobody") {
			return nil, false
		}
		return encodeTree("snapshot", topic, s.tree, nil), true
	}
	snap, ok := s.dvs[topic]
	if !ok {
		return nil, false
	}
	return EncodeSnapshot(snap), true
}

func (s *memSource) Delta(topic string, keys []string) []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.deltas = append(s.deltas, slices.Clone(keys))
	s.deltaTopics = append(s.deltaTopics, topic)
	return encodeTree("delta", topic, s.tree, keys)
}

// encodeTree renders the frames of the tree topic and its variants: every
// key of state in a snapshot, the given keys in a delta (null for one that
// went). The frame's topic is "tree" whatever the view it was made for.
func encodeTree(typ, view string, state map[string]string, keys []string) []byte {
	out := map[string]*string{}
	if typ == "snapshot" {
		for k, v := range state {
			out[k] = &v
		}
	}
	for _, k := range keys {
		if v, ok := state[k]; ok {
			out[k] = &v
		} else {
			out[k] = nil
		}
	}
	b, err := json.Marshal(struct {
		Type  string             `json:"type"`
		Topic string             `json:"topic"`
		View  string             `json:"view"`
		Keys  map[string]*string `json:"keys"`
	}{typ, treeTopic, view, out})
	if err != nil {
		panic(err)
	}
	return b
}

func (s *memSource) set(topic, v string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	dv := strings.TrimPrefix(topic, DataviewPrefix)
	s.dvs[topic] = Snapshot{Topic: topic, Dataview: dv, Columns: []string{"c"}, Rows: []Row{{Name: "r", Cells: []Cell{{V: v}}}}}
}

func (s *memSource) remove(topic string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.dvs, topic)
}

func (s *memSource) setKey(k, v string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tree[k] = v
}

func (s *memSource) snapshots(topic string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.snaps[topic]
}

func (s *memSource) deltaKeys() [][]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.deltas)
}

// deltaTopicsFrom returns the topics of the Delta calls from the i-th on.
func (s *memSource) deltaTopicsFrom(i int) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.deltaTopics[i:])
}

// frame is any frame as a test reads it.
type frame struct {
	Type     string `json:"type"`
	Topic    string `json:"topic"`
	Dataview string `json:"dataview"`
	Rows     []Row  `json:"rows"`
	Cells    []struct {
		R, C, V string
	} `json:"cells"`
	Removed []string           `json:"removed"`
	Keys    map[string]*string `json:"keys"`
	View    string             `json:"view"` // the topic a tree frame was made for
	Message string             `json:"message"`
}

func decode(t testing.TB, data []byte) frame {
	t.Helper()
	var f frame
	if err := json.Unmarshal(data, &f); err != nil {
		t.Fatalf("frame %q: %v", data, err)
	}
	return f
}

func cellUpdate(v string) Update {
	return Update{SampleTime: 1, Changes: []Change{{Row: "r", Column: "c", Cell: Cell{V: v}}}}
}

// newTestHub returns a hub that no goroutine runs: tests flush it with
// the time they choose, and queue frames to clients from newTestClient,
// which have no socket, and read them with dataOf.
func newTestHub(src Source, opts Options) *Hub {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	opts.Metrics = metrics.NewSet()
	opts.StateTopics = []string{treeTopic}
	h := NewHub(src, opts)
	h.prepared = func(m *message, frame []byte) { preparedFrames.Store(m, frame) }
	return h
}

// preparedFrames holds the bytes of each frame test hubs prepared.
var preparedFrames sync.Map // *message → []byte

// dataOf returns the bytes of a frame a test hub prepared.
func dataOf(m *message) []byte {
	b, ok := preparedFrames.Load(m)
	if !ok {
		panic("dashboard test: a frame not prepared by a test hub")
	}
	return b.([]byte)
}

func newTestClient(h *Hub) *client { return newClient(h, nil, "test", nil) }

// queued takes every frame queued for c.
func queued(c *client) []*message {
	var out []*message
	for {
		select {
		case m := <-c.send:
			out = append(out, m)
		default:
			return out
		}
	}
}

// one takes the one frame queued for c, failing unless there is exactly
// one.
func one(t *testing.T, c *client, what string) (frame, *message) {
	t.Helper()
	ms := queued(c)
	if len(ms) != 1 {
		var got []string
		for _, m := range ms {
			got = append(got, string(dataOf(m)))
		}
		t.Fatalf("%s: %d frames queued, want 1: %q", what, len(ms), got)
	}
	return decode(t, dataOf(ms[0])), ms[0]
}

// A browser subscribes to a dataview and the tree: a snapshot of each,
// then deltas, a removal, a fresh snapshot after Reset, and "gone" when
// the dataview goes.
func TestSnapshotThenDeltas(t *testing.T) {
	h := startHub(t, Options{})
	h.src.set(dvTopic, "1")
	h.src.setKey("probe1", "ok")
	c := h.dial(t)
	c.send("subscribe", dvTopic)
	snap := c.next("snapshot", func(f frame) bool { return f.Type == "snapshot" })
	if snap.Topic != dvTopic || snap.Dataview != "p/e/s/d" || snap.Rows[0].Cells[0].V != "1" {
		t.Fatalf("snapshot = %+v", snap)
	}
	h.Publish(dvTopic, cellUpdate("2"))
	d := c.next("delta", func(f frame) bool { return f.Type == "delta" })
	if d.Topic != dvTopic || len(d.Cells) != 1 || d.Cells[0].R != "r" || d.Cells[0].C != "c" || d.Cells[0].V != "2" {
		t.Fatalf("delta = %+v", d)
	}
	h.Publish(dvTopic, Update{RemovedRows: []string{"r"}})
	if f := c.next("removal", func(f frame) bool { return f.Type == "delta" }); len(f.Removed) != 1 {
		t.Fatalf("removal delta = %+v", f)
	}
	h.src.set(dvTopic, "3")
	h.Reset(dvTopic)
	if f := c.next("snapshot after reset", func(f frame) bool { return f.Type == "snapshot" }); f.Rows[0].Cells[0].V != "3" {
		t.Fatalf("snapshot after reset = %+v, want the value 3", f)
	}
	h.src.remove(dvTopic)
	h.Reset(dvTopic)
	c.next("gone", func(f frame) bool { return f.Type == "gone" && f.Topic == dvTopic && f.Dataview == "p/e/s/d" })

	c.send("subscribe", treeTopic)
	if f := c.next("tree snapshot", func(f frame) bool { return f.Type == "snapshot" }); f.Topic != treeTopic || *f.Keys["probe1"] != "ok" {
		t.Fatalf("tree snapshot = %+v", f)
	}
	h.src.setKey("probe1", "down")
	h.Touch(treeTopic, "probe1")
	if f := c.next("tree delta", func(f frame) bool { return f.Type == "delta" }); f.Topic != treeTopic || *f.Keys["probe1"] != "down" {
		t.Fatalf("tree delta = %+v", f)
	}

	// Requests are handled in order: once the tree's second snapshot is
	// here, the dataview's unsubscribe has been too.
	c.send("unsubscribe", dvTopic)
	c.send("unsubscribe", treeTopic)
	c.send("subscribe", treeTopic)
	c.next("tree snapshot again", func(f frame) bool { return f.Type == "snapshot" && f.Topic == treeTopic })
	if h.Watched(dvTopic) {
		t.Fatal("the dataview is still watched after its only subscriber left")
	}
}

func TestUnknownTopicsAndBadRequests(t *testing.T) {
	h := startHub(t, Options{MaxSubscriptions: 2, QueueLen: 8})
	c := h.dial(t)
	f := func(name, request, wantTopic, wantMessage string) {
		t.Helper()
		if err := c.conn.Write(context.Background(), websocket.MessageText, []byte(request)); err != nil {
			t.Fatal(err)
		}
		got := c.next(name, func(f frame) bool { return true })
		if got.Type != "error" || got.Topic != wantTopic || !strings.Contains(got.Message, wantMessage) {
			t.Errorf("%s: got %+v, want an error about %q saying %q", name, got, wantTopic, wantMessage)
		}
	}
	f("unknown topic", `{"op":"subscribe","topic":"alerts"}`, "alerts", "unknown topic")
	f("dataview path too short", `{"op":"subscribe","topic":"dataview/a/b"}`, "dataview/a/b", "probe/entity/sampler/dataview")
	f("dataview path with an empty segment", `{"op":"subscribe","topic":"dataview/a//b/c"}`, "dataview/a//b/c", "probe/entity/sampler/dataview")
	f("no topic", `{"op":"subscribe"}`, "", "needs a topic")
	f("the old request shape", `{"op":"subscribe","dataview":"a/b/c/d"}`, "", "needs a topic")
	f("unknown op", `{"op":"dance","topic":"tree"}`, "", `unknown op "dance"`)
	f("bad JSON", `{not json`, "", "bad request")

	c.send("subscribe", "dataview/no/such/data/view")
	c.next("gone for a dataview that does not exist", func(f frame) bool {
		return f.Type == "gone" && f.Topic == "dataview/no/such/data/view"
	})
	c.send("subscribe", treeTopic)
	c.next("tree snapshot", func(f frame) bool { return f.Type == "snapshot" })
	f("past the subscription limit", `{"op":"subscribe","topic":"dataview/x/x/x/3"}`, "dataview/x/x/x/3", "at most 2")
}

// testAuth lets a principal named in the X-User header watch everything
// but dataviews of the probe "secret".
type testAuth struct {
	mu         sync.Mutex
	principals []any
}

func (a *testAuth) Connect(r *http.Request) (any, error) {
	user := r.Header.Get("X-User")
	if user == "" {
		return nil, errors.New("no user")
	}
	return user, nil
}

func (a *testAuth) Subscribe(principal any, topic string) (string, error) {
	a.mu.Lock()
	a.principals = append(a.principals, principal)
	a.mu.Unlock()
	if strings.HasPrefix(topic, DataviewTopic("secret/")) {
		return "", fmt.Errorf("%v may not watch %s", principal, topic)
	}
	return topic, nil
}

func TestAuthorization(t *testing.T) {
	auth := &testAuth{}
	h := startHub(t, Options{Authorizer: auth})
	if resp, err := h.tryDial(nil); err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("dial without a user: err=%v resp=%v, want 403", err, resp)
	}
	if n := h.Clients(); n != 0 {
		t.Fatalf("%d clients after a refused connection", n)
	}

	c := h.dialWith(t, http.Header{"X-User": {"alice"}})
	refused := h.set.GetOrCreateCounter("watchfloor_dashboard_subscriptions_refused_total")
	const secret = "dataview/secret/e/s/d"
	h.src.set(secret, "hidden")
	c.send("subscribe", secret)
	f := c.next("refusal", func(f frame) bool { return true })
	if f.Type != "error" || f.Topic != secret || !strings.Contains(f.Message, "alice may not watch") {
		t.Fatalf("refused subscription answered %+v", f)
	}
	if got := refused.Get(); got != 1 {
		t.Fatalf("refused subscriptions = %d, want 1", got)
	}
	h.src.set(dvTopic, "1")
	c.send("subscribe", dvTopic)
	c.next("snapshot of an allowed dataview", func(f frame) bool { return f.Type == "snapshot" && f.Topic == dvTopic })
	if h.Watched(secret) || h.src.snapshots(secret) != 0 {
		t.Fatalf("the refused dataview is watched (%v) or was snapshotted %d times", h.Watched(secret), h.src.snapshots(secret))
	}
	if got := refused.Get(); got != 1 {
		t.Fatalf("refused subscriptions = %d after an allowed one, want still 1", got)
	}
	auth.mu.Lock()
	defer auth.mu.Unlock()
	if !slices.Equal(auth.principals, []any{"alice", "alice"}) {
		t.Fatalf("Subscribe saw principals %v, want Connect's for both", auth.principals)
	}
}

func TestCheckOrigin(t *testing.T) {
	evil := http.Header{"Origin": {"http://evil.example"}}
	f := func(name string, opts Options, header http.Header, wantStatus int) {
		t.Helper()
		h := startHub(t, opts)
		if header == nil {
			header = http.Header{"Origin": {"http" + strings.TrimPrefix(h.url, "ws")}}
		}
		resp, err := h.tryDial(header)
		switch {
		case wantStatus == http.StatusSwitchingProtocols && err != nil:
			t.Errorf("%s: dial failed: %v", name, err)
		case wantStatus != http.StatusSwitchingProtocols && (resp == nil || resp.StatusCode != wantStatus):
			t.Errorf("%s: dial answered %v (err %v), want %d", name, resp, err, wantStatus)
		}
	}
	f("another site, by default", Options{}, evil, http.StatusForbidden)
	f("the same origin, by default", Options{}, nil, http.StatusSwitchingProtocols)
	f("another site its CheckOrigin allows", Options{CheckOrigin: func(*http.Request) bool { return true }}, evil, http.StatusSwitchingProtocols)
	f("the same origin its CheckOrigin refuses", Options{CheckOrigin: func(*http.Request) bool { return false }}, nil, http.StatusForbidden)
}

// A busy topic holds its changes back for the coalescing window and then
// sends one frame with the latest value of each cell; an idle subscriber
// gets changes at once. Flush times are passed in: nothing sleeps.
func TestBusyTopicCoalesces(t *testing.T) {
	src := newMemSource()
	src.set(dvTopic, "0")
	h := newTestHub(src, Options{Coalesce: 100 * time.Millisecond, QueueLen: 16})
	c := newTestClient(h)
	h.subscribe(c, dvTopic, dvTopic)
	t0 := time.Unix(1_800_000_000, 0)
	h.flush(t0)
	one(t, c, "snapshot")

	h.Publish(dvTopic, cellUpdate("1"))
	if wait := h.flush(t0); wait != 0 || len(c.send) != 1 {
		t.Fatalf("idle client: wait=%v queued=%d, want an immediate frame", wait, len(c.send))
	}
	// The client has not written that frame yet: its queue is busy.
	coalesced := h.framesCoalesced.Get()
	h.Publish(dvTopic, cellUpdate("2"))
	h.Publish(dvTopic, cellUpdate("3"))
	if wait := h.flush(t0.Add(10 * time.Millisecond)); wait != 90*time.Millisecond || len(c.send) != 1 {
		t.Fatalf("busy client: wait=%v queued=%d, want the frame held back 90ms", wait, len(c.send))
	}
	if wait := h.flush(t0.Add(60 * time.Millisecond)); wait != 40*time.Millisecond || len(c.send) != 1 {
		t.Fatalf("still busy: wait=%v queued=%d, want the frame held back 40ms more", wait, len(c.send))
	}
	if wait := h.flush(t0.Add(100 * time.Millisecond)); wait != 0 || len(c.send) != 2 {
		t.Fatalf("after the window: wait=%v queued=%d, want a second frame", wait, len(c.send))
	}
	frames := queued(c)
	if f := decode(t, dataOf(frames[1])); len(f.Cells) != 1 || f.Cells[0].V != "3" {
		t.Fatalf("coalesced frame = %s, want only the latest value 3", dataOf(frames[1]))
	}
	if got := h.framesCoalesced.Get() - coalesced; got != 1 {
		t.Fatalf("coalesced frames moved by %d, want 1 (the 2 folded into the 3)", got)
	}

	// A second, idle subscriber gets changes at once, busy first one or not.
	h.Publish(dvTopic, cellUpdate("4"))
	h.flush(t0.Add(101 * time.Millisecond)) // c idle: sent at once
	idle := newTestClient(h)
	h.subscribe(idle, dvTopic, dvTopic)
	h.flush(t0.Add(102 * time.Millisecond))
	one(t, idle, "the second subscriber's snapshot")
	h.Publish(dvTopic, cellUpdate("5"))
	if wait := h.flush(t0.Add(110 * time.Millisecond)); wait != 0 || len(idle.send) != 1 || len(c.send) != 2 {
		t.Fatalf("with an idle subscriber: wait=%v queued=%d and %d, want an immediate frame to both", wait, len(idle.send), len(c.send))
	}
}

// Subscribers that join since a topic's last frame share one snapshot,
// taken after the pending changes were swapped out, while those already
// there get the delta; a Reset takes one snapshot for all subscribers.
func TestJoinersAndResetShareOneSnapshot(t *testing.T) {
	src := newMemSource()
	src.set(dvTopic, "1")
	h := newTestHub(src, Options{QueueLen: 16})
	t0 := time.Unix(1_800_000_000, 0)
	old := newTestClient(h)
	h.subscribe(old, dvTopic, dvTopic)
	h.flush(t0)
	one(t, old, "first snapshot")

	joiners := []*client{newTestClient(h), newTestClient(h), newTestClient(h)}
	for _, c := range joiners {
		h.subscribe(c, dvTopic, dvTopic)
	}
	src.set(dvTopic, "2")
	h.Publish(dvTopic, cellUpdate("2"))
	sent, frames, cells := h.snapshotsSent.Get(), h.framesSent.Get(), h.cellsSent.Get()
	h.flush(t0.Add(time.Second))
	if n := src.snapshots(dvTopic); n != 2 {
		t.Fatalf("Source.Snapshot called %d times, want 2: one for the first subscriber, one shared by three joiners", n)
	}
	if f, _ := one(t, old, "the old subscriber's delta"); f.Type != "delta" || f.Cells[0].V != "2" {
		t.Fatalf("old subscriber got %+v, want the delta", f)
	}
	var shared *message
	for i, c := range joiners {
		f, m := one(t, c, "a joiner's snapshot")
		if f.Type != "snapshot" || f.Rows[0].Cells[0].V != "2" {
			t.Fatalf("joiner %d got %+v, want the snapshot with 2", i, f)
		}
		if shared == nil {
			shared = m
		} else if m != shared {
			t.Fatalf("joiner %d got a frame of its own, not the shared one", i)
		}
	}
	if s, f, c := h.snapshotsSent.Get()-sent, h.framesSent.Get()-frames, h.cellsSent.Get()-cells; s != 3 || f != 4 || c != 1 {
		t.Fatalf("snapshots, frames and cells sent moved by %d, %d and %d; want 3, 4 (the snapshots and the delta) and 1 (the delta's one cell, once)", s, f, c)
	}

	all := append(joiners, old)
	src.set(dvTopic, "3")
	h.Reset(dvTopic)
	h.Publish(dvTopic, cellUpdate("3")) // folded into the coming snapshot
	h.flush(t0.Add(2 * time.Second))
	if n := src.snapshots(dvTopic); n != 3 {
		t.Fatalf("Source.Snapshot called %d times after a reset, want 3: one more for all four subscribers", n)
	}
	shared = nil
	for i, c := range all {
		f, m := one(t, c, "the snapshot after a reset")
		if f.Type != "snapshot" || f.Rows[0].Cells[0].V != "3" || shared != nil && m != shared {
			t.Fatalf("subscriber %d got %+v (shared %v), want the one snapshot with 3", i, f, m == shared)
		}
		shared = m
	}

	src.remove(dvTopic)
	h.Reset(dvTopic)
	h.flush(t0.Add(3 * time.Second))
	for i, c := range all {
		if f, _ := one(t, c, "gone"); f.Type != "gone" || f.Topic != dvTopic || f.Dataview != "p/e/s/d" {
			t.Fatalf("subscriber %d got %+v, want gone", i, f)
		}
	}
}

// blockingSource's Snapshot and Delta wait until released, announcing
// that they have been entered.
type blockingSource struct {
	*memSource
	entered chan string
	release chan struct{}
}

func (s *blockingSource) Snapshot(topic string) ([]byte, bool) {
	s.wait("snapshot")
	return s.memSource.Snapshot(topic)
}

func (s *blockingSource) Delta(topic string, keys []string) []byte {
	s.wait("delta")
	return s.memSource.Delta(topic, keys)
}

// wait announces what was entered and waits for a release; once release
// is closed, nothing waits.
func (s *blockingSource) wait(what string) {
	select {
	case s.entered <- what:
	case <-s.release:
		return
	}
	<-s.release
}

// The hub asks the Source for snapshots and deltas without holding the
// topic's lock, so Publish, Touch and Reset go on while it waits.
func TestPublishNeverWaitsForTheSource(t *testing.T) {
	src := &blockingSource{memSource: newMemSource(), entered: make(chan string), release: make(chan struct{})}
	src.set(dvTopic, "0")
	h := newTestHub(src, Options{QueueLen: 16})
	c := newTestClient(h)
	h.subscribe(c, dvTopic, dvTopic)
	h.subscribe(c, treeTopic, treeTopic)
	t0 := time.Unix(1_800_000_000, 0)

	flushing := func(now time.Time) chan struct{} {
		done := make(chan struct{})
		go func() {
			defer close(done)
			h.flush(now)
		}()
		return done
	}
	// returns runs fn, failing if it waits for the blocked Source. The
	// bound only keeps a deadlock from hanging the test.
	returns := func(what string, fn func()) {
		t.Helper()
		ret := make(chan struct{})
		go func() {
			defer close(ret)
			fn()
		}()
		select {
		case <-ret:
		case <-time.After(wait):
			close(src.release)
			t.Fatalf("%s waited for the Source", what)
		}
	}

	done := flushing(t0)
	for range 2 { // the topics' snapshots, one after the other
		<-src.entered
		returns("Publish during a snapshot", func() { h.Publish(dvTopic, cellUpdate("1")) })
		returns("Touch during a snapshot", func() { h.Touch(treeTopic, "a") })
		src.release <- struct{}{}
	}
	<-done
	queued(c)

	done = flushing(t0.Add(time.Second))
	if got := <-src.entered; got != "delta" {
		t.Fatalf("flushing the touched tree entered %s, want delta", got)
	}
	returns("Touch during a delta", func() { h.Touch(treeTopic, "b") })
	returns("Reset during a delta", func() { h.Reset(treeTopic) })
	src.release <- struct{}{}
	<-done
	queued(c)

	done = flushing(t0.Add(2 * time.Second))
	if got := <-src.entered; got != "snapshot" {
		t.Fatalf("flushing the reset tree entered %s, want snapshot", got)
	}
	src.release <- struct{}{}
	<-done
}

// A state topic collects touched keys and asks the Source for their state
// when its frame is due; too many keys pending and it is resent whole.
func TestStateTopic(t *testing.T) {
	src := newMemSource()
	src.setKey("a", "1")
	src.setKey("b", "2")
	h := newTestHub(src, Options{QueueLen: 16, MaxPending: 3})
	t0 := time.Unix(1_800_000_000, 0)
	h.Touch(treeTopic, "a") // nobody watches: nothing to do
	c := newTestClient(h)
	h.subscribe(c, treeTopic, treeTopic)
	h.flush(t0)
	if f, _ := one(t, c, "tree snapshot"); f.Type != "snapshot" || len(f.Keys) != 2 {
		t.Fatalf("snapshot = %+v", f)
	}

	coalesced := h.framesCoalesced.Get()
	src.setKey("b", "3")
	h.Touch(treeTopic, "b")
	h.Touch(treeTopic, "a", "b")
	joiner := newTestClient(h)
	h.subscribe(joiner, treeTopic, treeTopic)
	h.flush(t0.Add(time.Second))
	if got := src.deltaKeys(); len(got) != 1 || !slices.Equal(got[0], []string{"b", "a"}) {
		t.Fatalf("Delta called with %v, want once with [b a] in first-touched order", got)
	}
	if f, _ := one(t, c, "tree delta"); f.Type != "delta" || *f.Keys["b"] != "3" {
		t.Fatalf("delta = %+v", f)
	}
	if f, _ := one(t, joiner, "the joiner's snapshot"); f.Type != "snapshot" || *f.Keys["b"] != "3" {
		t.Fatalf("joiner got %+v", f)
	}
	if got := h.framesCoalesced.Get() - coalesced; got != 1 {
		t.Fatalf("coalesced frames moved by %d, want 1", got)
	}

	overflows := h.overflows.Get()
	h.Touch(treeTopic, "a", "b", "c", "d")
	h.Touch(treeTopic, "e") // the topic is resent whole anyway
	h.flush(t0.Add(2 * time.Second))
	if got := h.overflows.Get() - overflows; got != 1 {
		t.Fatalf("pending overflows moved by %d, want 1", got)
	}
	if n := len(src.deltaKeys()); n != 1 {
		t.Fatalf("Delta called %d times, want no more than before the overflow", n)
	}
	for _, cl := range []*client{c, joiner} {
		if f, _ := one(t, cl, "snapshot after an overflow"); f.Type != "snapshot" {
			t.Fatalf("after too many keys got %+v, want a snapshot", f)
		}
	}
}

// A dataview with more pending cells than MaxPending is resent whole.
func TestDataviewPendingOverflow(t *testing.T) {
	src := newMemSource()
	src.set(dvTopic, "big")
	h := newTestHub(src, Options{QueueLen: 16, MaxPending: 3})
	t0 := time.Unix(1_800_000_000, 0)
	c := newTestClient(h)
	h.subscribe(c, dvTopic, dvTopic)
	h.flush(t0)
	one(t, c, "snapshot")
	h.Publish(dvTopic, Update{RemovedRows: []string{"x", "y"}, Changes: []Change{{Row: "a", Column: "c"}}})
	h.flush(t0.Add(time.Second))
	if f, _ := one(t, c, "delta of three keys"); f.Type != "delta" {
		t.Fatalf("three pending keys gave %+v, want a delta", f)
	}
	h.Publish(dvTopic, Update{RemovedRows: []string{"x", "y"}, Changes: []Change{{Row: "a", Column: "c"}, {Row: "a", Column: "d"}}})
	h.flush(t0.Add(2 * time.Second))
	if f, _ := one(t, c, "after four keys"); f.Type != "snapshot" || h.overflows.Get() != 1 {
		t.Fatalf("four pending keys gave %+v with %d overflows, want a snapshot and 1", f, h.overflows.Get())
	}
}

// A client whose queue overflows drops its queued frames, and everything
// for it until its resync starts; it rejoins its topics and the next flush
// sends it one snapshot of each. One resynced more than maxResyncs times
// within resyncWindow, by the hub's clock, is cut off.
func TestOverflowResyncs(t *testing.T) {
	src := newMemSource()
	src.set(dvTopic, "0")
	src.setKey("a", "1")
	h := newTestHub(src, Options{QueueLen: 4})
	c := newTestClient(h)
	h.subscribe(c, dvTopic, dvTopic)
	h.subscribe(c, treeTopic, treeTopic)
	t0 := time.Unix(1_800_000_000, 0)
	h.flush(t0)
	if len(c.send) != 2 {
		t.Fatalf("%d frames queued, want two snapshots", len(c.send))
	}
	for i := range 3 {
		h.Publish(dvTopic, cellUpdate(fmt.Sprint(i+1)))
		h.flush(t0.Add(time.Duration(i+1) * time.Second))
	}
	if h.dropped.Get() != 1 || len(c.resync) != 1 || len(c.send) != 4 {
		t.Fatalf("dropped=%d resync requested=%d queued=%d, want the third delta dropped, a resync, a full queue",
			h.dropped.Get(), len(c.resync), len(c.send))
	}
	h.Touch(treeTopic, "a")
	h.flush(t0.Add(4 * time.Second))
	if h.dropped.Get() != 2 || len(c.send) != 4 {
		t.Fatalf("dropped=%d queued=%d, want a frame after the gap dropped too, not queued", h.dropped.Get(), len(c.send))
	}

	<-c.resync
	src.set(dvTopic, "latest")
	if !c.doResync(t0.Add(5 * time.Second)) {
		t.Fatal("the first resync cut the client off")
	}
	if len(c.send) != 0 || h.resyncs.Get() != 1 {
		t.Fatalf("after resync %d frames still queued (resyncs=%d), want none and 1", len(c.send), h.resyncs.Get())
	}
	h.flush(t0.Add(5 * time.Second))
	got := map[string]string{}
	for _, m := range queued(c) {
		f := decode(t, dataOf(m))
		got[f.Topic] = f.Type
		if f.Topic == dvTopic && f.Rows[0].Cells[0].V != "latest" {
			t.Fatalf("resync snapshot = %s, want the latest value", dataOf(m))
		}
	}
	if want := map[string]string{dvTopic: "snapshot", treeTopic: "snapshot"}; !maps.Equal(got, want) {
		t.Fatalf("after resync got %v, want %v", got, want)
	}

	cutOff := func(every time.Duration) int {
		t.Helper()
		c := newTestClient(h)
		for i := range 30 {
			if !c.doResync(t0.Add(time.Duration(i) * every)) {
				return i + 1
			}
		}
		return 0
	}
	slow := h.slowDisconnects.Get()
	if n := cutOff(0); n != maxResyncs+1 {
		t.Fatalf("resyncing without pause cut off at resync %d, want %d", n, maxResyncs+1)
	}
	if n := cutOff(resyncWindow/maxResyncs - time.Millisecond); n != maxResyncs+1 {
		t.Fatalf("resyncing just over %d times a minute cut off at resync %d, want %d", maxResyncs, n, maxResyncs+1)
	}
	if n := cutOff(resyncWindow / maxResyncs); n != 0 {
		t.Fatalf("resyncing %d times a minute cut off at resync %d, want never", maxResyncs, n)
	}
	if got := h.slowDisconnects.Get() - slow; got != 2 {
		t.Fatalf("slow disconnects moved by %d, want 2", got)
	}
}

// The write loop counts resyncs by the hub's clock: ten within a minute
// of it are fine, the eleventh cuts the client off; resyncs spread out by
// the clock never do.
func TestResyncWindowUsesTheHubsClock(t *testing.T) {
	var mu sync.Mutex
	clock := time.Unix(1_800_000_000, 0)
	now := func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		return clock
	}
	h := startHub(t, Options{Now: now})
	h.src.set(dvTopic, "1")
	// connect returns a browser holding dvTopic and the hub's side of it.
	connect := func() (*wsClient, *client) {
		h.mu.RLock()
		known := maps.Clone(h.clients)
		h.mu.RUnlock()
		b := h.dial(t)
		b.send("subscribe", dvTopic)
		b.next("snapshot", func(f frame) bool { return f.Type == "snapshot" })
		h.mu.RLock()
		defer h.mu.RUnlock()
		for c := range h.clients {
			if _, ok := known[c]; !ok {
				return b, c
			}
		}
		t.Fatal("the new client is not among the hub's")
		return nil, nil
	}
	resync := func(b *wsClient, c *client) {
		t.Helper()
		c.requestResync()
		b.next("snapshot after a resync", func(f frame) bool { return f.Type == "snapshot" })
	}

	spread, sc := connect()
	for range 3 * maxResyncs {
		resync(spread, sc)
		mu.Lock()
		clock = clock.Add(resyncWindow / maxResyncs)
		mu.Unlock()
	}
	if got := h.slowDisconnects.Get(); got != 0 {
		t.Fatalf("resyncs %v apart by the hub's clock cut %d clients off", resyncWindow/maxResyncs, got)
	}

	burst, bc := connect()
	for range maxResyncs {
		resync(burst, bc)
	}
	bc.requestResync()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	for {
		if _, _, err := burst.conn.Read(ctx); err != nil {
			break
		}
	}
	if got := h.slowDisconnects.Get(); got != 1 {
		t.Fatalf("slow disconnects = %d after %d resyncs at one instant of the hub's clock, want 1", got, maxResyncs+1)
	}
}

// Mixing up the kinds of topic is a programmer's mistake, caught at once
// whether anyone watches or not.
func TestWrongTopicKindPanics(t *testing.T) {
	h := newTestHub(newMemSource(), Options{})
	f := func(name string, fn func()) {
		t.Helper()
		defer func() {
			if recover() == nil {
				t.Errorf("%s did not panic", name)
			}
		}()
		fn()
	}
	f("Publish to a state topic", func() { h.Publish(treeTopic, Update{}) })
	f("Touch of a dataview topic", func() { h.Touch(dvTopic, "k") })
	f("Touch of an unknown topic", func() { h.Touch("alerts", "k") })
	f("a state topic named like a dataview's", func() { NewHub(newMemSource(), Options{StateTopics: []string{"dataview/x"}}) })
}

func TestEncodeSnapshot(t *testing.T) {
	got := string(EncodeSnapshot(Snapshot{Dataview: "p/e/s/d", SampleTime: 5}))
	want := `{"type":"snapshot","topic":"dataview/p/e/s/d","dataview":"p/e/s/d","sampleTime":5,"stale":false,"columns":[],"rows":[],"headlines":[]}`
	if got != want {
		t.Fatalf("EncodeSnapshot =\n%s\nwant\n%s", got, want)
	}
}

// logWatch is a slog handler that closes seen when a record with the
// message it watches for is logged.
type logWatch struct {
	message string
	once    *sync.Once
	seen    chan struct{}
}

func newLogWatch(message string) logWatch {
	return logWatch{message: message, once: new(sync.Once), seen: make(chan struct{})}
}

func (w logWatch) Enabled(context.Context, slog.Level) bool { return true }
func (w logWatch) WithAttrs([]slog.Attr) slog.Handler       { return w }
func (w logWatch) WithGroup(string) slog.Handler            { return w }
func (w logWatch) Handle(_ context.Context, r slog.Record) error {
	if r.Message == w.message {
		w.once.Do(func() { close(w.seen) })
	}
	return nil
}

// A client that stops reading fills its socket, then its queue; it is
// resynchronised, and cut off when its socket stays blocked past the write
// timeout, while the publisher and a fast client carry on. Each change is
// published once the fast client has the one before, so every change is a
// frame of its own and nothing is paced by the clock.
func TestSlowClientNeverBlocksOthers(t *testing.T) {
	cut := newLogWatch("dashboard client stopped reading, disconnecting")
	h := startHub(t, Options{QueueLen: 4, WriteTimeout: time.Second, Logger: slog.New(cut)})
	h.src.set(dvTopic, "0")
	slow := h.dial(t)
	fast := h.dial(t)
	slow.send("subscribe", dvTopic)
	slow.next("slow snapshot", func(f frame) bool { return f.Type == "snapshot" }) // and never reads again
	fast.send("subscribe", dvTopic)
	fast.next("fast snapshot", func(f frame) bool { return f.Type == "snapshot" })

	big := strings.Repeat("x", 128<<10)
	publish := func(i int) {
		v := fmt.Sprintf("%d:%s", i, big)
		h.src.set(dvTopic, v)
		h.Publish(dvTopic, cellUpdate(v))
		prefix := fmt.Sprintf("%d:", i)
		fast.next("value "+prefix, func(f frame) bool {
			return f.Type == "delta" && len(f.Cells) == 1 && strings.HasPrefix(f.Cells[0].V, prefix)
		})
	}
	i := 0
	for ; h.dropped.Get() == 0; i++ {
		if i == 5000 {
			t.Fatal("5000 frames of 128 KiB and the slow client's queue never overflowed")
		}
		publish(i)
	}
	// The slow client is stuck: the fast one still gets every change.
	for range 20 {
		publish(i)
		i++
	}
	select {
	case <-cut.seen:
	case <-time.After(wait):
		t.Fatalf("the slow client was not cut off (dropped=%d)", h.dropped.Get())
	}
	if got := h.slowDisconnects.Get(); got != 1 {
		t.Fatalf("slow disconnects = %d, want 1", got)
	}
	publish(i)
}

// Stopping the hub disconnects its clients and ends every goroutine it
// started (goleak checks the rest).
func TestRunStopsClients(t *testing.T) {
	h := startHub(t, Options{})
	c := h.dial(t)
	c.send("subscribe", "dataview/a/a/a/a")
	c.next("gone", func(f frame) bool { return f.Type == "gone" })
	if n := h.clientsGauge(t); n != "1" {
		t.Fatalf("clients gauge = %s, want 1", n)
	}
	h.cancel()
	<-h.done
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if _, _, err := c.conn.Read(ctx); err == nil {
		t.Fatal("client still connected after the hub stopped")
	}
	if n := h.clientsGauge(t); n != "0" {
		t.Fatalf("clients gauge = %s after stop, want 0", n)
	}
}

// clientsGauge reads watchfloor_dashboard_clients as /metrics shows it.
func (h *testHub) clientsGauge(t *testing.T) string {
	t.Helper()
	var b bytes.Buffer
	h.set.WritePrometheus(&b)
	for line := range strings.Lines(b.String()) {
		if v, ok := strings.CutPrefix(line, "watchfloor_dashboard_clients "); ok {
			return strings.TrimSpace(v)
		}
	}
	t.Fatalf("no clients gauge in\n%s", b.String())
	return ""
}

type testHub struct {
	*Hub
	src    *memSource
	url    string
	set    *metrics.Set
	cancel context.CancelFunc
	done   chan struct{}
}

// startHub runs a hub on a loopback HTTP server until the test ends.
func startHub(t *testing.T, opts Options) *testHub {
	t.Helper()
	src := newMemSource()
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	opts.Metrics = metrics.NewSet()
	opts.StateTopics = []string{treeTopic}
	h := NewHub(src, opts)
	srv := httptest.NewServer(h)
	ctx, cancel := context.WithCancel(context.Background())
	th := &testHub{Hub: h, src: src, url: "ws" + strings.TrimPrefix(srv.URL, "http"), set: opts.Metrics, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(th.done)
		h.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-th.done
		srv.Close()
	})
	return th
}

type wsClient struct {
	t    *testing.T
	conn *websocket.Conn
	// frames counts the frames read but heartbeats; heartbeats those.
	frames, heartbeats uint64
}

func (h *testHub) tryDial(header http.Header) (*http.Response, error) {
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	conn, resp, err := websocket.Dial(ctx, h.url, &websocket.DialOptions{HTTPHeader: header})
	if err == nil {
		conn.CloseNow()
	}
	return resp, err
}

func (h *testHub) dial(t *testing.T) *wsClient { return h.dialWith(t, nil) }

func (h *testHub) dialWith(t *testing.T, header http.Header) *wsClient {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	conn, _, err := websocket.Dial(ctx, h.url, &websocket.DialOptions{HTTPHeader: header})
	if err != nil {
		t.Fatal(err)
	}
	conn.SetReadLimit(64 << 20)
	t.Cleanup(func() { conn.CloseNow() })
	return &wsClient{t: t, conn: conn}
}

func (c *wsClient) send(op, topic string) {
	c.t.Helper()
	b, _ := json.Marshal(request{Op: op, Topic: topic})
	if err := c.conn.Write(context.Background(), websocket.MessageText, b); err != nil {
		c.t.Fatal(err)
	}
}

// next reads frames until one matches; heartbeats are skipped, and every
// other frame is counted in frames, as a paced browser numbers them.
func (c *wsClient) next(what string, match func(frame) bool) frame {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	for {
		_, data, err := c.conn.Read(ctx)
		if err != nil {
			c.t.Fatalf("waiting for %s: %v", what, err)
		}
		f := decode(c.t, data)
		if f.Type == "heartbeat" {
			c.heartbeats++
			continue
		}
		c.frames++
		if match(f) {
			return f
		}
	}
}

// BenchmarkPublishAndFlush publishes one dataview's batch of 100 changed
// cells and flushes it to 10 subscribers: the hub's share of a tick.
func BenchmarkPublishAndFlush(b *testing.B) { benchPublishAndFlush(b, 0, false) }

// benchPublishAndFlush is BenchmarkPublishAndFlush with every subscriber
// paced with window if it is not 0, and then, if ack, acknowledging every
// frame it is sent.
func benchPublishAndFlush(b *testing.B, window int, ack bool) {
	src := newMemSource()
	h := newTestHub(src, Options{})
	h.prepared = nil
	subs := make([]*client, 10)
	for i := range subs {
		subs[i] = newTestClient(h)
		if window > 0 {
			if err := subs[i].pace(window); err != nil {
				b.Fatal(err)
			}
		}
		h.subscribe(subs[i], dvTopic, dvTopic)
	}
	t0 := time.Unix(1_800_000_000, 0)
	h.flush(t0)
	u := Update{SampleTime: 1732233445123}
	for r := range 10 {
		for c := range 10 {
			u.Changes = append(u.Changes, Change{Row: fmt.Sprint("row", r), Column: fmt.Sprint("col", c),
				Cell: Cell{V: "12.34", S: "ok", T: 1732233445000}})
		}
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		for _, c := range subs {
			// Taken off the queue as the write loop would, numbered for
			// pacing.
			for len(c.send) > 0 {
				<-c.send
				if window > 0 {
					c.sent.Add(1)
				}
			}
			if ack {
				if err := c.ack(c.sent.Load()); err != nil {
					b.Fatal(err)
				}
			}
		}
		h.Publish(dvTopic, u)
		h.flush(t0.Add(time.Duration(i) * time.Second))
	}
}
