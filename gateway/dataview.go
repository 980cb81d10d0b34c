package gateway

import (
	"fmt"
	"slices"
	"sync/atomic"
	"time"

	"github.com/watchfloor/watchfloor/dashboard"
	"github.com/watchfloor/watchfloor/gateway/history"
	"github.com/watchfloor/watchfloor/netprobe/protocol"
	"github.com/watchfloor/watchfloor/rules"
	"github.com/watchfloor/watchfloor/samplers"
)

// cellState is a cell as the gateway holds it. It belongs to its row and
// column by name: the probe's row index only finds it, and a reconnect
// that sends the same value again leaves it as it was.
//
// Its fields are laid out so that it takes 48 bytes, not the 56 a
// samplers.Cell and the rest would with their padding: the tree holds one
// per live cell. What the rules keep about a cell hangs off rs, so cells
// no rule matches pay one pointer for it.
type cellState struct {
	raw     string
	num     float64
	changed int64      // Unix ns of the sample that last changed the value
	rs      *cellRules // nil unless a rule matches the cell
	isNum   bool
	sev     rules.Severity
}

func newCell(v samplers.Cell, t int64) cellState {
	return cellState{raw: v.Raw, num: v.Num, isNum: v.IsNum, changed: t}
}

// value returns the cell's value.
func (c *cellState) value() samplers.Cell {
	return samplers.Cell{Raw: c.raw, Num: c.num, IsNum: c.isNum}
}

// holds reports whether the cell holds v already. Most changes are of
// numbers, and two different numbers settle it without comparing text;
// equal numbers may still differ as text ("1.5" and "1.50").
func (c *cellState) holds(v samplers.Cell) bool {
	if c.isNum && v.IsNum && c.num != v.Num {
		return false
	}
	return c.raw == v.Raw
}

// set gives the cell a new value, sampled at t. The rules keep the value
// it replaces: conditions see it as previous.
func (c *cellState) set(v samplers.Cell, t int64) {
	if c.rs != nil {
		c.rs.Changing(c.value(), c.changed)
	}
	c.raw, c.num, c.isNum, c.changed = v.Raw, v.Num, v.IsNum, t
}

type rowState struct {
	name  string
	cells []cellState
	hist  *history.Row // its history, once it has been recorded
	exp   []cellExport // by column, once a cell of the row is exported
	gone  bool         // removed from its dataview
}

// Dataview is the gateway's live copy of one dataview. Its probe's actor
// is the only writer; readers (the API, dashboard snapshots) hold the
// probe's read lock while they copy out.
type Dataview struct {
	sampler *samplerNode
	path    samplers.DataviewPath
	key     string // path.String()
	topic   string // the dashboard topic
	counts  counters
	stale   atomic.Bool // a copy of staleNow readable without the probe's lock

	// Guarded by the probe's mu.
	columns    []string
	headlines  []string
	head       []cellState
	rows       []*rowState // by the connection's row index; nil where free
	rowIndex   map[string]uint32
	live       int   // rows that are not nil
	sampleTime int64 // Unix ns
	staleNow   bool
	cost       uint64 // against the probe's cell budget (protocol.Cost)
	deleted    int    // rows deleted from rowIndex since it was last rebuilt

	// findings are what dataview rules found: the dataview stale, rows
	// missing. Written by the actor, read by the tree's encoders without
	// the probe's lock.
	findings atomic.Pointer[[]finding]

	// Owned by the actor.
	staleAt   time.Time // when it goes stale unless sampled again
	slots     int       // the row-table slots the probe's count includes
	queued    bool      // its path has a stale deadline in the heap
	gone      bool      // removed, or replaced by another declaration
	sampledAt int64     // Unix ns, actor time, of the last sample applied
	ages      bool      // some cell's rules read its age: judge them on each sample
	judged    uint64    // the evaluation pass that last judged its age cells
	found     uint64    // the evaluation pass that last refreshed its findings
	findAt    int64     // Unix ns of its findings deadline in the heap; 0 if none
	dvRules   dataviewRules
	cycle     cycleRef         // its entity's work cycle, found once per calendar index
	missing   map[string]int64 // Unix ns each row an absence rule expects has been missing since
	// Its history, once it has been sampled: the view, its headlines'
	// row, and the view's indexes of its columns and headlines, good
	// while the view's layout is histLayout.
	hist       *history.View
	headHist   *history.Row
	histCols   []int32
	histHeads  []int32
	histLayout uint64
	headExp    []cellExport // its headlines' export, by headline
	// replaces is the dataview of its path it replaced in this event (its
	// columns or headlines differed), until record has carried that
	// one's history and export over to it.
	replaces *Dataview
}

