// Command load measures the spine at estate scale: a real gateway (a child
// process by default, or in this process), N simulated netprobes speaking
// the real protocol over loopback, and K real dashboard WebSocket clients,
// some of them deliberately slow. It stops by itself after -duration.
//
//	go run ./bench/load -probes 100 -dataviews 10 -rows 10 -cols 10 -change 1 -tick 1s -dashboards 10 -duration 30s
//	go run ./bench/load ... -rules 1000 -rule-match 0.5
//
// Each changed cell holds the time its probe sent it, so a dashboard client
// reads the end-to-end latency straight off the cell. docs/benchmarks.md
// lists the flags and the figures.
package main

import (
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/watchfloor/watchfloor/bench/internal/estate"
	"github.com/watchfloor/watchfloor/bench/internal/simprobe"
	"github.com/watchfloor/watchfloor/gateway"
	"github.com/watchfloor/watchfloor/gateway/config"
)

// childEnv makes this binary serve as the gateway under test.
const childEnv = "WATCHFLOOR_LOAD_GATEWAY_CONFIG"

// tokenPrefix keeps this program's probe tokens apart from others'.
const tokenPrefix = "load"

// The gateway's configuration declares the simulated probes' dataviews
// under the sampler type "load".
func init() { simprobe.RegisterSampler("load") }

type params struct {
	mode                            string
	probes, dataviews, rows, cols   int
	change                          float64
	tick                            time.Duration
	dashboards, subs, slow          int
	slowDelay                       time.Duration
	duration, warmup                time.Duration
	jsonOut, cpuProfile, memProfile string
	remoteWrite                     string
	rules                           int
	ruleMatch                       float64
}

func main() {
	if file := os.Getenv(childEnv); file != "" {
		os.Exit(serveChild(file))
	}
	var p params
	flag.StringVar(&p.mode, "gateway", "child", "run the gateway as a `child` process or `inprocess`")
	flag.IntVar(&p.probes, "probes", 100, "simulated netprobes")
	flag.IntVar(&p.dataviews, "dataviews", 10, "dataviews per probe")
	flag.IntVar(&p.rows, "rows", 10, "rows per dataview")
	flag.IntVar(&p.cols, "cols", 10, "columns per dataview")
	flag.Float64Var(&p.change, "change", 1, "fraction of each probe's cells that change every tick (0–1)")
	flag.DurationVar(&p.tick, "tick", time.Second, "each probe's tick")
	flag.IntVar(&p.dashboards, "dashboards", 10, "dashboard WebSocket clients")
	flag.IntVar(&p.subs, "subs", 10, "dataviews each dashboard subscribes to")
	flag.IntVar(&p.slow, "slow", 0, "how many of the dashboards are slow")
	flag.DurationVar(&p.slowDelay, "slow-delay", 500*time.Millisecond, "a slow dashboard's pause after each frame")
	flag.DurationVar(&p.duration, "duration", 30*time.Second, "measured run time")
	flag.DurationVar(&p.warmup, "warmup", 5*time.Second, "time after connecting before measuring")
	flag.IntVar(&p.rules, "rules", 0, "threshold rules the gateway evaluates (see ruleDefs)")
	flag.Float64Var(&p.ruleMatch, "rule-match", 0.5, "with -rules: the fraction of each dataview's columns the rules cover (0–1)")
	flag.StringVar(&p.remoteWrite, "remote-write", "", "also send the history to this remote-write `URL` (a dead one measures ingestion while the store is down)")
	flag.StringVar(&p.jsonOut, "json", "", "also write the report as JSON to this `file` (- for stdout)")
	flag.StringVar(&p.cpuProfile, "cpuprofile", "", "write the gateway's CPU profile over the measured run to this `file`")
	flag.StringVar(&p.memProfile, "memprofile", "", "write the gateway's heap profile at the end of the measured run to this `file`")
	flag.Parse()
	r, err := run(p)
	if err == nil {
		err = r.print(p.jsonOut)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "load:", err)
		os.Exit(1)
	}
}

func serveChild(file string) int {
	cfg, err := config.Load(file)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	gw, err := gateway.New(gateway.Options{Config: cfg, Logger: log})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	ctx, stop := signalContext()
	defer stop()
	if err := gw.Run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// ruleDefs renders p.rules threshold rules of the commonest shape — a
// column of one dataview, for a group of entities chosen by attribute,
// with a critical and a warning threshold that the simulated values (send
// times) never cross, as most cells are fine most of the time — covering
// the first -rule-match of each dataview's columns. The entities are split
// into as many groups as it takes for the rules to go round once, so each
// covered cell is matched by one rule.
func ruleDefs(p params) string {
	if p.rules <= 0 {
		return ""
	}
	cols := max(1, min(p.cols, int(float64(p.cols)*p.ruleMatch+0.5)))
	groups := max(1, min(p.probes, p.rules/(p.dataviews*cols)))
	var b strings.Builder
	b.WriteString("rules:\n")
	for k := range p.rules {
		d, c, g := k%p.dataviews, (k/p.dataviews)%cols, (k/(p.dataviews*cols))%groups
		var shards []string
		for i := g; i < p.probes; i += groups {
			shards = append(shards, strconv.Quote(strconv.Itoa(i)))
		}
		fmt.Fprintf(&b, "  - {name: load-%05d, match: \"*/*/load/dv%d/*/c%d\", where: {shard: [%s]}, "+
			"critical: {when: value < 0}, warning: {when: value < 1}}\n", k, d, c, strings.Join(shards, ", "))
	}
	return b.String()
}

// remoteWrite renders the remote_write section -remote-write asks for.
func remoteWrite(p params) string {
	if p.remoteWrite == "" {
		return ""
	}
	return fmt.Sprintf("remote_write:\n  - {url: %q, name: load}\n", p.remoteWrite)
}

// gatewayUnderTest is the gateway being measured.
type gatewayUnderTest struct {
	addr string
	pid  int // 0 when in this process
	stop func() error
}

func startGateway(p params) (*gatewayUnderTest, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := ln.Addr().String()
	yaml := estate.Config(addr, p.probes, tokenPrefix, "{name: load, type: load}", "load") + ruleDefs(p) + remoteWrite(p)
	if p.mode == "inprocess" {
		gw, err := estate.StartGateway(ln, "load", yaml,
			slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
		if err != nil {
			return nil, err
		}
		return &gatewayUnderTest{addr: addr, stop: gw.Stop}, nil
	}
	if p.mode != "child" {
		return nil, fmt.Errorf("-gateway %q: want child or inprocess", p.mode)
	}
	ln.Close()
	dir, err := os.MkdirTemp("", "watchfloor-load-")
	if err != nil {
		return nil, err
	}
	file := filepath.Join(dir, "gateway.yaml")
	if err := os.WriteFile(file, []byte(yaml), 0o600); err != nil {
		return nil, err
	}
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(self)
	cmd.Env = append(os.Environ(), childEnv+"="+file)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	stop := func() error {
		cmd.Process.Signal(os.Interrupt)
		err := cmd.Wait()
		os.RemoveAll(dir)
		return err
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			stop()
			return nil, fmt.Errorf("child gateway did not listen on %s", addr)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return &gatewayUnderTest{addr: addr, pid: cmd.Process.Pid, stop: stop}, nil
}
