package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/watchfloor/watchfloor/netprobe"
	"github.com/watchfloor/watchfloor/samplers"
)

func TestAllowFlags(t *testing.T) {
	root, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	logs, ticks, bin, other := filepath.Join(root, "logs"), filepath.Join(root, "ticks"), filepath.Join(root, "bin"), filepath.Join(root, "other")
	base := []string{"--gateway", "ws://127.0.0.1:7039", "--name", "p"}

	t.Run("repeated and comma-separated", func(t *testing.T) {
		var stderr strings.Builder
		opts, _, code := parse(append(base, "--allow-read", logs+","+ticks, "--allow-exec", bin, "--allow-read", other), &stderr)
		if code != -1 {
			t.Fatalf("exit %d: %s", code, stderr.String())
		}
		for _, dir := range []string{logs, ticks, other} {
			if _, err := opts.Env.CheckRead(filepath.Join(dir, "f")); err != nil {
				t.Errorf("read under %s: %v", dir, err)
			}
		}
		if _, err := opts.Env.CheckRead(filepath.Join(root, "elsewhere/f")); !errors.Is(err, samplers.ErrNotAllowed) {
			t.Errorf("read outside the allowed directories: %v, want refused", err)
		}
		if _, err := opts.Env.CheckExec(filepath.Join(bin, "restart")); err != nil {
			t.Errorf("exec under %s: %v", bin, err)
		}
		if _, err := opts.Env.CheckExec(filepath.Join(logs, "f")); !errors.Is(err, samplers.ErrNotAllowed) {
			t.Errorf("exec under a read-only directory: %v, want refused", err)
		}
	})

	t.Run("nothing by default", func(t *testing.T) {
		var stderr strings.Builder
		opts, _, code := parse(base, &stderr)
		if code != -1 {
			t.Fatalf("exit %d: %s", code, stderr.String())
		}
		if _, err := opts.Env.CheckRead("/etc/hosts"); !errors.Is(err, samplers.ErrNotAllowed) {
			t.Errorf("read with no --allow-read: %v, want refused", err)
		}
		if _, err := opts.Env.CheckExec("/bin/sh"); !errors.Is(err, samplers.ErrNotAllowed) {
			t.Errorf("exec with no --allow-exec: %v, want refused", err)
		}
	})

	usageError := func(name string, args []string, want string) {
		t.Helper()
		t.Run(name, func(t *testing.T) {
			var stderr strings.Builder
			if _, _, code := parse(append(base, args...), &stderr); code != 2 {
				t.Fatalf("exit %d, want 2 (usage); stderr: %s", code, stderr.String())
			}
			if !strings.Contains(stderr.String(), want) {
				t.Errorf("stderr does not say %q:\n%s", want, stderr.String())
			}
		})
	}
	usageError("relative read directory", []string{"--allow-read", "var/log"}, `"var/log": must be an absolute path`)
	usageError("relative exec directory among absolute ones", []string{"--allow-exec", bin + ",./bin"}, `"./bin": must be an absolute path`)
	usageError("empty entry", []string{"--allow-read", logs + ","}, "empty directory")
	usageError("stray argument", []string{"extra"}, `unexpected argument "extra"`)
	usageError("bad log level", []string{"--log-level", "loud"}, "loud")
}

func TestHelpDescribesAllowFlags(t *testing.T) {
	var stderr strings.Builder
	if _, _, code := parse([]string{"--help"}, &stderr); code != 0 {
		t.Fatalf("--help exits %d, want 0", code)
	}
	for _, want := range []string{"--allow-read", "--allow-exec", "-allow-read DIR", "absolute"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("help does not mention %q:\n%s", want, stderr.String())
		}
	}
}

func TestTokenFile(t *testing.T) {
	file := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(file, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	opts, _, code := parse([]string{"--gateway", "ws://127.0.0.1:7039", "--name", "p", "--token-file", file}, &stderr)
	if code != -1 || opts.Token != "s3cret" {
		t.Errorf("token %q, exit %d (%s); want s3cret from the file", opts.Token, code, stderr.String())
	}
	if _, _, code := parse([]string{"--token-file", file + ".missing"}, &stderr); code != 1 {
		t.Errorf("missing token file: exit %d, want 1", code)
	}
}

func TestTLSFlags(t *testing.T) {
	base := []string{"--gateway", "wss://gw.example:7039", "--name", "oms-1"}
	var stderr strings.Builder
	opts, _, code := parse(append(base, "--tls-ca", "/etc/wf/ca.crt", "--tls-cert", "/etc/wf/p.crt", "--tls-key", "/etc/wf/p.key"), &stderr)
	if code != -1 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	if want := (netprobe.TLSFiles{CAFile: "/etc/wf/ca.crt", CertFile: "/etc/wf/p.crt", KeyFile: "/etc/wf/p.key"}); opts.TLS != want {
		t.Errorf("TLS files %+v, want %+v", opts.TLS, want)
	}
	if opts, _, code := parse(append(base, "--tls-ca", "/etc/wf/ca.crt"), &stderr); code != -1 || opts.TLS.CAFile != "/etc/wf/ca.crt" {
		t.Errorf("--tls-ca alone: exit %d, %+v", code, opts.TLS)
	}

	usageError := func(name string, args []string, want string) {
		t.Helper()
		t.Run(name, func(t *testing.T) {
			var stderr strings.Builder
			if _, _, code := parse(args, &stderr); code != 2 {
				t.Fatalf("exit %d, want 2 (usage); stderr: %s", code, stderr.String())
			}
			if !strings.Contains(stderr.String(), want) {
				t.Errorf("stderr does not say %q:\n%s", want, stderr.String())
			}
		})
	}
	usageError("certificate without key", append(base, "--tls-cert", "/etc/wf/p.crt"), "--tls-cert and --tls-key go together")
	usageError("key without certificate", append(base, "--tls-key", "/etc/wf/p.key"), "--tls-cert and --tls-key go together")
	usageError("plain ws", []string{"--gateway", "ws://gw.example:7039", "--name", "oms-1", "--tls-ca", "/etc/wf/ca.crt"},
		`need a wss:// gateway, not "ws://gw.example:7039"`)
}

func TestHelpDescribesTLSFlags(t *testing.T) {
	var stderr strings.Builder
	if _, _, code := parse([]string{"--help"}, &stderr); code != 0 {
		t.Fatalf("--help exits %d, want 0", code)
	}
	for _, want := range []string{"-tls-ca FILE", "-tls-cert FILE", "-tls-key FILE", "mutual TLS", "every reconnect"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("help does not mention %q:\n%s", want, stderr.String())
		}
	}
}
