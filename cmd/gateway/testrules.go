package main

import (
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/watchfloor/watchfloor/gateway/config"
	"github.com/watchfloor/watchfloor/rules"
)

// testRules is `gateway test-rules FILE`: it runs the unit tests of rules
// in FILE (docs/rule-tests.md). The report goes to stdout: each failing
// test with what it expected and what it got, then a summary; the exit
// status is 1 if a test failed. Problems in the file, or in the
// configuration it names, go to stderr as FILE:LINE:COL: field: message,
// with status 1. A usage error is status 2.
func testRules(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("gateway test-rules", flag.ContinueOnError)
	fs.SetOutput(stderr)
	verbose := fs.Bool("v", false, "name each test as it passes, too")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: gateway test-rules [-v] FILE\n\nRuns the unit tests of rules in FILE (see docs/rule-tests.md).")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return 2
	}
	rt, err := config.LoadRuleTests(fs.Arg(0))
	if err != nil {
		return loadFailed(stderr, "gateway test-rules", err)
	}
	failed := 0
	for i := range rt.Tests {
		t := &rt.Tests[i]
		res := rules.Simulate(rt.Rules, &t.Case)
		if len(res.Failures) == 0 {
			if *verbose {
				fmt.Fprintf(stdout, "--- PASS: %s (%s:%d)\n", t.Name, rt.File, t.Line)
			}
			continue
		}
		failed++
		fmt.Fprintf(stdout, "--- FAIL: %s (%s:%d)\n", t.Name, rt.File, t.Line)
		for _, f := range res.Failures {
			value := "no value yet"
			if f.Sampled {
				value = fmt.Sprintf("value %q", f.Value)
			}
			fmt.Fprintf(stdout, "    %s:%d: at %v, %s (%s)\n", rt.File, t.ExpectLines[f.Index], f.At, f.Cell, value)
			fmt.Fprintf(stdout, "        got:  %s\n        want: %s\n", bySeverity(f.Got, f.GotRule), bySeverity(f.Severity, f.Rule))
		}
		for _, e := range res.Errors {
			msg, _, _ := strings.Cut(e.Err.Error(), "\n") // the rest quotes the condition
			fmt.Fprintf(stdout, "    at %v, %s: rule %s failed, so gave nothing: %s\n", e.At, e.Cell, e.Rule, msg)
		}
	}
	if failed > 0 {
		fmt.Fprintf(stdout, "%d tests, %d passed, %d failed\n", len(rt.Tests), len(rt.Tests)-failed, failed)
		return 1
	}
	fmt.Fprintf(stdout, "%d tests, %d passed\n", len(rt.Tests), len(rt.Tests))
	return 0
}

// bySeverity writes a severity as a test file does: "critical", or
// "critical by cpu-busy".
func bySeverity(s rules.Severity, rule string) string {
	if rule == "" {
		return s.String()
	}
	return s.String() + " by " + rule
}
