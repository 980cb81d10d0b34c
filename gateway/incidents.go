package gateway

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
	"github.com/watchfloor/watchfloor/dashboard/coalesce"
	"github.com/watchfloor/watchfloor/gateway/access"
	"github.com/watchfloor/watchfloor/gateway/actions"
	"github.com/watchfloor/watchfloor/gateway/config"
	"github.com/watchfloor/watchfloor/gateway/incident"
	"github.com/watchfloor/watchfloor/gateway/store"
	"github.com/watchfloor/watchfloor/rules"
	"github.com/watchfloor/watchfloor/samplers"
)

// incidentsTopic is the dashboard topic of the live incidents and the
// cells' snoozes; its keys are incident IDs and snoozeKeyPrefix + a path.
const incidentsTopic = "incidents"

const snoozeKeyPrefix = "snooze:"

// desk owns the incidents: one goroutine (run) holds the Book and feeds
// it the rules' transitions, people's commands (through cmds) and its
// deadlines. Every change is stored before anyone hears of it — before
// the API answers, before the dashboards and the actions are told — and a
// change that cannot be stored is undone in the Book.
type desk struct {
	g    *Gateway
	log  *slog.Logger
	book *incident.Book // run's alone
	acts *actions.Dispatcher
	cmds chan deskCmd
	// failed carries notices whose action gave up, from the actions'
	// goroutines to run, which records them on their incidents.
	failed chan failedNotice

	// retry holds transitions whose changes could not be stored, tried
	// again with the next ones: run's alone.
	retry    coalesce.Map[string, Transition]
	retrying bool

	mu      sync.RWMutex
	live    map[string]*incident.Incident // the Book's incidents as last stored, for readers
	gone    map[string]*incident.Incident // those let go lately, for whom to tell they went
	snoozes map[string]incident.Snooze    // cells' snoozes, by path
	running bool

	m deskMetrics
}

type deskMetrics struct {
	opened, writes, writeFailures, commands, lostTransitions *metrics.Counter
	writeSeconds                                             *metrics.Histogram
}

// deskCmd is a person's command, run on the desk's goroutine: do changes
// the Book and says what to store, and the outcome goes back on reply.
type deskCmd struct {
	ids   []string // incidents to adopt from the store first, if the Book has let them go
	do    func(b *incident.Book, now time.Time) ([]incident.Change, []store.Audit, error)
	reply chan deskReply
}

type deskReply struct {
	changes []incident.Change
	err     error
}

// newDesk makes the desk. From here on transitions queue for it, so that
// none judged before run starts is missed.
func newDesk(g *Gateway, set *metrics.Set) *desk {
	g.Transitions()
	d := &desk{
		g: g, log: g.log, cmds: make(chan deskCmd), failed: make(chan failedNotice, maxFailedNotices),
		live: make(map[string]*incident.Incident), gone: make(map[string]*incident.Incident),
		snoozes: make(map[string]incident.Snooze),
	}
	d.m = deskMetrics{
		opened:          set.NewCounter("watchfloor_incidents_opened_total"),
		writes:          set.NewCounter("watchfloor_incident_writes_total"),
		writeFailures:   set.NewCounter("watchfloor_incident_write_failures_total"),
		commands:        set.NewCounter("watchfloor_incident_commands_total"),
		lostTransitions: set.NewCounter("watchfloor_incident_transitions_lost_total"),
		writeSeconds:    set.NewHistogram("watchfloor_incident_write_duration_seconds"),
	}
	set.NewGauge("watchfloor_incidents_open", func() float64 {
		d.mu.RLock()
		defer d.mu.RUnlock()
		n := 0
		for _, inc := range d.live {
			if inc.State == incident.Open {
				n++
			}
		}
		return float64(n)
	})
	return d
}

