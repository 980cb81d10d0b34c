package gateway

import (
	"cmp"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"github.com/watchfloor/watchfloor/netprobe/protocol"
)

// WebSocket close codes the probe hub uses.
const (
	closeGoingAway = websocket.CloseGoingAway
	closePolicy    = websocket.ClosePolicyViolation
	closeTooBig    = websocket.CloseMessageTooBig
	closeData      = websocket.CloseUnsupportedData
	closeRestart   = websocket.CloseServiceRestart
)

// probePath is the netprobes' WebSocket endpoint.
const probePath = "/ws/probe"

const (
	handshakeTimeout = 10 * time.Second
	probeWriteWait   = 10 * time.Second
	// A probe that sends nothing for this long (no tick, no pong) is
	// considered gone; probes tick at least every few seconds.
	probeReadTimeout  = 60 * time.Second
	probePingInterval = 20 * time.Second
)

// probeConn is the gateway's side of one probe connection. The handler
// goroutine reads; writeLoop writes what send queues.
type probeConn struct {
	ws   *websocket.Conn
	out  chan []byte
	done chan struct{}
	once sync.Once
	// turn is held by the batch the connection's reader has handed to the
	// actor, until the actor has applied it: a decoded batch is several
	// times its message, and a probe must not make the gateway hold many
	// of them by sending faster than its actor applies.
	turn chan struct{}
	// peerMax is the largest message the probe said it accepts (0: the
	// protocol default) and version the protocol version agreed; both set
	// by the handshake, before any send.
	peerMax int
	version uint32
	// tls is the connection's TLS state (nil without TLS), so that a
	// reload can judge its client certificate again.
	tls *tls.ConnectionState
}

func newProbeConn(ws *websocket.Conn) *probeConn {
	return &probeConn{ws: ws, out: make(chan []byte, 16), done: make(chan struct{}), turn: make(chan struct{}, 1)}
}

// send queues a message for the probe. Control messages are few; a probe
// that lets sixteen pile up is not reading, and is cut off. A message
// larger than the probe accepts would be refused by it, so the connection
// is closed here with the reason instead.
func (c *probeConn) send(msg []byte) {
	if limit := cmp.Or(c.peerMax, protocol.DefaultMaxMessage); len(msg) > limit {
		c.close(closeTooBig, fmt.Sprintf("a %d-byte message exceeds the probe's limit of %d bytes", len(msg), limit))
		return
	}
	select {
	case c.out <- msg:
	case <-c.done:
	default:
		c.close(closePolicy, "probe is not reading its control messages")
	}
}

// close says why, then closes the socket. Safe to call more than once and
// from any goroutine.
func (c *probeConn) close(code int, reason string) {
	c.once.Do(func() {
		if len(reason) > 120 {
			reason = reason[:120] // a close frame carries at most 123 bytes
		}
		msg := websocket.FormatCloseMessage(code, reason)
		_ = c.ws.WriteControl(websocket.CloseMessage, msg, time.Now().Add(time.Second))
		c.ws.Close()
		close(c.done)
	})
}

// writeLoop writes what send queues, and pings, until the connection
// closes; it closes the connection when the actor stops (the probe was
// removed), even one that sends nothing.
func (c *probeConn) writeLoop(actorStopped <-chan struct{}) {
	ping := time.NewTicker(probePingInterval)
	defer ping.Stop()
	for {
		select {
		case <-c.done:
			return
		case <-actorStopped:
			c.close(closeGoingAway, "probe removed or gateway stopping")
			return
		case msg := <-c.out:
			c.ws.SetWriteDeadline(time.Now().Add(probeWriteWait))
			if err := c.ws.WriteMessage(websocket.BinaryMessage, msg); err != nil {
				c.close(closeGoingAway, "write failed")
				return
			}
		case <-ping.C:
			if err := c.ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(probeWriteWait)); err != nil {
				c.close(closeGoingAway, "ping failed")
				return
			}
		}
	}
}

// probeAuth maps token hashes to probe names.
type probeAuth map[[sha256.Size]byte]string

