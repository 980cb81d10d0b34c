package gateway

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/watchfloor/watchfloor/gateway/remotewrite"
	"github.com/watchfloor/watchfloor/netprobe/protocol"
	"github.com/watchfloor/watchfloor/rules"
)

// snapshotTimeout bounds how long a connection may keep a snapshot open:
// one that never ends changes nothing, and after this long the connection
// is closed so that the probe starts again.
const snapshotTimeout = time.Minute

// staleAfter is how long a dataview may go without a sample before it is
// marked stale while its probe stays connected: three of its sampler's
// ticks, and never less than five seconds more than one.
func staleAfter(interval time.Duration) time.Duration {
	return max(3*interval, interval+5*time.Second)
}

// probeConfig is what the gateway's configuration asks of one probe.
type probeConfig struct {
	msg       protocol.Config // sent to the probe
	entities  []entityConfig
	instances map[uint32]instance
	limits    protocol.Limits
}

type eventKind uint8

const (
	evConnect eventKind = iota
	evBatch
	evDisconnect
	evConfig
	evRules
	evLocal // a batch of the gateway's own probe, made in process
)

type event struct {
	kind  eventKind
	conn  *probeConn
	batch *protocol.Batch
	cfg   *probeConfig
	rules *rules.Set
	done  chan struct{} // evRules, evConfig: closed once handled (nil: nobody waits)
}

// probeActor owns one probe's subtree: its dataviews, their cells, counts
// and deadlines. It lives across connections: a connection only feeds it
// events, and a probe that is down keeps its dataviews, marked stale.
// Every event is applied with the probe's lock held, then handed to the
// consumers, then the lock is released.
type probeActor struct {
	g         *Gateway
	node      *probeNode
	name      string
	inbox     chan event
	stopped   chan struct{} // closed when run returns
	clock     Clock
	limits    protocol.Limits
	consumers []Consumer

	// Owned by run.
	findCal  dataviewCalendar // the calendar refreshFindings judges with
	cfg      *probeConfig
	conn     *probeConn
	byID     map[uint32]*Dataview // the connection's dataview IDs: live, or staged while a snapshot is open; nil: ignored
	dvs      map[string]*Dataview // live dataviews by path
	cost     uint64               // of the live dataviews, against limits.MaxCells
	slots    int                  // row-table slots of the live dataviews, also held to MaxCells
	snap     *staging             // the connection's open snapshot
	removing map[string]*Dataview // removed by this batch, unless it declares them again
	ignored  int                  // IDs in byID of unconfigured samplers' dataviews
	asked    bool                 // a snapshot was asked for on this connection to renumber sparse rows
	dropped  map[uint32]bool      // sampler instances whose dataviews a reload dropped on this connection
	// replaced are the entities of the actor this one replaces (a reload
	// changed the probe's token), until run has compared them.
	replaced []entityConfig
	ch       Changes
	timers   deadlines
	timer    Timer
	// staleQueued holds the paths with a stale deadline in the heap;
	// snapQueued is set while a snapshot deadline is.
	staleQueued map[string]bool
	snapQueued  bool

	// Rule evaluation (judge.go).
	set               *rules.Set
	ev                *rules.Evaluator
	in                judgeInput
	pass              uint64 // evaluation passes, numbered
	started           int64  // Unix ns the actor started: a probe never connected is down since
	probeRules        []*rules.Rule
	probeRulesVersion uint64
	probeAt           int64                            // Unix ns of the probe rules' deadline in the heap; 0 if none
	errCounters       map[*rules.Rule]*metrics.Counter // of a.set's rules, as they err

	// expBuf holds, per remote_write target, the samples an event queues.
	expBuf    [][]remotewrite.Sample
	exportGen uint64 // the exporter whose targets every live cell has been offered to
	// labelsGen counts the configurations the actor was given: each may
	// change its entities' attributes, and so its cells' labels.
	// exportLabels is the one every live cell's series were last checked
	// against.
	labelsGen, exportLabels uint64
	// local: the gateway's own probe (self.go), always connected, fed
	// evLocal batches.
	local bool
}