// load reads what the store kept: the incidents not closed and the
// cells' snoozes, held again by a Book numbering after the day's last.
func (d *desk) load(p incident.Policy, now time.Time) error {
	day := now.UTC().Format("20060102")
	last, err := d.g.store.LastIncidentNumber(day)
	if err != nil {
		return fmt.Errorf("gateway: incidents: %w", err)
	}
	incs, err := d.g.store.LiveIncidents()
	if err != nil {
		return fmt.Errorf("gateway: incidents: %w", err)
	}
	sns, err := d.g.store.Snoozes()
	if err != nil {
		return fmt.Errorf("gateway: incidents: %w", err)
	}
	d.book = incident.NewBook(p, day, last)
	d.book.Load(incs, sns, now)
	d.mu.Lock()
	for _, inc := range d.book.Incidents() {
		d.live[inc.ID] = &inc
	}
	for _, s := range sns {
		d.snoozes[s.Target] = s
	}
	d.mu.Unlock()
	return nil
}

// run is the desk's goroutine, until ctx is done.
func (d *desk) run(ctx context.Context) {
	trans := d.g.trans
	timer := d.g.clock.NewTimer()
	defer timer.Stop()
	retry := d.g.clock.NewTimer()
	defer retry.Stop()
	d.mu.Lock()
	d.running = true
	d.mu.Unlock()
	defer func() {
		d.mu.Lock()
		d.running = false
		d.mu.Unlock()
	}()
	d.book.SetMaintenance(maintenanceCovering{g: d.g})
	d.book.SetPhases(d.g.phaseOf)
	var batch coalesce.Map[string, Transition]
	var pause time.Time // after a tick's changes could not be stored, when to try again
	for {
		timer.Stop()
		if next := d.book.Next(); !next.IsZero() {
			if next.Before(pause) {
				next = pause
			}
			timer.Reset(max(next.Sub(d.g.clock.Now()), 0))
		}
		select {
		case <-ctx.Done():
			return
		case <-trans.Ready():
			if trans.Take(&batch) {
				d.m.lostTransitions.Inc()
				d.log.Warn("incidents: the transition queue overflowed; some cells' changes reach incidents only at their next change")
			}
			d.transitions(&batch)
			batch.Reset()
		case <-retry.C():
			d.retrying = false
			var empty coalesce.Map[string, Transition]
			d.transitions(&empty)
		case c := <-d.cmds:
			d.command(c)
		case f := <-d.failed:
			d.noticeFailed(f)
		case <-timer.C():
			now := d.g.clock.Now()
			pause = time.Time{}
			if d.commit(d.book.Tick(now), nil, now) != nil {
				// Undone, so still due: not again at once.
				pause = now.Add(time.Second)
			}
		}
		if d.retry.Len() > 0 && !d.retrying {
			d.retrying = true
			retry.Reset(time.Second)
		}
	}
}

// transitions turns a batch of transitions (and any waiting for a retry)
// into signals for the Book, and stores their changes in one write.
func (d *desk) transitions(batch *coalesce.Map[string, Transition]) {
	for path, tr := range d.retry.All() {
		batch.Merge(path, tr, func(old *Transition, newer Transition) {
			// The retried one came first.
			newer.Old, newer.Worst = tr.Old, max(tr.Worst, newer.Worst)
			*old = newer
		})
	}
	if batch.Len() == 0 {
		return
	}
	set := d.g.rules.current()
	now := d.g.clock.Now()
	var changes []incident.Change
	for _, tr := range batch.All() {
		changes = append(changes, d.book.Signal(d.signal(tr, set))...)
	}
	if err := d.commit(changes, nil, now); err != nil {
		// Undone in the Book; tried again shortly, merged with what
		// comes meanwhile.
		d.retry.Reset()
		for path, tr := range batch.All() {
			d.retry.Put(path, tr)
		}
		return
	}
	d.retry.Reset()
	for _, c := range changes {
		if c.Incident != nil && len(c.Events) > 0 && c.Events[0].Kind == incident.EvOpened {
			d.m.opened.Inc()
		}
	}
}

