package rules

import (
	"cmp"
	"container/heap"
	"math"
	"slices"

	"github.com/watchfloor/watchfloor/samplers"
)

// replay is the engine Simulate and Backtest share: it judges cells
// through their history as the gateway's probe actor judges them live.
// Cells are grouped by dataview and row, so that conditions reading row
// and headlines see a cell's siblings; each is bound to its rules when it
// first has a value. An event (the samples of one time) judges the cells
// it changed, then the cells of the dataviews it sampled whose rules read
// their age; a verdict's Next is a deadline at which the cell is judged
// again, unchanged. Times are Unix ns.
type replay struct {
	set  *Set
	eval *Evaluator
	in   Input
	made int      // cells made so far
	due  dueCells // cells with a deadline

	// pass numbers events: a cell or a view marked with the current one
	// is already in changed or sampled.
	pass    uint64
	changed []*simCell
	sampled []*simView

	// now and judging are the time and the cell being judged, for
	// onError.
	now     int64
	judging *simCell
	// onError is told of each condition that fails at run time; the
	// caller sets it.
	onError func(c *simCell, now int64, r *Rule, err error)
	// onJudged, if set, is told of each judgement, with the severity and
	// the rule the cell had before it.
	onJudged func(c *simCell, now int64, old Severity, oldRule *Rule)
}

func newReplay(s *Set) *replay {
	e := &replay{set: s, eval: NewEvaluator()}
	e.eval.OnError = func(r *Rule, err error) { e.onError(e.judging, e.now, r, err) }
	return e
}

// simView is a dataview: its rows and its headlines, each holding its
// live cells in the order they appeared, and its cells whose rules read
// their age, in the same order.
type simView struct {
	path  samplers.DataviewPath
	attrs map[string]string
	rows  map[string]*simRow
	heads simRow
	ages  []*simCell
	pass  uint64
}

func newSimView(path samplers.DataviewPath, attrs map[string]string) *simView {
	return &simView{path: path, attrs: attrs, rows: map[string]*simRow{}}
}

type simRow struct{ cells []*simCell }

var _ Cells = (*simRow)(nil)

func (r *simRow) Len() int { return len(r.cells) }

func (r *simRow) At(i int) (string, samplers.Cell) {
	c := r.cells[i]
	return c.path.Column, c.value
}

type simCell struct {
	path    samplers.CellPath
	view    *simView
	row     *simRow // nil for a headline
	state   CellState
	value   samplers.Cell
	changed int64 // Unix ns
	verdict Verdict
	gone    bool

	seq    int    // the order it was made in, for deadlines due together
	dueAt  int64  // its deadline in e.due, Unix ns
	dueIdx int    // where it is in e.due; -1 if it is not there
	pass   uint64 // the event that last changed it
}

// add makes a cell of v, at path, holding value since now, and binds it
// to its rules.
func (e *replay) add(v *simView, path samplers.CellPath, value samplers.Cell, now int64) *simCell {
	c := &simCell{path: path, view: v, value: value, changed: now, seq: e.made, dueIdx: -1}
	e.made++
	if path.Headline {
		v.heads.cells = append(v.heads.cells, c)
	} else {
		r, ok := v.rows[path.Row]
		if !ok {
			r = &simRow{}
			v.rows[path.Row] = r
		}
		r.cells = append(r.cells, c)
		c.row = r
	}
	info := CellInfo{Path: v.path, Attrs: v.attrs, Headline: path.Headline, Row: path.Row, Column: path.Column}
	c.state.Bind(e.eval.Match(e.set, &info))
	if c.state.UsesAge() {
		v.ages = append(v.ages, c)
	}
	return c
}

// change gives c a new value, set at now; its rules keep the old one.
func (e *replay) change(c *simCell, value samplers.Cell, now int64) {
	c.state.Changing(c.value, c.changed)
	c.value, c.changed = value, now
}

