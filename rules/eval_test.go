package rules

import (
	"math"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/watchfloor/watchfloor/samplers"
)

func TestJudgeConditions(t *testing.T) {
	threshold := cellRule(t, "cpu", &LevelDef{When: "value > 90"}, &LevelDef{When: "value > 75"})
	text := cellRule(t, "status", &LevelDef{When: `value == "DOWN"`}, &LevelDef{When: `text matches "^ERR"`})
	raw := cellRule(t, "raw", &LevelDef{When: `text == "95.0"`}, &LevelDef{When: "value == 95"})
	cases := []struct {
		name  string
		rule  *Rule
		value string
		want  Severity
	}{
		{"below both", threshold, "50", OK},
		{"above warning", threshold, "80", Warning},
		{"above both", threshold, "95", Critical},
		{"at critical is not above", threshold, "90", Warning},
		{"at warning is not above", threshold, "75", OK},
		{"negative", threshold, "-1e3", OK},
		{"text equal", text, "DOWN", Critical},
		{"text other", text, "UP", OK},
		{"text matches", text, "ERR: disk full", Warning},
		{"matches is anchored where written", text, "an ERR", OK},
		{"number against text is false, not an error", text, "42", OK},
		{"text is the raw value", raw, "95.0", Critical},
		{"value is the number", raw, "95.00", Warning},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			runSteps(t, []step{{t: 1, v: c.value, want: c.want}}, c.rule)
		})
	}
}

func TestJudgeLevelOrder(t *testing.T) {
	// The warning level waits 10s; the critical one fires at once. While
	// critical fires, warning's own timer runs on, so when critical ends
	// warning is already firing rather than starting its wait.
	r := cellRule(t, "cpu", &LevelDef{When: "value > 90"}, &LevelDef{When: "value > 75", For: dur(10 * time.Second)})
	runSteps(t, []step{
		{t: 0, v: "95", want: Critical, next: 10},
		{t: 10, v: "96", want: Critical},
		{t: 12, v: "80", want: Warning},
		{t: 13, v: "50", want: OK},
		{t: 14, v: "80", want: OK, next: 24},
	}, r)

	// Critical is tried first: when its condition fails, the rule gives
	// nothing, though warning would hold.
	r = cellRule(t, "mixed", &LevelDef{When: "value > 90"}, &LevelDef{When: `text != ""`})
	var failed []string
	e := NewEvaluator()
	e.OnError = func(r *Rule, err error) { failed = append(failed, r.Name()) }
	c := newCell(r)
	c.sample("n/a", 1)
	if v := c.judge(e, 1, nil, nil); v.Severity != Undefined || v.Rule != nil {
		t.Errorf("critical failing: %+v, want undefined", v)
	}
	if len(failed) != 1 || failed[0] != "mixed" {
		t.Errorf("OnError calls %v, want [mixed]", failed)
	}
}

func TestJudgeTwoRules(t *testing.T) {
	warnHigh := cellRule(t, "a-warn", nil, &LevelDef{When: "value > 50"})
	critHigher := cellRule(t, "b-crit", &LevelDef{When: "value > 90"}, nil)
	alpha := cellRule(t, "alpha", nil, &LevelDef{When: "value > 50"})
	beta := cellRule(t, "beta", nil, &LevelDef{When: "value > 50"})
	numeric := cellRule(t, "a-numeric", &LevelDef{When: "value > 90"}, nil)
	textual := cellRule(t, "b-text", &LevelDef{When: `text == "DOWN"`}, nil)
	cases := []struct {
		name     string
		rules    []*Rule
		value    string
		want     Severity
		wantRule string
	}{
		{"most severe wins", []*Rule{warnHigh, critHigher}, "95", Critical, "b-crit"},
		{"the one that fires", []*Rule{warnHigh, critHigher}, "60", Warning, "a-warn"},
		{"both ok: the first", []*Rule{warnHigh, critHigher}, "10", OK, "a-warn"},
		{"a tie goes to the first by name", []*Rule{alpha, beta}, "60", Warning, "alpha"},
		{"a rule giving ok beats one giving nothing", []*Rule{numeric, textual}, "UP", OK, "b-text"},
		{"no rule", nil, "1", Undefined, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := NewEvaluator()
			cl := newCell(c.rules...)
			cl.sample(c.value, 1)
			v := cl.judge(e, 1, nil, nil)
			got := ""
			if v.Rule != nil {
				got = v.Rule.Name()
			}
			csRule := ""
			if cl.cs.Rule != nil {
				csRule = cl.cs.Rule.Name()
			}
			if v.Severity != c.want || got != c.wantRule || csRule != c.wantRule {
				t.Errorf("got %v by %q (CellState.Rule %q), want %v by %q", v.Severity, got, csRule, c.want, c.wantRule)
			}
			if e.Evaluations != uint64(len(c.rules)) {
				t.Errorf("Evaluations %d, want %d", e.Evaluations, len(c.rules))
			}
		})
	}

	// The set sorts by name whatever the order of the definitions, so the
	// tie goes to alpha even when beta is written first.
	s := mustCompile(t, nil,
		Def{Name: "beta", Match: "**", Warning: &LevelDef{When: "value > 50"}},
		Def{Name: "alpha", Match: "**", Warning: &LevelDef{When: "value > 50"}})
	e := NewEvaluator()
	cl := newCell(e.Match(s, cellInfo(t, "p/e/s/d/r/c", nil))...)
	cl.sample("60", 1)
	if v := cl.judge(e, 1, nil, nil); v.Rule == nil || v.Rule.Name() != "alpha" {
		t.Errorf("tie in a set: %+v, want alpha", v)
	}
}

