// Command reconnect measures how soon netprobes come back after a gateway
// outage: a real gateway and N real netprobes in one process, on
// loopback. Once every probe is connected (and has been long enough for
// its session to count as healthy), the gateway stops for -outage, then
// starts again on the same port; the command reports when each probe was
// connected again, counted from the gateway's return, and how often the
// probes tried to connect while it was down. It stops by itself.
//
//	go run ./bench/reconnect -probes 300 -outage 10s
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/VictoriaMetrics/metrics"

	"github.com/watchfloor/watchfloor/bench/internal/estate"
	"github.com/watchfloor/watchfloor/gateway"
	"github.com/watchfloor/watchfloor/gateway/config"
	"github.com/watchfloor/watchfloor/netprobe"
	"github.com/watchfloor/watchfloor/samplers"
)

// tick is the cheap sampler every probe runs: one cell, a counter.
type tick struct{ n int64 }

func (t *tick) Sample(context.Context) ([]samplers.Dataview, error) {
	t.n++
	return []samplers.Dataview{{Name: "tick", Columns: []string{"n"},
		Rows: []samplers.Row{{Name: "n", Cells: []samplers.Cell{samplers.Int(t.n)}}}}}, nil
}

func (*tick) Close() error { return nil }

func init() {
	noParams := func(p json.RawMessage) error { return samplers.DecodeParams(p, &struct{}{}) }
	samplers.Register(samplers.Type{Name: "tick", Validate: noParams,
		New: func(p json.RawMessage, _ samplers.Env) (samplers.Sampler, error) { return &tick{}, noParams(p) }})
}

type params struct {
	probes         int
	outage, settle time.Duration
	wait           time.Duration
	capUnreachable time.Duration
}

func main() {
	var p params
	flag.IntVar(&p.probes, "probes", 300, "netprobes")
	flag.DurationVar(&p.outage, "outage", 10*time.Second, "how long the gateway is down")
	flag.DurationVar(&p.settle, "settle", 12*time.Second, "how long the probes stay connected before the outage (a session under 10s counts as refused)")
	flag.DurationVar(&p.wait, "wait", 2*time.Minute, "give up on probes not back this long after the gateway's return")
	flag.DurationVar(&p.capUnreachable, "unreachable-cap", 0, "the probes' MaxUnreachableBackoff (0: the netprobe's default)")
	flag.Parse()
	r, err := run(p)
	if err != nil {
		fmt.Fprintln(os.Stderr, "reconnect:", err)
		os.Exit(1)
	}
	r.print(p)
}

func token(i int) string     { return estate.Token("reconnect", i) }
func probeName(i int) string { return estate.Probe(i) }

// connections records when each probe connected, from the probes' own
// log: the record the netprobe writes once its handshake is complete.
type connections struct {
	mu    sync.Mutex
	times map[int][]time.Time
	added chan struct{} // a probe connected
}

func (c *connections) add(i int, at time.Time) {
	c.mu.Lock()
	c.times[i] = append(c.times[i], at)
	c.mu.Unlock()
	select {
	case c.added <- struct{}{}:
	default:
	}
}

// after returns, for each probe, its first connection at or after t.
func (c *connections) after(t time.Time) map[int]time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[int]time.Time, len(c.times))
	for i, ts := range c.times {
		for _, at := range ts {
			if !at.Before(t) {
				out[i] = at
				break
			}
		}
	}
	return out
}

// waitAll waits until every one of n probes connected at or after t, or
// until the deadline; it returns how many had.
func (c *connections) waitAll(n int, t, deadline time.Time) int {
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	for {
		if got := len(c.after(t)); got == n {
			return got
		}
		select {
		case <-c.added:
		case <-timer.C:
			return len(c.after(t))
		}
	}
}

// connectLog is a probe's slog handler: it notes the probe's connections
// and drops everything else.
type connectLog struct {
	i int
	c *connections
}

func (h connectLog) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelInfo }

func (h connectLog) Handle(_ context.Context, r slog.Record) error {
	if r.Message == "connected to gateway" {
		h.c.add(h.i, r.Time)
	}
	return nil
}

func (h connectLog) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h connectLog) WithGroup(string) slog.Handler      { return h }

// lazyListener binds its address only when the gateway first accepts on
// it, so the port refuses connections until the gateway serves: the
// gateway's return is that moment, not the earlier one at which a
// listener would already queue connections for a gateway still starting.
type lazyListener struct {
	addr   *net.TCPAddr
	once   sync.Once
	ln     net.Listener
	err    error
	opened chan time.Time // receives when it started listening
	mu     sync.Mutex
	closed bool
}

func (l *lazyListener) Accept() (net.Conn, error) {
	l.once.Do(func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		if l.closed {
			l.err = net.ErrClosed
			return
		}
		l.ln, l.err = net.ListenTCP("tcp", l.addr)
		l.opened <- time.Now()
	})
	if l.err != nil {
		return nil, l.err
	}
	return l.ln.Accept()
}

func (l *lazyListener) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closed = true
	if l.ln != nil {
		return l.ln.Close()
	}
	return nil
}

func (l *lazyListener) Addr() net.Addr { return l.addr }