func newDataview(s *samplerNode, name string) *Dataview {
	path := samplers.DataviewPath{Probe: s.entity.probe.name, Entity: s.entity.name, Sampler: s.name, Dataview: name}
	key := path.String()
	return &Dataview{sampler: s, path: path, key: key, topic: dashboard.DataviewTopic(key)}
}

// cells calls f with every cell of dv, headlines first.
func (dv *Dataview) cells(f func(row *rowState, col int, c *cellState)) {
	for i := range dv.head {
		f(nil, i, &dv.head[i])
	}
	for _, r := range dv.rows {
		if r == nil {
			continue
		}
		for i := range r.cells {
			f(r, i, &r.cells[i])
		}
	}
}

// countCells counts dv's cells by severity.
func (dv *Dataview) countCells() sevCounts {
	var s sevCounts
	dv.cells(func(_ *rowState, _ int, c *cellState) { s[c.sev]++ })
	return s
}

// ownCounts counts dv's cells and its findings by severity.
func (dv *Dataview) ownCounts() sevCounts {
	s := dv.countCells()
	f := findingsCounts(dv.findings.Load())
	s.add(&f)
	return s
}

// build makes a dataview from a declaration: not yet live, every cell
// new. It checks the declaration against the probe's limits.
func build(s *samplerNode, d *protocol.Declare, lim *protocol.Limits) (*Dataview, error) {
	if d.Name == "" {
		return nil, fmt.Errorf("dataview %d has no name", d.ID)
	}
	if len(d.Columns) > int(lim.MaxColumns) {
		return nil, fmt.Errorf("dataview %q has %d columns, over the limit of %d", d.Name, len(d.Columns), lim.MaxColumns)
	}
	if len(d.Headlines) > int(lim.MaxHeadlines) {
		return nil, fmt.Errorf("dataview %q has %d headlines, over the limit of %d", d.Name, len(d.Headlines), lim.MaxHeadlines)
	}
	dv := newDataview(s, d.Name)
	dv.columns = d.Columns
	dv.headlines = d.Headlines
	dv.head = make([]cellState, len(d.Headlines))
	dv.rowIndex = make(map[string]uint32, len(d.Rows))
	dv.sampleTime = d.SampleTime
	dv.cost = protocol.Cost(d.Name)
	for _, c := range d.Columns {
		dv.cost += protocol.Cost(c)
	}
	for i, name := range d.Headlines {
		v := samplers.Cell{}
		if i < len(d.HeadValues) {
			v = d.HeadValues[i]
		}
		dv.head[i] = newCell(v, d.SampleTime)
		dv.cost += protocol.Cost(name) + protocol.Cost(v.Raw)
	}
	for i := range d.Rows {
		if _, err := dv.addRow(&d.Rows[i], d.SampleTime, lim); err != nil {
			return nil, fmt.Errorf("dataview %s: %w", dv.key, err)
		}
	}
	return dv, nil
}

// addRow adds a row at the index the probe chose. A probe takes the lowest
// free index, so a new row's index is never above the number of live rows;
// holding probes to that keeps the row table as small as the data sent,
// whatever a hostile index says.
func (dv *Dataview) addRow(r *protocol.RowDecl, t int64, lim *protocol.Limits) (*rowState, error) {
	if int(r.Index) > dv.live {
		return nil, fmt.Errorf("row index %d is above the %d live rows (a new row takes the lowest free index)", r.Index, dv.live)
	}
	if dv.live >= int(lim.MaxRows) {
		return nil, fmt.Errorf("more than %d rows", lim.MaxRows)
	}
	if len(r.Cells) != len(dv.columns) {
		return nil, fmt.Errorf("row %q has %d cells for %d columns", r.Name, len(r.Cells), len(dv.columns))
	}
	if r.Name == "" {
		return nil, fmt.Errorf("row %d has no name", r.Index)
	}
	if _, dup := dv.rowIndex[r.Name]; dup {
		return nil, fmt.Errorf("row %q added twice", r.Name)
	}
	if int(r.Index) >= len(dv.rows) {
		dv.rows = append(dv.rows, make([]*rowState, int(r.Index)+1-len(dv.rows))...)
	}
	if dv.rows[r.Index] != nil {
		return nil, fmt.Errorf("row index %d added while in use", r.Index)
	}
	row := &rowState{name: r.Name, cells: make([]cellState, len(r.Cells))}
	dv.cost += protocol.Cost(r.Name)
	for i, c := range r.Cells {
		row.cells[i] = newCell(c, t)
		dv.cost += protocol.Cost(c.Raw)
	}
	dv.rows[r.Index] = row
	dv.rowIndex[r.Name] = r.Index
	dv.live++
	return row, nil
}

func rowCost(r *rowState) uint64 {
	c := protocol.Cost(r.name)
	for i := range r.cells {
		c += protocol.Cost(r.cells[i].raw)
	}
	return c
}

