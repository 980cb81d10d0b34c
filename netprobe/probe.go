package netprobe

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/coder/websocket"
	"github.com/watchfloor/watchfloor/netprobe/protocol"
)

// Software names this build in the hello.
const Software = "watchfloor-netprobe"

// Options configure a Probe.
type Options struct {
	// Gateway is the gateway's base URL, ws://HOST:PORT or wss://HOST:PORT;
	// the probe dials its /ws/probe endpoint.
	Gateway string
	// Name is the probe's name as the gateway's configuration knows it.
	Name string
	// Token is the probe's credential, sent as a bearer token.
	Token string
	// Logger receives the probe's log; nil means slog.Default().
	Logger *slog.Logger
	// Metrics receives the probe's counters; nil means a private set.
	Metrics *metrics.Set
	// MinBackoff and MaxBackoff bound the wait between reconnects
	// (250 ms and 30 s by default).
	MinBackoff, MaxBackoff time.Duration
	// HTTPClient dials the gateway; nil means http.DefaultClient.
	HTTPClient *http.Client
}

// Probe is a netprobe. Run it once; it is not safe to call Run twice.
type Probe struct {
	opts Options
	url  string
	log  *slog.Logger
	m    probeMetrics
	// pingEvery and pingTimeout pace the probe's own pings, which notice
	// a gateway that went silent without closing; tests shorten them.
	pingEvery, pingTimeout time.Duration

	connects, batchesSent, bytesSent, snapshotsSent *metrics.Counter
}

