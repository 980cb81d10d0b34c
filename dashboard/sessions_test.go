package dashboard

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/coder/websocket"
)

// scopeAuth lets the principal named in the X-User header watch what
// decide says; with no decide, everything as asked. connect and subscribe,
// when set, are called first in Connect and Subscribe.
type scopeAuth struct {
	mu        sync.Mutex
	decide    func(user, topic string) (string, error)
	connect   func(user string)
	subscribe func(user, topic string)
}

func (a *scopeAuth) Connect(r *http.Request) (any, error) {
	user := r.Header.Get("X-User")
	if user == "" {
		return nil, errors.New("no user")
	}
	a.mu.Lock()
	connect := a.connect
	a.mu.Unlock()
	if connect != nil {
		connect(user)
	}
	return user, nil
}

func (a *scopeAuth) Subscribe(principal any, topic string) (string, error) {
	user, _ := principal.(string)
	a.mu.Lock()
	decide, subscribe := a.decide, a.subscribe
	a.mu.Unlock()
	if subscribe != nil {
		subscribe(user, topic)
	}
	if decide == nil {
		return topic, nil
	}
	return decide(user, topic)
}

func (a *scopeAuth) set(decide func(user, topic string) (string, error)) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.decide = decide
}

// scopes has each user watch the tree's variant for its client, "" for
// the whole tree, and every dataview.
func scopes(clients map[string]string) func(user, topic string) (string, error) {
	return func(user, topic string) (string, error) {
		if topic == treeTopic && clients[user] != "" {
			return treeTopic + "?client=" + clients[user], nil
		}
		return topic, nil
	}
}

func (h *testHub) dialAs(t *testing.T, user string) *wsClient {
	t.Helper()
	return h.dialWith(t, http.Header{"X-User": {user}})
}

// closed reads until the connection ends, which must be within a few
// seconds, and returns why it did.
func (c *wsClient) closed(what string) error {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for {
		if _, _, err := c.conn.Read(ctx); err != nil {
			if ctx.Err() != nil {
				c.t.Fatalf("%s: still open after 5s", what)
			}
			return err
		}
	}
}

