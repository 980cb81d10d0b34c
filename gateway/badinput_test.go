package gateway_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/watchfloor/watchfloor/gateway"
	"github.com/watchfloor/watchfloor/netprobe/protocol"
	"github.com/watchfloor/watchfloor/samplers"
)

func TestProbeTokenChecked(t *testing.T) {
	p := probeSpec{name: "p1", token: "right-token", samplers: []string{"cpu"}}
	gw := startGateway(t, gateway.Options{}, p)
	for name, hdr := range map[string]string{
		"no header":      "",
		"wrong token":    "Bearer wrong-token",
		"empty token":    "Bearer ",
		"not a bearer":   "Basic cDE6cmlnaHQtdG9rZW4=",
		"token of other": "Bearer " + strings.ToUpper(p.token),
	} {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), wait)
			defer cancel()
			h := http.Header{}
			if hdr != "" {
				h.Set("Authorization", hdr)
			}
			conn, resp, err := websocket.Dial(ctx, "ws://"+gw.addr+"/ws/probe", &websocket.DialOptions{HTTPHeader: h})
			if err == nil {
				conn.CloseNow()
				t.Fatal("upgrade succeeded")
			}
			if resp == nil || resp.StatusCode != http.StatusUnauthorized {
				t.Fatalf("response = %v, want 401", resp)
			}
		})
	}
	// The right token still works.
	dialRawProbe(t, gw.addr, p.name, p.token)
}

// A probe whose token is right but whose hello names another probe is
// refused: a credential is for one probe.
func TestHelloNameMustMatchToken(t *testing.T) {
	a := probeSpec{name: "a", token: "tok-a", samplers: []string{"cpu"}}
	b := probeSpec{name: "b", token: "tok-b", samplers: []string{"cpu"}}
	gw := startGateway(t, gateway.Options{}, a, b)
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	conn := dialProbeSocket(t, gw.addr, a.token)
	hello := protocol.Hello{MinVersion: protocol.MinVersion, MaxVersion: protocol.MaxVersion, Name: "b"}
	conn.Write(ctx, websocket.MessageBinary, hello.Append(nil))
	_, _, err := conn.Read(ctx)
	if websocket.CloseStatus(err) != websocket.StatusPolicyViolation {
		t.Fatalf("read after mismatched hello: %v, want policy violation close", err)
	}
}

