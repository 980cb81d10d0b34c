package dashboard

import (
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gorilla/websocket"
)

// closeWait bounds how long a connection closed by Disconnect may take to
// close: to send its close frame and hear the browser's in reply.
const closeWait = time.Second

// maxCloseReason is the longest close reason a close frame holds: a
// control frame's 125 bytes less the 2 of the code (RFC 6455 §5.5).
const maxCloseReason = 123

// kick is a Disconnect that connections still between Connect and joining
// the hub's clients may have missed.
type kick struct {
	seq    uint64
	match  func(principal any) bool
	reason string
}

// startConnecting notes a connection about to call Connect, returning the
// Disconnect count it started at.
func (h *Hub) startConnecting() uint64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	seq := h.kickSeq
	h.connecting[seq]++
	return seq
}

// stopConnecting notes that a connection started at seq has joined the
// clients or given up, returning the Disconnects it may have missed. The
// caller holds h.mu.
func (h *Hub) stopConnecting(seq uint64) []kick {
	var missed []kick
	for i, k := range h.kicks {
		if k.seq > seq {
			missed = h.kicks[i:]
			break
		}
	}
	if h.connecting[seq]--; h.connecting[seq] == 0 {
		delete(h.connecting, seq)
	}
	if len(h.connecting) == 0 {
		h.kicks = nil
		return missed
	}
	oldest := seq
	for s := range h.connecting {
		oldest = min(oldest, s)
	}
	keep := h.kicks[:0:0]
	for _, k := range h.kicks {
		if k.seq > oldest {
			keep = append(keep, k)
		}
	}
	// A new slice, so missed stays as it was.
	h.kicks = keep
	return missed
}

// Disconnect closes every connected client whose principal (from
// Authorizer.Connect) matches, with a close frame of code
// CloseSessionEnded and reason (cut to the 123 bytes a close frame
// holds), and returns how many it closed. It returns at once: each
// client's own write loop sends the close frame, and its socket is closed
// within a second whether or not the frame got out. A client still
// connecting is closed as soon as it joins. Call it once Connect refuses
// the principals it matches, so that they cannot connect again.
//
// match is called without the hub's locks held, and may be called after
// Disconnect has returned, from another goroutine, for a connection that
// was connecting: it must be safe for concurrent use and keep answering
// the same.
func (h *Hub) Disconnect(match func(principal any) bool, reason string) int {
	h.mu.Lock()
	h.kickSeq++
	if len(h.connecting) > 0 {
		h.kicks = append(h.kicks, kick{seq: h.kickSeq, match: match, reason: reason})
	}
	clients := make([]*client, 0, len(h.clients))
	for c := range h.clients {
		clients = append(clients, c)
	}
	h.mu.Unlock()
	n := 0
	for _, c := range clients {
		if match(c.principal) && h.kick(c, reason) {
			n++
		}
	}
	return n
}

// kick closes c for Disconnect, reporting whether it was not closing
// already.
func (h *Hub) kick(c *client, reason string) bool {
	if !c.kick(websocket.FormatCloseMessage(CloseSessionEnded, truncateReason(reason)), h.closeWait) {
		return false
	}
	h.sessionDisconnects.Inc()
	h.log.Info("dashboard session ended, disconnecting", "remote", c.remote, "reason", reason)
	return true
}

// truncateReason cuts a close reason to maxCloseReason bytes, on a rune
// boundary: a close frame's text must be UTF-8.
func truncateReason(s string) string {
	if len(s) <= maxCloseReason {
		return s
	}
	s = s[:maxCloseReason]
	for len(s) > 0 {
		r, size := utf8.DecodeLastRuneInString(s)
		if r != utf8.RuneError || size != 1 {
			break
		}
		s = s[:len(s)-1]
	}
	return s
}