// Subscribers of different variants of the tree, and of the tree itself,
// each get frames made for the topic they joined, all saying "tree"; a
// Touch or a Reset of the tree reaches every variant, and a variant
// nobody watches any more is gone.
func TestStateTopicVariants(t *testing.T) {
	auth := &scopeAuth{decide: scopes(map[string]string{"alice": "acme", "bob": "globex", "dave": "nobody"})}
	h := startHub(t, Options{Authorizer: auth})
	h.src.setKey("a", "0")
	const acme, globex, nobody = treeTopic + "?client=acme", treeTopic + "?client=globex", treeTopic + "?client=nobody"
	views := map[string]string{"alice": acme, "bob": globex, "carol": treeTopic, "dave": nobody}
	users := []string{"alice", "bob", "carol"} // and dave, whose variant has nothing under it
	clients := map[string]*wsClient{}
	for _, user := range users {
		c := h.dialAs(t, user)
		c.send("subscribe", treeTopic)
		if f := c.next(user+"'s snapshot", func(f frame) bool { return f.Type == "snapshot" }); f.Topic != treeTopic || f.View != views[user] {
			t.Fatalf("%s's snapshot has topic %q and was made for %q, want %q and %q", user, f.Topic, f.View, treeTopic, views[user])
		}
		clients[user] = c
	}
	if !h.Watched(treeTopic) || h.Watched("tree?client=initech") {
		t.Fatalf("Watched(tree) = %v, Watched of a variant nobody joined = %v; want true and false",
			h.Watched(treeTopic), h.Watched("tree?client=initech"))
	}
	// A variant that has nothing under it says "gone" under the name asked for.
	dave := h.dialAs(t, "dave")
	dave.send("subscribe", treeTopic)
	dave.next("gone for a variant with nothing under it", func(f frame) bool { return f.Type == "gone" && f.Topic == treeTopic })
	clients["dave"] = dave

	deltas := len(h.src.deltaKeys())
	h.src.setKey("a", "1")
	h.Touch(treeTopic, "a")
	for _, user := range append(users, "dave") {
		f := clients[user].next(user+"'s delta", func(f frame) bool { return f.Type == "delta" })
		if f.Topic != treeTopic || f.View != views[user] || f.Keys["a"] == nil || *f.Keys["a"] != "1" {
			t.Fatalf("%s's delta = %+v, want topic tree, made for %s, with a=1", user, f, views[user])
		}
	}
	if got, want := slices.Sorted(slices.Values(h.src.deltaTopicsFrom(deltas))), []string{treeTopic, acme, globex, nobody}; !slices.Equal(got, want) {
		t.Fatalf("Delta called for %v, want once for each of %v", got, want)
	}

	h.Reset(treeTopic)
	for _, user := range users {
		if f := clients[user].next(user+"'s snapshot after a reset", func(f frame) bool { return f.Type == "snapshot" }); f.View != views[user] {
			t.Fatalf("after a reset %s got a snapshot made for %q, want %q", user, f.View, views[user])
		}
	}
	dave.next("gone after a reset", func(f frame) bool { return f.Type == "gone" && f.Topic == treeTopic })

	// Alice leaves the tree by the name she asked for; her dataview's
	// answer says her request is done.
	alice := clients["alice"]
	alice.send("unsubscribe", treeTopic)
	alice.send("subscribe", dvTopic)
	alice.next("gone", func(f frame) bool { return f.Type == "gone" && f.Topic == dvTopic })
	if h.topic(acme) != nil || h.Watched(acme) {
		t.Fatal("the acme variant is still there after its only subscriber left")
	}
	deltas = len(h.src.deltaKeys())
	h.src.setKey("a", "2")
	h.Touch(treeTopic, "a")
	for _, user := range []string{"bob", "carol", "dave"} {
		clients[user].next(user+"'s delta", func(f frame) bool { return f.Type == "delta" && f.Keys["a"] != nil && *f.Keys["a"] == "2" })
	}
	// The gone frame answers a subscription made after the Touch, so it
	// comes after anything the Touch sent alice.
	alice.send("unsubscribe", dvTopic)
	alice.send("subscribe", dvTopic)
	alice.next("gone again", func(f frame) bool {
		if f.Topic == treeTopic {
			t.Fatalf("alice got %+v after she left the tree", f)
		}
		return f.Type == "gone"
	})
	if got, want := slices.Sorted(slices.Values(h.src.deltaTopicsFrom(deltas))), []string{treeTopic, globex, nobody}; !slices.Equal(got, want) {
		t.Fatalf("Delta called for %v after alice left, want %v", got, want)
	}
}

// Touch and Reset keep each variant's keys apart: a busy variant holds its
// keys back while an idle one is sent at once, and a variant's overflow
// resets only that variant.
func TestVariantsCoalesceApart(t *testing.T) {
	src := newMemSource()
	src.setKey("a", "1")
	h := newTestHub(src, Options{QueueLen: 16, MaxPending: 2, Coalesce: 100 * time.Millisecond})
	const acme = treeTopic + "?client=acme"
	busy, idle := newTestClient(h), newTestClient(h)
	h.subscribe(busy, treeTopic, acme)
	h.subscribe(idle, treeTopic, treeTopic)
	t0 := time.Unix(1_800_000_000, 0)
	h.flush(t0)
	one(t, idle, "snapshot")
	h.Touch(treeTopic, "a")
	h.flush(t0)
	one(t, idle, "the first delta")
	// busy keeps its frames queued: its variant holds changes back.
	h.Touch(treeTopic, "b")
	if wait := h.flush(t0.Add(10 * time.Millisecond)); wait != 90*time.Millisecond {
		t.Fatalf("flush waits %v, want the busy variant held back 90ms", wait)
	}
	if f, _ := one(t, idle, "the idle topic's delta"); f.Type != "delta" || f.View != treeTopic || len(f.Keys) != 1 {
		t.Fatalf("idle subscriber got %+v, want a delta of b", f)
	}
	h.Touch(treeTopic, "c")
	h.Touch(treeTopic, "d") // three keys pending on the busy variant, two on the idle topic
	h.flush(t0.Add(20 * time.Millisecond))
	if f, _ := one(t, idle, "the idle topic's second delta"); f.Type != "delta" || len(f.Keys) != 2 {
		t.Fatalf("idle subscriber got %+v, want a delta of c and d", f)
	}
	if h.overflows.Get() != 1 {
		t.Fatalf("pending overflows = %d, want 1: the busy variant's", h.overflows.Get())
	}
	var got []string
	for _, m := range queued(busy) {
		f := decode(t, dataOf(m))
		got = append(got, f.Type+" "+f.View)
	}
	if want := []string{"snapshot " + acme, "delta " + acme, "snapshot " + acme}; !slices.Equal(got, want) {
		t.Fatalf("busy subscriber has %q queued, want %q: a snapshot after the overflow", got, want)
	}
}

