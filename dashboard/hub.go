package dashboard

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/gorilla/websocket"
	"github.com/watchfloor/watchfloor/dashboard/coalesce"
)

// Source gives the topics' current state. It must not call back into the
// hub. The gateway guarantees: a change is published (Publish, Touch or
// Reset has returned) before Snapshot can see it — it holds a probe's lock
// from applying a batch until it has published it.
//
// The topic the hub passes is the one its subscribers joined: a dataview
// topic, a state topic, or a variant of a state topic that
// Authorizer.Subscribe chose ("tree?client=acme"). A frame's "topic" field
// must always be the name browsers ask for, so for a variant the Source
// writes the state topic's name, the part before the "?" ("tree"), never
// the variant's.
type Source interface {
	// Snapshot returns the topic's whole state as one encoded frame, or
	// false when nothing exists under the topic now (the hub then sends a
	// "gone" frame).
	Snapshot(topic string) ([]byte, bool)
	// Delta returns one encoded frame with the current state of keys of a
	// state topic or a variant of one: the keys passed to Touch since its
	// last frame, in the order they were first touched. It must not keep
	// keys.
	Delta(topic string, keys []string) []byte
}

// Authorizer decides who may watch what. Its methods may be called from
// many goroutines at once; the hub holds none of the locks that Publish,
// Touch, Reset or the Source need while it calls them, so they may take
// the caller's own locks.
type Authorizer interface {
	// Connect is called with each browser's upgrade request; an error
	// refuses the upgrade with 403. Its principal is passed to every
	// Subscribe.
	Connect(r *http.Request) (principal any, err error)
	// Subscribe is called on every subscribe, and again for every
	// subscription held when Reauthorize is called. An error refuses that
	// subscription with an error frame (and counts it), or withdraws one
	// already held. Otherwise it returns the topic the subscriber joins:
	// for a dataview topic, the topic itself; for a state topic, the topic
	// itself or a variant of it, the topic's name, "?" and a non-empty
	// string the Source understands ("tree?client=acme"). Subscribers of
	// one variant share its frames, each computed once. Any other name is
	// a programming error: the hub refuses the subscription and logs it.
	Subscribe(principal any, topic string) (join string, err error)
}

// CloseSessionEnded is the WebSocket close code of a connection closed by
// Disconnect: the session it belonged to ended.
const CloseSessionEnded = 4001

// DataviewPrefix starts the topic of a dataview: DataviewPrefix and its
// canonical path.
const DataviewPrefix = "dataview/"

// DataviewTopic returns the topic of the dataview at path.
func DataviewTopic(path string) string { return DataviewPrefix + path }

// Options tune a Hub. Zero values take the defaults.
type Options struct {
	Logger *slog.Logger
	// Metrics receives the hub's counters; nil means a private set.
	Metrics *metrics.Set
	// Coalesce is the longest a busy topic holds changes back (100 ms).
	Coalesce time.Duration
	// QueueLen bounds each client's queue of frames (256).
	QueueLen int
	// MaxSubscriptions bounds the topics one client watches (64, and less
	// than half of QueueLen).
	MaxSubscriptions int
	// WriteTimeout disconnects a client whose socket accepts nothing for
	// this long (10 s).
	WriteTimeout time.Duration
	// Now is the clock for coalescing and the resync window (time.Now).
	// Run waits for held-back frames on real timers, so outside tests it
	// must keep pace with real time; socket deadlines are always real time.
	Now func() time.Time
	// Authorizer decides who may watch what; nil lets everyone watch
	// everything.
	Authorizer Authorizer
	// CheckOrigin vets each upgrade request's Origin; nil is gorilla's
	// default, which wants it to match the Host.
	CheckOrigin func(*http.Request) bool
	// StateTopics are the topics fed by Touch, such as "tree", each with
	// the variants of it that Authorizer.Subscribe chooses; every other
	// topic is a dataview's, DataviewPrefix and its path. A state topic's
	// name has no "?".
	StateTopics []string
	// MaxPending bounds the distinct keys (cells and removed rows of a
	// dataview, keys of a state topic) pending per topic; past it the
	// topic is resent whole instead (100,000).
	MaxPending int
	// Heartbeat is how long a connection may go without a frame before
	// the hub sends it a heartbeat, so that a browser, which cannot see
	// WebSocket pings, can tell a silent gateway from a lost one (500 ms).
	Heartbeat time.Duration
}