// Each malformed input closes the connection that sent it, with a reason,
// while a real netprobe on the same gateway keeps streaming.
func TestMalformedFramesCloseOnlyThatConnection(t *testing.T) {
	bad := probeSpec{name: "bad", token: "tok-bad", samplers: []string{"cpu"}}
	good := probeSpec{name: "good", token: "tok-good", samplers: []string{"cpu"}}
	const maxMessage = 64 << 10
	gw := startGateway(t, gateway.Options{MaxMessage: maxMessage}, bad, good)
	startProbe(t, gw.addr, good)
	goodPath := cpuPath(good.name)
	eventually(t, "the good probe's dataview", func() bool { _, ok := dataviews(t, gw.addr)[goodPath]; return ok })

	d := dialDashboard(t, gw.addr)
	d.subscribe(goodPath)
	d.next("snapshot", func(f dashFrame) bool { return f.Type == "snapshot" })

	cases := []struct {
		name string
		send func(p *rawProbe)
		code websocket.StatusCode
	}{
		{"garbage", func(p *rawProbe) { p.write([]byte{0xff, 0x00, 0x13, 0x37}) }, websocket.StatusPolicyViolation},
		{"truncated batch", func(p *rawProbe) {
			b := protocol.Batch{Seq: 1, Updates: []protocol.Update{{ID: 1, Cells: []protocol.CellChange{{Value: samplers.Text("x")}}}}}
			enc := b.Append(nil)
			p.write(enc[:len(enc)-2])
		}, websocket.StatusPolicyViolation},
		{"oversized", func(p *rawProbe) {
			b := protocol.Batch{Seq: 1, Declares: []protocol.Declare{{ID: 1, Name: strings.Repeat("x", 2*maxMessage)}}}
			p.write(b.Append(nil))
		}, websocket.StatusMessageTooBig},
		{"out of order", func(p *rawProbe) {
			p.send(snapshotOf(p, 1, "7.00"))
			p.seq = 0 // repeat sequence number 1
			p.send(protocol.Batch{})
		}, websocket.StatusPolicyViolation},
		{"text frame", func(p *rawProbe) {
			p.conn.Write(context.Background(), websocket.MessageText, []byte(`{"hello":1}`))
		}, websocket.StatusUnsupportedData},
		{"update of an undeclared dataview", func(p *rawProbe) {
			p.send(protocol.Batch{Updates: []protocol.Update{{ID: 99, SampleTime: time.Now().UnixNano()}}})
		}, websocket.StatusPolicyViolation},
		{"cell outside its columns", func(p *rawProbe) {
			p.send(snapshotOf(p, 1, "7.00"))
			p.send(protocol.Batch{Updates: []protocol.Update{{ID: 1, SampleTime: time.Now().UnixNano(),
				Cells: []protocol.CellChange{{Row: 0, Col: 40, Value: samplers.Text("1")}}}}})
		}, websocket.StatusPolicyViolation},
		{"huge row index", func(p *rawProbe) {
			b := snapshotOf(p, 1, "7.00")
			b.Declares[0].Rows[0].Index = 1 << 30
			p.send(b)
		}, websocket.StatusPolicyViolation},
		{"row index above the live rows", func(p *rawProbe) {
			// Index 2 with no rows live: a probe takes the lowest free
			// index, so only 0 is possible.
			b := snapshotOf(p, 1, "7.00")
			b.Declares[0].Rows[0].Index = 2
			p.send(b)
		}, websocket.StatusPolicyViolation},
		{"duplicate row name", func(p *rawProbe) {
			b := snapshotOf(p, 1, "7.00")
			b.Declares[0].Rows = append(b.Declares[0].Rows, protocol.RowDecl{Index: 1, Name: "r", Cells: []samplers.Cell{samplers.Text("8")}})
			p.send(b)
		}, websocket.StatusPolicyViolation},
		{"row without a name", func(p *rawProbe) {
			b := snapshotOf(p, 1, "7.00")
			b.Declares[0].Rows[0].Name = ""
			p.send(b)
		}, websocket.StatusPolicyViolation},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := dialRawProbe(t, gw.addr, bad.name, bad.token)
			tc.send(p)
			code, reason := p.expectClose()
			if code != tc.code {
				t.Fatalf("close code = %v (%q), want %v", code, reason, tc.code)
			}
			if reason == "" {
				t.Error("close frame gives no reason")
			}
			// The good probe is unaffected: its ticks keep arriving.
			d.next("a delta from the good probe", func(f dashFrame) bool { return f.Type == "delta" && f.Dataview == goodPath })
			if code := getJSON(t, "http://"+gw.addr+"/healthz", nil); code != http.StatusOK {
				t.Fatalf("healthz = %d", code)
			}
		})
	}
	var m bytes.Buffer
	gw.Metrics().WritePrometheus(&m)
	if !strings.Contains(m.String(), "watchfloor_probe_protocol_errors_total") {
		t.Fatal("protocol errors are not counted")
	}
}

// snapshotOf returns a one-batch snapshot declaring the probe's first
// sampler's dataview "raw" with one row "r" holding v.
func snapshotOf(p *rawProbe, id uint32, v string) protocol.Batch {
	return protocol.Batch{
		Flags: protocol.SnapshotStart | protocol.SnapshotEnd,
		Declares: []protocol.Declare{{
			ID: id, SamplerID: p.cfg.Samplers[0].ID, Name: "raw", SampleTime: time.Now().UnixNano(),
			Columns: []string{"value"},
			Rows:    []protocol.RowDecl{{Index: 0, Name: "r", Cells: []samplers.Cell{samplers.Text(v)}}},
		}},
	}
}

