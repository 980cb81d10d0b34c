package gateway_test

import (
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/watchfloor/watchfloor/gateway"
	"github.com/watchfloor/watchfloor/samplers"
)

// dvPath is the path of a dataview of the entity configYAML gives probe.
func dvPath(probe, sampler, dataview string) string {
	return samplers.DataviewPath{Probe: probe, Entity: probe + "-entity", Sampler: sampler, Dataview: dataview}.String()
}

func cpuPath(probe string) string { return dvPath(probe, "cpu", "cpu") }

// A real netprobe's cpu sampler reaches a real dashboard WebSocket client
// through a real gateway: first as a snapshot, then as deltas.
func TestCPUCellReachesDashboard(t *testing.T) {
	p := probeSpec{name: "trading-1", token: "tok-trading-1", samplers: []string{"cpu"}}
	gw := startGateway(t, gateway.Options{}, p)
	startProbe(t, gw.addr, p)

	path := cpuPath(p.name)
	eventually(t, "the cpu dataview in the API", func() bool { _, ok := dataviews(t, gw.addr)[path]; return ok })

	d := dialDashboard(t, gw.addr)
	d.subscribe(path)
	snap := d.next("snapshot", func(f dashFrame) bool { return f.Type == "snapshot" && f.Dataview == path })
	if !slices.Equal(snap.Columns, []string{"utilisation", "user", "system", "iowait", "steal"}) {
		t.Fatalf("snapshot columns = %v", snap.Columns)
	}
	if len(snap.Rows) == 0 || snap.Rows[0].Name != "total" {
		t.Fatalf("snapshot rows = %+v, want total first", snap.Rows)
	}
	// A later tick arrives as a delta with a newer sample time; any cell
	// it carries holds a percentage.
	delta := d.next("a delta with cells", func(f dashFrame) bool {
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
	p := probeSpec{name: "oms-1", token: "tok-oms-1", samplers: []string{"cpu", "memory"}}
	addr := freeAddr(t)
	cfgFile := filepath.Join(t.TempDir(), "gateway.yaml")
	if err := os.WriteFile(cfgFile, []byte(configYAML(addr, p)), 0o600); err != nil {
		t.Fatal(err)
	}
	child := startChildGateway(t, cfgFile)
	startProbe(t, addr, p)

	want := []string{cpuPath(p.name), dvPath(p.name, "memory", "memory")}
	var before map[string]apiDataview
	eventually(t, "both dataviews before the kill", func() bool {
		before = dataviews(t, addr)
		return len(before) == 2 && before[want[0]].SampleTime != "" && before[want[1]].SampleTime != ""
	})

	if err := child.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	child.Wait()

	startChildGateway(t, cfgFile)
	eventually(t, "the probe to reconnect and its snapshot to restore the tree", func() bool {
		after := dataviews(t, addr)
		for _, path := range want {
			if dv, ok := after[path]; !ok || dv.Stale || dv.SampleTime == "" {
				return false
			}
		}
		return len(after) == len(before)
	})
	var cpu apiDataview
	getJSON(t, "http://"+addr+"/api/v1/dataviews/"+want[0], &cpu)
	var rows []string
	for _, r := range cpu.Rows {
		rows = append(rows, r.Name)
	}
	if len(rows) < 2 || rows[0] != "total" || rows[1] != "cpu0" {
		t.Fatalf("restored cpu rows = %v, want total, cpu0, …", rows)
	}

	d := dialDashboard(t, addr)
	d.subscribe(want[0])
	snap := d.next("snapshot after restart", func(f dashFrame) bool { return f.Type == "snapshot" })
	d.next("a live delta after restart", func(f dashFrame) bool {
		return f.Type == "delta" && f.SampleTime > snap.SampleTime
	})
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

// /metrics serves the gateway's own counters in Prometheus text format:
// every sample line parses, and the counters the spine promises are there.
func TestMetricsPage(t *testing.T) {
	p := probeSpec{name: "m1", token: "tok-m1", samplers: []string{"cpu"}}
	gw := startGateway(t, gateway.Options{}, p)
	startProbe(t, gw.addr, p)
	eventually(t, "the cpu dataview", func() bool { _, ok := dataviews(t, gw.addr)[cpuPath(p.name)]; return ok })
	d := dialDashboard(t, gw.addr)
	d.subscribe(cpuPath(p.name))
	d.next("a delta", func(f dashFrame) bool { return f.Type == "delta" })

	resp, err := http.Get("http://" + gw.addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Errorf("Content-Type = %q", ct)
	}
	body, _ := io.ReadAll(resp.Body)
	values := map[string]float64{}
	for _, line := range strings.Split(string(body), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		name, v := line[:max(i, 0)], line[i+1:]
		f, err := strconv.ParseFloat(v, 64)
		if i <= 0 || err != nil {
			t.Fatalf("unparsable metrics line %q", line)
		}
		values[name] = f
	}
	for name, atLeast := range map[string]float64{
		"watchfloor_probes_connected":               1,
		"watchfloor_cell_updates_received_total":    1,
		"watchfloor_dashboard_clients":              1,
		"watchfloor_dashboard_frames_sent_total":    1,
		"watchfloor_dashboard_frames_dropped_total": 0,
		"watchfloor_dashboard_resyncs_total":        0,
		"process_resident_memory_bytes":             1,
	} {
		v, ok := values[name]
		if !ok || v < atLeast {
			t.Errorf("%s = %v (present %v), want at least %v", name, v, ok, atLeast)
		}
	}
}