// Hub fans topics' changes out to browser clients. Publish, Touch, Reset,
// Watched, Clients, Principals, Disconnect and Reauthorize are safe for
// concurrent use and never block on a client or on the Source.
type Hub struct {
	src       Source
	opts      Options
	log       *slog.Logger
	now       func() time.Time
	auth      Authorizer
	up        websocket.Upgrader
	states    map[string]bool
	closeWait time.Duration // how long a closing connection may take

	mu       sync.RWMutex
	topics   map[string]*topic   // by the name joined
	variants map[string][]*topic // a state topic's live variants; each slice is replaced, never changed
	clients  map[*client]struct{}
	closed   bool
	wg       sync.WaitGroup // client goroutines
	// Disconnects that a connection between Connect and joining clients
	// may have missed: kickSeq counts Disconnect calls, connecting counts
	// such connections by the kickSeq when they called Connect, and kicks
	// holds the Disconnects since the oldest of them.
	kickSeq    uint64
	connecting map[uint64]int
	kicks      []kick

	// authGen counts Reauthorize calls, so a subscription decided while
	// one ran is decided again; reauthMu runs them one at a time.
	authGen  atomic.Uint64
	reauthMu sync.Mutex

	dirtyMu sync.Mutex
	dirty   map[*topic]struct{}
	notices []notice // frames for clients that must follow their topics' frames
	wake    chan struct{}

	// Owned by the goroutine that flushes. outCells and outKeys hold the
	// changes swapped out of the topic being flushed; their storage then
	// stays with the topic, and the topic's old storage waits here for the
	// next one, so each topic keeps one set, not two.
	staying, joining []*client
	keyBuf           []string
	outCells         pending
	outKeys          coalesce.Map[string, struct{}]

	// prepared, when tests set it, is shown each frame as it is prepared,
	// since a PreparedMessage does not give its bytes back.
	prepared func(m *message, frame []byte)

	heartbeat *websocket.PreparedMessage

	framesSent, framesCoalesced, cellsSent, snapshotsSent, resyncs, dropped,
	slowDisconnects, refused, overflows, sessionDisconnects, withdrawn,
	held, catchUps *metrics.Counter
}

// topic is one topic's subscribers and pending changes.
type topic struct {
	name     string // the name joined, the Source's topic: a variant's has a "?"
	asked    string // the name browsers ask for, and frames carry: the state topic of a variant
	dataview string // the dataview's path; empty for a state topic

	mu        sync.Mutex
	subs      map[*client]struct{}
	joiners   map[*client]struct{}           // subscribers owed a snapshot at the next flush
	cells     pending                        // a dataview topic's changes
	keys      coalesce.Map[string, struct{}] // a state topic's touched keys
	lastFlush time.Time
	reset     bool // every subscriber needs a fresh snapshot, not a delta
	dead      bool // removed from the hub; a subscriber must look again
}

func (t *topic) pendingKeys() int { return t.cells.keys() + t.keys.Len() }

func (t *topic) empty() bool { return t.cells.empty() && t.keys.Len() == 0 }

func (t *topic) clearPending() {
	t.cells.reset()
	t.keys.Reset()
}

