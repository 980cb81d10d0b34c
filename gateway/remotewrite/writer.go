package remotewrite

import (
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/VictoriaMetrics/metrics"
)

// Options configure a Writer. Zero values take the defaults given.
type Options struct {
	// URL is the store's remote-write endpoint, http or https, e.g.
	// http://127.0.0.1:8428/api/v1/write.
	URL string
	// Username and Password are sent as basic auth when Username != "".
	Username, Password string
	// BearerToken is sent as "Authorization: Bearer" when != "".
	BearerToken string
	// TLS configures https; nil takes Go's defaults. Not with Client.
	TLS *tls.Config
	// Timeout bounds each request; default 10s.
	Timeout time.Duration
	// BatchSize is the most samples in one request; default 5000.
	BatchSize int
	// FlushInterval is how long a partial batch may wait; default 1s.
	FlushInterval time.Duration
	// BufferSize is the most samples held, buffered or being sent, while
	// the store is down or slow; default 1_000_000. Samples that do not
	// fit are dropped and counted.
	BufferSize int
	// MinBackoff and MaxBackoff bound the wait before retrying a request
	// that failed with a 5xx, a 429, a timeout or a connection error. The
	// wait doubles from MinBackoff with each failure, up to MaxBackoff, and
	// is jittered; defaults 100ms and 30s.
	MinBackoff, MaxBackoff time.Duration
	// Resend is how long a series may go without a sample sent before its
	// last value is sent again at the current time, so the store's
	// lookback (5m in Prometheus) keeps it live; default 1m, < 0 off.
	Resend time.Duration
	// Name is the target's name in metrics (label target) and logs;
	// default the URL's host.
	Name string
	// Logger gets failures (rate-limited) and recoveries; default none.
	Logger *slog.Logger
	// Metrics is where the Writer's counters go; default a Set of its own.
	Metrics *metrics.Set
	// Now is the time source for resends, staleness markers and the
	// success time; default time.Now. It must be safe for concurrent use.
	Now func() time.Time
	// Client sends the requests; default one built from TLS. Its
	// connections stay open after Run returns, the default's do not.
	Client *http.Client
}

// Defaults of Options.
const (
	DefaultTimeout       = 10 * time.Second
	DefaultBatchSize     = 5000
	DefaultFlushInterval = time.Second
	DefaultBufferSize    = 1_000_000
	DefaultMinBackoff    = 100 * time.Millisecond
	DefaultMaxBackoff    = 30 * time.Second
	DefaultResend        = time.Minute
)

// sweepEvery is how often at most the sender looks for series to resend.
const sweepEvery = time.Second

// Sample is one value of a series at T, Unix milliseconds.
type Sample struct {
	Series *Series
	T      int64
	V      float64
}

// Stats is a snapshot of a Writer's counts. Sent, Dropped, Rejected,
// Retries and Requests are its target's counters in Options.Metrics.
type Stats struct {
	// Sent counts samples the store accepted (2xx), resends included.
	Sent uint64
	// Dropped counts samples Add could not buffer: the buffer was full.
	Dropped uint64
	// Rejected counts samples in requests the store refused with a 4xx
	// other than 429; they are not retried.
	Rejected uint64
	// Retries counts requests sent again after a failure.
	Retries uint64
	// Requests counts requests sent, retries included.
	Requests uint64
	// Pending is the number of samples buffered or in the request being
	// sent.
	Pending int
	// LastError is the last failure, retried or rejected, and when it
	// happened; LastSuccess is when a request last succeeded.
	LastError                string
	LastErrorAt, LastSuccess time.Time
}

