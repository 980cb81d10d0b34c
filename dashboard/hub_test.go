package dashboard

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/coder/websocket"
	gws "github.com/gorilla/websocket"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const wait = 20 * time.Second

// memSource is an in-memory Source: one dataview with one row whose cell
// tests set.
type memSource struct {
	mu    sync.Mutex
	snaps map[string]Snapshot
}

func (s *memSource) Snapshot(dv string) (Snapshot, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	snap, ok := s.snaps[dv]
	return snap, ok
}

func (s *memSource) set(dv, v string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.snaps[dv] = Snapshot{Dataview: dv, Columns: []string{"c"}, Rows: []Row{{Name: "r", Cells: []Cell{{V: v}}}}}
}

type frame struct {
	Type     string `json:"type"`
	Dataview string `json:"dataview"`
	Rows     []Row  `json:"rows"`
	Cells    []struct {
		R, C, V string
	} `json:"cells"`
	Removed []string `json:"removed"`
	Message string   `json:"message"`
}

type testHub struct {
	*Hub
	src    *memSource
	url    string
	set    *metrics.Set
	cancel context.CancelFunc
	done   chan struct{}
}

func startHub(t *testing.T, opts Options) *testHub {
	t.Helper()
	src := &memSource{snaps: map[string]Snapshot{}}
	opts.Logger = slog.New(slog.DiscardHandler)
	opts.Metrics = metrics.NewSet()
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
}

func (h *testHub) dial(t *testing.T) *wsClient {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	conn, _, err := websocket.Dial(ctx, h.url, nil)
	if err != nil {
		t.Fatal(err)
	}
	conn.SetReadLimit(64 << 20)
	t.Cleanup(func() { conn.CloseNow() })
	return &wsClient{t: t, conn: conn}
}

func (c *wsClient) send(op, dv string) {
	c.t.Helper()
	b, _ := json.Marshal(request{Op: op, Dataview: dv})
	if err := c.conn.Write(context.Background(), websocket.MessageText, b); err != nil {
		c.t.Fatal(err)
	}
}

func (c *wsClient) next(what string, match func(frame) bool) frame {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	for {
		_, data, err := c.conn.Read(ctx)
		if err != nil {
			c.t.Fatalf("waiting for %s: %v", what, err)
		}
		var f frame
		if err := json.Unmarshal(data, &f); err != nil {
			c.t.Fatalf("frame %q: %v", data, err)
		}
		if match(f) {
			return f
		}
	}
}

func cellUpdate(v string) Update {
	return Update{SampleTime: 1, Changes: []Change{{Row: "r", Column: "c", Cell: Cell{V: v}}}}
}

func TestSnapshotThenDeltas(t *testing.T) {
	h := startHub(t, Options{})
	h.src.set("a/b/c/d", "1")
	c := h.dial(t)
	c.send("subscribe", "a/b/c/d")
	snap := c.next("snapshot", func(f frame) bool { return f.Type == "snapshot" })
	if snap.Rows[0].Cells[0].V != "1" {
		t.Fatalf("snapshot = %+v", snap)
	}
	waitWatched(t, h.Hub, "a/b/c/d")
	h.Publish("a/b/c/d", cellUpdate("2"))
	d := c.next("delta", func(f frame) bool { return f.Type == "delta" })
	if len(d.Cells) != 1 || d.Cells[0].R != "r" || d.Cells[0].C != "c" || d.Cells[0].V != "2" {
		t.Fatalf("delta = %+v", d)
	}
	h.Publish("a/b/c/d", Update{RemovedRows: []string{"r"}})
	if f := c.next("removal", func(f frame) bool { return f.Type == "delta" }); len(f.Removed) != 1 {
		t.Fatalf("removal delta = %+v", f)
	}
	h.Gone("a/b/c/d")
	c.next("gone", func(f frame) bool { return f.Type == "gone" && f.Dataview == "a/b/c/d" })

	c.send("unsubscribe", "a/b/c/d")
	waitUnwatched(t, h.Hub, "a/b/c/d")
}

