package rules

import (
	"reflect"
	"testing"
	"time"
)

func TestThresholds(t *testing.T) {
	f := func(name string, d Def, want []Threshold) {
		t.Helper()
		t.Run(name, func(t *testing.T) {
			if d.Name == "" {
				d.Name = "r"
			}
			if d.Match == "" {
				d.Match = "**"
			}
			r, errs := CompileOne(d)
			if errs != nil {
				t.Fatalf("compile: %v", errs)
			}
			if got := r.Thresholds(); !reflect.DeepEqual(got, want) {
				t.Errorf("Thresholds() = %+v, want %+v", got, want)
			}
		})
	}
	f("one level", Def{Critical: &LevelDef{When: "value > 90"}},
		[]Threshold{{Level: Critical, Op: ">", Value: 90}})
	f("critical first, then warning", Def{Warning: &LevelDef{When: "value >= 80"}, Critical: &LevelDef{When: "value > 90.5"}},
		[]Threshold{{Level: Critical, Op: ">", Value: 90.5}, {Level: Warning, Op: ">=", Value: 80}})
	f("the number on the left is turned round", Def{Critical: &LevelDef{When: "10 > value"}},
		[]Threshold{{Level: Critical, Op: "<", Value: 10}})
	f("a negative number", Def{Warning: &LevelDef{When: "value <= -5"}},
		[]Threshold{{Level: Warning, Op: "<=", Value: -5}})
	f("inside and, or and not", Def{Critical: &LevelDef{When: "value > 90 and rate > 1 or not (value < 3)"}},
		[]Threshold{{Level: Critical, Op: ">", Value: 90}, {Level: Critical, Op: "<", Value: 3}})
	f("a band", Def{Critical: &LevelDef{When: "value < 10 or value > 95"}},
		[]Threshold{{Level: Critical, Op: "<", Value: 10}, {Level: Critical, Op: ">", Value: 95}})
	f("clear conditions", Def{Critical: &LevelDef{When: "value > 90", Clear: "value < 80"}},
		[]Threshold{{Level: Critical, Op: ">", Value: 90}, {Level: Critical, Op: "<", Value: 80, Clear: true}})
	f("each once", Def{Critical: &LevelDef{When: "value > 90 and (value > 90 or age > 60)"}},
		[]Threshold{{Level: Critical, Op: ">", Value: 90}})
	f("nothing constant to compare with", Def{Critical: &LevelDef{When: "value > row.limit and rate > 5"}}, nil)
	f("text and other inputs", Def{Critical: &LevelDef{When: `text == "down" or previous > 3 or age > 60`}}, nil)
	f("a staleness rule", Def{Match: "*/*/*/*", Stale: durp(30 * time.Second), Severity: Critical}, nil)
	f("a phase's own levels", Def{
		Critical: &LevelDef{When: "value > 90"},
		Phases:   map[string]*PhaseLevels{"eod": {Critical: &LevelDef{When: "value > 99"}, Warning: &LevelDef{When: "value > 90"}}},
	}, []Threshold{
		{Level: Critical, Op: ">", Value: 90},
		{Level: Critical, Op: ">", Value: 99, Phase: "eod"},
		{Level: Warning, Op: ">", Value: 90, Phase: "eod"},
	})
}