// Writer sends samples to one store by Prometheus remote write 1.0. Add,
// Forget, Series and Stats are safe for concurrent use and never wait on
// the network; Run, called once, does all the sending.
type Writer struct {
	url       *url.URL
	name      string
	auth      string // the Authorization header, or ""
	client    *http.Client
	transport *http.Transport // the default client's, closed when Run ends
	log       *slog.Logger
	now       func() time.Time

	timeout, flushInterval time.Duration
	minBackoff, maxBackoff time.Duration
	batchSize, bufferSize  int
	resendMs               int64 // 0: off

	sent, dropped, rejected, retries, requests *metrics.Counter
	pendingGauge, lastSuccessGauge             *metrics.Gauge

	running atomic.Bool
	wake    chan struct{} // a full batch is buffered

	mu       sync.Mutex
	q        queue
	inflight int // buffered samples taken into the request being sent

	statMu      sync.Mutex
	lastErr     string
	lastErrAt   time.Time
	lastSuccess time.Time

	// The sender's (Run's goroutine).
	batch     []Sample
	enc       encoder
	list      resendList
	nextSweep time.Time
	cur       request
	failures  int // consecutive failed attempts
	retryLog  logLimit
	rejectLog logLimit
}

// request is the encoded batch being sent.
type request struct {
	body  []byte
	n     int // samples of it taken from the buffer
	total int // all its samples, resends included
}

// New checks opts and makes a Writer; it starts nothing. Every problem is
// reported, each naming its field.
func New(opts Options) (*Writer, error) {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	u, err := url.Parse(opts.URL)
	switch {
	case opts.URL == "":
		bad("URL: missing")
	case err != nil:
		bad("URL: %v", err)
	case u.Scheme != "http" && u.Scheme != "https":
		bad("URL %q: scheme must be http or https", opts.URL)
	case u.Host == "":
		bad("URL %q: missing host", opts.URL)
	case u.User != nil:
		bad("URL %q: put credentials in Username and Password, not the URL", opts.URL)
	}
	if opts.Password != "" && opts.Username == "" {
		bad("Password: set without Username")
	}
	if opts.Username != "" && opts.BearerToken != "" {
		bad("BearerToken: set with Username; choose one")
	}
	if opts.TLS != nil && opts.Client != nil {
		bad("TLS: set with Client; configure the Client's transport instead")
	}
	positive := func(field string, v int64) {
		if v < 0 {
			bad("%s: must not be negative", field)
		}
	}
	positive("Timeout", int64(opts.Timeout))
	positive("BatchSize", int64(opts.BatchSize))
	positive("FlushInterval", int64(opts.FlushInterval))
	positive("BufferSize", int64(opts.BufferSize))
	positive("MinBackoff", int64(opts.MinBackoff))
	positive("MaxBackoff", int64(opts.MaxBackoff))

	orDefault := func(v, def time.Duration) time.Duration {
		if v == 0 {
			return def
		}
		return v
	}
	orDefaultInt := func(v, def int) int {
		if v == 0 {
			return def
		}
		return v
	}
	w := &Writer{
		url:           u,
		name:          opts.Name,
		client:        opts.Client,
		log:           opts.Logger,
		now:           opts.Now,
		timeout:       orDefault(opts.Timeout, DefaultTimeout),
		flushInterval: orDefault(opts.FlushInterval, DefaultFlushInterval),
		minBackoff:    orDefault(opts.MinBackoff, DefaultMinBackoff),
		maxBackoff:    orDefault(opts.MaxBackoff, DefaultMaxBackoff),
		batchSize:     orDefaultInt(opts.BatchSize, DefaultBatchSize),
		bufferSize:    orDefaultInt(opts.BufferSize, DefaultBufferSize),
		wake:          make(chan struct{}, 1),
	}
	if w.minBackoff > w.maxBackoff {
		bad("MinBackoff: %v is above MaxBackoff %v", w.minBackoff, w.maxBackoff)
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("remote write %s: %w", opts.URL, errors.Join(errs...))
	}

	if resend := orDefault(opts.Resend, DefaultResend); resend > 0 {
		w.resendMs = max(resend.Milliseconds(), 1)
	}
	if w.name == "" {
		w.name = u.Host
	}
	if w.log == nil {
		w.log = slog.New(slog.DiscardHandler)
	}
	w.log = w.log.With("target", w.name)
	if w.now == nil {
		w.now = time.Now
	}
	switch {
	case opts.Username != "":
		w.auth = "Basic " + base64.StdEncoding.EncodeToString([]byte(opts.Username+":"+opts.Password))
	case opts.BearerToken != "":
		w.auth = "Bearer " + opts.BearerToken
	}
	if w.client == nil {
		w.transport = http.DefaultTransport.(*http.Transport).Clone()
		w.transport.TLSClientConfig = opts.TLS
		w.client = &http.Client{Transport: w.transport}
	}
	w.q = newQueue(w.batchSize)

	set := opts.Metrics
	if set == nil {
		set = metrics.NewSet()
	}
	name := func(metric string) string {
		return fmt.Sprintf(`watchfloor_remote_write_%s{target="%s"}`, metric, labelEscaper.Replace(w.name))
	}
	w.sent = set.GetOrCreateCounter(name("samples_sent_total"))
	w.dropped = set.GetOrCreateCounter(name("samples_dropped_total"))
	w.rejected = set.GetOrCreateCounter(name("samples_rejected_total"))
	w.retries = set.GetOrCreateCounter(name("retries_total"))
	w.requests = set.GetOrCreateCounter(name("requests_total"))
	w.pendingGauge = set.GetOrCreateGauge(name("pending_samples"), nil)
	w.lastSuccessGauge = set.GetOrCreateGauge(name("last_success_timestamp_seconds"), nil)
	return w, nil
}