// Reset sends subscribers a fresh snapshot, built by the hub's goroutine
// rather than the caller's.
func TestResetSendsSnapshot(t *testing.T) {
	h := startHub(t, Options{})
	h.src.set("a/b/c/d", "1")
	c := h.dial(t)
	c.send("subscribe", "a/b/c/d")
	c.next("first snapshot", func(f frame) bool { return f.Type == "snapshot" })
	waitWatched(t, h.Hub, "a/b/c/d")
	h.src.set("a/b/c/d", "2")
	h.Reset("a/b/c/d")
	snap := c.next("snapshot after reset", func(f frame) bool { return f.Type == "snapshot" })
	if v := snap.Rows[0].Cells[0].V; v != "2" {
		t.Fatalf("snapshot after reset holds %q, want 2", v)
	}
}

func TestUnknownDataviewAndBadRequests(t *testing.T) {
	h := startHub(t, Options{MaxSubscriptions: 2, QueueLen: 8})
	c := h.dial(t)
	c.send("subscribe", "no/such/data/view")
	c.next("gone for an unknown dataview", func(f frame) bool { return f.Type == "gone" })
	c.send("dance", "x")
	c.next("error for an unknown op", func(f frame) bool { return f.Type == "error" && strings.Contains(f.Message, "dance") })
	c.conn.Write(context.Background(), websocket.MessageText, []byte("{not json"))
	c.next("error for bad JSON", func(f frame) bool { return f.Type == "error" })
	c.send("subscribe", "x/x/x/2")
	c.send("subscribe", "x/x/x/3")
	c.next("error past the subscription limit", func(f frame) bool {
		return f.Type == "error" && strings.Contains(f.Message, "at most 2")
	})
}

