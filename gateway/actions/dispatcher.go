package actions

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/VictoriaMetrics/metrics"

	"github.com/watchfloor/watchfloor/gateway/config"
	"github.com/watchfloor/watchfloor/gateway/incident"
)

// Event names what happened to the incident.
type Event string

// Events.
const (
	Opened   Event = "opened"
	Reopened Event = "reopened"
	// Worsened: the severity rose; the alert fires again for everyone.
	Worsened Event = "worsened"
	// Changed is any other change worth telling: the severity eased, an
	// acknowledgement, an assignment.
	Changed   Event = "changed"
	Escalated Event = "escalated"
	Resolved  Event = "resolved"
	Closed    Event = "closed"
	// NoticeEvent carries a notice to a client.
	NoticeEvent Event = "notice"
)

// Message is what an action is told. Webhooks get it as JSON, and
// commands on their standard input.
type Message struct {
	Event    Event             `json:"event"`
	Incident incident.Incident `json:"incident"`
	// Level is the escalation level, for Escalated.
	Level int `json:"level,omitempty"`
	// Notice is what to send, for NoticeEvent.
	Notice *incident.Notice `json:"notice,omitempty"`
	// URL links to the incident on the gateway.
	URL  string    `json:"url,omitempty"`
	Time time.Time `json:"time"`
}

// Options configure a Dispatcher.
type Options struct {
	Actions []config.Action
	// AllowExec are the directories command actions may run programs
	// from (the configuration's ActionDirs).
	AllowExec []string
	Logger    *slog.Logger
	// Metrics receives the actions' metrics; nil is a set of the
	// Dispatcher's own.
	Metrics *metrics.Set
	// Now is the clock (nil is time.Now). Waits use real timers.
	Now func() time.Time
	// Done, if set, is called from the action's own goroutine once per
	// message per action after its last attempt, with a nil error on
	// success. It is not called for a message dropped before any attempt,
	// nor for one the action has nothing to do with (a notice, for an
	// Alertmanager action). It must not block for long: the action waits
	// for it.
	Done func(action string, m Message, err error)
	// QueueSize is how many messages each action holds waiting; 0 is
	// 1000.
	QueueSize int
}

// DefaultQueueSize is Options.QueueSize when it is zero.
const DefaultQueueSize = 1000

// dropLogEvery spaces the warnings about a full queue, so that a flood
// of dropped messages does not become a flood of log lines.
const dropLogEvery = 10 * time.Second

// Stat is how one action is doing.
type Stat struct {
	Name string
	// Type is webhook, email, alertmanager or command.
	Type string
	// Sent and Failed count messages after their last attempt; Dropped
	// those never attempted (a full queue, a removed action); Retries the
	// attempts after a failed one.
	Sent, Failed, Dropped, Retries uint64
	// Queued is how many messages wait.
	Queued int
	// LastError is the last failed attempt's error, at LastErrorAt;
	// LastSuccess the last delivery (for an Alertmanager action, resends
	// and watchdogs count).
	LastError   string
	LastErrorAt time.Time
	LastSuccess time.Time
}

// Dispatcher runs the configured actions. Each has a bounded queue and a
// goroutine of its own, so a slow or hung action delays neither the
// others nor the caller. Its methods are safe for concurrent use.
type Dispatcher struct {
	logger    *slog.Logger
	set       *metrics.Set
	now       func() time.Time
	done      func(string, Message, error)
	queueSize int

	mu sync.RWMutex
	// slots holds every name ever configured, so that an action's metrics
	// and queue outlive its replacement, and a name removed and added back
	// counts on.
	slots   map[string]*slot
	workers map[string]*worker // the actions configured now
	// ctx is Run's while it runs, for the workers Configure starts.
	ctx context.Context
	ran bool
	wg  sync.WaitGroup
}

// slot is what an action keeps across reloads: its queue, its counters
// and its last outcomes.
type slot struct {
	name                           string
	queue                          chan Message
	sent, failed, dropped, retries *metrics.Counter

	mu          sync.Mutex
	lastErr     string
	lastErrAt   time.Time
	lastSuccess time.Time
	dropLogged  time.Time // when a full queue was last logged
	dropsHeld   int       // drops since, not logged

	// last is the slot's newest worker, which the next one waits for,
	// even across a removal and a re-adding. d.mu guards it.
	last *worker
}