// Disconnect closes the matching clients at once with code 4001 and the
// reason; the others carry on.
func TestDisconnect(t *testing.T) {
	h := startHub(t, Options{Authorizer: &scopeAuth{}})
	h.src.set(dvTopic, "0")
	alice, bob := h.dialAs(t, "alice"), h.dialAs(t, "bob")
	for _, c := range []*wsClient{alice, bob} {
		c.send("subscribe", dvTopic)
		c.next("snapshot", func(f frame) bool { return f.Type == "snapshot" })
	}
	principals := func() []string {
		var got []string
		h.Principals(func(p any) { got = append(got, p.(string)) })
		slices.Sort(got)
		return got
	}
	if got := principals(); !slices.Equal(got, []string{"alice", "bob"}) {
		t.Fatalf("Principals = %v, want alice and bob", got)
	}

	isAlice := func(p any) bool { return p == "alice" }
	const reason = "session ended: logged out"
	if n := h.Disconnect(isAlice, reason); n != 1 {
		t.Fatalf("Disconnect closed %d clients, want 1", n)
	}
	if got := principals(); !slices.Equal(got, []string{"bob"}) {
		t.Fatalf("Principals = %v right after alice's Disconnect, want only bob", got)
	}
	err := alice.closed("alice's connection")
	var ce websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != CloseSessionEnded || ce.Reason != reason {
		t.Fatalf("alice's connection ended with %v, want close %d %q", err, CloseSessionEnded, reason)
	}
	if n := h.Disconnect(isAlice, reason); n != 0 {
		t.Fatalf("a second Disconnect closed %d clients, want 0", n)
	}
	h.Publish(dvTopic, cellUpdate("1"))
	bob.next("bob's delta", func(f frame) bool { return f.Type == "delta" && f.Cells[0].V == "1" })
	if got := h.sessionDisconnects.Get(); got != 1 {
		t.Fatalf("session disconnects = %d, want 1", got)
	}

	// A reason too long for a close frame is cut, on a rune boundary.
	long := strings.Repeat("é", 100) // 200 bytes
	if n := h.Disconnect(func(p any) bool { return p == "bob" }, long); n != 1 {
		t.Fatalf("Disconnect closed %d clients, want 1", n)
	}
	err = bob.closed("bob's connection")
	if !errors.As(err, &ce) || ce.Code != CloseSessionEnded || len(ce.Reason) > 123 || len(ce.Reason) < 122 ||
		!utf8.ValidString(ce.Reason) || !strings.HasPrefix(long, ce.Reason) {
		t.Fatalf("bob's connection ended with %v, want close %d with the reason cut to 122 bytes", err, CloseSessionEnded)
	}
}

func TestTruncateReason(t *testing.T) {
	f := func(name, in, want string) {
		t.Helper()
		if got := truncateReason(in); got != want {
			t.Errorf("%s: truncateReason = %q (%d bytes), want %q", name, got, len(got), want)
		}
	}
	f("short", "logged out", "logged out")
	f("exactly 123 bytes", strings.Repeat("a", 123), strings.Repeat("a", 123))
	f("ASCII past 123 bytes", strings.Repeat("a", 200), strings.Repeat("a", 123))
	f("a two-byte rune across the limit", strings.Repeat("a", 122)+"é", strings.Repeat("a", 122))
	f("a four-byte rune across the limit", strings.Repeat("a", 121)+"😀", strings.Repeat("a", 121))
}

