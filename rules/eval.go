package rules

import (
	"math"

	"github.com/expr-lang/expr/vm"
	"github.com/watchfloor/watchfloor/rules/calendar"
	"github.com/watchfloor/watchfloor/samplers"
)

// env is what a condition sees. Only the fields its rule reads are
// filled in.
type env struct {
	// Value is the cell's number where it holds one, else its text.
	Value any `expr:"value"`
	// Text is the cell's value as sampled.
	Text string `expr:"text"`
	// Previous is the value before the cell's last change (the value
	// itself if it has not changed since it appeared).
	Previous any `expr:"previous"`
	// Rate is the change per second from Previous to Value, read as a
	// counter: a decrease is a reset, and the rate is Value over the time
	// since. Zero for text, or before a change.
	Rate float64 `expr:"rate"`
	// Age is the seconds since the value last changed.
	Age float64 `expr:"age"`
	// Row holds the cells of the same row by column; Headlines the
	// dataview's headlines by name.
	Row       map[string]any `expr:"row"`
	Headlines map[string]any `expr:"headlines"`
	// Attrs are the entity's attributes.
	Attrs map[string]string `expr:"attrs"`
}

// memoryBudget bounds what one condition's run may allocate.
const memoryBudget = 1 << 16

// CellState is what evaluation keeps for one cell between changes: the
// rules that match it with each one's state (a level pending since when,
// or firing), the value before the cell's last change, and which rule set
// its severity. Its owner (the cell's probe actor) keeps it with the cell,
// keyed by row and column name, so a reconnect that sends the same value
// again keeps it.
type CellState struct {
	rules []ruleState
	uses  uses
	// Rule is the rule whose result is the cell's severity: the most
	// severe, the first by name of equals. Nil when no rule gave one.
	Rule *Rule

	// prev is the value before the last change, kept only for a cell whose
	// rules read previous or rate.
	prev *previous
}

type previous struct {
	value   samplers.Cell
	changed int64 // Unix ns it was set
}

type ruleState struct {
	rule   *Rule
	levels [2]levelState
	// in are the levels the rule judged with last: its own, or a phase's.
	in *[2]*level
}

// levelState is one level's progress on one cell: holding since a time
// (pending until its `for` has passed), firing, and once its condition
// stops, broken since a time (still firing until keep_firing_for has
// passed, and its clear condition holds).
type levelState struct {
	since, broke    int64
	holding, broken bool
	firing          bool
}

// Bind makes rules (in set order, from Evaluator.Match) the rules of the
// cell. A rule it had already keeps its state, so that a rule-set change
// that leaves a rule as it was leaves its pending and firing levels too.
func (cs *CellState) Bind(rules []*Rule) {
	old := cs.rules
	cs.rules = make([]ruleState, len(rules))
	cs.uses = 0
	for i, r := range rules {
		cs.rules[i].rule = r
		cs.uses |= r.uses
		for _, o := range old {
			if o.rule == r {
				cs.rules[i].levels, cs.rules[i].in = o.levels, o.in
				break
			}
		}
	}
	if cs.Rule != nil && !contains(rules, cs.Rule) {
		cs.Rule = nil
	}
}

func contains(rules []*Rule, r *Rule) bool {
	for _, x := range rules {
		if x == r {
			return true
		}
	}
	return false
}

// Len is how many rules match the cell.
func (cs *CellState) Len() int { return len(cs.rules) }

// UsesAge reports whether a rule of the cell reads its age, so the cell is
// judged again whenever its dataview is sampled.
func (cs *CellState) UsesAge() bool { return cs.uses&usesAge != 0 }

// Changing records the value a cell held, with the time it was set, before
// it changes: Previous and Rate are computed from it. A cell none of whose
// rules reads them keeps nothing (its old text is let go), so a rule that
// starts reading them sees the changes from then on.
func (cs *CellState) Changing(old samplers.Cell, changed int64) {
	if cs.uses&(usesPrevious|usesRate) == 0 {
		return
	}
	if cs.prev == nil {
		cs.prev = new(previous)
	}
	*cs.prev = previous{value: old, changed: changed}
}

// Cells are the cells of a row, or a dataview's headlines, by name.
type Cells interface {
	Len() int
	At(i int) (name string, v samplers.Cell)
}

// CellInfo places a cell for matching: its dataview's path and entity's
// attributes, and its row and column (a headline's name for a headline).
type CellInfo struct {
	Path     samplers.DataviewPath
	Attrs    map[string]string
	Headline bool
	Row      string
	Column   string
}

