package gateway_test

import (
	"context"
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/watchfloor/watchfloor/dashboard"
	"github.com/watchfloor/watchfloor/gateway"
	gt "github.com/watchfloor/watchfloor/gateway/gatewaytest"
	"github.com/watchfloor/watchfloor/netprobe/protocol"
	"github.com/watchfloor/watchfloor/samplers"
)

func TestProbeTokenChecked(t *testing.T) {
	p := probe("p1", "cpu")
	gw := gt.Start(t, gateway.Options{}, p)
	for name, hdr := range map[string]string{
		"no header":      "",
		"wrong token":    "Bearer wrong-token",
		"empty token":    "Bearer ",
		"not a bearer":   "Basic cDE6cmlnaHQtdG9rZW4=",
		"token of other": "Bearer " + strings.ToUpper(p.Token),
	} {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), gt.Wait)
			defer cancel()
			h := http.Header{}
			if hdr != "" {
				h.Set("Authorization", hdr)
			}
			conn, resp, err := websocket.Dial(ctx, "ws://"+gw.Addr+"/ws/probe", &websocket.DialOptions{HTTPHeader: h})
			if err == nil {
				conn.CloseNow()
				t.Fatal("upgrade succeeded")
			}
			if resp == nil || resp.StatusCode != http.StatusUnauthorized {
				t.Fatalf("response = %v, want 401", resp)
			}
		})
	}
	gt.DialRawProbe(t, gw.Addr, p.Name, p.Token) // the right token still works
}

// A probe whose token is right but whose hello names another probe is
// refused: a credential is for one probe.
func TestHelloNameMustMatchToken(t *testing.T) {
	a, b := probe("a", "cpu"), probe("b", "cpu")
	gw := gt.Start(t, gateway.Options{}, a, b)
	ctx, cancel := context.WithTimeout(context.Background(), gt.Wait)
	defer cancel()
	conn := gt.DialProbeSocket(t, gw.Addr, a.Token)
	hello := protocol.Hello{MinVersion: 1, MaxVersion: 2, Name: "b"}
	conn.Write(ctx, websocket.MessageBinary, hello.Append(nil))
	_, _, err := conn.Read(ctx)
	if websocket.CloseStatus(err) != websocket.StatusPolicyViolation {
		t.Fatalf("read after mismatched hello: %v, want policy violation close", err)
	}
}

// Each malformed input closes the connection that sent it, with a reason,
// while a real netprobe on the same gateway keeps streaming.
func TestMalformedFramesCloseOnlyThatConnection(t *testing.T) {
	bad, good := probe("bad", "cpu"), probe("good", "cpu")
	const maxMessage = 64 << 10
	gw := gt.Start(t, gateway.Options{MaxMessage: maxMessage}, bad, good)
	d := streaming(t, gw, good)
	goodPath := cpuPath(good)

	cases := []struct {
		name string
		send func(p *gt.RawProbe)
		code websocket.StatusCode
	}{
		{"garbage", func(p *gt.RawProbe) { p.Write([]byte{0xff, 0x00, 0x13, 0x37}) }, websocket.StatusPolicyViolation},
		{"truncated batch", func(p *gt.RawProbe) {
			b := protocol.Batch{Seq: 1, Updates: []protocol.Update{{ID: 1, Cells: []protocol.CellChange{{Value: samplers.Text("x")}}}}}
			enc := b.Append(nil)
			p.Write(enc[:len(enc)-2])
		}, websocket.StatusPolicyViolation},
		{"oversized", func(p *gt.RawProbe) {
			b := protocol.Batch{Seq: 1, Declares: []protocol.Declare{{ID: 1, Name: strings.Repeat("x", 2*maxMessage)}}}
			p.Write(b.Append(nil))
		}, websocket.StatusMessageTooBig},
		{"out of order", func(p *gt.RawProbe) {
			p.Send(snapshotOf(p, 1, "7.00"))
			b := protocol.Batch{Seq: 1} // repeats sequence number 1
			p.Write(b.Append(nil))
		}, websocket.StatusPolicyViolation},
		{"text frame", func(p *gt.RawProbe) {
			p.Conn.Write(context.Background(), websocket.MessageText, []byte(`{"hello":1}`))
		}, websocket.StatusUnsupportedData},
		{"update of an undeclared dataview", func(p *gt.RawProbe) {
			p.Send(protocol.Batch{Updates: []protocol.Update{{ID: 99, SampleTime: time.Now().UnixNano()}}})
		}, websocket.StatusPolicyViolation},
		{"cell outside its columns", func(p *gt.RawProbe) {
			p.Send(snapshotOf(p, 1, "7.00"))
			p.Send(protocol.Batch{Updates: []protocol.Update{{ID: 1, SampleTime: time.Now().UnixNano(),
				Cells: []protocol.CellChange{{Row: 0, Col: 40, Value: samplers.Text("1")}}}}})
		}, websocket.StatusPolicyViolation},
		{"huge row index", func(p *gt.RawProbe) {
			b := snapshotOf(p, 1, "7.00")
			b.Declares[0].Rows[0].Index = 1 << 30
			p.Send(b)
		}, websocket.StatusPolicyViolation},
		{"row index above the live rows", func(p *gt.RawProbe) {
			// Index 2 with no rows live: a probe takes the lowest free
			// index, so only 0 is possible.
			b := snapshotOf(p, 1, "7.00")
			b.Declares[0].Rows[0].Index = 2
			p.Send(b)
		}, websocket.StatusPolicyViolation},
		{"duplicate row name", func(p *gt.RawProbe) {
			b := snapshotOf(p, 1, "7.00")
			b.Declares[0].Rows = append(b.Declares[0].Rows, protocol.RowDecl{Index: 1, Name: "r", Cells: []samplers.Cell{samplers.Text("8")}})
			p.Send(b)
		}, websocket.StatusPolicyViolation},
		{"row without a name", func(p *gt.RawProbe) {
			b := snapshotOf(p, 1, "7.00")
			b.Declares[0].Rows[0].Name = ""
			p.Send(b)
		}, websocket.StatusPolicyViolation},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			errorsBefore := metric(t, gw, "watchfloor_probe_protocol_errors_total")
			p := gt.DialRawProbe(t, gw.Addr, bad.Name, bad.Token)
			tc.send(p)
			code, reason := p.ExpectClose()
			if code != tc.code {
				t.Fatalf("close code = %v (%q), want %v", code, reason, tc.code)
			}
			if reason == "" {
				t.Error("close frame gives no reason")
			}
			if after := metric(t, gw, "watchfloor_probe_protocol_errors_total"); after != errorsBefore+1 {
				t.Errorf("protocol errors went from %v to %v, want one more", errorsBefore, after)
			}
			// The good probe is unaffected: its ticks keep arriving.
			d.Next("a delta from the good probe", func(f gt.Frame) bool { return f.Type == "delta" && f.Dataview == goodPath })
		})
	}
}

