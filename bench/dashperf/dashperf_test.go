package main

import (
	"testing"
	"time"

	"github.com/watchfloor/watchfloor/gateway/gatewaytest/chromium"
)

// A short run of a small grid and a small wall measures what it claims
// to: frames drawn at about the screen's rate, every cell drawn, the
// latency of values that reached the page, and the browser's CPU. It
// skips without Chromium, except under CI=true.
func TestShortRun(t *testing.T) {
	chromium.Require(t)
	p := params{cases: []string{"grid:40", "wall:5"}, tick: 250 * time.Millisecond, duration: 2 * time.Second, warmup: 500 * time.Millisecond, width: 1280, height: 800}
	rs, err := runAll(p)
	if err != nil {
		t.Fatal(err)
	}
	grid, wall := rs[0], rs[1]
	for _, r := range rs {
		if r.Err != "" {
			t.Fatalf("%s: %s", r.Case, r.Err)
		}
	}
	if grid.Frames < 20 || grid.FrameP50Ms <= 0 || grid.FrameP99Ms < grid.FrameP50Ms {
		t.Errorf("grid frames: %d, p50 %.1f ms, p99 %.1f ms", grid.Frames, grid.FrameP50Ms, grid.FrameP99Ms)
	}
	if grid.Drawn != 40 {
		t.Errorf("grid cells drawn: %d, want 40", grid.Drawn)
	}
	// Values are send times: their age is positive and under the run.
	if grid.LatencyN == 0 || grid.LatencyP50Ms <= 0 || grid.LatencyMaxMs > 10_000 {
		t.Errorf("grid latency: %d samples, p50 %.0f ms, max %.0f ms", grid.LatencyN, grid.LatencyP50Ms, grid.LatencyMaxMs)
	}
	if grid.RendererCPU <= 0 || grid.BrowserCPU < grid.RendererCPU || grid.MainThread <= 0 {
		t.Errorf("grid CPU: renderer %.2f, browser %.2f, main thread %.2f", grid.RendererCPU, grid.BrowserCPU, grid.MainThread)
	}
	if wall.Frames < 20 || wall.Drawn < 5 || wall.LatencyN != 0 {
		t.Errorf("wall: %d frames, %d elements drawn, %d latency samples", wall.Frames, wall.Drawn, wall.LatencyN)
	}
}
