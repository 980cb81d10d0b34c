package main_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/watchfloor/watchfloor/gateway/access"
)

// gatewayUser runs gateway user with args and stdin, returning its exit
// code and combined output.
func gatewayUser(t *testing.T, stdin string, args ...string) (int, string) {
	t.Helper()
	cmd := exec.Command(filepath.Join(binDir, "gateway"), append([]string{"user"}, args...)...)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode(), string(out)
	} else if err != nil {
		t.Fatal(err)
	}
	return 0, string(out)
}

// The people commands against a store file: add, list, refuse a
// duplicate, a bad role and a config user's name, change a password,
// disable; and hash prints a hash the configuration accepts.
func TestUserCommands(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "gateway.yaml")
	yaml := "listen: \"127.0.0.1:0\"\nusers:\n  - {name: cfg-admin, roles: [admin]}\n"
	if err := os.WriteFile(cfg, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		stdin string
		args  []string
		code  int
		out   string
	}{
		{"first-password\n", []string{"add", "--config", cfg, "--roles", "operator", "alice"}, 0, ""},
		{"first-password\n", []string{"add", "--config", cfg, "--roles", "operator", "alice"}, 1, "exists"},
		{"first-password\n", []string{"add", "--config", cfg, "--roles", "root", "bob"}, 1, `unknown role "root"`},
		{"first-password\n", []string{"add", "--config", cfg, "--roles", "client", "carol"}, 1, "requires a scope"},
		{"first-password\n", []string{"add", "--config", cfg, "--roles", "client", "--scope", "client=acme", "carol"}, 0, ""},
		{"first-password\n", []string{"add", "--config", cfg, "--roles", "viewer", "cfg-admin"}, 1, "config"},
		{"short\n", []string{"add", "--config", cfg, "--roles", "viewer", "dave"}, 1, "at least 8"},
		{"", []string{"add", "--config", cfg, "--roles", "viewer", "dave"}, 1, "no password"},
		{"second-password\n", []string{"passwd", "--config", cfg, "alice"}, 0, ""},
		{"", []string{"disable", "--config", cfg, "alice"}, 0, ""},
		{"", []string{"list", "--config", cfg}, 0, ""},
		{"", []string{"list"}, 2, "--config or --data"},
		{"", []string{"bogus", "--config", cfg, "x"}, 2, "unknown command"},
	}
	var list string
	for _, s := range steps {
		code, out := gatewayUser(t, s.stdin, s.args...)
		if code != s.code || !strings.Contains(out, s.out) {
			t.Errorf("gateway user %v: exit %d %q, want %d containing %q", s.args, code, out, s.code, s.out)
		}
		if s.args[0] == "list" && code == 0 {
			list = out
		}
	}
	for _, want := range []string{"alice", "database", "operator", "disabled", "carol", "client=acme", "cfg-admin", "config", "no password"} {
		if !strings.Contains(list, want) {
			t.Errorf("gateway user list lacks %q:\n%s", want, list)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "watchfloor.db")); err != nil {
		t.Errorf("the users were not kept beside the configuration: %v", err)
	}

	code, out := gatewayUser(t, "a long passphrase\n", "hash")
	hash := strings.TrimSpace(out)
	if code != 0 || access.ParsePasswordHash(hash) != nil || !access.VerifyPassword(hash, "a long passphrase") {
		t.Errorf("gateway user hash: exit %d %q", code, out)
	}
}
