package gateway

import (
	"iter"
	"time"

	"github.com/watchfloor/watchfloor/dashboard"
	"github.com/watchfloor/watchfloor/rules"
	"github.com/watchfloor/watchfloor/samplers"
)

// Consumer receives what each event changed in a probe's subtree: a
// batch applied, a connection lost, a configuration or a timer. It is
// called on the probe's actor goroutine, with the probe's lock held, after
// the changes are applied and before any reader can see them. Consumers
// run in order, so an earlier one (the rules evaluator) can set the
// severities a later one (the dashboard) sends, and a value and its
// severity reach a browser in the same frame.
//
// Consume must not block — slow work goes through a coalesce.Queue — and
// must not keep ch, or anything reached through it, after it returns: the
// actor reuses it. One probe's events come one at a time; different
// probes' come concurrently.
type Consumer interface {
	Consume(ch *Changes)
}

// Changes is what one event changed in one probe's subtree: the dataviews
// it touched, in order, and in each the cells whose value changed or that
// appeared. A dataview may appear more than once.
type Changes struct {
	// Probe is the probe's name; Now the actor's clock reading for the
	// event.
	Probe string
	Now   time.Time
	// Dataviews are the dataviews the event touched.
	Dataviews []DataviewChange
	// Structure reports that dataviews came or went or the configuration
	// changed the probe's entities: its whole subtree is sent again to
	// whoever watches the tree.
	Structure bool

	probe       *probeNode
	cells       []cellRef
	removedRows []string
	// removedRowStates are the rows removedRows names, for evaluation.
	removedRowStates []*rowState
	nodes            bool // a probe's node state changed (its connection, its findings)
	rejudged         bool // cells were added to be judged again, unchanged
	// rescoped: the probe may have left a scope (an entity's attributes
	// changed or it went, or the probe went). A scoped watcher of the
	// tree is never told of a probe it does not see, not even that it
	// went, so the tree's watchers start again from a snapshot.
	rescoped bool
}

// DataviewChange is one dataview's part of a Changes.
type DataviewChange struct {
	dv *Dataview
	// Declared: the dataview is new, or was declared again with other
	// columns or headlines; whoever shows it starts again from its whole
	// state. Removed: it is gone.
	Declared, Removed bool
	// StaleChanged: its stale flag flipped.
	StaleChanged bool

	sampled  bool // the event applied a sample of it
	findings bool // what its dataview rules find changed
	rejudged bool // only judged again: passed on only if something changed

	counts      sevCounts // what the event did to its counts
	cellsFrom   int
	cellsTo     int
	removedFrom int
	removedTo   int
}

// cellRef is a changed cell: a row's (nil for a headline) column. A
// rejudged one is there only to be judged again (a timer, a new rule
// set); it is quiet, passed on only if its severity changed.
type cellRef struct {
	row     *rowState
	col     int32
	added   bool
	quiet   bool
	rejudge bool
}

// Path is the dataview's path.
func (d *DataviewChange) Path() samplers.DataviewPath { return d.dv.path }

// Stale reports whether the dataview is stale now.
func (d *DataviewChange) Stale() bool { return d.dv.staleNow }

// SampleTime is the dataview's sample time, Unix nanoseconds.
func (d *DataviewChange) SampleTime() int64 { return d.dv.sampleTime }

// RemovedRows are the rows the event removed, by name.
func (ch *Changes) RemovedRows(d *DataviewChange) []string {
	return ch.removedRows[d.removedFrom:d.removedTo]
}

// CellChange is one changed cell as a Consumer sees it.
type CellChange struct {
	Row      string // "" for a headline
	Column   string // the headline's name for a headline
	Headline bool
	// Added: the cell is new, its row or dataview appeared.
	Added    bool
	Value    samplers.Cell
	Severity rules.Severity
	Rule     string // the rule that set Severity, "" if none did
	Changed  int64  // Unix ns of the sample that set the value
}

// Cells yields the changed cells of d.
func (ch *Changes) Cells(d *DataviewChange) iter.Seq[CellChange] {
	return func(yield func(CellChange) bool) {
		for _, c := range ch.cells[d.cellsFrom:d.cellsTo] {
			if c.quiet {
				continue
			}
			cc := CellChange{Added: c.added}
			var cell *cellState
			if c.row == nil {
				cc.Headline, cc.Column, cell = true, d.dv.headlines[c.col], &d.dv.head[c.col]
			} else {
				cc.Row, cc.Column, cell = c.row.name, d.dv.columns[c.col], &c.row.cells[c.col]
			}
			cc.Value, cc.Severity, cc.Rule, cc.Changed = cell.value(), cell.sev, cell.ruleName(), cell.changed
			if !yield(cc) {
				return
			}
		}
	}
}

// reset empties ch for the next event, keeping its lists for reuse unless
// one grew past maxKeptCells.
func (ch *Changes) reset() {
	keep := func(n int) bool { return n <= maxKeptCells }
	dvs, cells, removed, removedStates := ch.Dataviews[:0], ch.cells[:0], ch.removedRows[:0], ch.removedRowStates[:0]
	if !keep(cap(dvs)) {
		dvs = nil
	}
	if !keep(cap(cells)) {
		cells = nil
	}
	if !keep(cap(removed)) {
		removed, removedStates = nil, nil
	}
	clear(ch.Dataviews)
	clear(ch.cells)
	clear(ch.removedRows)
	clear(ch.removedRowStates)
	*ch = Changes{probe: ch.probe, Probe: ch.Probe, Dataviews: dvs, cells: cells, removedRows: removed, removedRowStates: removedStates}
}

