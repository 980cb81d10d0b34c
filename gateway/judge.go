package gateway

import (
	"container/heap"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/watchfloor/watchfloor/rules"
	"github.com/watchfloor/watchfloor/samplers"
)

// This file is the actor's part of rule evaluation: after each event, the
// cells it touched are judged by the rules that match them, found through
// the rule set's index; the rules' timers are deadlines in the actor's
// heap; dataview rules (staleness, absence) and probe rules give findings
// of their own. Severities reach the counts and the consumers in the same
// event as the values that caused them.

// cellRules is what the rules keep about one cell. Where to find the cell
// again when its deadline falls due is in the deadline, which only cells
// with one pay for.
type cellRules struct {
	rules.CellState
	queuedAt int64 // Unix ns of its deadline in the heap; 0 if none
	heapIdx  int   // where that deadline is in the heap
	// path is the cell's path, built at its first transition for the
	// incidents (a cell's path never changes): a cell that flaps costs
	// its path once.
	path string
}

// finding is what a dataview or probe rule found: a dataview not sampled,
// a row missing, a probe down.
type finding struct {
	rule   string
	sev    rules.Severity
	row    string // an absence rule's missing row
	reason string
}

// dataviewRules are the staleness and absence rules matching a dataview,
// as of one rule-set version.
type dataviewRules struct {
	version       uint64
	stale, absent []*rules.Rule
}

// evaluate judges what the event changed: every cell in the change list,
// binding the rules of those that appeared; the cells that read their age
// in the dataviews sampled; and the findings of the dataviews touched.
// Severity changes go into the change list's counts, and transitions into
// the gateway's queue. The caller is finish, before anything is counted or
// handed on.
func (a *probeActor) evaluate(now time.Time) {
	if a.set.Len() == 0 && !a.ch.rejudged {
		return
	}
	a.pass++
	t := now.UnixNano()
	cal := a.g.calendars.Load()
	for i := 0; i < len(a.ch.Dataviews); i++ {
		d := &a.ch.Dataviews[i]
		dv := d.dv
		if d.Removed || dv.gone {
			continue
		}
		a.in = judgeInput{dv: dv, now: t, attrs: dv.sampler.entity.attrs, cal: cal}
		from, to := d.cellsFrom, d.cellsTo
		for k := from; k < to; k++ {
			c := &a.ch.cells[k]
			if c.row != nil && c.row.gone {
				continue // removed later in the event: counted out as it was
			}
			cell := cellAt(dv, c.row, c.col)
			if c.added {
				a.bind(dv, c.row, c.col, cell)
			}
			if a.judge(i, dv, c.row, c.col, cell, now) {
				c.quiet = false
			}
		}
		if d.sampled && dv.ages && dv.judged != a.pass {
			dv.judged = a.pass
			a.ageCells(dv) // appended: judged when the loop reaches it
		}
	}
	for i := 0; i < len(a.ch.Dataviews); i++ {
		d := &a.ch.Dataviews[i]
		if dv := d.dv; !d.Removed && !dv.gone && dv.found != a.pass {
			dv.found = a.pass
			a.refreshFindings(dv, t)
		}
	}
	a.removed(now)
	a.g.m.evaluations.Add(int(a.ev.Evaluations))
	a.ev.Evaluations = 0
}

// cellAt returns a cell of dv: row's column col, or headline col.
func cellAt(dv *Dataview, row *rowState, col int32) *cellState {
	if row == nil {
		return &dv.head[col]
	}
	return &row.cells[col]
}

// bind gives a new cell the rules that match it.
func (a *probeActor) bind(dv *Dataview, row *rowState, col int32, cell *cellState) {
	info := a.in.info(row, int(col))
	m := a.ev.Match(a.set, &info)
	if len(m) == 0 {
		cell.rs = nil
		return
	}
	if cell.rs == nil {
		cell.rs = &cellRules{}
	}
	cell.rs.Bind(m)
	if cell.rs.UsesAge() {
		dv.ages = true
	}
}