// A client whose socket accepts nothing, its write loop stuck in a write,
// is closed by Disconnect soon all the same: long before its write
// timeout, without Disconnect waiting, and not counted as slow.
func TestDisconnectSlowClient(t *testing.T) {
	left := newLogWatch("dashboard client left")
	h := startHub(t, Options{Authorizer: &scopeAuth{}, QueueLen: 4, WriteTimeout: time.Hour, Logger: slog.New(left)})
	h.src.set(dvTopic, "0")
	slow, fast := h.dialAs(t, "slow"), h.dialAs(t, "fast")
	for _, c := range []*wsClient{slow, fast} {
		c.send("subscribe", dvTopic)
		c.next("snapshot", func(f frame) bool { return f.Type == "snapshot" })
	}
	big := strings.Repeat("x", 128<<10)
	publish := func(i int) {
		v := fmt.Sprintf("%d:%s", i, big)
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
	// Its queue overflowed, so its write loop is stuck writing.
	returned := make(chan int)
	go func() { returned <- h.Disconnect(func(p any) bool { return p == "slow" }, "revoked") }()
	select {
	case n := <-returned:
		if n != 1 {
			t.Fatalf("Disconnect closed %d clients, want 1", n)
		}
	case <-time.After(wait):
		t.Fatal("Disconnect waited for a slow client")
	}
	publish(i)
	select {
	case <-left.seen:
	case <-time.After(5 * time.Second):
		t.Fatal("the slow client was still connected 5s after Disconnect")
	}
	if n := h.Clients(); n != 1 {
		t.Fatalf("%d clients, want only the fast one", n)
	}
	if got := h.slowDisconnects.Get(); got != 0 {
		t.Fatalf("slow disconnects = %d, want 0: the session ended", got)
	}
	publish(i + 1)
	slow.closed("the slow client's connection")
}

// A Disconnect while a client is between Connect and joining the hub's
// clients still closes it, once it has joined.
func TestDisconnectWhileConnecting(t *testing.T) {
	entered, release := make(chan struct{}), make(chan struct{})
	auth := &scopeAuth{connect: func(user string) {
		if user == "eve" {
			close(entered)
			<-release
		}
	}}
	h := startHub(t, Options{Authorizer: auth})
	type dialed struct {
		conn *websocket.Conn
		err  error
	}
	dial := make(chan dialed)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		conn, _, err := websocket.Dial(ctx, h.url, &websocket.DialOptions{HTTPHeader: http.Header{"X-User": {"eve"}}})
		dial <- dialed{conn, err}
	}()
	<-entered
	if n := h.Disconnect(func(p any) bool { return p == "eve" }, "link revoked"); n != 0 {
		t.Fatalf("Disconnect closed %d clients, want 0: eve has not joined yet", n)
	}
	close(release)
	d := <-dial
	if d.err != nil {
		t.Fatal(d.err)
	}
	t.Cleanup(func() { d.conn.CloseNow() })
	err := (&wsClient{t: t, conn: d.conn}).closed("eve's connection")
	var ce websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != CloseSessionEnded || ce.Reason != "link revoked" {
		t.Fatalf("eve's connection ended with %v, want close %d", err, CloseSessionEnded)
	}
}