// begin starts dv's entry; the cell and row helpers add to the last entry
// until end closes it.
func (ch *Changes) begin(dv *Dataview) int {
	ch.Dataviews = append(ch.Dataviews, DataviewChange{dv: dv, cellsFrom: len(ch.cells), removedFrom: len(ch.removedRows)})
	return len(ch.Dataviews) - 1
}

func (ch *Changes) end(i int) {
	d := &ch.Dataviews[i]
	d.cellsTo, d.removedTo = len(ch.cells), len(ch.removedRows)
}

func (ch *Changes) last() *DataviewChange { return &ch.Dataviews[len(ch.Dataviews)-1] }

func (ch *Changes) cell(row *rowState, col int32, added bool) {
	ch.cells = append(ch.cells, cellRef{row: row, col: col, added: added})
}

// rejudge adds a cell to be judged again, unchanged.
func (ch *Changes) rejudge(row *rowState, col int32) {
	ch.cells = append(ch.cells, cellRef{row: row, col: col, quiet: true, rejudge: true})
}

// count adds n cells of severity sev to the current entry's counts.
func (ch *Changes) count(sev rules.Severity, n int) {
	ch.last().counts[sev] += int64(n)
}

// uncount takes s off the current entry's counts.
func (ch *Changes) uncount(s sevCounts) {
	ch.last().counts.sub(&s)
}

func (ch *Changes) addRow(r *rowState) {
	for i := range r.cells {
		ch.cell(r, int32(i), true)
	}
	ch.count(rules.Undefined, len(r.cells))
}

func (ch *Changes) removeRow(r *rowState) {
	r.gone = true
	ch.removedRows = append(ch.removedRows, r.name)
	ch.removedRowStates = append(ch.removedRowStates, r)
	d := ch.last()
	for i := range r.cells {
		d.counts[r.cells[i].sev]--
	}
}

// Tree keys the dashboard sink touches: a node's own state, or a probe's
// whole subtree.
const (
	nodeKeyPrefix    = "n:"
	subtreeKeyPrefix = "p:"
)

// dashboardSink is the Consumer that feeds the dashboard hub: each
// watched dataview's changes as one update, and the tree's changed nodes.
// Each actor has its own: its buffers are reused from event to event.
type dashboardSink struct {
	hub  *dashboard.Hub
	buf  []dashboard.Change
	keys []string
	seen map[string]bool
}

func newDashboardSink(hub *dashboard.Hub) *dashboardSink {
	return &dashboardSink{hub: hub, seen: make(map[string]bool)}
}

func (s *dashboardSink) Consume(ch *Changes) {
	for i := range ch.Dataviews {
		d := &ch.Dataviews[i]
		dv := d.dv
		if d.Declared || d.Removed {
			s.hub.Reset(dv.topic)
			continue
		}
		if !s.hub.Watched(dv.topic) {
			continue
		}
		if d.rejudged && !d.StaleChanged && !changed(ch.cells[d.cellsFrom:d.cellsTo]) {
			continue
		}
		u := dashboard.Update{SampleTime: ms(dv.sampleTime), RemovedRows: ch.RemovedRows(d)}
		if d.StaleChanged {
			stale := dv.staleNow
			u.Stale = &stale
		}
		s.buf = s.buf[:0]
		for _, c := range ch.cells[d.cellsFrom:d.cellsTo] {
			if c.quiet {
				continue
			}
			if c.row == nil {
				s.buf = append(s.buf, dashboard.Change{Headline: true, Column: dv.headlines[c.col], Cell: dashCell(&dv.head[c.col])})
			} else {
				s.buf = append(s.buf, dashboard.Change{Row: c.row.name, Column: dv.columns[c.col], Cell: dashCell(&c.row.cells[c.col])})
			}
		}
		u.Changes = s.buf
		s.hub.Publish(dv.topic, u)
	}
	if cap(s.buf) > maxKeptCells {
		s.buf = nil // a large snapshot's; a tick's fits many times over
	}
	s.touchTree(ch)
}

// changed reports whether any of cells is not quiet.
func changed(cells []cellRef) bool {
	for _, c := range cells {
		if !c.quiet {
			return true
		}
	}
	return false
}

// touchTree tells the tree's watchers which nodes changed.
func (s *dashboardSink) touchTree(ch *Changes) {
	if !s.hub.Watched(treeTopic) {
		return
	}
	if ch.rescoped {
		s.hub.Reset(treeTopic)
		return
	}
	s.keys = s.keys[:0]
	clear(s.seen)
	add := func(k string) {
		if !s.seen[k] {
			s.seen[k] = true
			s.keys = append(s.keys, k)
		}
	}
	if ch.Structure {
		add(subtreeKeyPrefix + ch.probe.path)
	} else if ch.nodes {
		add(nodeKeyPrefix + ch.probe.path)
	}
	for i := range ch.Dataviews {
		d := &ch.Dataviews[i]
		if !d.counts.zero() || d.StaleChanged || d.findings {
			add(nodeKeyPrefix + d.dv.key)
		}
		if !d.counts.zero() {
			sn := d.dv.sampler
			add(nodeKeyPrefix + sn.path)
			add(nodeKeyPrefix + sn.entity.path)
			add(nodeKeyPrefix + sn.entity.probe.path)
		}
	}
	if len(s.keys) > 0 {
		s.hub.Touch(treeTopic, s.keys...)
	}
	if len(s.keys) > maxKeptCells {
		s.keys, s.seen = nil, make(map[string]bool)
	}
}