// labelEscaper escapes a label value for the Prometheus text format.
var labelEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)

// Add buffers samples for sending; what does not fit in the buffer is
// dropped and counted. It copies the samples, never waits on the network
// and takes one short lock. Each sample's Series must be from this Writer.
func (w *Writer) Add(samples []Sample) {
	if len(samples) == 0 {
		return
	}
	w.mu.Lock()
	n := min(max(w.bufferSize-w.q.n-w.inflight, 0), len(samples))
	w.q.push(samples[:n])
	queued := w.q.n
	w.pendingGauge.Set(float64(queued + w.inflight))
	w.mu.Unlock()
	if n < len(samples) {
		w.dropped.Add(len(samples) - n)
	}
	if queued >= w.batchSize && queued-n < w.batchSize {
		select {
		case w.wake <- struct{}{}:
		default:
		}
	}
}

// Forget tells the store that s ended: it buffers a staleness marker at
// Now (or 1 ms after s's newest sample, if that is later), and s is never
// resent again. Do not Add samples of s afterwards; a series that comes
// back needs a new Series. If the buffer is full the marker is dropped
// and counted, and the store sees s end when its lookback runs out.
func (w *Writer) Forget(s *Series) {
	s.gone.Store(true)
	w.Add([]Sample{{Series: s, T: w.now().UnixMilli(), V: math.Float64frombits(staleNaN)}})
}

// Stats returns the Writer's counts.
func (w *Writer) Stats() Stats {
	w.mu.Lock()
	pending := w.q.n + w.inflight
	w.mu.Unlock()
	w.statMu.Lock()
	defer w.statMu.Unlock()
	return Stats{
		Sent:        w.sent.Get(),
		Dropped:     w.dropped.Get(),
		Rejected:    w.rejected.Get(),
		Retries:     w.retries.Get(),
		Requests:    w.requests.Get(),
		Pending:     pending,
		LastError:   w.lastErr,
		LastErrorAt: w.lastErrAt,
		LastSuccess: w.lastSuccess,
	}
}

// Run sends until ctx ends: a batch as soon as BatchSize samples are
// buffered, whatever is buffered every FlushInterval, resends when due.
// A failed request is retried, with backoff, before anything after it.
// When ctx ends Run tries, for at most a second, to send what is left
// once, then returns; what is still buffered stays for a later Run. Run
// starts no goroutine that outlives it. It panics if called while running.
func (w *Writer) Run(ctx context.Context) {
	if !w.running.CompareAndSwap(false, true) {
		panic("remotewrite: Run called while running")
	}
	defer w.running.Store(false)
	if w.transport != nil {
		defer w.transport.CloseIdleConnections()
	}
	tick := time.NewTicker(w.flushInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			w.flushLast(ctx)
			return
		case <-w.wake:
			w.drain(ctx, false)
		case <-tick.C:
			w.drain(ctx, true)
		}
	}
}

