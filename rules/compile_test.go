package rules

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

// wantErr is one expected problem: where it is, and words of its message.
type wantErr struct {
	rule      int
	field     string
	line, col int
	msg       string
}

func checkErrors(t *testing.T, errs Errors, want []wantErr) {
	t.Helper()
	if len(errs) != len(want) {
		t.Fatalf("%d errors, want %d:\n%v", len(errs), len(want), errs)
	}
	for i, w := range want {
		e := errs[i]
		if e.Rule != w.rule || e.Field != w.field || e.Line != w.line || e.Col != w.col || !strings.Contains(e.Msg, w.msg) {
			t.Errorf("error %d: rule %d %s %d:%d %q\nwant        rule %d %s %d:%d containing %q", i, e.Rule, e.Field, e.Line, e.Col, e.Msg, w.rule, w.field, w.line, w.col, w.msg)
		}
	}
}

// cellDef is a valid cell rule to break one field of.
func cellDef(name string) Def {
	return Def{Name: name, Match: "*/*/cpu/cpu/*/utilisation", Critical: &LevelDef{When: "value > 90"}}
}

func TestCompileErrors(t *testing.T) {
	with := func(d Def, f func(*Def)) Def { f(&d); return d }
	when := func(src string) Def {
		return with(cellDef("r"), func(d *Def) { d.Critical.When = src })
	}
	cases := []struct {
		name string
		defs []Def
		want []wantErr
	}{
		{"incomplete expression", []Def{when("value >")},
			[]wantErr{{0, "critical.when", 1, 7, "unexpected token EOF"}}},
		{"unknown name", []Def{when("vlaue > 1")},
			[]wantErr{{0, "critical.when", 1, 1, "unknown name vlaue"}}},
		{"an error on the second line", []Def{when("value > 1 and\n  vlaue < 2")},
			[]wantErr{{0, "critical.when", 2, 3, "unknown name vlaue"}}},
		{"columns count characters, not bytes", []Def{when(`text == "déjà" or vlaue`)},
			[]wantErr{{0, "critical.when", 1, 19, "unknown name vlaue"}}},
		{"an unterminated string points at its last character", []Def{when(`text == "abc`)},
			[]wantErr{{0, "critical.when", 1, 12, "not terminated"}}},
		{"not a condition", []Def{when("1 + 1")},
			[]wantErr{{0, "critical.when", 0, 0, "expected bool"}}},
		{"every error, not just the first", []Def{
			{Name: "bad name", Match: "a//b/c/d/e/f", Critical: &LevelDef{When: "value >", For: dur(-time.Second)}, Warning: &LevelDef{When: "value > 1", Clear: "vlaue < 1", KeepFiringFor: dur(-time.Second)}},
			cellDef("fine"),
			with(cellDef("also-bad"), func(d *Def) { d.Critical.When = "" }),
		}, []wantErr{
			{0, "name", 0, 0, "a name is letters"},
			{0, "match", 1, 3, "empty segment"},
			{0, "critical.when", 1, 7, "unexpected token"},
			{0, "critical.for", 0, 0, "zero or more"},
			{0, "warning.clear", 1, 1, "unknown name vlaue"},
			{0, "warning.keep_firing_for", 0, 0, "zero or more"},
			{2, "critical.when", 0, 0, "needs its condition"},
		}},
		{"duplicate names", []Def{cellDef("a"), cellDef("b"), cellDef("a")},
			[]wantErr{{2, "name", 0, 0, "already taken by rule 1"}}},
		{"no name", []Def{cellDef("")},
			[]wantErr{{0, "name", 0, 0, "needs a name"}}},
		{"name too long", []Def{cellDef(strings.Repeat("n", maxName+1))},
			[]wantErr{{0, "name", 0, 0, "over the limit of 128"}}},
		{"name at the limit", []Def{cellDef(strings.Repeat("n", maxName))}, nil},
		{"a rule that judges nothing", []Def{{Name: "r", Match: "**"}},
			[]wantErr{{0, "", 0, 0, "judges something"}}},
		{"kinds mixed: critical and stale", []Def{with(cellDef("r"), func(d *Def) { d.Stale = durp(time.Minute) })},
			[]wantErr{{0, "stale", 0, 0, "critical/warning and stale"}}},
		{"kinds mixed: rows and probe_down", []Def{{Name: "r", Match: "*", Rows: []string{"x"}, ProbeDown: durp(0), Severity: Warning}},
			[]wantErr{{0, "probe_down", 0, 0, "rows and probe_down"}}},
		{"a cell rule with severity", []Def{with(cellDef("r"), func(d *Def) { d.Severity = Warning })},
			[]wantErr{{0, "severity", 0, 0, "drop severity"}}},
		{"stale without severity", []Def{{Name: "r", Match: "*/*/*/*", Stale: durp(time.Minute)}},
			[]wantErr{{0, "severity", 0, 0, "say what a stale rule gives"}}},
		{"stale giving ok", []Def{{Name: "r", Match: "*/*/*/*", Stale: durp(time.Minute), Severity: OK}},
			[]wantErr{{0, "severity", 0, 0, "warning or critical"}}},
		{"stale of zero", []Def{{Name: "r", Match: "*/*/*/*", Stale: durp(0), Severity: Warning}},
			[]wantErr{{0, "stale", 0, 0, "above zero"}}},
		{"rows without severity", []Def{{Name: "r", Match: "*/*/*/*", Rows: []string{"x"}}},
			[]wantErr{{0, "severity", 0, 0, "say what a absence rule gives"}}},
		{"rows giving ok", []Def{{Name: "r", Match: "*/*/*/*", Rows: []string{"x"}, Severity: OK}},
			[]wantErr{{0, "severity", 0, 0, "warning or critical"}}},
		{"rows empty", []Def{{Name: "r", Match: "*/*/*/*", Rows: []string{}, Severity: Warning}},
			[]wantErr{{0, "rows", 0, 0, "list the rows"}}},
		{"a row without a name", []Def{{Name: "r", Match: "*/*/*/*", Rows: []string{"x", ""}, Severity: Warning}},
			[]wantErr{{0, "rows[1]", 0, 0, "not empty"}}},
		{"too many rows", []Def{{Name: "r", Match: "*/*/*/*", Rows: strings.Split(strings.Repeat("x,", maxRows)+"x", ","), Severity: Warning}},
			[]wantErr{{0, "rows", 0, 0, "over the limit of 1024"}}},
		{"probe_down without severity", []Def{{Name: "r", Match: "*", ProbeDown: durp(0)}},
			[]wantErr{{0, "severity", 0, 0, "say what a probe rule gives"}}},
		{"probe_down giving ok", []Def{{Name: "r", Match: "*", ProbeDown: durp(0), Severity: OK}},
			[]wantErr{{0, "severity", 0, 0, "warning or critical"}}},
		{"probe_down negative", []Def{{Name: "r", Match: "*", ProbeDown: durp(-time.Second), Severity: Critical}},
			[]wantErr{{0, "probe_down", 0, 0, "zero (at once) or more"}}},
		{"a severity out of range", []Def{{Name: "r", Match: "*", ProbeDown: durp(0), Severity: Severity(9)}},
			[]wantErr{{0, "severity", 0, 0, "severity(9) is not a severity"}}},
		{"a probe rule selecting by attribute", []Def{{Name: "r", Match: "*", ProbeDown: durp(0), Severity: Critical, Where: map[string]Values{"system": {"OMS"}}}},
			[]wantErr{{0, "where", 0, 0, "no attributes"}}},
		{"a pattern of the wrong length", []Def{with(cellDef("r"), func(d *Def) { d.Match = "*/*/cpu/cpu" })},
			[]wantErr{{0, "match", 0, 0, "selects paths of 6 segments"}}},
		{"a stale pattern of the wrong length", []Def{{Name: "r", Match: "*/*/*/*/*", Stale: durp(time.Minute), Severity: Warning}},
			[]wantErr{{0, "match", 0, 0, "selects paths of 4 segments"}}},
		{"a probe pattern of the wrong length", []Def{{Name: "r", Match: "*/*", ProbeDown: durp(0), Severity: Warning}},
			[]wantErr{{0, "match", 0, 0, "selects paths of 1 segments"}}},
		{"an empty pattern", []Def{with(cellDef("r"), func(d *Def) { d.Match = "" })},
			[]wantErr{{0, "match", 0, 0, "the pattern is empty"}}},
		{"a pattern too long", []Def{with(cellDef("r"), func(d *Def) { d.Match = strings.Repeat("a/", 600) + "**" })},
			[]wantErr{{0, "match", 0, 0, "over the limit of 1024"}}},
		{"a selector without a name", []Def{with(cellDef("r"), func(d *Def) { d.Where = map[string]Values{"": {"x"}} })},
			[]wantErr{{0, "where", 0, 0, "needs the attribute's name"}}},
		{"a selector without values", []Def{with(cellDef("r"), func(d *Def) { d.Where = map[string]Values{"system": {}} })},
			[]wantErr{{0, "where.system", 0, 0, "at least one value"}}},
		{"a selector with too many values", []Def{with(cellDef("r"), func(d *Def) { d.Where = map[string]Values{"system": make(Values, maxValues+1)} })},
			[]wantErr{{0, "where.system", 0, 0, "over the limit of 256"}}},
		{"an expression too long", []Def{when("value > " + strings.Repeat("1", maxExpression))},
			[]wantErr{{0, "critical.when", 0, 0, "over the limit of 2048"}}},
		{"an expression of too many nodes", []Def{when(strings.Repeat("1+", maxNodes) + "1 > value")},
			[]wantErr{{0, "critical.when", 1, 258, "exceeds maximum allowed nodes"}}},
		{"an expression not UTF-8", []Def{when("text == \"\xff\"")},
			[]wantErr{{0, "critical.when", 0, 0, "not valid UTF-8"}}},
		{"now() is disabled", []Def{when("now() > 0")},
			[]wantErr{{0, "critical.when", 1, 1, "unknown name now"}}},
		{"repeat is disabled", []Def{when(`repeat("x", 1000000) == text`)},
			[]wantErr{{0, "critical.when", 1, 1, "unknown name repeat"}}},
		{"date is disabled", []Def{when(`date("2026-01-01") > date("2025-01-01")`)},
			[]wantErr{{0, "critical.when", 1, 1, "unknown name date"}}},
		{"replace is disabled", []Def{when(`replace(text, "", text) == ""`)},
			[]wantErr{{0, "critical.when", 1, 1, "unknown name replace"}}},
		{"join is disabled", []Def{when(`join(["a", text], text) == ""`)},
			[]wantErr{{0, "critical.when", 1, 1, "unknown name join"}}},
		{"let is refused", []Def{when("let a = text + text; a == text")},
			[]wantErr{{0, "critical.when", 1, 5, "cannot name values with let"}}},
		{"a loop is refused", []Def{when("value > 1 and\n  any(values(row), # > 90)")},
			[]wantErr{{0, "critical.when", 2, 3, "any: a condition cannot loop"}}},
		{"reduce is refused", []Def{when(`len(reduce(1..40, #acc + #acc, text)) > 0`)},
			[]wantErr{{0, "critical.when", 1, 5, "reduce: a condition cannot loop"}}},
		{"a pattern that is not a constant", []Def{when("value matches row.pattern")},
			[]wantErr{{0, "critical.when", 1, 19, "must be a quoted string"}}},
		{"a pattern built of constants", []Def{when(`text matches "(" + "a"`)},
			[]wantErr{{0, "critical.when", 1, 18, "must be a quoted string"}}},
		{"a regular expression that expands past the limit", []Def{when(`text != "" and text matches ".{1000}.{1000}.{1000}"`)},
			[]wantErr{{0, "critical.when", 1, 29, "compiles to 3002 steps, over the limit of 2048"}}},
		{"a long regular expression within the limit", []Def{when(`text matches ".{1000}" or text matches "^ERR [A-Z]{3}\\d{1,4}$" or text matches "` + strings.Repeat("a", 1900) + `"`)}, nil},
		{"an invalid regular expression", []Def{when(`text matches "(ERR"`)},
			[]wantErr{{0, "critical.when", 1, 6, "missing closing )"}}},
		{"an invalid regular expression in clear", []Def{with(cellDef("r"), func(d *Def) { d.Critical.Clear = "value < 80 or\ntext matches \"[a-\"" })},
			[]wantErr{{0, "critical.clear", 2, 6, "missing closing ]"}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, errs := Compile(c.defs, nil)
			checkErrors(t, errs, c.want)
			if (s == nil) != (c.want != nil) {
				t.Errorf("set %v with %d errors", s, len(errs))
			}
			for _, e := range errs {
				if e.Name != c.defs[e.Rule].Name {
					t.Errorf("error of rule %d names %q, the rule is %q", e.Rule, e.Name, c.defs[e.Rule].Name)
				}
				if strings.Contains(e.Msg, "\n") || strings.Contains(e.Msg, "goroutine") {
					t.Errorf("message of more than one line: %q", e.Msg)
				}
			}
		})
	}
}

