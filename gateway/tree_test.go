package gateway_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/watchfloor/watchfloor/gateway"
	"github.com/watchfloor/watchfloor/gateway/config"
	gt "github.com/watchfloor/watchfloor/gateway/gatewaytest"
	"github.com/watchfloor/watchfloor/netprobe/protocol"
	"github.com/watchfloor/watchfloor/samplers"
)

// The tree is the configuration's probes, entities (with their
// attributes) and samplers, and the probes' dataviews, each with counts of
// its cells; the API serves it and the tree topic pushes its changes.
func TestTree(t *testing.T) {
	ln := gt.Listen(t)
	yaml := fmt.Sprintf(`listen: %q
probes:
  - {name: srv1, token_sha256: %s}
  - {name: srv2, token_sha256: %s}
samplers:
  - {name: cpu, type: cpu, interval: 100ms}
entities:
  - {name: OMS, probe: srv1, attributes: {system: oms, client: acme}, samplers: [cpu]}
  - {name: SOR, probe: srv1, attributes: {system: sor}, samplers: [cpu]}
  - {name: FIX/2, probe: srv2, samplers: [cpu]}
`, ln.Addr().String(), config.HashToken("t1"), config.HashToken("t2")) + gt.Users(gt.Admin)
	cfg, err := config.Parse("tree.yaml", []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	gw := gt.Start(t, gateway.Options{Config: cfg, Listener: ln})
	tree := gw.Tree(t)
	// Before any probe connects the configuration's nodes are there.
	for _, path := range []string{"srv1", "srv1/OMS", "srv1/OMS/cpu", "srv1/SOR/cpu", "srv2/FIX%2F2/cpu"} {
		if _, ok := tree.Node(path); !ok {
			t.Errorf("the tree lacks %s before any probe connected", path)
		}
	}
	if n, _ := tree.Node("srv1/OMS"); n.Attributes["client"] != "acme" || n.Attributes["system"] != "oms" {
		t.Errorf("OMS attributes = %v", n.Attributes)
	}

	rp := gt.DialRawProbe(t, gw.Addr, "srv1", "t1")
	oms := rp.Config.Samplers[0]
	if oms.Entity != "OMS" {
		t.Fatalf("first sampler is %+v, want OMS's", oms)
	}
	now := time.Now().UnixNano()
	rp.Send(protocol.Batch{Flags: protocol.SnapshotStart | protocol.SnapshotEnd, Declares: []protocol.Declare{{
		ID: 1, SamplerID: oms.ID, Name: "orders", SampleTime: now, Columns: []string{"open", "filled"},
		Headlines: []string{"total"}, HeadValues: []samplers.Cell{samplers.Text("3")},
		Rows: []protocol.RowDecl{
			{Index: 0, Name: "ACME", Cells: []samplers.Cell{samplers.Text("1"), samplers.Text("2")}},
			{Index: 1, Name: "BETA", Cells: []samplers.Cell{samplers.Text("0"), samplers.Text("0")}},
		},
	}}})
	const orders = "srv1/OMS/cpu/orders"
	counted := func(path string, undefined int64) func(*gt.Tree) bool {
		return func(tr *gt.Tree) bool { n, ok := tr.Node(path); return ok && n.Counts["undefined"] == undefined }
	}
	tree.Wait("the dataview with its 5 cells", counted(orders, 5))
	for _, path := range []string{"srv1/OMS/cpu", "srv1/OMS", "srv1"} {
		tree.Wait(path+" counting 5 cells", counted(path, 5))
	}
	if n, _ := tree.Node("srv1"); n.Connected == nil || !*n.Connected {
		t.Error("srv1 is not shown connected")
	}
	if n, _ := tree.Node("srv1/SOR"); n.Counts["undefined"] != 0 {
		t.Errorf("SOR counts %v, want none", n.Counts)
	}

	// A row goes: every level counts two cells fewer, pushed as node
	// states.
	rp.Send(protocol.Batch{Updates: []protocol.Update{{ID: 1, SampleTime: now + 1, RemoveRows: []uint32{1}}}})
	tree.Wait("srv1 counting 3 cells", counted("srv1", 3))
	tree.Wait("the dataview counting 3 cells", counted(orders, 3))

	// The API serves the same tree.
	var api struct {
		Counts map[string]int64 `json:"counts"`
		Probes []gt.TreeNode    `json:"probes"`
	}
	getJSON(t, gw.URL()+"/api/v1/tree", &api)
	// The gateway's own probe is there too, after the configured ones.
	if len(api.Probes) != 3 || api.Probes[0].Name != "srv1" || api.Probes[1].Name != "srv2" || api.Probes[2].Name != config.SelfProbe {
		t.Fatalf("API probes = %+v", api.Probes)
	}
	if own := api.Probes[2].Counts["undefined"]; api.Counts["undefined"] != 3+own {
		t.Errorf("API totals %v, want 3 undefined and the gateway's own %d", api.Counts, own)
	}
	e := api.Probes[0].Entities[0]
	if e.Name != "OMS" || len(e.Samplers) != 1 || len(e.Samplers[0].Dataviews) != 1 || e.Samplers[0].Dataviews[0].Path != orders {
		t.Fatalf("API OMS entity = %+v", e)
	}
	if got := api.Probes[1].Entities[0].Path; got != "srv2/FIX%2F2" {
		t.Errorf("an entity named FIX/2 has path %q, want it percent-encoded", got)
	}

	// The probe goes: shown down, its dataview stale.
	rp.Conn.CloseNow()
	tree.Wait("srv1 down and its dataview stale", func(tr *gt.Tree) bool {
		p, _ := tr.Node("srv1")
		d, _ := tr.Node(orders)
		return p.Connected != nil && !*p.Connected && d.Stale != nil && *d.Stale
	})
}