// snapshotOf returns a one-batch snapshot declaring the probe's first
// sampler's dataview "raw" with one row "r" holding v.
func snapshotOf(p *gt.RawProbe, id uint32, v string) protocol.Batch {
	return protocol.Batch{
		Flags: protocol.SnapshotStart | protocol.SnapshotEnd,
		Declares: []protocol.Declare{{
			ID: id, SamplerID: p.Config.Samplers[0].ID, Name: "raw", SampleTime: time.Now().UnixNano(),
			Columns: []string{"value"},
			Rows:    []protocol.RowDecl{{Index: 0, Name: "r", Cells: []samplers.Cell{samplers.Text(v)}}},
		}},
	}
}

func updateOf(id uint32, v string) protocol.Batch {
	return protocol.Batch{Updates: []protocol.Update{{ID: id, SampleTime: time.Now().UnixNano(),
		Cells: []protocol.CellChange{{Row: 0, Col: 0, Value: samplers.Text(v)}}}}}
}

// watchRaw subscribes d to the raw dataview and returns a function that
// waits for its one cell to show want, whether in a snapshot or a delta.
func watchRaw(d *gt.Dashboard, path string) func(want string) gt.Frame {
	d.Subscribe(dashboard.DataviewTopic(path))
	return func(want string) gt.Frame {
		return d.Next("the raw cell to show "+want, func(f gt.Frame) bool {
			if f.Dataview != path {
				return false
			}
			switch f.Type {
			case "snapshot":
				return len(f.Rows) == 1 && f.Rows[0].Cells[0].V == want
			case "delta":
				return len(f.Cells) == 1 && f.Cells[0].V == want
			}
			return false
		})
	}
}

// rawFixture is a gateway and a hand-driven probe whose snapshot declared
// the dataview "raw" holding 1.00, and a dashboard watching it.
type rawFixture struct {
	gw    *gt.Gateway
	rp    *gt.RawProbe
	d     *gt.Dashboard
	path  string
	shows func(want string) gt.Frame
}

func startRaw(t *testing.T, name string, opts gateway.Options) rawFixture {
	t.Helper()
	p := probe(name, "cpu")
	f := rawFixture{gw: gt.Start(t, opts, p), path: dvPath(p, "cpu", "raw")}
	f.rp = gt.DialRawProbe(t, f.gw.Addr, p.Name, p.Token)
	f.rp.Send(snapshotOf(f.rp, 1, "1.00"))
	f.d = f.gw.Dashboard(t)
	f.shows = watchRaw(f.d, f.path)
	f.shows("1.00")
	return f
}