// Principals calls fn with the principal of each connected client that is
// not being closed, without the hub's locks held.
func (h *Hub) Principals(fn func(principal any)) {
	h.mu.RLock()
	clients := make([]*client, 0, len(h.clients))
	for c := range h.clients {
		clients = append(clients, c)
	}
	h.mu.RUnlock()
	for _, c := range clients {
		if !c.closing() {
			fn(c.principal)
		}
	}
}

// Reauthorize asks Authorizer.Subscribe again about every subscription
// every client holds, with the client's principal and the topic it asked
// for; call it when what Subscribe answers may have changed. A
// subscription now refused is withdrawn: the client leaves the topic and
// gets an error frame for it, after which no frame of the topic reaches
// it. One whose answer is another variant of its state topic moves there:
// the client leaves the old variant and joins the new one, which sends it
// a snapshot. A subscription being decided while Reauthorize runs is
// decided again once it is held.
//
// The Authorizer is called without any lock held that the Source or a
// publisher needs. Calls of Reauthorize run one at a time.
func (h *Hub) Reauthorize() {
	h.reauthMu.Lock()
	defer h.reauthMu.Unlock()
	h.authGen.Add(1)

	type held struct {
		c    *client
		name string
		t    *topic
	}
	h.mu.RLock()
	clients := make([]*client, 0, len(h.clients))
	for c := range h.clients {
		clients = append(clients, c)
	}
	h.mu.RUnlock()
	var subs []held
	for _, c := range clients {
		if c.closing() {
			continue
		}
		c.mu.Lock()
		for name, t := range c.subs {
			subs = append(subs, held{c, name, t})
		}
		c.mu.Unlock()
	}
	for _, s := range subs {
		join, err := h.authorize(s.c, s.name)
		h.apply(s.c, s.name, s.t, join, err)
	}
}

// recheck decides again about c's subscription to name, if it holds one.
func (h *Hub) recheck(c *client, name string) {
	c.mu.Lock()
	t := c.subs[name]
	c.mu.Unlock()
	if t == nil {
		return
	}
	join, err := h.authorize(c, name)
	h.apply(c, name, t, join, err)
}

// apply carries out a new decision about c's subscription to name, which
// joined t when it was taken: it withdraws it if refused, or moves it to
// the topic joined now. It does nothing if the subscription has changed
// since, by the client or a decision since.
func (h *Hub) apply(c *client, name string, t *topic, join string, err error) {
	c.subMu.Lock()
	defer c.subMu.Unlock()
	c.mu.Lock()
	current := c.subs[name] == t
	c.mu.Unlock()
	switch {
	case !current:
	case err != nil:
		h.drop(c, name)
		h.withdrawn.Inc()
		h.log.Info("dashboard subscription withdrawn", "remote", c.remote, "topic", name, "err", err)
		if m := h.errorMessage(name, fmt.Sprintf("subscription withdrawn: %v", err)); m != nil {
			h.notify(c, name, m)
		}
	case join != t.name:
		h.drop(c, name)
		h.add(c, name, join)
		h.log.Info("dashboard subscription moved", "remote", c.remote, "topic", name, "from", t.name, "to", join)
	}
}

// errBadJoin stands, towards the browser, for an Authorizer's programming
// error: the hub logs the details.
var errBadJoin = errors.New("internal error")

// authorize asks the Authorizer which topic c joins for the topic it asked
// for, checking the answer: the topic itself, or for a state topic a
// variant of it.
func (h *Hub) authorize(c *client, name string) (string, error) {
	join, err := h.auth.Subscribe(c.principal, name)
	if err != nil {
		return "", err
	}
	if join == name {
		return join, nil
	}
	if variant, ok := strings.CutPrefix(join, name+"?"); ok && variant != "" && h.states[name] {
		return join, nil
	}
	h.log.Error("dashboard authorizer answered a topic to join that is neither the one asked for nor a variant of a state topic",
		"remote", c.remote, "topic", name, "join", join)
	return "", errBadJoin
}