// worker delivers one configuration of an action. A reload that changes
// the action starts a new worker on the same slot, which waits for this
// one to end and takes over the message it held.
type worker struct {
	d    *Dispatcher
	slot *slot
	spec *spec
	log  *slog.Logger
	prev *worker // the worker this one replaces, until it has ended
	// stop is set when the worker starts; its cause says why it stopped.
	stop context.CancelCauseFunc
	done chan struct{}

	// Owned by the worker's goroutine, and read by its successor once
	// done is closed.
	held  *job        // a message taken from the queue and not finished
	sends []time.Time // when the last RateLimit messages were sent
}

// job is a message on its way.
type job struct {
	msg      Message
	attempts int
	err      error // the last attempt's
	// reached: some of the message's destinations accepted it (an
	// Alertmanager of several), so it counts as sent.
	reached bool
}

// sender delivers one action's messages. Its methods are called from the
// action's worker goroutine only, one at a time, so state it keeps needs
// no lock.
type sender interface {
	// prepare readies m, at now, and returns the attempt that delivers it,
	// called once per try; nil means the action has nothing to send for m.
	// An error fails the message without an attempt.
	prepare(m Message, now time.Time) (func(ctx context.Context) error, error)
	// close releases what the sender holds, such as idle connections.
	close()
}

// periodic is a sender with sending of its own to do, between messages.
type periodic interface {
	// next is how long until tick is due.
	next(now time.Time) time.Duration
	tick(ctx context.Context) error
}

// inheritor is a sender that carries state over from the sender of the
// action's previous configuration.
type inheritor interface {
	inherit(prev sender)
}

// Why a worker stops, besides Run's end.
var (
	errReplaced = errors.New("action replaced by a reload")
	errRemoved  = errors.New("action removed by a reload")
)

// permanentError is a failure a retry would repeat: a 4xx, a refused mail.
type permanentError struct{ err error }

func (e permanentError) Error() string { return e.err.Error() }
func (e permanentError) Unwrap() error { return e.err }

func permanent(err error) error { return permanentError{err} }

// partialError is a failed attempt that some of the message's
// destinations accepted: the message counts as sent, and the others are
// retried.
type partialError struct{ err error }

func (e partialError) Error() string { return e.err.Error() }
func (e partialError) Unwrap() error { return e.err }

// New validates opts.Actions and returns a Dispatcher for them. It starts
// nothing: Run does. An error names each action that is wrong, and why.
func New(opts Options) (*Dispatcher, error) {
	d := &Dispatcher{
		logger:    opts.Logger,
		set:       opts.Metrics,
		now:       opts.Now,
		done:      opts.Done,
		queueSize: opts.QueueSize,
		slots:     map[string]*slot{},
		workers:   map[string]*worker{},
	}
	if d.logger == nil {
		d.logger = slog.New(slog.DiscardHandler)
	}
	if d.set == nil {
		d.set = metrics.NewSet()
	}
	if d.now == nil {
		d.now = time.Now
	}
	if d.queueSize <= 0 {
		d.queueSize = DefaultQueueSize
	}
	if err := d.Configure(opts.Actions, opts.AllowExec); err != nil {
		return nil, err
	}
	return d, nil
}

// Run runs every action until ctx is done, and returns once all of the
// Dispatcher's goroutines have ended. Messages still queued then are
// left unsent. Run may be called once.
func (d *Dispatcher) Run(ctx context.Context) {
	d.mu.Lock()
	if d.ran {
		d.mu.Unlock()
		panic("actions: Run called twice")
	}
	d.ran = true
	d.ctx = ctx
	for _, w := range d.workers {
		d.start(w)
	}
	d.mu.Unlock()

	<-ctx.Done()
	d.mu.Lock()
	d.ctx = nil
	d.mu.Unlock()
	d.wg.Wait()
}