// Reauthorize withdraws a subscription now refused, with an error frame
// after which no frame of it comes, and moves one whose variant changed.
func TestReauthorize(t *testing.T) {
	auth := &scopeAuth{decide: scopes(map[string]string{"alice": "acme"})}
	h := startHub(t, Options{Authorizer: auth})
	h.src.set(dvTopic, "0")
	alice, bob := h.dialAs(t, "alice"), h.dialAs(t, "bob")
	for _, c := range []*wsClient{alice, bob} {
		c.send("subscribe", dvTopic)
		c.next("snapshot", func(f frame) bool { return f.Type == "snapshot" && f.Topic == dvTopic })
	}
	alice.send("subscribe", treeTopic)
	alice.next("tree snapshot", func(f frame) bool { return f.Type == "snapshot" && f.Topic == treeTopic })

	const globex = treeTopic + "?client=globex"
	auth.set(func(user, topic string) (string, error) {
		switch {
		case user != "alice":
			return topic, nil
		case topic == treeTopic:
			return globex, nil
		}
		return "", fmt.Errorf("alice no longer sees %s", topic)
	})
	h.Reauthorize()
	var withdrawn, moved bool
	for !withdrawn || !moved {
		alice.next("the withdrawal and the move", func(f frame) bool {
			switch {
			case f.Type == "error":
				if f.Topic != dvTopic || !strings.Contains(f.Message, "subscription withdrawn: alice no longer sees "+dvTopic) {
					t.Fatalf("withdrawal = %+v", f)
				}
				withdrawn = true
			case f.Type == "snapshot" && f.Topic == treeTopic:
				if f.View != globex {
					t.Fatalf("snapshot after the move was made for %q, want %q", f.View, globex)
				}
				moved = true
			case f.Topic == dvTopic && withdrawn:
				t.Fatalf("after the withdrawal alice got %+v", f)
			}
			return true
		})
	}
	if got := h.withdrawn.Get(); got != 1 {
		t.Fatalf("subscriptions withdrawn = %d, want 1", got)
	}
	if h.Watched(treeTopic+"?client=acme") || !h.Watched(globex) {
		t.Fatal("alice's subscription was not moved from acme's variant to globex's")
	}

	// Bob still holds the dataview, so it is flushed; alice gets none of
	// it. The Touch comes after the Publish, so its delta after any frame
	// of the Publish.
	h.Publish(dvTopic, cellUpdate("1"))
	bob.next("bob's delta", func(f frame) bool { return f.Type == "delta" })
	h.src.setKey("a", "1")
	h.Touch(treeTopic, "a")
	alice.next("alice's tree delta", func(f frame) bool {
		if f.Topic == dvTopic {
			t.Fatalf("after the withdrawal alice got %+v", f)
		}
		return f.Type == "delta" && f.View == globex
	})
	// Alice may subscribe again and be refused.
	alice.send("subscribe", dvTopic)
	alice.next("refusal", func(f frame) bool {
		return f.Type == "error" && f.Topic == dvTopic && strings.Contains(f.Message, "subscription refused")
	})
}

// A subscription decided while Reauthorize runs, by the Authorizer as it
// was before, is decided again once held.
func TestReauthorizeDuringSubscribe(t *testing.T) {
	entered, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	auth := &scopeAuth{subscribe: func(user, topic string) {
		once.Do(func() {
			close(entered)
			<-release
		})
	}}
	h := startHub(t, Options{Authorizer: auth})
	alice := h.dialAs(t, "alice")
	alice.send("subscribe", treeTopic)
	<-entered // Subscribe is deciding, by the rules before the change
	auth.set(func(user, topic string) (string, error) { return "", errors.New("alice may not watch the tree") })
	h.Reauthorize() // does not see the subscription yet
	close(release)
	alice.next("the withdrawal", func(f frame) bool {
		return f.Type == "error" && f.Topic == treeTopic && strings.Contains(f.Message, "withdrawn: alice may not watch the tree")
	})
	if h.Watched(treeTopic) {
		t.Fatal("the tree is still watched after its only subscription was withdrawn")
	}
}

// The Authorizer may take the locks that publishing takes, and use the
// hub, while Reauthorize calls it.
func TestReauthorizeHoldsNoHubLocks(t *testing.T) {
	src := newMemSource()
	src.set(dvTopic, "0")
	h := newTestHub(src, Options{QueueLen: 16})
	auth := &scopeAuth{}
	h.auth = auth
	auth.subscribe = func(string, string) {
		h.Publish(dvTopic, cellUpdate("1"))
		h.Touch(treeTopic, "a")
		h.Reset(treeTopic)
		h.Watched(treeTopic)
		h.Principals(func(any) {})
		h.Clients()
	}
	c := newClient(h, nil, "test", "alice")
	h.subscribe(c, dvTopic, dvTopic)
	h.subscribe(c, treeTopic, treeTopic)
	h.clients[c] = struct{}{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		h.Reauthorize()
	}()
	select {
	case <-done:
	case <-time.After(wait):
		t.Fatal("Reauthorize deadlocked with an Authorizer that publishes")
	}
}

