package netprobe

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"sync"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/coder/websocket"

	"github.com/watchfloor/watchfloor/netprobe/protocol"
)

// The longest wait jitter can give, so that tests see the ceilings.
func maxJitter(n time.Duration) time.Duration { return n }

func TestBackoff(t *testing.T) {
	const ms = time.Millisecond
	seq := func(b *backoff, o outcome, n int) []time.Duration {
		var out []time.Duration
		for range n {
			out = append(out, b.next(o))
		}
		return out
	}
	b := newBackoff(250*ms, 3*time.Second, 30*time.Second, maxJitter)
	if got, want := seq(b, unreachable, 6), []time.Duration{250 * ms, 500 * ms, time.Second, 2 * time.Second, 3 * time.Second, 3 * time.Second}; !slices.Equal(got, want) {
		t.Errorf("unreachable waits %v, want %v", got, want)
	}
	// Refusals grow on their own ceiling, untouched by the outage.
	if got, want := seq(b, refused, 9), []time.Duration{250 * ms, 500 * ms, time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 16 * time.Second, 30 * time.Second, 30 * time.Second}; !slices.Equal(got, want) {
		t.Errorf("refused waits %v, want %v", got, want)
	}
	// An outage in between does not reset the refusals, nor do they
	// lengthen the outage's waits.
	if got := b.next(unreachable); got != 3*time.Second {
		t.Errorf("unreachable after refusals: %v, want the 3s cap", got)
	}
	if got := b.next(refused); got != 30*time.Second {
		t.Errorf("refused after an outage: %v, want the 30s cap still", got)
	}
	// The retry with a version-1 hello comes soon and changes no ceiling.
	if got := b.next(versionRefused); got != 250*ms {
		t.Errorf("after a version refusal: %v, want at most the minimum", got)
	}
	if got := b.next(refused); got != 30*time.Second {
		t.Errorf("refused after a version refusal: %v, want the 30s cap still", got)
	}
	// A session that lasted starts both afresh.
	b.next(lasted)
	if got := b.next(unreachable); got != 250*ms {
		t.Errorf("unreachable after a session that lasted: %v, want the minimum", got)
	}
	if got := b.next(refused); got != 250*ms {
		t.Errorf("refused after a session that lasted: %v, want the minimum", got)
	}

	// The jitter's floor: unreachable waits may be anything down to zero,
	// refusals never less than half their ceiling.
	b = newBackoff(250*ms, 3*time.Second, 30*time.Second, func(time.Duration) time.Duration { return 0 })
	if got := seq(b, unreachable, 3); !slices.Equal(got, []time.Duration{0, 0, 0}) {
		t.Errorf("unreachable waits with the least jitter %v, want 0s", got)
	}
	if got, want := seq(b, refused, 4), []time.Duration{125 * ms, 250 * ms, 500 * ms, time.Second}; !slices.Equal(got, want) {
		t.Errorf("refused waits with the least jitter %v, want %v", got, want)
	}
}

func TestOutcomes(t *testing.T) {
	resp := func(code int) *http.Response { return &http.Response{StatusCode: code} }
	for _, tc := range []struct {
		name string
		got  outcome
		want outcome
	}{
		{"connection refused", dialOutcome(nil, &net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}), unreachable},
		{"dial timeout", dialOutcome(nil, context.DeadlineExceeded), unreachable},
		{"HTTP 401", dialOutcome(resp(401), errors.New("401")), refused},
		{"HTTP 404", dialOutcome(resp(404), errors.New("404")), refused},
		{"HTTP 503 from a proxy", dialOutcome(resp(503), errors.New("503")), unreachable},
		{"HTTP 502 from a proxy", dialOutcome(resp(502), errors.New("502")), unreachable},
		{"untrusted certificate", dialOutcome(nil, fmt.Errorf("dial: %w", &tls.CertificateVerificationError{Err: errors.New("x509: unknown authority")})), refused},
		{"policy close of a range hello", handshakeOutcome(websocket.CloseError{Code: websocket.StatusPolicyViolation}, true), versionRefused},
		{"policy close of a version-1 hello", handshakeOutcome(websocket.CloseError{Code: websocket.StatusPolicyViolation}, false), refused},
		{"message too big", handshakeOutcome(websocket.CloseError{Code: websocket.StatusMessageTooBig}, true), refused},
		{"gateway going away", handshakeOutcome(websocket.CloseError{Code: websocket.StatusGoingAway}, true), unreachable},
		{"connection dropped", handshakeOutcome(errors.New("EOF"), true), unreachable},
		{"bad welcome", handshakeOutcome(errUnexpected, true), refused},
	} {
		if tc.got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, tc.got, tc.want)
		}
	}
}

