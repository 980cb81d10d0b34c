package main

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/performance"
	"github.com/chromedp/cdproto/profiler"
	"github.com/chromedp/chromedp"

	"github.com/watchfloor/watchfloor/gateway/gatewaytest/chromium"
)

// probeScript is installed in the page before any of its own scripts. It
// records, while on: every requestAnimationFrame delta, every long task
// (PerformanceObserver), and ten times a second the age of the values of
// eight drawn cells picked at random (a grid cell's value is the time its
// probe sent it, in Unix µs), which is the latency from the probe's change
// to the DOM, plus up to the tick it has been shown for.
const probeScript = `(() => {
  const b = window.__bench = { on: false, frames: [], long: [], lat: [] };
  let last = 0, cells = [], refreshed = -1e9, sampled = 0;
  const sample = (t) => {
    if (t - sampled < 100) return;
    sampled = t;
    if (t - refreshed > 1000) {
      cells = [...document.querySelectorAll("#view td[data-path]")];
      refreshed = t;
    }
    const now = Date.now();
    for (let k = 0; k < 8 && cells.length > 0; k++) {
      const el = cells[(Math.random() * cells.length) | 0];
      if (!el.isConnected) continue;
      const v = Number(el.textContent);
      if (v > 1e15) b.lat.push(now - v / 1000);
    }
  };
  const loop = (t) => {
    if (b.on && last) b.frames.push(t - last);
    last = t;
    if (b.on) sample(t);
    requestAnimationFrame(loop);
  };
  requestAnimationFrame(loop);
  new PerformanceObserver((list) => {
    if (b.on) for (const e of list.getEntries()) b.long.push(e.duration);
  }).observe({ type: "longtask" });
  b.start = () => { b.frames = []; b.long = []; b.lat = []; b.on = true; return true; };
  b.stop = () => { b.on = false; return { frames: b.frames, long: b.long, lat: b.lat,
    drawn: document.querySelectorAll("#view [data-path], #view [data-entity]").length }; };
})();`

// pageSample is what probeScript hands back.
type pageSample struct {
	Frames []float64 `json:"frames"`
	Long   []float64 `json:"long"`
	Lat    []float64 `json:"lat"`
	Drawn  int       `json:"drawn"`
}

// browser is one headless Chromium with one tab.
type browser struct {
	ctx    context.Context
	cancel func()
	pid    int
}

func startBrowser(width, height int) (*browser, error) {
	if _, err := os.Stat(chromium.Path); err != nil {
		return nil, fmt.Errorf("chromium not installed at %s (apt-get install chromium): %w", chromium.Path, err)
	}
	dir, err := os.MkdirTemp("", "watchfloor-dashperf-")
	if err != nil {
		return nil, err
	}
	// The browser tests' browser, at a wall screen's size.
	opts := append(chromium.Options(dir), chromedp.WindowSize(width, height))
	actx, acancel := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	b := &browser{ctx: ctx, cancel: func() {
		cancel()
		acancel()
		os.RemoveAll(dir)
	}}
	if _, err := chromedp.Run(ctx, chromedp.Navigate("about:blank")); err != nil {
		b.cancel()
		return nil, err
	}
	if p := chromedp.FromContext(ctx).Browser.Process(); p != nil {
		b.pid = p.Pid
	}
	return b, nil
}

// override serves the files of dir in place of the gateway's files of the
// same names (dir/grid.js for /grid.js, dir/views/dataview.js for
// /views/dataview.js), so that one run can measure an older grid.
func (b *browser) override(dir string) error {
	files := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		data, err := os.ReadFile(p)
		files["/"+filepath.ToSlash(rel)] = data
		return err
	})
	if err != nil {
		return err
	}
	paused := chromedp.Events(b.ctx, fetch.RequestPaused)
	go func() {
		for ev, err := range paused {
			if err != nil {
				return
			}
			u, _ := url.Parse(ev.Request.URL)
			if body, ok := files[u.Path]; ok {
				typ := "text/javascript"
				if strings.HasSuffix(u.Path, ".css") {
					typ = "text/css"
				}
				_, _ = chromedp.Call(b.ctx, fetch.FulfillRequest, fetch.FulfillRequestParams{RequestID: ev.RequestID, ResponseCode: 200,
					ResponseHeaders: []*fetch.HeaderEntry{{Name: "Content-Type", Value: typ}, {Name: "Cache-Control", Value: "no-store"}}, Body: body})
				continue
			}
			_, _ = chromedp.Call(b.ctx, fetch.ContinueRequest, fetch.ContinueRequestParams{RequestID: ev.RequestID})
		}
	}()
	patterns := make([]*fetch.RequestPattern, 0, len(files))
	for p := range files {
		patterns = append(patterns, &fetch.RequestPattern{URLPattern: "*" + p})
	}
	_, err = chromedp.Call(b.ctx, fetch.Enable, fetch.EnableParams{Patterns: patterns})
	return err
}

