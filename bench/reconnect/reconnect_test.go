package main

import (
	"testing"
	"time"
)

// A small run measures what it claims to: every probe comes back after
// the outage, within the netprobe's 3 s cap for an unreachable gateway
// (and a second for the handshake on a busy machine), having kept trying
// while the gateway was down.
func TestSmallRun(t *testing.T) {
	r, err := run(params{probes: 10, outage: 2 * time.Second, wait: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if r.missing != 0 || len(r.back) != 10 {
		t.Fatalf("%d probes back, %d missing; want all 10 back", len(r.back), r.missing)
	}
	if m := r.back[len(r.back)-1]; m > 4*time.Second {
		t.Errorf("last probe back %v after the gateway, want within the 3s cap", m)
	}
	if r.attempts < 10 || r.outage < 2*time.Second {
		t.Errorf("%d attempts over a %v outage, want each probe to have tried at least once", r.attempts, r.outage)
	}
}
