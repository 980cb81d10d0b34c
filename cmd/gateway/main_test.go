package main_test

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/cookiejar"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	gt "github.com/watchfloor/watchfloor/gateway/gatewaytest"
	"github.com/watchfloor/watchfloor/samplers"
)

// These tests run the real binaries as separate processes: flags,
// signals and exit codes are what this package owns.

const wait = 30 * time.Second

var binDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "watchfloor-bin-")
	if err != nil {
		panic(err)
	}
	binDir = dir
	build := exec.Command("go", "build", "-o", dir, "github.com/watchfloor/watchfloor/cmd/gateway", "github.com/watchfloor/watchfloor/cmd/netprobe")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build binaries:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func start(t *testing.T, env []string, name string, args ...string) (*exec.Cmd, *bufio.Scanner) {
	t.Helper()
	cmd := exec.Command(filepath.Join(binDir, name), args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	return cmd, bufio.NewScanner(out)
}

// stop sends sig and expects a clean exit with status 0.
func stop(t *testing.T, cmd *exec.Cmd, sig syscall.Signal) {
	t.Helper()
	if err := cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("%s after %v: %v", cmd.Path, sig, err)
		}
	case <-time.After(wait):
		t.Fatalf("%s did not stop within %v of %v", cmd.Path, wait, sig)
	}
}

func get(url string) bool {
	resp, err := http.Get(url)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// watchTree follows, as s, the tree of the gateway process at addr once
// it listens, so the tests wait for what it pushes.
func watchTree(t *testing.T, addr string, s *gt.Session) *gt.Tree {
	t.Helper()
	return gt.WatchTree(t, addr, s)
}

// addUser adds an administrator named ops with password to the store
// file, as an operator would before starting the gateway.
func addUser(t *testing.T, data, password string) {
	t.Helper()
	cmd := exec.Command(filepath.Join(binDir, "gateway"), "user", "add", "--data", data, "--roles", "admin", "ops")
	cmd.Stdin = strings.NewReader(password + "\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("gateway user add: %v: %s", err, out)
	}
}

// login logs in at the gateway process at addr once it listens.
func login(t *testing.T, addr, user, password string) *gt.Session {
	t.Helper()
	gt.WaitListening(t, addr)
	s, code, msg := gt.TryLogin(t, "http://"+addr, user, password)
	if s == nil {
		t.Fatalf("log in as %s: %d %s", user, code, msg)
	}
	return s
}

func hasNode(path string) func(*gt.Tree) bool {
	return func(tr *gt.Tree) bool { _, ok := tr.Node(path); return ok }
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// The operator's path: mint a token, configure, start both binaries,
// change the configuration and SIGHUP, then stop both with signals.
func TestBinariesTokenConfigReloadAndSignals(t *testing.T) {
	out, err := exec.Command(filepath.Join(binDir, "gateway"), "token").Output()
	if err != nil {
		t.Fatal(err)
	}
	var token, hash string
	for _, line := range strings.Split(string(out), "\n") {
		if v, ok := strings.CutPrefix(line, "token:"); ok {
			token = strings.TrimSpace(v)
		}
		if v, ok := strings.CutPrefix(line, "token_sha256:"); ok {
			hash = strings.TrimSpace(v)
		}
	}
	if len(token) < 32 || len(hash) != 64 {
		t.Fatalf("gateway token printed %q", out)
	}

	addr := freePort(t)
	cfg := filepath.Join(t.TempDir(), "gateway.yaml")
	writeConfig := func(samplers string) {
		t.Helper()
		yaml := fmt.Sprintf(`listen: %q
probes:
  - name: srv1
    token_sha256: %s
samplers:
  - {name: cpu, type: cpu, interval: 200ms}
  - {name: memory, type: memory, interval: 200ms}
entities:
  - name: OMS
    probe: srv1
    samplers: [%s]
`, addr, hash, samplers)
		if err := os.WriteFile(cfg, []byte(yaml), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	writeConfig("cpu")
	addUser(t, filepath.Join(filepath.Dir(cfg), "watchfloor.db"), "ops-password-1")
	gw, _ := start(t, nil, "gateway", "--config", cfg)
	tree := watchTree(t, addr, login(t, addr, "ops", "ops-password-1"))
	if !get("http://" + addr + "/healthz") {
		t.Fatal("/healthz does not answer 200")
	}

	np, _ := start(t, []string{"NETPROBE_TOKEN=" + token}, "netprobe", "--gateway", "ws://"+addr, "--name", "srv1")
	tree.Wait("the cpu dataview", hasNode("srv1/OMS/cpu/cpu"))

	writeConfig("cpu, memory")
	if err := gw.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	tree.Wait("SIGHUP to start the memory sampler on the running netprobe", hasNode("srv1/OMS/memory/memory"))

	stop(t, np, syscall.SIGTERM)
	tree.Wait("the probe to show as down", func(tr *gt.Tree) bool {
		n, _ := tr.Node("srv1")
		return n.Connected != nil && !*n.Connected
	})
	stop(t, gw, syscall.SIGTERM)
}

// Rules authored through the API outlive the process: by default they
// are kept in watchfloor.db beside the configuration file.
func TestAPIRulesSurviveRestart(t *testing.T) {
	addr := freePort(t)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "gateway.yaml")
	yaml := fmt.Sprintf("listen: %q\nprobes: [{name: srv1, token_sha256: %s}]\n", addr, strings.Repeat("a", 64))
	if err := os.WriteFile(cfg, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	addUser(t, filepath.Join(dir, "watchfloor.db"), "ops-password-1")
	gw, _ := start(t, nil, "gateway", "--config", cfg)
	ops := login(t, addr, "ops", "ops-password-1")
	rule := `{"name": "oms-cpu", "match": "*/*/cpu/cpu/total/utilisation", "critical": {"when": "value > 90"}}`
	resp, err := ops.Client.Post("http://"+addr+"/api/v1/rules", "application/json", strings.NewReader(rule))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST /api/v1/rules: %s", resp.Status)
	}
	stop(t, gw, syscall.SIGTERM)
	if _, err := os.Stat(filepath.Join(dir, "watchfloor.db")); err != nil {
		t.Fatalf("no store beside the configuration: %v", err)
	}

	gw, _ = start(t, nil, "gateway", "--config", cfg)
	gt.WaitListening(t, addr)
	// The session outlives the restart too.
	if code, body := ops.Do(t, http.MethodGet, "/api/v1/rules/oms-cpu", nil); code != http.StatusOK {
		t.Fatalf("the rule authored before the restart: %d %s", code, body)
	}
	stop(t, gw, syscall.SIGTERM)
}

func TestDemoPrintsURLAndStopsOnInterrupt(t *testing.T) {
	gw, stdout := start(t, nil, "gateway", "--demo", "--listen", "127.0.0.1:0", "--data", filepath.Join(t.TempDir(), "demo.db"))
	link := ""
	for stdout.Scan() {
		if u, ok := strings.CutPrefix(stdout.Text(), "Open "); ok {
			link = u
			break
		}
	}
	url, _, ok := strings.Cut(link, "/login?once=")
	if !ok || !strings.HasPrefix(url, "http://127.0.0.1:") {
		t.Fatalf("demo printed no Open line with a one-time login link (got %q)", link)
	}
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "localhost"
	}
	if get(url + "/api/v1/tree") {
		t.Fatal("the demo serves its tree without a login")
	}
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar, Timeout: wait}
	resp, err := browser.Get(link)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/" {
		t.Fatalf("the one-time link led to %s %s, want the dashboard", resp.Status, resp.Request.URL)
	}
	var cookie string
	for _, c := range jar.Cookies(resp.Request.URL) {
		cookie = c.Name + "=" + c.Value
	}
	tree := watchTree(t, strings.TrimPrefix(url, "http://"), &gt.Session{Client: browser, Cookie: cookie})
	for _, sampler := range []string{"cpu", "memory"} {
		path := samplers.DataviewPath{Probe: host, Entity: host, Sampler: sampler, Dataview: sampler}.String()
		tree.Wait("the demo's "+sampler+" dataview", hasNode(path))
	}
	// /metrics is public on loopback in the demo, for a local Prometheus.
	if !get(url + "/metrics") {
		t.Fatal("the demo's /metrics is not served on loopback")
	}
	stop(t, gw, syscall.SIGINT)
}

