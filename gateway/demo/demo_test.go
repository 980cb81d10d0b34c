package demo_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/watchfloor/watchfloor/gateway/config"
	"github.com/watchfloor/watchfloor/gateway/demo"
	"github.com/watchfloor/watchfloor/gateway/gatewaytest"
	"github.com/watchfloor/watchfloor/gateway/incident"
	"github.com/watchfloor/watchfloor/gateway/internal/tsdbtest"
	"github.com/watchfloor/watchfloor/samplers"
)

// The demo's configuration is what `gateway check` accepts, with and
// without its VictoriaMetrics: the history windows a wall needs, the
// export target, and the rule on the gateway's own export.
func TestConfigParses(t *testing.T) {
	const write = "http://127.0.0.1:8428/api/v1/write"
	for _, remote := range []string{"", write} {
		cfg, err := demo.Config("127.0.0.1:7039", "srv1", "token", remote, t.TempDir())
		if err != nil {
			t.Fatalf("remote write %q: %v", remote, err)
		}
		if cfg.History.Window != config.DefaultHistoryWindow {
			t.Errorf("history window %v, want %v", cfg.History.Window, config.DefaultHistoryWindow)
		}
		windows := map[string]time.Duration{}
		for _, w := range cfg.History.Windows {
			windows[w.Match] = w.Window
		}
		want := map[string]time.Duration{"*/*/cpu/cpu/total/utilisation": time.Hour, "*/*/memory/memory/physical/usedPercent": time.Hour}
		if !maps.Equal(windows, want) {
			t.Errorf("history windows %v, want %v", windows, want)
		}
		switch {
		case remote == "" && len(cfg.RemoteWrite) != 0:
			t.Errorf("no VictoriaMetrics, yet remote write %+v", cfg.RemoteWrite)
		case remote != "" && (len(cfg.RemoteWrite) != 1 || cfg.RemoteWrite[0].URL != write || cfg.RemoteWrite[0].Name != "victoria-metrics"):
			t.Errorf("remote write %+v, want one target victoria-metrics at %s", cfg.RemoteWrite, write)
		}
		found := false
		for _, r := range cfg.Rules {
			found = found || r.Name == "history-export-dropping"
		}
		if !found {
			t.Error("no rule history-export-dropping on the gateway's own remote-write dataview")
		}
	}
}

// A newcomer who follows the history link the demo prints sees this
// machine's CPU within seconds.
func TestDemoHistoryHasThisHostsCPU(t *testing.T) {
	s, _ := runDemo(t, demo.Options{})
	c := logInHTTP(t, s.Link)
	host := demoHost()
	path := samplers.DataviewPath{Probe: host, Entity: host, Sampler: "cpu", Dataview: "cpu"}.Cell("total", "utilisation").String()

	var raw history
	tsdbtest.WaitFor(t, "two points of "+path+" in the demo's history", func() bool {
		getJSON(t, c, s.URL+"/api/v1/history?path="+url.QueryEscape(path)+"&from=-1m", &raw)
		return len(raw.Series) == 1 && len(raw.Series[0].Points) >= 2
	})
	if got := raw.Series[0].Path; got != path {
		t.Fatalf("history of %s, want %s", got, path)
	}
	for _, p := range raw.Series[0].Points {
		if v, ok := p[1].(float64); !ok || v < 0 || v > 100 {
			t.Errorf("point %v: want a utilisation from 0 to 100", p)
		}
	}

	if u, err := url.Parse(s.History()); err != nil || u.Query().Get("path") != path || !strings.HasPrefix(s.History(), s.URL+"/api/v1/history?") {
		t.Errorf("the demo prints %s, want the history of %s", s.History(), path)
	}
	var folded history
	getJSON(t, c, s.History(), &folded)
	if len(folded.Series) != 1 || folded.Series[0].Path != path || len(folded.Series[0].Steps) == 0 {
		t.Fatalf("%s answers %+v, want steps of %s", s.History(), folded, path)
	}
	for _, st := range folded.Series[0].Steps {
		if len(st) != 4 || !(st[1] <= st[3] && st[3] <= st[2]) {
			t.Errorf("step %v: want [time, min, max, last] with min ≤ last ≤ max", st)
		}
	}
	t.Logf("%d points in the last minute; %d steps in the printed link's five minutes", len(raw.Series[0].Points), len(folded.Series[0].Steps))
}

