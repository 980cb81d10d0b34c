// Package dashboard is the browser-facing WebSocket hub: browsers subscribe
// to dataviews, get a snapshot, then deltas. The hub holds no business
// state: snapshots come from a Source, changes from Publish.
//
// A dataview's changes accumulate in its topic, keeping the latest value of
// each cell, and go out as one frame encoded once for all subscribers. A
// frame goes out at once if any subscriber's queue is empty; only while
// every subscriber is still busy with earlier frames does the topic wait,
// until Coalesce has passed since its last frame. A client whose bounded
// queue overflows is resynchronised with fresh snapshots, and one that
// cannot keep up even so is cut off; neither slows the publisher or other
// clients.
package dashboard

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/gorilla/websocket"
)

// Source gives the current state of a dataview. It must not call back into
// the hub.
type Source interface {
	Snapshot(dataview string) (Snapshot, bool)
}

// Options tune a Hub. Zero values take the defaults.
type Options struct {
	Logger *slog.Logger
	// Metrics receives the hub's counters; nil means a private set.
	Metrics *metrics.Set
	// Coalesce is the longest a busy topic holds changes back (100 ms).
	Coalesce time.Duration
	// QueueLen bounds each client's queue of frames (256).
	QueueLen int
	// MaxSubscriptions bounds the dataviews one client watches (64).
	MaxSubscriptions int
	// WriteTimeout disconnects a client whose socket accepts nothing for
	// this long (10 s).
	WriteTimeout time.Duration
}

// Hub fans dataview changes out to browser clients. Publish, Gone and Reset
// are safe for concurrent use and never block on a client.
type Hub struct {
	src  Source
	opts Options
	log  *slog.Logger
	up   websocket.Upgrader

	mu      sync.RWMutex
	topics  map[string]*topic
	clients map[*client]struct{}
	closed  bool
	wg      sync.WaitGroup // client goroutines

	dirtyMu sync.Mutex
	dirty   map[*topic]struct{}
	wake    chan struct{}

	framesSent, framesCoalesced, cellsSent, resyncs, dropped, slowDisconnects *metrics.Counter
}

type topic struct {
	name string

	mu        sync.Mutex
	subs      map[*client]struct{}
	pending   pending
	lastFlush time.Time
	reset     bool // subscribers need a fresh snapshot, not a delta
	dead      bool // removed from the hub; a subscriber must look again
}

// NewHub returns a hub serving snapshots from src. Run must be running for
// deltas to flow.
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
	h := &Hub{
		src:     src,
		opts:    opts,
		log:     opts.Logger,
		topics:  make(map[string]*topic),
		clients: make(map[*client]struct{}),
		dirty:   make(map[*topic]struct{}),
		wake:    make(chan struct{}, 1),
	}
	m := opts.Metrics
	h.framesSent = m.NewCounter("watchfloor_dashboard_frames_sent_total")
	h.framesCoalesced = m.NewCounter("watchfloor_dashboard_frames_coalesced_total")
	h.cellsSent = m.NewCounter("watchfloor_dashboard_cells_sent_total")
	h.resyncs = m.NewCounter("watchfloor_dashboard_resyncs_total")
	h.dropped = m.NewCounter("watchfloor_dashboard_frames_dropped_total")
	h.slowDisconnects = m.NewCounter("watchfloor_dashboard_slow_disconnects_total")
	m.NewGauge("watchfloor_dashboard_clients", func() float64 { return float64(h.Clients()) })
	return h
}

// Clients returns the number of connected browser clients.
func (h *Hub) Clients() int {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return len(h.clients)
}

// topic returns the dataview's topic, nil if nobody subscribes to it.
func (h *Hub) topic(dataview string) *topic {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return h.topics[dataview]
}

// Watched reports whether any client subscribes to the dataview, so
// publishers can skip building updates nobody will see.
func (h *Hub) Watched(dataview string) bool { return h.topic(dataview) != nil }

// Publish records a dataview's changes for its subscribers.
func (h *Hub) Publish(dataview string, u Update) {
	t := h.topic(dataview)
	if t == nil {
		return
	}
	t.mu.Lock()
	if !t.pending.empty() {
		h.framesCoalesced.Inc()
	}
	t.pending.add(&u)
	t.mu.Unlock()
	h.markDirty(t)
}

// Gone tells the dataview's subscribers it no longer exists.
func (h *Hub) Gone(dataview string) {
	t := h.topic(dataview)
	if t == nil {
		return
	}
	b, _ := json.Marshal(gone{Type: "gone", Dataview: dataview})
	pm, err := websocket.NewPreparedMessage(websocket.TextMessage, b)
	if err != nil {
		h.log.Error("prepare frame", "dataview", dataview, "err", err)
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.pending.reset()
	t.reset = false
	for c := range t.subs {
		h.enqueue(c, pm)
	}
}

// Reset gives the dataview's subscribers a fresh snapshot, for changes a
// delta cannot express (its columns changed, or it reappeared). The
// snapshot is built and encoded by the hub's own goroutine, never the
// caller's: the caller is a probe's ingest path.
func (h *Hub) Reset(dataview string) {
	t := h.topic(dataview)
	if t == nil {
		return
	}
	t.mu.Lock()
	t.reset = true
	t.pending.reset()
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
		if next := h.flush(time.Now()); next > 0 {
			timer.Reset(next)
		}
	}
}

