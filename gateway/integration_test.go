package gateway_test

import (
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"syscall"
	"testing"

	"github.com/watchfloor/watchfloor/dashboard"
	"github.com/watchfloor/watchfloor/gateway"
	gt "github.com/watchfloor/watchfloor/gateway/gatewaytest"
)

// A real netprobe's cpu sampler reaches a real dashboard WebSocket client
// through a real gateway: first as a snapshot, then as deltas.
func TestCPUCellReachesDashboard(t *testing.T) {
	p := probe("trading-1", "cpu")
	gw := gt.Start(t, gateway.Options{}, p)
	tree := gw.Tree(t)
	gt.StartProbe(t, gw.Addr, p)
	path := cpuPath(p)
	waitDataview(tree, path)

	d := gw.Dashboard(t)
	d.Subscribe(dashboard.DataviewTopic(path))
	snap := d.Next("snapshot", func(f gt.Frame) bool { return f.Type == "snapshot" && f.Dataview == path })
	if !slices.Equal(snap.Columns, []string{"utilisation", "user", "system", "iowait", "steal"}) {
		t.Fatalf("snapshot columns = %v", snap.Columns)
	}
	if len(snap.Rows) == 0 || snap.Rows[0].Name != "total" {
		t.Fatalf("snapshot rows = %+v, want total first", snap.Rows)
	}
	// A later tick arrives as a delta with a newer sample time; any cell
	// it carries holds a percentage.
	delta := d.Next("a delta with cells", func(f gt.Frame) bool {
		return f.Type == "delta" && f.Dataview == path && f.SampleTime > snap.SampleTime && len(f.Cells) > 0
	})
	for _, c := range delta.Cells {
		v, err := strconv.ParseFloat(c.V, 64)
		if err != nil || v < 0 || v > 100 {
			t.Errorf("cell %s/%s = %q, want a percentage", c.R, c.C, c.V)
		}
	}
}

// Kill the gateway process outright, start it again on the same port: the
// netprobe reconnects by itself and its snapshot restores the tree.
func TestGatewayKilledAndRestartedProbeRestoresTree(t *testing.T) {
	p := probe("oms-1", "cpu", "memory")
	addr := freeAddr(t)
	cfgFile := filepath.Join(t.TempDir(), "gateway.yaml")
	if err := os.WriteFile(cfgFile, []byte(gt.Config(addr, p)), 0o600); err != nil {
		t.Fatal(err)
	}
	child := startChildGateway(t, cfgFile)
	gt.StartProbe(t, addr, p)
	want := []string{cpuPath(p), dvPath(p, "memory", "memory")}
	tree := watchTreeOf(t, addr)
	for _, path := range want {
		waitDataview(tree, path)
	}

	if err := child.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	child.Wait()

	startChildGateway(t, cfgFile)
	tree = watchTreeOf(t, addr)
	tree.Wait("the probe to reconnect and its snapshot to restore the tree", func(tr *gt.Tree) bool {
		for _, path := range want {
			if n, ok := tr.Node(path); !ok || n.Stale == nil || *n.Stale {
				return false
			}
		}
		return true
	})
	var cpu struct {
		Rows []struct{ Name string } `json:"rows"`
	}
	getJSON(t, "http://"+addr+"/api/v1/dataviews/"+want[0], &cpu)
	var rows []string
	for _, r := range cpu.Rows {
		rows = append(rows, r.Name)
	}
	if len(rows) < 2 || rows[0] != "total" || rows[1] != "cpu0" {
		t.Fatalf("restored cpu rows = %v, want total, cpu0, …", rows)
	}
	d := gt.DialDashboard(t, addr, gt.Login(t, "http://"+addr, gt.Admin.Name))
	d.Subscribe(dashboard.DataviewTopic(want[0]))
	snap := d.Next("snapshot after restart", func(f gt.Frame) bool { return f.Type == "snapshot" })
	d.Next("a live delta after restart", func(f gt.Frame) bool { return f.Type == "delta" && f.SampleTime > snap.SampleTime })
}

// watchTreeOf watches the tree of a gateway that may still be starting.
func watchTreeOf(t *testing.T, addr string) *gt.Tree {
	t.Helper()
	gt.WaitListening(t, addr)
	return gt.WatchTree(t, addr, gt.Login(t, "http://"+addr, gt.Admin.Name))
}

// getJSON fetches url as the admin into v, failing the test unless it
// answers 200.
func getJSON(t *testing.T, rawURL string, v any) {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	gt.Login(t, u.Scheme+"://"+u.Host, gt.Admin.Name).Get(t, u.RequestURI(), v)
}

// /metrics serves the gateway's own counters in Prometheus text format,
// and they count what happened: each moves when what it counts happens.
func TestMetricsCount(t *testing.T) {
	p := probe("m1", "cpu")
	gw := gt.Start(t, gateway.Options{}, p)
	if n := metric(t, gw, "watchfloor_probes_connected"); n != 0 {
		t.Fatalf("probes connected before any connected: %v", n)
	}
	updates := metric(t, gw, "watchfloor_cell_updates_received_total")
	streaming(t, gw, p)

	for name, before := range map[string]float64{
		"watchfloor_probes_connected":             0,
		"watchfloor_cell_updates_received_total":  updates,
		"watchfloor_probe_batches_received_total": 0,
		"watchfloor_dashboard_clients":            0,
		"watchfloor_dashboard_frames_sent_total":  0,
	} {
		if v := metric(t, gw, name); v <= before {
			t.Errorf("%s = %v, want it above %v", name, v, before)
		}
	}
	if got := metric(t, gw, "watchfloor_dashboard_clients"); got != 2 {
		t.Errorf("dashboard clients = %v, want the 2 connected", got)
	}
}