// A withdrawal that finds the client's queue full is not lost: it is sent
// at the client's resync, and the withdrawn topic is not rejoined.
func TestWithdrawalSurvivesResync(t *testing.T) {
	src := newMemSource()
	src.set(dvTopic, "0")
	h := newTestHub(src, Options{QueueLen: 4})
	auth := &scopeAuth{}
	h.auth = auth
	c := newClient(h, nil, "test", "alice")
	h.clients[c] = struct{}{}
	h.subscribe(c, dvTopic, dvTopic)
	h.subscribe(c, treeTopic, treeTopic)
	t0 := time.Unix(1_800_000_000, 0)
	h.flush(t0)
	for i := range 2 {
		h.Publish(dvTopic, cellUpdate(fmt.Sprint(i)))
		h.flush(t0.Add(time.Duration(i+1) * time.Second))
	}
	if len(c.send) != 4 {
		t.Fatalf("%d frames queued, want a full queue of 4", len(c.send))
	}
	auth.set(func(user, topic string) (string, error) {
		if topic == dvTopic {
			return "", errors.New("out of scope")
		}
		return topic, nil
	})
	h.Reauthorize()
	h.flush(t0.Add(3 * time.Second))
	if len(c.resync) != 1 {
		t.Fatal("the withdrawal found the queue full and no resync was requested")
	}
	<-c.resync
	if !c.doResync(t0.Add(4 * time.Second)) {
		t.Fatal("the resync cut the client off")
	}
	h.flush(t0.Add(4 * time.Second))
	var got []string
	for _, m := range queued(c) {
		f := decode(t, dataOf(m))
		got = append(got, f.Type+" "+f.Topic)
	}
	if want := []string{"error " + dvTopic, "snapshot " + treeTopic}; !slices.Equal(got, want) {
		t.Fatalf("after the resync got %q, want %q", got, want)
	}
}

// An Authorizer answering a topic to join that is neither the one asked
// for nor a variant of a state topic is a programming error: the
// subscription is refused with an error frame and logged as an error, and
// the hub serves on.
func TestBogusJoinRefused(t *testing.T) {
	logged := newLogWatch("dashboard authorizer answered a topic to join that is neither the one asked for nor a variant of a state topic")
	var mu sync.Mutex
	joins := map[string]string{} // topic → the answer, when not the topic
	setJoin := func(topic, join string) {
		mu.Lock()
		defer mu.Unlock()
		if join == topic {
			delete(joins, topic)
		} else {
			joins[topic] = join
		}
	}
	auth := &scopeAuth{decide: func(user, topic string) (string, error) {
		mu.Lock()
		defer mu.Unlock()
		if j, ok := joins[topic]; ok {
			return j, nil
		}
		return topic, nil
	}}
	h := startHub(t, Options{Authorizer: auth, Logger: slog.New(logged)})
	c := h.dialAs(t, "alice")
	f := func(name, ask, join string) {
		t.Helper()
		setJoin(ask, join)
		c.send("subscribe", ask)
		got := c.next(name, func(frame) bool { return true })
		if got.Type != "error" || got.Topic != ask || got.Message != "subscription refused: internal error" {
			t.Errorf("%s: got %+v, want the subscription to %s refused", name, got, ask)
		}
		if h.Watched(ask) || h.Watched(join) {
			t.Errorf("%s: %s or %s is watched", name, ask, join)
		}
	}
	f("another state topic", treeTopic, "forest")
	f("a variant with nothing after the ?", treeTopic, treeTopic+"?")
	f("a name that only starts like the topic", treeTopic, treeTopic+"s?x")
	f("no topic", treeTopic, "")
	f("another dataview", dvTopic, "dataview/x/y/z/w")
	f("a variant of a dataview", dvTopic, dvTopic+"?client=acme")
	select {
	case <-logged.seen:
	default:
		t.Fatal("the bogus answers were not logged")
	}
	if got := h.refused.Get(); got != 6 {
		t.Errorf("refused subscriptions = %d, want 6", got)
	}

	// Reauthorize treats a bogus answer as a refusal.
	setJoin(dvTopic, dvTopic)
	c.send("subscribe", dvTopic)
	c.next("gone", func(f frame) bool { return f.Type == "gone" && f.Topic == dvTopic })
	setJoin(dvTopic, "dataview/x/y/z/w")
	h.Reauthorize()
	c.next("withdrawal", func(f frame) bool {
		return f.Type == "error" && f.Topic == dvTopic && f.Message == "subscription withdrawn: internal error"
	})
}