// apply applies one update to dv. With ch (a live dataview) it records
// what changed there and what that did to dv's counts; without (a
// dataview staged by an open snapshot) it only applies. A value equal to
// the one held changes nothing, so a cell's last-change time is when its
// value last really changed.
func (dv *Dataview) apply(u *protocol.Update, ch *Changes, lim *protocol.Limits) error {
	t := u.SampleTime
	dv.sampleTime = t
	for _, idx := range u.RemoveRows {
		if int(idx) >= len(dv.rows) || dv.rows[idx] == nil {
			return fmt.Errorf("remove of unknown row %d", idx)
		}
		r := dv.rows[idx]
		if ch != nil {
			ch.removeRow(r)
		}
		dv.cost -= rowCost(r)
		delete(dv.rowIndex, r.name)
		dv.rows[idx] = nil
		dv.live--
		dv.deleted++
	}
	if len(u.RemoveRows) > 0 {
		dv.shrink()
	}
	for i := range u.AddRows {
		r, err := dv.addRow(&u.AddRows[i], t, lim)
		if err != nil {
			return err
		}
		if ch != nil {
			ch.addRow(r)
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
		if dv.change(&row.cells[c.Col], c.Value, t) && ch != nil {
			ch.cell(row, int32(c.Col), false)
		}
	}
	for _, h := range u.Headlines {
		if int(h.Index) >= len(dv.head) {
			return fmt.Errorf("change to unknown headline %d", h.Index)
		}
		if dv.change(&dv.head[h.Index], h.Value, t) && ch != nil {
			ch.cell(nil, int32(h.Index), false)
		}
	}
	return nil
}

// change sets a cell of dv unless it holds v already, and reports whether
// it did. It is small enough to be inlined in apply's loops, which run for
// every cell a probe sends.
func (dv *Dataview) change(cell *cellState, v samplers.Cell, t int64) bool {
	if cell.holds(v) {
		return false
	}
	dv.cost += protocol.Cost(v.Raw) - protocol.Cost(cell.raw)
	cell.set(v, t)
	return true
}

// shrink gives back what removed rows held: the free slots at the end of
// the row table, and the deleted keys of the row index, which a Go map
// keeps until it is rebuilt. Free slots between live rows stay: the probe
// addresses rows by index (the actor asks for a snapshot, which numbers
// them afresh, when too many do).
func (dv *Dataview) shrink() {
	n := len(dv.rows)
	for n > 0 && dv.rows[n-1] == nil {
		n--
	}
	dv.rows = dv.rows[:n]
	if cap(dv.rows) > 2*n+64 {
		// A copy, not slices.Clone, which keeps the old array for an
		// empty table.
		rows := make([]*rowState, n)
		copy(rows, dv.rows)
		dv.rows = rows
	}
	if dv.deleted > dv.live+64 {
		// Built anew, sized for what is left: maps.Clone would copy the
		// old table's size.
		index := make(map[string]uint32, dv.live)
		for name, i := range dv.rowIndex {
			index[name] = i
		}
		dv.rowIndex = index
		dv.deleted = 0
	}
}

// sparse reports whether dv's row table holds many more slots than rows.
func (dv *Dataview) sparse() bool { return len(dv.rows) > 2*dv.live+64 }

// sameShape reports whether two dataviews have the same columns and
// headline names, in order: then one can take the other's rows in place.
func sameShape(a, b *Dataview) bool {
	return slices.Equal(a.columns, b.columns) && slices.Equal(a.headlines, b.headlines)
}

// reconcile makes live hold what in (a fresh declaration of the same path,
// after a reconnect, a snapshot or a re-declaration) holds, keeping the
// state of every cell whose value is the same: its severity, its
// last-change time and (later) its rule state. Rows and cells are matched
// by name, never by the probe's row indexes, which the new declaration
// chose afresh. It records in ch what really changed. It returns live, or
// in when the shape differs and in replaces live.
func reconcile(live, in *Dataview, ch *Changes) *Dataview {
	if sameShape(live, in) {
		reconcileInPlace(live, in, ch)
		return live
	}
	carryState(live, in, ch)
	return in
}

func reconcileInPlace(live, in *Dataview, ch *Changes) {
	dc := ch.begin(live)
	kept := make(map[*rowState]bool, live.live)
	rows := make([]*rowState, len(in.rows))
	for idx, r := range in.rows {
		if r == nil {
			continue
		}
		i, ok := live.rowIndex[r.name]
		if !ok {
			rows[idx] = r
			ch.addRow(r)
			continue
		}
		old := live.rows[i]
		kept[old] = true
		rows[idx] = old
		for c := range old.cells {
			if old.cells[c].raw != r.cells[c].raw {
				old.cells[c].set(r.cells[c].value(), in.sampleTime)
				ch.cell(old, int32(c), false)
			}
		}
	}
	for _, r := range live.rows {
		if r != nil && !kept[r] {
			ch.removeRow(r)
		}
	}
	for i := range live.head {
		if v := in.head[i].value(); live.head[i].raw != v.Raw {
			live.head[i].set(v, in.sampleTime)
			ch.cell(nil, int32(i), false)
		}
	}
	live.rows, live.rowIndex, live.live, live.deleted = rows, in.rowIndex, in.live, 0
	live.sampleTime, live.cost = in.sampleTime, in.cost
	ch.end(dc)
}

// carryState gives in (which replaces live: its columns or headlines
// differ) the state of every cell of live with the same row and column
// names and the same value, and records in ch that in is declared anew.
func carryState(live, in *Dataview, ch *Changes) {
	cols := make(map[string]int, len(live.columns))
	for i, c := range live.columns {
		cols[c] = i
	}
	heads := make(map[string]int, len(live.headlines))
	for i, h := range live.headlines {
		heads[h] = i
	}
	// in takes live's place under the same ancestors: it starts from
	// live's counts, and the entry turns them into its own. live's cells
	// as they are now: this event's earlier entries may have changed them,
	// and their counts reach the ancestors only when the event ends.
	old := live.ownCounts()
	in.counts.add(&old)
	dc := ch.begin(in)
	ch.Dataviews[dc].Declared = true
	ch.uncount(old)
	// What its rules found stays until they look again, this event.
	fs := live.findings.Load()
	in.findings.Store(fs)
	f := findingsCounts(fs)
	ch.last().counts.add(&f)
	in.findAt, in.sampledAt, in.missing = 0, live.sampledAt, live.missing
	in.ages = live.ages // its carried cells keep their rules
	for i, name := range in.headlines {
		var old *cellState
		if j, ok := heads[name]; ok {
			old = &live.head[j]
		}
		if !carry(&in.head[i], old) {
			ch.cell(nil, int32(i), true)
		}
		ch.count(in.head[i].sev, 1)
	}
	for _, r := range in.rows {
		if r == nil {
			continue
		}
		var old *rowState
		if i, ok := live.rowIndex[r.name]; ok {
			old = live.rows[i]
		}
		for c, name := range in.columns {
			var was *cellState
			if j, ok := cols[name]; ok && old != nil {
				was = &old.cells[j]
			}
			if !carry(&r.cells[c], was) {
				ch.cell(r, int32(c), true)
			}
			ch.count(r.cells[c].sev, 1)
		}
	}
	ch.end(dc)
}

// carry gives c, a cell of a new declaration, the state of old, the cell
// of the same row and column names it replaces (nil: none): all of it when
// the value is the same, and it reports true; else old's rule state, so
// its rules bind again keeping a pending `for` or a firing level, and see
// old's value as the previous one.
func carry(c, old *cellState) bool {
	switch {
	case old == nil:
		return false
	case old.raw == c.raw:
		*c = *old
		return true
	case old.rs != nil:
		c.rs = old.rs
		c.rs.Changing(old.value(), old.changed)
	}
	return false
}

// snapshot copies dv into a dashboard snapshot. The caller holds the
// probe's read lock.
func (dv *Dataview) snapshot() dashboard.Snapshot {
	s := dashboard.Snapshot{
		Topic:      dv.topic,
		Dataview:   dv.key,
		SampleTime: ms(dv.sampleTime),
		Stale:      dv.staleNow,
		Columns:    slices.Clone(dv.columns),
		Rows:       make([]dashboard.Row, 0, dv.live),
		Headlines:  make([]dashboard.Headline, len(dv.headlines)),
	}
	for _, r := range dv.rows {
		if r == nil {
			continue
		}
		row := dashboard.Row{Name: r.name, Cells: make([]dashboard.Cell, len(r.cells))}
		for i := range r.cells {
			row.Cells[i] = dashCell(&r.cells[i])
		}
		s.Rows = append(s.Rows, row)
	}
	for i, name := range dv.headlines {
		s.Headlines[i] = dashboard.Headline{Name: name, Cell: dashCell(&dv.head[i])}
	}
	return s
}

func ms(ns int64) int64 { return ns / 1e6 }

func dashCell(c *cellState) dashboard.Cell {
	return dashboard.Cell{V: c.raw, S: c.sev.String(), T: ms(c.changed), Rule: c.ruleName()}
}

// ruleName names the rule that set the cell's severity, "" if none did.
func (c *cellState) ruleName() string {
	if c.rs == nil || c.rs.Rule == nil {
		return ""
	}
	return c.rs.Rule.Name()
}