// staging is an open snapshot: the dataviews it declared so far, which
// replace the live ones (reconciled by name) only when it ends, so a
// probe that drops in the middle of one leaves the last complete state.
type staging struct {
	dvs   map[string]*Dataview
	cost  uint64
	until time.Time // when it must have ended
}

func newProbeActor(g *Gateway, name string, cfg *probeConfig, consumers []Consumer) *probeActor {
	a := &probeActor{
		g:         g,
		node:      newProbeNode(name),
		name:      name,
		inbox:     make(chan event, 64),
		stopped:   make(chan struct{}),
		clock:     g.clock,
		limits:    cfg.limits,
		consumers: consumers,
		cfg:       cfg,
		byID:      make(map[uint32]*Dataview),
		dvs:       make(map[string]*Dataview),
		removing:  make(map[string]*Dataview),
		dropped:   make(map[uint32]bool),

		staleQueued: make(map[string]bool),
		set:         g.rules.current(),
		ev:          rules.NewEvaluator(),
		started:     g.clock.Now().UnixNano(),
	}
	a.ev.OnError = a.ruleError
	a.ch.Probe, a.ch.probe = name, a.node
	g.tree.addProbe(a.node)
	g.tree.configure(a.node, cfg.entities)
	return a
}

// send delivers an event, waiting while the actor is busy: a probe that
// sends faster than its actor applies is slowed down, no one else is. It
// gives up when the actor has stopped (its probe was removed) or ctx ends.
func (a *probeActor) send(ctx context.Context, ev event) bool {
	select {
	case a.inbox <- ev:
		return true
	case <-a.stopped:
		return false
	case <-ctx.Done():
		return false
	}
}

// run handles events and deadlines until ctx is done. On the way out it
// closes the connection and removes the probe's subtree.
func (a *probeActor) run(ctx context.Context) {
	defer close(a.stopped)
	a.timer = a.clock.NewTimer()
	defer a.timer.Stop()
	a.begin(a.clock.Now())
	if a.replaced != nil && leavesScopes(a.replaced, a.cfg.entities) {
		a.rescope() // before the new connection can publish anything
	}
	a.replaced = nil
	if a.local {
		a.setConnected(true, a.ch.Now)
	}
	a.refreshProbe(a.ch.Now)
	a.finish()
	for {
		a.arm()
		select {
		case <-ctx.Done():
			a.stop()
			return
		case ev := <-a.inbox:
			a.handle(ev, a.clock.Now())
		case <-a.timer.C():
			a.due(a.clock.Now())
		}
	}
}

// arm sets the timer for the earliest deadline.
func (a *probeActor) arm() {
	a.timer.Stop()
	if when, ok := a.timers.next(); ok {
		a.timer.Reset(max(when.Sub(a.clock.Now()), 0))
	}
}

// begin starts an event: the probe's lock is held from here until finish
// has handed the changes to every consumer.
func (a *probeActor) begin(now time.Time) {
	a.node.mu.Lock()
	a.ch.Now = now
}

// finish judges what the event changed, counts it, hands it to the
// consumers and releases the probe's lock.
func (a *probeActor) finish() {
	a.evaluate(a.ch.Now)
	a.record()
	for i := range a.ch.Dataviews {
		d := &a.ch.Dataviews[i]
		if d.counts.zero() {
			continue
		}
		d.dv.counts.add(&d.counts)
		d.dv.sampler.ancestors(func(c *counters) { c.add(&d.counts) })
	}
	for _, c := range a.consumers {
		c.Consume(&a.ch)
	}
	a.node.mu.Unlock()
	a.ch.reset()
}

// maxKeptCells bounds the change list an actor keeps for reuse between
// events: a tick's changes fit many times over, and a large snapshot's
// list is let go instead of being held for ever.
const maxKeptCells = 1 << 16