func updateOf(id uint32, v string) protocol.Batch {
	return protocol.Batch{Updates: []protocol.Update{{ID: id, SampleTime: time.Now().UnixNano(),
		Cells: []protocol.CellChange{{Row: 0, Col: 0, Value: samplers.Text(v)}}}}}
}

func rawValue(t *testing.T, addr, path string) string {
	t.Helper()
	var dv apiDataview
	if code := getJSON(t, "http://"+addr+"/api/v1/dataviews/"+path, &dv); code != http.StatusOK {
		return ""
	}
	return dv.Rows[0].Cells[0].Value
}

// A gap in sequence numbers makes the gateway ask for a snapshot and ignore
// deltas until one arrives.
func TestSequenceGapRequestsSnapshot(t *testing.T) {
	p := probeSpec{name: "gappy", token: "tok-gappy", samplers: []string{"cpu"}}
	gw := startGateway(t, gateway.Options{}, p)
	rp := dialRawProbe(t, gw.addr, p.name, p.token)
	path := dvPath(p.name, "cpu", "raw")

	rp.send(snapshotOf(rp, 1, "1.00"))
	rp.send(updateOf(1, "2.00"))
	eventually(t, "the first update", func() bool { return rawValue(t, gw.addr, path) == "2.00" })

	updatesBefore := gaugeValue(gw, "watchfloor_cell_updates_received_total")
	rp.seq++ // lose batch 3
	rp.send(updateOf(1, "4.00"))
	var req protocol.SnapshotRequest
	if err := req.Decode(rp.read()); err != nil {
		t.Fatalf("after a gap the gateway sent something other than a snapshot request: %v", err)
	}
	if !strings.Contains(req.Reason, "gap") {
		t.Errorf("snapshot request reason = %q", req.Reason)
	}
	rp.send(updateOf(1, "5.00")) // a delta on state the gateway may lack: ignored
	rp.send(snapshotOf(rp, 7, "6.00"))
	eventually(t, "the snapshot to apply", func() bool { return rawValue(t, gw.addr, path) == "6.00" })
	// Only the snapshot's one cell counts: neither delta sent after the gap
	// was applied.
	before, _ := strconv.Atoi(updatesBefore)
	if after, _ := strconv.Atoi(gaugeValue(gw, "watchfloor_cell_updates_received_total")); after != before+1 {
		t.Fatalf("cell updates went from %d to %d across the gap, want only the snapshot's 1", before, after)
	}
	rp.send(updateOf(7, "8.00"))
	eventually(t, "deltas to flow again", func() bool { return rawValue(t, gw.addr, path) == "8.00" })
}

type reloadResult struct {
	Reloaded bool     `json:"reloaded"`
	Errors   []string `json:"errors"`
}

