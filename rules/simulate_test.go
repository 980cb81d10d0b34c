package rules

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/watchfloor/watchfloor/samplers"
)

// simCase is a table entry for TestSimulate: rules, the samples of the
// cells and, at each time, the severity each cell must have ("warning",
// or "warning by cpu" to name the rule).
type simCase struct {
	name    string
	rules   []Def
	attrs   map[string]string
	samples []string // "10s path text"
	expect  []string // "10s path severity [by rule]"
}

func TestSimulate(t *testing.T) {
	const cpu = "h/OMS/cpu/cpu/total/utilisation"
	cpuRules := []Def{{
		Name:     "cpu",
		Match:    "*/*/cpu/cpu/*/utilisation",
		Critical: &LevelDef{When: "value > 90", For: Duration(30 * time.Second)},
		Warning:  &LevelDef{When: "value > 75"},
	}}
	tests := []simCase{
		{
			name:  "a level fires when its for has passed, with no sample then",
			rules: cpuRules,
			samples: []string{
				"0s " + cpu + " 50",
				"10s " + cpu + " 95",
			},
			expect: []string{
				"0s " + cpu + " ok by cpu",
				"10s " + cpu + " warning by cpu",
				"39s " + cpu + " warning",
				"40s " + cpu + " critical by cpu",
				"2h " + cpu + " critical",
			},
		},
		{
			name:  "a break in the condition starts its for again",
			rules: cpuRules,
			samples: []string{
				"0s " + cpu + " 95",
				"20s " + cpu + " 50",
				"25s " + cpu + " 95",
			},
			expect: []string{
				"20s " + cpu + " ok",
				"30s " + cpu + " warning", // the first run's deadline: it broke at 20s
				"54s " + cpu + " warning",
				"55s " + cpu + " critical",
			},
		},
		{
			name: "keep_firing_for holds a level after its condition stops",
			rules: []Def{{
				Name:     "cpu",
				Match:    "*/*/cpu/cpu/*/utilisation",
				Critical: &LevelDef{When: "value > 90", KeepFiringFor: Duration(20 * time.Second)},
			}},
			samples: []string{
				"0s " + cpu + " 95",
				"10s " + cpu + " 50",
				"15s " + cpu + " 96",
				"20s " + cpu + " 40",
			},
			expect: []string{
				"0s " + cpu + " critical",
				"10s " + cpu + " critical",
				"29s " + cpu + " critical", // held from 10s, but 15s held again
				"39s " + cpu + " critical", // held from 20s
				"40s " + cpu + " ok",
			},
		},
		{
			name: "clear holds a level until it holds",
			rules: []Def{{
				Name:     "cpu",
				Match:    "*/*/cpu/cpu/*/utilisation",
				Critical: &LevelDef{When: "value > 90", Clear: "value < 80"},
			}},
			samples: []string{
				"0s " + cpu + " 95",
				"10s " + cpu + " 85",
				"20s " + cpu + " 70",
			},
			expect: []string{
				"10s " + cpu + " critical",
				"20s " + cpu + " ok",
			},
		},
		{
			name: "rate reads a counter, and a decrease as a reset",
			rules: []Def{{
				Name:    "orders",
				Match:   "*/*/fix/sessions/*/messages",
				Warning: &LevelDef{When: "rate > 5"},
			}},
			samples: []string{
				"0s h/OMS/fix/sessions/LSE/messages 100",
				"10s h/OMS/fix/sessions/LSE/messages 200", // 10/s
				"20s h/OMS/fix/sessions/LSE/messages 70",  // reset: 70 in 10s, 7/s
				"30s h/OMS/fix/sessions/LSE/messages 80",  // 1/s
			},
			expect: []string{
				"0s h/OMS/fix/sessions/LSE/messages ok",
				"10s h/OMS/fix/sessions/LSE/messages warning",
				"20s h/OMS/fix/sessions/LSE/messages warning",
				"30s h/OMS/fix/sessions/LSE/messages ok",
			},
		},
		{
			name: "row and headlines are the cell's own siblings",
			rules: []Def{
				{Name: "disk", Match: "*/*/disk/disks/*/used", Warning: &LevelDef{When: "value > row.size * 0.9"}},
				{Name: "session", Match: "*/*/fix/sessions/*/state", Critical: &LevelDef{When: `value != "up" && headlines.market == "open"`}},
			},
			samples: []string{
				"0s h/OMS/disk/disks/%2Fvar/size 100",
				"0s h/OMS/disk/disks/%2Fhome/size 1000",
				"0s h/OMS/disk/disks/%2Fvar/used 95",
				"0s h/OMS/disk/disks/%2Fhome/used 95",
				"0s h/OMS/fix/sessions/#/market closed",
				"0s h/OMS/fix/sessions/LSE/state down",
				"10s h/OMS/fix/sessions/#/market open",
				"10s h/OMS/fix/sessions/XETRA/state down",
			},
			expect: []string{
				"0s h/OMS/disk/disks/%2Fvar/used warning",
				"0s h/OMS/disk/disks/%2Fhome/used ok",
				"0s h/OMS/fix/sessions/LSE/state ok",
				// Judged when its own value changes: LSE did not change
				// at 10s, XETRA did, and saw the market open.
				"10s h/OMS/fix/sessions/LSE/state ok",
				"10s h/OMS/fix/sessions/XETRA/state critical",
			},
		},
		{
			name: "age is judged again on each sample of the dataview",
			rules: []Def{{
				Name:     "stuck",
				Match:    "*/*/logs/logs/*/last_line",
				Critical: &LevelDef{When: "age >= 30"},
			}},
			samples: []string{
				"0s h/OMS/logs/logs/%2Fvar%2Flog%2Foms.log/last_line hello",
				"0s h/OMS/logs/logs/%2Fvar%2Flog%2Foms.log/size 10",
				"20s h/OMS/logs/logs/%2Fvar%2Flog%2Foms.log/size 20",
				"40s h/OMS/logs/logs/%2Fvar%2Flog%2Foms.log/size 30",
				"50s h/OMS/logs/logs/%2Fvar%2Flog%2Foms.log/last_line bye",
			},
			expect: []string{
				"20s h/OMS/logs/logs/%2Fvar%2Flog%2Foms.log/last_line ok",
				"39s h/OMS/logs/logs/%2Fvar%2Flog%2Foms.log/last_line ok", // not sampled since 20s
				"40s h/OMS/logs/logs/%2Fvar%2Flog%2Foms.log/last_line critical",
				"50s h/OMS/logs/logs/%2Fvar%2Flog%2Foms.log/last_line ok",
			},
		},
		{
			name: "a sample of an unchanged value is no change",
			rules: []Def{{
				Name:    "flat",
				Match:   "*/*/fix/sessions/*/messages",
				Warning: &LevelDef{When: "value == previous"},
			}},
			samples: []string{
				"0s h/OMS/fix/sessions/LSE/messages 5",
				"10s h/OMS/fix/sessions/LSE/messages 6",
				"20s h/OMS/fix/sessions/LSE/messages 6",
			},
			expect: []string{
				"0s h/OMS/fix/sessions/LSE/messages warning", // previous is the value itself at first
				"10s h/OMS/fix/sessions/LSE/messages ok",
				"20s h/OMS/fix/sessions/LSE/messages ok", // previous is still 5
			},
		},
		{
			name: "most severe wins, and names its rule",
			rules: []Def{
				{Name: "a-warn", Match: "*/*/cpu/cpu/*/utilisation", Warning: &LevelDef{When: "value > 50"}},
				{Name: "b-crit", Match: "*/*/cpu/cpu/*/utilisation", Critical: &LevelDef{When: "value > 80"}},
				{Name: "c-warn", Match: "**", Warning: &LevelDef{When: "value > 10"}},
			},
			samples: []string{
				"0s " + cpu + " 60",
				"10s " + cpu + " 90",
			},
			expect: []string{
				"0s " + cpu + " warning by a-warn",
				"10s " + cpu + " critical by b-crit",
			},
		},
		{
			name: "attributes select rules",
			rules: []Def{
				{Name: "prod", Match: "**", Where: map[string]Values{"environment": {"production"}}, Critical: &LevelDef{When: "value > 90"}},
				{Name: "uat", Match: "**", Where: map[string]Values{"environment": {"uat"}}, Warning: &LevelDef{When: "value > 90"}},
			},
			attrs:   map[string]string{"environment": "uat"},
			samples: []string{"0s " + cpu + " 95"},
			expect:  []string{"0s " + cpu + " warning by uat"},
		},
		{
			name:    "times past the end of Unix time end, and pending deadlines there are never met",
			rules:   cpuRules,
			samples: []string{"2500000h " + cpu + " 95"},
			expect:  []string{"2500000h " + cpu + " warning", "2562047h " + cpu + " warning"},
		},
		{
			name:    "a cell with no rule, or no sample, is undefined",
			rules:   cpuRules,
			samples: []string{"0s h/OMS/cpu/cpu/total/idle 5"},
			expect: []string{
				"0s h/OMS/cpu/cpu/total/idle undefined",
				"0s " + cpu + " undefined",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, c := tt.build(t)
			res := Simulate(s, c)
			for _, f := range res.Failures {
				t.Errorf("%s", simDescribe(f))
			}
			for _, e := range res.Errors {
				t.Errorf("at %v, %s: rule %s: %v", e.At, e.Cell, e.Rule, e.Err)
			}
		})
	}
}