// judge judges one cell of entry i's dataview and reports whether its
// severity, or the rule that set it, changed. A severity change is counted
// in the entry; either is a transition.
func (a *probeActor) judge(i int, dv *Dataview, row *rowState, col int32, cell *cellState, now time.Time) bool {
	sev := rules.Undefined
	var before, after *rules.Rule
	if rs := cell.rs; rs != nil {
		before = rs.Rule
		v := a.ev.Judge(&rs.CellState, a.in.input(row, cell))
		sev, after = v.Severity, v.Rule
		a.queueCell(dv, row, col, rs, v.Next)
	}
	if sev == cell.sev && before == after {
		return false
	}
	old := cell.sev
	if sev != old {
		cell.sev = sev
		counts := &a.ch.Dataviews[i].counts
		counts[old]--
		counts[sev]++
	}
	a.cellTransition(row, col, cell, old, before, now)
	return true
}

// cellTransition queues a cell's change of severity (from old, set by
// rule before) or rule, if the incidents need it: building a
// transition's path costs more than judging the cell, so cells whose
// rules open no incident skip it.
func (a *probeActor) cellTransition(row *rowState, col int32, cell *cellState, old rules.Severity, before *rules.Rule, now time.Time) {
	a.g.m.transitions.Inc()
	tr := a.g.trans
	var after *rules.Rule
	if cell.rs != nil {
		after = cell.rs.Rule
	}
	if tr.wanted.Load() && (tr.opensIncidents(before) || tr.opensIncidents(after)) {
		info := a.in.info(row, int(col))
		var path string
		if cell.rs != nil {
			path = cell.rs.path
		}
		if path == "" {
			path = info.Path.Cell(info.Row, info.Column).String()
			if cell.rs != nil {
				cell.rs.path = path
			}
		}
		a.g.trans.put(Transition{Path: path, Headline: info.Headline,
			Attrs: info.Attrs, Kind: rules.CellRule, Old: old, New: cell.sev, Rule: cell.ruleName(), Value: cell.raw, Time: now})
	}
}

// removed handles the cells an event took away — rows removed, dataviews
// dropped — and the findings of dataviews dropped: their deadlines leave
// the heap, and each that had a severity is a transition to undefined
// (a finding's, to ok), so that the queue's last word on a path that went
// is not the severity it had. The caller is evaluate.
func (a *probeActor) removed(now time.Time) {
	gone := func(row *rowState, col int32, c *cellState) {
		a.unqueueCell(c.rs)
		if c.sev != rules.Undefined {
			old := c.sev
			c.sev = rules.Undefined // counted out already, as it was
			var before *rules.Rule
			if c.rs != nil {
				before = c.rs.Rule
			}
			a.cellTransition(row, col, c, old, before, now)
			c.sev = old
		}
	}
	for i := range a.ch.Dataviews {
		d := &a.ch.Dataviews[i]
		dv := d.dv
		if d.Removed {
			a.in = judgeInput{dv: dv, attrs: dv.sampler.entity.attrs}
			dv.cells(func(row *rowState, col int, c *cellState) { gone(row, int32(col), c) })
			if fs := dv.findings.Load(); fs != nil {
				a.findingTransitions(*fs, nil, a.findingPath(dv), now)
			}
			continue
		}
		if d.removedTo == d.removedFrom {
			continue
		}
		a.in = judgeInput{dv: dv, attrs: dv.sampler.entity.attrs}
		for _, r := range a.ch.removedRowStates[d.removedFrom:d.removedTo] {
			for col := range r.cells {
				gone(r, int32(col), &r.cells[col])
			}
		}
	}
}

// queueCell sets the deadline of a cell of dv (row's column col, or
// headline col) to next, the time its latest judgement asked to be judged
// again at (0: none).
func (a *probeActor) queueCell(dv *Dataview, row *rowState, col int32, rs *cellRules, next int64) {
	switch {
	case next == 0:
		a.unqueueCell(rs)
	case rs.queuedAt == 0:
		rs.queuedAt = next
		d := deadline{when: time.Unix(0, next), kind: deadlineCell, key: dv.key, rs: rs, col: col}
		if row == nil {
			d.headline, d.column = true, dv.headlines[col]
		} else {
			d.row, d.column = row.name, dv.columns[col]
		}
		a.timers.add(d)
	case next != rs.queuedAt:
		rs.queuedAt = next
		a.timers[rs.heapIdx].when = time.Unix(0, next)
		heap.Fix(&a.timers, rs.heapIdx)
	}
}