// A gap in sequence numbers makes the gateway ask for a snapshot and ignore
// deltas until one arrives.
func TestSequenceGapRequestsSnapshot(t *testing.T) {
	f := startRaw(t, "gappy", gateway.Options{})
	gw, rp, shows := f.gw, f.rp, f.shows
	rp.Send(updateOf(1, "2.00"))
	shows("2.00")

	before := metric(t, gw, "watchfloor_cell_updates_received_total")
	rp.SkipSeq() // lose batch 3
	rp.Send(updateOf(1, "4.00"))
	var req protocol.SnapshotRequest
	if err := req.Decode(rp.Read()); err != nil {
		t.Fatalf("after a gap the gateway sent something other than a snapshot request: %v", err)
	}
	if !strings.Contains(req.Reason, "gap") {
		t.Errorf("snapshot request reason = %q", req.Reason)
	}
	rp.Send(updateOf(1, "5.00")) // a delta on state the gateway may lack: ignored
	rp.Send(snapshotOf(rp, 7, "6.00"))
	shows("6.00")
	// Only the snapshot's one cell counts: neither delta sent after the
	// gap was applied. The counter moves before a reader can see the
	// value, so it is exact here.
	if after := metric(t, gw, "watchfloor_cell_updates_received_total"); after != before+1 {
		t.Fatalf("cell updates went from %v to %v across the gap, want only the snapshot's 1", before, after)
	}
	rp.Send(updateOf(7, "8.00"))
	shows("8.00")
}

type reloadResult struct {
	Reloaded bool     `json:"reloaded"`
	Errors   []string `json:"errors"`
}

func postReload(t *testing.T, addr string) (int, reloadResult) {
	t.Helper()
	code, body := gt.Login(t, "http://"+addr, gt.Admin.Name).Do(t, http.MethodPost, "/api/v1/config/reload", nil)
	var r reloadResult
	json.Unmarshal(body, &r)
	return code, r
}

// A bad configuration is refused with its place and the running one stays;
// a good one reaches the connected netprobe live.
func TestConfigReload(t *testing.T) {
	p := probe("rel", "cpu")
	gw, write := gt.StartFile(t, gateway.Options{}, p)
	tree := gw.Tree(t)
	gt.StartProbe(t, gw.Addr, p)
	cpu := cpuPath(p)
	waitDataview(tree, cpu)

	write(strings.Replace(gt.Config(gw.Addr, p), `    probe: "rel"`, "    probe: rel\n    sampelrs: [memory]", 1))
	code, res := postReload(t, gw.Addr)
	if code != http.StatusUnprocessableEntity || res.Reloaded || len(res.Errors) == 0 {
		t.Fatalf("bad reload = %d %+v, want 422 with errors", code, res)
	}
	if !regexp.MustCompile(`gateway\.yaml:\d+:\d+: .*sampelrs`).MatchString(res.Errors[0]) {
		t.Errorf("error %q should name the file, line and key", res.Errors[0])
	}
	if n, _ := tree.Node(p.Name); n.Connected == nil || !*n.Connected {
		t.Fatalf("after a refused reload the probe is %+v, want it still connected", n)
	}

	p.Samplers = []string{"cpu", "memory"}
	write(gt.Config(gw.Addr, p))
	if code, res := postReload(t, gw.Addr); code != http.StatusOK || !res.Reloaded {
		t.Fatalf("good reload = %d %+v", code, res)
	}
	waitDataview(tree, dvPath(p, "memory", "memory"))

	p.Samplers = []string{"memory"}
	write(gt.Config(gw.Addr, p))
	if code, _ := postReload(t, gw.Addr); code != http.StatusOK {
		t.Fatalf("reload = %d", code)
	}
	tree.Wait("the removed cpu sampler's dataview to go", func(tr *gt.Tree) bool { _, ok := tr.Node(cpu); return !ok })
}

// When a probe disconnects its cells are marked stale, it shows as down,
// and its values stay.
func TestDisconnectedProbeGoesStale(t *testing.T) {
	f := startRaw(t, "st", gateway.Options{})
	gw, rp, d, path := f.gw, f.rp, f.d, f.path
	tree := gw.Tree(t)

	rp.Conn.Close(websocket.StatusNormalClosure, "bye")
	d.Next("stale mark", func(f gt.Frame) bool { return f.Type == "delta" && f.Stale != nil && *f.Stale })
	tree.Wait("the probe down and its dataview stale", func(tr *gt.Tree) bool {
		pn, _ := tr.Node("st")
		dn, _ := tr.Node(path)
		return pn.Connected != nil && !*pn.Connected && dn.Stale != nil && *dn.Stale
	})
	var dv struct {
		Rows []struct {
			Cells []struct{ Value string } `json:"cells"`
		} `json:"rows"`
	}
	getJSON(t, gw.URL()+"/api/v1/dataviews/"+path, &dv)
	if v := dv.Rows[0].Cells[0].Value; v != "1.00" {
		t.Fatalf("stale value = %q, want the last one kept", v)
	}
}