func TestJudgeFor(t *testing.T) {
	r := cellRule(t, "slow", &LevelDef{When: "value > 90", For: dur(10 * time.Second)}, nil)
	cases := []struct {
		name  string
		steps []step
	}{
		{"pending then firing at exactly since+for", []step{
			{t: 0, v: "95", want: OK, next: 10},
			{t: 9, v: "95", want: OK, next: 10},
			{t: 10, v: "95", want: Critical},
			{t: 11, v: "95", want: Critical},
		}},
		{"holds across changes of value", []step{
			{t: 0, v: "95", want: OK, next: 10},
			{t: 3, v: "97", want: OK, next: 10},
			{t: 6, v: "91", want: OK, next: 10},
			{t: 10, v: "99", want: Critical},
		}},
		{"a break resets the timer", []step{
			{t: 0, v: "95", want: OK, next: 10},
			{t: 5, v: "50", want: OK},
			{t: 6, v: "95", want: OK, next: 16},
			{t: 10, v: "95", want: OK, next: 16},
			{t: 16, v: "95", want: Critical},
		}},
		{"firing ends at the first false evaluation", []step{
			{t: 0, v: "95", want: OK, next: 10},
			{t: 10, v: "95", want: Critical},
			{t: 11, v: "50", want: OK},
			{t: 12, v: "95", want: OK, next: 22},
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { runSteps(t, c.steps, r) })
	}
}

func TestJudgeHysteresis(t *testing.T) {
	clearOnly := cellRule(t, "clear", &LevelDef{When: "value > 90", Clear: "value < 80"}, nil)
	keepOnly := cellRule(t, "keep", &LevelDef{When: "value > 90", KeepFiringFor: dur(30 * time.Second)}, nil)
	keepFor := cellRule(t, "keep-for", &LevelDef{When: "value > 90", For: dur(10 * time.Second), KeepFiringFor: dur(30 * time.Second)}, nil)
	both := cellRule(t, "both", &LevelDef{When: "value > 90", Clear: "value < 80", KeepFiringFor: dur(30 * time.Second)}, nil)
	cases := []struct {
		name  string
		rule  *Rule
		steps []step
	}{
		{"clear: firing while the value hovers, ending when clear holds", clearOnly, []step{
			{t: 0, v: "95", want: Critical},
			{t: 1, v: "85", want: Critical},
			{t: 2, v: "89", want: Critical},
			{t: 3, v: "80", want: Critical},
			{t: 4, v: "79", want: OK},
			{t: 5, v: "85", want: OK},
			{t: 6, v: "91", want: Critical},
		}},
		{"keep_firing_for: until broke+keep", keepOnly, []step{
			{t: 0, v: "95", want: Critical},
			{t: 10, v: "50", want: Critical, next: 40},
			{t: 20, v: "60", want: Critical, next: 40},
			{t: 39, v: "60", want: Critical, next: 40},
			{t: 40, v: "60", want: OK},
		}},
		{"keep_firing_for: re-fires cleanly", keepOnly, []step{
			{t: 0, v: "95", want: Critical},
			{t: 10, v: "50", want: Critical, next: 40},
			{t: 40, v: "50", want: OK},
			{t: 50, v: "95", want: Critical},
			{t: 60, v: "50", want: Critical, next: 90},
			{t: 90, v: "50", want: OK},
		}},
		{"keep_firing_for: the condition back during the keep restarts it", keepOnly, []step{
			{t: 0, v: "95", want: Critical},
			{t: 10, v: "50", want: Critical, next: 40},
			{t: 20, v: "95", want: Critical},
			{t: 30, v: "50", want: Critical, next: 60},
			{t: 60, v: "50", want: OK},
		}},
		{"keep_firing_for with for: after the keep, for counts again", keepFor, []step{
			{t: 0, v: "95", want: OK, next: 10},
			{t: 10, v: "95", want: Critical},
			{t: 20, v: "50", want: Critical, next: 50},
			{t: 50, v: "50", want: OK},
			{t: 55, v: "95", want: OK, next: 65},
			{t: 65, v: "95", want: Critical},
		}},
		{"clear and keep: the keep counts from when clear holds", both, []step{
			{t: 0, v: "95", want: Critical},
			{t: 10, v: "85", want: Critical},
			{t: 20, v: "70", want: Critical, next: 50},
			{t: 30, v: "85", want: Critical},
			{t: 40, v: "70", want: Critical, next: 70},
			{t: 69, v: "70", want: Critical, next: 70},
			{t: 70, v: "70", want: OK},
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { runSteps(t, c.steps, c.rule) })
	}
}

func TestJudgeNextIsTheEarliest(t *testing.T) {
	// Two rules, one pending 10s and one 20s: the cell must be judged
	// again at the earlier.
	a := cellRule(t, "a", &LevelDef{When: "value > 90", For: dur(20 * time.Second)}, nil)
	b := cellRule(t, "b", nil, &LevelDef{When: "value > 50", For: dur(10 * time.Second)})
	runSteps(t, []step{
		{t: 0, v: "95", want: OK, next: 10},
		{t: 10, v: "95", want: Warning, next: 20},
		{t: 20, v: "95", want: Critical},
	}, a, b)
}

func TestJudgeNextDoesNotWrap(t *testing.T) {
	// The longest duration a Duration holds: since+for is past the
	// largest time, and Next must say "never", not a time in the past.
	r := cellRule(t, "forever", &LevelDef{When: "value > 1", For: Duration(math.MaxInt64)}, nil)
	e := NewEvaluator()
	c := newCell(r)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano()
	c.sample("5", now/sec)
	v := e.Judge(&c.cs, &Input{Now: now, Value: c.val, Changed: c.changed})
	if v.Severity != OK || v.Next != math.MaxInt64 {
		t.Fatalf("got %+v, want ok with Next the largest time", v)
	}
}

// history is a cell's values, each from a time in seconds.
type history []struct {
	t int64
	v string
}

func TestJudgePreviousRateAge(t *testing.T) {
	cases := []struct {
		name    string
		history history
		judgeAt int64
		holds   []string
		fails   []string
	}{
		{"never changed: previous is the value, rate 0",
			history{{0, "10"}}, 5,
			[]string{"previous == 10", "previous == value", "rate == 0", "age == 5"},
			[]string{"previous != value", "rate != 0"}},
		{"one change",
			history{{0, "10"}, {10, "20"}}, 10,
			[]string{"previous == 10", "value == 20", "rate == 1", "age == 0"},
			[]string{"previous == 20"}},
		{"previous is before the last change, not the last evaluation",
			history{{0, "10"}, {10, "20"}, {15, "20"}, {20, "20"}, {30, "20"}}, 30,
			[]string{"previous == 10", "rate == 1", "age == 20"},
			[]string{"previous == 20"}},
		{"rate per second",
			history{{0, "100"}, {10, "150"}}, 12,
			[]string{"rate == 5", "age == 2"},
			nil},
		{"a counter reset: the rate is the value over the seconds since the previous change",
			history{{0, "100"}, {10, "150"}, {20, "30"}}, 20,
			[]string{"previous == 150", "rate == 3"},
			[]string{"rate < 0"}},
		{"text: previous is text, rate 0",
			history{{0, "UP"}, {10, "DOWN"}}, 10,
			[]string{`previous == "UP"`, `value == "DOWN"`, "rate == 0"},
			nil},
		{"text to number: rate 0",
			history{{0, "n/a"}, {10, "5"}}, 10,
			[]string{`previous == "n/a"`, "value == 5", "rate == 0"},
			nil},
		{"age is seconds since the change, in fractions too",
			history{{100, "5"}}, 160,
			[]string{"age == 60", "age > 59.5"},
			[]string{"age > 60"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			check := func(cond string, want bool) {
				t.Helper()
				r := cellRule(t, "probe", &LevelDef{When: cond}, nil)
				e := NewEvaluator()
				e.OnError = func(_ *Rule, err error) { t.Errorf("%s: %v", cond, err) }
				cl := newCell(r)
				for _, h := range c.history {
					cl.sample(h.v, h.t)
					cl.judge(e, h.t, nil, nil)
				}
				got := cl.judge(e, c.judgeAt, nil, nil).Severity == Critical
				if got != want {
					t.Errorf("%s: %v, want %v", cond, got, want)
				}
			}
			for _, cond := range c.holds {
				check(cond, true)
			}
			for _, cond := range c.fails {
				check(cond, false)
			}
		})
	}
}

func TestUsesAge(t *testing.T) {
	aged := cellRule(t, "aged", &LevelDef{When: "value > 1"}, &LevelDef{When: "value > 0", Clear: "age > 60"})
	plain := cellRule(t, "plain", &LevelDef{When: "value > 1"}, nil)
	whole := cellRule(t, "whole", &LevelDef{When: "$env.age > 60"}, nil)
	if !aged.UsesAge() || plain.UsesAge() || !whole.UsesAge() {
		t.Errorf("UsesAge: aged %v plain %v $env %v, want true false true", aged.UsesAge(), plain.UsesAge(), whole.UsesAge())
	}
	if c := newCell(plain); c.cs.UsesAge() {
		t.Error("a cell without an age rule says it uses age")
	}
	if c := newCell(plain, aged); !c.cs.UsesAge() || c.cs.Len() != 2 {
		t.Errorf("a cell with an age rule: UsesAge %v Len %d", c.cs.UsesAge(), c.cs.Len())
	}
	// Through $env a condition reads what it does not name: it sees the
	// real age, not zero.
	runSteps(t, []step{{t: 0, v: "1", want: OK}, {t: 61, v: "1", want: Critical}}, whole)
}

func TestJudgeRowHeadlinesAttrs(t *testing.T) {
	cases := []struct {
		name      string
		when      string
		row       Cells
		headlines Cells
		attrs     map[string]string
		want      Severity
	}{
		{"row: fewer than expected", "row.instances < row.expected", row("instances", "2", "expected", "3"), nil, nil, Critical},
		{"row: as expected", "row.instances < row.expected", row("instances", "3", "expected", "3"), nil, nil, OK},
		{"row: a column by index", `row["queue depth"] > 100`, row("queue depth", "150"), nil, nil, Critical},
		{"headlines", `headlines.status == "DOWN" and value > 0`, nil, row("status", "DOWN"), nil, Critical},
		{"headlines: other", `headlines.status == "DOWN"`, nil, row("status", "UP"), nil, OK},
		{"attrs", `attrs.environment == "production"`, nil, nil, map[string]string{"environment": "production"}, Critical},
		{"attrs: missing is empty", `attrs.environment == ""`, nil, nil, map[string]string{"system": "OMS"}, Critical},
		{"attrs: none at all", `attrs.environment == ""`, nil, nil, nil, Critical},
		{"a row cell of text, compared as a number", "row.instances < 3", row("instances", "n/a"), nil, nil, Undefined},
		{"a missing column, compared as a number", "row.nosuch < 3", row("instances", "2"), nil, nil, Undefined},
		{"a missing column with a default", "(row.spare ?? 0) < 3", row("instances", "2"), nil, nil, Critical},
		{"a headline has no row", "row.instances < 3", nil, row("instances", "2"), nil, Undefined},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := cellRule(t, "r", &LevelDef{When: c.when}, nil)
			var failed *Rule
			e := NewEvaluator()
			e.OnError = func(r *Rule, err error) { failed = r }
			cl := newCell(r)
			cl.sample("1", 1)
			v := e.Judge(&cl.cs, &Input{Now: sec, Value: cl.val, Changed: cl.changed, Row: c.row, Headlines: c.headlines, Attrs: c.attrs})
			if v.Severity != c.want {
				t.Errorf("got %v, want %v", v.Severity, c.want)
			}
			if (c.want == Undefined) != (failed == r) {
				t.Errorf("OnError called with %v; want it called with the rule only when the result is undefined", failed)
			}
		})
	}
}