// NewHub returns a hub serving topics from src. Run must be running for
// frames to flow.
func NewHub(src Source, opts Options) *Hub {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Metrics == nil {
		opts.Metrics = metrics.NewSet()
	}
	if opts.Coalesce <= 0 {
		opts.Coalesce = 100 * time.Millisecond
	}
	if opts.QueueLen <= 0 {
		opts.QueueLen = 256
	}
	if opts.MaxSubscriptions <= 0 {
		opts.MaxSubscriptions = 64
	}
	if opts.MaxSubscriptions >= opts.QueueLen {
		opts.MaxSubscriptions = opts.QueueLen / 2
	}
	if opts.WriteTimeout <= 0 {
		opts.WriteTimeout = 10 * time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Authorizer == nil {
		opts.Authorizer = allowAll{}
	}
	if opts.MaxPending <= 0 {
		opts.MaxPending = 100_000
	}
	if opts.Heartbeat <= 0 {
		opts.Heartbeat = 500 * time.Millisecond
	}
	h := &Hub{
		src:        src,
		opts:       opts,
		log:        opts.Logger,
		now:        opts.Now,
		auth:       opts.Authorizer,
		up:         websocket.Upgrader{CheckOrigin: opts.CheckOrigin},
		states:     make(map[string]bool, len(opts.StateTopics)),
		closeWait:  min(closeWait, opts.WriteTimeout),
		topics:     make(map[string]*topic),
		variants:   make(map[string][]*topic),
		clients:    make(map[*client]struct{}),
		connecting: make(map[uint64]int),
		dirty:      make(map[*topic]struct{}),
		wake:       make(chan struct{}, 1),
	}
	for _, name := range opts.StateTopics {
		if strings.HasPrefix(name, DataviewPrefix) || name == "" || strings.Contains(name, "?") {
			panic(fmt.Sprintf("dashboard: state topic %q is empty, a dataview's or has a \"?\"", name))
		}
		h.states[name] = true
	}
	m := opts.Metrics
	h.framesSent = m.NewCounter("watchfloor_dashboard_frames_sent_total")
	h.framesCoalesced = m.NewCounter("watchfloor_dashboard_frames_coalesced_total")
	h.cellsSent = m.NewCounter("watchfloor_dashboard_cells_sent_total")
	h.snapshotsSent = m.NewCounter("watchfloor_dashboard_snapshots_sent_total")
	h.resyncs = m.NewCounter("watchfloor_dashboard_resyncs_total")
	h.dropped = m.NewCounter("watchfloor_dashboard_frames_dropped_total")
	h.slowDisconnects = m.NewCounter("watchfloor_dashboard_slow_disconnects_total")
	h.refused = m.NewCounter("watchfloor_dashboard_subscriptions_refused_total")
	h.overflows = m.NewCounter("watchfloor_dashboard_pending_overflows_total")
	h.sessionDisconnects = m.NewCounter("watchfloor_dashboard_session_disconnects_total")
	h.withdrawn = m.NewCounter("watchfloor_dashboard_subscriptions_withdrawn_total")
	h.held = m.NewCounter("watchfloor_dashboard_frames_held_total")
	h.catchUps = m.NewCounter("watchfloor_dashboard_paced_catchups_total")
	hb, err := websocket.NewPreparedMessage(websocket.TextMessage, []byte(`{"type":"heartbeat"}`))
	if err != nil {
		panic("dashboard: prepare the heartbeat: " + err.Error())
	}
	h.heartbeat = hb
	m.NewGauge("watchfloor_dashboard_clients", func() float64 { return float64(h.Clients()) })
	return h
}

// allowAll is the Authorizer of a hub without one.
type allowAll struct{}

func (allowAll) Connect(*http.Request) (any, error)            { return nil, nil }
func (allowAll) Subscribe(_ any, topic string) (string, error) { return topic, nil }

// Clients returns the number of connected browser clients.
func (h *Hub) Clients() int {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return len(h.clients)
}

// topic returns the named topic, nil if nobody subscribes to it.
func (h *Hub) topic(name string) *topic {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return h.topics[name]
}

// stateTopics returns a state topic, nil if nobody subscribes to it
// itself, and its variants that somebody subscribes to. The caller must
// not change the slice.
func (h *Hub) stateTopics(name string) (*topic, []*topic) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return h.topics[name], h.variants[name]
}

