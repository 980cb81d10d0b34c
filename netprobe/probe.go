package netprobe

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/VictoriaMetrics/metrics"
	"github.com/coder/websocket"
	"github.com/watchfloor/watchfloor/netprobe/protocol"
	"github.com/watchfloor/watchfloor/samplers"
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
	// Env is what the host lets samplers read and run (--allow-read,
	// --allow-exec); every sampler is built for it. The zero Env allows
	// nothing beyond what samplers need from /proc.
	Env samplers.Env
	// Logger receives the probe's log; nil means slog.Default().
	Logger *slog.Logger
	// Metrics receives the probe's counters; nil means a private set.
	Metrics *metrics.Set
	// MinBackoff is the shortest wait between reconnects (250 ms by
	// default). MaxBackoff caps the wait while the gateway refuses this
	// probe (30 s by default); MaxUnreachableBackoff caps it while the
	// gateway cannot be reached (3 s by default, never above MaxBackoff),
	// so that every probe is back soon after an outage however long it
	// was.
	MinBackoff, MaxUnreachableBackoff, MaxBackoff time.Duration
	// HTTPClient dials the gateway; nil means http.DefaultClient. With
	// TLS files, its Transport must be nil or an *http.Transport, which the
	// probe clones to add what the files hold.
	HTTPClient *http.Client
	// TLS names the CA to trust for a wss:// gateway and the probe's
	// client certificate; the zero value uses the system's CAs and no
	// client certificate.
	TLS TLSFiles
}