// Send queues m on each named action and returns at once: it never waits
// for an action. A name not configured, or an action whose queue is full,
// drops the message, counted and logged. The actions share m: the caller
// must not change it afterwards.
func (d *Dispatcher) Send(names []string, m Message) {
	var unknown []string
	var full []*slot
	d.mu.RLock()
	for _, name := range names {
		w := d.workers[name]
		if w == nil {
			d.set.GetOrCreateCounter(metricName("watchfloor_action_dropped_total", name)).Inc()
			unknown = append(unknown, name)
			continue
		}
		select {
		case w.slot.queue <- m:
		default:
			w.slot.dropped.Inc()
			full = append(full, w.slot)
		}
	}
	d.mu.RUnlock()

	for _, name := range unknown {
		d.logger.Warn("message for an action not configured dropped", "action", name, "event", m.Event, "incident", m.Incident.ID)
	}
	for _, sl := range full {
		if n, ok := sl.noteDrop(d.now()); ok {
			d.logger.Warn("action queue full: message dropped", "action", sl.name, "event", m.Event, "incident", m.Incident.ID,
				"queue", d.queueSize, "dropped_unlogged", n)
		}
	}
}

// Configure applies a reloaded configuration. It validates every action
// first and, if any is wrong, changes nothing and returns an error naming
// each. Otherwise actions whose configuration (and whatever it reads from
// files) is unchanged go on untouched; a changed action's new settings
// take over its queue, and the message in hand once the attempt in
// flight ends; a new one starts; a removed one stops after the attempt in
// flight, and what it had queued is dropped and counted.
func (d *Dispatcher) Configure(acts []config.Action, allowExec []string) error {
	specs, err := buildAll(acts, allowExec, builder{now: d.now})
	if err != nil {
		return err
	}

	var added, changed, removed []string
	drained := map[string]int{}
	d.mu.Lock()
	next := make(map[string]*worker, len(specs))
	for _, s := range specs {
		name := s.act.Name
		old := d.workers[name]
		if old != nil && old.spec.same(s) {
			next[name] = old
			continue
		}
		sl := d.slotFor(name)
		w := &worker{d: d, slot: sl, spec: s, done: make(chan struct{}), prev: sl.last}
		w.log = d.logger.With("action", name, "type", s.kind)
		if w.prev != nil && w.prev.stop == nil { // never started: nothing to wait for
			w.prev = w.prev.prev
		}
		sl.last = w
		if old != nil {
			if old.stop != nil {
				old.stop(errReplaced)
			}
			changed = append(changed, name)
		} else {
			added = append(added, name)
		}
		next[name] = w
		if d.ctx != nil {
			d.start(w)
		}
	}
	for name, old := range d.workers {
		if next[name] != nil {
			continue
		}
		removed = append(removed, name)
		if old.stop != nil {
			old.stop(errRemoved)
		}
		drained[name] = old.drain()
	}
	d.workers = next
	d.mu.Unlock()

	for _, group := range []struct {
		what  string
		names []string
	}{{"action added", added}, {"action changed", changed}, {"action removed", removed}} {
		slices.Sort(group.names)
		for _, name := range group.names {
			d.logger.Info(group.what, "action", name)
		}
	}
	for name, n := range drained {
		if n > 0 {
			d.logger.Warn("removed action's queued messages dropped", "action", name, "dropped", n)
		}
	}
	return nil
}

// Has reports whether an action of that name is configured.
func (d *Dispatcher) Has(name string) bool {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return d.workers[name] != nil
}

// Stats reports on every configured action, sorted by name.
func (d *Dispatcher) Stats() []Stat {
	d.mu.RLock()
	ws := make([]*worker, 0, len(d.workers))
	for _, w := range d.workers {
		ws = append(ws, w)
	}
	d.mu.RUnlock()

	stats := make([]Stat, 0, len(ws))
	for _, w := range ws {
		sl := w.slot
		sl.mu.Lock()
		st := Stat{
			Name: sl.name, Type: w.spec.kind,
			Sent: sl.sent.Get(), Failed: sl.failed.Get(), Dropped: sl.dropped.Get(), Retries: sl.retries.Get(),
			Queued:    len(sl.queue),
			LastError: sl.lastErr, LastErrorAt: sl.lastErrAt, LastSuccess: sl.lastSuccess,
		}
		sl.mu.Unlock()
		stats = append(stats, st)
	}
	slices.SortFunc(stats, func(a, b Stat) int { return strings.Compare(a.Name, b.Name) })
	return stats
}

