package rules

import (
	"cmp"
	"math"
	"slices"
	"time"

	"github.com/watchfloor/watchfloor/samplers"
)

// A Case is one unit test of a set's cell rules: the values some cells
// take over time, as samplers would give them, and the severities
// expected of cells at given times. Times are from the start of the case.
type Case struct {
	Name string
	// Attrs are the attributes of the entity of every cell of the case.
	Attrs   map[string]string
	Samples []Sample
	Expect  []Expectation
}

// Sample is one value of a cell at a time, as sampled. A value equal to
// the cell's current one is a sample that changes nothing: the cell's age
// goes on.
type Sample struct {
	At   time.Duration
	Cell samplers.CellPath
	Text string
}

// Expectation is the severity a cell must have at a time; Rule, if not
// empty, names the rule that must have given it.
type Expectation struct {
	At       time.Duration
	Cell     samplers.CellPath
	Severity Severity
	Rule     string
}

// Failure is an expectation the simulation did not meet, with what it
// found instead.
type Failure struct {
	// Index is the expectation's index in Case.Expect.
	Index int
	Expectation
	Got     Severity
	GotRule string // "" when no rule gave Got
	// Value is the cell's text at the time; Sampled is false when the
	// cell had had no sample by then.
	Value   string
	Sampled bool
}

// EvalError is a condition that failed at run time during a simulation;
// the rule's result was then undefined, as in the gateway.
type EvalError struct {
	At   time.Duration
	Cell samplers.CellPath
	Rule string
	Err  error
}

// Result is what Simulate found: the expectations not met, in the order
// of their times, and the conditions that failed while it ran.
type Result struct {
	Failures []Failure
	Errors   []EvalError
}

// simEpoch is the time, Unix ns, a case starts at: any time would do, but
// not zero, which Verdict.Next uses for "none".
var simEpoch = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano()

// simTime returns the Unix ns of t into a case; times past the largest
// are the largest.
func simTime(t time.Duration) int64 {
	if int64(t) > math.MaxInt64-simEpoch {
		return math.MaxInt64
	}
	return simEpoch + int64(t)
}

// Simulate runs a case against the cell rules of s, as the gateway would
// judge its cells, and reports the expectations it did not meet.
//
// Cells are grouped by dataview and row, so that conditions reading row
// and headlines see the cell's siblings. At each time with samples, the
// cells whose values change are judged with their new values; then every
// other cell of each dataview sampled at that time whose rules read its
// age is judged again, as the gateway does on each sample of a dataview.
// A verdict's Next is a deadline at which the cell is judged again,
// unchanged: deadlines due at or before a time are met before that time's
// samples, and before its expectations are compared. Expectations at the
// time of a sample see the sample. A cell no rule matches, or with no
// sample yet, is undefined.
//
// Simulate does no I/O and reads no clock.
func Simulate(s *Set, c *Case) Result {
	sim := &simulation{
		set:   s,
		attrs: c.Attrs,
		eval:  NewEvaluator(),
		cells: map[samplers.CellPath]*simCell{},
		views: map[samplers.DataviewPath]*simView{},
	}
	sim.eval.OnError = func(r *Rule, err error) {
		sim.res.Errors = append(sim.res.Errors, EvalError{At: sim.at, Cell: sim.judging.path, Rule: r.Name(), Err: err})
	}

	samples := slices.Clone(c.Samples)
	slices.SortStableFunc(samples, func(a, b Sample) int { return cmp.Compare(a.At, b.At) })
	expect := make([]int, len(c.Expect))
	for i := range expect {
		expect[i] = i
	}
	slices.SortStableFunc(expect, func(a, b int) int { return cmp.Compare(c.Expect[a].At, c.Expect[b].At) })

	for si, ei := 0, 0; si < len(samples) || ei < len(expect); {
		var t time.Duration
		switch {
		case si == len(samples):
			t = c.Expect[expect[ei]].At
		case ei == len(expect):
			t = samples[si].At
		default:
			t = min(samples[si].At, c.Expect[expect[ei]].At)
		}
		sim.meetDeadlines(t)
		start := si
		for si < len(samples) && samples[si].At == t {
			si++
		}
		if si > start {
			sim.sample(t, samples[start:si])
		}
		for ; ei < len(expect) && c.Expect[expect[ei]].At == t; ei++ {
			sim.compare(expect[ei], c.Expect[expect[ei]])
		}
	}
	return sim.res
}