// Watched reports whether any client subscribes to the topic, or to a
// variant of a state topic, so publishers can skip building changes nobody
// will see.
func (h *Hub) Watched(topic string) bool {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return h.topics[topic] != nil || len(h.variants[topic]) > 0
}

// checkTopic refuses a topic a browser may not subscribe to, saying why.
func (h *Hub) checkTopic(name string) error {
	if name == "" {
		return errors.New("subscribe needs a topic")
	}
	if h.states[name] {
		return nil
	}
	if path, ok := strings.CutPrefix(name, DataviewPrefix); ok {
		if segs := strings.Split(path, "/"); len(segs) == 4 && !slices.Contains(segs, "") {
			return nil
		}
		return fmt.Errorf("topic %q: a dataview's path is probe/entity/sampler/dataview", name)
	}
	return fmt.Errorf("unknown topic %q", name)
}

// Publish records a dataview topic's cell changes for its subscribers; it
// keeps none of u's slices, so the caller may reuse them. It panics if
// topic is not a dataview's.
func (h *Hub) Publish(topic string, u Update) {
	if !strings.HasPrefix(topic, DataviewPrefix) {
		panic(fmt.Sprintf("dashboard: Publish to %q, which is not a dataview topic", topic))
	}
	t := h.topic(topic)
	if t == nil {
		return
	}
	t.mu.Lock()
	if !t.reset {
		if !t.cells.empty() {
			h.framesCoalesced.Inc()
		}
		t.cells.add(&u)
		h.checkPending(t)
	}
	t.mu.Unlock()
	h.markDirty(t)
}

// Touch records that the state of keys of a state topic changed, for the
// topic and each of its variants, which coalesce their keys apart; it
// keeps no slice of the caller's. It panics if topic is not one of
// Options.StateTopics.
func (h *Hub) Touch(topic string, keys ...string) {
	if !h.states[topic] {
		panic(fmt.Sprintf("dashboard: Touch of %q, which is not a state topic", topic))
	}
	if len(keys) == 0 {
		return
	}
	base, variants := h.stateTopics(topic)
	if base != nil {
		h.touch(base, keys)
	}
	for _, t := range variants {
		h.touch(t, keys)
	}
}

func (h *Hub) touch(t *topic, keys []string) {
	t.mu.Lock()
	if !t.reset {
		if t.keys.Len() > 0 {
			h.framesCoalesced.Inc()
		}
		for _, k := range keys {
			t.keys.Put(k, struct{}{})
		}
		h.checkPending(t)
	}
	t.mu.Unlock()
	h.markDirty(t)
}

// checkPending turns a topic with more pending keys than MaxPending into a
// reset: one snapshot costs less than a delta that big. The caller holds
// t.mu.
func (h *Hub) checkPending(t *topic) {
	if t.pendingKeys() > h.opts.MaxPending {
		t.reset = true
		t.clearPending()
		h.overflows.Inc()
	}
}

// Reset gives the topic's subscribers a fresh snapshot (or "gone"), for
// changes a delta cannot express: a dataview's columns changed, it went
// away or came back. A state topic's variants are reset too. The hub's
// goroutine takes one snapshot for all the subscribers of each, never the
// caller's, which is a probe's ingest path.
func (h *Hub) Reset(topic string) {
	base, variants := h.stateTopics(topic)
	if base != nil {
		h.reset(base)
	}
	for _, t := range variants {
		h.reset(t)
	}
}

func (h *Hub) reset(t *topic) {
	t.mu.Lock()
	t.reset = true
	t.clearPending()
	t.mu.Unlock()
	h.markDirty(t)
}

func (h *Hub) markDirty(t *topic) {
	h.dirtyMu.Lock()
	h.dirty[t] = struct{}{}
	h.dirtyMu.Unlock()
	select {
	case h.wake <- struct{}{}:
	default:
	}
}