// slotFor returns the named action's slot, making it on first use.
// d.mu is held.
func (d *Dispatcher) slotFor(name string) *slot {
	if sl := d.slots[name]; sl != nil {
		return sl
	}
	sl := &slot{
		name:    name,
		queue:   make(chan Message, d.queueSize),
		sent:    d.set.GetOrCreateCounter(metricName("watchfloor_action_sent_total", name)),
		failed:  d.set.GetOrCreateCounter(metricName("watchfloor_action_failed_total", name)),
		dropped: d.set.GetOrCreateCounter(metricName("watchfloor_action_dropped_total", name)),
		retries: d.set.GetOrCreateCounter(metricName("watchfloor_action_retries_total", name)),
	}
	d.set.GetOrCreateGauge(metricName("watchfloor_action_queued", name), func() float64 { return float64(len(sl.queue)) })
	d.slots[name] = sl
	return sl
}

// start starts w's goroutine under Run's context. d.mu is held.
func (d *Dispatcher) start(w *worker) {
	stopCtx, stop := context.WithCancelCause(d.ctx)
	w.stop = stop
	d.wg.Add(1)
	go w.run(d.ctx, stopCtx)
}

var labelEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)

func metricName(name, action string) string {
	return fmt.Sprintf(`%s{action="%s"}`, name, labelEscaper.Replace(action))
}

// run delivers queued messages until stop is done. Attempts run under
// ctx, Run's, so that a reload lets the attempt in flight finish.
func (w *worker) run(ctx, stop context.Context) {
	defer w.d.wg.Done()
	defer close(w.done)
	defer w.spec.send.close()

	if p := w.prev; p != nil {
		<-p.done
		w.held, w.sends = p.held, p.sends
		if in, ok := w.spec.send.(inheritor); ok {
			in.inherit(p.spec.send)
		}
		w.prev = nil
	}

	per, _ := w.spec.send.(periodic)
	timer := time.NewTimer(0)
	timer.Stop()
	for stop.Err() == nil {
		if j := w.held; j != nil {
			w.held = nil
			w.deliver(ctx, stop, j)
			continue
		}
		var tick <-chan time.Time
		if per != nil {
			wait := per.next(w.d.now())
			if wait <= 0 {
				w.tick(ctx, per)
				continue
			}
			timer.Reset(wait)
			tick = timer.C
		}
		select {
		case <-stop.Done():
		case m := <-w.slot.queue:
			w.deliver(ctx, stop, &job{msg: m})
		case <-tick:
		}
		timer.Stop()
	}

	// Replaced, the successor takes what is held; removed, or at Run's
	// end, it is done with here.
	if context.Cause(stop) != errReplaced {
		w.abandon()
	}
}

// deliver takes j through its attempts, waiting for the rate limit before
// the first and backing off between them. Stopped while waiting, it
// leaves j held.
func (w *worker) deliver(ctx, stop context.Context, j *job) {
	if stop.Err() != nil {
		w.held = j
		return
	}
	attempt, err := w.spec.send.prepare(j.msg, w.d.now())
	if err != nil {
		j.err = permanent(err)
		w.noteError(j.err)
		w.finish(j)
		return
	}
	if attempt == nil {
		return
	}
	if j.attempts == 0 && !w.admit(ctx, stop) {
		w.held = j
		return
	}
	a := w.spec.act
	for {
		if j.attempts > 0 {
			w.slot.retries.Inc()
		}
		actx, cancel := context.WithTimeout(ctx, a.Timeout)
		err := attempt(actx)
		cancel()
		j.attempts++
		j.err = err
		if err == nil {
			w.finish(j)
			return
		}
		var part partialError
		if errors.As(err, &part) {
			j.reached = true
		}
		w.noteError(err)
		var perm permanentError
		if errors.As(err, &perm) || j.attempts > a.Retries || ctx.Err() != nil {
			w.finish(j)
			return
		}
		wait := backoff(a.MinBackoff, a.MaxBackoff, j.attempts)
		w.log.Warn("attempt failed; retrying", "incident", j.msg.Incident.ID, "event", j.msg.Event,
			"attempt", j.attempts, "retry_in", wait, "err", err)
		if !w.pause(ctx, stop, wait) {
			w.held = j
			return
		}
	}
}

// finish counts j as sent or failed, by its last error, and tells Done.
func (w *worker) finish(j *job) {
	m := j.msg
	err := j.err
	switch {
	case err == nil:
		w.slot.sent.Inc()
		w.noteSuccess()
		if j.attempts > 1 {
			w.log.Info("delivered after retries", "incident", m.Incident.ID, "event", m.Event, "attempts", j.attempts)
		}
	case j.reached:
		w.slot.sent.Inc()
		w.noteSuccess()
		w.log.Warn("delivered to some destinations only", "incident", m.Incident.ID, "event", m.Event,
			"attempts", j.attempts, "err", err)
		err = nil
	default:
		w.slot.failed.Inc()
		w.log.Error("delivery failed", "incident", m.Incident.ID, "event", m.Event, "attempts", j.attempts, "err", err)
	}
	if w.d.done != nil {
		w.d.done(w.slot.name, m, err)
	}
}

