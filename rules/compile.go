package rules

import (
	"errors"
	"fmt"
	"maps"
	"reflect"
	"regexp"
	"regexp/syntax"
	"slices"
	"strings"
	"text/template"
	"time"
	"unicode/utf8"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/conf"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/parser"
	"github.com/watchfloor/watchfloor/rules/calendar"
)

// Limits on what a rule may hold, so that no definition can make the
// gateway slow to compile or evaluate it. Go's regular expressions run in
// time linear in their input, times the size of their program.
const (
	maxName       = 128
	maxExpression = 2048
	maxNodes      = 256
	maxRows       = 1024
	maxValues     = 256
	// maxRegexp bounds the program a regular expression compiles to, as
	// its matching time is the text's length times the program's: about
	// what a literal as long as a condition compiles to.
	maxRegexp = 2048
)

var namePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*$`)

// Rule is a compiled rule. It is immutable and shared by every rule-set
// version it is unchanged in, so that what a cell remembers about it (a
// pending `for`, a firing level) carries over an edit of another rule.
type Rule struct {
	def      Def
	kind     Kind
	pattern  *Pattern
	where    []attrSel
	levels   [2]*level // critical, warning
	stale    time.Duration
	down     time.Duration
	uses     uses
	severity Severity

	// phases has a bit per calendar.Phase the rule judges in; 0 is every
	// phase. schedules are those of which one must be active.
	phases    uint8
	schedules []string
	// phased are the levels in each phase that has its own, nil where
	// the rule's levels hold. A level written as the rule's own is the
	// rule's level, so its state carries across the phase change.
	phased    [calendar.Phases]*[2]*level
	hasPhased bool
}

type attrSel struct {
	name   string
	values []string
}

type level struct {
	sev   Severity
	when  *condition
	clear *condition
	for_  int64 // ns
	keep  int64 // ns
	uses  uses  // what its conditions read
}

// uses records which of a condition's inputs a rule reads, so that
// evaluation fills in only those.
type uses uint16

const (
	usesValue uses = 1 << iota
	usesText
	usesPrevious
	usesRate
	usesAge
	usesRow
	usesHeadlines
	usesAttrs
	// usesCalendar: the rule is limited to phases or schedules, or has
	// levels per phase, so its cells are judged again when they change.
	usesCalendar
)

var identUses = map[string]uses{
	"value": usesValue, "text": usesText, "previous": usesPrevious, "rate": usesRate,
	"age": usesAge, "row": usesRow, "headlines": usesHeadlines, "attrs": usesAttrs,
}

// Name is the rule's name, unique in its set.
func (r *Rule) Name() string { return r.def.Name }

// Kind is what the rule judges.
func (r *Rule) Kind() Kind { return r.kind }

// Def returns the definition the rule was compiled from, a copy the
// caller may change.
func (r *Rule) Def() Def { return cloneDef(&r.def) }

// cloneDef copies d with nothing shared, so that a Rule's definition (and
// the selectors made from it) cannot change under it: Compile compares it
// with the next definition to decide whether the rule is unchanged.
func cloneDef(d *Def) Def {
	c := *d
	if d.Where != nil {
		c.Where = make(map[string]Values, len(d.Where))
		for k, v := range d.Where {
			c.Where[k] = slices.Clone(v)
		}
	}
	c.Rows = slices.Clone(d.Rows)
	if d.Critical != nil {
		l := *d.Critical
		c.Critical = &l
	}
	if d.Warning != nil {
		l := *d.Warning
		c.Warning = &l
	}
	if d.Stale != nil {
		v := *d.Stale
		c.Stale = &v
	}
	if d.ProbeDown != nil {
		v := *d.ProbeDown
		c.ProbeDown = &v
	}
	if d.Incident != nil {
		v := *d.Incident
		v.Notify = slices.Clone(d.Incident.Notify)
		c.Incident = &v
	}
	if d.Active != nil {
		c.Active = &ActiveDef{Phases: slices.Clone(d.Active.Phases), Schedules: slices.Clone(d.Active.Schedules)}
	}
	if d.Phases != nil {
		c.Phases = make(map[string]*PhaseLevels, len(d.Phases))
		for k, pl := range d.Phases {
			if pl == nil {
				c.Phases[k] = nil
				continue
			}
			v := PhaseLevels{}
			if pl.Critical != nil {
				l := *pl.Critical
				v.Critical = &l
			}
			if pl.Warning != nil {
				l := *pl.Warning
				v.Warning = &l
			}
			c.Phases[k] = &v
		}
	}
	return c
}

// Incident returns what the rule says about incidents, nil if it opens
// none. The caller must not change it.
func (r *Rule) Incident() *IncidentDef { return r.def.Incident }

// Severity is what a staleness, absence or probe rule gives.
func (r *Rule) Severity() Severity { return r.severity }

// Stale is a staleness rule's duration.
func (r *Rule) Stale() time.Duration { return r.stale }

// ProbeDown is a probe rule's duration.
func (r *Rule) ProbeDown() time.Duration { return r.down }

// For is how long an absence rule's row must be missing before it counts.
func (r *Rule) For() time.Duration { return time.Duration(r.def.For) }

// Rows are an absence rule's expected rows. The slice is the rule's: do
// not change it.
func (r *Rule) Rows() []string { return r.def.Rows }

// UsesAge reports whether a cell rule's conditions read the cell's age,
// which changes with time alone: such a cell is judged again whenever its
// dataview is sampled.
func (r *Rule) UsesAge() bool { return r.uses&usesAge != 0 }

// selects reports whether attrs pass the rule's attribute selectors.
func (r *Rule) selects(attrs map[string]string) bool {
	for _, w := range r.where {
		v, ok := attrs[w.name]
		if !ok || !slices.Contains(w.values, v) {
			return false
		}
	}
	return true
}

// Set is one version of the rule set: compiled rules, sorted by name, and
// the index that finds the rules that can match a path. A Set is
// immutable and safe for concurrent use.
type Set struct {
	version uint64
	rules   []*Rule
	byName  map[string]int
	index   [ProbeRule + 1]index
}

// index finds, for a path, the rules whose patterns may match it without
// trying every rule: each pattern is filed under one of its literal
// segments (indexKey), and only rules filed under the path's segments, and
// those with no literal at all, are tried.
type index struct {
	keyed    map[key][]int32
	unkeyed  []int32
	maxStart int // the largest position a pattern is filed under, from the start
	maxEnd   int // and from the end
}

// Version is the set's version, one more than the set it was compiled
// after.
func (s *Set) Version() uint64 {
	if s == nil {
		return 0
	}
	return s.version
}

// Rules returns the rules, sorted by name.
func (s *Set) Rules() []*Rule {
	if s == nil {
		return nil
	}
	return s.rules
}

// Rule returns the rule with the given name.
func (s *Set) Rule(name string) (*Rule, bool) {
	if s == nil {
		return nil, false
	}
	i, ok := s.byName[name]
	if !ok {
		return nil, false
	}
	return s.rules[i], true
}

// Len is the number of rules.
func (s *Set) Len() int {
	if s == nil {
		return 0
	}
	return len(s.rules)
}

// Compile checks defs and compiles them into the set that follows prev
// (nil for the first). A rule whose definition is the same as in prev is
// prev's Rule, unchanged. On failure it returns every problem found.
func Compile(defs []Def, prev *Set) (*Set, Errors) {
	var errs Errors
	s := &Set{version: prev.Version() + 1, byName: make(map[string]int, len(defs))}
	seen := make(map[string]int, len(defs))
	for i := range defs {
		d := &defs[i]
		if j, dup := seen[d.Name]; dup && d.Name != "" {
			errs = append(errs, &Error{Rule: i, Name: d.Name, Field: "name", Msg: fmt.Sprintf("the name is already taken by rule %d", j+1)})
			continue
		}
		seen[d.Name] = i
		if old, ok := prev.Rule(d.Name); ok && reflect.DeepEqual(old.def, *d) {
			s.rules = append(s.rules, old)
			continue
		}
		r, rerrs := compileRule(d)
		for _, e := range rerrs {
			e.Rule, e.Name = i, d.Name
		}
		errs = append(errs, rerrs...)
		if r != nil {
			s.rules = append(s.rules, r)
		}
	}
	if len(errs) > 0 {
		return nil, errs
	}
	slices.SortFunc(s.rules, func(a, b *Rule) int { return strings.Compare(a.def.Name, b.def.Name) })
	for i, r := range s.rules {
		s.byName[r.def.Name] = i
	}
	s.buildIndex()
	return s, nil
}

// CompileOne checks one definition on its own, as the API does before it
// stores a rule.
func CompileOne(d Def) (*Rule, Errors) {
	r, errs := compileRule(&d)
	for _, e := range errs {
		e.Name = d.Name
	}
	return r, errs
}

// buildIndex files each rule under the literal segment of its pattern
// that the fewest rules of its kind share: a set whose rules all name the
// same sampler and differ in the dataview is filed by dataview, so a cell
// finds the few rules of its own dataview rather than all of them.
func (s *Set) buildIndex() {
	keys := make([][]key, len(s.rules))
	shared := make(map[key]int)
	for i, r := range s.rules {
		keys[i] = r.pattern.indexKeys()
		for _, k := range keys[i] {
			k.kind = r.kind
			shared[k]++
		}
	}
	for i, r := range s.rules {
		best, ok := key{}, false
		for _, k := range keys[i] {
			k.kind = r.kind
			if !ok || shared[k] < shared[best] {
				best, ok = k, true
			}
		}
		best.kind = 0
		s.index[r.kind].add(best, ok, int32(i))
	}
}

func (x *index) add(k key, ok bool, i int32) {
	if !ok {
		x.unkeyed = append(x.unkeyed, i)
		return
	}
	if x.keyed == nil {
		x.keyed = make(map[key][]int32)
	}
	x.keyed[k] = append(x.keyed[k], i)
	if k.fromEnd {
		x.maxEnd = max(x.maxEnd, k.pos+1)
	} else {
		x.maxStart = max(x.maxStart, k.pos+1)
	}
}

// candidates appends to dst the indexes of the rules filed under segs'
// names, and those filed under none, in rule order.
func (x *index) candidates(dst []int32, segs []seg) []int32 {
	dst = append(dst, x.unkeyed...)
	if x.keyed != nil {
		for i := 0; i < min(len(segs), x.maxStart); i++ {
			if !segs[i].headline {
				dst = append(dst, x.keyed[key{pos: i, name: segs[i].name}]...)
			}
		}
		for i := 0; i < min(len(segs), x.maxEnd); i++ {
			if s := segs[len(segs)-1-i]; !s.headline {
				dst = append(dst, x.keyed[key{pos: i, fromEnd: true, name: s.name}]...)
			}
		}
	}
	slices.Sort(dst)
	return dst
}

// compileRule compiles one definition, or returns its problems (their
// Rule and Name left for the caller).
func compileRule(d *Def) (*Rule, Errors) {
	var errs Errors
	fail := func(field string, format string, args ...any) {
		errs = append(errs, &Error{Field: field, Msg: fmt.Sprintf(format, args...)})
	}
	switch {
	case d.Name == "":
		fail("name", "a rule needs a name")
	case len(d.Name) > maxName:
		fail("name", "the name is %d bytes long, over the limit of %d", len(d.Name), maxName)
	case !namePattern.MatchString(d.Name):
		fail("name", "%q: a name is letters, digits, '.', '_' and '-', starting with a letter or digit", d.Name)
	}
	r := &Rule{def: cloneDef(d), severity: d.Severity}

	var kinds []string
	if d.Critical != nil || d.Warning != nil {
		kinds = append(kinds, "critical/warning")
		r.kind = CellRule
	}
	if d.Stale != nil {
		kinds = append(kinds, "stale")
		r.kind = StaleRule
	}
	if d.Rows != nil {
		kinds = append(kinds, "rows")
		r.kind = AbsenceRule
	}
	if d.ProbeDown != nil {
		kinds = append(kinds, "probe_down")
		r.kind = ProbeRule
	}
	switch len(kinds) {
	case 0:
		fail("", "a rule judges something: give it critical and/or warning conditions, stale, rows or probe_down")
		return nil, errs
	case 1:
	default:
		// kinds[0] is the one that came first; the others are at fault.
		fail(kinds[1], "a rule judges one thing, but this one has %s: split it into one rule each", strings.Join(kinds, " and "))
		return nil, errs
	}

	if p, perr := ParsePattern(d.Match); perr != nil {
		perr.Field = "match"
		errs = append(errs, perr)
	} else if n := r.kind.segments(); !p.fits(n) {
		fail("match", "a %s rule's pattern selects paths of %d segments (%s), but %q cannot match one", r.kind, n, segmentNames[r.kind], d.Match)
	} else if col, ok := p.misplacedHeadline(r.kind); ok {
		errs = append(errs, &Error{Field: "match", Line: 1, Col: col,
			Msg: `"#" is the row of a dataview's headlines, and stands only where the row does: probe/entity/sampler/dataview/#/name (write %23 for a name that is "#")`})
	} else {
		r.pattern = p
	}

	if r.kind != AbsenceRule && d.For != 0 {
		fail("for", "for belongs to an absence rule (rows), or to a level of a cell rule (critical: {for: …}); a %s rule's own duration says how long", r.kind)
	}
	if r.kind == ProbeRule && d.Where != nil {
		// Set.Probe has no attributes to select by: refused, not ignored.
		fail("where", "a probe rule selects probes, which have no attributes: drop where")
	}
	for _, name := range slices.Sorted(maps.Keys(r.def.Where)) {
		vals := r.def.Where[name]
		field := "where." + name
		switch {
		case name == "":
			fail("where", "an attribute selector needs the attribute's name")
		case len(vals) == 0:
			fail(field, "list at least one value")
		case len(vals) > maxValues:
			fail(field, "%d values, over the limit of %d", len(vals), maxValues)
		}
		r.where = append(r.where, attrSel{name: name, values: vals})
	}

	if r.kind == CellRule {
		if d.Severity != Undefined {
			fail("severity", "a cell rule's levels give its severities: drop severity")
		}
		for i, lv := range []*LevelDef{d.Critical, d.Warning} {
			if lv == nil {
				continue
			}
			sev := []Severity{Critical, Warning}[i]
			l, lerrs := compileLevel(sev.String(), sev, lv)
			errs = append(errs, lerrs...)
			if l != nil {
				r.levels[i] = l
				r.uses |= l.uses
			}
		}
	} else {
		switch {
		case d.Severity == Undefined:
			fail("severity", "say what a %s rule gives: severity: warning or critical", r.kind)
		case d.Severity == OK:
			fail("severity", "a %s rule gives warning or critical; without the rule the %s is ok", r.kind, r.kind)
		case d.Severity > Critical:
			fail("severity", "%v is not a severity: warning or critical", d.Severity)
		}
	}
	switch r.kind {
	case StaleRule:
		if r.stale = time.Duration(*d.Stale); r.stale <= 0 {
			fail("stale", "a duration above zero, like 30s")
		}
	case ProbeRule:
		if r.down = time.Duration(*d.ProbeDown); r.down < 0 {
			fail("probe_down", "a duration of zero (at once) or more, like 30s")
		}
	case AbsenceRule:
		if d.For < 0 {
			fail("for", "a duration of zero (at once) or more, like 30s")
		}
		switch {
		case len(d.Rows) == 0:
			fail("rows", "list the rows that must exist")
		case len(d.Rows) > maxRows:
			fail("rows", "%d rows, over the limit of %d", len(d.Rows), maxRows)
		}
		for i, row := range d.Rows {
			if row == "" {
				fail(fmt.Sprintf("rows[%d]", i), "a row name is not empty")
			}
		}
	}
	errs = append(errs, r.compileCalendar(d)...)
	if inc := d.Incident; inc != nil {
		switch {
		case inc.Open == OK:
			fail("incident.open", "an incident opens at warning or critical; ok is no problem")
		case inc.Open > Critical:
			fail("incident.open", "%v is not a severity: warning or critical", inc.Open)
		}
		if inc.Title != "" {
			if _, err := template.New("title").Parse(inc.Title); err != nil {
				fail("incident.title", "%v", err)
			}
		}
		for i, n := range inc.Notify {
			if n == "" {
				fail(fmt.Sprintf("incident.notify[%d]", i), "an action's name is not empty")
			}
		}
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return r, nil
}