// Run flushes dirty topics until ctx is done, then disconnects every client
// and waits for their goroutines to end.
func (h *Hub) Run(ctx context.Context) {
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer h.shutdown()
	for {
		select {
		case <-ctx.Done():
			return
		case <-h.wake:
		case <-timer.C:
		}
		if next := h.flush(h.now()); next > 0 {
			timer.Reset(next)
		}
	}
}

// flush sends the notices and the frames that are due and returns how
// long until the next held-back topic is due (0 if none). Only one
// goroutine flushes.
func (h *Hub) flush(now time.Time) time.Duration {
	h.dirtyMu.Lock()
	topics := make([]*topic, 0, len(h.dirty))
	for t := range h.dirty {
		topics = append(topics, t)
	}
	clear(h.dirty)
	notices := h.notices
	h.notices = nil
	h.dirtyMu.Unlock()

	// Queued here, the one goroutine that queues topics' frames: every
	// frame of a topic the notice's client has left was queued before it.
	for _, n := range notices {
		n.c.deliver(n)
	}

	var next time.Duration
	for _, t := range topics {
		if wait := h.flushTopic(t, now); wait > 0 {
			h.dirtyMu.Lock()
			h.dirty[t] = struct{}{}
			h.dirtyMu.Unlock()
			if next == 0 || wait < next {
				next = wait
			}
		}
	}
	return next
}

// flushTopic sends t's due frames: under t's lock it notes who joined and
// swaps the pending changes out; after, it encodes the delta for the
// subscribers that stayed and takes one snapshot for those that joined.
func (h *Hub) flushTopic(t *topic, now time.Time) time.Duration {
	staying, joining := h.staying[:0], h.joining[:0]
	var wait time.Duration
	delta := false

	t.mu.Lock()
	if t.reset {
		t.reset = false
		t.clearPending()
		for c := range t.subs {
			joining = append(joining, c)
		}
		t.lastFlush = now
	} else {
		for c := range t.subs {
			if _, ok := t.joiners[c]; ok {
				joining = append(joining, c)
			} else {
				staying = append(staying, c)
			}
		}
		since := now.Sub(t.lastFlush)
		switch {
		case t.empty():
		case len(staying) == 0:
			t.clearPending() // the joiners' snapshot holds it all
		case since < h.opts.Coalesce && allBusy(staying):
			// Hold changes back only while every subscriber is still busy
			// with earlier frames: one slow client must not delay the
			// others. A paced client is busy until it has acknowledged
			// them.
			wait = h.opts.Coalesce - since
		default:
			t.cells, h.outCells = h.outCells, t.cells
			t.keys, h.outKeys = h.outKeys, t.keys
			t.lastFlush = now
			delta = true
		}
	}
	clear(t.joiners)
	t.mu.Unlock()

	if delta {
		h.sendDelta(t, staying)
	}
	if len(joining) > 0 {
		h.sendSnapshot(t, joining)
	}
	clear(staying)
	clear(joining)
	h.staying, h.joining = staying[:0], joining[:0]
	return wait
}

func allBusy(clients []*client) bool {
	for _, c := range clients {
		if !c.busy() {
			return false
		}
	}
	return true
}

// sendDelta encodes the changes swapped out of t and queues them for cs,
// but for the paced clients whose window is full: when none is left, it
// encodes nothing.
func (h *Hub) sendDelta(t *topic, cs []*client) {
	cs = h.unheld(t, cs)
	var frame []byte
	if t.dataview != "" {
		if len(cs) > 0 {
			var cells int
			frame, cells = h.outCells.encode(t.asked, t.dataview)
			h.cellsSent.Add(cells)
		}
		h.outCells.reset()
	} else {
		keys := h.keyBuf[:0]
		for k := range h.outKeys.All() {
			keys = append(keys, k)
		}
		h.outKeys.Reset()
		if len(cs) > 0 {
			frame = h.src.Delta(t.name, keys)
		}
		clear(keys)
		h.keyBuf = keys[:0]
	}
	if len(cs) == 0 {
		return
	}
	if m := h.prepare(t.name, frame, false); m != nil {
		for _, c := range cs {
			h.enqueue(c, m)
		}
	}
}