// signal is what the Book hears of a transition: with its rule's
// incident settings and its entity's attributes and client.
func (d *desk) signal(tr Transition, set *rules.Set) incident.Signal {
	s := incident.Signal{Rule: tr.Rule, Path: tr.Path, Headline: tr.Headline, Old: tr.Old, New: tr.New, Worst: tr.Worst,
		Value: tr.Value, Time: tr.Time, Attrs: tr.Attrs}
	s.Probe, s.Entity = pathNames(tr.Path)
	if s.Attrs == nil && s.Entity != "" {
		s.Attrs = d.g.tree.attrsOf(s.Probe, s.Entity)
	}
	if r, ok := set.Rule(tr.Rule); ok {
		s.Open = r.Incident()
		if s.Open != nil {
			s.Client = s.Attrs[s.Open.ClientAttr()]
		}
	}
	if s.Open != nil && s.Entity != "" {
		// Only an incident it may open records it.
		s.Phase = d.g.phaseOf(s.Attrs, tr.Time)
	}
	return s
}

// pathNames returns the probe and entity names of an encoded path (the
// entity "" for a probe's path).
func pathNames(path string) (probe, entity string) {
	segs := strings.SplitN(path, "/", 3)
	probe, _ = samplers.UnescapeSegment(segs[0])
	if len(segs) > 1 {
		entity, _ = samplers.UnescapeSegment(segs[1])
	}
	return probe, entity
}

// command runs a person's command and stores its changes with its audit
// entries.
func (d *desk) command(c deskCmd) {
	d.m.commands.Inc()
	now := d.g.clock.Now()
	for _, id := range c.ids {
		if _, ok := d.book.Get(id); ok {
			continue
		}
		inc, err := d.g.store.Incident(id)
		if err != nil {
			c.reply <- deskReply{err: err}
			return
		}
		d.book.Adopt(inc)
	}
	changes, audit, err := c.do(d.book, now)
	if err == nil {
		err = d.commit(changes, audit, now)
	}
	c.reply <- deskReply{changes: changes, err: err}
}

// commit stores changes (with audit entries) in one write, then tells the
// readers, the dashboards and the actions. If the write fails, the Book
// is put back as the store has it and the error returned.
func (d *desk) commit(changes []incident.Change, audit []store.Audit, now time.Time) error {
	var writes []store.IncidentWrite
	at := map[string]int{} // an incident's write in writes
	var cells []incident.Change
	for _, c := range changes {
		switch {
		case c.Incident != nil && len(c.Events) == 0:
			// Let go, unchanged: stored as it is.
		case c.Incident != nil:
			i, ok := at[c.Incident.ID]
			if !ok {
				i = len(writes)
				at[c.Incident.ID] = i
				writes = append(writes, store.IncidentWrite{})
			}
			writes[i].Incident = *c.Incident
			writes[i].Events = append(writes[i].Events, c.Events...)
		case c.Snooze != nil || c.Unsnoozed != "":
			cells = append(cells, c)
		}
	}
	if len(writes) == 0 && len(cells) == 0 {
		d.publish(changes, now) // incidents let go, if any: nothing to store
		return nil
	}
	var ch store.IncidentChanges
	ch.Incidents = writes
	for _, c := range cells {
		if c.Snooze != nil {
			ch.Snoozes = append(ch.Snoozes, *c.Snooze)
		} else {
			ch.Unsnoozed = append(ch.Unsnoozed, c.Unsnoozed)
		}
	}
	start := time.Now()
	err := d.g.store.PutIncidentChanges(ch, audit...)
	d.m.writeSeconds.UpdateDuration(start)
	d.m.writes.Inc()
	if err != nil {
		d.m.writeFailures.Inc()
		d.log.Error("incidents: store the changes", "incidents", len(writes), "err", err)
		d.undo(writes, cells)
		return fmt.Errorf("store: %w", err)
	}
	d.publish(changes, now)
	return nil
}

