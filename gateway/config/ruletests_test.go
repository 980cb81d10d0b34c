package config_test

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/watchfloor/watchfloor/gateway/config"
	"github.com/watchfloor/watchfloor/rules"
	"github.com/watchfloor/watchfloor/samplers"
)

// TestLoadRuleTests checks what a rule test file decodes to: samples and
// expectations with their times, paths and lines, and the rule set.
func TestLoadRuleTests(t *testing.T) {
	const file = "testdata/ruletests/inline.good.yaml"
	rt, err := config.LoadRuleTests(file)
	if err != nil {
		t.Fatal(err)
	}
	if rt.File != file || rt.RulesFile != file {
		t.Errorf("File, RulesFile = %q, %q; want %q for both", rt.File, rt.RulesFile, file)
	}
	if _, ok := rt.Rules.Rule("cpu-busy"); !ok || rt.Rules.Len() != 1 {
		t.Errorf("rules = %v, want cpu-busy alone", rt.Rules.Rules())
	}
	dv := samplers.DataviewPath{Probe: "srv1", Entity: "OMS", Sampler: "cpu", Dataview: "cpu"}
	util, count := dv.Cell("total", "utilisation"), dv.HeadlineCell("count")
	want := []config.RuleTest{
		{
			Case: rules.Case{
				Name:  "CPU goes critical after 30 s above 90",
				Attrs: map[string]string{"system": "OMS"},
				Samples: []rules.Sample{
					{At: 0, Cell: util, Text: "50"},
					{At: 10 * time.Second, Cell: util, Text: "95"},
					{At: time.Minute, Cell: util, Text: "50"},
					{At: 0, Cell: count, Text: "4"},
				},
				Expect: []rules.Expectation{
					{At: 0, Cell: util, Severity: rules.OK},
					{At: 39 * time.Second, Cell: util, Severity: rules.Warning},
					{At: 40 * time.Second, Cell: util, Severity: rules.Critical, Rule: "cpu-busy"},
					{At: 40 * time.Second, Cell: count, Severity: rules.OK},
					{At: time.Minute, Cell: util, Severity: rules.OK, Rule: "cpu-busy"},
				},
			},
			Line:        9,
			ExpectLines: []int{18, 19, 21, 22, 23},
		},
		{
			Case: rules.Case{
				Name:    "Other systems are not judged",
				Attrs:   map[string]string{"system": "SOR"},
				Samples: []rules.Sample{{At: 0, Cell: samplers.DataviewPath{Probe: "srv1", Entity: "SOR", Sampler: "cpu", Dataview: "cpu"}.Cell("total", "utilisation"), Text: "99"}},
				Expect: []rules.Expectation{
					{At: time.Hour, Cell: samplers.DataviewPath{Probe: "srv1", Entity: "SOR", Sampler: "cpu", Dataview: "cpu"}.Cell("total", "utilisation"), Severity: rules.Undefined},
				},
			},
			Line:        24,
			ExpectLines: []int{29},
		},
	}
	if !reflect.DeepEqual(rt.Tests, want) {
		t.Errorf("tests =\n%+v\nwant\n%+v", rt.Tests, want)
	}
}

// TestLoadRuleTestsFromConfig checks that config names a configuration
// relative to the test file, whose rules are tested.
func TestLoadRuleTestsFromConfig(t *testing.T) {
	rt, err := config.LoadRuleTests("testdata/ruletests/config.good.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join("testdata", "rules.good.yaml"); rt.RulesFile != want {
		t.Errorf("RulesFile = %q, want %q", rt.RulesFile, want)
	}
	if _, ok := rt.Rules.Rule("disk-full"); !ok || rt.Rules.Len() != 5 {
		t.Errorf("rules = %v, want the configuration's 5", rt.Rules.Rules())
	}
}

// TestBadRuleTestFiles checks that every testdata/ruletests/NAME.bad.yaml
// fails with exactly the errors in NAME.bad.errors.
func TestBadRuleTestFiles(t *testing.T) {
	badFiles(t, "testdata/ruletests/*.bad.yaml", func(file string) (any, error) { return config.LoadRuleTests(file) })
}

func TestLoadRuleTestsMissingFile(t *testing.T) {
	_, err := config.LoadRuleTests("testdata/ruletests/no-such-file.yaml")
	var errs config.Errors
	if err == nil || errors.As(err, &errs) || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("err = %v, want a read error that is not config.Errors", err)
	}
}
