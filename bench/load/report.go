package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/watchfloor/watchfloor/bench/internal/estate"
)

func signalContext() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
}

// scrape reads the gateway's /metrics into name → value (unlabelled
// series only). The gateway lets loopback callers scrape without a
// session (estate.Access).
func scrape(addr string) (map[string]float64, error) {
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("scrape /metrics: %s", resp.Status)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' || strings.Contains(line, "{") {
			continue
		}
		name, val, ok := strings.Cut(line, " ")
		if !ok {
			continue
		}
		if f, err := strconv.ParseFloat(val, 64); err == nil {
			out[name] = f
		}
	}
	return out, sc.Err()
}

// cpuSeconds reads a process's user+system CPU time from /proc.
func cpuSeconds(pid int) (float64, error) {
	path := "/proc/self/stat"
	if pid > 0 {
		path = fmt.Sprintf("/proc/%d/stat", pid)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	// Fields after the command name, which is in parentheses.
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	utime, _ := strconv.ParseFloat(f[11], 64)
	stime, _ := strconv.ParseFloat(f[12], 64)
	return (utime + stime) / 100, nil // USER_HZ is 100 on Linux
}

func rssBytes(pid int) float64 {
	path := "/proc/self/status"
	if pid > 0 {
		path = fmt.Sprintf("/proc/%d/status", pid)
	}
	b, _ := os.ReadFile(path)
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			return kb * 1024
		}
	}
	return 0
}

// Report is what a run measured; it is printed as one line and as JSON.
type Report struct {
	Gateway         string  `json:"gateway"`
	Probes          int     `json:"probes"`
	CellsPerProbe   int     `json:"cellsPerProbe"`
	LiveCells       int     `json:"liveCells"`
	Tick            string  `json:"tick"`
	Change          float64 `json:"change"`
	Dashboards      int     `json:"dashboards"`
	SlowDashboards  int     `json:"slowDashboards"`
	Seconds         float64 `json:"seconds"`
	SentPerSec      float64 `json:"cellUpdatesSentPerSec"`
	IngestedPerSec  float64 `json:"cellUpdatesIngestedPerSec"`
	LatencyP50Ms    float64 `json:"latencyP50Ms"`
	LatencyP99Ms    float64 `json:"latencyP99Ms"`
	LatencyMaxMs    float64 `json:"latencyMaxMs"`
	LatencySamples  int     `json:"latencySamples"`
	SlowP99Ms       float64 `json:"slowDashboardP99Ms,omitempty"`
	FramesSent      float64 `json:"framesSent"`
	FramesCoalesced float64 `json:"framesCoalesced"`
	FramesDropped   float64 `json:"framesDropped"`
	Resyncs         float64 `json:"resyncs"`
	SlowCutOff      float64 `json:"slowClientsCutOff"`
	GatewayCPU      float64 `json:"gatewayCpuCores"`
	CPUPerMillion   float64 `json:"gatewayCpuSecondsPerMillionUpdates"`
	Rules           int     `json:"rules"`
	Evaluations     float64 `json:"ruleEvaluationsPerSec"`
	GatewayRSS      float64 `json:"gatewayRssBytes"`
	HeapPerCell     float64 `json:"heapBytesPerLiveCell"`
	// HistoryPerSec is the points the history recorded per second;
	// HistoryBytes what it held at its last sweep (every 10 s), and
	// HistoryPerPoint that over the points it held then.
	HistoryPerSec    float64  `json:"historyPointsPerSec"`
	HistoryBytes     float64  `json:"historyBytes"`
	HistoryPerPoint  float64  `json:"historyBytesPerPoint"`
	RSSPerCell       float64  `json:"rssBytesPerLiveCell"`
	ProbeOverruns    int64    `json:"probeTickOverruns"`
	SnapshotRequests int64    `json:"snapshotRequests"`
	ProtocolErrors   float64  `json:"protocolErrors"`
	FellBehind       bool     `json:"fellBehind"`
	Errors           []string `json:"errors,omitempty"`
}

func pct(sorted []time.Duration, q float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	return float64(sorted[int(q*float64(len(sorted)-1))]) / 1e6
}

