package rules

import (
	"cmp"
	"math"
	"slices"

	"github.com/watchfloor/watchfloor/samplers"
)

// staleBits is Prometheus' staleness marker, a NaN no arithmetic makes.
const staleBits = 0x7ff0000000000002

// StaleNaN is the value of a Point at which its cell went: its row was
// removed, its dataview dropped, or its value turned to text. Compare
// with IsStale: it is a NaN, equal to nothing.
var StaleNaN = math.Float64frombits(staleBits)

// IsStale reports whether v is StaleNaN (and not another NaN).
func IsStale(v float64) bool { return math.Float64bits(v) == staleBits }

// Recording is the recorded history of some dataviews, for Backtest.
type Recording struct {
	Dataviews []RecordedView
}

// RecordedView is one dataview's history.
type RecordedView struct {
	Path samplers.DataviewPath
	// Attrs are the attributes of its entity.
	Attrs map[string]string
	// Samples are the times (Unix ns) the dataview was sampled, in
	// increasing order. A cell with no point at a sample still holds its
	// value: its age goes on.
	Samples []int64
	Cells   []RecordedCell
}

// RecordedCell is one cell's history: its changes.
type RecordedCell struct {
	Headline bool
	// Column is the headline's name for a headline; Row is then unused.
	Row, Column string
	// Points are the cell's changes, in increasing order of time: each
	// value holds from its time until the next point's. At a point whose
	// value is StaleNaN the cell went: it is undefined until its next
	// point, at which it is a new cell.
	Points []Point
	// Text, when Points is empty, is a value that held throughout (a
	// text cell, which history does not record): the cell has it from its
	// dataview's first sample or point, and it never changes.
	Text string
}

// Point is a value a cell took at a time (Unix ns).
type Point struct {
	T int64
	V float64
}

// BacktestOptions are the window Backtest reports on, and its limits.
type BacktestOptions struct {
	// From and To (Unix ns) bound the times of the transitions and errors
	// reported, both included. The recording before From is replayed
	// too, for the state it leaves; a zero To reports nothing after 1970.
	From, To int64
	// MaxTransitions bounds the transitions kept, and the errors: past it
	// they are counted only. 0 (or less) is 10000.
	MaxTransitions int
}

// defaultMaxTransitions is BacktestOptions.MaxTransitions when it is 0.
const defaultMaxTransitions = 10000

// BacktestResult is what Backtest found in its window.
type BacktestResult struct {
	// Transitions are the cells' changes of severity or rule, in the
	// order of their times and, at one time, in the order the gateway
	// makes them. At most MaxTransitions; Total counts them all.
	Transitions []BacktestTransition
	Total       int
	// Opened counts the transitions from below Warning to Warning or
	// worse, each of which would open an incident; Critical those from
	// below Critical to Critical. Both count past MaxTransitions.
	Opened, Critical int
	// Errors are the conditions that failed at run time, at most
	// MaxTransitions; TotalErrors counts them all.
	Errors      []BacktestError
	TotalErrors int
}

// BacktestTransition is a cell's change of severity, or of the rule that
// set it.
type BacktestTransition struct {
	Cell samplers.CellPath
	Time int64 // Unix ns
	Old  Severity
	New  Severity
	// Rule is the rule that set New, "" if none did; for a cell that went
	// (New undefined, as the gateway reports it), the rule that set Old.
	Rule string
	// Value is the cell's text at the time; for a cell that went, its
	// last.
	Value string
}

// BacktestError is a condition that failed at run time during a
// backtest; the rule's result was then undefined, as in the gateway.
type BacktestError struct {
	Cell samplers.CellPath
	Time int64 // Unix ns
	Rule string
	Err  error
}

// Backtest replays a recording through the cell rules of s, as the
// gateway would have judged its cells live, and reports the transitions
// they would have made in the window of opts.
//
// The recording's times are the probe's sample times, and cells are
// judged at them (Input.Now is the sample's time, with no clock offset).
// At each time, deadlines due by then are met first, each at its own
// time, in the order they fall due (of equals, the cell that appeared
// first). Then the points of that time of every dataview are applied —
// a point's time is a sample of its dataview whether or not Samples has
// it — and judged as one event of the gateway: in each dataview in
// recording order, the cells that appeared, then the changed cells of
// rows, then the changed headlines (each in recording order); then the
// cells whose rules read their age of every dataview sampled; then, for
// each cell that went and had a severity, a transition to undefined.
// After the last time up to To, the deadlines up to To are met.
//
// A numeric value is the cell samplers.Number(v, -1) gives, the shortest
// text that reads back as v; a recorded cell whose live text had other
// digits ("1.50") is seen by text as that ("1.5"). Every point is a
// change, even of a value equal to the one before (its live text
// changed): it moves previous and starts the age again.
//
// Samples and points out of order are replayed in order. rec is only
// read. Backtest does no I/O and reads no clock.
func Backtest(s *Set, rec *Recording, opts BacktestOptions) BacktestResult {
	bt := &backtest{e: newReplay(s), from: opts.From, to: opts.To, limit: opts.MaxTransitions}
	if bt.limit <= 0 {
		bt.limit = defaultMaxTransitions
	}
	bt.e.onJudged = bt.judged
	bt.e.onError = bt.failed
	if rec != nil {
		bt.load(rec)
	}
	bt.run()
	return bt.res
}