func TestJudgeRuntimeErrorResetsLevels(t *testing.T) {
	// A text cell in a numeric comparison: the rule gives nothing, OnError
	// is told, and the pending `for` starts again afterwards.
	r := cellRule(t, "instances", &LevelDef{When: "row.instances < row.expected", For: dur(10 * time.Second)}, nil)
	var errs []string
	e := NewEvaluator()
	e.OnError = func(r *Rule, err error) { errs = append(errs, r.Name()+": "+err.Error()) }
	c := newCell(r)
	c.sample("x", 0)
	judge := func(at int64, instances string) Verdict {
		return c.judge(e, at, row("instances", instances, "expected", "3"), nil)
	}
	if v := judge(0, "2"); v.Severity != OK || v.Next != 10*sec {
		t.Fatalf("t=0: %+v, want pending until 10s", v)
	}
	if v := judge(5, "n/a"); v.Severity != Undefined || v.Rule != nil || v.Next != 0 {
		t.Fatalf("t=5: %+v, want undefined", v)
	}
	if len(errs) != 1 || !strings.HasPrefix(errs[0], "instances: ") {
		t.Fatalf("OnError: %q, want one call for the rule", errs)
	}
	if c.cs.Rule != nil {
		t.Errorf("CellState.Rule is %s after an undefined result", c.cs.Rule.Name())
	}
	if v := judge(10, "2"); v.Severity != OK || v.Next != 20*sec {
		t.Fatalf("t=10: %+v, want pending again until 20s (the error reset the timer)", v)
	}
	if v := judge(20, "2"); v.Severity != Critical {
		t.Fatalf("t=20: %+v, want critical", v)
	}
	// A firing level is reset too.
	if v := judge(21, "n/a"); v.Severity != Undefined {
		t.Fatalf("t=21: %+v, want undefined", v)
	}
	if v := judge(22, "2"); v.Severity != OK || v.Next != 32*sec {
		t.Fatalf("t=22: %+v, want pending from 22s", v)
	}

	// Without OnError, a failing condition is still undefined, not a panic.
	e = NewEvaluator()
	c = newCell(cellRule(t, "text", &LevelDef{When: "value > 90"}, nil))
	c.sample("DOWN", 0)
	if v := c.judge(e, 0, nil, nil); v.Severity != Undefined {
		t.Fatalf("without OnError: %+v", v)
	}
}