// run measures one load and returns what it measured.
func run(p params) (*Report, error) {
	if p.probes < 1 || p.dataviews < 1 || p.rows < 1 || p.cols < 1 || p.change < 0 || p.change > 1 || p.slow > p.dashboards {
		return nil, fmt.Errorf("bad flags: need probes, dataviews, rows, cols ≥ 1, 0 ≤ change ≤ 1, slow ≤ dashboards")
	}
	gw, err := startGateway(p)
	if err != nil {
		return nil, err
	}
	base, err := scrape(gw.addr)
	if err != nil {
		gw.stop()
		return nil, err
	}
	baseRSS := rssBytes(gw.pid)

	ctx, cancel := signalContext()
	defer cancel()
	// Each dashboard logs in, one after another (see estate.Login), before
	// the run starts; a session is checked once, when its socket opens.
	cookies := make([]string, p.dashboards)
	for k := range cookies {
		if cookies[k], err = estate.Login(ctx, gw.addr, estate.Viewer); err != nil {
			gw.stop()
			return nil, fmt.Errorf("dashboard %d: %w", k, err)
		}
	}
	var profiler string // the session that takes profiles
	if p.cpuProfile != "" || p.memProfile != "" {
		if profiler, err = estate.Login(ctx, gw.addr, estate.Profiler); err != nil {
			gw.stop()
			return nil, fmt.Errorf("profiles: %w", err)
		}
	}
	ctx, cancelRun := context.WithTimeout(ctx, p.warmup+p.duration)
	defer cancelRun()
	c := &counters{}
	var wg sync.WaitGroup
	errs := make(chan error, p.probes+p.dashboards)
	for i := range p.probes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := simProbe(i, p, gw.addr, c).Run(ctx); err != nil && ctx.Err() == nil {
				errs <- err
			}
		}()
	}
	dashes := make([]*dashClient, p.dashboards)
	for k := range dashes {
		d := &dashClient{k: k, slow: k < p.slow, p: p, addr: gw.addr, c: c, cookie: cookies[k]}
		dashes[k] = d
		wg.Add(1)
		go func() {
			defer wg.Done()
			d.run(ctx)
		}()
	}

	select {
	case <-time.After(p.warmup):
	case <-ctx.Done():
	}
	before, err := scrape(gw.addr)
	if err != nil {
		return nil, err
	}
	cpu0, _ := cpuSeconds(gw.pid)
	t0 := time.Now()
	c.measuring.Store(true)
	profileDone := make(chan error, 1)
	if p.cpuProfile != "" {
		go func() { profileDone <- fetchProfile(gw.addr, profiler, p.cpuProfile, p.duration-time.Second) }()
	} else {
		profileDone <- nil
	}
	<-ctx.Done()
	if err := <-profileDone; err != nil {
		fmt.Fprintln(os.Stderr, "load: cpu profile:", err)
	}
	c.measuring.Store(false)
	elapsed := time.Since(t0).Seconds()
	cpu1, _ := cpuSeconds(gw.pid)
	after, _ := scrape(gw.addr)
	rss := rssBytes(gw.pid)
	if p.memProfile != "" {
		if err := fetch(fmt.Sprintf("http://%s/debug/pprof/heap", gw.addr), profiler, p.memProfile); err != nil {
			fmt.Fprintln(os.Stderr, "load: heap profile:", err)
		}
	}
	wg.Wait()
	if err := gw.stop(); err != nil {
		fmt.Fprintln(os.Stderr, "load: gateway stop:", err)
	}

	live := p.probes * p.dataviews * p.rows * p.cols
	r := Report{
		Gateway: p.mode, Probes: p.probes, CellsPerProbe: p.dataviews * p.rows * p.cols, LiveCells: live,
		Tick: p.tick.String(), Change: p.change, Dashboards: p.dashboards, SlowDashboards: p.slow, Seconds: elapsed,
		SentPerSec:       float64(c.cellsSent.Load()) / elapsed,
		IngestedPerSec:   (after["watchfloor_cell_updates_received_total"] - before["watchfloor_cell_updates_received_total"]) / elapsed,
		FramesSent:       after["watchfloor_dashboard_frames_sent_total"] - before["watchfloor_dashboard_frames_sent_total"],
		FramesCoalesced:  after["watchfloor_dashboard_frames_coalesced_total"] - before["watchfloor_dashboard_frames_coalesced_total"],
		FramesDropped:    after["watchfloor_dashboard_frames_dropped_total"] - before["watchfloor_dashboard_frames_dropped_total"],
		Resyncs:          after["watchfloor_dashboard_resyncs_total"] - before["watchfloor_dashboard_resyncs_total"],
		SlowCutOff:       after["watchfloor_dashboard_slow_disconnects_total"] - before["watchfloor_dashboard_slow_disconnects_total"],
		ProtocolErrors:   after["watchfloor_probe_protocol_errors_total"],
		GatewayCPU:       (cpu1 - cpu0) / elapsed,
		Rules:            p.rules,
		Evaluations:      (after["watchfloor_rule_evaluations_total"] - before["watchfloor_rule_evaluations_total"]) / elapsed,
		GatewayRSS:       rss,
		HeapPerCell:      (after["go_memstats_heap_inuse_bytes"] - base["go_memstats_heap_inuse_bytes"]) / float64(live),
		RSSPerCell:       (rss - baseRSS) / float64(live),
		HistoryPerSec:    (after["watchfloor_history_points_appended_total"] - before["watchfloor_history_points_appended_total"]) / elapsed,
		HistoryBytes:     after["watchfloor_history_bytes"],
		ProbeOverruns:    c.overruns.Load(),
		SnapshotRequests: c.snapshotReqs.Load(),
	}
	if gw.pid == 0 {
		r.GatewayRSS, r.RSSPerCell = 0, 0 // this process holds the generator too
	}
	if r.IngestedPerSec > 0 {
		r.CPUPerMillion = r.GatewayCPU / (r.IngestedPerSec / 1e6)
	}
	if n := after["watchfloor_history_points_held"]; n > 0 {
		r.HistoryPerPoint = r.HistoryBytes / n
	}
	var fast, slow []time.Duration
	for _, d := range dashes {
		if d.err != nil {
			r.Errors = append(r.Errors, d.err.Error())
		}
		if d.slow {
			slow = append(slow, d.lat...)
		} else {
			fast = append(fast, d.lat...)
		}
	}
	for len(errs) > 0 {
		r.Errors = append(r.Errors, (<-errs).Error())
	}
	slices.Sort(fast)
	slices.Sort(slow)
	r.LatencyP50Ms, r.LatencyP99Ms = pct(fast, 0.5), pct(fast, 0.99)
	if len(fast) > 0 {
		r.LatencyMaxMs = float64(fast[len(fast)-1]) / 1e6
	}
	r.LatencySamples = len(fast)
	r.SlowP99Ms = pct(slow, 0.99)
	// Behind: a probe could not send on time, the gateway lost track of a
	// probe, ingest trailed what was sent, or dashboards saw data older
	// than a tick.
	r.FellBehind = r.ProbeOverruns > 0 || r.SnapshotRequests > 0 || r.IngestedPerSec < 0.98*r.SentPerSec ||
		r.ProtocolErrors > 0 || len(r.Errors) > 0 || r.LatencyP99Ms > float64(p.tick)/1e6

	return &r, nil
}