// open logs the page in with cookie and opens url, with probeScript in
// place and the Performance domain on.
func (b *browser) open(base, cookie, target string) error {
	name, value, _ := strings.Cut(cookie, "=")
	yes := true
	if _, err := chromedp.Call(b.ctx, network.SetCookie, network.SetCookieParams{Name: name, Value: value, URL: base, HTTPOnly: &yes, SameSite: network.CookieSameSiteStrict}); err != nil {
		return fmt.Errorf("set session cookie: %w", err)
	}
	if _, err := chromedp.Call(b.ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: probeScript}); err != nil {
		return err
	}
	if _, err := chromedp.Call(b.ctx, performance.Enable, performance.EnableParams{}); err != nil {
		return err
	}
	_, err := chromedp.Run(b.ctx, chromedp.Navigate(target))
	return err
}

// waitFor polls a JavaScript expression until it is true.
func (b *browser) waitFor(what, expr string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(b.ctx, timeout)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](expr, chromedp.WithPollingInterval(100*time.Millisecond))); err != nil {
		return fmt.Errorf("waiting for %s: %w", what, err)
	}
	return nil
}

// metrics returns the renderer's Performance.getMetrics figures: among
// them TaskDuration (its main thread's busy time so far, in seconds),
// ScriptDuration, RecalcStyleDuration and LayoutDuration.
func (b *browser) metrics() (map[string]float64, error) {
	ctx, cancel := context.WithTimeout(b.ctx, answerTimeout)
	defer cancel()
	res, err := chromedp.Call(ctx, performance.GetMetrics, struct{}{})
	if err != nil {
		return nil, err
	}
	out := map[string]float64{}
	for _, m := range res.Metrics {
		out[m.Name] = m.Value
	}
	if _, ok := out["TaskDuration"]; !ok {
		return nil, fmt.Errorf("no TaskDuration metric")
	}
	return out, nil
}

// answerTimeout bounds how long a page may take to answer the harness: a
// page too busy to run a line of JavaScript in that time has stopped.
const answerTimeout = time.Minute

func (b *browser) start() error {
	ctx, cancel := context.WithTimeout(b.ctx, answerTimeout)
	defer cancel()
	_, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.__bench.start()`))
	return err
}

func (b *browser) stop() (pageSample, error) {
	ctx, cancel := context.WithTimeout(b.ctx, answerTimeout)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[pageSample](`window.__bench.stop()`))
	if err != nil {
		return s, fmt.Errorf("the page did not answer within %s: %w", answerTimeout, err)
	}
	return s, nil
}

// cpuTicks returns the CPU time (utime + stime, in clock ticks) of the
// browser's process tree: of its renderers, and of all its processes.
func cpuTicks(root int) (renderer, all int64, err error) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return 0, 0, err
	}
	type proc struct {
		ppid  int
		ticks int64
	}
	procs := map[int]proc{}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		data, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// Fields after the command's closing parenthesis: state ppid … utime(14) stime(15).
		s := string(data)
		f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if len(f) < 13 {
			continue
		}
		ppid, _ := strconv.Atoi(f[1])
		ut, _ := strconv.ParseInt(f[11], 10, 64)
		st, _ := strconv.ParseInt(f[12], 10, 64)
		procs[pid] = proc{ppid: ppid, ticks: ut + st}
	}
	inTree := func(pid int) bool {
		for i := 0; pid > 1 && i < 64; i++ {
			if pid == root {
				return true
			}
			pid = procs[pid].ppid
		}
		return false
	}
	for pid, p := range procs {
		if !inTree(pid) {
			continue
		}
		all += p.ticks
		cmd, _ := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "cmdline"))
		if strings.Contains(string(cmd), "--type=renderer") {
			renderer += p.ticks
		}
	}
	return renderer, all, nil
}

// startProfile starts the renderer's JavaScript CPU profiler.
func (b *browser) startProfile() error {
	if _, err := chromedp.Call(b.ctx, profiler.Enable, struct{}{}); err != nil {
		return err
	}
	_, err := chromedp.Call(b.ctx, profiler.Start, struct{}{})
	return err
}

// stopProfile stops the profiler, writes its profile to file (a
// .cpuprofile, which Chrome's DevTools open) and returns the functions
// that took the most time themselves, with their milliseconds, best first.
func (b *browser) stopProfile(file string, top int) ([]string, error) {
	res, err := chromedp.Call(b.ctx, profiler.Stop, struct{}{})
	if err != nil {
		return nil, err
	}
	data, err := json.Marshal(res.Profile)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(file, data, 0o644); err != nil {
		return nil, err
	}
	p := res.Profile
	byID := map[int64]string{}
	for _, n := range p.Nodes {
		f := n.CallFrame
		byID[n.ID] = fmt.Sprintf("%s %s:%d", f.FunctionName, filepath.Base(f.URL), f.LineNumber+1)
	}
	self := map[string]float64{}
	for i, id := range p.Samples {
		if i < len(p.TimeDeltas) {
			self[byID[id]] += float64(p.TimeDeltas[i]) / 1000
		}
	}
	names := make([]string, 0, len(self))
	for k := range self {
		names = append(names, k)
	}
	slices.SortFunc(names, func(a, b string) int { return cmp.Compare(self[b], self[a]) })
	var out []string
	for _, k := range names[:min(top, len(names))] {
		out = append(out, fmt.Sprintf("%8.0f ms  %s", self[k], k))
	}
	return out, nil
}
