package dashboard

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// written takes every frame queued for c as its write loop would,
// numbering each for pacing, and decodes them.
func written(t *testing.T, c *client) []frame {
	t.Helper()
	var out []frame
	for _, m := range queued(c) {
		c.sent.Add(1)
		out = append(out, decode(t, dataOf(m)))
	}
	return out
}

// A paced client that stops acknowledging gets nothing more for its
// topics once its window is full, however long and however much changes,
// and is neither resynchronised nor cut off; nothing is encoded for it
// meanwhile. Its ack brings one fresh snapshot of each topic it missed,
// with the latest state, and no stale frame before it.
func TestPacedClientIsHeldBackNotCutOff(t *testing.T) {
	src := newMemSource()
	src.set(dvTopic, "0")
	src.setKey("a", "0")
	h := newTestHub(src, Options{QueueLen: 16})
	c := newTestClient(h)
	if err := c.pace(2); err != nil {
		t.Fatal(err)
	}
	h.subscribe(c, dvTopic, dvTopic)
	h.subscribe(c, treeTopic, treeTopic)
	t0 := time.Unix(1_800_000_000, 0)
	h.flush(t0)
	if got := written(t, c); len(got) != 2 {
		t.Fatalf("%d frames for a paced client's two subscriptions, want two snapshots: %+v", len(got), got)
	}

	for i := range 100 {
		v := fmt.Sprint(i + 1)
		src.set(dvTopic, v)
		h.Publish(dvTopic, cellUpdate(v))
		src.setKey("a", v)
		h.Touch(treeTopic, "a")
		h.flush(t0.Add(time.Duration(i+1) * time.Second))
		if got := written(t, c); len(got) != 0 {
			t.Fatalf("change %d: a paced client with its window full was sent %+v", i+1, got)
		}
	}
	if got := h.held.Get(); got != 200 {
		t.Fatalf("frames held = %d, want 200 (two topics' frames, 100 times)", got)
	}
	if h.resyncs.Get() != 0 || h.dropped.Get() != 0 || len(c.resync) != 0 || h.slowDisconnects.Get() != 0 {
		t.Fatalf("resyncs %d, dropped %d, resync requested %d, cut off %d: want none for a held-back client",
			h.resyncs.Get(), h.dropped.Get(), len(c.resync), h.slowDisconnects.Get())
	}
	if n, d := src.snapshots(dvTopic), len(src.deltaKeys()); n != 1 || d != 0 {
		t.Fatalf("the Source made %d snapshots and %d deltas for nobody, want 1 (the first) and 0", n, d)
	}

	if err := c.ack(2); err != nil {
		t.Fatal(err)
	}
	if got := h.catchUps.Get(); got != 2 {
		t.Fatalf("catch-ups = %d after the ack, want 2: both topics", got)
	}
	h.flush(t0.Add(200 * time.Second))
	got := map[string]frame{}
	for _, f := range written(t, c) {
		if _, dup := got[f.Topic]; dup || f.Type != "snapshot" {
			t.Fatalf("after the ack got %+v, want one snapshot of each topic", f)
		}
		got[f.Topic] = f
	}
	if dv, tree := got[dvTopic], got[treeTopic]; len(dv.Rows) != 1 || dv.Rows[0].Cells[0].V != "100" || tree.Keys["a"] == nil || *tree.Keys["a"] != "100" {
		t.Fatalf("after the ack got %+v, want the dataview's and the tree's latest values, 100", got)
	}

	// Under its window again, it gets deltas as before.
	if err := c.ack(4); err != nil {
		t.Fatal(err)
	}
	h.Publish(dvTopic, cellUpdate("101"))
	h.flush(t0.Add(201 * time.Second))
	if f := written(t, c); len(f) != 1 || f[0].Type != "delta" || f[0].Cells[0].V != "101" {
		t.Fatalf("a paced client that has acknowledged all got %+v, want the delta with 101", f)
	}
}

// The window counts frames written and frames still queued: a paced
// client gets frames until that many are unacknowledged, and an ack of
// some lets as many more through.
func TestPaceWindow(t *testing.T) {
	src := newMemSource()
	src.set(dvTopic, "0")
	h := newTestHub(src, Options{QueueLen: 16})
	c := newTestClient(h)
	if err := c.pace(3); err != nil {
		t.Fatal(err)
	}
	h.subscribe(c, dvTopic, dvTopic)
	t0 := time.Unix(1_800_000_000, 0)
	h.flush(t0)
	written(t, c)
	for i := range 4 {
		h.Publish(dvTopic, cellUpdate(fmt.Sprint(i+1)))
		h.flush(t0.Add(time.Duration(i+1) * time.Second))
	}
	if n, held := len(c.send), h.held.Get(); n != 2 || held != 2 {
		t.Fatalf("queued %d with one written, held %d; want two queued (a window of three) and two held", n, held)
	}
	written(t, c)
	if err := c.ack(1); err != nil {
		t.Fatal(err)
	}
	src.set(dvTopic, "4")
	h.flush(t0.Add(10 * time.Second))
	if f := written(t, c); len(f) != 1 || f[0].Type != "snapshot" || f[0].Rows[0].Cells[0].V != "4" {
		t.Fatalf("after acknowledging one frame got %+v, want the snapshot with the latest value", f)
	}
}

