package main_test

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// runGateway runs the gateway binary with args in this package's
// directory, and returns its stdout, stderr and exit status.
func runGateway(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(filepath.Join(binDir, "gateway"), args...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		t.Fatalf("gateway %v: %v", args, err)
	}
	return out.String(), errOut.String(), code
}

func lines(s ...string) string { return strings.Join(s, "\n") + "\n" }

func TestCheckGoodConfig(t *testing.T) {
	out, errOut, code := runGateway(t, "check", "testdata/gateway.yaml")
	if want := "testdata/gateway.yaml: ok: 1 probes, 1 entities, 2 samplers, 3 rules\n"; code != 0 || out != want || errOut != "" {
		t.Errorf("gateway check: status %d, stdout %q, stderr %q; want 0, %q and nothing", code, out, errOut, want)
	}
}

// TestCheckBadConfig checks that every problem is reported on stderr,
// placed at its line and column: a sampler's params, as the gateway
// builds them, and errors inside conditions and patterns.
func TestCheckBadConfig(t *testing.T) {
	out, errOut, code := runGateway(t, "check", "testdata/bad-rules.yaml")
	want := lines(
		`testdata/bad-rules.yaml:3:36: samplers[0].params: cpu sampler: params: json: cannot unmarshal string into Go struct field config.percpu of type bool`,
		`testdata/bad-rules.yaml:7:30: rules[0].critical.when: unexpected token Operator(">")`,
		`testdata/bad-rules.yaml:7:36: rules[0].critical.fro: unknown key (known: when, for, clear, keep_firing_for)`,
		`testdata/bad-rules.yaml:9:28: rules[1].match: segment "var log": byte ' ' at 3 must be percent-encoded`,
		`testdata/bad-rules.yaml:13:14: rules[1].warning.when: unknown name vlaue`,
		`testdata/bad-rules.yaml:14:11: rules[2].name: rule "cpu-busy" is already defined (rules[0])`,
	)
	if code != 1 || errOut != want || out != "" {
		t.Errorf("gateway check: status %d, stdout %q, stderr\n%s\nwant status 1, no stdout, stderr\n%s", code, out, errOut, want)
	}
}

func TestCheckUnreadableAndUsage(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "gateway.yaml")
	_, errOut, code := runGateway(t, "check", missing)
	if code != 1 || errOut != "gateway check: load config: open "+missing+": no such file or directory\n" {
		t.Errorf("gateway check of a missing file: status %d, stderr %q", code, errOut)
	}
	for _, args := range [][]string{{"check"}, {"check", "a.yaml", "b.yaml"}, {"check", "--bogus", "a.yaml"}} {
		if _, errOut, code := runGateway(t, args...); code != 2 || !strings.Contains(errOut, "usage: gateway check FILE") {
			t.Errorf("gateway %v: status %d, stderr %q; want 2 and the usage", args, code, errOut)
		}
	}
}

func TestTestRulesPassing(t *testing.T) {
	out, errOut, code := runGateway(t, "test-rules", "testdata/rules.test.yaml")
	if code != 0 || out != "2 tests, 2 passed\n" || errOut != "" {
		t.Errorf("gateway test-rules: status %d, stdout %q, stderr %q; want 0 and the summary", code, out, errOut)
	}
	out, _, code = runGateway(t, "test-rules", "-v", "testdata/rules.test.yaml")
	want := lines(
		"--- PASS: CPU goes critical after 30 s above 90, and stays for a minute after (testdata/rules.test.yaml:3)",
		"--- PASS: Memory is low below a tenth of the total (testdata/rules.test.yaml:15)",
		"2 tests, 2 passed",
	)
	if code != 0 || out != want {
		t.Errorf("gateway test-rules -v: status %d, stdout\n%s\nwant\n%s", code, out, want)
	}
}

func TestTestRulesFailing(t *testing.T) {
	out, errOut, code := runGateway(t, "test-rules", "testdata/failing.test.yaml")
	want := lines(
		`--- FAIL: CPU goes critical at once (testdata/failing.test.yaml:3)`,
		`    testdata/failing.test.yaml:8: at 0s, srv1/OMS/cpu/cpu/total/utilisation (value "95")`,
		`        got:  warning by cpu-busy`,
		`        want: critical`,
		`--- FAIL: UAT is not judged (testdata/failing.test.yaml:16)`,
		`    testdata/failing.test.yaml:21: at 1m0s, srv1/OMS/cpu/cpu/total/utilisation (value "95")`,
		`        got:  undefined`,
		`        want: critical`,
		`--- FAIL: Memory without its total (testdata/failing.test.yaml:22)`,
		`    testdata/failing.test.yaml:26: at 0s, srv1/OMS/memory/memory/physical/available (value "50")`,
		`        got:  undefined`,
		`        want: warning`,
		`    at 0s, srv1/OMS/memory/memory/physical/available: rule memory-low failed, so gave nothing: invalid operation: <nil> * float64 (1:19)`,
		`4 tests, 1 passed, 3 failed`,
	)
	if code != 1 || out != want || errOut != "" {
		t.Errorf("gateway test-rules: status %d, stderr %q, stdout\n%s\nwant status 1, stdout\n%s", code, errOut, out, want)
	}
}