func TestDemoRefusesNonLoopback(t *testing.T) {
	cmd := exec.Command(filepath.Join(binDir, "gateway"), "--demo", "--listen", "0.0.0.0:0")
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "loopback") {
		t.Fatalf("demo on 0.0.0.0: err=%v output=%q, want a refusal naming loopback", err, out)
	}
}

func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{{}, {"--demo", "--config", "x.yaml"}, {"--config", "x.yaml", "--listen", "127.0.0.1:1"}, {"--bogus"}} {
		err := exec.Command(filepath.Join(binDir, "gateway"), args...).Run()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 2 {
			t.Errorf("gateway %v: %v, want exit status 2", args, err)
		}
	}
	cfg := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(cfg, []byte("listen: \"127.0.0.1:0\"\nprobs: []\n"), 0o600)
	out, err := exec.Command(filepath.Join(binDir, "gateway"), "--config", cfg).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "bad.yaml:2:1") {
		t.Errorf("bad config: err=%v output=%q, want file:line:col", err, out)
	}
	// Plain HTTP on an address other than loopback is refused before
	// anything listens.
	os.WriteFile(cfg, []byte("listen: \"0.0.0.0:0\"\n"), 0o600)
	out, err = exec.Command(filepath.Join(binDir, "gateway"), "--config", cfg).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "plain HTTP is served only on loopback") {
		t.Errorf("plain HTTP on every interface: err=%v output=%q, want a refusal", err, out)
	}
}
