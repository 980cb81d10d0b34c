package gateway

import (
	"bytes"
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/watchfloor/watchfloor/dashboard"
	"github.com/watchfloor/watchfloor/netprobe/protocol"
	"github.com/watchfloor/watchfloor/samplers"
)

// maxDataviews bounds how many dataviews one probe may hold, so a probe
// cannot grow the gateway's memory without end by declaring names.
const maxDataviews = 100_000

// instance is one sampler instance a probe runs for one entity.
type instance struct {
	entity, sampler, typ string
}

// probeConfig is what the gateway's configuration asks of one probe.
type probeConfig struct {
	msg       protocol.Config // sent to the probe
	instances map[uint32]instance
}

type eventKind uint8

const (
	evConnect eventKind = iota
	evBatch
	evDisconnect
	evConfig
)

type event struct {
	kind  eventKind
	conn  *probeConn
	batch *protocol.Batch
	cfg   *probeConfig
}

// probeActor owns one probe's subtree. It lives across connections: a
// connection only feeds it events, and a probe that is down keeps its
// dataviews, marked stale.
type probeActor struct {
	g       *Gateway
	name    string
	inbox   chan event
	stopped chan struct{} // closed when run returns

	connected atomic.Bool
	lastSeen  atomic.Int64 // Unix nanoseconds

	// Owned by run.
	cfg      *probeConfig
	conn     *probeConn
	byID     map[uint32]*Dataview // the current connection's dataview IDs
	dvs      map[string]*Dataview // every dataview of this probe, by path
	snapshot map[string]bool      // declared since SnapshotStart, while a snapshot is open
}

