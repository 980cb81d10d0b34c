package main

import (
	"testing"
	"time"
)

func TestMeasuresLatency(t *testing.T) {
	lat, err := measure(50, 5, 100*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if len(lat) < 50 {
		t.Fatalf("%d latencies, want 50", len(lat))
	}
	for _, l := range lat {
		if l <= 0 || l > 10*time.Second {
			t.Fatalf("latency %v is not a plausible sampler-to-dashboard time", l)
		}
	}
}