func postReload(t *testing.T, addr string) (int, reloadResult) {
	t.Helper()
	resp, err := http.Post("http://"+addr+"/api/v1/config/reload", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var r reloadResult
	json.NewDecoder(resp.Body).Decode(&r)
	return resp.StatusCode, r
}

// A bad configuration is refused with its place and the running one stays;
// a good one reaches the connected netprobe live.
func TestConfigReload(t *testing.T) {
	p := probeSpec{name: "rel", token: "tok-rel", samplers: []string{"cpu"}}
	gw, write := startFileGateway(t, p)
	addr := gw.addr
	startProbe(t, gw.addr, p)
	cpu := cpuPath(p.name)
	eventually(t, "the cpu dataview", func() bool { _, ok := dataviews(t, addr)[cpu]; return ok })

	write(strings.Replace(configYAML(addr, p), "    probe: rel", "    probe: rel\n    sampelrs: [memory]", 1))
	code, res := postReload(t, addr)
	if code != http.StatusUnprocessableEntity || res.Reloaded || len(res.Errors) == 0 {
		t.Fatalf("bad reload = %d %+v, want 422 with errors", code, res)
	}
	if !regexp.MustCompile(`gateway\.yaml:\d+:\d+: .*sampelrs`).MatchString(res.Errors[0]) {
		t.Errorf("error %q should name the file, line and key", res.Errors[0])
	}
	var probes []struct {
		Name      string `json:"name"`
		Connected bool   `json:"connected"`
	}
	getJSON(t, "http://"+addr+"/api/v1/probes", &probes)
	if len(probes) != 1 || probes[0].Name != "rel" || !probes[0].Connected {
		t.Fatalf("after a refused reload probes = %+v, want rel still connected", probes)
	}

	p.samplers = []string{"cpu", "memory"}
	write(configYAML(addr, p))
	if code, res := postReload(t, addr); code != http.StatusOK || !res.Reloaded {
		t.Fatalf("good reload = %d %+v", code, res)
	}
	mem := dvPath(p.name, "memory", "memory")
	eventually(t, "the new memory sampler to run on the connected probe", func() bool { _, ok := dataviews(t, addr)[mem]; return ok })

	p.samplers = []string{"memory"}
	write(configYAML(addr, p))
	if code, _ := postReload(t, addr); code != http.StatusOK {
		t.Fatalf("reload = %d", code)
	}
	eventually(t, "the removed cpu sampler's dataview to go", func() bool { _, ok := dataviews(t, addr)[cpu]; return !ok })
}

// When a probe disconnects its cells are marked stale and it shows as down.
func TestDisconnectedProbeGoesStale(t *testing.T) {
	p := probeSpec{name: "st", token: "tok-st", samplers: []string{"cpu"}}
	gw := startGateway(t, gateway.Options{}, p)
	rp := dialRawProbe(t, gw.addr, p.name, p.token)
	path := dvPath(p.name, "cpu", "raw")
	rp.send(snapshotOf(rp, 1, "1.00"))
	eventually(t, "the dataview", func() bool { return rawValue(t, gw.addr, path) == "1.00" })

	d := dialDashboard(t, gw.addr)
	d.subscribe(path)
	d.next("snapshot", func(f dashFrame) bool { return f.Type == "snapshot" && f.Stale != nil && !*f.Stale })

	rp.conn.Close(websocket.StatusNormalClosure, "bye")
	d.next("stale mark", func(f dashFrame) bool { return f.Type == "delta" && f.Stale != nil && *f.Stale })
	eventually(t, "the probe to show as down and the dataview as stale", func() bool {
		var probes []struct{ Connected bool }
		getJSON(t, "http://"+gw.addr+"/api/v1/probes", &probes)
		return len(probes) == 1 && !probes[0].Connected && dataviews(t, gw.addr)[path].Stale
	})
	if v := rawValue(t, gw.addr, path); v != "1.00" {
		t.Fatalf("stale value = %q, want the last one kept", v)
	}
}

// A browser page from another origin cannot open the dashboard socket.
func TestDashboardOriginChecked(t *testing.T) {
	gw := startGateway(t, gateway.Options{}, probeSpec{name: "o", token: "tok-o", samplers: []string{"cpu"}})
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	_, resp, err := websocket.Dial(ctx, "ws://"+gw.addr+"/ws/dashboard",
		&websocket.DialOptions{HTTPHeader: http.Header{"Origin": {"http://evil.example"}}})
	if err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("cross-origin dial: err=%v resp=%v, want 403", err, resp)
	}
}