func TestTestRulesBadFile(t *testing.T) {
	out, errOut, code := runGateway(t, "test-rules", "testdata/bad.test.yaml")
	want := lines(
		`testdata/bad.test.yaml:5:52: tests[0].cells["srv1/OMS/cpu/cpu/total/utilisation"]["10 s"]: "10 s" is not a time from the test's start (like 0s, 30s or 1m30s)`,
		`testdata/bad.test.yaml:7:48: tests[0].expect["0s"]["srv1/OMS/cpu/cpu/total/utilisation"]: "critcal": want a severity (undefined, ok, warning or critical), maybe followed by "by" and a rule's name`,
		`testdata/bad.test.yaml:7:93: tests[0].expect["0s"]["srv1/OMS/cpu/cpu/total/utilization"]: cell srv1/OMS/cpu/cpu/total/utilization has no values in this test: give it some under cells`,
	)
	if code != 1 || errOut != want || out != "" {
		t.Errorf("gateway test-rules: status %d, stdout %q, stderr\n%s\nwant status 1, stderr\n%s", code, out, errOut, want)
	}

	// The configuration's own errors are reported in its name.
	dir := t.TempDir()
	bad, err := os.ReadFile("testdata/bad-rules.yaml")
	if err != nil {
		t.Fatal(err)
	}
	test, err := os.ReadFile("testdata/rules.test.yaml")
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "gateway.yaml"), bad)
	writeFile(t, filepath.Join(dir, "rules.test.yaml"), test)
	_, errOut, code = runGateway(t, "test-rules", filepath.Join(dir, "rules.test.yaml"))
	prefix := filepath.Join(dir, "gateway.yaml") + ":7:30: rules[0].critical.when: "
	if code != 1 || !strings.Contains(errOut, "\n"+prefix) {
		t.Errorf("gateway test-rules on a bad configuration: status %d, stderr\n%s\nwant status 1 and a line starting %q", code, errOut, prefix)
	}
}

func TestTestRulesUnreadableAndUsage(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "rules.test.yaml")
	_, errOut, code := runGateway(t, "test-rules", missing)
	if code != 1 || errOut != "gateway test-rules: load rule tests: open "+missing+": no such file or directory\n" {
		t.Errorf("gateway test-rules of a missing file: status %d, stderr %q", code, errOut)
	}
	for _, args := range [][]string{{"test-rules"}, {"test-rules", "a.yaml", "b.yaml"}, {"test-rules", "-x", "a.yaml"}} {
		if _, errOut, code := runGateway(t, args...); code != 2 || !strings.Contains(errOut, "usage: gateway test-rules") {
			t.Errorf("gateway %v: status %d, stderr %q; want 2 and the usage", args, code, errOut)
		}
	}
}

func writeFile(t *testing.T, name string, data []byte) {
	t.Helper()
	if err := os.WriteFile(name, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestRuleTestsDocExample runs the full example of docs/rule-tests.md as
// it stands there, so the page cannot drift from what passes.
func TestRuleTestsDocExample(t *testing.T) {
	doc, err := os.ReadFile("../../docs/rule-tests.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(doc), "\n## A full example\n")
	if !ok {
		t.Fatal(`docs/rule-tests.md has no "## A full example" section`)
	}
	_, block, ok := strings.Cut(section, "\n```yaml\n")
	block, _, closed := strings.Cut(block, "\n```\n")
	if !ok || !closed {
		t.Fatal("the example section has no ```yaml block")
	}
	file := filepath.Join(t.TempDir(), "example.test.yaml")
	writeFile(t, file, []byte(block+"\n"))
	out, errOut, code := runGateway(t, "test-rules", file)
	if code != 0 || out != "4 tests, 4 passed\n" {
		t.Errorf("gateway test-rules on the example: status %d, stdout\n%s\nstderr\n%s", code, out, errOut)
	}
}