// unqueueCell removes the deadline of a cell that went, or lost its rules.
func (a *probeActor) unqueueCell(rs *cellRules) {
	if rs != nil && rs.queuedAt != 0 {
		heap.Remove(&a.timers, rs.heapIdx)
		rs.queuedAt = 0
	}
}

// cellDue handles a cell's deadline: if the cell is still there with the
// same rule state, it is judged again. The caller is inside begin/finish.
func (a *probeActor) cellDue(d deadline) {
	rs := d.rs
	rs.queuedAt = 0
	dv := a.dvs[d.key]
	if dv == nil {
		return
	}
	row, col, ok := locate(dv, &d)
	if !ok || cellAt(dv, row, col).rs != rs {
		return // gone, or a new cell in its place
	}
	i := a.ch.begin(dv)
	a.ch.rejudge(row, col)
	a.ch.end(i)
	a.ch.rejudged = true
}

// locate finds a cell by the names its deadline holds: its row's, and its
// column's, which was at d.col when the deadline was set.
func locate(dv *Dataview, d *deadline) (*rowState, int32, bool) {
	names := dv.columns
	var row *rowState
	if d.headline {
		names = dv.headlines
	} else {
		idx, ok := dv.rowIndex[d.row]
		if !ok {
			return nil, 0, false
		}
		row = dv.rows[idx]
	}
	if int(d.col) < len(names) && names[d.col] == d.column {
		return row, d.col, true
	}
	i := slices.Index(names, d.column)
	if i < 0 {
		return nil, 0, false
	}
	return row, int32(i), true
}

// ageCells adds dv's cells whose rules read their age, to be judged again.
func (a *probeActor) ageCells(dv *Dataview) {
	i := a.ch.begin(dv)
	dv.cells(func(row *rowState, col int, c *cellState) {
		if c.rs != nil && c.rs.UsesAge() {
			a.ch.rejudge(row, int32(col))
		}
	})
	a.ch.end(i)
	a.ch.rejudged = true
}

// rebindAll binds every live cell to the rules of a.set, keeping the
// state of the rules that stayed, and has them judged again: after a new
// rule set, or a configuration that may have changed entity attributes.
// The caller is inside begin/finish.
func (a *probeActor) rebindAll() {
	for _, key := range slices.Sorted(maps.Keys(a.dvs)) {
		dv := a.dvs[key]
		dv.ages = false
		dv.dvRules = dataviewRules{}
		dv.cycle = cycleRef{} // its entity's attributes may have changed
		a.in = judgeInput{dv: dv, attrs: dv.sampler.entity.attrs}
		i := a.ch.begin(dv)
		dv.cells(func(row *rowState, col int, c *cellState) {
			had := c.rs
			a.bind(dv, row, int32(col), c)
			if had != nil && c.rs == nil {
				a.unqueueCell(had)
			}
			if had != nil || c.rs != nil {
				a.ch.rejudge(row, int32(col))
			}
		})
		a.ch.end(i)
	}
	a.ch.rejudged = true
	a.probeRules = nil
	a.probeRulesVersion = 0
	a.refreshProbe(a.ch.Now)
}

// dataviewRulesOf returns the dataview rules matching dv in a.set.
func (a *probeActor) dataviewRulesOf(dv *Dataview) *dataviewRules {
	if v := a.set.Version(); dv.dvRules.version != v {
		stale, absent := a.set.Dataview(dv.path, dv.sampler.entity.attrs)
		dv.dvRules = dataviewRules{version: v, stale: stale, absent: absent}
	}
	return &dv.dvRules
}