// New checks the options and returns a probe. It starts nothing.
func New(opts Options) (*Probe, error) {
	if opts.Name == "" {
		return nil, errors.New("netprobe: a name is required")
	}
	if opts.Token == "" {
		return nil, errors.New("netprobe: a token is required")
	}
	u := strings.TrimSuffix(opts.Gateway, "/")
	if !strings.HasPrefix(u, "ws://") && !strings.HasPrefix(u, "wss://") {
		return nil, fmt.Errorf("netprobe: gateway address %q must start with ws:// or wss://", opts.Gateway)
	}
	if !strings.HasSuffix(u, "/ws/probe") {
		u += "/ws/probe"
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Metrics == nil {
		opts.Metrics = metrics.NewSet()
	}
	if opts.MinBackoff <= 0 {
		opts.MinBackoff = 250 * time.Millisecond
	}
	if opts.MaxBackoff < opts.MinBackoff {
		opts.MaxBackoff = max(30*time.Second, opts.MinBackoff)
	}
	s := opts.Metrics
	p := &Probe{
		opts:        opts,
		url:         u,
		log:         opts.Logger.With("probe", opts.Name),
		pingEvery:   20 * time.Second,
		pingTimeout: 15 * time.Second,
		m: probeMetrics{
			samples:      s.NewCounter("watchfloor_netprobe_samples_total"),
			sampleErrors: s.NewCounter("watchfloor_netprobe_sample_errors_total"),
			skippedTicks: s.NewCounter("watchfloor_netprobe_skipped_ticks_total"),
		},
		connects:      s.NewCounter("watchfloor_netprobe_connects_total"),
		batchesSent:   s.NewCounter("watchfloor_netprobe_batches_sent_total"),
		bytesSent:     s.NewCounter("watchfloor_netprobe_bytes_sent_total"),
		snapshotsSent: s.NewCounter("watchfloor_netprobe_snapshots_sent_total"),
	}
	return p, nil
}

// Run connects, streams and reconnects until ctx is done, then stops every
// sampler and returns nil.
func (p *Probe) Run(ctx context.Context) error {
	st := newStore()
	r := newRunner(ctx, p.log, st, &p.m)
	defer r.stop()

	// A session that lasted this long worked, and the next one starts
	// from the shortest wait; one that ended sooner (a gateway that
	// accepts the handshake, then rejects what it is sent) keeps backing
	// off, or it would reconnect several times a second.
	healthy := min(p.opts.MaxBackoff, 10*time.Second)
	backoff := p.opts.MinBackoff
	for {
		established, err := p.session(ctx, r, st)
		if ctx.Err() != nil {
			return nil
		}
		if !established.IsZero() && time.Since(established) >= healthy {
			backoff = p.opts.MinBackoff
		}
		// Full jitter between half and all of the backoff spreads a fleet's
		// reconnects after a gateway restart.
		wait := backoff/2 + rand.N(backoff/2+1)
		p.log.Warn("disconnected from gateway; reconnecting", "err", err, "in", wait.Round(time.Millisecond))
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
		backoff = min(2*backoff, p.opts.MaxBackoff)
	}
}

// session runs one connection: handshake, config, snapshot, deltas. It
// returns when the handshake completed (zero if it did not). The reader,
// the pinger and the sender each end the session when they fail, and the
// first failure is the session's error.
func (p *Probe) session(parent context.Context, r *runner, st *store) (time.Time, error) {
	ctx, cancel := context.WithCancelCause(parent)
	defer cancel(nil)

	dialCtx, dialCancel := context.WithTimeout(ctx, 10*time.Second)
	defer dialCancel()
	hdr := http.Header{}
	hdr.Set("Authorization", "Bearer "+p.opts.Token)
	conn, resp, err := websocket.Dial(dialCtx, p.url, &websocket.DialOptions{HTTPHeader: hdr, HTTPClient: p.opts.HTTPClient})
	if err != nil {
		if resp != nil && resp.StatusCode == http.StatusUnauthorized {
			return time.Time{}, fmt.Errorf("gateway refused the credential (HTTP 401): %w", err)
		}
		return time.Time{}, fmt.Errorf("dial %s: %w", p.url, err)
	}
	defer conn.CloseNow()
	conn.SetReadLimit(protocol.DefaultMaxMessage)

	hello := protocol.Hello{MinVersion: protocol.MinVersion, MaxVersion: protocol.MaxVersion, Name: p.opts.Name, MaxMessage: protocol.DefaultMaxMessage, Software: Software}
	if err := conn.Write(dialCtx, websocket.MessageBinary, hello.Append(nil)); err != nil {
		return time.Time{}, fmt.Errorf("send hello: %w", err)
	}
	var welcome protocol.Welcome
	if err := readMessage(dialCtx, conn, &welcome); err != nil {
		return time.Time{}, fmt.Errorf("read welcome: %w", err)
	}
	if welcome.Version < protocol.MinVersion || welcome.Version > protocol.MaxVersion {
		conn.Close(websocket.StatusPolicyViolation, "unsupported protocol version")
		return time.Time{}, fmt.Errorf("gateway chose protocol version %d; this probe speaks %d to %d", welcome.Version, protocol.MinVersion, protocol.MaxVersion)
	}
	var cfg protocol.Config
	if err := readMessage(dialCtx, conn, &cfg); err != nil {
		return time.Time{}, fmt.Errorf("read config: %w", err)
	}
	r.apply(cfg.Samplers)
	established := time.Now()
	p.connects.Inc()
	p.log.Info("connected to gateway", "url", p.url, "samplers", len(cfg.Samplers))

	maxMsg := int(welcome.MaxMessage)
	if maxMsg <= 0 || maxMsg > protocol.DefaultMaxMessage {
		maxMsg = protocol.DefaultMaxMessage
	}
	snapshotReq := make(chan struct{}, 1)
	var wg sync.WaitGroup
	wg.Go(func() { cancel(p.readLoop(ctx, conn, r, snapshotReq)) })
	wg.Go(func() { cancel(p.pingLoop(ctx, conn)) })
	p.awaitSamples(ctx, r, st)
	cancel(p.sendLoop(ctx, conn, st, snapshotReq, maxMsg))
	wg.Wait()
	if parent.Err() != nil {
		conn.Close(websocket.StatusNormalClosure, "probe stopping")
	}
	return established, context.Cause(ctx)
}

// firstSampleWait bounds how long a session's first snapshot waits for
// samplers that have not sampled yet.
const firstSampleWait = 2 * time.Second

// awaitSamples waits, at most firstSampleWait, until every running sampler
// has a sample. The first snapshot replaces all the gateway holds of this
// probe; sent before the samplers of a freshly started probe have sampled,
// it would remove their dataviews and declare them again a moment later.
// After a reconnect the samples are there and it returns at once. It
// consumes the store's change notifications, which is harmless: the
// snapshot that follows takes everything.
func (p *Probe) awaitSamples(ctx context.Context, r *runner, st *store) {
	ctx, cancel := context.WithTimeout(ctx, firstSampleWait)
	defer cancel()
	for !st.hasAll(r.startedIDs()) {
		select {
		case <-ctx.Done():
			p.log.Debug("sending the first snapshot before every sampler has sampled")
			return
		case <-st.changed:
		}
	}
}

// pingLoop pings the gateway and ends the session when a pong does not
// come back in time. Without it a gateway that vanished without closing
// (a host gone, a cable pulled) would go unnoticed until the next write,
// which for a probe with nothing to send is never.
func (p *Probe) pingLoop(ctx context.Context, conn *websocket.Conn) error {
	t := time.NewTicker(p.pingEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
		pctx, pcancel := context.WithTimeout(ctx, p.pingTimeout)
		err := conn.Ping(pctx)
		pcancel()
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("gateway did not answer a ping within %v: %w", p.pingTimeout, err)
		}
	}
}