func TestJudgeMemoryBudget(t *testing.T) {
	r := cellRule(t, "big", &LevelDef{When: "len(1..1000000) > 0"}, nil)
	var failed bool
	e := NewEvaluator()
	e.OnError = func(*Rule, error) { failed = true }
	c := newCell(r)
	c.sample("1", 0)
	if v := c.judge(e, 0, nil, nil); v.Severity != Undefined || !failed {
		t.Fatalf("a condition over the memory budget: %+v, OnError %v", v, failed)
	}
	// The budget is per run: a condition just under it runs every time.
	r = cellRule(t, "small", &LevelDef{When: "len(1..1000) == 1000"}, nil)
	c = newCell(r)
	c.sample("1", 0)
	for i := range 100 {
		if v := c.judge(e, int64(i), nil, nil); v.Severity != Critical {
			t.Fatalf("run %d: %+v", i, v)
		}
	}
}

func TestBindKeepsState(t *testing.T) {
	pending := Def{Name: "a-pending", Match: "**", Critical: &LevelDef{When: "value > 90", For: dur(10 * time.Second)}}
	other := Def{Name: "b-other", Match: "**", Warning: &LevelDef{When: "value > 50"}}
	s1 := mustCompile(t, nil, pending, other)
	info := cellInfo(t, "p/e/s/d/r/c", nil)
	e := NewEvaluator()
	c := newCell(e.Match(s1, info)...)
	c.sample("95", 0)
	if v := c.judge(e, 0, nil, nil); v.Severity != Warning || v.Next != 10*sec {
		t.Fatalf("t=0: %+v", v)
	}

	// An edit of another rule leaves a-pending as it was: its `for` goes
	// on from 0s.
	other.Warning = &LevelDef{When: "value > 60"}
	s2 := mustCompile(t, s1, pending, other)
	c.cs.Bind(e.Match(s2, info))
	if v := c.judge(e, 10, nil, nil); v.Severity != Critical || v.Rule.Name() != "a-pending" {
		t.Fatalf("t=10 after editing the other rule: %+v, want critical", v)
	}

	// An edit of the rule itself starts it afresh.
	pending.Critical = &LevelDef{When: "value > 91", For: dur(10 * time.Second)}
	s3 := mustCompile(t, s2, pending, other)
	c.cs.Bind(e.Match(s3, info))
	if v := c.judge(e, 11, nil, nil); v.Severity != Warning || v.Next != 21*sec {
		t.Fatalf("t=11 after editing the rule: %+v, want pending again", v)
	}

	// A rule removed from the set is no longer the cell's.
	if c.cs.Rule == nil || c.cs.Rule.Name() != "b-other" {
		t.Fatalf("CellState.Rule %v, want b-other", c.cs.Rule)
	}
	s4 := mustCompile(t, s3, pending)
	c.cs.Bind(e.Match(s4, info))
	if c.cs.Rule != nil || c.cs.Len() != 1 {
		t.Fatalf("after removing b-other: Rule %v, Len %d", c.cs.Rule, c.cs.Len())
	}
}

