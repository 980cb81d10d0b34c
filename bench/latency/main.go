// Command latency measures how long a cell change takes from the sampler
// that produced it to a dashboard WebSocket client: a real gateway and a
// real netprobe in one process, connected over loopback WebSockets, with a
// sampler whose cell holds the time it was sampled. One process means one
// clock, so the difference is the whole path's latency.
//
//	go run ./bench/latency -changes 1000
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/coder/websocket"

	"github.com/watchfloor/watchfloor/bench/internal/estate"
	"github.com/watchfloor/watchfloor/gateway"
	"github.com/watchfloor/watchfloor/gateway/config"
	"github.com/watchfloor/watchfloor/netprobe"
	"github.com/watchfloor/watchfloor/samplers"
)

// clock is a sampler whose only cell is the time of sampling.
type clock struct{}

func (clock) Close() error { return nil }

func (clock) Sample(context.Context) ([]samplers.Dataview, error) {
	return []samplers.Dataview{{Name: "clock", Columns: []string{"ns"}, Rows: []samplers.Row{
		{Name: "now", Cells: []samplers.Cell{samplers.Int(time.Now().UnixNano())}},
	}}}, nil
}

func main() {
	changes := flag.Int("changes", 1000, "cell changes to measure")
	instances := flag.Int("samplers", 10, "clock sampler instances (each ticks at -interval)")
	interval := flag.Duration("interval", 100*time.Millisecond, "sampler interval (100ms floor)")
	flag.Parse()
	lat, err := measure(*changes, *instances, *interval)
	if err != nil {
		fmt.Fprintln(os.Stderr, "latency:", err)
		os.Exit(1)
	}
	slices.Sort(lat)
	q := func(p float64) time.Duration { return lat[int(p*float64(len(lat)-1))].Round(time.Microsecond) }
	fmt.Printf("sampler→dashboard latency over %d changes (%d samplers at %v): median %v  p90 %v  p99 %v  max %v\n",
		len(lat), *instances, *interval, q(0.5), q(0.9), q(0.99), q(1))
}

func init() {
	noParams := func(p json.RawMessage) error { return samplers.DecodeParams(p, &struct{}{}) }
	samplers.Register(samplers.Type{Name: "clock", Validate: noParams,
		New: func(p json.RawMessage, _ samplers.Env) (samplers.Sampler, error) { return clock{}, noParams(p) }})
}

// measure runs a gateway and a netprobe with clock samplers and returns
// the latency of each of the first changes cell changes to reach a
// dashboard client.
func measure(changes, instances int, interval time.Duration) ([]time.Duration, error) {
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := ln.Addr().String()
	const token = "latency-bench-token"
	var y strings.Builder
	fmt.Fprintf(&y, "listen: %q\nprobes:\n  - {name: bench, token_sha256: %s}\nsamplers:\n", addr, config.HashToken(token))
	var names []string
	for i := range instances {
		name := fmt.Sprintf("clock%02d", i)
		names = append(names, name)
		fmt.Fprintf(&y, "  - {name: %s, type: clock, interval: %s}\n", name, interval)
	}
	fmt.Fprintf(&y, "entities:\n  - {name: e, probe: bench, samplers: [%s]}\n", strings.Join(names, ", "))
	y.WriteString(estate.Access())
	cfg, err := config.Parse("latency", []byte(y.String()))
	if err != nil {
		return nil, err
	}
	gw, err := gateway.New(gateway.Options{Config: cfg, Listener: ln, Logger: log})
	if err != nil {
		return nil, err
	}
	np, err := netprobe.New(netprobe.Options{Gateway: "ws://" + addr, Name: "bench", Token: token, Logger: log})
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	gwDone := make(chan error, 1)
	go func() { gwDone <- gw.Run(ctx) }()
	npDone := make(chan struct{})
	go func() { defer close(npDone); np.Run(ctx) }()
	defer func() { cancel(); <-npDone; <-gwDone }()

	// The dashboard logs in as a wall screen's viewer does; its session
	// is checked when the socket opens, not per frame.
	cookie, err := estate.Login(ctx, addr, estate.Viewer)
	if err != nil {
		return nil, err
	}
	conn, _, err := websocket.Dial(ctx, "ws://"+addr+"/ws/dashboard",
		&websocket.DialOptions{HTTPHeader: http.Header{"Cookie": {cookie}}})
	if err != nil {
		return nil, fmt.Errorf("dashboard: %w", err)
	}
	defer conn.CloseNow()
	for _, name := range names {
		sub, _ := json.Marshal(map[string]string{"op": "subscribe", "topic": "dataview/bench/e/" + name + "/clock"})
		if err := conn.Write(ctx, websocket.MessageText, sub); err != nil {
			return nil, err
		}
	}
	var lat []time.Duration
	deadline := time.Now().Add(time.Duration(changes/instances+50) * interval * 3)
	for len(lat) < changes {
		rctx, rcancel := context.WithDeadline(ctx, deadline)
		_, data, err := conn.Read(rctx)
		now := time.Now()
		rcancel()
		if err != nil {
			return nil, fmt.Errorf("after %d changes: %w", len(lat), err)
		}
		var f struct {
			Type  string
			Cells []struct{ V string }
		}
		if err := json.Unmarshal(data, &f); err != nil {
			return nil, err
		}
		if f.Type != "delta" {
			continue
		}
		for _, c := range f.Cells {
			ns, err := strconv.ParseInt(c.V, 10, 64)
			if err != nil {
				return nil, fmt.Errorf("cell value %q: %w", c.V, err)
			}
			lat = append(lat, now.Sub(time.Unix(0, ns)))
		}
	}
	return lat, nil
}