type decodable interface{ Decode([]byte) error }

func readMessage(ctx context.Context, conn *websocket.Conn, m decodable) error {
	typ, data, err := conn.Read(ctx)
	if err != nil {
		return err
	}
	if typ != websocket.MessageBinary {
		return errors.New("gateway sent a text message")
	}
	return m.Decode(data)
}

// readLoop applies config and snapshot requests from the gateway.
func (p *Probe) readLoop(ctx context.Context, conn *websocket.Conn, r *runner, snapshotReq chan<- struct{}) error {
	for {
		typ, data, err := conn.Read(ctx)
		if err != nil {
			return err
		}
		kind, err := protocol.KindOf(data)
		if typ != websocket.MessageBinary || err != nil {
			conn.Close(websocket.StatusUnsupportedData, "binary protocol messages only")
			return errors.New("gateway sent a non-protocol message")
		}
		switch kind {
		case protocol.KindConfig:
			var cfg protocol.Config
			if err := cfg.Decode(data); err != nil {
				conn.Close(websocket.StatusPolicyViolation, "bad config message")
				return fmt.Errorf("decode config: %w", err)
			}
			p.log.Info("config from gateway", "samplers", len(cfg.Samplers))
			r.apply(cfg.Samplers)
		case protocol.KindSnapshotRequest:
			var req protocol.SnapshotRequest
			if err := req.Decode(data); err != nil {
				conn.Close(websocket.StatusPolicyViolation, "bad snapshot request")
				return fmt.Errorf("decode snapshot request: %w", err)
			}
			p.log.Info("gateway asked for a snapshot", "reason", req.Reason)
			select {
			case snapshotReq <- struct{}{}:
			default:
			}
		default:
			conn.Close(websocket.StatusPolicyViolation, "unexpected message kind")
			return fmt.Errorf("gateway sent an unexpected %v message", kind)
		}
	}
}

// sendLoop ships a full snapshot, then one batch for whatever changed each
// time the samplers produce something. It returns when ctx is done or a
// write fails.
func (p *Probe) sendLoop(ctx context.Context, conn *websocket.Conn, st *store, snapshotReq <-chan struct{}, maxMsg int) error {
	var (
		seq uint64
		d   = newDiffer()
		buf []byte
		b   protocol.Batch
	)
	// encode numbers the batch and encodes it into buf; write sends buf.
	encode := func(b *protocol.Batch) {
		seq++
		b.Seq = seq
		buf = b.Append(buf[:0])
	}
	write := func() error {
		if err := conn.Write(ctx, websocket.MessageBinary, buf); err != nil {
			return err
		}
		p.batchesSent.Inc()
		p.bytesSent.Add(len(buf))
		return nil
	}
	snapshot := func() error {
		p.snapshotsSent.Inc()
		for _, part := range protocol.SplitSnapshot(d.snapshot(st.all()), maxMsg-64) {
			encode(&part)
			if err := write(); err != nil {
				return err
			}
		}
		return nil
	}
	if err := snapshot(); err != nil {
		return err
	}
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-snapshotReq:
			if err := snapshot(); err != nil {
				return err
			}
			continue
		case <-st.changed:
		}
		b.Reset()
		d.delta(st.takeDirty(), &b)
		if len(b.Removes)+len(b.Declares)+len(b.Updates) == 0 {
			continue
		}
		encode(&b)
		if len(buf) > maxMsg {
			// Too much for one message (a large dataview appeared): a
			// snapshot travels in chunks and replaces everything.
			p.log.Warn("tick's changes exceed the message limit; sending a snapshot instead", "bytes", len(buf), "limit", maxMsg)
			seq--
			if err := snapshot(); err != nil {
				return err
			}
			continue
		}
		if err := write(); err != nil {
			return err
		}
	}
}
