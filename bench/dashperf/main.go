// Command dashperf measures the dashboard in a real browser: a real
// gateway in this process, simulated netprobes speaking the real protocol
// over loopback, and the real dashboard in headless Debian Chromium
// (driven by chromedp, with gateway/gatewaytest/chromium's flags, as the browser
// tests run it) at a wall screen's size. Each case feeds the page and measures, over a fixed
// window: the requestAnimationFrame deltas (median, p99, max, and the
// frames not drawn: the vsyncs a late frame skipped), long tasks, the
// latency from a probe's change to the DOM, and the browser's CPU (its
// renderers' and all its processes', from /proc, and the renderer main
// thread's busy time from Performance.getMetrics).
//
//	go run ./bench/dashperf                                  # every case
//	go run ./bench/dashperf -cases grid:10000 -duration 30s
//	go run ./bench/dashperf -before /tmp/oldweb              # and the old files, for ratios
//
// Cases: grid:N is one dataview of N cells in 10 columns, every cell
// changing every -tick (250 ms), each value the time its probe sent it;
// wall:N is N entities on the wall, each changing severity (ok, warning,
// critical) every second, their probes spread over the second.
//
// -before DIR serves DIR's files instead of the gateway's own of the same
// names (DIR/grid.js for /grid.js) and runs every case with them too, so
// that one run compares, for instance, the grid as committed
// (git show <commit>:assets/web/grid.js) with the one in the tree.
// docs/dashboard.md ("Benchmarks") has the figures.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/watchfloor/watchfloor/bench/internal/estate"
	"github.com/watchfloor/watchfloor/bench/internal/simprobe"
)

// tokenPrefix keeps this program's probe tokens apart from others'.
const tokenPrefix = "dashperf"

// clockTicks is Linux's USER_HZ: /proc's CPU times are in these.
const clockTicks = 100

// The gateway's configuration declares the simulated probes' dataviews
// under the sampler type "dashperf".
func init() { simprobe.RegisterSampler("dashperf") }

// gridCols is the columns of a grid case's dataview.
const gridCols = 10

type params struct {
	cases            []string
	tick             time.Duration
	duration, warmup time.Duration
	width, height    int
	before           string
	jsonOut          string
	profile          string
	screenshots      string
}

func main() {
	var p params
	var cases string
	flag.StringVar(&cases, "cases", "grid:200,grid:1000,grid:10000,wall:200", "comma-separated `cases`: grid:N cells, wall:N entities")
	flag.DurationVar(&p.tick, "tick", 250*time.Millisecond, "how often a grid case's cells all change")
	flag.DurationVar(&p.duration, "duration", 20*time.Second, "measured window of each case")
	flag.DurationVar(&p.warmup, "warmup", 5*time.Second, "time after the page has drawn before measuring")
	flag.IntVar(&p.width, "width", 1920, "browser window width")
	flag.IntVar(&p.height, "height", 1080, "browser window height")
	flag.StringVar(&p.before, "before", "", "also run every case with this `directory`'s files served in place of the gateway's")
	flag.StringVar(&p.jsonOut, "json", "", "also write the results as JSON to this `file` (- for stdout)")
	flag.StringVar(&p.screenshots, "screenshots", "", "save each case's page at the end of its window as a PNG in this `directory`")
	flag.StringVar(&p.profile, "profile", "", "profile the page's JavaScript over each window into `prefix`-<case>-<files>.cpuprofile, and list the costliest functions")
	flag.Parse()
	p.cases = strings.Split(cases, ",")
	results, err := runAll(p)
	if err == nil {
		err = report(os.Stdout, p, results)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "dashperf:", err)
		os.Exit(1)
	}
}

// result is one case's figures.
type result struct {
	Case          string  `json:"case"`
	Variant       string  `json:"variant"` // "after" (the tree's files) or "before" (-before's)
	Drawn         int     `json:"drawnElements"`
	Frames        int     `json:"frames"`
	FrameP50Ms    float64 `json:"frameP50Ms"`
	FrameP99Ms    float64 `json:"frameP99Ms"`
	FrameMaxMs    float64 `json:"frameMaxMs"`
	FramesOver50  int     `json:"framesOver50ms"`
	NotDrawn      int     `json:"framesNotDrawn"`
	LongTasks     int     `json:"longTasks"`
	LongTaskMaxMs float64 `json:"longTaskMaxMs"`
	LatencyP50Ms  float64 `json:"latencyP50Ms"`
	LatencyP99Ms  float64 `json:"latencyP99Ms"`
	LatencyMaxMs  float64 `json:"latencyMaxMs"`
	LatencyN      int     `json:"latencySamples"`
	RendererCPU   float64 `json:"rendererCPU"` // cores
	BrowserCPU    float64 `json:"browserCPU"`  // cores, every process of the browser
	MainThread    float64 `json:"mainThread"`  // share of the window the renderer's main thread was busy
	Script        float64 `json:"script"`      // … running JavaScript
	Style         float64 `json:"style"`       // … recalculating style
	Layout        float64 `json:"layout"`      // … in layout
	Seconds       float64 `json:"seconds"`
	Err           string  `json:"error,omitempty"` // why the case has no figures
}