// TestSimulateReportsFailures checks that an expectation not met is
// reported with what was found, in the order of the expectations' times,
// and that a condition failing at run time is reported and leaves the
// cell undefined.
func TestSimulateReportsFailures(t *testing.T) {
	const cpu = "h/OMS/cpu/cpu/total/utilisation"
	s, c := simCase{
		rules: []Def{
			{Name: "cpu", Match: "*/*/cpu/*/*/utilisation", Critical: &LevelDef{When: "value > 90", For: Duration(30 * time.Second)}},
			{Name: "text", Match: "*/*/cpu/*/*/state", Critical: &LevelDef{When: "value > 1"}},
		},
		samples: []string{
			"0s " + cpu + " 95",
			"0s h/OMS/cpu/cpu/total/state busy",
		},
		expect: []string{
			"40s " + cpu + " critical by other", // wrong rule
			"10s " + cpu + " critical",          // too early
			"20s " + cpu + " ok",                // met: pending is ok
			"0s h/OMS/cpu/cpu/total/state critical",
			"50s h/OMS/cpu/cpu/total/idle ok",
		},
	}.build(t)
	res := Simulate(s, c)
	var got []string
	for _, f := range res.Failures {
		got = append(got, simDescribe(f))
	}
	want := []string{
		"#3 at 0s h/OMS/cpu/cpu/total/state = busy: got undefined, want critical",
		"#1 at 10s h/OMS/cpu/cpu/total/utilisation = 95: got ok by cpu, want critical",
		"#0 at 40s h/OMS/cpu/cpu/total/utilisation = 95: got critical by cpu, want critical by other",
		"#4 at 50s h/OMS/cpu/cpu/total/idle (no value): got undefined, want ok",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("failures\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if len(res.Errors) != 1 || res.Errors[0].Rule != "text" || res.Errors[0].At != 0 ||
		res.Errors[0].Cell.Column != "state" || res.Errors[0].Err == nil {
		t.Errorf("errors = %+v, want the text rule's failure at 0s", res.Errors)
	}
}

// TestSimulateDeadlineBeforeSample checks that a deadline due at the time
// of a sample is met before the sample: the level fires, and the sample
// then ends it.
func TestSimulateDeadlineBeforeSample(t *testing.T) {
	const cpu = "h/OMS/cpu/cpu/total/utilisation"
	s, c := simCase{
		rules: []Def{{
			Name:     "cpu",
			Match:    "*/*/cpu/cpu/*/utilisation",
			Critical: &LevelDef{When: "value > 90", For: Duration(10 * time.Second), KeepFiringFor: Duration(5 * time.Second)},
		}},
		samples: []string{"0s " + cpu + " 95", "10s " + cpu + " 50"},
		expect:  []string{"10s " + cpu + " critical", "14s " + cpu + " critical", "15s " + cpu + " ok"},
	}.build(t)
	for _, f := range Simulate(s, c).Failures {
		t.Errorf("%s", simDescribe(f))
	}
}

func simDescribe(f Failure) string {
	value := "(no value)"
	if f.Sampled {
		value = "= " + f.Value
	}
	return fmt.Sprintf("#%d at %v %s %s: got %s, want %s", f.Index, f.At, f.Cell, value, simBySev(f.Got, f.GotRule), simBySev(f.Severity, f.Rule))
}

func simBySev(s Severity, rule string) string {
	if rule == "" {
		return s.String()
	}
	return s.String() + " by " + rule
}

func (tt simCase) build(t *testing.T) (*Set, *Case) {
	t.Helper()
	s, errs := Compile(tt.rules, nil)
	if errs != nil {
		t.Fatalf("compile: %v", errs)
	}
	c := &Case{Name: tt.name, Attrs: tt.attrs}
	for _, line := range tt.samples {
		f := strings.Fields(line)
		c.Samples = append(c.Samples, Sample{At: simDuration(t, f[0]), Cell: simPath(t, f[1]), Text: f[2]})
	}
	for _, line := range tt.expect {
		f := strings.Fields(line)
		sev, err := ParseSeverity(f[2])
		if err != nil {
			t.Fatal(err)
		}
		e := Expectation{At: simDuration(t, f[0]), Cell: simPath(t, f[1]), Severity: sev}
		if len(f) == 5 && f[3] == "by" {
			e.Rule = f[4]
		}
		c.Expect = append(c.Expect, e)
	}
	return s, c
}

func simDuration(t *testing.T, s string) time.Duration {
	t.Helper()
	d, err := time.ParseDuration(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func simPath(t *testing.T, s string) samplers.CellPath {
	t.Helper()
	p, err := samplers.ParseCellPath(s)
	if err != nil {
		t.Fatal(err)
	}
	return p
}