// Probe is a netprobe. Run it once; it is not safe to call Run twice.
type Probe struct {
	opts Options
	url  string
	log  *slog.Logger
	// tls is nil without TLS files.
	tls *tlsDialer
	m   probeMetrics
	// pingEvery and pingTimeout pace the probe's own pings, which notice
	// a gateway that went silent without closing; tests shorten them.
	pingEvery, pingTimeout time.Duration
	// jitter returns a random duration in [0, n]; tests pin it.
	jitter func(n time.Duration) time.Duration

	connects, batchesSent, bytesSent, snapshotsSent *metrics.Counter
	attempts, limitChanges                          *metrics.Counter
	leftOut, cutViews                               *metrics.Gauge
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
	var d *tlsDialer
	if !opts.TLS.isZero() {
		if !strings.HasPrefix(u, "wss://") {
			return nil, fmt.Errorf("netprobe: TLS files need a wss:// gateway address, not %q", opts.Gateway)
		}
		var err error
		if d, err = newTLSDialer(opts.TLS, opts.HTTPClient); err != nil {
			return nil, err
		}
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
	if opts.MaxUnreachableBackoff <= 0 {
		opts.MaxUnreachableBackoff = 3 * time.Second
	}
	opts.MaxUnreachableBackoff = min(max(opts.MaxUnreachableBackoff, opts.MinBackoff), opts.MaxBackoff)
	s := opts.Metrics
	p := &Probe{
		opts:        opts,
		url:         u,
		tls:         d,
		log:         opts.Logger.With("probe", opts.Name),
		pingEvery:   20 * time.Second,
		pingTimeout: 15 * time.Second,
		jitter:      func(n time.Duration) time.Duration { return rand.N(n + 1) },
		m: probeMetrics{
			samples:       s.NewCounter("watchfloor_netprobe_samples_total"),
			sampleErrors:  s.NewCounter("watchfloor_netprobe_sample_errors_total"),
			skippedTicks:  s.NewCounter("watchfloor_netprobe_skipped_ticks_total"),
			news:          s.NewCounter("watchfloor_netprobe_news_samples_total"),
			newsCoalesced: s.NewCounter("watchfloor_netprobe_news_coalesced_total"),
			failing:       s.NewGauge("watchfloor_netprobe_samplers_failing", nil),
		},
		connects:      s.NewCounter("watchfloor_netprobe_connects_total"),
		attempts:      s.NewCounter("watchfloor_netprobe_connect_attempts_total"),
		batchesSent:   s.NewCounter("watchfloor_netprobe_batches_sent_total"),
		bytesSent:     s.NewCounter("watchfloor_netprobe_bytes_sent_total"),
		snapshotsSent: s.NewCounter("watchfloor_netprobe_snapshots_sent_total"),
		limitChanges:  s.NewCounter("watchfloor_netprobe_limit_changes_total"),
		leftOut:       s.NewGauge("watchfloor_netprobe_dataviews_left_out", nil),
		cutViews:      s.NewGauge("watchfloor_netprobe_dataviews_cut", nil),
	}
	return p, nil
}

// Run connects, streams and reconnects until ctx is done, then stops every
// sampler and returns nil.
//
// Between attempts it waits as the attempt's outcome says (see backoff):
// briefly while the gateway cannot be reached, longer and longer while it
// refuses this probe. A gateway from before version ranges refuses the
// range Hello; the next attempt offers version 1 alone, and the attempt
// after that session (or after that Hello is refused too) offers the
// range again, so a gateway upgraded meanwhile is met at its best.
func (p *Probe) Run(ctx context.Context) error {
	st := newStore()
	r := newRunner(p.log, st, &p.m, p.opts.Env)
	defer r.stop()

	// A session that lasted this long worked, and the next one starts
	// from the shortest wait; one that ended sooner (a gateway that
	// accepts the handshake, then rejects what it is sent) counts as a
	// refusal, or it would reconnect several times a second.
	healthy := min(p.opts.MaxBackoff, 10*time.Second)
	b := newBackoff(p.opts.MinBackoff, p.opts.MaxUnreachableBackoff, p.opts.MaxBackoff, p.jitter)
	v1 := false
	var last outcome // the previous failed attempt's, to log a change once
	for {
		a := p.session(ctx, r, st, v1)
		if ctx.Err() != nil {
			return nil
		}
		o := a.outcome
		if !a.established.IsZero() {
			o = refused
			if time.Since(a.established) >= healthy {
				o = lasted
			}
		}
		// Version 1 alone only on the attempt right after a range was
		// refused: an attempt that failed otherwise (an outage) must not
		// make the first contact with an upgraded gateway a version-1 one.
		v1 = o == versionRefused
		if v1 {
			p.log.Info("gateway refused a hello with a version range; offering protocol version 1 alone", "err", a.err)
		}
		wait := b.next(o)
		// An outage is logged when it starts, not at every attempt.
		level := slog.LevelWarn
		if a.established.IsZero() && o == last {
			level = slog.LevelDebug
		}
		last = o
		p.log.Log(ctx, level, "disconnected from gateway; reconnecting", "err", a.err, "outcome", o, "in", wait.Round(time.Millisecond))
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
	}
}

// attempt is how one connection attempt went.
type attempt struct {
	established time.Time // when the handshake completed; zero if it did not
	outcome     outcome   // why it failed, if it did not establish
	helloSent   bool      // the Hello went out
	err         error
}

// session runs one connection: handshake, config, snapshot, deltas. v1
// sends a version-1 Hello instead of the range. The reader, the pinger
// and the sender each end the session when they fail, and the first
// failure is the session's error.
func (p *Probe) session(parent context.Context, r *runner, st *store, v1 bool) attempt {
	ctx, cancel := context.WithCancelCause(parent)
	defer cancel(nil)
	p.attempts.Inc()

	dialCtx, dialCancel := context.WithTimeout(ctx, 10*time.Second)
	defer dialCancel()
	hdr := http.Header{}
	hdr.Set("Authorization", "Bearer "+p.opts.Token)
	conn, resp, err := websocket.Dial(dialCtx, p.url, &websocket.DialOptions{HTTPHeader: hdr, HTTPClient: p.clientFor()})
	if err != nil {
		if resp != nil && resp.StatusCode == http.StatusUnauthorized {
			err = fmt.Errorf("gateway refused the credential (HTTP 401): %w", err)
		} else {
			err = fmt.Errorf("dial %s: %w", p.url, err)
		}
		if why := refusalText(resp); why != "" {
			err = fmt.Errorf("%w; the gateway says: %s", err, why)
		}
		return attempt{outcome: dialOutcome(resp, err), err: err}
	}
	defer conn.CloseNow()
	conn.SetReadLimit(protocol.DefaultMaxMessage)

	hello := protocol.Hello{MinVersion: protocol.MinVersion, MaxVersion: protocol.MaxVersion, Name: p.opts.Name, MaxMessage: protocol.DefaultMaxMessage, Software: Software}
	if v1 {
		hello.MinVersion, hello.MaxVersion = 1, 1
	}
	failed := func(o outcome, err error) attempt {
		return attempt{outcome: o, helloSent: true, err: err}
	}
	if err := conn.Write(dialCtx, websocket.MessageBinary, hello.Append(nil)); err != nil {
		return attempt{outcome: handshakeOutcome(err, false), err: fmt.Errorf("send hello: %w", err)}
	}
	var welcome protocol.Welcome
	if err := readMessage(dialCtx, conn, &welcome); err != nil {
		if errors.Is(err, errUnexpected) {
			conn.Close(websocket.StatusPolicyViolation, "bad welcome")
		}
		return failed(handshakeOutcome(err, !v1), fmt.Errorf("read welcome: %w", err))
	}
	if welcome.Version < hello.MinVersion || welcome.Version > hello.MaxVersion {
		conn.Close(websocket.StatusPolicyViolation, "unsupported protocol version")
		return failed(refused, fmt.Errorf("gateway chose protocol version %d; this probe offered %d to %d", welcome.Version, hello.MinVersion, hello.MaxVersion))
	}
	var cfg protocol.Config
	if err := readMessage(dialCtx, conn, &cfg); err != nil {
		if errors.Is(err, errUnexpected) {
			conn.Close(websocket.StatusPolicyViolation, "bad config message")
		}
		return failed(handshakeOutcome(err, false), fmt.Errorf("read config: %w", err))
	}
	select {
	case <-r.apply(cfg.Samplers):
	case <-ctx.Done():
		return failed(unreachable, context.Cause(ctx))
	}
	established := time.Now()
	p.connects.Inc()
	var limits *protocol.Limits
	if welcome.Version >= 2 {
		limits = &welcome.Limits
	}
	p.log.Info("connected to gateway", "url", p.url, "version", welcome.Version, "samplers", len(cfg.Samplers))

	maxMsg := int(welcome.MaxMessage)
	if maxMsg <= 0 || maxMsg > protocol.DefaultMaxMessage {
		maxMsg = protocol.DefaultMaxMessage
	}
	snapshotReq := make(chan struct{}, 1)
	var wg sync.WaitGroup
	wg.Go(func() { cancel(p.readLoop(ctx, conn, r, snapshotReq)) })
	wg.Go(func() { cancel(p.pingLoop(ctx, conn)) })
	p.awaitSamples(ctx, r, st)
	cancel(p.sendLoop(ctx, conn, st, snapshotReq, maxMsg, limits))
	wg.Wait()
	if parent.Err() != nil {
		conn.Close(websocket.StatusNormalClosure, "probe stopping")
	}
	return attempt{established: established, helloSent: true, err: context.Cause(ctx)}
}

// refusalText returns the start of the text an HTTP answer other than
// the upgrade carries, on one line, for the log: a gateway says there why
// it refuses the probe (a client certificate for another name, say).
func refusalText(resp *http.Response) string {
	if resp == nil || resp.Body == nil {
		return ""
	}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 300))
	return strings.Join(strings.FieldsFunc(strings.ToValidUTF8(string(b), "?"), func(r rune) bool {
		return unicode.IsSpace(r) || !unicode.IsPrint(r)
	}), " ")
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

