package actions

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/watchfloor/watchfloor/gateway/config"
)

// script writes an executable shell script into dir.
func script(t *testing.T, dir, name, body string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"+body), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

func commandAction(name, path string, args ...string) config.Action {
	return fast(config.Action{Name: name, Command: &config.CommandAction{Path: path, Args: args}})
}

func TestCommandEnvironmentAndInput(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	out := filepath.Join(t.TempDir(), "out")
	page := script(t, dir, "page.sh", `env > "$1.env"; cat > "$1.stdin"; echo "$2" > "$1.args"`)
	rec := newRecorder()
	d := start(t, Options{Actions: []config.Action{commandAction("page", page, out, "--team support")},
		AllowExec: []string{dir}, Done: rec.done})

	m := msg(Escalated, "INC-20261201-0042")
	m.Level = 2
	m.Incident.Title = "FIX latency high; $(touch /tmp/pwned)"
	d.Send([]string{"page"}, m)
	if o := rec.next(t); o.err != nil {
		t.Fatalf("Done err %v", o.err)
	}

	env := map[string]string{}
	b, err := os.ReadFile(out + ".env")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		k, v, _ := strings.Cut(line, "=")
		env[k] = v
	}
	want := map[string]string{
		"PATH": "/usr/bin:/bin", "WATCHFLOOR_EVENT": "escalated", "WATCHFLOOR_INCIDENT_ID": "INC-20261201-0042",
		"WATCHFLOOR_STATE": "open", "WATCHFLOOR_SEVERITY": "critical", "WATCHFLOOR_TITLE": m.Incident.Title,
		"WATCHFLOOR_RULE": "fix-latency", "WATCHFLOOR_PATH": "london/fix-gw/latency/p99", "WATCHFLOOR_PROBE": "ldn-1",
		"WATCHFLOOR_ENTITY": "fix-gw", "WATCHFLOOR_CLIENT": "acme", "WATCHFLOOR_VALUE": "850ms",
		"WATCHFLOOR_URL": "https://gateway.example/incidents/INC-20261201-0042", "WATCHFLOOR_LEVEL": "2",
	}
	for k, v := range want {
		if env[k] != v {
			t.Errorf("%s=%q, want %q", k, env[k], v)
		}
	}
	shells := []string{"PWD", "OLDPWD", "SHLVL", "_"} // what sh adds of its own
	for k := range env {
		if _, ok := want[k]; !ok && !slices.Contains(shells, k) {
			t.Errorf("environment has %s: want only PATH and WATCHFLOOR_*", k)
		}
	}
	if env["PWD"] != "" && env["PWD"] != dir {
		t.Errorf("ran in %s, want the program's directory %s", env["PWD"], dir)
	}

	var got Message
	if b, err = os.ReadFile(out + ".stdin"); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatalf("stdin %s: %v", b, err)
	}
	if got.Event != Escalated || got.Level != 2 || got.Incident.ID != m.Incident.ID || got.Incident.Title != m.Incident.Title {
		t.Errorf("stdin message %+v", got)
	}
	if b, _ = os.ReadFile(out + ".args"); string(b) != "--team support\n" {
		t.Errorf("second argument %q, want it passed whole", b)
	}
}

func TestCommandFailure(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	runs := filepath.Join(t.TempDir(), "runs")
	fail := script(t, dir, "fail.sh", `echo run >> "$1"; echo "pager gateway said no" >&2; exit 3`)
	a := commandAction("fail", fail, runs)
	a.Retries = 2
	rec := newRecorder()
	d := start(t, Options{Actions: []config.Action{a}, AllowExec: []string{dir}, Done: rec.done})
	d.Send([]string{"fail"}, msg(Opened, "INC-1"))
	o := rec.next(t)
	if o.err == nil || !strings.Contains(o.err.Error(), "exit status 3") || !strings.Contains(o.err.Error(), "pager gateway said no") {
		t.Errorf("Done err %v, want the exit status and stderr", o.err)
	}
	if b, _ := os.ReadFile(runs); strings.Count(string(b), "run") != 3 {
		t.Errorf("ran %d times, want 3 (retried twice)", strings.Count(string(b), "run"))
	}
}