// probeFor returns the actor of the probe whose token the request's
// bearer token hashes to. The token table and the actors are read under
// one lock, and the actor must be the one its token was configured with,
// so a connection made with a token a reload has just replaced cannot
// feed the probe's new actor. The table is keyed by SHA-256 digests:
// looking one up reveals nothing an attacker could use, since finding a
// token for a digest means inverting the hash, so no constant-time scan
// over every probe is needed.
func (g *Gateway) probeFor(r *http.Request) (*probeActor, bool) {
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || token == "" {
		return nil, false
	}
	sum := sha256.Sum256([]byte(token))
	g.mu.RLock()
	defer g.mu.RUnlock()
	h := g.actors[g.authTable[sum]]
	if h == nil || h.token != sum {
		return nil, false
	}
	return h.a, true
}

func parseTokenHash(s string) ([sha256.Size]byte, error) {
	var out [sha256.Size]byte
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != sha256.Size {
		return out, fmt.Errorf("token_sha256 %q is not a hex SHA-256", s)
	}
	copy(out[:], b)
	return out, nil
}

// serveProbe authenticates a netprobe, upgrades, shakes hands and feeds its
// actor until the connection ends. A missing or wrong token gets 401 and no
// upgrade.
func (g *Gateway) serveProbe(w http.ResponseWriter, r *http.Request) {
	a, ok := g.probeFor(r)
	if !ok {
		g.m.authFailures.Inc()
		g.log.Warn("probe refused: missing or unknown token", "remote", r.RemoteAddr)
		w.Header().Set("WWW-Authenticate", `Bearer realm="watchfloor-probe"`)
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return
	}
	name := a.name
	if err := g.tls.ProbeCert(r, name); err != nil {
		g.m.authFailures.Inc()
		g.log.Warn("probe refused: client certificate", "probe", name, "remote", r.RemoteAddr, "err", err)
		http.Error(w, err.Error(), http.StatusForbidden)
		return
	}
	up := websocket.Upgrader{
		HandshakeTimeout: handshakeTimeout,
		// Probes are not browsers: the token, not the origin, is what
		// authenticates them.
		CheckOrigin: func(*http.Request) bool { return true },
	}
	ws, err := up.Upgrade(w, r, nil)
	if err != nil {
		g.log.Warn("probe upgrade failed", "probe", name, "err", err)
		return
	}
	if !g.trackConn(ws) {
		ws.Close()
		return
	}
	defer g.untrackConn(ws)

	c := newProbeConn(ws)
	c.tls = r.TLS
	defer c.close(closeGoingAway, "")
	if err := g.handshake(c, name); err != nil {
		g.m.protocolErrors.Inc()
		g.log.Warn("probe handshake failed", "probe", name, "remote", r.RemoteAddr, "err", err)
		code := closePolicy
		if errors.Is(err, errTooBig) {
			code = closeTooBig
		}
		c.close(code, err.Error())
		return
	}
	g.connWG.Add(1)
	go func() {
		defer g.connWG.Done()
		c.writeLoop(a.stopped)
	}()
	ctx := g.ctx
	if !a.send(ctx, event{kind: evConnect, conn: c}) {
		return
	}
	g.m.probeConnects.Inc()
	g.log.Info("probe connected", "probe", name, "remote", r.RemoteAddr, "protocol", c.version)
	err = g.readProbe(ctx, a, c)
	a.send(ctx, event{kind: evDisconnect, conn: c})
	g.log.Info("probe disconnected", "probe", name, "reason", err)
}

// handshake reads the probe's Hello and answers with a Welcome in the
// highest protocol version both speak: from version 2 it carries the
// gateway's range and the limits it holds the probe to.
func (g *Gateway) handshake(c *probeConn, name string) error {
	c.ws.SetReadDeadline(time.Now().Add(handshakeTimeout))
	typ, data, err := g.readMessage(c.ws)
	if err != nil {
		return fmt.Errorf("read hello: %w", err)
	}
	if typ != websocket.BinaryMessage {
		return errors.New("hello must be a binary message")
	}
	var hello protocol.Hello
	if err := hello.Decode(data); err != nil {
		return fmt.Errorf("decode hello: %w", err)
	}
	version, err := protocol.Agree(hello.MinVersion, hello.MaxVersion, g.minVersion, g.maxVersion)
	if err != nil {
		return err
	}
	if hello.Name != name {
		return fmt.Errorf("hello names probe %q but the token belongs to %q", hello.Name, name)
	}
	c.peerMax = int(hello.MaxMessage)
	welcome := protocol.Welcome{Version: version, MaxMessage: uint32(g.maxMessage),
		MinVersion: g.minVersion, MaxVersion: g.maxVersion, Limits: g.limits()}
	msg := welcome.Append(nil)
	if limit := cmp.Or(c.peerMax, protocol.DefaultMaxMessage); len(msg) > limit {
		return fmt.Errorf("%w: the %d-byte welcome exceeds the probe's limit of %d bytes", errTooBig, len(msg), limit)
	}
	c.version = version
	c.ws.SetWriteDeadline(time.Now().Add(probeWriteWait))
	return c.ws.WriteMessage(websocket.BinaryMessage, msg)
}

