package dashboard

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

const (
	maxRequest   = 4096
	pingInterval = 30 * time.Second
	readTimeout  = 2 * pingInterval
	// A client resynchronised this often within resyncWindow cannot keep
	// up even with coalesced frames, so it is cut off.
	maxResyncs   = 10
	resyncWindow = time.Minute
)

// message is one encoded frame, prepared once for every client it goes to.
type message struct {
	pm       *websocket.PreparedMessage
	snapshot bool
	// notice marks a notice, about the topic about (as the browser asked
	// for it): unlike a topic's frame, no snapshot replaces it, so a
	// resync keeps it.
	notice bool
	about  string
}

// client is one browser connection: readLoop owns the socket's reads,
// writeLoop its writes, and send is the only way frames reach it.
type client struct {
	hub       *Hub
	conn      *websocket.Conn
	remote    string
	principal any // from Authorizer.Connect
	send      chan *message
	resync    chan struct{}
	resyncing atomic.Bool   // its queue overflowed and its resync has not drained it yet
	kicked    chan struct{} // closed by kick: writeLoop sends closeMsg and ends

	// subMu serialises changes to the client's subscriptions: its own
	// requests, Reauthorize's decisions and its leaving. It is taken
	// before any other lock and never held while calling the Authorizer.
	subMu sync.Mutex

	mu   sync.Mutex
	subs map[string]*topic   // by the name asked for; the topic joined
	owed []notice            // notices dropped with a full queue, sent at its resync
	held map[*topic]struct{} // topics whose frames were held back for pacing

	// Pacing (pacing.go): window is 0 for a client that is not paced,
	// and changes once, under mu; sent counts the frames the write loop
	// has taken from send, heartbeats aside, which the browser numbers
	// the same way; acked, changed under mu, is the last it acknowledged.
	window      atomic.Int64
	sent, acked atomic.Uint64

	closeMu  sync.Mutex
	closed   bool        // kicked, or its write loop has ended
	closeMsg []byte      // the close frame's payload, set before kicked is closed
	backstop *time.Timer // closes the socket closeWait after a kick

	resyncTimes []time.Time // owned by writeLoop
}

func newClient(h *Hub, conn *websocket.Conn, remote string, principal any) *client {
	return &client{
		hub:       h,
		conn:      conn,
		remote:    remote,
		principal: principal,
		send:      make(chan *message, h.opts.QueueLen),
		resync:    make(chan struct{}, 1),
		kicked:    make(chan struct{}),
		subs:      make(map[string]*topic),
		held:      make(map[*topic]struct{}),
	}
}

// kick has the write loop send a close frame with payload msg and end;
// whatever the write loop is doing, the socket is closed after wait. It
// reports false if the client was closing already.
func (c *client) kick(msg []byte, wait time.Duration) bool {
	c.closeMu.Lock()
	defer c.closeMu.Unlock()
	if c.closed {
		return false
	}
	c.closed = true
	c.closeMsg = msg
	// A write loop stuck writing to a browser that reads nothing would
	// only notice the kick at WriteTimeout. Close interrupts it; gorilla's
	// Conn documents that "the Close and WriteControl methods can be
	// called concurrently with all other methods".
	c.backstop = time.AfterFunc(wait, func() { c.conn.Close() })
	close(c.kicked)
	return true
}

// closing reports whether the client was kicked or its write loop ended.
func (c *client) closing() bool {
	c.closeMu.Lock()
	defer c.closeMu.Unlock()
	return c.closed
}

// writesEnded notes that the write loop has returned, so a kick has
// nothing more to do.
func (c *client) writesEnded() {
	c.closeMu.Lock()
	defer c.closeMu.Unlock()
	c.closed = true
	if c.backstop != nil {
		c.backstop.Stop()
	}
}

// deliver queues a notice, or keeps it for the client's resync if the
// queue is full or a resync is under way. It holds c.mu, which doResync
// holds from ending the resync to taking the kept notices, so that a
// notice is either queued after the drain or taken by the resync.
func (c *client) deliver(n notice) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.hub.enqueue(c, n.m) {
		c.owe(n)
	}
}

// owe keeps a notice that found the client's queue full, to send at its
// resync; a later one about the same topic replaces it. The caller holds
// c.mu.
func (c *client) owe(n notice) {
	for i, o := range c.owed {
		if o.topic == n.topic {
			c.owed[i] = n
			return
		}
	}
	c.owed = append(c.owed, n)
}