type simulation struct {
	set   *Set
	attrs map[string]string
	eval  *Evaluator
	cells map[samplers.CellPath]*simCell
	order []*simCell // in the order they appeared, for deadlines due together
	views map[samplers.DataviewPath]*simView
	res   Result

	// at and judging are the time and the cell being judged, for
	// OnError.
	at      time.Duration
	judging *simCell
}

// simView is a dataview: its rows and its headlines, each holding the
// cells that have had a value, in the order they first had one.
type simView struct {
	rows  map[string]*simRow
	heads simRow
	cells []*simCell
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
}

// cell returns the cell at path, made and bound to its rules on its first
// sample.
func (sim *simulation) cell(path samplers.CellPath) *simCell {
	if c, ok := sim.cells[path]; ok {
		return c
	}
	v, ok := sim.views[path.DataviewPath]
	if !ok {
		v = &simView{rows: map[string]*simRow{}}
		sim.views[path.DataviewPath] = v
	}
	c := &simCell{path: path, view: v}
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
	v.cells = append(v.cells, c)
	info := CellInfo{Path: path.DataviewPath, Attrs: sim.attrs, Headline: path.Headline, Row: path.Row, Column: path.Column}
	c.state.Bind(sim.eval.Match(sim.set, &info))
	sim.cells[path] = c
	sim.order = append(sim.order, c)
	return c
}

// sample applies the samples of time t, then judges the cells they
// changed and the cells of their dataviews that read their age.
func (sim *simulation) sample(t time.Duration, samples []Sample) {
	now := simTime(t)
	var changed []*simCell
	var views []*simView
	for _, s := range samples {
		_, seen := sim.cells[s.Cell]
		c := sim.cell(s.Cell)
		if !slices.Contains(views, c.view) {
			views = append(views, c.view)
		}
		if seen && c.value.Raw == s.Text {
			continue
		}
		if seen {
			c.state.Changing(c.value, c.changed)
		}
		c.value, c.changed = samplers.Text(s.Text), now
		if !slices.Contains(changed, c) {
			changed = append(changed, c)
		}
	}
	for _, c := range changed {
		sim.judge(c, t)
	}
	for _, v := range views {
		for _, c := range v.cells {
			if c.state.UsesAge() && !slices.Contains(changed, c) {
				sim.judge(c, t)
			}
		}
	}
}

// meetDeadlines judges again, in the order they fall due, the cells whose
// deadlines are due at or before t, each at its deadline.
func (sim *simulation) meetDeadlines(t time.Duration) {
	until := simTime(t)
	for {
		var next *simCell
		for _, c := range sim.order {
			// The largest time is a deadline past any a case can reach
			// (Judge gives it for a sum past it): never met.
			if d := c.verdict.Next; d != 0 && d != math.MaxInt64 && d <= until && (next == nil || d < next.verdict.Next) {
				next = c
			}
		}
		if next == nil {
			return
		}
		sim.judge(next, time.Duration(next.verdict.Next-simEpoch))
	}
}

func (sim *simulation) judge(c *simCell, t time.Duration) {
	sim.at, sim.judging = t, c
	in := Input{Now: simTime(t), Value: c.value, Changed: c.changed, Headlines: &c.view.heads, Attrs: sim.attrs}
	if c.row != nil {
		in.Row = c.row
	}
	c.verdict = sim.eval.Judge(&c.state, &in)
}

func (sim *simulation) compare(i int, want Expectation) {
	f := Failure{Index: i, Expectation: want}
	if c, ok := sim.cells[want.Cell]; ok {
		f.Got, f.Value, f.Sampled = c.verdict.Severity, c.value.Raw, true
		if c.verdict.Rule != nil {
			f.GotRule = c.verdict.Rule.Name()
		}
	}
	if f.Got != want.Severity || want.Rule != "" && f.GotRule != want.Rule {
		sim.res.Failures = append(sim.res.Failures, f)
	}
}
