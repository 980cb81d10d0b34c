package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/watchfloor/watchfloor/rules"
	"github.com/watchfloor/watchfloor/samplers"
)

// RuleTests is a file of unit tests for rules, which `gateway test-rules`
// runs (docs/rule-tests.md describes the file).
type RuleTests struct {
	// File is where the tests were read from.
	File string
	// RulesFile is where the rules under test were read from: the
	// configuration File names, or File itself for rules written in it.
	RulesFile string
	// Rules is the compiled rule set under test.
	Rules *rules.Set
	Tests []RuleTest
}

// RuleTest is one test: the case to simulate, and where it is written.
type RuleTest struct {
	rules.Case
	// Line is the line of the test in File; ExpectLines[i] is the line
	// of Case.Expect[i].
	Line        int
	ExpectLines []int
}

// LoadRuleTests reads a rule test file, and the configuration it names.
// A file that cannot be read gives an ordinary error; a file that is not
// a valid test file, or names a configuration that is not valid, gives
// Errors: the test file's in file order, then the configuration's.
func LoadRuleTests(file string) (*RuleTests, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("load rule tests: %w", err)
	}
	return parseRuleTests(file, data, Load)
}

// expectAt is where an expectation is written, for the checks made once
// the rules are known.
type expectAt struct {
	test, i int
	field   string
}

// parseRuleTests parses a rule test file; load reads the configuration
// it names.
func parseRuleTests(file string, data []byte, load func(file string) (*Config, error)) (*RuleTests, error) {
	d := newDecoder(file, "the rule test file")
	root, ok := d.parse(data)
	if !ok {
		return nil, d.errs.err()
	}
	rt := &RuleTests{File: file}
	var (
		configFile        string
		hasConfig, inline bool
		defs              []rules.Def
		expects           []expectAt
		configErrs        Errors
		names             = map[string]string{}
		v                 = &validator{file: file, place: d.place, skip: d.skip, text: d.textPlace}
	)
	root.object(
		optional("config", func(v value) {
			hasConfig = true
			configFile, _ = v.str()
		}),
		optional("rules", func(v value) { defs, inline = ruleDefs(v), true }),
		required("tests", func(v value) {
			for i, item := range v.items() {
				t, es := ruleTest(item)
				for _, e := range es {
					expects = append(expects, expectAt{test: i, i: e.i, field: e.field})
				}
				rt.Tests = append(rt.Tests, t)
			}
		}),
	)
	if len(rt.Tests) == 0 && !v.skipped("tests") {
		v.errorf("tests", "write some tests")
	}
	for i, t := range rt.Tests {
		f := index("tests", i)
		v.unique(f+".name", "test", t.Name, names, f)
		if len(t.Samples) == 0 && !v.skipped(f+".cells") {
			v.errorf(f+".cells", "give some cells their values over time")
		}
		if len(t.Expect) == 0 && !v.skipped(f+".expect") {
			v.errorf(f+".expect", "say what severities the cells must have, and when")
		}
	}

	rulesRead := false
	switch {
	case hasConfig && inline:
		v.errorf("rules", "the rules come from config or from rules, not both")
	case hasConfig:
		if v.skipped("config") || !v.nonEmpty("config", configFile) {
			break
		}
		rt.RulesFile = configFile
		if !filepath.IsAbs(configFile) {
			rt.RulesFile = filepath.Join(filepath.Dir(file), configFile)
		}
		c, err := load(rt.RulesFile)
		var errs Errors
		switch {
		case errors.As(err, &errs):
			configErrs = errs
		case err != nil:
			v.errorf("config", "%v", err)
		default:
			defs, rulesRead = c.Rules, true
		}
	case inline:
		rt.RulesFile = file
		v.rules(defs)
		rulesRead = !v.skipped("rules")
	case !d.skip(""):
		v.errorf("", "say whose rules to test: config: FILE, a gateway configuration, or rules: a list of rules")
	}
	if rulesRead {
		var errs rules.Errors
		if rt.Rules, errs = rules.Compile(defs, nil); errs == nil {
			v.expectations(rt, expects)
		}
	}
	errs := append(d.errs, v.errs...)
	if len(errs) == 0 && configErrs == nil {
		return rt, nil
	}
	errs.err() // sorts them into file order
	return nil, append(errs, configErrs...)
}

// expectations checks what the tests expect against the rules and the
// cells: a rule named must be a cell rule of the set, and a cell must have
// samples in its test (else it is surely a typo).
func (v *validator) expectations(rt *RuleTests, expects []expectAt) {
	for _, e := range expects {
		t := &rt.Tests[e.test]
		want := t.Expect[e.i]
		if want.Rule != "" {
			switch r, ok := rt.Rules.Rule(want.Rule); {
			case !ok:
				v.errorf(e.field, "no rule is named %q", want.Rule)
			case r.Kind() != rules.CellRule:
				v.errorf(e.field, "rule %q is a %s rule: tests judge cells, by cell rules", want.Rule, r.Kind())
			}
		}
		sampled := false
		for _, s := range t.Samples {
			if s.Cell == want.Cell {
				sampled = true
				break
			}
		}
		if !sampled {
			v.errorf(e.field, "cell %s has no values in this test: give it some under cells", want.Cell)
		}
	}
}