func (c *client) requestResync() {
	select {
	case c.resync <- struct{}{}:
	default:
	}
}

func (c *client) readLoop() {
	c.conn.SetReadLimit(maxRequest)
	c.conn.SetReadDeadline(time.Now().Add(readTimeout))
	c.conn.SetPongHandler(func(string) error {
		return c.conn.SetReadDeadline(time.Now().Add(readTimeout))
	})
	for {
		_, msg, err := c.conn.ReadMessage()
		if err != nil {
			return
		}
		c.conn.SetReadDeadline(time.Now().Add(readTimeout))
		select {
		case <-c.kicked:
			continue // its session ended: read on only for the close in reply
		default:
		}
		var req request
		if err := json.Unmarshal(msg, &req); err != nil {
			c.sendError("", fmt.Sprintf("bad request: %v", err))
			continue
		}
		switch req.Op {
		case "subscribe":
			c.subscribe(req.Topic)
		case "unsubscribe":
			c.hub.unsubscribe(c, req.Topic)
		case "pace":
			window := DefaultPaceWindow
			if req.Window != nil {
				window = *req.Window
			}
			if err := c.pace(window); err != nil {
				c.sendError("", err.Error())
			}
		case "ack":
			err := errors.New("ack needs a seq: the number of the last frame handled")
			if req.Seq != nil {
				err = c.ack(*req.Seq)
			}
			if err != nil {
				c.sendError("", err.Error())
			}
		default:
			c.sendError("", fmt.Sprintf("unknown op %q (want subscribe, unsubscribe, pace or ack)", req.Op))
		}
	}
}

// subscribe checks a subscribe request, asks the Authorizer which topic
// to join, and hands it to the hub.
func (c *client) subscribe(name string) {
	h := c.hub
	if err := h.checkTopic(name); err != nil {
		c.sendError(name, err.Error())
		return
	}
	c.mu.Lock()
	_, already := c.subs[name]
	full := len(c.subs) >= h.opts.MaxSubscriptions
	c.mu.Unlock()
	switch {
	case already:
		return
	case full:
		c.sendError(name, fmt.Sprintf("at most %d subscriptions per connection", h.opts.MaxSubscriptions))
		return
	}
	gen := h.authGen.Load()
	join, err := h.authorize(c, name)
	if err != nil {
		h.refused.Inc()
		if !errors.Is(err, errBadJoin) { // logged as an error already
			h.log.Info("dashboard subscription refused", "remote", c.remote, "topic", name, "err", err)
		}
		c.sendError(name, fmt.Sprintf("subscription refused: %v", err))
		return
	}
	h.subscribe(c, name, join)
	// A Reauthorize that began while the Authorizer decided may have
	// missed this subscription, and the answer may predate what made it
	// run.
	for g := h.authGen.Load(); g != gen; g = h.authGen.Load() {
		gen = g
		h.recheck(c, name)
	}
}

func (c *client) sendError(topic, msg string) {
	if m := c.hub.errorMessage(topic, msg); m != nil {
		c.hub.enqueue(c, m)
	}
}

// errorMessage prepares an error frame about topic, the name a browser
// asked for ("" when the error is about none).
func (h *Hub) errorMessage(topic, msg string) *message {
	b, _ := json.Marshal(errorFrame{Type: "error", Topic: topic, Message: msg})
	return h.prepare(topic, b, false)
}

// writeLoop is the only goroutine that writes frames to the socket. done
// is closed when the read loop has ended.
func (c *client) writeLoop(done <-chan struct{}) {
	ping := time.NewTicker(pingInterval)
	defer ping.Stop()
	// Reset after every frame: a heartbeat goes out only when the
	// connection has been silent for Heartbeat.
	heartbeat := time.NewTimer(c.hub.opts.Heartbeat)
	defer heartbeat.Stop()
	defer c.conn.Close()
	defer c.writesEnded()
	for {
		select {
		case <-done:
			return
		case <-c.kicked:
			c.sendClose(done)
			return
		case <-c.resync:
			if !c.doResync(c.hub.now()) {
				return
			}
		case m := <-c.send:
			if c.wasKicked() { // no frame goes out once its session has ended
				c.sendClose(done)
				return
			}
			// Numbered before it is written: the browser can only
			// acknowledge what it got.
			c.sent.Add(1)
			if !c.write(m.pm) {
				return
			}
			heartbeat.Reset(c.hub.opts.Heartbeat)
		case <-heartbeat.C:
			if c.wasKicked() { // nor a heartbeat: a due one may win the select
				c.sendClose(done)
				return
			}
			if !c.write(c.hub.heartbeat) {
				return
			}
			heartbeat.Reset(c.hub.opts.Heartbeat)
		case <-ping.C:
			deadline := time.Now().Add(c.hub.opts.WriteTimeout)
			if err := c.conn.WriteControl(websocket.PingMessage, nil, deadline); err != nil {
				return
			}
		}
	}
}