// refreshFindings works out what dv's staleness and absence rules find
// at t, and when that may next change by time alone.
func (a *probeActor) refreshFindings(dv *Dataview, t int64) {
	r := a.dataviewRulesOf(dv)
	old := dv.findings.Load()
	if len(r.stale) == 0 && len(r.absent) == 0 && old == nil {
		return
	}
	var fs []finding
	var next int64
	soonest := func(t int64) {
		if t != 0 && (next == 0 || t < next) {
			next = t
		}
	}
	// A rule outside its phases or schedules finds nothing, until then.
	var cal rules.Calendar
	if x := a.g.calendars.Load(); x != nil {
		a.findCal = dataviewCalendar{x: x, dv: dv}
		cal = &a.findCal
	}
	attrs := dv.sampler.entity.attrs
	active := func(rule *rules.Rule) bool {
		on, n := rule.ActiveAt(cal, attrs, t)
		soonest(n)
		return on
	}
	if a.node.connected.Load() && dv.sampledAt != 0 {
		for _, rule := range r.stale {
			if !active(rule) {
				continue
			}
			due := dv.sampledAt + int64(rule.Stale())
			if t >= due {
				fs = append(fs, finding{rule: rule.Name(), sev: rule.Severity(), reason: "not sampled for " + rule.Stale().String()})
			} else if next == 0 || due < next {
				next = due
			}
		}
	}
	for _, rule := range r.absent {
		if !active(rule) {
			// Its rows' absence counts from the rule's start.
			for _, row := range rule.Rows() {
				delete(dv.missing, row)
			}
			continue
		}
		for _, row := range rule.Rows() {
			if _, ok := dv.rowIndex[row]; ok {
				delete(dv.missing, row)
				continue
			}
			since, ok := dv.missing[row]
			if !ok {
				since = t
				if dv.missing == nil {
					dv.missing = make(map[string]int64)
				}
				dv.missing[row] = since
			}
			if due := since + int64(rule.For()); t < due {
				if next == 0 || due < next {
					next = due
				}
				continue
			}
			reason := "row missing"
			if rule.For() > 0 {
				reason = "row missing for " + rule.For().String()
			}
			fs = append(fs, finding{rule: rule.Name(), sev: rule.Severity(), row: row, reason: reason})
		}
	}
	if next != 0 && (dv.findAt == 0 || next < dv.findAt) {
		dv.findAt = next
		a.timers.add(deadline{when: time.Unix(0, next), kind: deadlineFindings, key: dv.key})
	}
	var was []finding
	if old != nil {
		was = *old
	}
	if slices.Equal(was, fs) {
		return
	}
	i := a.ch.begin(dv)
	a.ch.end(i)
	e := &a.ch.Dataviews[i]
	e.findings = true
	countFindings(&e.counts, was, -1)
	countFindings(&e.counts, fs, 1)
	if len(fs) == 0 {
		dv.findings.Store(nil)
	} else {
		dv.findings.Store(&fs)
	}
	a.findingTransitions(was, fs, a.findingPath(dv), time.Unix(0, t))
}

// findingPath says where a finding of dv is: the dataview's path for a
// staleness finding, the missing row's for an absence finding.
func (a *probeActor) findingPath(dv *Dataview) func(finding) (string, rules.Kind) {
	return func(f finding) (string, rules.Kind) {
		if f.row != "" {
			return dv.key + "/" + samplers.EscapeSegment(f.row), rules.AbsenceRule
		}
		return dv.key, rules.StaleRule
	}
}

// findingsDue handles a dataview's findings deadline. The caller is
// inside begin/finish.
func (a *probeActor) findingsDue(d deadline) {
	dv := a.dvs[d.key]
	if dv == nil || dv.findAt != d.when.UnixNano() {
		return
	}
	dv.findAt = 0
	a.refreshFindings(dv, d.when.UnixNano())
}

func countFindings(c *sevCounts, fs []finding, n int64) {
	for _, f := range fs {
		c[f.sev] += n
	}
}

// findingsCounts counts fs by severity.
func findingsCounts(fs *[]finding) sevCounts {
	var c sevCounts
	if fs != nil {
		countFindings(&c, *fs, 1)
	}
	return c
}

// refreshProbe works out what the probe rules find of the probe at now.
// The caller is inside begin/finish.
func (a *probeActor) refreshProbe(now time.Time) {
	if v := a.set.Version(); a.probeRulesVersion != v {
		a.probeRules, a.probeRulesVersion = a.set.Probe(a.name), v
	}
	old := a.node.findings.Load()
	if len(a.probeRules) == 0 && old == nil {
		return
	}
	t := now.UnixNano()
	var fs []finding
	var next int64
	if !a.node.connected.Load() {
		since := a.node.since.Load()
		if since == 0 {
			since = a.started
		}
		for _, rule := range a.probeRules {
			due := since + int64(rule.ProbeDown())
			if t >= due {
				reason := "down"
				if rule.ProbeDown() > 0 {
					reason = "down for " + rule.ProbeDown().String()
				}
				fs = append(fs, finding{rule: rule.Name(), sev: rule.Severity(), reason: reason})
			} else if next == 0 || due < next {
				next = due
			}
		}
	}
	if next != 0 && (a.probeAt == 0 || next < a.probeAt) {
		a.probeAt = next
		a.timers.add(deadline{when: time.Unix(0, next), kind: deadlineProbe})
	}
	var was []finding
	if old != nil {
		was = *old
	}
	if slices.Equal(was, fs) {
		return
	}
	var delta sevCounts
	countFindings(&delta, was, -1)
	countFindings(&delta, fs, 1)
	a.node.counts.add(&delta)
	if len(fs) == 0 {
		a.node.findings.Store(nil)
	} else {
		a.node.findings.Store(&fs)
	}
	a.ch.nodes = true
	a.findingTransitions(was, fs, func(finding) (string, rules.Kind) { return a.node.path, rules.ProbeRule }, now)
}

