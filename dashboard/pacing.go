package dashboard

import (
	"fmt"
	"maps"
	"slices"
)

// DefaultPaceWindow is the window of a pace request that names none.
const DefaultPaceWindow = 8

// A paced client numbers the frames it is sent from 1, counting every
// frame of the connection but heartbeats, and acknowledges the number of
// the last one it has handled. While window of them are unacknowledged
// its topics' frames are held back: each topic it missed is noted, and
// when an ack brings it under its window again it rejoins them, so the
// next flush sends it one fresh snapshot of each, shared with the topic's
// other joiners. A page that cannot keep up thus gets the latest state
// when it can take it, instead of a queue of frames it cannot parse in
// time, and is neither resynchronised nor cut off for it.

// pace makes c a paced client with the given window; it says why not as
// an error frame's message.
func (c *client) pace(window int) error {
	if most := c.hub.opts.QueueLen / 2; window < 1 || window > most {
		return fmt.Errorf("a pace window is 1 to %d frames, not %d", most, window)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.window.Load() != 0 {
		return fmt.Errorf("this connection is paced already (window %d)", c.window.Load())
	}
	c.window.Store(int64(window))
	return nil
}

// inFlight returns how many frames c has been given and not acknowledged:
// those written and those still queued.
func (c *client) inFlight() int64 {
	return int64(c.sent.Load()-c.acked.Load()) + int64(len(c.send))
}

// busy reports whether c is still handling frames it was given: its queue
// holds some, or, paced, it has not acknowledged them all.
func (c *client) busy() bool {
	return len(c.send) > 0 || c.window.Load() > 0 && c.sent.Load() > c.acked.Load()
}

// hold reports whether t's frame must not go to c because c is paced and
// its window is full, or t was held back for c already and its catch-up
// has not come yet; if so it notes that c missed t. The check and the
// note are made under c.mu, which ack holds too, so an ack either sees
// the note or comes before the check. A held topic stays held until the
// ack that rejoins it, even if the count of frames in flight dips under
// the window meanwhile (the write loop takes a frame from the queue a
// moment before it numbers it): a frame of it let through would follow
// the gap of the one held.
func (c *client) hold(t *topic) bool {
	w := c.window.Load()
	if w == 0 {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, held := c.held[t]; held {
		return true
	}
	if c.inFlight() < w {
		return false
	}
	c.held[t] = struct{}{}
	return true
}

// ack records that the browser has handled frames up to seq, and rejoins
// the topics it missed once it is under its window again. It says why a
// seq is refused as an error frame's message.
func (c *client) ack(seq uint64) error {
	c.mu.Lock()
	w := c.window.Load()
	sent, acked := c.sent.Load(), c.acked.Load()
	switch {
	case w == 0:
		c.mu.Unlock()
		return fmt.Errorf("ack on a connection that is not paced (send pace first)")
	case seq > sent:
		c.mu.Unlock()
		return fmt.Errorf("ack of frame %d, but %d frames were sent", seq, sent)
	case seq < acked:
		c.mu.Unlock()
		return fmt.Errorf("ack of frame %d after an ack of frame %d", seq, acked)
	}
	c.acked.Store(seq)
	var missed []*topic
	if len(c.held) > 0 && c.inFlight() < w {
		missed = slices.Collect(maps.Keys(c.held))
		clear(c.held)
	}
	c.mu.Unlock()
	for _, t := range missed {
		c.hub.catchUps.Inc()
		c.hub.rejoin(c, t)
	}
	return nil
}

// unheld returns cs without the clients whose window is full, which are
// noted as having missed t; it reuses cs's storage.
func (h *Hub) unheld(t *topic, cs []*client) []*client {
	n := len(cs)
	cs = slices.DeleteFunc(cs, func(c *client) bool { return c.hold(t) })
	h.held.Add(n - len(cs))
	return cs
}