// backtest is Backtest's state: the replay, the recording's series and
// where it is in each.
type backtest struct {
	e        *replay
	from, to int64
	limit    int
	views    []btView
	cur      cursors
	res      BacktestResult

	// For one event: the cells changed in the dataview being applied, of
	// rows and of headlines; the cells that went.
	rows, heads, gone []*simCell
}

// btView is a recorded dataview as Backtest replays it.
type btView struct {
	rec     *RecordedView
	sv      *simView
	samples []int64   // rec.Samples, sorted
	points  [][]Point // each cell's points, sorted
	cells   []*simCell
}

// load sets up the replay of rec: its dataviews, and a cursor on each
// series.
func (bt *backtest) load(rec *Recording) {
	bt.views = make([]btView, len(rec.Dataviews))
	for vi := range rec.Dataviews {
		r := &rec.Dataviews[vi]
		v := &bt.views[vi]
		*v = btView{rec: r, sv: newSimView(r.Path, r.Attrs), samples: r.Samples,
			points: make([][]Point, len(r.Cells)), cells: make([]*simCell, len(r.Cells))}
		if !slices.IsSorted(v.samples) {
			v.samples = slices.Sorted(slices.Values(v.samples))
		}
		start, started := int64(0), false
		if len(v.samples) > 0 {
			start, started = v.samples[0], true
			bt.cur = append(bt.cur, cursor{t: start, view: int32(vi), cell: -1})
		}
		byTime := func(a, b Point) int { return cmp.Compare(a.T, b.T) }
		for ci := range r.Cells {
			ps := r.Cells[ci].Points
			if !slices.IsSortedFunc(ps, byTime) {
				ps = slices.Clone(ps)
				slices.SortStableFunc(ps, byTime)
			}
			v.points[ci] = ps
			if len(ps) > 0 {
				if !started || ps[0].T < start {
					start, started = ps[0].T, true
				}
				bt.cur = append(bt.cur, cursor{t: ps[0].T, view: int32(vi), cell: int32(ci)})
			}
		}
		for ci := range r.Cells {
			if len(v.points[ci]) == 0 && started {
				bt.cur = append(bt.cur, cursor{t: start, view: int32(vi), cell: int32(ci), text: true})
			}
		}
	}
	// Sorted, the cursors are a heap.
	slices.SortFunc(bt.cur, func(a, b cursor) int {
		switch {
		case a.before(&b):
			return -1
		case b.before(&a):
			return 1
		}
		return 0
	})
}

// run replays the recording up to bt.to.
func (bt *backtest) run() {
	e := bt.e
	for len(bt.cur) > 0 && bt.cur[0].t <= bt.to {
		t := bt.cur[0].t
		e.meetDeadlines(t)
		e.begin()
		clear(bt.gone)
		bt.gone = bt.gone[:0]
		for len(bt.cur) > 0 && bt.cur[0].t == t {
			bt.apply(bt.cur[0].view, t)
		}
		e.finish(t)
		for _, c := range bt.gone {
			bt.transition(c, t, c.verdict.Severity, Undefined, c.state.Rule)
		}
	}
	e.meetDeadlines(bt.to)
}

