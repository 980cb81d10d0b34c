package gateway

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/watchfloor/watchfloor/gateway/config"
	"github.com/watchfloor/watchfloor/netprobe/protocol"
	"github.com/watchfloor/watchfloor/samplers"
)

// When a reload takes every remote_write target away, the cells let go
// of what they kept for them (their series on the stopped writers) at
// the actor's next event, rather than holding it until each changes.
func TestExportStateDroppedWithTheLastTarget(t *testing.T) {
	base := fmt.Sprintf(`listen: "127.0.0.1:0"
probes: [{name: p, token_sha256: %s}]
samplers: [{name: cpu, type: cpu}]
entities: [{name: e, probe: p, samplers: [cpu]}]
`, config.HashToken("t"))
	parse := func(yaml string) *config.Config {
		cfg, err := config.Parse("x", []byte(yaml))
		if err != nil {
			t.Fatal(err)
		}
		return cfg
	}
	with, without := parse(base+"remote_write: [{url: \"http://127.0.0.1:9/api/v1/write\", name: dead}]\n"), parse(base)
	g, err := New(Options{Config: with, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(func() { cancel(); g.stopExport() })
	if err := g.configureExport(ctx, with); err != nil {
		t.Fatal(err)
	}
	g.mu.Lock()
	pc := g.probeConfig(with, "p")
	g.mu.Unlock()
	a := newProbeActor(g, "p", pc, nil)
	var sid uint32
	for id := range a.cfg.instances {
		sid = id
	}
	now := time.Now().UnixNano()
	decl := protocol.Batch{Flags: protocol.SnapshotStart | protocol.SnapshotEnd, Declares: []protocol.Declare{{
		ID: 1, SamplerID: sid, Name: "d", SampleTime: now, Columns: []string{"a"},
		Rows: []protocol.RowDecl{{Index: 0, Name: "r", Cells: []samplers.Cell{samplers.Text("1")}}},
	}}}
	if err := a.do(decl); err != nil {
		t.Fatal(err)
	}
	row := a.dvs[samplers.DataviewPath{Probe: "p", Entity: "e", Sampler: "cpu", Dataview: "d"}.String()].rows[0]
	if row.exp == nil || row.exp[0].gen == 0 {
		t.Fatal("the cell kept nothing for the target")
	}
	if err := g.configureExport(ctx, without); err != nil {
		t.Fatal(err)
	}
	if err := a.do(protocol.Batch{Updates: []protocol.Update{{ID: 1, SampleTime: now + 1e6}}}); err != nil {
		t.Fatal(err)
	}
	if row.exp != nil {
		t.Errorf("after the last target went, the cell still holds %+v", row.exp)
	}
}
