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
	exited(t, cmd, sig)
}

// exited expects cmd, sent sig, to exit with status 0.
func exited(t *testing.T, cmd *exec.Cmd, sig syscall.Signal) {
	t.Helper()
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

// The demo prints its login link, the dashboard's pages and its history
// link; then how to get
// VictoriaMetrics if it is not installed, and nothing about it with
// --no-victoria-metrics. It stops cleanly on an interrupt.
func TestDemoPrintsURLAndStopsOnInterrupt(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  []string
		args []string
		hint bool // the line after the history link says how to get victoria-metrics
	}{
		{name: "victoria-metrics not installed", env: []string{"PATH=" + t.TempDir()}, hint: true},
		{name: "--no-victoria-metrics", args: []string{"--no-victoria-metrics"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"--demo", "--listen", "127.0.0.1:0", "--data", filepath.Join(t.TempDir(), "demo.db")}, tc.args...)
			gw, stdout := start(t, tc.env, "gateway", args...)
			printed := demoLines(t, gw, stdout, "History")
			link := printed["Open"]
			url, _, ok := strings.Cut(link, "/login?once=")
			if !ok || !strings.HasPrefix(url, "http://127.0.0.1:") {
				t.Fatalf("demo printed no Open line with a one-time login link (got %q)", link)
			}
			host := demoHost()
			wantHistory := url + "/api/v1/history?path=" + host + "/" + host + "/cpu/cpu/total/utilisation&from=-5m&step=10s"
			if got := printed["History, once logged in"]; got != wantHistory {
				t.Errorf("demo printed the history link %q, want %q", got, wantHistory)
			}
			if got := printed["Dashboard, once logged in"]; !strings.HasPrefix(got, url+"/#/wall (the wall)") || !strings.Contains(got, url+"/?kiosk=1#/wall") {
				t.Errorf("demo printed the dashboard line %q, want the wall at %s/#/wall and its kiosk form", got, url)
			}
			if get(url + "/api/v1/tree") {
				t.Fatal("the demo serves its tree without a login")
			}
			waitDemoProbe(t, link)
			// /metrics is public on loopback in the demo, for a local Prometheus.
			if !get(url + "/metrics") {
				t.Fatal("the demo's /metrics is not served on loopback")
			}
			rest := interrupt(t, gw, stdout)
			switch said := strings.Join(rest, "\n"); {
			case tc.hint && (len(rest) == 0 || !strings.Contains(rest[0], "apt-get install victoria-metrics")):
				t.Errorf("after the history link, the demo printed %q, want how to install victoria-metrics", said)
			case !tc.hint && strings.Contains(strings.ToLower(said), "victoria"):
				t.Errorf("after the history link, the demo printed %q, want nothing about VictoriaMetrics", said)
			}
		})
	}
}

// With victoria-metrics installed, the demo runs it with its data in the
// user's cache directory, says where its UI is, and takes it along when
// interrupted.
func TestDemoRunsVictoriaMetricsAndStopsIt(t *testing.T) {
	gt.Tool(t, "victoria-metrics", "victoria-metrics")
	cache := t.TempDir()
	gw, stdout := start(t, []string{"XDG_CACHE_HOME=" + cache}, "gateway", "--demo", "--listen", "127.0.0.1:0")
	printed := demoLines(t, gw, stdout, "VictoriaMetrics")
	line := printed["VictoriaMetrics keeps it longer"]
	ui, query, ok := strings.Cut(line, " (try ")
	base, isUI := strings.CutSuffix(ui, "/vmui")
	if !ok || !isUI || !strings.HasPrefix(base, "http://127.0.0.1:") || query != `watchfloor_cpu_utilisation{row="total"})` {
		t.Fatalf("demo printed %q, want VictoriaMetrics' UI on loopback and a query", line)
	}
	if !get(base + "/health") {
		t.Fatalf("VictoriaMetrics does not answer at %s", base)
	}
	for _, p := range []string{"watchfloor/demo.db", "watchfloor/victoria-metrics/flock.lock"} {
		if _, err := os.Stat(filepath.Join(cache, p)); err != nil {
			t.Errorf("the demo keeps nothing at %s in the cache directory: %v", p, err)
		}
	}
	waitDemoProbe(t, printed["Open"])
	interrupt(t, gw, stdout)
	if get(base + "/health") {
		t.Errorf("VictoriaMetrics still answers at %s after the demo stopped", base)
	}
	// Nothing started with the demo's cache directory is left.
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		if b, err := os.ReadFile(p); err == nil && strings.Contains(string(b), cache) {
			t.Errorf("left running after the demo stopped: %s", strings.ReplaceAll(string(b), "\x00", " "))
		}
	}
}

// demoHost is the name the demo gives its probe and entity.
func demoHost() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		return "localhost"
	}
	return host
}

// demoLines reads what the demo prints, up to a line that starts with
// last, by what comes before ": " ("Open" for the login link). A demo that
// has not printed that line within wait is killed, and the test fails.
func demoLines(t *testing.T, gw *exec.Cmd, stdout *bufio.Scanner, last string) map[string]string {
	t.Helper()
	kill := time.AfterFunc(wait, func() { gw.Process.Kill() })
	defer kill.Stop()
	lines := map[string]string{}
	for stdout.Scan() {
		text := stdout.Text()
		if u, ok := strings.CutPrefix(text, "Open "); ok {
			lines["Open"] = u
		} else if k, v, ok := strings.Cut(text, ": "); ok {
			lines[k] = v
		}
		if strings.HasPrefix(text, last) {
			return lines
		}
	}
	t.Fatalf("the demo printed no line starting %q within %v; it printed %q", last, wait, lines)
	return nil
}

// waitDemoProbe opens the demo's one-time link as a browser would and
// waits, logged in, until the tree shows this machine's cpu and memory
// dataviews: the demo's netprobe is connected and sampling.
func waitDemoProbe(t *testing.T, link string) {
	t.Helper()
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
	tree := watchTree(t, resp.Request.URL.Host, &gt.Session{Client: browser, Cookie: cookie})
	host := demoHost()
	for _, sampler := range []string{"cpu", "memory"} {
		path := samplers.DataviewPath{Probe: host, Entity: host, Sampler: sampler, Dataview: sampler}.String()
		tree.Wait("the demo's "+sampler+" dataview", hasNode(path))
	}
}

// interrupt stops the demo with SIGINT, expecting a clean exit, and
// returns the lines it printed that were not read yet.
func interrupt(t *testing.T, gw *exec.Cmd, stdout *bufio.Scanner) []string {
	t.Helper()
	if err := gw.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	kill := time.AfterFunc(wait, func() { gw.Process.Kill() })
	defer kill.Stop()
	var rest []string
	for stdout.Scan() {
		rest = append(rest, stdout.Text())
	}
	exited(t, gw, syscall.SIGINT)
	return rest
}

func TestDemoRefusesNonLoopback(t *testing.T) {
	cmd := exec.Command(filepath.Join(binDir, "gateway"), "--demo", "--listen", "0.0.0.0:0")
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "loopback") {
		t.Fatalf("demo on 0.0.0.0: err=%v output=%q, want a refusal naming loopback", err, out)
	}
}

func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{{}, {"--demo", "--config", "x.yaml"}, {"--config", "x.yaml", "--listen", "127.0.0.1:1"},
		{"--config", "x.yaml", "--no-victoria-metrics"}, {"--bogus"}} {
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
