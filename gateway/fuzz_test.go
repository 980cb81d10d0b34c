package gateway

import (
	"encoding/binary"
	"math"
	"testing"

	"github.com/watchfloor/watchfloor/gateway/history"
	"github.com/watchfloor/watchfloor/netprobe/protocol"
	"github.com/watchfloor/watchfloor/samplers"
)

// frames joins batches into one fuzz input: each a uvarint length, then
// the encoded batch.
func frames(bs ...protocol.Batch) []byte {
	var out []byte
	for _, b := range bs {
		enc := b.Append(nil)
		out = binary.AppendUvarint(out, uint64(len(enc)))
		out = append(out, enc...)
	}
	return out
}

// FuzzApply feeds the actor arbitrary sequences of batches, as a hostile
// or broken probe could send them (the decoder's checks passed, the
// actor's are the ones left): whatever arrives, nothing panics, a refused
// batch ends the connection as it does for real, and the subtree's counts
// and cost stay those of its cells, within the probe's limits.
func FuzzApply(f *testing.F) {
	a, _, sid, _ := testActor(f, testLimits)
	d := declare(1, sid, "d", 10, "1", "2", "3")
	f.Add(frames(snapshot(d)))
	f.Add(frames(snapshot(d), protocol.Batch{Updates: []protocol.Update{{ID: 1, SampleTime: 11, RemoveRows: []uint32{1},
		AddRows: []protocol.RowDecl{{Index: 1, Name: "x", Cells: text("9")}}, Cells: []protocol.CellChange{{Row: 0, Col: 0, Value: samplers.Text("7")}},
		Headlines: []protocol.HeadlineChange{{Index: 0, Value: samplers.Text("h2")}}}}}))
	f.Add(frames(snapshot(d), protocol.Batch{Removes: []uint32{1}, Declares: []protocol.Declare{declare(2, sid, "d", 12, "1", "5")}}))
	chunk := declare(3, sid, "d", 13)
	f.Add(frames(snapshot(d), protocol.Batch{Flags: protocol.SnapshotStart, Declares: []protocol.Declare{chunk}},
		protocol.Batch{Updates: []protocol.Update{{ID: 3, SampleTime: 13, AddRows: []protocol.RowDecl{{Index: 0, Name: "r0", Cells: text("1")}}}}},
		protocol.Batch{Flags: protocol.SnapshotEnd}))
	wide := declare(4, sid, "w", 14, "1")
	wide.Columns = []string{"a", "b", "c", "d", "e"}
	f.Add(frames(snapshot(d), snapshot(wide)))
	f.Add(frames(protocol.Batch{Updates: []protocol.Update{{ID: 1 << 30}}}))
	f.Fuzz(func(t *testing.T, data []byte) {
		a = newProbeActor(a.g, "p", a.cfg, nil)
		for len(data) > 0 {
			n, k := binary.Uvarint(data)
			if k <= 0 || n > uint64(len(data)-k) {
				return
			}
			msg := data[k : k+int(n)]
			data = data[k+int(n):]
			var b protocol.Batch
			if b.Decode(msg) != nil {
				continue
			}
			if err := a.do(b); err != nil {
				a.disconnected(a.clock.Now())
			}
			checkCounts(t, a)
			if len(a.dvs) > int(testLimits.MaxDataviews) {
				t.Fatalf("%d dataviews live, over the limit", len(a.dvs))
			}
			for _, dv := range a.dvs {
				if dv.live > int(testLimits.MaxRows) || len(dv.columns) > int(testLimits.MaxColumns) {
					t.Fatalf("dataview %s has %d rows and %d columns, over the limits", dv.key, dv.live, len(dv.columns))
				}
				if a.g.tree.get(dv.key) != dv {
					t.Fatalf("live dataview %s is not the tree's", dv.key)
				}
			}
			checkHistory(t, a)
		}
		a.stop()
	})
}

// checkHistory checks what the history holds, whatever the probe sent:
// each series' points, and each view's sample times, strictly in time
// order (a sample whose time went back was refused, not recorded).
func checkHistory(t *testing.T, a *probeActor) {
	t.Helper()
	views, err := a.g.hist.Read(history.Query{From: math.MinInt64, To: math.MaxInt64, Samples: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range views {
		for i := 1; i < len(v.Samples); i++ {
			if v.Samples[i] <= v.Samples[i-1] {
				t.Fatalf("%s: sample times %v out of order", v.Path, v.Samples)
			}
		}
		for _, c := range v.Cells {
			for i := 1; i < len(c.Points); i++ {
				if c.Points[i].T <= c.Points[i-1].T {
					t.Fatalf("%s: points %v out of order", c.Path, c.Points)
				}
			}
		}
	}
}