func TestErrorText(t *testing.T) {
	_, errs := Compile([]Def{
		{Name: "cpu", Match: "**", Critical: &LevelDef{When: "vlaue > 1"}},
		{Match: "**", Critical: &LevelDef{When: "value > 1"}},
		{Name: "none", Match: "**"},
	}, nil)
	want := "rule cpu: critical.when (1:1): unknown name vlaue\n" +
		"rule 2: name: a rule needs a name\n" +
		"rule none: a rule judges something: give it critical and/or warning conditions, stale, rows or probe_down"
	if errs.Error() != want {
		t.Errorf("got\n%s\nwant\n%s", errs.Error(), want)
	}
}

func TestCompileOne(t *testing.T) {
	r, errs := CompileOne(Def{Name: "cpu", Match: "**", Critical: &LevelDef{When: "vlaue > 1"}})
	if r != nil {
		t.Fatal("a bad rule compiled")
	}
	checkErrors(t, errs, []wantErr{{0, "critical.when", 1, 1, "unknown name"}})
	if errs[0].Name != "cpu" {
		t.Errorf("Name %q", errs[0].Name)
	}
	r, errs = CompileOne(Def{Name: "stale", Match: "*/*/*/*", Stale: durp(time.Minute), Severity: Warning})
	if errs != nil {
		t.Fatal(errs)
	}
	if r.Name() != "stale" || r.Kind() != StaleRule || r.Stale() != time.Minute || r.Severity() != Warning {
		t.Errorf("accessors: %s %v %v %v", r.Name(), r.Kind(), r.Stale(), r.Severity())
	}
	r, _ = CompileOne(Def{Name: "down", Match: "*", ProbeDown: durp(time.Minute), Severity: Critical})
	if r.Kind() != ProbeRule || r.ProbeDown() != time.Minute || r.Stale() != 0 {
		t.Errorf("probe: %v %v", r.Kind(), r.ProbeDown())
	}
	r, _ = CompileOne(Def{Name: "rows", Match: "*/*/*/*", Rows: []string{"total", "idle"}, Severity: Critical})
	if r.Kind() != AbsenceRule || !reflect.DeepEqual(r.Rows(), []string{"total", "idle"}) {
		t.Errorf("absence: %v %v", r.Kind(), r.Rows())
	}
	for k, want := range map[Kind]string{CellRule: "cell", StaleRule: "stale", AbsenceRule: "absence", ProbeRule: "probe"} {
		if k.String() != want {
			t.Errorf("%d is %q, want %q", k, k, want)
		}
	}
}