// A paced client with frames unacknowledged is busy, its queue empty or
// not: its topic's changes wait for the coalescing window, and go at once
// when it has acknowledged them all.
func TestPacedClientCoalescesUntilAcknowledged(t *testing.T) {
	src := newMemSource()
	src.set(dvTopic, "0")
	h := newTestHub(src, Options{QueueLen: 16, Coalesce: 100 * time.Millisecond})
	c := newTestClient(h)
	if err := c.pace(8); err != nil {
		t.Fatal(err)
	}
	h.subscribe(c, dvTopic, dvTopic)
	t0 := time.Unix(1_800_000_000, 0)
	h.flush(t0)
	h.Publish(dvTopic, cellUpdate("1"))
	h.flush(t0.Add(time.Second))
	if f := written(t, c); len(f) != 2 {
		t.Fatalf("got %+v, want the snapshot and a delta", f)
	}
	h.Publish(dvTopic, cellUpdate("2"))
	if wait := h.flush(t0.Add(time.Second + 10*time.Millisecond)); wait != 90*time.Millisecond || len(c.send) != 0 {
		t.Fatalf("with two frames unacknowledged: wait=%v queued=%d, want the change held back 90ms", wait, len(c.send))
	}
	if err := c.ack(2); err != nil {
		t.Fatal(err)
	}
	h.Publish(dvTopic, cellUpdate("3"))
	if wait := h.flush(t0.Add(time.Second + 20*time.Millisecond)); wait != 0 {
		t.Fatalf("with every frame acknowledged the change waited %v", wait)
	}
	if f := written(t, c); len(f) != 1 || f[0].Cells[0].V != "3" {
		t.Fatalf("got %+v, want the delta with the latest value, 3", f)
	}
}

// An unpaced client is not held back, however many frames it has been
// sent, and a paced subscriber that stops acknowledging does not delay
// it: with its queue empty, each change goes out at once.
func TestUnpacedClientUnchanged(t *testing.T) {
	src := newMemSource()
	src.set(dvTopic, "0")
	h := newTestHub(src, Options{QueueLen: 16, Coalesce: time.Second})
	paced, plain := newTestClient(h), newTestClient(h)
	if err := paced.pace(1); err != nil {
		t.Fatal(err)
	}
	h.subscribe(paced, dvTopic, dvTopic)
	h.subscribe(plain, dvTopic, dvTopic)
	t0 := time.Unix(1_800_000_000, 0)
	h.flush(t0)
	written(t, paced)
	written(t, plain)
	for i := range 20 {
		v := fmt.Sprint(i + 1)
		h.Publish(dvTopic, cellUpdate(v))
		if wait := h.flush(t0.Add(time.Duration(i+1) * time.Millisecond)); wait != 0 {
			t.Fatalf("change %s held back %v for an idle unpaced client", v, wait)
		}
		if f := written(t, plain); len(f) != 1 || f[0].Type != "delta" || f[0].Cells[0].V != v {
			t.Fatalf("change %s: the unpaced client got %+v, want its delta", v, f)
		}
		if f := written(t, paced); len(f) != 0 {
			t.Fatalf("change %s: the paced client, its window full, got %+v", v, f)
		}
	}
	if got := h.held.Get(); got != 20 {
		t.Fatalf("frames held = %d, want 20, all the paced client's", got)
	}
	if err := plain.ack(21); err == nil || !strings.Contains(err.Error(), "not paced") {
		t.Fatalf("an unpaced client's ack: %v, want refused as not paced", err)
	}
}

// read reads the next frame, heartbeats included.
func (c *wsClient) read() frame {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	_, data, err := c.conn.Read(ctx)
	if err != nil {
		c.t.Fatalf("read: %v", err)
	}
	return decode(c.t, data)
}

// raw sends a request as written.
func (c *wsClient) raw(request string) {
	c.t.Helper()
	if err := c.conn.Write(context.Background(), websocket.MessageText, []byte(request)); err != nil {
		c.t.Fatal(err)
	}
}