func (a *probeActor) handle(ev event, now time.Time) {
	switch ev.kind {
	case evConnect:
		if a.conn != nil {
			a.conn.close(closePolicy, "replaced by a newer connection from the same probe")
		}
		a.begin(now)
		a.conn = ev.conn
		a.forgetConnection()
		a.setConnected(true, now)
		a.finish()
		a.node.lastSeen.Store(now.UnixNano())
		ev.conn.send(a.cfg.msg.Append(nil))
	case evDisconnect:
		if ev.conn != a.conn {
			return // an older connection that was already replaced or cut off
		}
		a.disconnected(now)
	case evConfig:
		unchanged := bytes.Equal(a.cfg.msg.Append(nil), ev.cfg.msg.Append(nil))
		limitsChanged := a.limits != ev.cfg.limits
		rescoped := leavesScopes(a.cfg.entities, ev.cfg.entities)
		a.cfg = ev.cfg
		a.limits = ev.cfg.limits
		if ev.rules != nil {
			a.setRules(ev.rules)
		}
		a.begin(now)
		a.configure()
		if rescoped {
			a.rescope()
		}
		a.rebindAll() // entity attributes may have changed
		a.labelsGen++
		a.finish()
		if ev.done != nil {
			close(ev.done)
		}
		switch {
		case a.conn != nil && a.certRefused():
			a.conn.close(closePolicy, "client certificate refused since the reload")
			a.disconnected(now)
		case a.conn != nil && limitsChanged:
			// A probe learns its limits in the Welcome: it reconnects at
			// once to learn the new ones.
			a.conn.close(closeRestart, "the gateway's limits changed; reconnect")
			a.disconnected(now)
		case a.conn != nil && !unchanged:
			a.conn.send(a.cfg.msg.Append(nil))
		}
	case evRules:
		a.begin(now)
		a.setRules(ev.rules)
		a.rebindAll()
		a.finish()
		close(ev.done)
	case evLocal:
		a.node.lastSeen.Store(now.UnixNano())
		a.begin(now)
		err := a.apply(ev.batch, now)
		a.finish()
		if err != nil {
			a.g.log.Error("the gateway's own dataviews: invalid batch", "err", err) // a bug
		}
	case evBatch:
		defer func() { <-ev.conn.turn }() // the reader may decode the next
		if ev.conn != a.conn {
			return
		}
		a.node.lastSeen.Store(now.UnixNano())
		a.begin(now)
		err := a.apply(ev.batch, now)
		a.finish()
		if err != nil {
			a.g.m.protocolErrors.Inc()
			a.g.log.Warn("closing probe connection: invalid batch", "probe", a.name, "seq", ev.batch.Seq, "err", err)
			a.conn.close(closePolicy, "invalid batch: "+err.Error())
			// Batches already queued from this connection build on the
			// broken one: the connection ends here, not at its reader's
			// disconnect event.
			a.disconnected(now)
		}
	}
}

// certRefused reports whether the connection's client certificate is
// refused by the TLS files and settings loaded now: a reload may require
// one, or retire the authority that signed it, and the connection is then
// cut off as one whose token was revoked is.
func (a *probeActor) certRefused() bool {
	err := a.g.tls.ProbeCert(&http.Request{TLS: a.conn.tls}, a.name)
	if err != nil {
		a.g.m.authFailures.Inc()
		a.g.log.Warn("closing probe connection: client certificate", "probe", a.name, "err", err)
	}
	return err != nil
}

// setConnected records the probe's connection state. The caller is inside
// begin/finish.
func (a *probeActor) setConnected(up bool, now time.Time) {
	a.node.connected.Store(up)
	a.node.since.Store(now.UnixNano())
	a.ch.nodes = true
	a.refreshProbe(now)
}

// disconnected forgets the current connection and marks the probe's
// dataviews stale; they stay until a new connection's snapshot reconciles
// them.
func (a *probeActor) disconnected(now time.Time) {
	a.conn = nil
	a.forgetConnection()
	a.begin(now)
	a.setConnected(false, now)
	for _, key := range slices.Sorted(maps.Keys(a.dvs)) {
		a.setStale(a.dvs[key], true)
	}
	a.finish()
}

// forgetConnection forgets what a connection's IDs meant and its open
// snapshot: a new connection, or a new snapshot, numbers dataviews afresh.
func (a *probeActor) forgetConnection() {
	clear(a.byID)
	clear(a.dropped)
	a.ignored = 0
	a.asked = false
	a.snap = nil
}