// apply applies what the dataview vi has at t, the time of the cursor on
// top: its cells that appear, change and go.
func (bt *backtest) apply(vi int32, t int64) {
	e := bt.e
	v := &bt.views[vi]
	e.sample(v.sv)
	clear(bt.rows)
	clear(bt.heads)
	bt.rows, bt.heads = bt.rows[:0], bt.heads[:0]
	for len(bt.cur) > 0 && bt.cur[0].t == t && bt.cur[0].view == vi {
		cur := &bt.cur[0]
		ci := cur.cell
		switch {
		case ci < 0:
			cur.k++
			if int(cur.k) < len(v.samples) {
				cur.t = v.samples[cur.k]
				bt.cur.down()
			} else {
				bt.cur.pop()
			}
			continue
		case cur.text:
			v.cells[ci] = bt.add(v, ci, samplers.Text(v.rec.Cells[ci].Text), t)
			bt.cur.pop()
			continue
		}
		p := v.points[ci][cur.k]
		cur.k++
		if int(cur.k) < len(v.points[ci]) {
			cur.t = v.points[ci][cur.k].T
			bt.cur.down()
		} else {
			bt.cur.pop()
		}
		c := v.cells[ci]
		switch {
		case IsStale(p.V):
			if c != nil {
				e.remove(c)
				v.cells[ci] = nil
				if c.verdict.Severity != Undefined {
					bt.gone = append(bt.gone, c)
				}
			}
		case c == nil:
			v.cells[ci] = bt.add(v, ci, samplers.Number(p.V, -1), t)
		default:
			e.change(c, samplers.Number(p.V, -1), t)
			if c.path.Headline {
				bt.heads = append(bt.heads, c)
			} else {
				bt.rows = append(bt.rows, c)
			}
		}
	}
	for _, c := range bt.rows {
		e.touch(c)
	}
	for _, c := range bt.heads {
		e.touch(c)
	}
}

// add makes cell ci of v, holding value from t, to be judged first in the
// event.
func (bt *backtest) add(v *btView, ci int32, value samplers.Cell, t int64) *simCell {
	rc := &v.rec.Cells[ci]
	path := v.rec.Path.Cell(rc.Row, rc.Column)
	if rc.Headline {
		path = v.rec.Path.HeadlineCell(rc.Column)
	}
	c := bt.e.add(v.sv, path, value, t)
	bt.e.touch(c)
	return c
}

// judged reports a judgement that changed a cell's severity or rule, as
// the gateway does.
func (bt *backtest) judged(c *simCell, now int64, old Severity, oldRule *Rule) {
	if c.verdict.Severity != old || c.verdict.Rule != oldRule {
		bt.transition(c, now, old, c.verdict.Severity, c.verdict.Rule)
	}
}

// transition counts, and keeps within the limit, a transition in the
// window.
func (bt *backtest) transition(c *simCell, now int64, old, sev Severity, rule *Rule) {
	if now < bt.from || now > bt.to {
		return
	}
	bt.res.Total++
	if old < Warning && sev >= Warning {
		bt.res.Opened++
	}
	if old < Critical && sev == Critical {
		bt.res.Critical++
	}
	if len(bt.res.Transitions) >= bt.limit {
		return
	}
	tr := BacktestTransition{Cell: c.path, Time: now, Old: old, New: sev, Value: c.value.Raw}
	if rule != nil {
		tr.Rule = rule.Name()
	}
	bt.res.Transitions = append(bt.res.Transitions, tr)
}

func (bt *backtest) failed(c *simCell, now int64, r *Rule, err error) {
	if now < bt.from || now > bt.to {
		return
	}
	bt.res.TotalErrors++
	if len(bt.res.Errors) < bt.limit {
		bt.res.Errors = append(bt.res.Errors, BacktestError{Cell: c.path, Time: now, Rule: r.Name(), Err: err})
	}
}

// A cursor is where the replay is in one series of a dataview: its
// sample times (cell -1), a cell's points, or a text cell's one value.
type cursor struct {
	t    int64 // the time of its next entry
	view int32
	cell int32
	k    int32 // the index of its next entry
	text bool
}

// before orders cursors by time, then dataview, then cell: an event's
// dataviews, and their cells, are applied in recording order.
func (c *cursor) before(d *cursor) bool {
	if c.t != d.t {
		return c.t < d.t
	}
	if c.view != d.view {
		return c.view < d.view
	}
	return c.cell < d.cell
}

// cursors is a heap of cursors, the next to apply on top. Only the top
// moves: it is advanced (down) or done (pop).
type cursors []cursor

// down moves the top cursor to its place, its time having advanced.
func (h cursors) down() {
	i := 0
	for {
		j := 2*i + 1
		if j >= len(h) {
			return
		}
		if r := j + 1; r < len(h) && h[r].before(&h[j]) {
			j = r
		}
		if !h[j].before(&h[i]) {
			return
		}
		h[i], h[j] = h[j], h[i]
		i = j
	}
}

// pop drops the top cursor.
func (h *cursors) pop() {
	old := *h
	n := len(old) - 1
	old[0] = old[n]
	*h = old[:n]
	h.down()
}