func waitWatched(t *testing.T, h *Hub, dv string) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for !h.Watched(dv) {
		if time.Now().After(deadline) {
			t.Fatalf("%s never watched", dv)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func waitUnwatched(t *testing.T, h *Hub, dv string) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for h.Watched(dv) {
		if time.Now().After(deadline) {
			t.Fatalf("%s still watched", dv)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// With a subscriber's queue busy, a topic holds its changes back for the
// coalescing window and then sends one frame with the latest value of each
// cell. Flush times are passed in, so this runs without sleeping.
func TestBusyTopicCoalesces(t *testing.T) {
	src := &memSource{snaps: map[string]Snapshot{}}
	h := NewHub(src, Options{Logger: slog.New(slog.DiscardHandler), Coalesce: 100 * time.Millisecond, QueueLen: 16})
	c := &client{hub: h, send: make(chan *gws.PreparedMessage, 16), resync: make(chan struct{}, 1), subs: map[string]*topic{}}
	tp := &topic{name: "dv", subs: map[*client]struct{}{c: {}}}
	h.topics["dv"] = tp
	t0 := time.Now()

	h.Publish("dv", cellUpdate("1"))
	if wait := h.flush(t0); wait != 0 || len(c.send) != 1 {
		t.Fatalf("idle client: wait=%v queued=%d, want an immediate frame", wait, len(c.send))
	}
	// The client has not written that frame yet: its queue is busy.
	h.Publish("dv", cellUpdate("2"))
	h.Publish("dv", cellUpdate("3"))
	if wait := h.flush(t0.Add(10 * time.Millisecond)); wait != 90*time.Millisecond || len(c.send) != 1 {
		t.Fatalf("busy client: wait=%v queued=%d, want the frame held back 90ms", wait, len(c.send))
	}
	if len(tp.pending.order) != 1 || tp.pending.cells[cellKey{row: "r", col: "c"}].V != "3" {
		t.Fatalf("held-back changes = %+v, want only the latest value 3", tp.pending.cells)
	}
	if wait := h.flush(t0.Add(100 * time.Millisecond)); wait != 0 || len(c.send) != 2 {
		t.Fatalf("after the window: wait=%v queued=%d, want a second frame", wait, len(c.send))
	}
	if !tp.pending.empty() {
		t.Fatal("changes still pending after their frame went out")
	}

	// A second, idle subscriber gets changes at once, busy first one or not.
	idle := &client{hub: h, send: make(chan *gws.PreparedMessage, 16), resync: make(chan struct{}, 1), subs: map[string]*topic{}}
	tp.subs[idle] = struct{}{}
	h.Publish("dv", cellUpdate("4"))
	if wait := h.flush(t0.Add(110 * time.Millisecond)); wait != 0 || len(idle.send) != 1 {
		t.Fatalf("with an idle subscriber: wait=%v queued=%d, want an immediate frame", wait, len(idle.send))
	}
	if got := h.framesCoalesced.Get(); got != 1 {
		t.Fatalf("coalesced frames = %d, want 1 (the 2 folded into the 3)", got)
	}
}

// A client that stops reading fills its queue and is cut off when its
// socket stays blocked; publishers never block and other clients keep up.
func TestSlowClientNeverBlocksOthers(t *testing.T) {
	// A 1 ms window so frames are not coalesced away: the point here is a
	// queue that overflows.
	h := startHub(t, Options{QueueLen: 4, WriteTimeout: 2 * time.Second, Coalesce: time.Millisecond})
	h.src.set("dv/dv/dv/dv", "0")
	slow := h.dial(t) // never reads after subscribing
	fast := h.dial(t)
	slow.send("subscribe", "dv/dv/dv/dv")
	fast.send("subscribe", "dv/dv/dv/dv")
	fast.next("snapshot", func(f frame) bool { return f.Type == "snapshot" })

	got := make(chan string, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		for {
			_, data, err := fast.conn.Read(ctx)
			if err != nil {
				got <- err.Error()
				return
			}
			if bytes.Contains(data, []byte(`"v":"final"`)) {
				got <- "final"
				return
			}
		}
	}()

	big := strings.Repeat("x", 128<<10)
	start := time.Now()
	var publishing time.Duration
	for i := range 200 {
		v := big + string(rune('a'+i%26))
		h.src.set("dv/dv/dv/dv", v)
		p := time.Now()
		h.Publish("dv/dv/dv/dv", cellUpdate(v))
		publishing += time.Since(p)
		time.Sleep(time.Millisecond) // pace the load so frames go out one by one
	}
	h.src.set("dv/dv/dv/dv", "final")
	h.Publish("dv/dv/dv/dv", cellUpdate("final"))
	if publishing > 5*time.Second {
		t.Fatalf("publishing took %v of %v: a slow client is blocking the publisher", publishing, time.Since(start))
	}
	if last := <-got; last != "final" {
		t.Fatalf("fast client's last value = %.10q, want final", last)
	}
	deadline := time.Now().Add(wait)
	for h.dropped.Get() == 0 || h.slowDisconnects.Get() == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("dropped=%d slow disconnects=%d: the slow client's overflow was not handled", h.dropped.Get(), h.slowDisconnects.Get())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Stopping the hub disconnects its clients and ends every goroutine it
// started (goleak checks the rest).
func TestRunStopsClients(t *testing.T) {
	h := startHub(t, Options{})
	c := h.dial(t)
	c.send("subscribe", "a/a/a/a")
	c.next("gone", func(f frame) bool { return f.Type == "gone" })
	h.cancel()
	<-h.done
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if _, _, err := c.conn.Read(ctx); err == nil {
		t.Fatal("client still connected after the hub stopped")
	}
	if n := h.Clients(); n != 0 {
		t.Fatalf("%d clients after stop", n)
	}
}

// A client whose queue overflows has its queued frames replaced by a fresh
// snapshot of each subscription; one that overflows too often is cut off.
func TestOverflowResyncs(t *testing.T) {
	src := &memSource{snaps: map[string]Snapshot{}}
	src.set("dv", "now")
	h := NewHub(src, Options{Logger: slog.New(slog.DiscardHandler), QueueLen: 4, MaxSubscriptions: 2})
	c := &client{hub: h, send: make(chan *gws.PreparedMessage, 4), resync: make(chan struct{}, 1), subs: map[string]*topic{}}
	tp := &topic{name: "dv", subs: map[*client]struct{}{c: {}}}
	c.subs["dv"] = tp
	h.topics["dv"] = tp

	for i := range 5 {
		h.Publish("dv", cellUpdate(string(rune('a'+i))))
		h.flush(time.Now().Add(time.Duration(i) * time.Second))
	}
	if h.dropped.Get() != 1 || len(c.resync) != 1 {
		t.Fatalf("dropped=%d resync requested=%d, want the fifth frame dropped and a resync", h.dropped.Get(), len(c.resync))
	}
	<-c.resync
	if !c.doResync() {
		t.Fatal("first resync cut the client off")
	}
	if len(c.send) != 1 || h.resyncs.Get() != 1 {
		t.Fatalf("after resync %d frames queued (resyncs=%d), want one snapshot", len(c.send), h.resyncs.Get())
	}
	for range maxResyncs - 1 {
		c.doResync()
	}
	if c.doResync() {
		t.Fatalf("a client resynced %d times within %v was not cut off", maxResyncs+1, resyncWindow)
	}
}
