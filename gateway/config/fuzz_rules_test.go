package config

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/watchfloor/watchfloor/rules"
)

// FuzzParseRuleTests checks that a rule test file never makes the parser
// panic, that every error it reports is placed in the file (line and
// column from 1), and that what it accepts holds only what the simulation
// can run: a compiled set, samples and expectations with their lines.
// The configuration a file names is one fixed in memory, so the fuzzer
// reads no files.
func FuzzParseRuleTests(f *testing.F) {
	files, err := filepath.Glob("testdata/ruletests/*.yaml")
	if err != nil {
		f.Fatal(err)
	}
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	cfg := &Config{Rules: []rules.Def{{Name: "cpu-busy", Match: "**", Critical: &rules.LevelDef{When: "value > 90"}}}}
	load := func(file string) (*Config, error) {
		if file == "gateway.yaml" {
			return cfg, nil
		}
		return nil, errors.New("no such configuration")
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		const name = "fuzz.yaml"
		rt, err := parseRuleTests(name, data, load)
		if err != nil {
			var errs Errors
			if !errors.As(err, &errs) || len(errs) == 0 || rt != nil {
				t.Fatalf("parseRuleTests: %v %T %v, want non-empty Errors alone", rt, err, err)
			}
			for _, e := range errs {
				if e.File != name || e.Line < 1 || e.Column < 1 || e.Msg == "" {
					t.Fatalf("badly placed error %#v", e)
				}
			}
			return
		}
		if rt.Rules == nil || len(rt.Tests) == 0 {
			t.Fatalf("accepted with no rules or no tests: %+v", rt)
		}
		for _, tt := range rt.Tests {
			if len(tt.Samples) == 0 || len(tt.Expect) == 0 || len(tt.ExpectLines) != len(tt.Expect) {
				t.Fatalf("test %q accepted with %d samples, %d expectations, %d lines", tt.Name, len(tt.Samples), len(tt.Expect), len(tt.ExpectLines))
			}
			rules.Simulate(rt.Rules, &tt.Case)
		}
	})
}

// FuzzParseRule checks that ParseRule never panics, places every error in
// the document, and accepts only a rule that compiles on its own.
func FuzzParseRule(f *testing.F) {
	for _, seed := range []string{
		`{"name": "cpu", "match": "*/*/cpu/cpu/*/utilisation", "critical": {"when": "value > 90", "for": "30s"}}`,
		"name: cpu\nmatch: \"*/*/cpu/cpu/*/u\"\ncritical:\n  when: |\n    value > 90\n      && vlaue\n",
		"name: s\nmatch: '*/*/c/c'\nstale: 1m\nseverity: warning\nwhere: {a: [x, y]}\n",
		`{"name": "x", "match": "*", "probe_down": "0s", "severity": "critical", "warning": {"when": "text == \"a\\tb\" && bad"}}`,
		"name: r\nmatch: '*/*/c/c/*/v'\ncritical: {when: value < 1}\nincident:\n  open: warning\n  notify: [hook]\n  title: |\n    {{.Rule}} on\n    {{.Entity}}\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		const name = "rule.yaml"
		def, err := ParseRule(name, data)
		if err != nil {
			var errs Errors
			if !errors.As(err, &errs) || len(errs) == 0 {
				t.Fatalf("ParseRule: %T %v, want non-empty Errors", err, err)
			}
			for _, e := range errs {
				if e.File != name || e.Line < 1 || e.Column < 1 || e.Msg == "" {
					t.Fatalf("badly placed error %#v", e)
				}
			}
			return
		}
		if _, errs := rules.CompileOne(def); errs != nil {
			t.Fatalf("ParseRule accepted what CompileOne refuses: %v", errs)
		}
	})
}