// remove takes c out of its dataview: it is not judged again, and its
// siblings no longer see it.
func (e *replay) remove(c *simCell) {
	c.gone = true
	e.unqueue(c)
	cells := &c.view.heads.cells
	if c.row != nil {
		cells = &c.row.cells
	}
	*cells = slices.DeleteFunc(*cells, func(x *simCell) bool { return x == c })
	if c.state.UsesAge() {
		c.view.ages = slices.DeleteFunc(c.view.ages, func(x *simCell) bool { return x == c })
	}
}

// begin starts an event.
func (e *replay) begin() {
	e.pass++
	clear(e.changed)
	clear(e.sampled)
	e.changed, e.sampled = e.changed[:0], e.sampled[:0]
}

// touch records that the event changed c (or made it).
func (e *replay) touch(c *simCell) {
	if c.pass != e.pass {
		c.pass = e.pass
		e.changed = append(e.changed, c)
	}
}

// sample records that the event sampled v.
func (e *replay) sample(v *simView) {
	if v.pass != e.pass {
		v.pass = e.pass
		e.sampled = append(e.sampled, v)
	}
}

// finish judges, at now, the cells the event changed, in the order they
// were touched, then the cells of the dataviews it sampled that read
// their age and that it did not change.
func (e *replay) finish(now int64) {
	for _, c := range e.changed {
		if !c.gone {
			e.judge(c, now)
		}
	}
	for _, v := range e.sampled {
		for _, c := range v.ages {
			if c.pass != e.pass {
				e.judge(c, now)
			}
		}
	}
}

// meetDeadlines judges again, in the order they fall due, the cells whose
// deadlines are due at or before until, each at its deadline. Of
// deadlines due together, the cell made first is judged first.
func (e *replay) meetDeadlines(until int64) {
	for len(e.due) > 0 && e.due[0].dueAt <= until {
		c := e.due[0]
		e.judge(c, c.dueAt)
	}
}

func (e *replay) judge(c *simCell, now int64) {
	e.now, e.judging = now, c
	v := c.view
	e.in = Input{Now: now, Value: c.value, Changed: c.changed, Headlines: &v.heads, Attrs: v.attrs}
	if c.row != nil {
		e.in.Row = c.row
	}
	old, oldRule := c.verdict.Severity, c.state.Rule
	c.verdict = e.eval.Judge(&c.state, &e.in)
	e.queue(c)
	if e.onJudged != nil {
		e.onJudged(c, now, old, oldRule)
	}
}

// queue puts c's deadline in e.due, or takes it out if it has none. The
// largest time is a deadline past any history can reach (Judge gives it
// for a sum past it): never met, so never queued.
func (e *replay) queue(c *simCell) {
	next := c.verdict.Next
	switch {
	case next == 0 || next == math.MaxInt64:
		e.unqueue(c)
	case c.dueIdx < 0:
		c.dueAt = next
		heap.Push(&e.due, c)
	case next != c.dueAt:
		c.dueAt = next
		heap.Fix(&e.due, c.dueIdx)
	}
}

func (e *replay) unqueue(c *simCell) {
	if c.dueIdx >= 0 {
		heap.Remove(&e.due, c.dueIdx)
	}
}

// dueCells is a heap of cells by deadline, then by the order they were
// made in.
type dueCells []*simCell

func (d dueCells) Len() int { return len(d) }

func (d dueCells) Less(i, j int) bool {
	return cmp.Or(cmp.Compare(d[i].dueAt, d[j].dueAt), cmp.Compare(d[i].seq, d[j].seq)) < 0
}

func (d dueCells) Swap(i, j int) {
	d[i], d[j] = d[j], d[i]
	d[i].dueIdx, d[j].dueIdx = i, j
}

func (d *dueCells) Push(x any) {
	c := x.(*simCell)
	c.dueIdx = len(*d)
	*d = append(*d, c)
}

func (d *dueCells) Pop() any {
	old := *d
	c := old[len(old)-1]
	old[len(old)-1] = nil
	*d = old[:len(old)-1]
	c.dueIdx = -1
	return c
}