// memNet is an in-memory network for tests in a synctest bubble, where
// real sockets cannot be: an http.Server serves a test's gateway on it,
// and the probe dials it through an http.Client of its own. While down,
// dials fail as a closed port's do.
type memNet struct {
	mu    sync.Mutex
	down  bool
	dials []time.Time

	conns  chan net.Conn
	closed chan struct{}
	once   sync.Once
	srv    *http.Server
	tr     *http.Transport
	served chan struct{}
}

// startMemNet serves h on a new memNet until the test ends.
// acceptHello accepts a probe's socket and reads its Hello, as a gateway's
// first steps; ok is false when the probe went before sending one.
func acceptHello(t *testing.T, w http.ResponseWriter, r *http.Request) (*websocket.Conn, protocol.Hello, bool) {
	var h protocol.Hello
	c, err := websocket.Accept(w, r, nil)
	if err != nil {
		return nil, h, false
	}
	_, data, err := c.Read(r.Context())
	if err != nil {
		c.CloseNow()
		return nil, h, false
	}
	if err := h.Decode(data); err != nil {
		t.Errorf("hello: %v", err)
	}
	return c, h, true
}

func startMemNet(t *testing.T, h http.Handler) *memNet {
	n := &memNet{conns: make(chan net.Conn), closed: make(chan struct{}), served: make(chan struct{})}
	n.srv = &http.Server{Handler: h}
	// Without keep-alives every attempt dials, so the dials count them.
	n.tr = &http.Transport{DialContext: n.dial, DisableKeepAlives: true}
	go func() {
		defer close(n.served)
		n.srv.Serve(n)
	}()
	t.Cleanup(func() {
		n.srv.Close()
		<-n.served
		n.tr.CloseIdleConnections()
	})
	return n
}

func (n *memNet) client() *http.Client { return &http.Client{Transport: n.tr} }

func (n *memNet) setDown(down bool) {
	n.mu.Lock()
	n.down = down
	n.mu.Unlock()
}

// dialTimes returns when the probe dialled.
func (n *memNet) dialTimes() []time.Time {
	n.mu.Lock()
	defer n.mu.Unlock()
	return slices.Clone(n.dials)
}

func (n *memNet) dial(ctx context.Context, _, _ string) (net.Conn, error) {
	n.mu.Lock()
	n.dials = append(n.dials, time.Now())
	down := n.down
	n.mu.Unlock()
	if down {
		return nil, &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
	}
	client, server := net.Pipe()
	select {
	case n.conns <- server:
		return client, nil
	case <-n.closed:
		return nil, &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (n *memNet) Accept() (net.Conn, error) {
	select {
	case c := <-n.conns:
		return c, nil
	case <-n.closed:
		return nil, net.ErrClosed
	}
}

func (n *memNet) Close() error {
	n.once.Do(func() { close(n.closed) })
	return nil
}

func (n *memNet) Addr() net.Addr { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 7039} }

// runMemProbe runs a probe against n with the longest jitter, so its
// waits are the ceilings, and stops it, waiting, when the test ends.
func runMemProbe(t *testing.T, n *memNet) {
	t.Helper()
	np, err := New(Options{Gateway: "ws://gateway.test:7039", Name: "p", Token: "t", Logger: discard(), HTTPClient: n.client()})
	if err != nil {
		t.Fatal(err)
	}
	np.jitter = maxJitter
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		np.Run(ctx)
	}()
	t.Cleanup(func() { stop(); <-done })
}