// With victoria-metrics installed, the demo runs it, exports this
// machine's cells there with the demo's labels, judges its own export
// with the demo's rule, and leaves no process behind when it ends.
func TestDemoExportsToVictoriaMetrics(t *testing.T) {
	bin := gatewaytest.Tool(t, "victoria-metrics", "victoria-metrics")
	// Hold VictoriaMetrics' usual port if it is free: the test leaves it
	// to a developer's demo, and sees the demo take another.
	if ln, err := net.Listen("tcp", "127.0.0.1:8428"); err == nil {
		t.Cleanup(func() { ln.Close() })
	}
	data := t.TempDir()
	s, stop := runDemo(t, demo.Options{VictoriaMetrics: bin, VictoriaMetricsData: data, Logger: testLogger(t)})
	if s.VictoriaMetrics == "" || s.VictoriaMetricsPID == 0 {
		t.Fatalf("the demo says it runs no VictoriaMetrics: %+v", s)
	}
	if u, err := url.Parse(s.VictoriaMetrics); err != nil || u.Hostname() != "127.0.0.1" || u.Port() == "8428" {
		t.Errorf("VictoriaMetrics at %s, want loopback on a port other than the taken 8428", s.VictoriaMetrics)
	}
	if s.VictoriaMetricsUI() != s.VictoriaMetrics+"/vmui" {
		t.Errorf("UI at %s", s.VictoriaMetricsUI())
	}

	host := demoHost()
	want := map[string]string{"__name__": "watchfloor_cpu_utilisation", "probe": host, "entity": host,
		"sampler": "cpu", "dataview": "cpu", "row": "total", "environment": "production", "client": demo.Client, "system": "lse", "calendar": "demo-day"}
	var points int
	tsdbtest.WaitFor(t, "VictoriaMetrics to hold "+host+"'s cpu total utilisation", func() bool {
		for _, series := range export(t, s.VictoriaMetrics, "watchfloor_cpu_utilisation") {
			if maps.Equal(series.Metric, want) && len(series.Values) > 0 {
				points = len(series.Values)
				return true
			}
		}
		return false
	})
	t.Logf("VictoriaMetrics holds %d points of %v", points, want)
	if _, err := os.Stat(filepath.Join(data, "flock.lock")); err != nil {
		t.Errorf("VictoriaMetrics does not keep its data in the directory given: %v", err)
	}

	// The demo's rule on the gateway's own export judges the real row.
	c := logInHTTP(t, s.Link)
	dropped := "watchfloor/gateway/self/remote-write/victoria-metrics/dropped"
	var judged cell
	tsdbtest.WaitFor(t, dropped+" judged by history-export-dropping", func() bool {
		var dv struct {
			Rows []struct {
				Name  string `json:"name"`
				Cells []cell `json:"cells"`
			} `json:"rows"`
		}
		getJSON(t, c, s.URL+"/api/v1/dataviews/watchfloor/gateway/self/remote-write", &dv)
		for _, r := range dv.Rows {
			for _, c := range r.Cells {
				if c.Path == dropped && c.Rule == "history-export-dropping" {
					judged = c
					return true
				}
			}
		}
		return false
	})
	if judged.Severity != "ok" || judged.Value != "0" {
		t.Errorf("%s is %s (%s), want ok with nothing dropped", dropped, judged.Severity, judged.Value)
	}

	stop()
	p, err := os.FindProcess(s.VictoriaMetricsPID)
	if err == nil {
		// Signal 0 asks only whether the process exists; a zombie, one
		// not waited for, still would.
		if err := p.Signal(syscall.Signal(0)); !errors.Is(err, os.ErrProcessDone) {
			t.Errorf("VictoriaMetrics (PID %d) is still there after the demo ended: %v", s.VictoriaMetricsPID, err)
		}
	}
	if resp, err := http.Get(s.VictoriaMetrics + "/health"); err == nil {
		resp.Body.Close()
		t.Errorf("VictoriaMetrics still answers at %s after the demo ended", s.VictoriaMetrics)
	}
}