// expectField is an expectation decoded, with its field path.
type expectField struct {
	i     int
	field string
}

// ruleTest decodes one test.
func ruleTest(v value) (RuleTest, []expectField) {
	t := RuleTest{Line: v.at.line}
	var expects []expectField
	v.object(
		required("name", setStr(&t.Name)),
		optional("attributes", func(v value) { t.Attrs = attributes(v) }),
		required("cells", func(v value) {
			es, _ := v.entries("a mapping of cell paths to their values by time")
			for _, e := range es {
				path, ok := cellPath(e)
				if e.val.kind == scalar {
					// A cell that keeps one value: its value from the start.
					if text, _ := e.val.str(); ok {
						t.Samples = append(t.Samples, rules.Sample{At: 0, Cell: path, Text: text})
					}
					continue
				}
				times, _ := e.val.entries("a value, or a mapping of times to values")
				seen := map[time.Duration]entry{}
				for _, te := range times {
					at, ok2 := testTime(te, seen)
					text, ok3 := cellText(te.val)
					if ok && ok2 && ok3 {
						t.Samples = append(t.Samples, rules.Sample{At: at, Cell: path, Text: text})
					}
				}
			}
		}),
		required("expect", func(v value) {
			es, _ := v.entries("a mapping of times to the severities expected of cells")
			seen := map[time.Duration]entry{}
			for _, te := range es {
				at, ok := testTime(te, seen)
				cells, _ := te.val.entries("a mapping of cell paths to severities")
				for _, ce := range cells {
					path, ok2 := cellPath(ce)
					sev, rule, ok3 := expected(ce.val)
					if ok && ok2 && ok3 {
						expects = append(expects, expectField{i: len(t.Expect), field: ce.val.path})
						t.Expect = append(t.Expect, rules.Expectation{At: at, Cell: path, Severity: sev, Rule: rule})
						t.ExpectLines = append(t.ExpectLines, ce.at.line)
					}
				}
			}
		}),
	)
	return t, expects
}

// cellPath decodes a key that is a cell path.
func cellPath(e entry) (samplers.CellPath, bool) {
	p, err := samplers.ParseCellPath(e.key)
	if err != nil {
		e.val.d.errorAt(e.at, e.val.path, "%v", err)
		e.val.d.bad[e.val.path] = true
		return p, false
	}
	return p, true
}

// testTime decodes a key that is a time from the test's start, which
// seen must not hold yet (written another way, like 1m and 60s).
func testTime(e entry, seen map[time.Duration]entry) (time.Duration, bool) {
	d := e.val.d
	t, err := time.ParseDuration(e.key)
	switch {
	case err != nil:
		d.errorAt(e.at, e.val.path, "%q is not a time from the test's start (like 0s, 30s or 1m30s)", e.key)
	case t < 0:
		d.errorAt(e.at, e.val.path, "a time from the test's start is 0s or more, not %s", e.key)
	default:
		if first, dup := seen[t]; dup {
			d.errorAt(e.at, e.val.path, "%s is the same time as %s (line %d)", e.key, first.key, first.at.line)
			break
		}
		seen[t] = e
		return t, true
	}
	d.bad[e.val.path] = true
	return 0, false
}

// cellText decodes a cell's value: any scalar, as written.
func cellText(v value) (string, bool) {
	switch v.kind {
	case scalar:
		return v.str()
	case null:
		v.fail(`must be a value (write "" for an empty one)`)
	default:
		v.mustBe("a value")
	}
	return "", false
}

// expected decodes "warning", or "warning by cpu-busy".
func expected(v value) (sev rules.Severity, rule string, ok bool) {
	s, ok := v.str()
	if !ok {
		return 0, "", false
	}
	f := strings.Fields(s)
	if len(f) == 3 && f[1] == "by" {
		rule = f[2]
	} else if len(f) != 1 {
		v.fail(`%q: want a severity (undefined, ok, warning or critical), maybe followed by "by" and a rule's name`, s)
		return 0, "", false
	}
	sev, err := rules.ParseSeverity(f[0])
	switch {
	case err != nil:
		v.fail(`%q: want a severity (undefined, ok, warning or critical), maybe followed by "by" and a rule's name`, s)
		return 0, "", false
	case sev == rules.Undefined && rule != "":
		v.fail("%q: no rule gives undefined", s)
		return 0, "", false
	}
	return sev, rule, true
}