// runningGateway is one run of the gateway on the bench's address.
type runningGateway struct {
	cancel context.CancelFunc
	done   chan error
	opened time.Time // when it began to serve
}

// startGateway starts a gateway on addr and returns once it serves.
func startGateway(addr *net.TCPAddr, cfg *config.Config, log *slog.Logger) (*runningGateway, error) {
	ln := &lazyListener{addr: addr, opened: make(chan time.Time, 1)}
	gw, err := gateway.New(gateway.Options{Config: cfg, Listener: ln, Logger: log})
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	g := &runningGateway{cancel: cancel, done: make(chan error, 1)}
	go func() { g.done <- gw.Run(ctx) }()
	select {
	case g.opened = <-ln.opened:
	case err := <-g.done:
		cancel()
		return nil, fmt.Errorf("gateway stopped before serving: %w", err)
	}
	if ln.err != nil {
		g.stop()
		return nil, ln.err
	}
	return g, nil
}

func (g *runningGateway) stop() error {
	g.cancel()
	return <-g.done
}

type report struct {
	back     []time.Duration // each returned probe's delay after the gateway's return
	missing  int             // probes not back within -wait
	attempts int             // connect attempts while the gateway was down
	outage   time.Duration   // how long it was down, measured
}

func run(p params) (*report, error) {
	gwLog := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	tcpAddr := ln.Addr().(*net.TCPAddr)
	addr := tcpAddr.String()
	ln.Close()
	cfg, err := config.Parse("reconnect", []byte(estate.Config(addr, p.probes, "reconnect", "{name: tick, type: tick, interval: 1s}", "tick")))
	if err != nil {
		return nil, err
	}
	gw, err := startGateway(tcpAddr, cfg, gwLog)
	if err != nil {
		return nil, err
	}
	defer func() {
		if gw != nil {
			gw.stop()
		}
	}()

	conns := &connections{times: map[int][]time.Time{}, added: make(chan struct{}, 1)}
	sets := make([]*metrics.Set, p.probes)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer func() { cancel(); wg.Wait() }()
	start := time.Now()
	for i := range p.probes {
		sets[i] = metrics.NewSet()
		np, err := netprobe.New(netprobe.Options{Gateway: "ws://" + addr, Name: probeName(i), Token: token(i),
			Logger: slog.New(connectLog{i: i, c: conns}), Metrics: sets[i], MaxUnreachableBackoff: p.capUnreachable})
		if err != nil {
			return nil, err
		}
		wg.Go(func() { np.Run(ctx) })
	}
	if n := conns.waitAll(p.probes, start, time.Now().Add(time.Minute)); n != p.probes {
		return nil, fmt.Errorf("only %d of %d probes connected within a minute", n, p.probes)
	}
	fmt.Fprintf(os.Stderr, "%d probes connected in %v; holding for %v\n", p.probes, time.Since(start).Round(time.Millisecond), p.settle)
	time.Sleep(p.settle)

	if err := gw.stop(); err != nil && !errors.Is(err, context.Canceled) {
		return nil, fmt.Errorf("stop gateway: %w", err)
	}
	gw = nil
	down := time.Now() // the listener is closed once Run has returned
	before := sumCounter(sets, "watchfloor_netprobe_connect_attempts_total")
	fmt.Fprintf(os.Stderr, "gateway down for %v\n", p.outage)
	time.Sleep(p.outage)
	attempts := sumCounter(sets, "watchfloor_netprobe_connect_attempts_total") - before
	restart := time.Now()
	if gw, err = startGateway(tcpAddr, cfg, gwLog); err != nil {
		return nil, fmt.Errorf("restart gateway on %s: %w", addr, err)
	}
	returned := gw.opened
	fmt.Fprintf(os.Stderr, "gateway serving again %v after its restart began\n", returned.Sub(restart).Round(time.Millisecond))
	n := conns.waitAll(p.probes, returned, returned.Add(p.wait))

	r := &report{missing: p.probes - n, attempts: attempts, outage: returned.Sub(down)}
	for _, at := range conns.after(returned) {
		r.back = append(r.back, at.Sub(returned))
	}
	slices.Sort(r.back)
	return r, nil
}

// sumCounter adds up one counter over every probe's metrics.
func sumCounter(sets []*metrics.Set, name string) int {
	total := 0
	for _, s := range sets {
		var buf bytes.Buffer
		s.WritePrometheus(&buf)
		sc := bufio.NewScanner(&buf)
		for sc.Scan() {
			if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
				n, _ := strconv.Atoi(v)
				total += n
			}
		}
	}
	return total
}

func (r *report) print(p params) {
	q := func(f float64) time.Duration {
		if len(r.back) == 0 {
			return 0
		}
		return r.back[int(f*float64(len(r.back)-1))].Round(time.Millisecond)
	}
	fmt.Printf("%d probes, gateway down %v: back after its return median %v  p99 %v  max %v",
		p.probes, r.outage.Round(time.Millisecond), q(0.5), q(0.99), q(1))
	if r.missing > 0 {
		fmt.Printf("  (%d not back within %v)", r.missing, p.wait)
	}
	fmt.Printf("; %d connect attempts during the outage, %.0f/s\n", r.attempts, float64(r.attempts)/r.outage.Seconds())
}