// print writes the one-line summary, and the JSON report where asked.
func (r *Report) print(jsonOut string) error {
	fmt.Printf("probes=%d cells=%d tick=%s change=%.2f dashboards=%d(slow %d) rules=%d | sent %.0f/s ingested %.0f/s evaluations %.0f/s | "+
		"latency p50 %.2fms p99 %.2fms max %.2fms (n=%d) | frames %.0f coalesced %.0f dropped %.0f resyncs %.0f cut-off %.0f | "+
		"gateway cpu %.2f cores (%.2f s per M updates) rss %.0f MiB heap/cell %.0f B | history %.0f points/s, %.1f MiB, %.2f B/point | fell behind: %v\n",
		r.Probes, r.LiveCells, r.Tick, r.Change, r.Dashboards, r.SlowDashboards, r.Rules, r.SentPerSec, r.IngestedPerSec, r.Evaluations,
		r.LatencyP50Ms, r.LatencyP99Ms, r.LatencyMaxMs, r.LatencySamples, r.FramesSent, r.FramesCoalesced, r.FramesDropped,
		r.Resyncs, r.SlowCutOff, r.GatewayCPU, r.CPUPerMillion, r.GatewayRSS/(1<<20), r.HeapPerCell,
		r.HistoryPerSec, r.HistoryBytes/(1<<20), r.HistoryPerPoint, r.FellBehind)
	if jsonOut != "" {
		b, _ := json.MarshalIndent(r, "", "  ")
		if jsonOut == "-" {
			fmt.Println(string(b))
		} else if err := os.WriteFile(jsonOut, append(b, '\n'), 0o644); err != nil {
			return err
		}
	}
	for _, e := range r.Errors {
		fmt.Fprintln(os.Stderr, "load:", e)
	}
	return nil
}

// fetchProfile takes the gateway's CPU profile through its pprof endpoint,
// so in child mode it holds the gateway alone.
func fetchProfile(addr, cookie, file string, d time.Duration) error {
	secs := max(int(d/time.Second), 1)
	return fetch(fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", addr, secs), cookie, file)
}

// fetch saves what url answers in file, asking with the session cookie.
func fetch(url, cookie, file string) error {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Cookie", cookie)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s", resp.Status)
	}
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