var (
	errTooBig       = errors.New("message too big")
	errActorStopped = errors.New("the probe was removed")
)

// readMessage reads one message of at most maxMessage bytes. It enforces
// the limit itself rather than through SetReadLimit so that the close
// frame can say why.
func (g *Gateway) readMessage(ws *websocket.Conn) (int, []byte, error) {
	typ, r, err := ws.NextReader()
	if err != nil {
		return 0, nil, err
	}
	data, err := io.ReadAll(io.LimitReader(r, int64(g.maxMessage)+1))
	if err != nil {
		return 0, nil, err
	}
	if len(data) > g.maxMessage {
		// Drain a bounded amount of the rest, briefly, so the probe finishes
		// its write and reads the close frame instead of a reset.
		ws.SetReadDeadline(time.Now().Add(2 * time.Second))
		io.Copy(io.Discard, io.LimitReader(r, 64<<20))
		return 0, nil, fmt.Errorf("%w: over %d bytes", errTooBig, g.maxMessage)
	}
	return typ, data, nil
}

// readProbe reads batches, checks their sequence and hands them to the
// actor. Anything malformed closes this connection, and only it.
func (g *Gateway) readProbe(ctx context.Context, a *probeActor, c *probeConn) error {
	c.ws.SetPongHandler(func(string) error {
		return c.ws.SetReadDeadline(time.Now().Add(probeReadTimeout))
	})
	var (
		next          uint64 = 1 // the sequence number expected
		awaitSnapshot bool
	)
	for {
		c.ws.SetReadDeadline(time.Now().Add(probeReadTimeout))
		typ, data, err := g.readMessage(c.ws)
		fail := func(code int, err error) error {
			g.m.protocolErrors.Inc()
			g.log.Warn("closing probe connection", "probe", a.name, "err", err)
			c.close(code, err.Error())
			return err
		}
		if errors.Is(err, errTooBig) {
			return fail(closeTooBig, err)
		}
		if err != nil {
			return err
		}
		if typ != websocket.BinaryMessage {
			return fail(closeData, errors.New("text message on the probe protocol"))
		}
		// Decode only once the actor has applied the previous batch.
		select {
		case c.turn <- struct{}{}:
		case <-a.stopped:
			return errActorStopped
		case <-ctx.Done():
			return ctx.Err()
		}
		b := new(protocol.Batch)
		if err := b.Decode(data); err != nil {
			return fail(closePolicy, fmt.Errorf("bad batch: %w", err))
		}
		g.m.batches.Inc()
		g.m.bytes.Add(len(data))
		switch {
		case b.Seq < next:
			return fail(closePolicy, fmt.Errorf("batch sequence %d out of order (expected %d)", b.Seq, next))
		case b.Seq > next:
			g.m.gaps.Inc()
			g.log.Warn("gap in probe sequence; asking for a snapshot", "probe", a.name, "expected", next, "got", b.Seq)
			req := protocol.SnapshotRequest{Reason: fmt.Sprintf("gap: expected batch %d, got %d", next, b.Seq)}
			c.send(req.Append(nil))
			awaitSnapshot = true
		}
		next = b.Seq + 1
		if awaitSnapshot {
			if b.Flags&protocol.SnapshotStart == 0 {
				<-c.turn
				continue // deltas against state the gateway may not have
			}
			awaitSnapshot = false
		}
		if !a.send(ctx, event{kind: evBatch, conn: c, batch: b}) {
			return ctx.Err()
		}
	}
}