// setStale sets a live dataview's stale flag. The caller is inside
// begin/finish.
func (a *probeActor) setStale(dv *Dataview, stale bool) {
	if dv.staleNow == stale {
		return
	}
	dv.staleNow = stale
	dv.stale.Store(stale)
	a.ch.end(a.ch.begin(dv))
	a.ch.last().StaleChanged = true
}

// sampled refreshes a live dataview's staleness deadline. The heap holds
// its path, not the dataview, so that one removed or replaced is not kept
// alive until its deadline.
func (a *probeActor) sampled(dv *Dataview, now time.Time) {
	dv.sampledAt = now.UnixNano()
	dv.staleAt = now.Add(staleAfter(dv.sampler.interval))
	if dv.queued {
		return
	}
	// A dataview that replaced another of its path finds that one's
	// deadline still queued.
	if !a.staleQueued[dv.key] {
		a.staleQueued[dv.key] = true
		a.timers.add(deadline{when: dv.staleAt, kind: deadlineStale, key: dv.key})
	}
	dv.queued = true
}

// due handles the deadlines that have passed.
func (a *probeActor) due(now time.Time) {
	var expired *probeConn
	a.begin(now)
	a.timers.due(now, func(d deadline) {
		switch d.kind {
		case deadlineStale:
			delete(a.staleQueued, d.key)
			dv := a.dvs[d.key]
			if dv == nil {
				break // removed since
			}
			dv.queued = false
			if dv.staleAt.After(now) {
				a.staleQueued[d.key], dv.queued = true, true
				a.timers.add(deadline{when: dv.staleAt, kind: deadlineStale, key: d.key})
			} else {
				a.setStale(dv, true)
			}
		case deadlineCell:
			a.cellDue(d)
		case deadlineFindings:
			a.findingsDue(d)
		case deadlineProbe:
			a.probeDue(d)
		case deadlineSnapshot:
			a.snapQueued = false
			switch {
			case a.snap == nil:
			case a.snap.until.After(now):
				a.snapQueued = true
				a.timers.add(deadline{when: a.snap.until, kind: deadlineSnapshot})
			default:
				expired = a.conn
			}
		}
	})
	a.finish()
	if expired != nil {
		a.g.m.protocolErrors.Inc()
		a.g.log.Warn("closing probe connection: snapshot not finished", "probe", a.name, "within", snapshotTimeout)
		expired.close(closePolicy, fmt.Sprintf("snapshot not finished within %v", snapshotTimeout))
		a.disconnected(now)
	}
}

// configure makes the probe's entities and samplers those of a.cfg; the
// dataviews of sampler instances that went are removed. The caller is
// inside begin/finish.
//
// A sampler instance whose dataviews were dropped earlier on this
// connection and that the configuration brings back may still be running
// on the probe, sending updates to IDs the gateway no longer knows: the
// probe is asked for a snapshot, which declares them again.
func (a *probeActor) configure() {
	gone := a.g.tree.configure(a.node, a.cfg.entities)
	a.ch.Structure = true
	for _, dv := range gone {
		a.dropped[dv.sampler.id] = true
		for id, d := range a.byID {
			if d == dv {
				a.byID[id] = nil // its updates still in flight are ignored
				a.ignored++
			}
		}
		if a.dvs[dv.key] == dv {
			a.cost -= dv.cost
			a.drop(dv)
		}
	}
	if a.snap != nil {
		// The open snapshot's dataviews of instances that went must not
		// become live when it ends.
		for key, dv := range a.snap.dvs {
			if a.node.sampler(dv.sampler.id) != dv.sampler {
				delete(a.snap.dvs, key)
				a.snap.cost -= dv.cost
				a.dropped[dv.sampler.id] = true
				for id, d := range a.byID {
					if d == dv {
						a.byID[id] = nil
						a.ignored++
					}
				}
			}
		}
	}
	for id := range a.dropped {
		if _, back := a.cfg.instances[id]; back && a.conn != nil {
			clear(a.dropped)
			req := protocol.SnapshotRequest{Reason: "a sampler was configured again"}
			a.conn.send(req.Append(nil))
			break
		}
	}
}