// abandon disposes of the message held by a worker that stops for good:
// failed if it had an attempt, dropped if not.
func (w *worker) abandon() {
	j := w.held
	w.held = nil
	switch {
	case j == nil:
	case j.attempts > 0:
		w.finish(j)
	default:
		w.slot.dropped.Inc()
	}
}

// drain drops, counts and returns the number of the messages queued for
// a removed action. d.mu is held, so Send no longer reaches its queue.
func (w *worker) drain() int {
	for n := 0; ; n++ {
		select {
		case <-w.slot.queue:
			w.slot.dropped.Inc()
		default:
			return n
		}
	}
}

// admit waits until the rate limit lets another message go, and records
// it. It reports false if stop came first.
func (w *worker) admit(ctx, stop context.Context) bool {
	limit, per := w.spec.act.RateLimit, w.spec.act.RatePer
	if limit <= 0 {
		w.sends = nil
		return true
	}
	if len(w.sends) > limit { // the limit was lowered by a reload
		w.sends = slices.Clone(w.sends[len(w.sends)-limit:])
	}
	for {
		now := w.d.now()
		if len(w.sends) < limit {
			w.sends = append(w.sends, now)
			return true
		}
		wait := w.sends[0].Add(per).Sub(now)
		if wait <= 0 {
			copy(w.sends, w.sends[1:])
			w.sends[len(w.sends)-1] = now
			return true
		}
		if !w.pause(ctx, stop, wait) {
			return false
		}
	}
}

// pause waits for d, as sleep does, running the sender's periodic sending
// when it falls due meanwhile: a message waiting for the rate limit or
// backing off must not hold up an Alertmanager's resends and watchdog,
// or the alerts lapse there. It reports false if stop came first.
func (w *worker) pause(ctx, stop context.Context, d time.Duration) bool {
	per, ok := w.spec.send.(periodic)
	if !ok {
		return sleep(stop, d)
	}
	end := time.NewTimer(d)
	defer end.Stop()
	for stop.Err() == nil {
		wait := per.next(w.d.now())
		if wait <= 0 {
			w.tick(ctx, per)
			continue
		}
		due := time.NewTimer(wait)
		select {
		case <-end.C:
			due.Stop()
			return true
		case <-stop.Done():
			due.Stop()
			return false
		case <-due.C:
		}
	}
	return false
}

// tick runs the sender's periodic sending: one attempt, not retried, as
// the next tick is the retry.
func (w *worker) tick(ctx context.Context, p periodic) {
	actx, cancel := context.WithTimeout(ctx, w.spec.act.Timeout)
	err := p.tick(actx)
	cancel()
	if err != nil {
		w.noteError(err)
		w.log.Warn("periodic send failed", "err", err)
		return
	}
	w.noteSuccess()
}

func (w *worker) noteError(err error) {
	now := w.d.now()
	w.slot.mu.Lock()
	w.slot.lastErr, w.slot.lastErrAt = err.Error(), now
	w.slot.mu.Unlock()
}

func (w *worker) noteSuccess() {
	now := w.d.now()
	w.slot.mu.Lock()
	w.slot.lastSuccess = now
	w.slot.mu.Unlock()
}

// noteDrop decides whether a drop from a full queue is logged: the first,
// then one per dropLogEvery, with the number not logged since.
func (s *slot) noteDrop(now time.Time) (held int, log bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.dropLogged.IsZero() && now.Sub(s.dropLogged) < dropLogEvery {
		s.dropsHeld++
		return 0, false
	}
	held, s.dropsHeld, s.dropLogged = s.dropsHeld, 0, now
	return held, true
}

// backoff is the wait after the attempt-th failed attempt: min, doubling
// each time, up to max.
func backoff(minWait, maxWait time.Duration, attempt int) time.Duration {
	d := minWait
	for i := 1; i < attempt && d < maxWait; i++ {
		d *= 2
	}
	return min(d, maxWait)
}

// sleep waits for d, and reports false if ctx ended first.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
