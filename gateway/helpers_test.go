package gateway_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/coder/websocket"
	"go.uber.org/goleak"

	"github.com/watchfloor/watchfloor/dashboard"
	"github.com/watchfloor/watchfloor/gateway"
	"github.com/watchfloor/watchfloor/gateway/config"
	gt "github.com/watchfloor/watchfloor/gateway/gatewaytest"
	_ "github.com/watchfloor/watchfloor/samplers/all"
)

// childEnv names the configuration file a re-executed test binary serves
// as a standalone gateway process, so tests can kill a real process.
const childEnv = "WATCHFLOOR_TEST_GATEWAY_CONFIG"

func TestMain(m *testing.M) {
	if file := os.Getenv(childEnv); file != "" {
		os.Exit(runChildGateway(file))
	}
	goleak.VerifyTestMain(m)
}

func runChildGateway(file string) int {
	cfg, err := config.Load(file)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	gw, err := gateway.New(gateway.Options{Config: cfg, ConfigFile: file})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if err := gw.Run(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// startChildGateway runs the test binary as a standalone gateway process.
func startChildGateway(t *testing.T, cfgFile string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+cfgFile)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
	})
	return cmd
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// probe is a test probe whose one entity runs samplers.
func probe(name string, samplers ...string) gt.Probe {
	return gt.Probe{Name: name, Token: "tok-" + name, Samplers: samplers}
}

// dvPath is the path of a dataview of the entity gt.Config gives p.
func dvPath(p gt.Probe, sampler, dataview string) string {
	return gt.DataviewPath(p.Name, p.Entity(), sampler, dataview)
}

func cpuPath(p gt.Probe) string { return dvPath(p, "cpu", "cpu") }

// metric returns a metric's value on the gateway's /metrics page, as the
// scraper reads it, failing the test if it is not there.
func metric(t *testing.T, gw *gt.Gateway, name string) float64 {
	t.Helper()
	code, body := gw.Admin(t).Do(t, http.MethodGet, "/metrics", nil)
	if code != http.StatusOK {
		t.Fatalf("GET /metrics: %d %s", code, body)
	}
	for line := range strings.SplitSeq(string(body), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("metric %s = %q: %v", name, v, err)
			}
			return f
		}
	}
	t.Fatalf("no metric %s on /metrics", name)
	return 0
}

// waitDataview waits until the tree lists the dataview.
func waitDataview(tr *gt.Tree, path string) {
	tr.Wait("dataview "+path+" in the tree", func(tr *gt.Tree) bool { _, ok := tr.Node(path); return ok })
}

// asClose reports whether err is a WebSocket close, setting ce.
func asClose(err error, ce *websocket.CloseError) bool { return errors.As(err, ce) }

func bufioReader(c net.Conn) *bufio.Reader { return bufio.NewReader(c) }

// streaming starts a real netprobe for p, whose entity runs cpu, and
// returns a dashboard watching its cpu dataview once a delta has come.
func streaming(t *testing.T, gw *gt.Gateway, p gt.Probe) *gt.Dashboard {
	t.Helper()
	tree := gw.Tree(t)
	gt.StartProbe(t, gw.Addr, p)
	waitDataview(tree, cpuPath(p))
	d := gw.Dashboard(t)
	d.Subscribe(dashboard.DataviewTopic(cpuPath(p)))
	d.Next("a delta from "+p.Name, func(f gt.Frame) bool { return f.Type == "delta" && f.Dataview == cpuPath(p) })
	return d
}
