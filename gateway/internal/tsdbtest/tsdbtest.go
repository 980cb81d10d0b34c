// Package tsdbtest runs real time-series stores for tests: Debian's
// victoria-metrics and prometheus, each a process on a free loopback port
// with a fresh data directory, stopped by PID when its test ends; and it
// reads back what they hold. It is for tests only.
//
// It imports nothing of the gateway, so that remotewrite's tests and the
// gateway's can both use it (gateway imports remotewrite). A store that
// is not installed skips the test, or fails it under CI=true
// (tooltest.Tool).
package tsdbtest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/watchfloor/watchfloor/gateway/internal/tooltest"
)

// Patience is how long a helper waits for something to happen: long, as
// the machine may be busy; a test that passes never waits that long.
const Patience = 30 * time.Second

// WaitFor polls cond until it holds, failing the test after Patience.
func WaitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(Patience)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up after %v waiting for %s", Patience, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// FreeAddr returns a loopback address with a port free a moment ago.
func FreeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// Server is a store's process, in its own process group. Start and Stop
// are for the goroutine of the test that made it; the store is stopped
// when that test ends. It is not safe for concurrent use.
type Server struct {
	t     testing.TB
	name  string
	args  []string
	addr  string
	ready string // the path that answers 200 when it is up
	user  string // basic auth for the test's own requests
	pass  string
	log   string // its output, across restarts
	cmd   *exec.Cmd
	exit  chan struct{}
}

func newServer(t testing.TB, name string, args []string, addr, ready string) *Server {
	s := &Server{t: t, name: name, args: args, addr: addr, ready: ready, log: filepath.Join(t.TempDir(), filepath.Base(name)+".log")}
	t.Cleanup(func() {
		s.Stop()
		if t.Failed() {
			t.Logf("%s's output:\n%s", name, s.Output())
		}
	})
	return s
}

// Start starts the process and waits until it answers. After Stop, it
// starts it again on the same port and data directory.
func (s *Server) Start() {
	s.t.Helper()
	if s.cmd != nil {
		s.t.Fatalf("%s started twice", s.name)
	}
	out, err := os.OpenFile(s.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		s.t.Fatal(err)
	}
	defer out.Close()
	cmd := exec.Command(s.name, s.args...)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		s.t.Fatalf("start %s: %v", s.name, err)
	}
	exit := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exit)
	}()
	s.cmd, s.exit = cmd, exit
	WaitFor(s.t, s.name+" to answer on "+s.addr, func() bool {
		select {
		case <-exit:
			s.cmd = nil
			s.t.Fatalf("%s exited at start:\n%s", s.name, s.Output())
		default:
		}
		resp, err := s.Get(s.ready, nil)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
}

// Stop ends the process: SIGTERM to its group, so it flushes what it
// took, then SIGKILL if it is still there after Patience. It does nothing
// if the process is not running.
func (s *Server) Stop() {
	s.t.Helper()
	if s.cmd == nil {
		return
	}
	pid := s.cmd.Process.Pid
	_ = syscall.Kill(-pid, syscall.SIGTERM)
	select {
	case <-s.exit:
	case <-time.After(Patience):
		_ = syscall.Kill(-pid, syscall.SIGKILL)
		<-s.exit
		s.t.Errorf("%s did not stop on SIGTERM within %v", s.name, Patience)
	}
	s.cmd = nil
}

// PID is the process's ID while it runs.
func (s *Server) PID() int {
	if s.cmd == nil {
		return 0
	}
	return s.cmd.Process.Pid
}

// Addr is the host:port the store listens on.
func (s *Server) Addr() string { return s.addr }

// WriteURL is where the store takes Prometheus remote write.
func (s *Server) WriteURL() string { return "http://" + s.addr + "/api/v1/write" }

// BasicAuth makes the test's own requests carry these credentials, for a
// store started with them.
func (s *Server) BasicAuth(user, pass string) { s.user, s.pass = user, pass }

// Output is the end of the process's output.
func (s *Server) Output() string {
	b, _ := os.ReadFile(s.log)
	return string(b[max(len(b)-4096, 0):])
}

// Get sends a GET for path (which starts with /) and query.
func (s *Server) Get(path string, query url.Values) (*http.Response, error) {
	req, err := http.NewRequest(http.MethodGet, "http://"+s.addr+path+"?"+query.Encode(), nil)
	if err != nil {
		return nil, err
	}
	if s.user != "" {
		req.SetBasicAuth(s.user, s.pass)
	}
	return http.DefaultClient.Do(req)
}

// GetOK is Get's body, failing the test on an error or a status not 200.
func (s *Server) GetOK(t testing.TB, path string, query url.Values) []byte {
	t.Helper()
	resp, err := s.Get(path, query)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s?%s: %d %s %v", path, query.Encode(), resp.StatusCode, body, err)
	}
	return body
}

// StartVictoria starts Debian's victoria-metrics on a free loopback port
// with a fresh data directory.
func StartVictoria(t testing.TB) *Server {
	t.Helper()
	s := NewVictoria(t)
	s.Start()
	return s
}

// NewVictoria is StartVictoria with extra flags, not yet started.
func NewVictoria(t testing.TB, extra ...string) *Server {
	t.Helper()
	bin := tooltest.Tool(t, "victoria-metrics", "victoria-metrics")
	addr := FreeAddr(t)
	args := append([]string{
		"-storageDataPath=" + t.TempDir(),
		"-httpListenAddr=" + addr,
		// Without it, queries hide the newest 30 s (export does not).
		"-search.latencyOffset=0s",
	}, extra...)
	return newServer(t, bin, args, addr, "/health")
}