// Input is a cell as it is judged.
type Input struct {
	// Now is the time of the evaluation, Unix ns.
	Now int64
	// Value is the cell's value, and Changed when it was set (Unix ns).
	Value   samplers.Cell
	Changed int64
	// ClockOffset, added to Changed, puts it on Now's clock: a probe's
	// sample times are by the probe's clock, the evaluation's by the
	// gateway's, and age is their difference.
	ClockOffset int64
	// Row holds the cells of its row (nil for a headline), Headlines its
	// dataview's headlines.
	Row, Headlines Cells
	Attrs          map[string]string
	// Calendar says where the entity is in its day, for rules limited to
	// phases or schedules or with levels per phase. Nil: such rules judge
	// as if the entity followed no work cycle and every schedule were
	// active.
	Calendar Calendar
}

// Calendar is where entities are in their day. Each answer comes with
// the instant it next changes (Unix ns; 0: never), so a cell whose rules
// depend on it is judged again at that instant, not polled.
type Calendar interface {
	// Phase is the phase at now of the work cycle the entity with attrs
	// follows; ok is false for one that follows none.
	Phase(attrs map[string]string, now int64) (p calendar.Phase, next int64, ok bool)
	// Active reports whether the named schedule is active at now; ok is
	// false for a schedule it does not know, which the rule then ignores.
	Active(schedule string, now int64) (active bool, next int64, ok bool)
}

// Verdict is the result of judging a cell.
type Verdict struct {
	Severity Severity
	// Rule is the rule whose result Severity is; nil if none gave one.
	Rule *Rule
	// Next, when not zero, is the time (Unix ns) the cell must be judged
	// again, unchanged: for a level pending on `for` to fire or one kept by
	// keep_firing_for to end, or a rule's phase or schedule to change.
	Next int64
	// Pending: a level is pending on its `for`, or kept firing by
	// keep_firing_for.
	Pending bool
}

// Evaluator judges cells. It holds the scratch space evaluation reuses,
// so each goroutine (each probe actor) has its own.
type Evaluator struct {
	// OnError, if set, is called for each condition that fails at run
	// time; the rule's result is then undefined.
	OnError func(r *Rule, err error)
	// Evaluations counts the rules judged; the owner reads and resets it.
	Evaluations uint64

	vm    vm.VM
	env   env
	value samplers.Cell // the cell being judged
	cs    *CellState
	boxed bool // env's value and previous are set
	row   map[string]any
	heads map[string]any
	cand  []int32
	match []*Rule
	segs  [6]seg

	// The phase of the cell's entity and when it changes, looked up once
	// per cell and only for a cell with a rule that reads it.
	phase     calendar.Phase
	phaseNext int64
	inPhase   bool // the entity follows a work cycle
	pending   bool // a level of the cell is pending or kept
	calendar  Calendar
	now       int64
}

// NewEvaluator returns an evaluator.
func NewEvaluator() *Evaluator {
	e := &Evaluator{row: map[string]any{}, heads: map[string]any{}}
	e.vm.MemoryBudget = memoryBudget
	return e
}

// Match returns the cell rules of s that select the cell, in set order.
// The slice is the evaluator's, valid until its next call.
func (e *Evaluator) Match(s *Set, c *CellInfo) []*Rule {
	e.match = e.match[:0]
	if s == nil {
		return e.match
	}
	e.segs = [6]seg{{name: c.Path.Probe}, {name: c.Path.Entity}, {name: c.Path.Sampler}, {name: c.Path.Dataview},
		{name: c.Row, headline: c.Headline}, {name: c.Column}}
	e.cand = s.index[CellRule].candidates(e.cand[:0], e.segs[:])
	for _, i := range e.cand {
		r := s.rules[i]
		if r.pattern.match(e.segs[:]) && r.selects(c.Attrs) {
			e.match = append(e.match, r)
		}
	}
	return e.match
}

// Dataview returns the staleness and absence rules of s that select a
// dataview, in set order.
func (s *Set) Dataview(path samplers.DataviewPath, attrs map[string]string) (stale, absence []*Rule) {
	if s == nil {
		return nil, nil
	}
	segs := []seg{{name: path.Probe}, {name: path.Entity}, {name: path.Sampler}, {name: path.Dataview}}
	for _, k := range []Kind{StaleRule, AbsenceRule} {
		for _, i := range s.index[k].candidates(nil, segs) {
			if r := s.rules[i]; r.pattern.match(segs) && r.selects(attrs) {
				if k == StaleRule {
					stale = append(stale, r)
				} else {
					absence = append(absence, r)
				}
			}
		}
	}
	return stale, absence
}