func TestCompileReuse(t *testing.T) {
	defs := []Def{cellDef("a"), cellDef("b"), {Name: "c", Match: "*/*/*/*", Stale: durp(time.Minute), Severity: Warning, Where: map[string]Values{"system": {"OMS"}}}}
	s1 := mustCompile(t, nil, defs...)
	if s1.Version() != 1 || s1.Len() != 3 {
		t.Fatalf("version %d len %d", s1.Version(), s1.Len())
	}
	get := func(s *Set, name string) *Rule {
		r, ok := s.Rule(name)
		if !ok {
			t.Fatalf("no rule %s in version %d", name, s.Version())
		}
		return r
	}

	// Equal definitions, as fresh values (not the same pointers), give
	// the same rules.
	again := []Def{cellDef("a"), cellDef("b"), {Name: "c", Match: "*/*/*/*", Stale: durp(time.Minute), Severity: Warning, Where: map[string]Values{"system": {"OMS"}}}}
	again[1].Critical.When = "value > 95"
	s2 := mustCompile(t, s1, again...)
	if s2.Version() != 2 {
		t.Errorf("version %d, want 2", s2.Version())
	}
	if get(s2, "a") != get(s1, "a") || get(s2, "c") != get(s1, "c") {
		t.Error("an unchanged rule is a new *Rule")
	}
	if get(s2, "b") == get(s1, "b") {
		t.Error("a changed rule is the old *Rule")
	}
	if get(s1, "b").Def().Critical.When != "value > 90" {
		t.Error("compiling the next set changed the previous one")
	}

	// A failed compile gives no set; the next good one follows the
	// version it was given.
	if s, errs := Compile([]Def{cellDef("")}, s2); s != nil || errs == nil {
		t.Fatal("a bad set compiled")
	}
	s3 := mustCompile(t, s2, again[:2]...)
	if s3.Version() != 3 || s3.Len() != 2 {
		t.Errorf("version %d len %d", s3.Version(), s3.Len())
	}
	if _, ok := s3.Rule("c"); ok {
		t.Error("a removed rule is still in the set")
	}
	if names(s3.Rules())[0] != "a" || names(s3.Rules())[1] != "b" {
		t.Errorf("rules %v", names(s3.Rules()))
	}
}