func TestCommandPathChecks(t *testing.T) {
	t.Parallel()
	allowed, outside := t.TempDir(), t.TempDir()
	ok := script(t, allowed, "ok.sh", "exit 0\n")
	stray := script(t, outside, "stray.sh", "exit 0\n")
	link := filepath.Join(allowed, "link.sh")
	if err := os.Symlink(stray, link); err != nil {
		t.Fatal(err)
	}
	inner := filepath.Join(allowed, "inner.sh")
	if err := os.Symlink(ok, inner); err != nil {
		t.Fatal(err)
	}
	plain := filepath.Join(allowed, "plain.sh")
	if err := os.WriteFile(plain, []byte("#!/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// A link to the allowed directory is as good as the directory.
	dirLink := filepath.Join(t.TempDir(), "actions")
	if err := os.Symlink(allowed, dirLink); err != nil {
		t.Fatal(err)
	}

	f := func(t *testing.T, path string, allow []string, wantErr string) {
		t.Helper()
		_, err := New(Options{Actions: []config.Action{commandAction("cmd", path)}, AllowExec: allow})
		switch {
		case wantErr == "" && err != nil:
			t.Errorf("New: %v", err)
		case wantErr != "" && (err == nil || !strings.Contains(err.Error(), wantErr) || !strings.Contains(err.Error(), `action "cmd"`)):
			t.Errorf("New err %v, want one naming the action and saying %q", err, wantErr)
		}
	}
	t.Run("under the directory", func(t *testing.T) { f(t, ok, []string{allowed}, "") })
	t.Run("a link within it", func(t *testing.T) { f(t, inner, []string{allowed}, "") })
	t.Run("through a linked directory", func(t *testing.T) { f(t, filepath.Join(dirLink, "ok.sh"), []string{dirLink}, "") })
	t.Run("outside", func(t *testing.T) { f(t, stray, []string{allowed}, "not under any of action_dirs") })
	t.Run("a link to outside", func(t *testing.T) { f(t, link, []string{allowed}, "a link to "+stray) })
	t.Run("no directories", func(t *testing.T) { f(t, ok, nil, "no action_dirs") })
	t.Run("the directory itself", func(t *testing.T) { f(t, allowed, []string{allowed}, "not under any") })
	t.Run("relative", func(t *testing.T) { f(t, "ok.sh", []string{allowed}, "not absolute") })
	t.Run("missing", func(t *testing.T) { f(t, filepath.Join(allowed, "nope.sh"), []string{allowed}, "no such file") })
	t.Run("not executable", func(t *testing.T) { f(t, plain, []string{allowed}, "not executable") })
	t.Run("escaping with dots", func(t *testing.T) {
		f(t, filepath.Join(allowed, "..", filepath.Base(outside), "stray.sh"), []string{allowed}, "not under any")
	})
}

func TestCommandSwappedForLinkRefused(t *testing.T) {
	t.Parallel()
	allowed, outside := t.TempDir(), t.TempDir()
	page := script(t, allowed, "page.sh", "exit 0\n")
	stray := script(t, outside, "stray.sh", "exit 0\n")
	rec := newRecorder()
	d := start(t, Options{Actions: []config.Action{commandAction("page", page)}, AllowExec: []string{allowed}, Done: rec.done})
	if err := os.Remove(page); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(stray, page); err != nil {
		t.Fatal(err)
	}
	d.Send([]string{"page"}, msg(Opened, "INC-1"))
	if o := rec.next(t); o.err == nil || !strings.Contains(o.err.Error(), "no longer the file") {
		t.Errorf("Done err %v, want the swapped program refused", o.err)
	}
}