// stop ends the actor: the connection is closed and the probe's subtree
// removed, its dataviews' watchers told they are gone.
func (a *probeActor) stop() {
	if a.conn != nil {
		a.conn.close(closeGoingAway, "probe removed or gateway stopping")
	}
	a.begin(a.clock.Now())
	for _, key := range slices.Sorted(maps.Keys(a.dvs)) {
		a.drop(a.dvs[key])
	}
	a.cost, a.slots = 0, 0
	a.g.tree.removeProbe(a.node)
	a.ch.rescoped = true
	a.finish()
}

// leavesScopes reports whether going from the entities was to now may
// take one out of a scope: one went, or its attributes changed.
func leavesScopes(was, now []entityConfig) bool {
	attrs := make(map[string]map[string]string, len(now))
	for _, e := range now {
		attrs[e.name] = e.attrs
	}
	for _, e := range was {
		if a, ok := attrs[e.name]; !ok || !maps.Equal(a, e.attrs) {
			return true
		}
	}
	return false
}

// rescope follows entities that may have left a scope, once the tree has
// them as they are now. Dashboard subscriptions are decided again at
// once, before this event's changes and any later batch are published,
// so that no value or severity of an entity reaches a watcher whose scope
// it has left, however long the rest of the reload takes; and the tree's
// watchers get a snapshot (Changes.rescoped). The caller is inside
// begin/finish: Reauthorize's calls of the Authorizer take only the
// tree's lock, which comes after the probe's.
func (a *probeActor) rescope() {
	a.ch.rescoped = true
	a.g.hub.Reauthorize()
}

// apply applies one batch: removals, declarations, then updates. An error
// means the probe broke the protocol or a limit; what came before it in
// the batch stays applied (and is published), and the next connection's
// snapshot reconciles the rest.
func (a *probeActor) apply(b *protocol.Batch, now time.Time) error {
	defer a.removeLeftovers()
	if b.Flags&protocol.SnapshotStart != 0 {
		a.forgetConnection()
		a.snap = &staging{dvs: make(map[string]*Dataview), until: now.Add(snapshotTimeout)}
		if !a.snapQueued {
			a.snapQueued = true
			a.timers.add(deadline{when: a.snap.until, kind: deadlineSnapshot})
		}
	}
	for _, id := range b.Removes {
		dv, known := a.byID[id]
		if !known {
			return fmt.Errorf("remove of unknown dataview %d", id)
		}
		delete(a.byID, id)
		switch {
		case dv == nil:
		case a.snap != nil && a.snap.dvs[dv.key] == dv:
			delete(a.snap.dvs, dv.key)
			a.snap.cost -= dv.cost
		case a.dvs[dv.key] == dv:
			a.removing[dv.key] = dv
			a.cost -= dv.cost
		}
	}
	updates := 0
	for i := range b.Declares {
		n, err := a.declare(&b.Declares[i], now)
		if err != nil {
			return err
		}
		updates += n
	}
	for i := range b.Updates {
		u := &b.Updates[i]
		dv, known := a.byID[u.ID]
		if !known {
			return fmt.Errorf("update of unknown dataview %d", u.ID)
		}
		if dv == nil {
			continue // of an unconfigured sampler
		}
		updates += len(u.Cells) + len(u.Headlines) + len(u.AddRows)*len(dv.columns)
		if err := a.update(dv, u, now); err != nil {
			return fmt.Errorf("dataview %s: %w", dv.key, err)
		}
	}
	a.g.m.cellUpdates.Add(updates)
	if b.Flags&protocol.SnapshotEnd != 0 && a.snap != nil {
		a.commit(now)
	}
	return a.settleSlots()
}

