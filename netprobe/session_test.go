package netprobe

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/watchfloor/watchfloor/netprobe/protocol"
	"github.com/watchfloor/watchfloor/samplers"
)

// peer is the gateway's side of the protocol, scripted: it lets a test
// send what the real gateway sends only in rare states (a snapshot request
// after a gap) and check what the probe answers.
type peer struct {
	t     *testing.T
	conns chan *websocket.Conn
	done  chan struct{}
}

func startPeer(t *testing.T) (*peer, string) {
	p := &peer{t: t, conns: make(chan *websocket.Conn, 1), done: make(chan struct{})}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		p.conns <- c
		<-p.done // a hijacked connection's handler must outlive the test's use of it
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(p.done) })
	return p, "ws" + strings.TrimPrefix(srv.URL, "http")
}

func (p *peer) read(ctx context.Context, c *websocket.Conn) []byte {
	p.t.Helper()
	_, data, err := c.Read(ctx)
	if err != nil {
		p.t.Fatal(err)
	}
	return data
}

// A snapshot request makes the probe send a full snapshot at once, with
// its sequence numbers continuing.
func TestSnapshotOnRequest(t *testing.T) {
	p, url := startPeer(t)
	np, err := New(Options{Gateway: url, Name: "n", Token: "t", Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		np.Run(runCtx)
	}()
	defer func() { stop(); <-done }()

	c := <-p.conns
	defer c.CloseNow()
	var hello protocol.Hello
	if err := hello.Decode(p.read(ctx, c)); err != nil || hello.Name != "n" {
		t.Fatalf("hello %+v: %v", hello, err)
	}
	welcome := protocol.Welcome{Version: 1, MaxMessage: protocol.DefaultMaxMessage}
	c.Write(ctx, websocket.MessageBinary, welcome.Append(nil))
	cfg := protocol.Config{Samplers: []protocol.SamplerConfig{{ID: 7, Entity: "e", Name: "count", Type: "test-count", Interval: 100 * time.Millisecond}}}
	c.Write(ctx, websocket.MessageBinary, cfg.Append(nil))

	var b protocol.Batch
	next := func() {
		t.Helper()
		if err := b.Decode(p.read(ctx, c)); err != nil {
			t.Fatal(err)
		}
	}
	next()
	if b.Seq != 1 || b.Flags&protocol.SnapshotStart == 0 {
		t.Fatalf("first batch seq %d flags %b, want the snapshot with seq 1", b.Seq, b.Flags)
	}
	// Wait until the sampler's dataview has been declared and updated.
	for len(b.Updates) == 0 {
		next()
	}
	last := b.Seq
	req := protocol.SnapshotRequest{Reason: "gap"}
	c.Write(ctx, websocket.MessageBinary, req.Append(nil))
	for {
		next()
		if b.Seq != last+1 {
			t.Fatalf("sequence jumped from %d to %d", last, b.Seq)
		}
		last = b.Seq
		if b.Flags&protocol.SnapshotStart != 0 {
			break
		}
	}
	if len(b.Declares) != 1 || b.Declares[0].SamplerID != 7 || b.Declares[0].Name != "count" || b.Flags&protocol.SnapshotEnd == 0 {
		t.Fatalf("snapshot after the request = %+v, want the count dataview declared whole", b)
	}
}

// accept returns the probe's next connection, closed when the test ends.
func (p *peer) accept(ctx context.Context) *websocket.Conn {
	p.t.Helper()
	select {
	case c := <-p.conns:
		p.t.Cleanup(func() { c.CloseNow() })
		return c
	case <-ctx.Done():
		p.t.Fatal("the probe did not connect")
		return nil
	}
}

// handshake reads the probe's hello and answers with a welcome and cfg.
func (p *peer) handshake(ctx context.Context, c *websocket.Conn, cfg protocol.Config) {
	p.t.Helper()
	var hello protocol.Hello
	if err := hello.Decode(p.read(ctx, c)); err != nil {
		p.t.Fatalf("hello: %v", err)
	}
	welcome := protocol.Welcome{Version: 1, MaxMessage: protocol.DefaultMaxMessage}
	if err := c.Write(ctx, websocket.MessageBinary, welcome.Append(nil)); err != nil {
		p.t.Fatal(err)
	}
	if err := c.Write(ctx, websocket.MessageBinary, cfg.Append(nil)); err != nil {
		p.t.Fatal(err)
	}
}

// batch reads the probe's next batch.
func (p *peer) batch(ctx context.Context, c *websocket.Conn) protocol.Batch {
	p.t.Helper()
	var b protocol.Batch
	if err := b.Decode(p.read(ctx, c)); err != nil {
		p.t.Fatal(err)
	}
	return b
}

// runProbe starts a probe on the peer at url and stops it, waiting, when
// the test ends. tune adjusts the probe before it runs.
func runProbe(t *testing.T, url string, tune func(*Probe)) {
	t.Helper()
	np, err := New(Options{Gateway: url, Name: "n", Token: "t", Logger: slog.New(slog.DiscardHandler),
		MinBackoff: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if tune != nil {
		tune(np)
	}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		np.Run(ctx)
	}()
	t.Cleanup(func() { stop(); <-done })
}

// A probe with nothing to send still notices the gateway closing the
// connection, and reconnects.
func TestReconnectsAfterGatewayCloses(t *testing.T) {
	p, url := startPeer(t)
	runProbe(t, url, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	c := p.accept(ctx)
	p.handshake(ctx, c, protocol.Config{})
	if b := p.batch(ctx, c); b.Flags&protocol.SnapshotEnd == 0 {
		t.Fatalf("first batch = %+v, want a whole (empty) snapshot", b)
	}
	c.Close(websocket.StatusGoingAway, "gateway stopping")
	p.accept(ctx)
}

// A gateway that stops answering without closing (here: it stops reading,
// so it sends no pongs) is noticed by the probe's pings, and the probe
// reconnects.
func TestReconnectsWhenGatewayGoesSilent(t *testing.T) {
	p, url := startPeer(t)
	runProbe(t, url, func(np *Probe) {
		np.pingEvery, np.pingTimeout = 50*time.Millisecond, 100*time.Millisecond
	})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	c := p.accept(ctx)
	p.handshake(ctx, c, protocol.Config{})
	p.batch(ctx, c)
	p.accept(ctx)
}

// A freshly started probe's first snapshot waits for its samplers' first
// samples: sent empty, it would make the gateway drop the dataviews it
// still holds from the probe's previous run. A sampler that cannot be
// built is not waited for.
func TestFirstSnapshotWaitsForSamples(t *testing.T) {
	p, url := startPeer(t)
	runProbe(t, url, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	c := p.accept(ctx)
	p.handshake(ctx, c, protocol.Config{Samplers: []protocol.SamplerConfig{
		{ID: 1, Entity: "e", Name: "late", Type: "test-late", Params: json.RawMessage(`{"delay_ms":300}`), Interval: time.Second},
		{ID: 2, Entity: "e", Name: "broken", Type: "no-such-type", Interval: time.Second},
	}})
	start := time.Now()
	b := p.batch(ctx, c)
	if b.Flags&protocol.SnapshotStart == 0 || len(b.Declares) != 1 || b.Declares[0].SamplerID != 1 || b.Declares[0].Name != "late" {
		t.Fatalf("first batch = %+v, want a snapshot declaring the late sampler's dataview", b)
	}
	// The wait is bounded at 2 s; ending well before it shows the broken
	// sampler was not waited for.
	if waited := time.Since(start); waited > 1500*time.Millisecond {
		t.Errorf("first snapshot took %v, want it soon after the late sampler's first sample", waited)
	}
}

// oldGatewayHello decodes a hello as gateways from before version ranges
// did (protocol version 1 only): kind, version, name, max_message,
// software, and nothing after. Its errors are the ones those gateways put
// in the close reason.
func oldGatewayHello(msg []byte) (name string, err error) {
	off := 0
	fail := func(err error) error { return fmt.Errorf("decode hello: at byte %d: %w", off, err) }
	uvarint := func() (uint64, error) {
		v, n := binary.Uvarint(msg[off:])
		if n <= 0 {
			return 0, fail(errors.New("message truncated"))
		}
		off += n
		return v, nil
	}
	str := func() (string, error) {
		n, err := uvarint()
		if err != nil {
			return "", err
		}
		if n > uint64(len(msg)-off) {
			return "", fail(errors.New("message truncated"))
		}
		s := string(msg[off : off+int(n)])
		off += int(n)
		return s, nil
	}
	if len(msg) == 0 || msg[0] != byte(protocol.KindHello) {
		return "", errors.New("decode hello: want hello message")
	}
	off = 1
	version, err := uvarint()
	if err != nil {
		return "", err
	}
	if name, err = str(); err != nil {
		return "", err
	}
	if _, err := uvarint(); err != nil {
		return "", err
	}
	if _, err := str(); err != nil {
		return "", err
	}
	if off != len(msg) {
		return "", fail(fmt.Errorf("%d bytes of trailing data", len(msg)-off))
	}
	if version != 1 {
		return "", fmt.Errorf("protocol version %d not supported (gateway speaks 1)", version)
	}
	return name, nil
}

// oldGatewayHandshake plays a version-1 gateway's side of one attempt: it
// refuses a hello it cannot read with 1008 before any welcome, or answers
// with a version-1 welcome (as those gateways encoded it) and cfg. It
// reports whether it accepted.
func (p *peer) oldGatewayHandshake(ctx context.Context, c *websocket.Conn, cfg protocol.Config) bool {
	p.t.Helper()
	if _, err := oldGatewayHello(p.read(ctx, c)); err != nil {
		c.Close(websocket.StatusPolicyViolation, err.Error())
		return false
	}
	welcome := binary.AppendUvarint([]byte{byte(protocol.KindWelcome), 1}, protocol.DefaultMaxMessage)
	if err := c.Write(ctx, websocket.MessageBinary, welcome); err != nil {
		p.t.Fatal(err)
	}
	if err := c.Write(ctx, websocket.MessageBinary, cfg.Append(nil)); err != nil {
		p.t.Fatal(err)
	}
	return true
}

// A gateway from before version ranges refuses the range hello; the probe
// connects on its next attempt with a version-1 hello, streams, and after
// that session ends offers the range again first.
func TestOldGatewayGetsVersion1Hello(t *testing.T) {
	p, url := startPeer(t)
	runProbe(t, url, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cfg := protocol.Config{Samplers: []protocol.SamplerConfig{{ID: 1, Entity: "e", Name: "count", Type: "test-count", Interval: 100 * time.Millisecond}}}

	for session := 1; session <= 2; session++ {
		c := p.accept(ctx)
		if p.oldGatewayHandshake(ctx, c, cfg) {
			t.Fatalf("session %d: the first hello read as version 1; want the range first", session)
		}
		c = p.accept(ctx)
		if !p.oldGatewayHandshake(ctx, c, cfg) {
			t.Fatalf("session %d: the second attempt's hello was refused too", session)
		}
		// It streams: a snapshot, then the count sampler's updates.
		b := p.batch(ctx, c)
		if b.Seq != 1 || b.Flags&protocol.SnapshotStart == 0 {
			t.Fatalf("session %d: first batch seq %d flags %b, want the snapshot", session, b.Seq, b.Flags)
		}
		for changed := 0; changed < 2; {
			b = p.batch(ctx, c)
			for _, u := range b.Updates {
				changed += len(u.Cells)
			}
		}
		c.Close(websocket.StatusGoingAway, "gateway stopping")
	}
}

// A version-2 welcome's limits hold on the probe's side: what passes them
// is not sent. A version-1 welcome has none: everything is sent.
func TestWelcomeLimitsHonoured(t *testing.T) {
	rows := func() samplers.Sampler {
		return &funcSampler{sample: func(context.Context) ([]samplers.Dataview, error) {
			return []samplers.Dataview{wide("big", 4, 0, 10, "v"), wide("other", 1, 0, 1, "v")}, nil
		}}
	}
	for _, tc := range []struct {
		version        uint32
		rows, dataview int
	}{{1, 10, 2}, {2, 3, 1}} {
		t.Run(fmt.Sprint("version ", tc.version), func(t *testing.T) {
			p, url := startPeer(t)
			runProbe(t, url, nil)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			c := p.accept(ctx)
			var hello protocol.Hello
			if err := hello.Decode(p.read(ctx, c)); err != nil || hello.MinVersion != protocol.MinVersion || hello.MaxVersion != protocol.MaxVersion {
				t.Fatalf("hello %+v, %v; want the range %d to %d", hello, err, protocol.MinVersion, protocol.MaxVersion)
			}
			welcome := protocol.Welcome{Version: tc.version, MaxMessage: protocol.DefaultMaxMessage,
				MinVersion: 1, MaxVersion: 2, Limits: protocol.Limits{MaxDataviews: 1, MaxColumns: 2, MaxHeadlines: 5, MaxRows: 3, MaxCells: 1000}}
			cfg := protocol.Config{Samplers: []protocol.SamplerConfig{{ID: 1, Entity: "e", Name: "s", Type: "test-func", Params: newFunc(t, rows), Interval: time.Second}}}
			if err := c.Write(ctx, websocket.MessageBinary, welcome.Append(nil)); err != nil {
				t.Fatal(err)
			}
			if err := c.Write(ctx, websocket.MessageBinary, cfg.Append(nil)); err != nil {
				t.Fatal(err)
			}
			b := p.batch(ctx, c)
			if len(b.Declares) != tc.dataview || len(b.Declares[0].Rows) != tc.rows {
				t.Fatalf("snapshot declares %d dataviews, the first with %d rows; want %d and %d", len(b.Declares), len(b.Declares[0].Rows), tc.dataview, tc.rows)
			}
		})
	}
}