// sendSnapshot takes one snapshot of t and queues it for cs, but for the
// paced clients whose window is full: when none is left, it takes none.
func (h *Hub) sendSnapshot(t *topic, cs []*client) {
	if cs = h.unheld(t, cs); len(cs) == 0 {
		return
	}
	frame, ok := h.src.Snapshot(t.name)
	if !ok {
		frame, _ = json.Marshal(gone{Type: "gone", Topic: t.asked, Dataview: t.dataview})
	}
	if m := h.prepare(t.name, frame, ok); m != nil {
		for _, c := range cs {
			h.enqueue(c, m)
		}
	}
}

// prepare encodes a frame once for every client it goes to.
func (h *Hub) prepare(topic string, frame []byte, snapshot bool) *message {
	pm, err := websocket.NewPreparedMessage(websocket.TextMessage, frame)
	if err != nil {
		h.log.Error("prepare frame", "topic", topic, "err", err)
		return nil
	}
	m := &message{pm: pm, snapshot: snapshot}
	if h.prepared != nil {
		h.prepared(m, frame)
	}
	return m
}

// enqueue hands a frame to a client without ever blocking, reporting
// whether it was queued. A full queue turns into a resync, and until the
// client's write loop has drained the queue for it, frames for it are
// dropped too: they would follow a gap.
func (h *Hub) enqueue(c *client, m *message) bool {
	if c.resyncing.Load() {
		h.dropped.Inc()
		return false
	}
	select {
	case c.send <- m:
		h.framesSent.Inc()
		if m.snapshot {
			h.snapshotsSent.Inc()
		}
		return true
	default:
		h.dropped.Inc()
		c.resyncing.Store(true)
		c.requestResync()
		return false
	}
}

// notify has the hub's goroutine queue a frame for c after every frame
// already queued for the topics c has left.
func (h *Hub) notify(c *client, topic string, m *message) {
	m.notice, m.about = true, topic
	h.dirtyMu.Lock()
	h.notices = append(h.notices, notice{c: c, topic: topic, m: m})
	h.dirtyMu.Unlock()
	select {
	case h.wake <- struct{}{}:
	default:
	}
}

// notice is a frame for one client that notify queues.
type notice struct {
	c     *client
	topic string // the topic it is about, as the browser asked for it
	m     *message
}

func (h *Hub) shutdown() {
	h.mu.Lock()
	h.closed = true
	for c := range h.clients {
		c.conn.Close()
	}
	h.mu.Unlock()
	h.wg.Wait()
}

// errHubClosed refuses new clients once Run has ended.
var errHubClosed = errors.New("dashboard hub is shut down")

// ServeHTTP authorizes a browser's request, upgrades it and serves it until
// it goes away or the hub shuts down. The Authorizer's Connect refusing
// answers 403; so does an Origin that Options.CheckOrigin (by default: the
// Host) refuses, so other sites cannot read the grid through a browser.
func (h *Hub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	seq := h.startConnecting()
	joined := false
	defer func() {
		if !joined {
			h.mu.Lock()
			h.stopConnecting(seq)
			h.mu.Unlock()
		}
	}()
	principal, err := h.auth.Connect(r)
	if err != nil {
		h.log.Info("dashboard connection refused", "remote", r.RemoteAddr, "err", err)
		http.Error(w, "forbidden", http.StatusForbidden)
		return
	}
	conn, err := h.up.Upgrade(w, r, nil)
	if err != nil {
		h.log.Info("dashboard upgrade refused", "remote", r.RemoteAddr, "err", err)
		return
	}
	c := newClient(h, conn, r.RemoteAddr, principal)
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		conn.Close()
		h.log.Info("dashboard client refused", "err", errHubClosed)
		return
	}
	joined = true
	missed := h.stopConnecting(seq)
	h.clients[c] = struct{}{}
	h.wg.Add(2)
	h.mu.Unlock()
	// A Disconnect that ran after Connect, before c was among the
	// clients, did not see it.
	for _, k := range missed {
		if k.match(principal) {
			h.kick(c, k.reason)
			break
		}
	}

	done := make(chan struct{})
	go func() {
		defer h.wg.Done()
		c.writeLoop(done)
	}()
	defer h.wg.Done()
	c.readLoop()
	close(done)
	h.removeClient(c)
	h.log.Debug("dashboard client left", "remote", r.RemoteAddr)
}