func TestEvaluatorsShareASet(t *testing.T) {
	// A Set, and the compiled conditions in it, are read by every probe's
	// actor at once, each with its own Evaluator; under -race this
	// checks that nothing in matching or judging writes to them.
	s := mustCompile(t, nil,
		Def{Name: "cpu", Match: "*/*/cpu/cpu/*/utilisation", Critical: &LevelDef{When: "value > 90", For: dur(5 * time.Second)}, Warning: &LevelDef{When: "value > 75"}},
		Def{Name: "status", Match: "**/#/status", Critical: &LevelDef{When: `text matches "^DOWN"`}},
		Def{Name: "rate", Match: "**", Warning: &LevelDef{When: "rate > 100 or row.x > 1 or headlines.y > 1"}})
	var wg sync.WaitGroup
	results := make([][]Severity, 4)
	for g := range results {
		wg.Go(func() {
			e := NewEvaluator()
			util := newCell(e.Match(s, cellInfo(t, "p/e/cpu/cpu/total/utilisation", nil))...)
			status := newCell(e.Match(s, cellInfo(t, "p/e/cpu/cpu/#/status", nil))...)
			for i := range int64(50) {
				util.sample([]string{"50", "80", "95"}[i%3], i)
				status.sample([]string{"UP", "DOWN"}[i%2], i)
				results[g] = append(results[g], util.judge(e, i, row("x", "0"), row("y", "0")).Severity, status.judge(e, i, nil, row("y", "0")).Severity)
			}
		})
	}
	wg.Wait()
	for g := 1; g < len(results); g++ {
		if !slices.Equal(results[g], results[0]) {
			t.Fatalf("goroutine %d judged differently from goroutine 0", g)
		}
	}
	// util and status alternately: 50 UP, 80 DOWN, 95 UP.
	if want := []Severity{OK, OK, Warning, Critical, Warning, OK}; !slices.Equal(results[0][:6], want) {
		t.Fatalf("verdicts %v, want %v", results[0][:6], want)
	}
}

func TestJudgeValueKinds(t *testing.T) {
	// What samplers.Text reads as a number: the value is a float64, even
	// for integers, and compares with integer literals.
	for _, c := range []struct {
		raw  string
		cond string
	}{
		{"3", "value == 3"},
		{"3", "value == 3.0"},
		{"-2.5", "value < -2"},
		{"1e3", "value == 1000"},
		{"NaN", `value == "NaN"`},
		{"Inf", `value == "Inf"`},
		{"", `value == "" and text == ""`},
	} {
		r := cellRule(t, "r", &LevelDef{When: c.cond}, nil)
		e := NewEvaluator()
		e.OnError = func(_ *Rule, err error) { t.Errorf("%q %s: %v", c.raw, c.cond, err) }
		if v := e.Judge(&newCell(r).cs, &Input{Now: 1, Value: samplers.Text(c.raw)}); v.Severity != Critical {
			t.Errorf("%q: %s does not hold", c.raw, c.cond)
		}
	}
}