// A victoria-metrics that will not start costs the demo its export, with
// a warning, and nothing else: the demo runs and records, and leaves no
// temporary directory.
func TestDemoRunsWithoutAVictoriaMetricsThatFails(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "victoria-metrics")
	if err := os.WriteFile(bin, []byte("#!/bin/sh\nexit 1\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	var logs syncBuffer
	s, stop := runDemo(t, demo.Options{VictoriaMetrics: bin, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if s.VictoriaMetrics != "" || s.VictoriaMetricsPID != 0 || s.VictoriaMetricsUI() != "" {
		t.Errorf("the demo says it runs a VictoriaMetrics: %+v", s)
	}
	if !strings.Contains(logs.String(), `level=WARN msg="VictoriaMetrics did not start; the demo runs without exporting its history"`) {
		t.Errorf("no warning that VictoriaMetrics did not start in:\n%s", logs.String())
	}
	c := logInHTTP(t, s.Link)
	tsdbtest.WaitFor(t, "the demo to record this machine's CPU", func() bool {
		var h history
		getJSON(t, c, s.History(), &h)
		return len(h.Series) == 1
	})
	stop()
	if left, _ := os.ReadDir(tmp); len(left) != 0 {
		t.Errorf("left in the temporary directory: %v", left)
	}
}

// Stopped while its VictoriaMetrics is starting, the demo returns at once
// and leaves no process behind.
func TestDemoStoppedWhileVictoriaMetricsStarts(t *testing.T) {
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "pid")
	bin := filepath.Join(dir, "victoria-metrics")
	// One that never answers: it notes its PID and waits.
	if err := os.WriteFile(bin, []byte("#!/bin/sh\necho $$ > "+pidFile+"\nexec sleep 60\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- demo.Run(ctx, demo.Options{Listen: "127.0.0.1:0", Logger: slog.New(slog.DiscardHandler),
			VictoriaMetrics: bin, VictoriaMetricsData: t.TempDir(),
			Ready: func(demo.Started) { t.Error("the demo started before its VictoriaMetrics answered") }})
	}()
	var pid int
	tsdbtest.WaitFor(t, "the stand-in victoria-metrics to start", func() bool {
		b, err := os.ReadFile(pidFile)
		pid, _ = strconv.Atoi(strings.TrimSpace(string(b)))
		return err == nil && pid > 0
	})
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("demo: %v", err)
		}
	case <-time.After(gatewaytest.Wait):
		t.Fatalf("the demo did not return within %v of its context ending", gatewaytest.Wait)
	}
	if p, err := os.FindProcess(pid); err == nil {
		if err := p.Signal(syscall.Signal(0)); !errors.Is(err, os.ErrProcessDone) {
			t.Errorf("the stand-in victoria-metrics (PID %d) is still there after the demo returned: %v", pid, err)
		}
	}
}

// history is an answer of the history API.
type history struct {
	Series []struct {
		Path   string      `json:"path"`
		Points [][2]any    `json:"points"`
		Steps  [][]float64 `json:"steps"`
	} `json:"series"`
}

// cell is a cell of the dataview API.
type cell struct {
	Path     string `json:"path"`
	Value    string `json:"value"`
	Severity string `json:"severity"`
	Rule     string `json:"rule"`
}

// logInHTTP opens the demo's one-time link as a browser would and returns
// a client holding the session.
func logInHTTP(t *testing.T, link string) *http.Client {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: gatewaytest.Wait}
	resp, err := c.Get(link)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/" {
		t.Fatalf("the one-time link led to %s %s, want the dashboard", resp.Status, resp.Request.URL)
	}
	return c
}

// getJSON fetches u and decodes its JSON into out, failing the test
// unless the status is 200.
func getJSON(t *testing.T, c *http.Client, u string, out any) {
	t.Helper()
	if code := tryJSON(t, c, u, out); code != http.StatusOK {
		t.Fatalf("GET %s: %d", u, code)
	}
}

// tryJSON is getJSON for something that may not be there yet: it returns
// the status, and decodes the body only on 200.
func tryJSON(t *testing.T, c *http.Client, u string, out any) int {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Logf("GET %s: %s %s", u, resp.Status, body)
		return resp.StatusCode
	}
	if out != nil {
		if err := json.Unmarshal(body, out); err != nil {
			t.Fatalf("GET %s: %v in %s", u, err, body)
		}
	}
	return http.StatusOK
}

// exported is a series of VictoriaMetrics' export.
type exported struct {
	Metric map[string]string `json:"metric"`
	Values []any             `json:"values"`
}