func TestRuleIsImmutable(t *testing.T) {
	// What the caller gave Compile, or got back from Def, it may change:
	// the rule neither sees the change nor is taken for unchanged.
	d := Def{Name: "oms", Match: "**", Where: map[string]Values{"system": {"OMS"}}, Critical: &LevelDef{When: "value > 90"}}
	s1 := mustCompile(t, nil, d)
	r, _ := s1.Rule("oms")
	d.Where["system"][0] = "FIX"
	d.Critical.When = "value > 1"
	if !r.selects(map[string]string{"system": "OMS"}) || r.selects(map[string]string{"system": "FIX"}) {
		t.Error("changing the caller's definition changed the rule's selector")
	}
	got := r.Def()
	if got.Where["system"][0] != "OMS" || got.Critical.When != "value > 90" {
		t.Errorf("Def after the caller's change: %+v %+v", got.Where, *got.Critical)
	}
	got.Where["system"][0] = "EQ"
	got.Critical.When = "value > 50"
	if r.Def().Where["system"][0] != "OMS" || r.Def().Critical.When != "value > 90" {
		t.Error("changing what Def returned changed the rule")
	}
	// Compiled again with the edited definition, the rule is new.
	s2 := mustCompile(t, s1, got)
	if r2, _ := s2.Rule("oms"); r2 == r {
		t.Error("an edited definition from Def was taken for unchanged")
	}
}