var segmentNames = [...]string{
	CellRule:    "probe/entity/sampler/dataview/row/column",
	StaleRule:   "probe/entity/sampler/dataview",
	AbsenceRule: "probe/entity/sampler/dataview",
	ProbeRule:   "probe",
}

// compileCalendar compiles when the rule judges, and its levels per
// phase.
func (r *Rule) compileCalendar(d *Def) Errors {
	var errs Errors
	fail := func(field string, format string, args ...any) {
		errs = append(errs, &Error{Field: field, Msg: fmt.Sprintf(format, args...)})
	}
	if d.Active == nil && d.Schedule == "" && d.Phases == nil {
		return nil
	}
	if r.kind == ProbeRule || (r.kind != CellRule && d.Phases != nil) {
		field, what := "active", "a probe rule has no entity, so no phases, and judges at all times"
		switch {
		case d.Phases != nil:
			field, what = "phases", "only a cell rule (critical/warning) has levels to give per phase"
		case d.Active == nil:
			field = "schedule"
		}
		fail(field, "%s", what)
		return errs
	}
	r.uses |= usesCalendar
	if a := d.Active; a != nil {
		if len(a.Phases) == 0 && len(a.Schedules) == 0 {
			fail("active", "say when the rule judges: phases, schedules or both")
		}
		for i, name := range a.Phases {
			p, err := calendar.ParsePhase(name)
			if err != nil {
				fail(fmt.Sprintf("active.phases[%d]", i), "%v", err)
				continue
			}
			r.phases |= 1 << p
		}
		for i, name := range a.Schedules {
			if name == "" {
				fail(fmt.Sprintf("active.schedules[%d]", i), "a schedule's name is not empty")
			}
		}
		if d.Schedule != "" {
			fail("schedule", "give the schedule in active.schedules, or schedule without active; not both")
		}
	}
	r.schedules = d.ScheduleNames()
	for _, name := range slices.Sorted(maps.Keys(d.Phases)) {
		field := "phases." + name
		p, err := calendar.ParsePhase(name)
		if err != nil {
			fail(field, "%v", err)
			continue
		}
		pl := d.Phases[name]
		if r.phased[p] != nil {
			fail(field, "%s is given twice (as %s and another name)", p, name)
			continue
		}
		if pl == nil || (pl.Critical == nil && pl.Warning == nil) {
			fail(field, "give the phase's levels: critical and/or warning")
			continue
		}
		if r.phases != 0 && r.phases&(1<<p) == 0 {
			fail(field, "the rule is not active in %s (active.phases): its levels there would never be used", name)
			continue
		}
		var lv [2]*level
		for i, ld := range []*LevelDef{pl.Critical, pl.Warning} {
			if ld == nil {
				continue
			}
			base := []*LevelDef{d.Critical, d.Warning}[i]
			if base != nil && *base == *ld {
				lv[i] = r.levels[i]
				continue
			}
			sev := []Severity{Critical, Warning}[i]
			l, lerrs := compileLevel(field+"."+sev.String(), sev, ld)
			errs = append(errs, lerrs...)
			if l != nil {
				lv[i] = l
				r.uses |= l.uses
			}
		}
		r.phased[p], r.hasPhased = &lv, true
	}
	return errs
}