// probeDue handles the probe rules' deadline. The caller is inside
// begin/finish.
func (a *probeActor) probeDue(d deadline) {
	if a.probeAt != d.when.UnixNano() {
		return
	}
	a.probeAt = 0
	a.refreshProbe(d.when)
}

// findingTransitions counts, and queues, what changed between two lists
// of findings: for each path (where says which a finding is at), a
// transition from the most severe finding there before to the most severe
// now (ok when none), so that a path's transitions say its latest state
// however several rules find things there.
func (a *probeActor) findingTransitions(was, now []finding, where func(finding) (string, rules.Kind), at time.Time) {
	type state struct {
		kind     rules.Kind
		old, new finding // the most severe; sev OK when none
	}
	paths := map[string]*state{}
	var order []string
	note := func(f finding, isNew bool) {
		path, kind := where(f)
		st := paths[path]
		if st == nil {
			st = &state{kind: kind, old: finding{sev: rules.OK}, new: finding{sev: rules.OK}}
			paths[path] = st
			order = append(order, path)
		}
		if cur := &st.old; !isNew && f.sev > cur.sev {
			*cur = f
		}
		if cur := &st.new; isNew && f.sev > cur.sev {
			*cur = f
		}
	}
	for _, f := range was {
		note(f, false)
	}
	for _, f := range now {
		note(f, true)
	}
	for _, path := range order {
		st := paths[path]
		if st.old == st.new {
			continue
		}
		a.g.m.transitions.Inc()
		if a.g.trans.wanted.Load() {
			f := st.new
			if f.sev == rules.OK {
				f = finding{rule: st.old.rule, sev: rules.OK, reason: "no longer: " + st.old.reason}
			}
			a.g.trans.put(Transition{Path: path, Kind: st.kind, Old: st.old.sev, New: f.sev, Rule: f.rule, Value: f.reason, Time: at})
		}
	}
}

// setRules makes set the actor's rule set. The caller binds the cells.
func (a *probeActor) setRules(set *rules.Set) {
	a.set = set
	clear(a.errCounters)
}

// ruleError counts a condition that failed at run time, on the rule's
// counter, looked up once per rule: a rule that fails on every cell of
// an estate fails a great many times.
func (a *probeActor) ruleError(r *rules.Rule, err error) {
	c := a.errCounters[r]
	if c == nil {
		if a.errCounters == nil {
			a.errCounters = make(map[*rules.Rule]*metrics.Counter)
		}
		c = a.g.metrics.GetOrCreateCounter(ruleErrorsMetric(r.Name()))
		a.errCounters[r] = c
	}
	c.Inc()
	a.g.log.Debug("rule condition failed", "probe", a.name, "rule", r.Name(), "err", err)
}

func ruleErrorsMetric(rule string) string {
	return fmt.Sprintf(`watchfloor_rule_evaluation_errors_total{rule=%q}`, rule)
}

// forgetRuleErrors drops the error counters of rules that set does not
// have, so that /metrics does not list every rule there ever was.
func (g *Gateway) forgetRuleErrors(set *rules.Set) {
	keep := make(map[string]bool, set.Len())
	for _, r := range set.Rules() {
		keep[ruleErrorsMetric(r.Name())] = true
	}
	for _, name := range g.metrics.ListMetricNames() {
		if strings.HasPrefix(name, "watchfloor_rule_evaluation_errors_total{") && !keep[name] {
			g.metrics.UnregisterMetric(name)
		}
	}
}