// Probe returns the probe rules of s that select a probe, in set order.
func (s *Set) Probe(name string) []*Rule {
	if s == nil {
		return nil
	}
	segs := []seg{{name: name}}
	var out []*Rule
	for _, i := range s.index[ProbeRule].candidates(nil, segs) {
		if r := s.rules[i]; r.pattern.match(segs) {
			out = append(out, r)
		}
	}
	return out
}

// Judge evaluates every rule of the cell at in.Now and returns the most
// severe result. A rule whose condition fails at run time gives nothing
// (OnError is told), so a cell whose only rule fails is undefined.
func (e *Evaluator) Judge(cs *CellState, in *Input) Verdict {
	var v Verdict
	if len(cs.rules) == 0 {
		return v
	}
	e.fill(cs, in)
	e.pending = false
	for i := range cs.rules {
		rs := &cs.rules[i]
		e.Evaluations++
		sev, next, ok := e.judgeRule(rs, in.Now)
		if next != 0 && (v.Next == 0 || next < v.Next) {
			v.Next = next
		}
		if !ok {
			continue
		}
		if sev > v.Severity {
			v.Severity, v.Rule = sev, rs.rule
		}
	}
	cs.Rule = v.Rule
	v.Pending = e.pending
	e.cs = nil
	return v
}

// fill sets the inputs the cell's rules read.
func (e *Evaluator) fill(cs *CellState, in *Input) {
	u := cs.uses
	e.env = env{}
	env := &e.env
	// Value and previous are boxed (into any) only when a condition runs
	// on the VM: a comparison of a number needs neither.
	e.value, e.cs, e.boxed = in.Value, cs, false
	env.Text = in.Value.Raw
	if p := cs.prev; u&usesRate != 0 && p != nil && in.Value.IsNum && p.value.IsNum && in.Changed > p.changed {
		d := in.Value.Num - p.value.Num
		if d < 0 {
			d = in.Value.Num // a counter that went back was reset
		}
		env.Rate = d / (float64(in.Changed-p.changed) / 1e9)
	}
	if u&usesAge != 0 {
		env.Age = float64(in.Now-in.Changed-in.ClockOffset) / 1e9
	}
	if u&usesRow != 0 {
		env.Row = fillCells(e.row, in.Row)
	}
	if u&usesHeadlines != 0 {
		env.Headlines = fillCells(e.heads, in.Headlines)
	}
	env.Attrs = in.Attrs
	e.calendar, e.inPhase, e.phaseNext, e.now = nil, false, 0, in.Now
	if u&usesCalendar != 0 && in.Calendar != nil {
		e.calendar = in.Calendar
		e.phase, e.phaseNext, e.inPhase = in.Calendar.Phase(in.Attrs, in.Now)
	}
}

// levelsNow returns the levels rs's rule judges with now, nil when the
// rule is not active now, and when that may change (0: it will not). A
// level that is not the one judged with last starts again.
func (e *Evaluator) levelsNow(rs *ruleState) (*[2]*level, int64) {
	r := rs.rule
	lv, next := &r.levels, int64(0)
	if r.uses&usesCalendar != 0 {
		lv, next = e.calendarLevels(r)
	}
	if lv != rs.in {
		for i := range rs.levels {
			if lv == nil || rs.in == nil || lv[i] != rs.in[i] {
				rs.levels[i] = levelState{}
			}
		}
		rs.in = lv
	}
	return lv, next
}

// calendarLevels is levelsNow for a rule limited to phases or schedules,
// or with levels per phase.
func (e *Evaluator) calendarLevels(r *Rule) (*[2]*level, int64) {
	active, next := r.activeIn(e.calendar, e.phase, e.phaseNext, e.inPhase, e.now)
	switch {
	case !active:
		return nil, next
	case e.inPhase && r.phased[e.phase] != nil:
		return r.phased[e.phase], next
	}
	return &r.levels, next
}

// ActiveAt reports whether the rule judges an entity with attrs at now
// (Unix ns), by its active phases and schedules, and when that may next
// change (0: it will not). A rule without such limits is always active;
// so is one asked with a nil calendar.
func (r *Rule) ActiveAt(c Calendar, attrs map[string]string, now int64) (bool, int64) {
	if r.uses&usesCalendar == 0 || c == nil {
		return true, 0
	}
	p, pnext, in := c.Phase(attrs, now)
	return r.activeIn(c, p, pnext, in, now)
}

