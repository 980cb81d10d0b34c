package gateway

import (
	"testing"

	"github.com/watchfloor/watchfloor/netprobe/protocol"
	"github.com/watchfloor/watchfloor/samplers"
)

// A sampler that one reload drops and the next brings back, which the
// netprobe may never have stopped (it keeps updating the dataview ID it
// declared, which the gateway forgot), is served again: the gateway asks
// for a snapshot, which declares its dataviews afresh.
func TestSamplerBackAfterReloadIsServed(t *testing.T) {
	a, _, sid, clock := testActor(t, testLimits)
	out := make(chan []byte, 16)
	a.conn = &probeConn{out: out, done: make(chan struct{})}
	now := clock.Now().UnixNano()
	if err := a.do(snapshot(declare(1, sid, "d", now, "1"))); err != nil {
		t.Fatal(err)
	}
	orig := a.cfg
	without := &probeConfig{entities: []entityConfig{{name: "e", attrs: map[string]string{"client": "acme"}}},
		instances: map[uint32]instance{}, limits: testLimits}
	a.handle(event{kind: evConfig, cfg: without}, clock.Now())
	a.handle(event{kind: evConfig, cfg: orig}, clock.Now())

	// The netprobe, for which s never stopped, goes on ticking.
	u := protocol.Update{ID: 1, SampleTime: now + 1, Cells: []protocol.CellChange{{Row: 0, Col: 0, Value: samplers.Text("2")}}}
	if err := a.do(protocol.Batch{Updates: []protocol.Update{u}}); err != nil {
		t.Fatal(err)
	}
	asked := false
	for len(out) > 0 {
		if k, err := protocol.KindOf(<-out); err == nil && k == protocol.KindSnapshotRequest {
			asked = true
		}
	}
	if a.g.tree.get(key) == nil && !asked {
		t.Errorf("sampler s is configured again and its probe is sending %s, but the gateway serves no such dataview and asked for no snapshot", key)
	}
}