func runAll(p params) ([]result, error) {
	var out []result
	for _, c := range p.cases {
		variants := []string{"after"}
		if p.before != "" {
			variants = []string{"before", "after"}
		}
		for _, v := range variants {
			if _, _, err := parseCase(strings.TrimSpace(c)); err != nil {
				return out, err
			}
			// A case the page cannot keep up with is a result, not the
			// end of the run: the old grid stops answering at 10,000 cells.
			r, err := runCase(p, strings.TrimSpace(c), v)
			if err != nil {
				r = result{Case: strings.TrimSpace(c), Variant: v, Err: err.Error()}
			}
			fmt.Fprintf(os.Stderr, "dashperf: %s (%s) done %s\n", r.Case, r.Variant, r.Err)
			out = append(out, r)
		}
	}
	return out, nil
}

// parseCase reads "grid:1000" or "wall:200".
func parseCase(c string) (kind string, n int, err error) {
	kind, num, ok := strings.Cut(c, ":")
	n, err = strconv.Atoi(num)
	if !ok || err != nil || n <= 0 || (kind != "grid" && kind != "wall") {
		return "", 0, fmt.Errorf("case %q: want grid:N or wall:N", c)
	}
	return kind, n, nil
}

const wallRules = `rules:
  - {name: dashperf-wall, match: "*/*/perf/dv/*/*", critical: {when: value >= 2}, warning: {when: value >= 1}}
`

func runCase(p params, c, variant string) (result, error) {
	kind, n, err := parseCase(c)
	if err != nil {
		return result{}, err
	}
	probes, rows, cols, tick := 1, (n+gridCols-1)/gridCols, gridCols, p.tick
	if kind == "wall" {
		probes, rows, cols, tick = n, 1, 1, time.Second
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return result{}, err
	}
	addr := ln.Addr().String()
	yaml := estate.Config(addr, probes, tokenPrefix, "{name: perf, type: dashperf}", "perf")
	if kind == "wall" {
		yaml += wallRules
	}
	gw, err := estate.StartGateway(ln, "dashperf", yaml, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		return result{}, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	errs := make(chan error, probes)
	// The probes end before the gateway does; a gateway that ended early
	// has its probes fail with it.
	defer func() {
		cancel()
		wg.Wait()
		if err := gw.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "dashperf: gateway:", err)
		}
	}()
	value := simprobe.SendTime
	if kind == "wall" {
		value = severityCycle
	}
	for i := range probes {
		sp := simProbe(i, probes, addr, rows, cols, tick, value)
		wg.Go(func() {
			if err := sp.Run(ctx); err != nil && ctx.Err() == nil {
				errs <- err
			}
		})
	}

	cookie, err := estate.Login(ctx, addr, estate.Viewer)
	if err != nil {
		return result{}, err
	}
	b, err := startBrowser(p.width, p.height)
	if err != nil {
		return result{}, err
	}
	defer b.cancel()
	if variant == "before" {
		if err := b.override(p.before); err != nil {
			return result{}, err
		}
	}
	base := "http://" + addr
	target, ready := base+"/#/view/"+estate.Probe(0)+"/"+estate.Entity(0)+"/perf/dv", `document.querySelectorAll("#view td[data-path]").length > 0`
	if kind == "wall" {
		target, ready = base+"/#/wall", fmt.Sprintf(`document.querySelectorAll("#view [data-entity]").length >= %d`, n)
	}
	if err := b.open(base, cookie, target); err != nil {
		return result{}, err
	}
	if err := b.waitFor("the page to draw", ready, 60*time.Second); err != nil {
		return result{}, err
	}
	time.Sleep(p.warmup) // the measurement's own pacing, not a wait for a condition

	r := result{Case: c, Variant: variant}
	m0, err := b.metrics()
	if err != nil {
		return r, err
	}
	rend0, all0, err := cpuTicks(b.pid)
	if err != nil {
		return r, err
	}
	if p.profile != "" {
		if err := b.startProfile(); err != nil {
			return r, err
		}
	}
	if err := b.start(); err != nil {
		return r, err
	}
	t0 := time.Now()
	time.Sleep(p.duration)
	s, err := b.stop()
	if err != nil {
		return r, err
	}
	if p.screenshots != "" {
		png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
		if err != nil {
			return r, err
		}
		file := filepath.Join(p.screenshots, fmt.Sprintf("dashperf-%s-%s.png", strings.ReplaceAll(c, ":", ""), variant))
		if err := os.WriteFile(file, png, 0o644); err != nil {
			return r, err
		}
	}
	if p.profile != "" {
		file := fmt.Sprintf("%s-%s-%s.cpuprofile", p.profile, strings.ReplaceAll(c, ":", ""), variant)
		top, err := b.stopProfile(file, 15)
		if err != nil {
			return r, err
		}
		fmt.Fprintf(os.Stderr, "%s (%s): %s; self time:\n  %s\n", c, variant, file, strings.Join(top, "\n  "))
	}
	secs := time.Since(t0).Seconds()
	m1, err := b.metrics()
	if err != nil {
		return r, err
	}
	rend1, all1, err := cpuTicks(b.pid)
	if err != nil {
		return r, err
	}
	select {
	case err := <-errs:
		return r, err
	default:
	}

	r.Seconds = secs
	r.Drawn = s.Drawn
	r.Frames = len(s.Frames)
	r.FrameP50Ms, r.FrameP99Ms, r.FrameMaxMs = quantile(s.Frames, 0.5), quantile(s.Frames, 0.99), quantile(s.Frames, 1)
	const vsync = 1000.0 / 60
	for _, f := range s.Frames {
		if f > 50 {
			r.FramesOver50++
		}
		if missed := int(f/vsync+0.5) - 1; missed > 0 {
			r.NotDrawn += missed
		}
	}
	r.LongTasks = len(s.Long)
	r.LongTaskMaxMs = quantile(s.Long, 1)
	r.LatencyN = len(s.Lat)
	r.LatencyP50Ms, r.LatencyP99Ms, r.LatencyMaxMs = quantile(s.Lat, 0.5), quantile(s.Lat, 0.99), quantile(s.Lat, 1)
	r.RendererCPU = float64(rend1-rend0) / clockTicks / secs
	r.BrowserCPU = float64(all1-all0) / clockTicks / secs
	share := func(name string) float64 { return (m1[name] - m0[name]) / secs }
	r.MainThread, r.Script, r.Style, r.Layout = share("TaskDuration"), share("ScriptDuration"), share("RecalcStyleDuration"), share("LayoutDuration")
	return r, nil
}

