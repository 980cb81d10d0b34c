package dashboard

import (
	"encoding/json"
	"fmt"
	"net"
	"sync"
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

// client is one browser connection: readLoop owns the socket's reads,
// writeLoop its writes, and send is the only way frames reach it.
type client struct {
	hub    *Hub
	conn   *websocket.Conn
	remote string
	send   chan *websocket.PreparedMessage
	resync chan struct{}

	mu   sync.Mutex
	subs map[string]*topic

	resyncTimes []time.Time // owned by writeLoop
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
			c.sendError(fmt.Sprintf("bad request: %v", err))
			continue
		}
		switch req.Op {
		case "subscribe":
			c.mu.Lock()
			_, already := c.subs[req.Dataview]
			full := len(c.subs) >= c.hub.opts.MaxSubscriptions
			c.mu.Unlock()
			switch {
			case req.Dataview == "":
				c.sendError("subscribe needs a dataview")
			case already:
			case full:
				c.sendError(fmt.Sprintf("at most %d subscriptions per connection", c.hub.opts.MaxSubscriptions))
			default:
				c.hub.subscribe(c, req.Dataview)
			}
		case "unsubscribe":
			c.hub.unsubscribe(c, req.Dataview)
		default:
			c.sendError(fmt.Sprintf("unknown op %q (want subscribe or unsubscribe)", req.Op))
		}
	}
}

func (c *client) sendError(msg string) {
	b, _ := json.Marshal(errorFrame{Type: "error", Message: msg})
	pm, err := websocket.NewPreparedMessage(websocket.TextMessage, b)
	if err == nil {
		c.hub.enqueue(c, pm)
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
			if !c.doResync() {
				return
			}
		case pm := <-c.send:
			c.conn.SetWriteDeadline(time.Now().Add(c.hub.opts.WriteTimeout))
			if err := c.conn.WritePreparedMessage(pm); err != nil {
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

// doResync drops the client's queued frames and queues a fresh snapshot of
// each subscription. It reports false when the client resyncs so often that
// it is cut off instead.
func (c *client) doResync() bool {
	now := time.Now()
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
		t.mu.Lock()
		if _, still := t.subs[c]; still {
			c.hub.sendSnapshot(c, t)
		}
		t.mu.Unlock()
	}
	return true
}