func (h *Hub) removeClient(c *client) {
	h.mu.Lock()
	delete(h.clients, c)
	h.mu.Unlock()
	c.mu.Lock()
	names := make([]string, 0, len(c.subs))
	for name := range c.subs {
		names = append(names, name)
	}
	c.mu.Unlock()
	for _, name := range names {
		h.unsubscribe(c, name)
	}
}

// subscribe adds c to the topic join as a joiner, under the name it asked
// for, unless it holds that name already: the hub goroutine's next flush
// of the topic sends it a snapshot.
func (h *Hub) subscribe(c *client, name, join string) {
	c.subMu.Lock()
	defer c.subMu.Unlock()
	c.mu.Lock()
	_, already := c.subs[name]
	c.mu.Unlock()
	if !already {
		h.add(c, name, join)
	}
}

// add adds c to the topic join under the name it asked for; the caller
// holds c.subMu and has checked that c does not hold name. Locks are taken
// topic first, then hub, never the other way: nobody waits for a topic
// while holding the hub's lock, which every publisher needs.
func (h *Hub) add(c *client, name, join string) {
	for {
		h.mu.Lock()
		t := h.topics[join]
		if t == nil {
			t = &topic{name: join, asked: name, subs: make(map[*client]struct{}), joiners: make(map[*client]struct{})}
			if !h.states[name] {
				t.dataview = strings.TrimPrefix(name, DataviewPrefix)
			}
			h.topics[join] = t
			if join != name {
				// Replaced, not appended to in place: Touch and Reset
				// range over the slice they read without the lock.
				h.variants[name] = append(slices.Clip(h.variants[name]), t)
			}
		}
		h.mu.Unlock()
		t.mu.Lock()
		if t.dead {
			t.mu.Unlock()
			continue // its last subscriber left meanwhile; look again
		}
		t.subs[c] = struct{}{}
		t.joiners[c] = struct{}{}
		c.mu.Lock()
		c.subs[name] = t
		c.mu.Unlock()
		t.mu.Unlock()
		h.markDirty(t)
		return
	}
}

// rejoin makes c, if it still subscribes to t, a joiner again, so that
// the next flush sends it a fresh snapshot.
func (h *Hub) rejoin(c *client, t *topic) {
	t.mu.Lock()
	_, still := t.subs[c]
	if still {
		t.joiners[c] = struct{}{}
	}
	t.mu.Unlock()
	if still {
		h.markDirty(t)
	}
}

// unsubscribe removes c's subscription to the name it asked for, if it
// holds one.
func (h *Hub) unsubscribe(c *client, name string) {
	c.subMu.Lock()
	defer c.subMu.Unlock()
	h.drop(c, name)
}

// drop removes c's subscription to name from c and from the topic it
// joined, and the topic once nobody subscribes to it. The caller holds
// c.subMu.
func (h *Hub) drop(c *client, name string) {
	c.mu.Lock()
	t := c.subs[name]
	delete(c.subs, name)
	c.mu.Unlock()
	if t == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.subs, c)
	delete(t.joiners, c)
	if len(t.subs) > 0 {
		return
	}
	t.dead = true
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.topics[t.name] == t {
		delete(h.topics, t.name)
	}
	if t.name == t.asked {
		return
	}
	if vs := slices.DeleteFunc(slices.Clone(h.variants[t.asked]), func(v *topic) bool { return v == t }); len(vs) > 0 {
		h.variants[t.asked] = vs
	} else {
		delete(h.variants, t.asked)
	}
}