// quantile returns the q quantile of xs (nearest rank), 0 for none.
func quantile(xs []float64, q float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	i := int(q*float64(len(s))+0.5) - 1
	return s[max(0, min(len(s)-1, i))]
}

func report(w io.Writer, p params, rs []result) error {
	fmt.Fprintf(w, "dashperf: %s window per case, %s warm-up, %d×%d, grid cells change every %s\n\n", p.duration, p.warmup, p.width, p.height, p.tick)
	fmt.Fprintln(w, "| case | files | drawn | frames | p50 ms | p99 ms | max ms | >50 ms | not drawn | long tasks (max ms) | latency p50 / p99 / max ms | renderer CPU | browser CPU | main thread (script / style / layout) |")
	fmt.Fprintln(w, "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
	for _, r := range rs {
		if r.Err != "" {
			fmt.Fprintf(w, "| %s | %s | %s |\n", r.Case, r.Variant, r.Err)
			continue
		}
		lat := "—"
		if r.LatencyN > 0 {
			lat = fmt.Sprintf("%.0f / %.0f / %.0f", r.LatencyP50Ms, r.LatencyP99Ms, r.LatencyMaxMs)
		}
		fmt.Fprintf(w, "| %s | %s | %d | %d | %.1f | %.1f | %.0f | %d | %d | %d (%.0f) | %s | %.0f%% | %.0f%% | %.0f%% (%.0f / %.0f / %.0f) |\n",
			r.Case, r.Variant, r.Drawn, r.Frames, r.FrameP50Ms, r.FrameP99Ms, r.FrameMaxMs, r.FramesOver50, r.NotDrawn,
			r.LongTasks, r.LongTaskMaxMs, lat, 100*r.RendererCPU, 100*r.BrowserCPU, 100*r.MainThread, 100*r.Script, 100*r.Style, 100*r.Layout)
	}
	if p.before != "" {
		fmt.Fprintln(w, "\nbefore / after:")
		for i := 0; i+1 < len(rs); i += 2 {
			b, a := rs[i], rs[i+1]
			if b.Err != "" || a.Err != "" {
				fmt.Fprintf(w, "- %s: no ratio (%s%s)\n", a.Case, b.Err, a.Err)
				continue
			}
			fmt.Fprintf(w, "- %s: p99 frame %s, frames drawn %s, renderer CPU %s\n", a.Case,
				ratio(b.FrameP99Ms, a.FrameP99Ms), ratio(float64(a.Frames), float64(b.Frames)), ratio(b.RendererCPU, a.RendererCPU))
		}
	}
	if p.jsonOut == "" {
		return nil
	}
	data, err := json.MarshalIndent(rs, "", "  ")
	if err != nil {
		return err
	}
	if p.jsonOut == "-" {
		_, err = fmt.Fprintf(w, "%s\n", data)
		return err
	}
	return os.WriteFile(p.jsonOut, append(data, '\n'), 0o644)
}

func ratio(x, y float64) string {
	if y == 0 {
		return "—"
	}
	return fmt.Sprintf("%.1f×", x/y)
}