func compileLevel(field string, sev Severity, d *LevelDef) (*level, Errors) {
	var errs Errors
	l := &level{sev: sev, for_: int64(d.For), keep: int64(d.KeepFiringFor)}
	if d.When == "" {
		errs = append(errs, &Error{Field: field + ".when", Msg: "a level needs its condition, like value > 90"})
	} else if p, u, err := compileCondition(field+".when", d.When); err != nil {
		errs = append(errs, err)
	} else {
		l.when, l.uses = p, l.uses|u
	}
	if d.Clear != "" {
		if p, u, err := compileCondition(field+".clear", d.Clear); err != nil {
			errs = append(errs, err)
		} else {
			l.clear, l.uses = p, l.uses|u
		}
	}
	if d.For < 0 {
		errs = append(errs, &Error{Field: field + ".for", Msg: "a duration of zero or more"})
	}
	if d.KeepFiringFor < 0 {
		errs = append(errs, &Error{Field: field + ".keep_firing_for", Msg: "a duration of zero or more"})
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return l, nil
}

// disabled are the expression library's builtins a condition may not
// call: those that read the clock (time is a parameter of evaluation),
// and those whose result can be far larger than their arguments
// (repeat and join multiply a string by a count, replace by the number of
// matches).
var disabled = []string{"now", "date", "timezone", "duration", "repeat", "replace", "join", "toJSON", "fromJSON", "toBase64", "fromBase64"}

func conditionOptions() []expr.Option {
	opts := []expr.Option{expr.Env(env{}), expr.AsBool(), expr.MaxNodes(maxNodes)}
	for _, name := range disabled {
		opts = append(opts, expr.DisableBuiltin(name))
	}
	return opts
}

// compileCondition compiles one condition and reports which inputs it
// reads. A regular expression must be a constant, compiled here once.
//
// The memory budget of a run counts the elements of the arrays and maps a
// condition builds, not the bytes of its strings; so that each part of a
// condition runs once and builds no more than the sum of its inputs, a
// condition may not name a value (let) nor loop (any, all, map, filter,
// reduce and the other predicates): with either, a short condition can
// double a string at every step.
func compileCondition(field, src string) (*condition, uses, *Error) {
	if len(src) > maxExpression {
		return nil, 0, &Error{Field: field, Msg: fmt.Sprintf("the condition is %d bytes long, over the limit of %d", len(src), maxExpression)}
	}
	if !utf8.ValidString(src) {
		return nil, 0, &Error{Field: field, Msg: "the condition is not valid UTF-8"}
	}
	opts := conditionOptions()
	// The checks below read the tree as written: the optimiser folds
	// constants, and a regular expression it folds is compiled without a
	// position to report.
	cfg := conf.CreateNew()
	for _, op := range opts {
		op(cfg)
	}
	for name := range cfg.Disabled {
		delete(cfg.Builtins, name)
	}
	tree, err := parser.ParseWithConfig(src, cfg)
	if err != nil {
		return nil, 0, exprError(field, src, err)
	}
	w := &walker{}
	ast.Walk(&tree.Node, w)
	if w.bad != nil {
		line, col := position(src, w.bad.Location().From)
		return nil, 0, &Error{Field: field, Line: line, Col: col, Msg: w.msg}
	}
	p, err := expr.Compile(src, opts...)
	if err != nil {
		return nil, 0, exprError(field, src, err)
	}
	return &condition{prog: p, cmp: comparisonOf(tree.Node)}, w.uses, nil
}

type walker struct {
	uses uses
	bad  ast.Node
	msg  string
}

func (w *walker) Visit(n *ast.Node) {
	switch n := (*n).(type) {
	case *ast.IdentifierNode:
		if n.Value == "$env" {
			w.uses = ^uses(0) // the whole environment, so every input
		}
		w.uses |= identUses[n.Value]
	case *ast.BinaryNode:
		if n.Operator != "matches" {
			break
		}
		re, ok := n.Right.(*ast.StringNode)
		if !ok {
			w.refuse(n.Right, "the pattern of matches must be a quoted string, compiled once with the rule")
		} else if size := regexpSize(re.Value); size > maxRegexp {
			w.refuse(n.Right, fmt.Sprintf("the pattern of matches compiles to %d steps, over the limit of %d: repeat less ({1000} repeats what it follows a thousand times)", size, maxRegexp))
		}
	case *ast.VariableDeclaratorNode:
		w.refuse(n, "a condition cannot name values with let: write the expression where it is used")
	case *ast.BuiltinNode:
		for _, a := range n.Arguments {
			if _, ok := a.(*ast.PredicateNode); ok {
				w.refuse(n, n.Name+": a condition cannot loop (any, all, map, filter, reduce and the like): name the cells it compares, like row.used > row.size * 0.9")
			}
		}
	}
}

// regexpSize is the number of instructions re compiles to, or 0 if it
// does not compile (which the expression library reports, with its
// place).
func regexpSize(re string) int {
	t, err := syntax.Parse(re, syntax.Perl)
	if err != nil {
		return 0
	}
	p, err := syntax.Compile(t.Simplify())
	if err != nil {
		return 0
	}
	return len(p.Inst)
}

// refuse records the first node a condition may not hold.
func (w *walker) refuse(n ast.Node, msg string) {
	if w.bad == nil {
		w.bad, w.msg = n, msg
	}
}

// exprError turns the expression library's error into an Error at its
// place in src.
func exprError(field, src string, err error) *Error {
	var fe *file.Error
	if !errors.As(err, &fe) {
		return &Error{Field: field, Msg: firstLine(err.Error())}
	}
	line, col := position(src, fe.From)
	return &Error{Field: field, Line: line, Col: col, Msg: fe.Message}
}

// firstLine keeps an error message to its first line: the expression
// library appends a stack trace to a panic it recovers while compiling.
func firstLine(msg string) string {
	if i := strings.IndexByte(msg, '\n'); i >= 0 {
		return msg[:i]
	}
	return msg
}

// position turns a rune offset in src into a line and column, from 1. An
// offset at or past the end (a condition that stops too soon) is the last
// character's place, so that a position is always one in the text.
func position(src string, offset int) (line, col int) {
	offset = min(offset, utf8.RuneCountInString(src)-1)
	line, col = 1, 1
	n := 0
	for _, r := range src {
		if n >= offset {
			break
		}
		n++
		if r == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
	return line, col
}