func TestDefJSON(t *testing.T) {
	src := `[
		{"name": "cpu", "match": "*/*/cpu/cpu/*/utilisation", "where": {"system": "OMS", "environment": ["production", "preprod"]},
		 "critical": {"when": "value > 90", "for": "30s", "clear": "value < 80", "keep_firing_for": "1m"},
		 "warning": {"when": "value > 75"}},
		{"name": "quiet", "match": "*/*/*/*", "stale": "2m", "severity": "warning"},
		{"name": "rows", "match": "*/*/*/*", "rows": ["total"], "severity": "critical"},
		{"name": "down", "match": "*", "probe_down": "0s", "severity": "critical"}
	]`
	var defs []Def
	if err := json.Unmarshal([]byte(src), &defs); err != nil {
		t.Fatal(err)
	}
	want := Def{Name: "cpu", Match: "*/*/cpu/cpu/*/utilisation",
		Where:    map[string]Values{"system": {"OMS"}, "environment": {"production", "preprod"}},
		Critical: &LevelDef{When: "value > 90", For: dur(30 * time.Second), Clear: "value < 80", KeepFiringFor: dur(time.Minute)},
		Warning:  &LevelDef{When: "value > 75"}}
	if !reflect.DeepEqual(defs[0], want) {
		t.Errorf("got %+v\nwant %+v", defs[0], want)
	}
	if *defs[1].Stale != Duration(2*time.Minute) || defs[1].Severity != Warning || *defs[3].ProbeDown != 0 {
		t.Errorf("durations and severities: %+v %+v", defs[1], defs[3])
	}
	s := mustCompile(t, nil, defs...)

	// What Def returns marshals to what reads back as the same rule.
	b, err := json.Marshal(defs)
	if err != nil {
		t.Fatal(err)
	}
	var back []Def
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	s2 := mustCompile(t, s, back...)
	for _, r := range s.Rules() {
		if r2, _ := s2.Rule(r.Name()); r2 != r {
			t.Errorf("%s: not the same rule after a JSON round trip:\n%s", r.Name(), b)
		}
	}

	for _, c := range []struct{ src, msg string }{
		{`{"for": "soon"}`, `"soon" is not a duration`},
		{`{"for": "30"}`, `"30" is not a duration`},
	} {
		var l LevelDef
		if err := json.Unmarshal([]byte(c.src), &l); err == nil || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%s: %v, want %q", c.src, err, c.msg)
		}
	}
	var d Def
	if err := json.Unmarshal([]byte(`{"severity": "red"}`), &d); err == nil || !strings.Contains(err.Error(), "unknown severity") {
		t.Errorf("severity red: %v", err)
	}
	if err := json.Unmarshal([]byte(`{"where": {"system": 3}}`), &d); err == nil || !strings.Contains(err.Error(), "a string or a list of strings") {
		t.Errorf("where of a number: %v", err)
	}
	// null is no values, which Compile refuses; not a value "".
	d = Def{}
	if err := json.Unmarshal([]byte(`{"name": "r", "match": "**", "where": {"system": null}, "critical": {"when": "value > 1"}}`), &d); err != nil {
		t.Fatal(err)
	}
	if d.Where["system"] != nil {
		t.Errorf("null read as %q", d.Where["system"])
	}
	if _, errs := CompileOne(d); len(errs) != 1 || errs[0].Field != "where.system" {
		t.Errorf("a null selector compiled: %v", errs)
	}
}

