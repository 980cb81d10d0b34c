// Package gatewaytest starts real gateways and netprobes on loopback for
// tests, and speaks to them as a dashboard or as a hand-driven probe
// would, waiting on what they send rather than polling. Every helper
// stops what it starts when its test ends.
package gatewaytest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/watchfloor/watchfloor/gateway"
	"github.com/watchfloor/watchfloor/gateway/config"
	"github.com/watchfloor/watchfloor/gateway/internal/tooltest"
	"github.com/watchfloor/watchfloor/netprobe"
	"github.com/watchfloor/watchfloor/netprobe/protocol"
	"github.com/watchfloor/watchfloor/samplers"
)

// Wait is how long a helper waits for an event: generous, so tests pass
// under -race on a busy two-core machine.
const Wait = 20 * time.Second

// Probe describes a netprobe for Config: its name, its token, and the
// samplers its one entity runs (names of the samplers Config defines).
type Probe struct {
	Name, Token string
	Samplers    []string
}

// Entity is the name of the one entity Config gives a probe.
func (p Probe) Entity() string { return p.Name + "-entity" }

// Samplers is the samplers section Config writes: cpu and memory at the
// shortest interval.
const Samplers = `samplers:
  - name: cpu
    type: cpu
    interval: 100ms
  - name: memory
    type: memory
    interval: 100ms
`

// Config renders a gateway configuration listening on listen, with one
// entity per probe (attribute region: emea) running the probe's samplers,
// and the Admin user.
func Config(listen string, probes ...Probe) string {
	return Entities(listen, probes...) + Users(Admin)
}

// Entities is Config without users, for a test that writes its own.
func Entities(listen string, probes ...Probe) string {
	var b strings.Builder
	fmt.Fprintf(&b, "listen: %q\nprobes:\n", listen)
	for _, p := range probes {
		fmt.Fprintf(&b, "  - name: %q\n    token_sha256: %s\n", p.Name, config.HashToken(p.Token))
	}
	b.WriteString(Samplers)
	b.WriteString("entities:\n")
	for _, p := range probes {
		fmt.Fprintf(&b, "  - name: %q\n    probe: %q\n    attributes: {region: emea}\n    samplers: [%s]\n",
			p.Entity(), p.Name, strings.Join(p.Samplers, ", "))
	}
	return b.String()
}

// DataviewPath returns the canonical path of a dataview.
func DataviewPath(probe, entity, sampler, dataview string) string {
	return samplers.DataviewPath{Probe: probe, Entity: entity, Sampler: sampler, Dataview: dataview}.String()
}

// Gateway is a gateway running for a test.
type Gateway struct {
	*gateway.Gateway
	// Addr is the loopback host:port it listens on.
	Addr string
	// File is its configuration file, for reloads ("" unless StartFile
	// started it).
	File string

	adminMu sync.Mutex
	admin   *Session
	stop    func()
}

// URL returns the gateway's base URL, http://Addr.
func (g *Gateway) URL() string { return "http://" + g.Addr }

// Admin returns a session of the Admin user, logging in the first time.
func (g *Gateway) Admin(t testing.TB) *Session {
	t.Helper()
	g.adminMu.Lock()
	defer g.adminMu.Unlock()
	if g.admin == nil {
		g.admin = Login(t, g.URL(), Admin.Name)
	}
	return g.admin
}

// Dashboard dials the dashboard socket as the Admin user.
func (g *Gateway) Dashboard(t testing.TB) *Dashboard {
	t.Helper()
	return DialDashboard(t, g.Addr, g.Admin(t))
}

// Tree watches the tree as the Admin user.
func (g *Gateway) Tree(t testing.TB) *Tree {
	t.Helper()
	return WatchTree(t, g.Addr, g.Admin(t))
}

// Listen opens a loopback listener on a free port, closed when t ends
// unless a gateway took it over.
func Listen(t testing.TB) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

// Start runs a gateway on a loopback port until t ends. Without
// opts.Config it serves Config for probes; without opts.Logger it logs to
// the test.
func Start(t testing.TB, opts gateway.Options, probes ...Probe) *Gateway {
	t.Helper()
	if opts.Listener == nil {
		opts.Listener = Listen(t)
	}
	if opts.Config == nil {
		cfg, err := config.Parse("test.yaml", []byte(Config(opts.Listener.Addr().String(), probes...)))
		if err != nil {
			t.Fatal(err)
		}
		opts.Config = cfg
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	gw, err := gateway.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- gw.Run(ctx) }()
	g := &Gateway{Gateway: gw, Addr: opts.Listener.Addr().String(), File: opts.ConfigFile}
	g.stop = sync.OnceFunc(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("gateway run: %v", err)
		}
	})
	t.Cleanup(g.stop)
	return g
}

// Stop stops the gateway before the test ends and waits for it, as a
// test of a restart needs.
func (g *Gateway) Stop(t testing.TB) {
	t.Helper()
	g.stop()
}