// settleSlots brings the probe's count of row-table slots up to date for
// the dataviews the batch touched. A slot costs the gateway a pointer,
// and a probe that adds rows and removes most of them again leaves free
// slots it still addresses rows through: when a table grows sparse the
// actor asks for a snapshot, which numbers the rows afresh, and a probe
// whose tables hold more slots than its cell budget is cut off.
func (a *probeActor) settleSlots() error {
	for i := range a.ch.Dataviews {
		dv := a.ch.Dataviews[i].dv
		if dv.gone {
			continue // removed or replaced: its slots went with it
		}
		a.slots += len(dv.rows) - dv.slots
		dv.slots = len(dv.rows)
		if dv.sparse() && !a.asked && a.conn != nil && a.snap == nil {
			a.asked = true
			req := protocol.SnapshotRequest{Reason: fmt.Sprintf("renumber the rows of %s: %d rows in %d slots", dv.key, dv.live, len(dv.rows))}
			a.conn.send(req.Append(nil))
		}
	}
	if a.slots > int(a.limits.MaxCells) {
		return fmt.Errorf("the probe's row tables hold %d slots, over its budget of %d cells: rows removed and added again would renumber in a snapshot", a.slots, a.limits.MaxCells)
	}
	return nil
}

// removeLeftovers removes the dataviews the batch removed and did not
// declare again.
func (a *probeActor) removeLeftovers() {
	if len(a.removing) == 0 {
		return
	}
	for _, key := range slices.Sorted(maps.Keys(a.removing)) {
		a.drop(a.removing[key])
	}
	clear(a.removing)
}

// declare builds a declared dataview and makes it live (or stages it, in
// an open snapshot). A declaration for a sampler the gateway no longer
// configures (a reload raced with the probe) is ignored, as are the
// updates that follow it.
func (a *probeActor) declare(d *protocol.Declare, now time.Time) (int, error) {
	if _, dup := a.byID[d.ID]; dup {
		return 0, fmt.Errorf("dataview %d declared twice", d.ID)
	}
	s := a.node.sampler(d.SamplerID)
	if _, ok := a.cfg.instances[d.SamplerID]; !ok || s == nil {
		// Ignored, but remembered, so held to the same limit: a probe
		// cannot make the gateway keep IDs without end.
		if a.ignored >= int(a.limits.MaxDataviews) {
			return 0, fmt.Errorf("more than %d dataviews of unconfigured samplers", a.limits.MaxDataviews)
		}
		a.ignored++
		a.g.log.Debug("ignoring dataview of an unconfigured sampler", "probe", a.name, "sampler_id", d.SamplerID)
		a.byID[d.ID] = nil
		return 0, nil
	}
	in, err := build(s, d, &a.limits)
	if err != nil {
		return 0, err
	}
	n := in.live*len(in.columns) + len(in.headlines)
	if a.snap != nil {
		if prev := a.snap.dvs[in.key]; prev != nil {
			a.snap.cost -= prev.cost
			a.forgetID(prev)
		} else if len(a.snap.dvs) >= int(a.limits.MaxDataviews) {
			return 0, fmt.Errorf("more than %d dataviews", a.limits.MaxDataviews)
		}
		a.snap.dvs[in.key] = in
		a.snap.cost += in.cost
		a.byID[d.ID] = in
		return n, a.checkBudget(a.snap.cost)
	}
	if a.dvs[in.key] == nil && len(a.dvs)-len(a.removing) >= int(a.limits.MaxDataviews) {
		return 0, fmt.Errorf("more than %d dataviews", a.limits.MaxDataviews)
	}
	if live := a.dvs[in.key]; live != nil && a.removing[in.key] == nil {
		a.forgetID(live) // declared again without a removal: it replaces
	}
	a.byID[d.ID] = a.merge(in, now)
	return n, a.checkBudget(a.cost)
}

// forgetID drops the connection's ID for dv, which a newer declaration of
// the same path replaces.
func (a *probeActor) forgetID(dv *Dataview) {
	for id, d := range a.byID {
		if d == dv {
			delete(a.byID, id)
		}
	}
}

func (a *probeActor) checkBudget(cost uint64) error {
	if cost > a.limits.MaxCells {
		return fmt.Errorf("the probe's dataviews would cost %d cells, over its budget of %d", cost, a.limits.MaxCells)
	}
	return nil
}