// errUnexpected marks a message from the gateway that is not the one the
// protocol has next.
var errUnexpected = errors.New("unexpected message from the gateway")

func readMessage(ctx context.Context, conn *websocket.Conn, m decodable) error {
	typ, data, err := conn.Read(ctx)
	if err != nil {
		return err
	}
	if typ != websocket.MessageBinary {
		return fmt.Errorf("%w: a text message", errUnexpected)
	}
	if err := m.Decode(data); err != nil {
		return fmt.Errorf("%w: %w", errUnexpected, err)
	}
	return nil
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

// reportLimits returns what the differ tells when what the gateway's
// limits leave out changes: it logs the change once and sets the gauges.
func (p *Probe) reportLimits(limits *protocol.Limits) func(limitState) {
	return func(st limitState) {
		p.limitChanges.Inc()
		p.leftOut.Set(float64(len(st.LeftOut)))
		p.cutViews.Set(float64(len(st.Cut)))
		if len(st.LeftOut)+len(st.Cut) == 0 {
			p.log.Info("every dataview fits the gateway's limits again")
			return
		}
		const shown = 5
		p.log.Warn("the gateway's limits leave out part of this probe's data; it is not sent",
			"left_out", len(st.LeftOut), "left_out_first", st.LeftOut[:min(shown, len(st.LeftOut))],
			"cut", len(st.Cut), "cut_first", st.Cut[:min(shown, len(st.Cut))],
			"max_dataviews", limits.MaxDataviews, "max_columns", limits.MaxColumns,
			"max_headlines", limits.MaxHeadlines, "max_rows", limits.MaxRows, "max_cells", limits.MaxCells)
	}
}

// sendLoop ships a full snapshot, then one batch for whatever changed each
// time the samplers produce something. It returns when ctx is done or a
// write fails.
func (p *Probe) sendLoop(ctx context.Context, conn *websocket.Conn, st *store, snapshotReq <-chan struct{}, maxMsg int, limits *protocol.Limits) error {
	var (
		seq     uint64
		d       = newDiffer(limits, p.reportLimits(limits))
		buf     []byte
		b, then protocol.Batch
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
		then.Reset()
		d.delta(st.takeDirty(), &b, &then)
		for _, part := range []*protocol.Batch{&b, &then} {
			if len(part.Removes)+len(part.Declares)+len(part.Updates) == 0 {
				continue
			}
			encode(part)
			if len(buf) > maxMsg {
				// Too much for one message (a large dataview appeared): a
				// snapshot travels in chunks and replaces everything.
				p.log.Warn("tick's changes exceed the message limit; sending a snapshot instead", "bytes", len(buf), "limit", maxMsg)
				seq--
				if err := snapshot(); err != nil {
					return err
				}
				break
			}
			if err := write(); err != nil {
				return err
			}
		}
	}
}