// undo puts the Book's incidents and snoozes back as the store has them.
func (d *desk) undo(writes []store.IncidentWrite, cells []incident.Change) {
	for _, w := range writes {
		inc, err := d.g.store.Incident(w.Incident.ID)
		switch {
		case err == nil:
			d.book.Reset(inc.ID, &inc)
		case errors.Is(err, store.ErrNotFound):
			d.book.Reset(w.Incident.ID, nil)
		default:
			d.log.Error("incidents: read back after a failed write", "incident", w.Incident.ID, "err", err)
		}
	}
	if len(cells) == 0 {
		return
	}
	sns, err := d.g.store.Snoozes()
	if err != nil {
		d.log.Error("incidents: read the snoozes back after a failed write", "err", err)
		return
	}
	stored := map[string]*incident.Snooze{}
	for i := range sns {
		stored[sns[i].Target] = &sns[i]
	}
	for _, c := range cells {
		path := c.Unsnoozed
		if c.Snooze != nil {
			path = c.Snooze.Target
		}
		d.book.ResetCell(path, stored[path])
	}
}

// publish tells the readers, the dashboards and the actions of stored
// changes.
func (d *desk) publish(changes []incident.Change, now time.Time) {
	keys := make([]string, 0, len(changes))
	d.mu.Lock()
	for _, c := range changes {
		switch {
		case c.Incident != nil:
			if c.Forget || c.Incident.State == incident.Closed {
				delete(d.live, c.Incident.ID)
				if len(d.gone) >= maxGone {
					clear(d.gone)
				}
				d.gone[c.Incident.ID] = c.Incident
			} else {
				d.live[c.Incident.ID] = c.Incident
			}
			keys = append(keys, c.Incident.ID)
		case c.Snooze != nil:
			d.snoozes[c.Snooze.Target] = *c.Snooze
			keys = append(keys, snoozeKeyPrefix+c.Snooze.Target)
		case c.Unsnoozed != "":
			delete(d.snoozes, c.Unsnoozed)
			keys = append(keys, snoozeKeyPrefix+c.Unsnoozed)
		}
	}
	d.mu.Unlock()
	d.refreshEvery(d.g.rules.current())
	d.g.hub.Touch(incidentsTopic, slices.Compact(keys)...)
	if d.acts == nil {
		return
	}
	url := d.g.publicURL()
	for _, c := range changes {
		if c.Incident == nil {
			continue
		}
		for _, e := range c.Effects {
			m := actions.Message{Event: actions.Event(e.Event), Incident: *c.Incident, Level: e.Level, Notice: e.Notice, Time: now}
			if url != "" {
				m.URL = url + "/#/incidents/" + c.Incident.ID
			}
			d.acts.Send(e.Notify, m)
		}
	}
}

// refreshEvery tells the actors whether the desk needs every cell's
// transitions, not only those of rules that open incidents: while a
// cell's snooze may end at a change of severity, or an open incident's
// rule, under set, no longer opens incidents (it was edited), the
// transitions of cells whose rules open none still matter. Called after
// each stored change and whenever a rule set is installed, before the
// actors judge by it.
func (d *desk) refreshEvery(set *rules.Set) {
	d.mu.RLock()
	every := len(d.snoozes) > 0
	for _, inc := range d.live {
		if every {
			break
		}
		if inc.State != incident.Open || inc.Rule == "" || inc.RaisedBy != "" {
			continue
		}
		r, ok := set.Rule(inc.Rule)
		every = !ok || r.Incident() == nil
	}
	d.mu.RUnlock()
	d.g.trans.every.Store(every)
}

// errDeskStopped: the desk is not running, so a command cannot be taken.
var errDeskStopped = errors.New("incidents: the gateway is not running (not yet, or no more)")

