package gateway

import (
	"testing"

	"github.com/watchfloor/watchfloor/netprobe/protocol"
)

// A reload that drops a sampler while a snapshot is open drops the
// snapshot's dataviews of that sampler too: they do not become live when
// it ends, are not served, counted or charged to the budget.
func TestReloadDropsSamplerDuringOpenSnapshot(t *testing.T) {
	a, _, sid, clock := testActor(t, testLimits)
	now := clock.Now().UnixNano()
	open := protocol.Batch{Flags: protocol.SnapshotStart, Declares: []protocol.Declare{declare(1, sid, "d", now, "1", "2")}}
	if err := a.do(open); err != nil {
		t.Fatal(err)
	}
	// The reload: entity e stays, its sampler s goes.
	cfg := &probeConfig{entities: []entityConfig{{name: "e", attrs: map[string]string{"client": "acme"}}},
		instances: map[uint32]instance{}, limits: testLimits}
	a.handle(event{kind: evConfig, cfg: cfg}, clock.Now())
	// The snapshot goes on (rows of the staged dataview), then ends.
	more := protocol.Batch{Flags: protocol.SnapshotEnd, Updates: []protocol.Update{{ID: 1, SampleTime: now,
		AddRows: []protocol.RowDecl{{Index: 2, Name: "r2", Cells: text("3")}}}}}
	if err := a.do(more); err != nil {
		t.Fatal(err)
	}
	if dv := a.g.tree.get(key); dv != nil {
		t.Errorf("dataview %s of the removed sampler is served after the snapshot ended", key)
	}
	if len(a.dvs) != 0 || a.cost != 0 {
		t.Errorf("the actor holds %d dataviews costing %d, want none: their sampler is no longer configured", len(a.dvs), a.cost)
	}
	if got := a.node.counts.load(); !got.zero() {
		t.Errorf("the probe counts %v, want nothing", got)
	}
}