// StartFile runs a gateway whose configuration is a file, as reloads need,
// with opts otherwise, and returns a function that replaces the file's
// contents.
func StartFile(t testing.TB, opts gateway.Options, probes ...Probe) (gw *Gateway, write func(yaml string)) {
	t.Helper()
	ln := Listen(t)
	file := filepath.Join(t.TempDir(), "gateway.yaml")
	write = func(yaml string) {
		t.Helper()
		if err := os.WriteFile(file, []byte(yaml), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(Config(ln.Addr().String(), probes...))
	cfg, err := config.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	opts.Config, opts.ConfigFile, opts.Listener = cfg, file, ln
	return Start(t, opts), write
}

// testWriter sends a gateway's log to its test, so it shows only when the
// test fails or runs with -v.
type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// StartProbe runs a real netprobe against addr until t ends or stop is
// called. It reconnects quickly, for tests that restart gateways.
func StartProbe(t testing.TB, addr string, p Probe) (stop func()) {
	t.Helper()
	np, err := netprobe.New(netprobe.Options{
		Gateway: "ws://" + addr, Name: p.Name, Token: p.Token,
		Logger:     slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn})),
		MinBackoff: 50 * time.Millisecond, MaxBackoff: 500 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		np.Run(ctx)
	}()
	stop = func() {
		cancel()
		<-done
	}
	t.Cleanup(stop)
	return stop
}

// RawProbe speaks the probe protocol by hand, to send what a real
// netprobe never would.
type RawProbe struct {
	t    testing.TB
	Conn *websocket.Conn
	// Welcome and Config are what the gateway answered the Hello with.
	Welcome protocol.Welcome
	Config  protocol.Config
	seq     uint64
}

// DialProbeSocket opens the probe endpoint with a token and nothing else:
// the handshake is the caller's.
func DialProbeSocket(t testing.TB, addr, token string) *websocket.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), Wait)
	defer cancel()
	hdr := http.Header{"Authorization": {"Bearer " + token}}
	conn, _, err := websocket.Dial(ctx, "ws://"+addr+"/ws/probe", &websocket.DialOptions{HTTPHeader: hdr})
	if err != nil {
		t.Fatalf("dial probe: %v", err)
	}
	conn.SetReadLimit(protocol.DefaultMaxMessage)
	t.Cleanup(func() { conn.CloseNow() })
	return conn
}

// DialRawProbe connects as the named probe, speaking the newest protocol
// version, and reads the Welcome and the Config.
func DialRawProbe(t testing.TB, addr, name, token string) *RawProbe {
	t.Helper()
	p := &RawProbe{t: t, Conn: DialProbeSocket(t, addr, token)}
	hello := protocol.Hello{MinVersion: protocol.MinVersion, MaxVersion: protocol.MaxVersion, Name: name, MaxMessage: protocol.DefaultMaxMessage}
	p.Write(hello.Append(nil))
	if err := p.Welcome.Decode(p.Read()); err != nil {
		t.Fatalf("welcome: %v", err)
	}
	if err := p.Config.Decode(p.Read()); err != nil {
		t.Fatalf("config: %v", err)
	}
	return p
}

// Write sends one binary message.
func (p *RawProbe) Write(msg []byte) {
	p.t.Helper()
	if err := p.Conn.Write(context.Background(), websocket.MessageBinary, msg); err != nil {
		p.t.Fatalf("probe write: %v", err)
	}
}

// Read reads one message.
func (p *RawProbe) Read() []byte {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), Wait)
	defer cancel()
	_, data, err := p.Conn.Read(ctx)
	if err != nil {
		p.t.Fatalf("probe read: %v", err)
	}
	return data
}

// Send numbers b with the connection's next sequence number and sends it.
func (p *RawProbe) Send(b protocol.Batch) {
	p.t.Helper()
	p.seq++
	b.Seq = p.seq
	p.Write(b.Append(nil))
}

// TrySend is Send for a connection the gateway may already have closed:
// it returns the write's error instead of failing the test.
func (p *RawProbe) TrySend(b protocol.Batch) error {
	p.seq++
	b.Seq = p.seq
	return p.Conn.Write(context.Background(), websocket.MessageBinary, b.Append(nil))
}

// SkipSeq loses the next sequence number, as a dropped batch would.
func (p *RawProbe) SkipSeq() { p.seq++ }

// ExpectClose reads until the gateway closes the connection and returns
// the close status and reason.
func (p *RawProbe) ExpectClose() (websocket.StatusCode, string) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), Wait)
	defer cancel()
	for {
		_, _, err := p.Conn.Read(ctx)
		if err != nil {
			var ce websocket.CloseError
			if errors.As(err, &ce) {
				return ce.Code, ce.Reason
			}
			p.t.Fatalf("connection ended without a close frame: %v", err)
		}
	}
}

// WaitListening waits until something accepts connections on addr: a
// gateway process starting up.
func WaitListening(t testing.TB, addr string) {
	t.Helper()
	deadline := time.Now().Add(Wait)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("nothing listens on %s after %v: %v", addr, Wait, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Eventually polls cond until it holds, failing the test after Wait. It is
// for state nothing announces (a gauge, a process's socket); whatever the
// gateway pushes is awaited on its stream instead.
func Eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(Wait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", Wait, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Tool returns the path of an outside program a test runs, such as
// prometheus. Missing, it skips the test on a developer's machine and
// fails it under CI=true, where .ci/run installs the Debian package pkg.
func Tool(t testing.TB, name, pkg string) string {
	t.Helper()
	return tooltest.Tool(t, name, pkg)
}