// do runs a command on the desk's goroutine and waits for it to be
// stored.
func (d *desk) do(ctx context.Context, ids []string, fn func(b *incident.Book, now time.Time) ([]incident.Change, []store.Audit, error)) ([]incident.Change, error) {
	d.mu.RLock()
	running := d.running
	d.mu.RUnlock()
	if !running {
		return nil, errDeskStopped
	}
	c := deskCmd{ids: ids, do: fn, reply: make(chan deskReply, 1)}
	stop := d.g.runCtx()
	select {
	case d.cmds <- c:
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-stop.Done():
		return nil, errDeskStopped
	}
	// Once taken, the command is stored or refused whatever the caller
	// does meanwhile: wait for its outcome.
	select {
	case r := <-c.reply:
		return r.changes, r.err
	case <-stop.Done():
		return nil, errDeskStopped
	}
}

// liveIncidents returns the live incidents for which keep is true, oldest
// first, and the cells' snoozes.
func (d *desk) liveIncidents(keep func(*incident.Incident) bool) ([]incident.Incident, []incident.Snooze) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	var out []incident.Incident
	for _, inc := range d.live {
		if keep(inc) {
			out = append(out, *inc)
		}
	}
	var sns []incident.Snooze
	for _, s := range d.snoozes {
		sns = append(sns, s)
	}
	slices.SortFunc(out, func(a, b incident.Incident) int { return a.Opened.Compare(b.Opened) })
	slices.SortFunc(sns, func(a, b incident.Snooze) int { return a.Until.Compare(b.Until) })
	return out, sns
}

// maxGone bounds the incidents let go that the desk remembers, to tell
// scoped viewers theirs went.
const maxGone = 10_000

// actionQueue is how many messages each action holds waiting: enough for
// an incident storm's openings to reach an Alertmanager, which groups
// them.
const actionQueue = 20_000

// setPolicy gives the Book a reloaded policy, on its goroutine.
func (d *desk) setPolicy(ctx context.Context, p incident.Policy) error {
	_, err := d.do(ctx, nil, func(b *incident.Book, _ time.Time) ([]incident.Change, []store.Audit, error) {
		b.SetPolicy(p)
		return nil, nil, nil
	})
	return err
}

// hasAction reports whether an action of that name is configured.
func (d *desk) hasAction(name string) bool { return d.acts.Has(name) }

// actionDone logs an action that failed for good: the action's counters,
// on the gateway's own dataview, say how often.
func (d *desk) actionDone(action string, m actions.Message, err error) {
	if err == nil {
		return
	}
	d.log.Warn("incidents: an action failed", "action", action, "event", m.Event, "incident", m.Incident.ID, "err", err)
	if m.Event != actions.NoticeEvent || m.Notice == nil {
		return
	}
	select {
	case d.failed <- failedNotice{id: m.Incident.ID, notice: *m.Notice, reason: err.Error()}:
	default:
		d.log.Error("incidents: too many failed notices waiting; this one is only logged", "incident", m.Incident.ID, "action", action)
	}
}

// maxFailedNotices bounds the failed notices waiting for the desk.
const maxFailedNotices = 1000

// failedNotice is a notice whose action gave up.
type failedNotice struct {
	id     string
	notice incident.Notice
	reason string
}

// noticeFailed records a failed notice on its incident.
func (d *desk) noticeFailed(f failedNotice) {
	c := deskCmd{ids: []string{f.id}, reply: make(chan deskReply, 1),
		do: func(b *incident.Book, now time.Time) ([]incident.Change, []store.Audit, error) {
			ch, err := b.NoticeFailed(f.id, f.notice, f.reason, now)
			return []incident.Change{ch}, nil, err
		}}
	d.command(c)
	if r := <-c.reply; r.err != nil {
		d.log.Error("incidents: record a failed notice", "incident", f.id, "err", r.err)
	}
}

// incidentPolicy is the incidents policy in force, its defaults filled.
func (g *Gateway) incidentPolicy() incident.Policy {
	g.mu.RLock()
	defer g.mu.RUnlock()
	p := g.cfg.Incidents.Policy
	if p.SnoozeWarning <= 0 {
		p.SnoozeWarning = incident.DefaultSnoozeWarning
	}
	return p
}