// update applies an update to a live or staged dataview.
func (a *probeActor) update(dv *Dataview, u *protocol.Update, now time.Time) error {
	before := dv.cost
	if a.snap != nil && a.snap.dvs[dv.key] == dv {
		err := dv.apply(u, nil, &a.limits)
		a.snap.cost += dv.cost - before
		if err != nil {
			return err
		}
		return a.checkBudget(a.snap.cost)
	}
	i := a.ch.begin(dv)
	err := dv.apply(u, &a.ch, &a.limits)
	a.ch.end(i)
	a.cost += dv.cost - before
	a.ch.Dataviews[i].sampled = true
	if dv.staleNow {
		dv.staleNow = false
		dv.stale.Store(false)
		a.ch.Dataviews[i].StaleChanged = true
	}
	a.sampled(dv, now)
	if err != nil {
		return err
	}
	return a.checkBudget(a.cost)
}

// merge makes in, a fresh declaration, live: reconciled into the dataview
// of its path if there is one, inserted if not. It returns the live
// dataview.
func (a *probeActor) merge(in *Dataview, now time.Time) *Dataview {
	live := a.dvs[in.key]
	if live == nil {
		a.insert(in, now)
		return in
	}
	if a.removing[in.key] == live {
		delete(a.removing, in.key)
		a.cost += live.cost
	}
	before, wasStale := live.cost, live.staleNow
	dv := reconcile(live, in, &a.ch)
	if dv != live {
		a.slots -= live.slots
		live.slots, live.gone = 0, true
		dv.replaces = live // record carries its history and series over
		a.dvs[dv.key] = dv
		a.g.tree.insert(dv)
	}
	a.cost += dv.cost - before
	a.ch.last().sampled = true
	if wasStale {
		// In the same entry as the values, so that watchers see them
		// come back and turn live in one frame.
		dv.staleNow = false
		dv.stale.Store(false)
		a.ch.last().StaleChanged = true
	}
	a.sampled(dv, now)
	return dv
}

// insert makes a new dataview live.
func (a *probeActor) insert(dv *Dataview, now time.Time) {
	a.dvs[dv.key] = dv
	a.g.tree.insert(dv)
	a.cost += dv.cost
	a.ch.Structure = true
	i := a.ch.begin(dv)
	a.ch.Dataviews[i].Declared = true
	a.ch.Dataviews[i].sampled = true
	dv.cells(func(r *rowState, col int, _ *cellState) { a.ch.cell(r, int32(col), true) })
	a.ch.count(rules.Undefined, len(a.ch.cells)-a.ch.Dataviews[i].cellsFrom)
	a.ch.end(i)
	a.sampled(dv, now)
}

// drop removes a live dataview; the caller has accounted for its cost.
func (a *probeActor) drop(dv *Dataview) {
	a.slots -= dv.slots
	dv.slots, dv.gone = 0, true
	delete(a.dvs, dv.key)
	a.g.tree.remove(dv)
	a.ch.Structure = true
	i := a.ch.begin(dv)
	a.ch.Dataviews[i].Removed = true
	// Its cells as they are now, which this event's earlier entries may
	// already have changed, not only what the counts hold.
	a.ch.uncount(dv.ownCounts())
	a.ch.end(i)
}

// commit ends an open snapshot: the live dataviews it did not declare go,
// and each one it declared is reconciled into the live one of its path.
// The snapshot kept within the limits as it was staged, so what it leaves
// live does too.
func (a *probeActor) commit(now time.Time) {
	snap := a.snap
	a.snap = nil
	for _, key := range slices.Sorted(maps.Keys(a.dvs)) {
		if snap.dvs[key] == nil {
			dv := a.dvs[key]
			a.cost -= dv.cost
			a.drop(dv)
		}
	}
	for _, key := range slices.Sorted(maps.Keys(snap.dvs)) {
		a.merge(snap.dvs[key], now)
	}
	for id, dv := range a.byID {
		if dv != nil && snap.dvs[dv.key] == dv {
			a.byID[id] = a.dvs[dv.key]
		}
	}
}