func gaps(times []time.Time) []time.Duration {
	var out []time.Duration
	for i := 1; i < len(times); i++ {
		out = append(out, times[i].Sub(times[i-1]))
	}
	return out
}

// serveHandshake is a gateway that completes the handshake with an empty
// config, and then hands the connection to then.
func serveHandshake(then func(ctx context.Context, c *websocket.Conn)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		ctx := r.Context()
		if _, _, err := c.Read(ctx); err != nil {
			return
		}
		welcome := protocol.Welcome{Version: 1, MaxMessage: protocol.DefaultMaxMessage}
		var cfg protocol.Config
		if c.Write(ctx, websocket.MessageBinary, welcome.Append(nil)) != nil || c.Write(ctx, websocket.MessageBinary, cfg.Append(nil)) != nil {
			return
		}
		then(ctx, c)
	})
}

// However long the gateway is down, a probe tries again at least every
// few seconds, so it is back within that of the gateway's return: here
// after a ten-minute outage, with the jitter at its longest.
func TestReconnectAfterLongOutage(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sessions := make(chan struct{}, 10)
		n := startMemNet(t, serveHandshake(func(ctx context.Context, c *websocket.Conn) {
			sessions <- struct{}{}
			for {
				if _, _, err := c.Read(ctx); err != nil {
					return
				}
			}
		}))
		n.setDown(true)
		runMemProbe(t, n)

		const outage = 10 * time.Minute
		time.Sleep(outage)
		n.setDown(false)
		back := time.Now()
		<-sessions
		if took := time.Since(back); took > 3*time.Second {
			t.Errorf("probe came back %v after the gateway, want within the 3s cap", took)
		}
		g := gaps(n.dialTimes())
		if m := slices.Max(g); m > 3*time.Second {
			t.Errorf("longest wait between attempts during the outage %v, want at most 3s", m)
		}
		// The outage's attempts: 250 ms, 500 ms, 1 s, 2 s, then every 3 s.
		if want := []time.Duration{250 * time.Millisecond, 500 * time.Millisecond, time.Second, 2 * time.Second, 3 * time.Second}; !slices.Equal(g[:5], want) {
			t.Errorf("first waits %v, want %v", g[:5], want)
		}
	})
}

// A gateway that refuses the probe's credential is tried less and less
// often, up to the long cap; an outage in between is retried soon, but
// the refusals go on backing off from where they were.
func TestRefusedProbeBacksOffLong(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := startMemNet(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
		}))
		runMemProbe(t, n)
		// 0.25+0.5+1+2+4+8+16+30+30 s of waits: ten attempts.
		time.Sleep(91750*time.Millisecond + time.Millisecond)
		synctest.Wait()
		s := time.Second
		want := []time.Duration{s / 4, s / 2, s, 2 * s, 4 * s, 8 * s, 16 * s, 30 * s, 30 * s}
		if got := gaps(n.dialTimes()); !slices.Equal(got, want) {
			t.Errorf("waits between refused attempts %v, want %v", got, want)
		}

		// An outage: attempts come every few seconds, not every 30.
		n.setDown(true)
		time.Sleep(60 * time.Second)
		n.setDown(false)
		time.Sleep(time.Minute)
		synctest.Wait()
		// The first wait is the refusal's, before the outage is seen.
		got := gaps(n.dialTimes())[len(want)+1:]
		var outage, after []time.Duration
		for i, g := range got {
			if g != 30*s {
				continue
			}
			outage, after = got[:i], got[i:]
			break
		}
		if len(outage) == 0 || slices.Max(outage) > 3*s {
			t.Errorf("waits after the gateway went down %v, want attempts at most 3s apart", got)
		}
		for _, g := range after {
			if g != 30*s {
				t.Errorf("waits once it refused again %v, want the 30s cap kept", after)
				break
			}
		}
	})
}