// withdrawnSetup returns a test hub whose one client holds dvTopic and the
// tree, with their snapshots queued, and an Authorizer that now refuses
// dvTopic, so that a Reauthorize withdraws it.
func withdrawnSetup(t *testing.T, queueLen int) (*Hub, *client, time.Time) {
	t.Helper()
	src := newMemSource()
	src.set(dvTopic, "0")
	src.setKey("a", "0")
	h := newTestHub(src, Options{QueueLen: queueLen})
	auth := &scopeAuth{}
	h.auth = auth
	c := newClient(h, nil, "test", "alice")
	h.clients[c] = struct{}{}
	h.subscribe(c, dvTopic, dvTopic)
	h.subscribe(c, treeTopic, treeTopic)
	t0 := time.Unix(1_800_000_000, 0)
	h.flush(t0)
	auth.set(func(user, topic string) (string, error) {
		if topic == dvTopic {
			return "", errors.New("out of scope")
		}
		return topic, nil
	})
	return h, c, t0
}

// kinds lists the frames queued for c as "type topic".
func kinds(t *testing.T, c *client) []string {
	t.Helper()
	var got []string
	for _, m := range queued(c) {
		f := decode(t, dataOf(m))
		got = append(got, f.Type+" "+f.Topic)
	}
	return got
}

// A withdrawal that was queued, and was still in the queue when the queue
// overflowed, is not dropped with the topics' frames: the resync that
// drops them sends it again, since no snapshot will replace it.
func TestQueuedWithdrawalSurvivesResync(t *testing.T) {
	h, c, t0 := withdrawnSetup(t, 4)
	h.Reauthorize()
	h.flush(t0.Add(time.Second)) // the withdrawal is queued: two snapshots and it
	if len(c.send) != 3 {
		t.Fatalf("%d frames queued, want the two snapshots and the withdrawal", len(c.send))
	}
	for i := range 2 {
		h.src.(*memSource).setKey("a", fmt.Sprint(i+1))
		h.Touch(treeTopic, "a")
		h.flush(t0.Add(time.Duration(i+2) * time.Second))
	}
	if len(c.resync) != 1 {
		t.Fatal("the queue did not overflow")
	}
	<-c.resync
	if !c.doResync(t0.Add(5 * time.Second)) {
		t.Fatal("the resync cut the client off")
	}
	h.flush(t0.Add(5 * time.Second))
	if got, want := kinds(t, c), []string{"error " + dvTopic, "snapshot " + treeTopic}; !slices.Equal(got, want) {
		t.Fatalf("after the resync got %q, want %q: the withdrawal is lost", got, want)
	}
}

// A withdrawal the hub's goroutine delivers while the client's write loop
// is starting a resync, draining its queue, is neither drained with the
// topics' frames nor left behind: it is in the queue once the resync is
// done.
func TestWithdrawalDuringResyncDrain(t *testing.T) {
	const queueLen = 1 << 17 // long to drain, so the delivery lands in the middle
	proved := 0
	for attempt := 0; attempt < 50 && proved < 5; attempt++ {
		h, c, t0 := withdrawnSetup(t, queueLen)
		filler := h.errorMessage("", "filler")
		for len(c.send) < queueLen {
			c.send <- filler
		}
		if h.enqueue(c, filler) || len(c.resync) != 1 {
			t.Fatal("a full queue did not overflow into a resync")
		}
		<-c.resync
		h.Reauthorize() // the withdrawal waits in h.notices for the next flush

		resynced := make(chan bool)
		go func() { resynced <- c.doResync(t0.Add(time.Second)) }()
		for n := len(c.send); n == queueLen; n = len(c.send) {
			// The drain has not started yet.
		}
		h.flush(t0.Add(time.Second))
		// Still frames in front of it: the drain had not finished when the
		// withdrawal was delivered.
		inDrain := len(c.send) > 1
		if !<-resynced {
			t.Fatal("the resync cut the client off")
		}
		if inDrain {
			proved++
		}
		var found bool
		for _, m := range queued(c) {
			if f := decode(t, dataOf(m)); f.Type == "error" && f.Topic == dvTopic {
				found = true
			}
		}
		c.mu.Lock()
		owed := len(c.owed)
		c.mu.Unlock()
		if !found && !(owed == 1 && len(c.resync) == 1) {
			t.Fatalf("attempt %d: the withdrawal delivered during the resync's drain is neither queued nor kept for another resync (%d owed)", attempt, owed)
		}
	}
	if proved == 0 {
		t.Skip("no attempt delivered the withdrawal during the drain")
	}
}