// StartPrometheus starts Debian's prometheus as a remote-write receiver
// on a free loopback port with a fresh TSDB and a config with no scrapes.
func StartPrometheus(t testing.TB) *Server {
	t.Helper()
	bin := tooltest.Tool(t, "prometheus", "prometheus")
	dir := t.TempDir()
	config := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(config, []byte("global:\n  scrape_interval: 1m\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	addr := FreeAddr(t)
	s := newServer(t, bin, []string{
		"--web.enable-remote-write-receiver",
		"--storage.tsdb.path=" + filepath.Join(dir, "data"),
		"--web.listen-address=" + addr,
		"--config.file=" + config,
	}, addr, "/-/ready")
	s.Start()
	return s
}

// Point is one sample as a store returns it: Unix ms and value.
type Point struct {
	T int64
	V float64
}

func (p Point) String() string { return fmt.Sprintf("%d=%v", p.T, p.V) }

// Export returns the series of a VictoriaMetrics that match match, keyed
// by their labels printed as JSON (sorted by name, __name__ first), each
// with its points in time order; a staleness marker shows as NaN.
func (s *Server) Export(t testing.TB, match string) map[string][]Point {
	t.Helper()
	// Make what VictoriaMetrics took searchable now.
	s.GetOK(t, "/internal/force_flush", nil)
	body := s.GetOK(t, "/api/v1/export", url.Values{"match[]": {match}})
	got := make(map[string][]Point)
	dec := json.NewDecoder(bytes.NewReader(body))
	for {
		var line struct {
			Metric     map[string]string `json:"metric"`
			Values     []*float64        `json:"values"`
			Timestamps []int64           `json:"timestamps"`
		}
		if err := dec.Decode(&line); errors.Is(err, io.EOF) {
			return got
		} else if err != nil {
			t.Fatalf("export: %v in %s", err, body)
		}
		key, _ := json.Marshal(line.Metric)
		for i, v := range line.Values {
			p := Point{T: line.Timestamps[i], V: math.NaN()}
			if v != nil {
				p.V = *v
			}
			got[string(key)] = append(got[string(key)], p)
		}
	}
}

// Query runs a PromQL instant query on a Prometheus (or a
// VictoriaMetrics) at at, Unix ms, and returns each result's labels,
// printed as JSON, with its points: the one value of a vector, the raw
// samples of a range vector.
func (s *Server) Query(t testing.TB, query string, at int64) map[string][]Point {
	t.Helper()
	body := s.GetOK(t, "/api/v1/query", url.Values{"query": {query}, "time": {strconv.FormatFloat(float64(at)/1e3, 'f', 3, 64)}})
	var resp struct {
		Data struct {
			Result []struct {
				Metric map[string]string `json:"metric"`
				Value  []any             `json:"value"`
				Values [][]any           `json:"values"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &resp); err != nil {
		t.Fatalf("query %s: %v in %s", query, err, body)
	}
	got := make(map[string][]Point)
	for _, r := range resp.Data.Result {
		key, _ := json.Marshal(r.Metric)
		values := r.Values
		if r.Value != nil {
			values = [][]any{r.Value}
		}
		for _, pair := range values {
			ts, _ := pair[0].(float64)
			str, _ := pair[1].(string)
			v, err := strconv.ParseFloat(str, 64)
			if err != nil {
				t.Fatalf("query %s: value %q: %v", query, str, err)
			}
			got[string(key)] = append(got[string(key)], Point{T: int64(ts*1e3 + 0.5), V: v})
		}
	}
	return got
}

// SamePoints compares points exactly, any NaN equal to any NaN.
func SamePoints(a, b []Point) bool {
	return slices.EqualFunc(a, b, func(p, q Point) bool {
		return p.T == q.T && (math.Float64bits(p.V) == math.Float64bits(q.V) || math.IsNaN(p.V) && math.IsNaN(q.V))
	})
}

// CheckSeries reports, as errors of t, each series of want that got
// lacks or holds other points for, and each series of got that want
// lacks.
func CheckSeries(t testing.TB, got, want map[string][]Point) {
	t.Helper()
	for _, key := range slices.Sorted(maps.Keys(want)) {
		if g := got[key]; !SamePoints(g, want[key]) {
			t.Errorf("series %s:\n got %v\nwant %v", key, g, want[key])
		}
	}
	for _, key := range slices.Sorted(maps.Keys(got)) {
		if _, ok := want[key]; !ok {
			t.Errorf("unexpected series %s: %v", key, got[key])
		}
	}
}

// StartAlertmanager starts Debian's prometheus-alertmanager on a free
// loopback port, alone (clustering off), with fresh storage and a route
// to a receiver that sends nothing: what it holds is read from its API.
func StartAlertmanager(t testing.TB) *Server {
	t.Helper()
	bin := tooltest.Tool(t, "prometheus-alertmanager", "prometheus-alertmanager")
	dir := t.TempDir()
	config := filepath.Join(dir, "alertmanager.yml")
	if err := os.WriteFile(config, []byte("route:\n  receiver: \"null\"\n  group_wait: 100ms\nreceivers:\n  - name: \"null\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	addr := FreeAddr(t)
	s := newServer(t, bin, []string{
		"--config.file=" + config,
		"--storage.path=" + filepath.Join(dir, "data"),
		"--cluster.listen-address=",
		"--web.listen-address=" + addr,
	}, addr, "/-/ready")
	s.Start()
	return s
}