// wasKicked reports whether kick has closed kicked: a select with
// several cases ready picks one at random, so the write loop checks
// before writing anything a ready case gave it.
func (c *client) wasKicked() bool {
	select {
	case <-c.kicked:
		return true
	default:
		return false
	}
}

// write writes one frame, reporting false when the connection is done
// for: a socket that accepts nothing for WriteTimeout is cut off, loudly.
func (c *client) write(pm *websocket.PreparedMessage) bool {
	// Socket deadlines are wall-clock time, whatever the hub's clock.
	c.conn.SetWriteDeadline(time.Now().Add(c.hub.opts.WriteTimeout))
	err := c.conn.WritePreparedMessage(pm)
	if err == nil {
		return true
	}
	if ne, ok := err.(net.Error); ok && ne.Timeout() && !c.closing() {
		c.hub.slowDisconnects.Inc()
		c.hub.log.Warn("dashboard client stopped reading, disconnecting", "remote", c.remote,
			"write_timeout", c.hub.opts.WriteTimeout)
	}
	return false
}

// sendClose sends the close frame of a kick and waits for the read loop to
// end: on the browser's close in reply (RFC 6455 §7.1.1 has the server
// close the TCP connection after it), or when the kick's backstop closes
// the socket. Frames are written only by the write loop; WriteControl may
// also run in the read loop's replies to pings and closes, which gorilla's
// Conn allows: "the Close and WriteControl methods can be called
// concurrently with all other methods".
func (c *client) sendClose(done <-chan struct{}) {
	err := c.conn.WriteControl(websocket.CloseMessage, c.closeMsg, time.Now().Add(c.hub.closeWait))
	if err == nil {
		<-done
	}
}

// doResync drops the client's queued frames (never numbered for pacing,
// as they are never sent) and rejoins it to each of its topics, so the hub
// goroutine sends it fresh snapshots. It reports false when the client
// resyncs so often, by the hub's clock, that it is cut off instead.
func (c *client) doResync(now time.Time) bool {
	keep := c.resyncTimes[:0]
	for _, t := range c.resyncTimes {
		if now.Sub(t) < resyncWindow {
			keep = append(keep, t)
		}
	}
	c.resyncTimes = append(keep, now)
	if len(c.resyncTimes) > maxResyncs {
		c.hub.slowDisconnects.Inc()
		c.hub.log.Warn("dashboard client too slow, disconnecting", "remote", c.remote,
			"resyncs", len(c.resyncTimes), "window", resyncWindow)
		return false
	}
	c.hub.resyncs.Inc()
	// Drained while the resync is still due, so that nothing queued
	// meanwhile is lost with the drained frames: enqueue drops topics'
	// frames, which the snapshots of rejoining replace, and deliver keeps
	// notices. The notices drained are kept too.
	var kept []notice
	for drained := false; !drained; {
		select {
		case m := <-c.send:
			if m.notice {
				kept = append(kept, notice{c: c, topic: m.about, m: m})
			}
		default:
			drained = true
		}
	}
	c.mu.Lock()
	// Frames may be queued again from here: each comes before the snapshot
	// of its topic that rejoining brings, which replaces whatever it said.
	c.resyncing.Store(false)
	topics := make([]*topic, 0, len(c.subs))
	for _, t := range c.subs {
		topics = append(topics, t)
	}
	// No frame of a topic they are about can follow them: the client left
	// it before they were delivered, and its frames queued before are
	// drained.
	kept = append(kept, c.owed...)
	c.owed = nil
	// Rejoining every topic sends the ones held back for pacing too.
	clear(c.held)
	for i, n := range kept {
		if !c.hub.enqueue(c, n.m) {
			for _, n := range kept[i:] {
				c.owe(n)
			}
			break
		}
	}
	c.mu.Unlock()
	for _, t := range topics {
		c.hub.rejoin(c, t)
	}
	return true
}