func TestDurationText(t *testing.T) {
	for _, d := range []time.Duration{0, 500 * time.Millisecond, 30 * time.Second, 90 * time.Minute} {
		b, err := Duration(d).MarshalText()
		if err != nil {
			t.Fatal(err)
		}
		var back Duration
		if err := back.UnmarshalText(b); err != nil || time.Duration(back) != d {
			t.Errorf("%v → %s → %v, %v", d, b, time.Duration(back), err)
		}
	}
}

func ExampleCompile() {
	_, errs := Compile([]Def{
		{Name: "cpu", Match: "*/*/cpu/cpu/*/utilisation", Critical: &LevelDef{When: "value > 90 and\n  vlaue < 100"}},
		{Name: "cpu", Match: "*/*/cpu/cpu//utilisation", Warning: &LevelDef{When: "value > 75"}},
	}, nil)
	for _, e := range errs {
		fmt.Println(e)
	}
	// Output:
	// rule cpu: critical.when (2:3): unknown name vlaue
	// rule cpu: name: the name is already taken by rule 1
}

// for at a rule's top level belongs to absence rules only.
func TestForOnlyOnAbsenceRules(t *testing.T) {
	ten := Duration(10e9)
	if _, errs := CompileOne(Def{Name: "a", Match: "*/*/*/*", Rows: []string{"x"}, For: ten, Severity: Warning}); errs != nil {
		t.Fatalf("absence rule with for: %v", errs)
	}
	_, errs := CompileOne(Def{Name: "s", Match: "*/*/*/*", Stale: &ten, For: ten, Severity: Warning})
	if len(errs) != 1 || errs[0].Field != "for" {
		t.Fatalf("staleness rule with for: %v", errs)
	}
	_, errs = CompileOne(Def{Name: "n", Match: "*/*/*/*", Rows: []string{"x"}, For: -ten, Severity: Warning})
	if len(errs) != 1 || errs[0].Field != "for" {
		t.Fatalf("negative for: %v", errs)
	}
}
