package main

import (
	"os"
	"testing"
	"time"
)

// TestMain lets the harness re-execute this test binary as its child
// gateway, as the real binary re-executes itself.
func TestMain(m *testing.M) {
	if file := os.Getenv(childEnv); file != "" {
		os.Exit(serveChild(file))
	}
	os.Exit(m.Run())
}

// A small run in each gateway mode measures what it claims to: updates
// reach the gateway and are judged by its rules, latencies reach the
// dashboards, and a slow dashboard is reported apart.
func TestSmallRun(t *testing.T) {
	for _, mode := range []string{"inprocess", "child"} {
		t.Run(mode, func(t *testing.T) {
			r, err := run(params{
				mode: mode, probes: 3, dataviews: 2, rows: 3, cols: 3, change: 1, tick: 100 * time.Millisecond,
				dashboards: 3, subs: 2, slow: 1, slowDelay: 50 * time.Millisecond,
				duration: 2 * time.Second, warmup: time.Second, rules: 6, ruleMatch: 0.5,
			})
			if err != nil {
				t.Fatal(err)
			}
			if len(r.Errors) > 0 {
				t.Fatalf("errors: %v", r.Errors)
			}
			// 3 probes × 18 cells every 100 ms.
			if r.SentPerSec < 100 || r.IngestedPerSec < r.SentPerSec/2 {
				t.Fatalf("sent %.0f/s, ingested %.0f/s", r.SentPerSec, r.IngestedPerSec)
			}
			if r.LatencySamples == 0 || r.LatencyP50Ms <= 0 || r.LatencyMaxMs < r.LatencyP99Ms {
				t.Fatalf("latency: %d samples, p50 %.3f, p99 %.3f, max %.3f", r.LatencySamples, r.LatencyP50Ms, r.LatencyP99Ms, r.LatencyMaxMs)
			}
			if r.SlowP99Ms <= 0 {
				t.Fatal("the slow dashboard's latency was not measured apart")
			}
			// The 6 rules cover 2 of 3 columns of every dataview: each of
			// their cells is judged at every change.
			if r.Evaluations < r.IngestedPerSec/3 {
				t.Fatalf("%.0f rule evaluations/s for %.0f updates/s", r.Evaluations, r.IngestedPerSec)
			}
			if mode == "child" && (r.GatewayRSS <= 0 || r.GatewayCPU <= 0) {
				t.Fatalf("child gateway rss %.0f, cpu %.3f: not measured", r.GatewayRSS, r.GatewayCPU)
			}
		})
	}
}
