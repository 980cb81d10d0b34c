package network

import (
	"encoding/json"
	"io"
	"net"
	"testing"
	"time"

	"github.com/watchfloor/watchfloor/samplers"
)

// TestLiveTraffic sends N bytes over loopback between two samples; others
// share lo, so only lower bounds are asserted.
func TestLiveTraffic(t *testing.T) {
	const n = 4 << 20
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	done := make(chan int64, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			done <- 0
			return
		}
		defer c.Close()
		// Once all n bytes are read they have crossed lo, whose counters
		// the second sample then holds.
		got, _ := io.CopyN(io.Discard, c, n)
		done <- got
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(json.RawMessage(`{"interfaces": "^lo$"}`), samplers.Env{})
	if err != nil {
		t.Fatal(err)
	}
	// The test's elapsed time spans both samples' reads, so it is at least
	// the sampler's interval: rate × elapsed is a lower bound on the bytes.
	start := time.Now()
	if _, err := s.Sample(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Write(make([]byte, n)); err != nil {
		t.Fatal(err)
	}
	if got := <-done; got != n {
		t.Fatalf("the receiver read %d bytes, want %d", got, n)
	}
	dvs, err := s.Sample(t.Context())
	elapsed := time.Since(start).Seconds()
	c.Close()
	if err != nil {
		t.Fatal(err)
	}
	dv := dvs[0]
	for _, h := range dv.Headlines {
		if h.Name == "tcpEstablished" && h.Value.Num < 1 {
			t.Errorf("tcpEstablished %s with a connection open", h.Value.Raw)
		}
	}
	for j := range 2 {
		if got := dv.Rows[0].Cells[j].Num * elapsed; got < n {
			t.Errorf("%s × elapsed = %.0f, want ≥ %d", dv.Columns[j], got, n)
		}
	}
}