// drain sends full batches while there are any and, when flush, one
// partial batch and the resends due. It returns early if ctx ends.
func (w *Writer) drain(ctx context.Context, flush bool) {
	partial, sweep := flush, false
	if now := w.now(); flush && w.resendMs > 0 && !now.Before(w.nextSweep) {
		sweep, w.nextSweep = true, now.Add(sweepEvery)
	}
	for ctx.Err() == nil {
		if w.cur.total == 0 {
			taken, more := w.build(w.now(), partial, sweep)
			partial, sweep = partial && taken == w.batchSize, more
			if w.cur.total == 0 {
				return
			}
		}
		if !w.deliver(ctx) {
			return
		}
		w.done()
	}
}

// flushLast sends what is left, each request once, for at most a second.
func (w *Writer) flushLast(ctx context.Context) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
	defer cancel()
	for ctx.Err() == nil {
		if w.cur.total == 0 {
			w.build(w.now(), true, false)
			if w.cur.total == 0 {
				return
			}
		}
		if w.post(ctx) == retry {
			return
		}
		w.done()
	}
}

// build makes the next request: a full batch from the buffer, or a
// partial one when partial, then resends when sweep. It returns the
// samples taken from the buffer and whether more resends may be due.
func (w *Writer) build(now time.Time, partial, sweep bool) (taken int, more bool) {
	w.mu.Lock()
	if w.q.n >= w.batchSize || partial {
		taken = min(w.q.n, w.batchSize)
	}
	w.batch = w.q.pop(w.batch[:0], taken)
	w.inflight += taken
	w.mu.Unlock()

	ms := now.UnixMilli()
	w.enc.group(w.batch)
	clear(w.batch)
	w.account(ms)
	if sweep {
		more = w.resends(ms, w.batchSize-taken)
	}
	if len(w.enc.ordered) > 0 {
		w.cur = request{body: w.enc.encode(), n: taken, total: len(w.enc.ordered)}
	}
	w.enc.reset()
	return taken, more
}

// account records, per series of the batch, the newest sample and that it
// was sent at now (Unix ms). A staleness marker, and the samples after a
// resend, that are not later than the series' newest sample sent are moved
// 1 ms after it, so the store sees no sample out of order and the batch is
// not refused for it.
func (w *Writer) account(now int64) {
	for _, g := range w.enc.groups {
		s := g.s
		samples := w.enc.ordered[g.start : g.start+g.n]
		prev, shift := s.lastT, s.resent
		for i := range samples {
			if t := samples[i].T; t <= prev && (shift || isStale(samples[i].V)) {
				samples[i].T = prev + 1
			} else {
				shift = false
			}
			prev = max(prev, samples[i].T)
		}
		if last := samples[len(samples)-1]; last.T >= s.lastT {
			s.lastT, s.lastV, s.resent = last.T, last.V, false
		}
		if w.resendMs == 0 {
			continue
		}
		if isStale(s.lastV) || s.gone.Load() {
			w.list.remove(s)
		} else {
			w.list.touch(s, now)
		}
	}
}

// resends adds, up to room, the last value at now (Unix ms) of the series
// not sent for Resend, and reports whether it ran out of room first.
func (w *Writer) resends(now int64, room int) bool {
	for room > 0 {
		s := w.list.head
		if s == nil || now-s.sentAt < w.resendMs {
			return false
		}
		if s.gone.Load() {
			w.list.remove(s)
			continue
		}
		if now > s.lastT {
			w.enc.resend(s, now)
			s.lastT, s.resent = now, true
			room--
		}
		w.list.touch(s, now)
	}
	return true
}

// done releases the request just sent or refused.
func (w *Writer) done() {
	w.mu.Lock()
	w.inflight -= w.cur.n
	w.pendingGauge.Set(float64(w.q.n + w.inflight))
	w.mu.Unlock()
	w.cur = request{}
}