// A browser page from another origin cannot open the dashboard socket.
func TestDashboardOriginChecked(t *testing.T) {
	gw := gt.Start(t, gateway.Options{}, probe("o", "cpu"))
	ctx, cancel := context.WithTimeout(context.Background(), gt.Wait)
	defer cancel()
	_, resp, err := websocket.Dial(ctx, "ws://"+gw.Addr+"/ws/dashboard",
		&websocket.DialOptions{HTTPHeader: http.Header{"Origin": {"http://evil.example"}, "Cookie": {gw.Admin(t).Cookie}}})
	if err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("cross-origin dial: err=%v resp=%v, want 403", err, resp)
	}
}

// Removing a probe from the configuration stops its actor, closes its
// connection (the reader does not linger) and removes its subtree; the
// netprobe is then refused.
func TestProbeRemovedByReload(t *testing.T) {
	keep, gone := probe("keep", "cpu"), probe("gone", "cpu")
	gw, write := gt.StartFile(t, gateway.Options{}, keep, gone)
	tree := gw.Tree(t)
	gt.StartProbe(t, gw.Addr, keep)
	gt.StartProbe(t, gw.Addr, gone)
	waitDataview(tree, cpuPath(keep))
	waitDataview(tree, cpuPath(gone))

	write(gt.Config(gw.Addr, keep))
	if code, res := postReload(t, gw.Addr); code != http.StatusOK {
		t.Fatalf("reload = %d %+v", code, res)
	}
	tree.Wait("the removed probe's subtree to go", func(tr *gt.Tree) bool { _, ok := tr.Node(gone.Name); return !ok })
	if _, ok := tree.Node(cpuPath(keep)); !ok {
		t.Fatal("the kept probe lost its dataview")
	}
	gt.Eventually(t, "the removed probe's connection to close", func() bool {
		return metric(t, gw, "watchfloor_probe_connections") == 1
	})
	var probes []struct{ Name string }
	getJSON(t, gw.URL()+"/api/v1/probes", &probes)
	if len(probes) != 1 || probes[0].Name != "keep" {
		t.Fatalf("probes after removal = %+v", probes)
	}
}

// The gateway never sends a probe more than its hello said it accepts: a
// config too large for it closes the connection with the reason.
func TestConfigLargerThanProbeAccepts(t *testing.T) {
	p := probe("tiny", "cpu", "memory")
	gw := gt.Start(t, gateway.Options{}, p)
	ctx, cancel := context.WithTimeout(context.Background(), gt.Wait)
	defer cancel()
	conn := gt.DialProbeSocket(t, gw.Addr, p.Token)
	hello := protocol.Hello{MinVersion: 1, MaxVersion: 1, Name: p.Name, MaxMessage: 16}
	if err := conn.Write(ctx, websocket.MessageBinary, hello.Append(nil)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := conn.Read(ctx); err != nil { // welcome
		t.Fatal(err)
	}
	_, _, err := conn.Read(ctx)
	var ce websocket.CloseError
	if !asClose(err, &ce) || ce.Code != websocket.StatusMessageTooBig || !strings.Contains(ce.Reason, "limit of 16") {
		t.Fatalf("read after a 16-byte limit: %v, want close 1009 naming the limit", err)
	}
}

// After an invalid batch the connection is over at once: batches it had
// already queued are not applied, and its dataviews are stale.
func TestInvalidBatchEndsConnectionAtOnce(t *testing.T) {
	f := startRaw(t, "inv", gateway.Options{})
	rp, d := f.rp, f.d

	bad := updateOf(1, "2.00")
	bad.Updates[0].Cells[0].Col = 9
	rp.Send(bad)
	// Batches behind it, as many as reach the gateway before it closes.
	for range 20 {
		if rp.TrySend(updateOf(1, "3.00")) != nil {
			break
		}
	}
	if code, _ := rp.ExpectClose(); code != websocket.StatusPolicyViolation {
		t.Fatalf("close code %v", code)
	}
	d.Next("the dataview to go stale", func(f gt.Frame) bool {
		if len(f.Cells) > 0 {
			t.Fatalf("a cell changed after the invalid batch: %s", f.Raw)
		}
		return f.Type == "delta" && f.Stale != nil && *f.Stale
	})
}