// flush sends the frames that are due and returns how long until the next
// held-back topic is due (0 if none).
func (h *Hub) flush(now time.Time) time.Duration {
	h.dirtyMu.Lock()
	topics := make([]*topic, 0, len(h.dirty))
	for t := range h.dirty {
		topics = append(topics, t)
	}
	clear(h.dirty)
	h.dirtyMu.Unlock()

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

func (h *Hub) flushTopic(t *topic, now time.Time) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.subs) == 0 {
		return 0
	}
	if t.reset {
		// The snapshot holds every change applied so far, so the pending
		// ones go with it.
		t.reset = false
		t.pending.reset()
		t.lastFlush = now
		for c := range t.subs {
			h.sendSnapshot(c, t)
		}
		return 0
	}
	if t.pending.empty() {
		return 0
	}
	// Hold changes back only while every subscriber is still busy with
	// earlier frames: one slow client must not delay the others.
	if since := now.Sub(t.lastFlush); since < h.opts.Coalesce && allBusy(t) {
		return h.opts.Coalesce - since
	}
	frame, cells := t.pending.encode(t.name)
	t.pending.reset()
	t.lastFlush = now
	pm, err := websocket.NewPreparedMessage(websocket.TextMessage, frame)
	if err != nil {
		h.log.Error("prepare frame", "dataview", t.name, "err", err)
		return 0
	}
	h.cellsSent.Add(cells)
	for c := range t.subs {
		h.enqueue(c, pm)
	}
	return 0
}

func allBusy(t *topic) bool {
	for c := range t.subs {
		if len(c.send) == 0 {
			return false
		}
	}
	return true
}

// enqueue hands a frame to a client without ever blocking; a full queue
// turns into a resync. Callers hold the topic's lock, which keeps a topic's
// frames in order.
func (h *Hub) enqueue(c *client, pm *websocket.PreparedMessage) {
	select {
	case c.send <- pm:
		h.framesSent.Inc()
	default:
		h.dropped.Inc()
		c.requestResync()
	}
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

// ServeHTTP upgrades a browser's request and serves it until it goes away or
// the hub shuts down. The Origin header must match the Host (gorilla's
// default check), so other sites cannot read the grid through a browser.
func (h *Hub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	conn, err := h.up.Upgrade(w, r, nil)
	if err != nil {
		h.log.Info("dashboard upgrade refused", "remote", r.RemoteAddr, "err", err)
		return
	}
	c := &client{
		hub:    h,
		conn:   conn,
		remote: r.RemoteAddr,
		send:   make(chan *websocket.PreparedMessage, h.opts.QueueLen),
		resync: make(chan struct{}, 1),
		subs:   make(map[string]*topic),
	}
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		conn.Close()
		h.log.Info("dashboard client refused", "err", errHubClosed)
		return
	}
	h.clients[c] = struct{}{}
	h.wg.Add(2)
	h.mu.Unlock()

	done := make(chan struct{})
	go func() {
		defer h.wg.Done()
		c.writeLoop(done)
	}()
	defer h.wg.Done()
	c.readLoop()
	close(done)
	h.removeClient(c)
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

// subscribe adds c to the dataview's topic and queues its snapshot, all
// under the topic's lock, so no change falls between the snapshot and the
// first delta. Locks are taken topic first, then hub, never the other way:
// nobody waits for a topic while holding the hub's lock, which every
// publisher needs.
func (h *Hub) subscribe(c *client, dataview string) {
	for {
		h.mu.Lock()
		t := h.topics[dataview]
		if t == nil {
			t = &topic{name: dataview, subs: make(map[*client]struct{})}
			h.topics[dataview] = t
		}
		h.mu.Unlock()
		t.mu.Lock()
		if t.dead {
			t.mu.Unlock()
			continue // its last subscriber left meanwhile; look again
		}
		t.subs[c] = struct{}{}
		c.mu.Lock()
		c.subs[dataview] = t
		c.mu.Unlock()
		h.sendSnapshot(c, t)
		t.mu.Unlock()
		return
	}
}

// sendSnapshot queues a snapshot of t for c. The caller holds t.mu.
func (h *Hub) sendSnapshot(c *client, t *topic) {
	var frame []byte
	if snap, ok := h.src.Snapshot(t.name); ok {
		frame = encodeSnapshot(snap)
	} else {
		frame, _ = json.Marshal(gone{Type: "gone", Dataview: t.name})
	}
	pm, err := websocket.NewPreparedMessage(websocket.TextMessage, frame)
	if err != nil {
		h.log.Error("prepare snapshot", "dataview", t.name, "err", err)
		return
	}
	h.enqueue(c, pm)
}

func (h *Hub) unsubscribe(c *client, dataview string) {
	c.mu.Lock()
	t := c.subs[dataview]
	delete(c.subs, dataview)
	c.mu.Unlock()
	if t == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.subs, c)
	if len(t.subs) == 0 {
		t.dead = true
		h.mu.Lock()
		if h.topics[dataview] == t {
			delete(h.topics, dataview)
		}
		h.mu.Unlock()
	}
}

func encodeSnapshot(s Snapshot) []byte {
	s.Type = "snapshot"
	if s.Columns == nil {
		s.Columns = []string{}
	}
	if s.Rows == nil {
		s.Rows = []Row{}
	}
	if s.Headlines == nil {
		s.Headlines = []Headline{}
	}
	b, err := json.Marshal(s)
	if err != nil {
		panic("dashboard: encode snapshot: " + err.Error())
	}
	return b
}