// incidentSweep is how often closed incidents past their retention are
// deleted.
const incidentSweep = time.Hour

// sweepIncidents deletes the closed incidents and the handover notes past
// the configured retention, hourly, until ctx is done.
func (g *Gateway) sweepIncidents(ctx context.Context) {
	t := g.clock.NewTimer()
	defer t.Stop()
	for {
		g.mu.RLock()
		keep := g.cfg.Incidents.Retention
		g.mu.RUnlock()
		if keep <= 0 {
			keep = config.DefaultIncidentRetention
		}
		if n, err := g.store.ExpireIncidents(g.clock.Now().Add(-keep)); err != nil {
			g.log.Error("incidents: delete those past retention", "err", err)
		} else if n > 0 {
			g.log.Info("incidents: deleted those past retention", "incidents", n, "retention", keep)
		}
		if _, err := g.store.ExpireNotes(g.clock.Now().Add(-keep)); err != nil {
			g.log.Error("incidents: delete the handover notes past retention", "err", err)
		}
		t.Reset(incidentSweep)
		select {
		case <-ctx.Done():
			return
		case <-t.C():
		}
	}
}

// incidentsFrame is the incidents topic's frame: a snapshot of every live
// incident and cell snooze a viewer sees, or a delta with the changed
// ones and those gone.
type incidentsFrame struct {
	Type      string              `json:"type"`
	Topic     string              `json:"topic"`
	Incidents []incident.Incident `json:"incidents"`
	Snoozes   []incident.Snooze   `json:"snoozes"`
	Removed   []string            `json:"removed,omitempty"`
	Unsnoozed []string            `json:"unsnoozed,omitempty"`
}

// encode encodes the incidents topic for a viewer with scope: a snapshot
// when keys is nil, else a delta of those keys.
func (d *desk) encode(sc access.Scope, keys []string) []byte {
	f := incidentsFrame{Type: "snapshot", Topic: incidentsTopic, Incidents: []incident.Incident{}, Snoozes: []incident.Snooze{}}
	if keys == nil {
		f.Incidents, f.Snoozes = d.liveIncidents(func(inc *incident.Incident) bool { return sees(sc, inc) })
		f.Snoozes = d.visibleSnoozes(f.Snoozes, sc)
		return marshal(f)
	}
	f.Type = "delta"
	d.mu.RLock()
	for _, k := range keys {
		if path, ok := strings.CutPrefix(k, snoozeKeyPrefix); ok {
			if s, ok := d.snoozes[path]; ok {
				f.Snoozes = append(f.Snoozes, s)
			} else {
				f.Unsnoozed = append(f.Unsnoozed, path)
			}
			continue
		}
		if inc, ok := d.live[k]; ok {
			if sees(sc, inc) {
				f.Incidents = append(f.Incidents, *inc)
			}
		} else if g, ok := d.gone[k]; sc.Whole() || (ok && sees(sc, g)) {
			f.Removed = append(f.Removed, k)
		}
	}
	d.mu.RUnlock()
	f.Snoozes = d.visibleSnoozes(f.Snoozes, sc)
	if !sc.Whole() {
		// A path is as much another client's as its snooze.
		f.Unsnoozed = slices.DeleteFunc(f.Unsnoozed, func(path string) bool { return !d.g.tree.entitySees(dataviewOf(path), sc) })
	}
	return marshal(f)
}

// visibleSnoozes keeps the cells' snoozes a viewer with scope sees.
func (d *desk) visibleSnoozes(sns []incident.Snooze, sc access.Scope) []incident.Snooze {
	if sc.Whole() {
		return sns
	}
	return slices.DeleteFunc(sns, func(s incident.Snooze) bool { return !d.g.tree.entitySees(dataviewOf(s.Target), sc) })
}