// export flushes the VictoriaMetrics at base, so that what it took is
// searchable, and returns the series that match.
func export(t *testing.T, base, match string) []exported {
	t.Helper()
	getJSON(t, http.DefaultClient, base+"/internal/force_flush", nil)
	resp, err := http.Get(base + "/api/v1/export?" + url.Values{"match[]": {match}}.Encode())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("export %s: %s", match, resp.Status)
	}
	var got []exported
	lines := bufio.NewScanner(resp.Body)
	lines.Buffer(nil, 1<<24)
	for lines.Scan() {
		var e exported
		if err := json.Unmarshal(lines.Bytes(), &e); err != nil {
			t.Fatalf("export %s: %v in %s", match, err, lines.Bytes())
		}
		got = append(got, e)
	}
	if err := lines.Err(); err != nil {
		t.Fatalf("export %s: %v", match, err)
	}
	return got
}

// testLogger logs to the test.
func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, nil))
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// syncBuffer is a bytes.Buffer safe for the demo's goroutines to log to.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Within ten seconds of start, the demo has a real incident open for its
// client, opened by its deliberately tripped rule, with the client's
// problem notice drafted and an update due; the pager hears of it.
func TestDemoOpensAnIncident(t *testing.T) {
	start := time.Now()
	s, _ := runDemo(t, demo.Options{})
	c := logInHTTP(t, s.Link)
	var list struct {
		Incidents []incident.Incident `json:"incidents"`
	}
	var inc incident.Incident
	deadline := start.Add(10 * time.Second)
	for {
		getJSON(t, c, s.URL+"/api/v1/incidents?state=open", &list)
		if len(list.Incidents) > 0 {
			inc = list.Incidents[0]
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no incident open 10 s after the demo started")
		}
		time.Sleep(100 * time.Millisecond)
	}
	if inc.Rule != "demo-memory-over-1-percent" || inc.Client != demo.Client || inc.Impact == nil || inc.NextUpdate.IsZero() {
		t.Fatalf("the demo's incident: %+v", inc)
	}
	if d := inc.Drafts[incident.ProblemNotice]; !strings.Contains(d.Body, inc.ID) {
		t.Fatalf("its problem notice: %+v", d)
	}
	tsdbtest.WaitFor(t, "the pager's line for "+inc.ID, func() bool {
		b, _ := os.ReadFile(s.PagerLog)
		return strings.Contains(string(b), "opened") && strings.Contains(string(b), inc.ID)
	})
}

// The demo shows where its venues are in their day: the work cycles
// dataview has LSE's, New York's and FX's rows, each with a phase.
func TestDemoShowsWorkCycles(t *testing.T) {
	s, _ := runDemo(t, demo.Options{})
	c := logInHTTP(t, s.Link)
	var dv struct {
		Rows []struct {
			Name  string `json:"name"`
			Cells []cell `json:"cells"`
		} `json:"rows"`
	}
	tsdbtest.WaitFor(t, "the demo's work cycles", func() bool {
		return tryJSON(t, c, s.URL+"/api/v1/dataviews/watchfloor/gateway/self/work-cycles", &dv) == http.StatusOK && len(dv.Rows) == 4
	})
	for _, r := range dv.Rows {
		phase, toNext := "", ""
		for _, c := range r.Cells {
			switch {
			case strings.HasSuffix(c.Path, "/phase"):
				phase = c.Value
			case strings.HasSuffix(c.Path, "/secondsToNext"):
				toNext = c.Value
			}
		}
		if !slices.Contains([]string{"bod", "intraday", "eod", "closed"}, phase) {
			t.Errorf("%s is in phase %q", r.Name, phase)
		}
		// The compressed day's next phase is a minute or two away (a
		// start just before midnight waits for it to pass).
		if n, err := strconv.Atoi(toNext); r.Name == "demo-day" && (err != nil || n <= 0 || n > 20*60) {
			t.Errorf("the demo's day: next phase in %q seconds, want within minutes", toNext)
		}
	}
	// The weekend's release is planned, and not in force yet.
	var maint struct {
		Windows []struct {
			ID     string `json:"id"`
			Active bool   `json:"active"`
			Start  string `json:"start"`
		} `json:"windows"`
	}
	getJSON(t, c, s.URL+"/api/v1/maintenance", &maint)
	if len(maint.Windows) != 1 || maint.Windows[0].ID != "weekend-release" || maint.Windows[0].Active {
		t.Fatalf("the demo's maintenance: %+v", maint.Windows)
	}
	start, err := time.Parse("2006-01-02T15:04", maint.Windows[0].Start)
	if err != nil || start.Weekday() != time.Saturday {
		t.Errorf("the release starts %q (%v), want a Saturday", maint.Windows[0].Start, err)
	}
}