// A gateway that completes the handshake and then closes at once (as it
// does for content it always rejects) is a refusal: the waits grow as for
// a 401, and do not reset.
func TestShortSessionsKeepBackingOff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := startMemNet(t, serveHandshake(func(ctx context.Context, c *websocket.Conn) {
			c.Read(ctx) // the first snapshot
			c.Close(websocket.StatusPolicyViolation, "rejected")
		}))
		runMemProbe(t, n)
		time.Sleep(33 * time.Second)
		synctest.Wait()
		s := time.Second
		want := []time.Duration{s / 4, s / 2, s, 2 * s, 4 * s, 8 * s, 16 * s}
		got := gaps(n.dialTimes())
		if len(got) < len(want) {
			t.Fatalf("waits %v, want %v", got, want)
		}
		// Each wait starts when the session ends, a moment after the
		// dial, so compare with a little slack.
		for i, w := range want {
			if got[i] < w || got[i] > w+time.Second {
				t.Errorf("waits between short sessions %v, want %v", got, want)
				break
			}
		}
	})
}

// A gateway that refuses every hello with a policy violation gets a
// version-1 hello soon after the range is refused, and then, the refusal
// standing, the range again after a growing wait: twice per wait, never
// a tight loop.
func TestRefusedHelloAlternatesAndBacksOff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		var hellos []protocol.Hello
		n := startMemNet(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			c, h, ok := acceptHello(t, w, r)
			if !ok {
				return
			}
			defer c.CloseNow()
			mu.Lock()
			hellos = append(hellos, h)
			mu.Unlock()
			c.Close(websocket.StatusPolicyViolation, `hello names probe "p" but the token belongs to "q"`)
		}))
		runMemProbe(t, n)
		time.Sleep(8 * time.Second)
		synctest.Wait()
		mu.Lock()
		defer mu.Unlock()
		var versions []uint32
		for _, h := range hellos {
			versions = append(versions, h.MaxVersion)
		}
		if len(versions) < 6 || !slices.Equal(versions[:6], []uint32{2, 1, 2, 1, 2, 1}) {
			t.Errorf("hello max versions %v, want the range and version 1 alternating", versions)
		}
		g := gaps(n.dialTimes())
		for i := 1; i+2 < len(g); i += 2 {
			if g[i+2] <= g[i] {
				t.Errorf("waits after refused version-1 hellos %v do not grow", g)
				break
			}
		}
	})
}

// The unreachable cap defaults to 3 s, and is never above the refusal cap
// nor below the shortest wait.
func TestBackoffOptions(t *testing.T) {
	f := func(o Options, wantUnreachable, wantRefused time.Duration) {
		t.Helper()
		o.Gateway, o.Name, o.Token = "ws://127.0.0.1:1", "p", "t"
		p, err := New(o)
		if err != nil {
			t.Fatal(err)
		}
		if p.opts.MaxUnreachableBackoff != wantUnreachable || p.opts.MaxBackoff != wantRefused {
			t.Errorf("%+v: caps %v and %v, want %v and %v", o, p.opts.MaxUnreachableBackoff, p.opts.MaxBackoff, wantUnreachable, wantRefused)
		}
	}
	f(Options{}, 3*time.Second, 30*time.Second)
	f(Options{MinBackoff: 50 * time.Millisecond, MaxBackoff: 500 * time.Millisecond}, 500*time.Millisecond, 500*time.Millisecond)
	f(Options{MaxUnreachableBackoff: time.Minute}, 30*time.Second, 30*time.Second)
	f(Options{MinBackoff: 5 * time.Second, MaxUnreachableBackoff: time.Second}, 5*time.Second, 30*time.Second)
}