// Over a real socket: the write loop numbers frames as the browser does,
// heartbeats aside; a paced browser that stops acknowledging hears only
// heartbeats, is not cut off, and its ack brings the latest value.
func TestPacingOverTheSocket(t *testing.T) {
	h := startHub(t, Options{Heartbeat: 20 * time.Millisecond, Coalesce: 5 * time.Millisecond})
	h.src.set(dvTopic, "0")
	c := h.dial(t)
	c.raw(`{"op":"pace","window":1}`)
	c.send("subscribe", dvTopic)
	c.next("the snapshot", func(f frame) bool { return f.Type == "snapshot" })

	v := 0
	for h.held.Get() == 0 {
		v++
		h.src.set(dvTopic, fmt.Sprint(v))
		h.Publish(dvTopic, cellUpdate(fmt.Sprint(v)))
		if f := c.read(); f.Type != "heartbeat" {
			t.Fatalf("a paced client with its window full got %+v, want only heartbeats", f)
		}
	}
	for range 5 {
		v++
		h.src.set(dvTopic, fmt.Sprint(v))
		h.Publish(dvTopic, cellUpdate(fmt.Sprint(v)))
		if f := c.read(); f.Type != "heartbeat" {
			t.Fatalf("a paced client with its window full got %+v, want only heartbeats", f)
		}
	}
	c.raw(fmt.Sprintf(`{"op":"ack","seq":%d}`, c.frames))
	f := c.next("the snapshot after the ack", func(f frame) bool { return true })
	if f.Type != "snapshot" || f.Rows[0].Cells[0].V != fmt.Sprint(v) {
		t.Fatalf("after the ack got %+v, want a snapshot with the latest value %d", f, v)
	}
	if h.resyncs.Get() != 0 || h.slowDisconnects.Get() != 0 || h.Clients() != 1 {
		t.Fatalf("resyncs %d, cut off %d, clients %d: want a paced client neither resynchronised nor cut off",
			h.resyncs.Get(), h.slowDisconnects.Get(), h.Clients())
	}
}

// Every bad pace or ack request gets an error frame, counted as a frame
// like any other, and changes nothing: the connection goes on.
func TestBadPaceAndAcks(t *testing.T) {
	h := startHub(t, Options{})
	h.src.set(dvTopic, "0")
	c := h.dial(t)
	bad := func(name, request, wantMessage string) {
		t.Helper()
		c.raw(request)
		got := c.next(name, func(f frame) bool { return true })
		if got.Type != "error" || got.Topic != "" || !strings.Contains(got.Message, wantMessage) {
			t.Errorf("%s: got %+v, want an error saying %q", name, got, wantMessage)
		}
	}
	bad("an ack before pacing", `{"op":"ack","seq":0}`, "not paced")
	bad("a window of none", `{"op":"pace","window":0}`, "1 to 128 frames")
	bad("a window past half the queue", `{"op":"pace","window":129}`, "1 to 128 frames")
	bad("a window that is not a number", `{"op":"pace","window":"big"}`, "bad request")
	c.raw(`{"op":"pace","window":4}`)
	bad("pacing twice", `{"op":"pace"}`, "paced already (window 4)")
	bad("an ack without a seq", `{"op":"ack"}`, "needs a seq")
	bad("a seq that is a string", `{"op":"ack","seq":"3"}`, "bad request")
	bad("a negative seq", `{"op":"ack","seq":-1}`, "bad request")
	bad("a fractional seq", `{"op":"ack","seq":1.5}`, "bad request")
	bad("an ack of a frame never sent", fmt.Sprintf(`{"op":"ack","seq":%d}`, c.frames+5), fmt.Sprintf("but %d frames were sent", c.frames))
	c.raw(fmt.Sprintf(`{"op":"ack","seq":%d}`, c.frames))
	bad("an ack going back", fmt.Sprintf(`{"op":"ack","seq":%d}`, c.frames-1), "after an ack of frame")

	c.send("subscribe", dvTopic)
	c.next("the snapshot", func(f frame) bool { return f.Type == "snapshot" })
	h.Publish(dvTopic, cellUpdate("1"))
	c.next("the delta", func(f frame) bool { return f.Type == "delta" && f.Cells[0].V == "1" })
	if got := h.held.Get(); got != 0 {
		t.Fatalf("frames held = %d for a client under its window", got)
	}
}

// A connection that has nothing to say hears a heartbeat every Heartbeat;
// heartbeats are not numbered for pacing.
func TestHeartbeats(t *testing.T) {
	h := startHub(t, Options{Heartbeat: 20 * time.Millisecond})
	c := h.dial(t)
	c.raw(`{"op":"pace"}`)
	for i := range 3 {
		if f := c.read(); f.Type != "heartbeat" || f.Topic != "" {
			t.Fatalf("frame %d of an idle connection: %+v, want a heartbeat", i, f)
		}
	}
	c.raw(`{"op":"ack","seq":1}`)
	f := c.next("the refused ack", func(f frame) bool { return true })
	if f.Type != "error" || !strings.Contains(f.Message, "but 0 frames were sent") {
		t.Fatalf("an ack of a heartbeat got %+v, want an error: heartbeats are not numbered", f)
	}
}

// BenchmarkPublishAndFlushPaced is BenchmarkPublishAndFlush with every
// subscriber paced and acknowledging each frame, or, held, never
// acknowledging: what pacing adds to the hub's share of a tick, and what
// a held-back topic costs (nothing is encoded for it).
func BenchmarkPublishAndFlushPaced(b *testing.B) {
	b.Run("acking", func(b *testing.B) { benchPublishAndFlush(b, 1, true) })
	b.Run("held", func(b *testing.B) { benchPublishAndFlush(b, 1, false) })
}
