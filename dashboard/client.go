package dashboard

import (
	"encoding/json"
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
	resyncing atomic.Bool // its queue overflowed and its resync has not begun

	mu   sync.Mutex
	subs map[string]*topic

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
		subs:      make(map[string]*topic),
	}
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
		default:
			c.sendError("", fmt.Sprintf("unknown op %q (want subscribe or unsubscribe)", req.Op))
		}
	}
}

// subscribe checks a subscribe request, asks the Authorizer, and hands it
// to the hub.
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
	if err := h.auth.Subscribe(c.principal, name); err != nil {
		h.refused.Inc()
		h.log.Info("dashboard subscription refused", "remote", c.remote, "topic", name, "err", err)
		c.sendError(name, fmt.Sprintf("subscription refused: %v", err))
		return
	}
	h.subscribe(c, name)
}

func (c *client) sendError(topic, msg string) {
	b, _ := json.Marshal(errorFrame{Type: "error", Topic: topic, Message: msg})
	if m := c.hub.prepare(topic, b, false); m != nil {
		c.hub.enqueue(c, m)
	}
}

func (c *client) writeLoop(done <-chan struct{}) {
	ping := time.NewTicker(pingInterval)
	defer ping.Stop()
	defer c.conn.Close()
	for {
		select {
		case <-done:
			return
		case <-c.resync:
			if !c.doResync(c.hub.now()) {
				return
			}
		case m := <-c.send:
			// Socket deadlines are wall-clock time, whatever the hub's clock.
			c.conn.SetWriteDeadline(time.Now().Add(c.hub.opts.WriteTimeout))
			if err := c.conn.WritePreparedMessage(m.pm); err != nil {
				if ne, ok := err.(net.Error); ok && ne.Timeout() {
					c.hub.slowDisconnects.Inc()
					c.hub.log.Warn("dashboard client stopped reading, disconnecting", "remote", c.remote,
						"write_timeout", c.hub.opts.WriteTimeout)
				}
				return
			}
		case <-ping.C:
			deadline := time.Now().Add(c.hub.opts.WriteTimeout)
			if err := c.conn.WriteControl(websocket.PingMessage, nil, deadline); err != nil {
				return
			}
		}
	}
}

// doResync drops the client's queued frames and rejoins it to each of its
// topics, so the hub goroutine sends it fresh snapshots. It reports false
// when the client resyncs so often, by the hub's clock, that it is cut off
// instead.
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
	// Frames may be queued again from here: each comes before the snapshot
	// of its topic that rejoining brings, which replaces whatever it said.
	c.resyncing.Store(false)
	for drained := false; !drained; {
		select {
		case <-c.send:
		default:
			drained = true
		}
	}
	c.mu.Lock()
	topics := make([]*topic, 0, len(c.subs))
	for _, t := range c.subs {
		topics = append(topics, t)
	}
	c.mu.Unlock()
	for _, t := range topics {
		c.hub.rejoin(c, t)
	}
	return true
}