// activeIn is ActiveAt for an entity in phase p until pnext (in: it
// follows a work cycle). The next change counts the phase's end when the
// rule's phases or its levels depend on it.
func (r *Rule) activeIn(c Calendar, p calendar.Phase, pnext int64, in bool, now int64) (bool, int64) {
	var next int64
	soonest := func(t int64) {
		if t != 0 && (next == 0 || t < next) {
			next = t
		}
	}
	if in && (r.phases != 0 || r.hasPhased) {
		soonest(pnext)
	}
	active := !in || r.phases == 0 || r.phases&(1<<p) != 0
	if len(r.schedules) > 0 && c != nil {
		known, on := false, false
		for _, name := range r.schedules {
			if a, n, ok := c.Active(name, now); ok {
				known, on = true, on || a
				soonest(n)
			}
		}
		active = active && (on || !known)
	}
	return active, next
}

// box sets value and previous, for a condition run on the VM.
func (e *Evaluator) box() {
	e.boxed = true
	u := e.cs.uses
	if u&(usesValue|usesPrevious) != 0 {
		e.env.Value = valueOf(e.value)
	}
	if u&usesPrevious != 0 {
		e.env.Previous = e.env.Value
		if e.cs.prev != nil {
			e.env.Previous = valueOf(e.cs.prev.value)
		}
	}
}

func valueOf(c samplers.Cell) any {
	if c.IsNum {
		return c.Num
	}
	return c.Raw
}

func fillCells(m map[string]any, cells Cells) map[string]any {
	clear(m)
	if cells == nil {
		return m
	}
	for i := range cells.Len() {
		name, v := cells.At(i)
		m[name] = valueOf(v)
	}
	return m
}

// judgeRule steps the rule's levels and returns its result. ok is false
// when a condition failed, or the rule is not active now.
func (e *Evaluator) judgeRule(rs *ruleState, now int64) (sev Severity, next int64, ok bool) {
	levels, calNext := e.levelsNow(rs)
	if levels == nil {
		return Undefined, calNext, false
	}
	next = calNext
	sev = OK
	for i, l := range levels {
		if l == nil {
			continue
		}
		st := &rs.levels[i]
		n, err := e.step(rs.rule, l, st, now)
		if err != nil {
			for j := range rs.levels {
				rs.levels[j] = levelState{}
			}
			// Judged again when the calendar changes all the same: other
			// levels may hold then.
			return Undefined, calNext, false
		}
		if n != 0 {
			e.pending = true
			if next == 0 || n < next {
				next = n
			}
		}
		if st.firing && l.sev > sev {
			sev = l.sev
		}
	}
	return sev, next, true
}

// step moves one level on at now: pending while its condition holds for
// less than `for`, firing after; once the condition stops, still firing
// until its clear condition holds and keep_firing_for has passed.
func (e *Evaluator) step(r *Rule, l *level, st *levelState, now int64) (next int64, err error) {
	holds, err := e.holds(r, l.when)
	if err != nil {
		return 0, err
	}
	if holds {
		st.broken = false
		if !st.holding {
			st.holding, st.since = true, now
		}
		if !st.firing {
			if now-st.since >= l.for_ {
				st.firing = true
			} else {
				next = addTime(st.since, l.for_)
			}
		}
		return next, nil
	}
	st.holding = false
	if !st.firing {
		return 0, nil
	}
	if l.clear != nil {
		cleared, err := e.holds(r, l.clear)
		if err != nil {
			return 0, err
		}
		if !cleared {
			st.broken = false
			return 0, nil
		}
	}
	if !st.broken {
		st.broken, st.broke = true, now
	}
	if now-st.broke >= l.keep {
		st.firing, st.broken = false, false
		return 0, nil
	}
	return addTime(st.broke, l.keep), nil
}

// addTime returns t+d, or the largest time for a sum past it: a `for` of
// a hundred years must not wrap Verdict.Next into the past.
func addTime(t, d int64) int64 {
	if d > 0 && t > math.MaxInt64-d {
		return math.MaxInt64
	}
	return t + d
}

// holds evaluates c: a numeric cell's value compared with a number
// directly, anything else on the VM.
func (e *Evaluator) holds(r *Rule, c *condition) (bool, error) {
	if c.cmp != nil && e.value.IsNum {
		return c.cmp.holds(e.value.Num), nil
	}
	if !e.boxed {
		e.box()
	}
	out, err := e.vm.Run(c.prog, &e.env)
	if err != nil {
		if e.OnError != nil {
			e.OnError(r, err)
		}
		return false, err
	}
	b, _ := out.(bool)
	return b, nil
}