func newProbeActor(g *Gateway, name string, cfg *probeConfig) *probeActor {
	return &probeActor{
		g:       g,
		name:    name,
		inbox:   make(chan event, 64),
		stopped: make(chan struct{}),
		cfg:     cfg,
		byID:    make(map[uint32]*Dataview),
		dvs:     make(map[string]*Dataview),
	}
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

// run handles events until ctx is done. On the way out it closes the
// connection and removes the probe's dataviews.
func (a *probeActor) run(ctx context.Context) {
	defer close(a.stopped)
	defer func() {
		if a.conn != nil {
			a.conn.close(closeGoingAway, "probe removed or gateway stopping")
		}
		for key := range a.dvs {
			a.removeDataview(key)
		}
	}()
	for {
		select {
		case <-ctx.Done():
			return
		case ev := <-a.inbox:
			a.handle(ev)
		}
	}
}

func (a *probeActor) handle(ev event) {
	switch ev.kind {
	case evConnect:
		if a.conn != nil {
			a.conn.close(closePolicy, "replaced by a newer connection from the same probe")
		}
		a.conn = ev.conn
		clear(a.byID)
		a.snapshot = nil
		a.connected.Store(true)
		a.lastSeen.Store(time.Now().UnixNano())
		ev.conn.send(a.cfg.msg.Append(nil))
	case evDisconnect:
		if ev.conn != a.conn {
			return // an older connection that was already replaced or cut off
		}
		a.disconnected()
	case evConfig:
		unchanged := bytes.Equal(a.cfg.msg.Append(nil), ev.cfg.msg.Append(nil))
		a.cfg = ev.cfg
		if a.conn != nil && !unchanged {
			a.conn.send(a.cfg.msg.Append(nil))
		}
	case evBatch:
		if ev.conn != a.conn {
			return
		}
		a.lastSeen.Store(time.Now().UnixNano())
		if err := a.apply(ev.batch); err != nil {
			a.g.m.protocolErrors.Inc()
			a.g.log.Warn("closing probe connection: invalid batch", "probe", a.name, "seq", ev.batch.Seq, "err", err)
			a.conn.close(closePolicy, "invalid batch: "+err.Error())
			// Batches already queued from this connection build on the
			// broken one: the connection ends here, not at its reader's
			// disconnect event.
			a.disconnected()
		}
	}
}

// disconnected forgets the current connection and marks the probe's
// dataviews stale; they stay until a new connection's snapshot replaces
// them.
func (a *probeActor) disconnected() {
	a.conn = nil
	clear(a.byID)
	a.snapshot = nil
	a.connected.Store(false)
	a.markStale()
}

func (a *probeActor) markStale() {
	stale := true
	for key, dv := range a.dvs {
		dv.mu.Lock()
		dv.stale = true
		dv.mu.Unlock()
		a.g.hub.Publish(key, dashboard.Update{Stale: &stale})
	}
}

// removeDataview forgets one of this actor's dataviews. The tree entry is
// removed only while it is still this actor's: after a probe's token
// changes, its new actor may already hold the same path.
func (a *probeActor) removeDataview(key string) {
	dv := a.dvs[key]
	delete(a.dvs, key)
	if a.g.tree.removeIf(key, dv) {
		a.g.hub.Gone(key)
	}
}

// apply applies one batch. An error means the probe broke the protocol; the
// batch may then be partly applied, which the next connection's snapshot
// repairs.
func (a *probeActor) apply(b *protocol.Batch) error {
	if b.Flags&protocol.SnapshotStart != 0 {
		clear(a.byID)
		a.snapshot = make(map[string]bool, len(a.dvs))
	}
	for _, id := range b.Removes {
		dv, known := a.byID[id]
		if !known {
			return fmt.Errorf("remove of unknown dataview %d", id)
		}
		delete(a.byID, id)
		if dv != nil {
			a.removeDataview(dv.key)
		}
	}
	updates := 0
	for i := range b.Declares {
		n, err := a.declare(&b.Declares[i])
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
		n, err := a.update(dv, u)
		if err != nil {
			return fmt.Errorf("dataview %s: %w", dv.key, err)
		}
		updates += n
	}
	a.g.m.cellUpdates.Add(updates)
	if b.Flags&protocol.SnapshotEnd != 0 && a.snapshot != nil {
		for key := range a.dvs {
			if !a.snapshot[key] {
				a.removeDataview(key)
			}
		}
		a.snapshot = nil
	}
	return nil
}

// declare creates or replaces a dataview wholesale. A declaration for a
// sampler the gateway no longer configures (a reload raced with the probe)
// is ignored, as are the updates that follow it.
func (a *probeActor) declare(d *protocol.Declare) (int, error) {
	if _, dup := a.byID[d.ID]; dup {
		return 0, fmt.Errorf("dataview %d declared twice", d.ID)
	}
	inst, ok := a.cfg.instances[d.SamplerID]
	if !ok {
		a.g.log.Debug("ignoring dataview of an unconfigured sampler", "probe", a.name, "sampler_id", d.SamplerID)
		a.byID[d.ID] = nil
		return 0, nil
	}
	if d.Name == "" {
		return 0, fmt.Errorf("dataview %d has no name", d.ID)
	}
	if len(a.byID) >= maxDataviews {
		return 0, fmt.Errorf("more than %d dataviews", maxDataviews)
	}
	path := samplers.DataviewPath{Probe: a.name, Entity: inst.entity, Sampler: inst.sampler, Dataview: d.Name}
	dv := &Dataview{
		path:       path,
		key:        path.String(),
		typ:        inst.typ,
		columns:    d.Columns,
		headlines:  d.Headlines,
		head:       make([]cellState, len(d.Headlines)),
		rowIndex:   make(map[string]uint32, len(d.Rows)),
		sampleTime: d.SampleTime,
	}
	for i, v := range d.HeadValues {
		dv.head[i] = cellState{val: v, changed: d.SampleTime}
	}
	for i := range d.Rows {
		if err := dv.addRow(&d.Rows[i], d.SampleTime); err != nil {
			return 0, fmt.Errorf("dataview %s: %w", dv.key, err)
		}
	}
	for id, old := range a.byID {
		if old != nil && old.key == dv.key {
			delete(a.byID, id)
		}
	}
	a.byID[d.ID] = dv
	a.dvs[dv.key] = dv
	if a.snapshot != nil {
		a.snapshot[dv.key] = true
	}
	a.g.tree.put(dv)
	// Subscribers get the new columns, or the dataview they were told had
	// gone, as a fresh snapshot.
	a.g.hub.Reset(dv.key)
	return dv.live*len(dv.columns) + len(dv.headlines), nil
}

// addRow adds a row at the index the probe chose. A probe takes the lowest
// free index, so a new row's index is never above the number of live rows;
// holding probes to that keeps the row table as small as the data sent,
// whatever a hostile index says.
func (dv *Dataview) addRow(r *protocol.RowDecl, t int64) error {
	if int(r.Index) > dv.live {
		return fmt.Errorf("row index %d is above the %d live rows (a new row takes the lowest free index)", r.Index, dv.live)
	}
	if len(r.Cells) != len(dv.columns) {
		return fmt.Errorf("row %q has %d cells for %d columns", r.Name, len(r.Cells), len(dv.columns))
	}
	if r.Name == "" {
		return fmt.Errorf("row %d has no name", r.Index)
	}
	if _, dup := dv.rowIndex[r.Name]; dup {
		return fmt.Errorf("row %q added twice", r.Name)
	}
	if int(r.Index) >= len(dv.rows) {
		dv.rows = append(dv.rows, make([]*rowState, int(r.Index)+1-len(dv.rows))...)
	}
	if dv.rows[r.Index] != nil {
		return fmt.Errorf("row index %d added while in use", r.Index)
	}
	row := &rowState{name: r.Name, cells: make([]cellState, len(r.Cells))}
	for i, c := range r.Cells {
		row.cells[i] = cellState{val: c, changed: t}
	}
	dv.rows[r.Index] = row
	dv.rowIndex[r.Name] = r.Index
	dv.live++
	return nil
}

// update applies a dataview's changes and publishes them to the dashboard
// hub, building the dashboard update only when someone watches.
func (a *probeActor) update(dv *Dataview, u *protocol.Update) (int, error) {
	watched := a.g.hub.Watched(dv.key)
	var du dashboard.Update
	dv.mu.Lock()
	err := dv.applyUpdate(u, watched, &du)
	dv.mu.Unlock()
	switch {
	case watched:
		a.g.hub.Publish(dv.key, du)
	case a.g.hub.Watched(dv.key):
		// A browser subscribed while this update was applied: its
		// snapshot may predate the update, which nobody published.
		a.g.hub.Reset(dv.key)
	}
	return len(u.Cells) + len(u.Headlines) + len(u.AddRows)*len(dv.columns), err
}

// applyUpdate is called with dv.mu held.
func (dv *Dataview) applyUpdate(u *protocol.Update, watched bool, du *dashboard.Update) error {
	t := u.SampleTime
	dv.sampleTime = t
	if watched {
		du.Changes = make([]dashboard.Change, 0, len(u.Cells)+len(u.Headlines)+len(u.AddRows)*len(dv.columns))
	}
	if dv.stale {
		dv.stale = false
		if watched {
			f := false
			du.Stale = &f
		}
	}
	du.SampleTime = ms(t)
	for _, idx := range u.RemoveRows {
		if int(idx) >= len(dv.rows) || dv.rows[idx] == nil {
			return fmt.Errorf("remove of unknown row %d", idx)
		}
		if watched {
			du.RemovedRows = append(du.RemovedRows, dv.rows[idx].name)
		}
		delete(dv.rowIndex, dv.rows[idx].name)
		dv.rows[idx] = nil
		dv.live--
	}
	for i := range u.AddRows {
		r := &u.AddRows[i]
		if err := dv.addRow(r, t); err != nil {
			return err
		}
		if watched {
			for col, c := range r.Cells {
				du.Changes = append(du.Changes, dashboard.Change{Row: r.Name, Column: dv.columns[col],
					Cell: dashboard.Cell{V: c.Raw, S: "undefined", T: ms(t)}})
			}
		}
	}
	for _, c := range u.Cells {
		if int(c.Row) >= len(dv.rows) || dv.rows[c.Row] == nil {
			return fmt.Errorf("change to unknown row %d", c.Row)
		}
		row := dv.rows[c.Row]
		if int(c.Col) >= len(row.cells) {
			return fmt.Errorf("change to unknown column %d", c.Col)
		}
		cell := &row.cells[c.Col]
		cell.val = c.Value
		cell.changed = t
		if watched {
			du.Changes = append(du.Changes, dashboard.Change{Row: row.name, Column: dv.columns[c.Col], Cell: dashCell(cell)})
		}
	}
	for _, h := range u.Headlines {
		if int(h.Index) >= len(dv.head) {
			return fmt.Errorf("change to unknown headline %d", h.Index)
		}
		cell := &dv.head[h.Index]
		cell.val = h.Value
		cell.changed = t
		if watched {
			du.Changes = append(du.Changes, dashboard.Change{Headline: true, Column: dv.headlines[h.Index], Cell: dashCell(cell)})
		}
	}
	return nil
}