// Removing a probe from the configuration stops its actor, closes its
// connection (the reader does not linger) and removes its dataviews; the
// netprobe is then refused.
func TestProbeRemovedByReload(t *testing.T) {
	keep := probeSpec{name: "keep", token: "tok-keep", samplers: []string{"cpu"}}
	gone := probeSpec{name: "gone", token: "tok-gone", samplers: []string{"cpu"}}
	gw, write := startFileGateway(t, keep, gone)
	addr := gw.addr
	startProbe(t, addr, keep)
	startProbe(t, addr, gone)
	eventually(t, "both probes' dataviews", func() bool {
		dvs := dataviews(t, addr)
		_, a := dvs[cpuPath(keep.name)]
		_, b := dvs[cpuPath(gone.name)]
		return a && b
	})

	write(configYAML(addr, keep))
	if code, res := postReload(t, addr); code != http.StatusOK {
		t.Fatalf("reload = %d %+v", code, res)
	}
	eventually(t, "the removed probe's dataviews to go and its connection to close", func() bool {
		_, still := dataviews(t, addr)[cpuPath(gone.name)]
		return !still && gaugeValue(gw, "watchfloor_probe_connections") == "1"
	})
	var probes []struct{ Name string }
	getJSON(t, "http://"+addr+"/api/v1/probes", &probes)
	if len(probes) != 1 || probes[0].Name != "keep" {
		t.Fatalf("probes after removal = %+v", probes)
	}
	if _, ok := dataviews(t, addr)[cpuPath(keep.name)]; !ok {
		t.Fatal("the kept probe lost its dataview")
	}
}

func gaugeValue(gw *testGateway, name string) string {
	var m bytes.Buffer
	gw.Metrics().WritePrometheus(&m)
	for _, line := range strings.Split(m.String(), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			return v
		}
	}
	return ""
}

// The gateway never sends a probe more than its hello said it accepts: a
// config too large for it closes the connection with the reason.
func TestConfigLargerThanProbeAccepts(t *testing.T) {
	p := probeSpec{name: "tiny", token: "tok-tiny", samplers: []string{"cpu", "memory"}}
	gw := startGateway(t, gateway.Options{}, p)
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	conn := dialProbeSocket(t, gw.addr, p.token)
	hello := protocol.Hello{MinVersion: protocol.MinVersion, MaxVersion: protocol.MaxVersion, Name: p.name, MaxMessage: 16}
	if err := conn.Write(ctx, websocket.MessageBinary, hello.Append(nil)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := conn.Read(ctx); err != nil { // welcome
		t.Fatal(err)
	}
	_, _, err := conn.Read(ctx)
	var ce websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != websocket.StatusMessageTooBig || !strings.Contains(ce.Reason, "limit of 16") {
		t.Fatalf("read after a 16-byte limit: %v, want close 1009 naming the limit", err)
	}
}

// After an invalid batch the connection is over at once: batches it had
// already queued are not applied, and its dataviews are stale.
func TestInvalidBatchEndsConnectionAtOnce(t *testing.T) {
	p := probeSpec{name: "inv", token: "tok-inv", samplers: []string{"cpu"}}
	gw := startGateway(t, gateway.Options{}, p)
	rp := dialRawProbe(t, gw.addr, p.name, p.token)
	path := dvPath(p.name, "cpu", "raw")
	rp.send(snapshotOf(rp, 1, "1.00"))
	eventually(t, "the snapshot", func() bool { return rawValue(t, gw.addr, path) == "1.00" })

	bad := updateOf(1, "2.00")
	bad.Updates[0].Cells[0].Col = 9
	rp.send(bad)
	for range 20 {
		rp.send(updateOf(1, "3.00"))
	}
	if code, _ := rp.expectClose(); code != websocket.StatusPolicyViolation {
		t.Fatalf("close code %v", code)
	}
	eventually(t, "the dataview to be stale", func() bool { return dataviews(t, gw.addr)[path].Stale })
	if v := rawValue(t, gw.addr, path); v != "1.00" {
		t.Fatalf("value after the invalid batch = %q: batches queued behind it were applied", v)
	}
}
