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
	run := &caseRun{
		e:     newReplay(s),
		attrs: c.Attrs,
		cells: map[samplers.CellPath]*simCell{},
		views: map[samplers.DataviewPath]*simView{},
	}
	run.e.onError = func(cell *simCell, now int64, r *Rule, err error) {
		at := time.Duration(now - simEpoch)
		if now == math.MaxInt64 {
			// Only samples are judged at the largest time (deadlines
			// there are never met), which stands for theirs past it.
			at = run.at
		}
		run.res.Errors = append(run.res.Errors, EvalError{At: at, Cell: cell.path, Rule: r.Name(), Err: err})
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
		run.e.meetDeadlines(simTime(t))
		start := si
		for si < len(samples) && samples[si].At == t {
			si++
		}
		if si > start {
			run.sample(t, samples[start:si])
		}
		for ; ei < len(expect) && c.Expect[expect[ei]].At == t; ei++ {
			run.compare(expect[ei], c.Expect[expect[ei]])
		}
	}
	return run.res
}

// caseRun is Simulate's state: the replay, and its cells and dataviews by
// path.
type caseRun struct {
	e     *replay
	attrs map[string]string
	cells map[samplers.CellPath]*simCell
	views map[samplers.DataviewPath]*simView
	at    time.Duration // the time of the samples being applied
	res   Result
}

// sample applies the samples of time t, then judges the cells they
// changed and the cells of their dataviews that read their age.
func (run *caseRun) sample(t time.Duration, samples []Sample) {
	now := simTime(t)
	run.at = t
	e := run.e
	e.begin()
	for _, s := range samples {
		v, ok := run.views[s.Cell.DataviewPath]
		if !ok {
			v = newSimView(s.Cell.DataviewPath, run.attrs)
			run.views[s.Cell.DataviewPath] = v
		}
		e.sample(v)
		c, seen := run.cells[s.Cell]
		switch {
		case !seen:
			c = e.add(v, s.Cell, samplers.Text(s.Text), now)
			run.cells[s.Cell] = c
		case c.value.Raw == s.Text:
			continue
		default:
			e.change(c, samplers.Text(s.Text), now)
		}
		e.touch(c)
	}
	e.finish(now)
}

func (run *caseRun) compare(i int, want Expectation) {
	f := Failure{Index: i, Expectation: want}
	if c, ok := run.cells[want.Cell]; ok {
		f.Got, f.Value, f.Sampled = c.verdict.Severity, c.value.Raw, true
		if c.verdict.Rule != nil {
			f.GotRule = c.verdict.Rule.Name()
		}
	}
	if f.Got != want.Severity || want.Rule != "" && f.GotRule != want.Rule {
		run.res.Failures = append(run.res.Failures, f)
	}
}
