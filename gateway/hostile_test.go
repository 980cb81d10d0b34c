package gateway_test

import (
	"fmt"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/watchfloor/watchfloor/gateway"
	"github.com/watchfloor/watchfloor/gateway/config"
	gt "github.com/watchfloor/watchfloor/gateway/gatewaytest"
	"github.com/watchfloor/watchfloor/netprobe/protocol"
	"github.com/watchfloor/watchfloor/samplers"
)

// heapInUse returns the live heap after a full collection.
func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// One 4 MiB batch declaring 1.4 million empty-named headlines once raised
// the gateway's memory by 139 MiB. The headline limit refuses it with a
// reason, and the gateway keeps nothing of it.
func TestManyHeadlinesRefused(t *testing.T) {
	p := probe("amp", "cpu")
	gw := gt.Start(t, gateway.Options{}, p)
	rp := gt.DialRawProbe(t, gw.Addr, p.Name, p.Token)
	const n = 1_390_000
	d := protocol.Declare{ID: 1, SamplerID: rp.Config.Samplers[0].ID, Name: "amp", SampleTime: 1,
		Headlines: make([]string, n), HeadValues: make([]samplers.Cell, n)}
	b := protocol.Batch{Flags: protocol.SnapshotStart | protocol.SnapshotEnd, Declares: []protocol.Declare{d}}
	b.Seq = 1
	msg := b.Append(nil)
	if len(msg) > protocol.DefaultMaxMessage {
		t.Fatalf("the batch is %d bytes, over the message limit: it would be refused for its size", len(msg))
	}
	d, b = protocol.Declare{}, protocol.Batch{}
	before := heapInUse()
	rp.Write(msg)
	code, reason := rp.ExpectClose()
	if code != websocket.StatusPolicyViolation || !strings.Contains(reason, "headlines, over the limit of 256") {
		t.Fatalf("close %v %q, want 1008 naming the headline limit", code, reason)
	}
	msg = nil
	if grew := int64(heapInUse()) - int64(before); grew > 16<<20 {
		t.Errorf("the refused batch left the heap %d MiB larger", grew>>20)
	}
}

// fill declares dataviews of the given shape in one snapshot, a chunk at
// a time, until the next would pass budget, and returns what they cost
// and the name of the last.
func fill(rp *gt.RawProbe, budget uint64, shape string) (uint64, string) {
	var (
		sid  = rp.Config.Samplers[0].ID
		cost uint64
		id   uint32
		b    = protocol.Batch{Flags: protocol.SnapshotStart}
		size int
	)
	flush := func(last bool) {
		if last {
			b.Flags |= protocol.SnapshotEnd
		}
		rp.Send(b)
		b, size = protocol.Batch{}, 0
	}
	for {
		id++
		d := protocol.Declare{ID: id, SamplerID: sid, Name: "d" + strconv.Itoa(int(id)), SampleTime: 1}
		c := protocol.Cost(d.Name)
		switch shape {
		case "cells", "long values": // 250 columns, 40 rows of values that cost one cell each
			value := "7"
			if shape == "long values" { // the longest value that costs one cell
				value = strings.Repeat("v", protocol.CostUnit-1)
			}
			for col := range 250 {
				d.Columns = append(d.Columns, strconv.Itoa(col))
				c += protocol.Cost(d.Columns[col])
			}
			for r := range 40 {
				row := protocol.RowDecl{Index: uint32(r), Name: strconv.Itoa(r), Cells: make([]samplers.Cell, 250)}
				for i := range row.Cells {
					row.Cells[i] = samplers.Text(value)
				}
				d.Rows = append(d.Rows, row)
				c += protocol.Cost(row.Name) + 250
			}
		case "rows", "long rows": // rows with no columns: the cheapest on the wire
			for r := range 10_000 {
				name := strconv.Itoa(r)
				if shape == "long rows" { // the longest name that costs one cell
					name += strings.Repeat(".", protocol.CostUnit-1-len(name))
				}
				d.Rows = append(d.Rows, protocol.RowDecl{Index: uint32(r), Name: name})
				c += protocol.Cost(d.Rows[r].Name)
			}
		case "headlines": // 256 headlines with empty names and values
			d.Headlines = make([]string, 256)
			d.HeadValues = make([]samplers.Cell, 256)
			c += 2 * 256
		}
		if cost+c > budget || id > 10_000 {
			flush(true)
			return cost, "d" + strconv.Itoa(int(id)-1)
		}
		cost += c
		n := len((&protocol.Batch{Declares: []protocol.Declare{d}}).Append(nil))
		if size+n > 2<<20 {
			flush(false)
		}
		b.Declares = append(b.Declares, d)
		size += n
	}
}

// What one authenticated probe can make the gateway hold is bounded by its
// cell budget: whatever shape its dataviews take, each cell of the budget
// costs the gateway at most maxBytesPerCell of heap, so a probe at the
// default budget of a million cells costs at most about 200 MiB, and twice
// that while a second snapshot is being staged beside the live one.
func TestProbeMemoryBoundedByBudget(t *testing.T) {
	const budget = 200_000
	const maxBytesPerCell = 200
	for _, shape := range []string{"cells", "long values", "rows", "long rows", "headlines"} {
		t.Run(shape, func(t *testing.T) {
			p := probe("mem-"+shape, "cpu")
			ln := gt.Listen(t)
			cfg, err := config.Parse("mem.yaml", []byte(gt.Config(ln.Addr().String(), p)+
				fmt.Sprintf("limits: {max_cells: %d, max_dataviews: 100000}\n", budget)))
			if err != nil {
				t.Fatal(err)
			}
			gw := gt.Start(t, gateway.Options{Config: cfg, Listener: ln}, p)
			rp := gt.DialRawProbe(t, gw.Addr, p.Name, p.Token)
			tree := gw.Tree(t)
			before := heapInUse()
			cost, last := fill(rp, budget, shape)
			// The snapshot's dataviews go live together, when it ends.
			waitDataview(tree, dvPath(p, "cpu", last))
			grew := heapInUse() - before
			perCell := float64(grew) / float64(cost)
			t.Logf("%s: %d cells of budget hold %d KiB: %.0f B per cell", shape, cost, grew>>10, perCell)
			if cost < budget/2 {
				t.Fatalf("filled only %d of the %d budget", cost, budget)
			}
			if perCell > maxBytesPerCell {
				t.Errorf("%.0f B per cell of budget, over the %d the documented bound assumes", perCell, maxBytesPerCell)
			}
		})
	}
}

// A probe over its cell budget is cut off with the reason.
func TestBudgetExceededClosesConnection(t *testing.T) {
	p := probe("greedy", "cpu")
	ln := gt.Listen(t)
	cfg, err := config.Parse("b.yaml", []byte(gt.Config(ln.Addr().String(), p)+"limits: {max_cells: 1000}\n"))
	if err != nil {
		t.Fatal(err)
	}
	gw := gt.Start(t, gateway.Options{Config: cfg, Listener: ln}, p)
	rp := gt.DialRawProbe(t, gw.Addr, p.Name, p.Token)
	if rp.Welcome.Limits.MaxCells != 1000 {
		t.Fatalf("welcome announces a budget of %d, want the configured 1000", rp.Welcome.Limits.MaxCells)
	}
	fill(rp, 100_000, "cells")
	code, reason := rp.ExpectClose()
	if code != websocket.StatusPolicyViolation || !strings.Contains(reason, "budget of 1000") {
		t.Fatalf("close %v %q, want 1008 naming the budget", code, reason)
	}
}

// A snapshot that a connection opens and never ends changes nothing, and
// after a minute the connection is closed so the probe starts again.
func TestSnapshotThatNeverEnds(t *testing.T) {
	clock := gt.NewManualClock(time.Now())
	f := startRaw(t, "slowsnap", gateway.Options{Clock: clock})
	gw, rp, path := f.gw, f.rp, f.path

	open := snapshotOf(rp, 2, "2.00")
	open.Flags = protocol.SnapshotStart
	before := metric(t, gw, "watchfloor_cell_updates_received_total")
	rp.Send(open)
	// An open snapshot shows nowhere; only the counter says it arrived.
	gt.Eventually(t, "the open snapshot to be applied", func() bool {
		return metric(t, gw, "watchfloor_cell_updates_received_total") > before
	})
	if v := rawCell(t, gw, path); v != "1.00" {
		t.Fatalf("while a snapshot is open the dataview shows %q, want the last complete state 1.00", v)
	}
	clock.Advance(61 * time.Second)
	code, reason := rp.ExpectClose()
	if code != websocket.StatusPolicyViolation || !strings.Contains(reason, "snapshot not finished") {
		t.Fatalf("close %v %q, want 1008 for the unfinished snapshot", code, reason)
	}
	if v := rawCell(t, gw, path); v != "1.00" {
		t.Fatalf("after the connection was closed the dataview shows %q, want 1.00", v)
	}
}

func rawCell(t *testing.T, gw *gt.Gateway, path string) string {
	t.Helper()
	var dv struct {
		Rows []struct {
			Cells []struct{ Value string } `json:"cells"`
		} `json:"rows"`
	}
	getJSON(t, gw.URL()+"/api/v1/dataviews/"+path, &dv)
	return dv.Rows[0].Cells[0].Value
}

// A probe that removes most of a dataview's rows leaves free slots it
// still addresses the rest by: the gateway asks for a snapshot, which
// numbers the rows afresh.
func TestSparseRowsAskForSnapshot(t *testing.T) {
	f := startRaw(t, "sparse", gateway.Options{})
	u := protocol.Update{ID: 1, SampleTime: time.Now().UnixNano()}
	for i := 1; i < 200; i++ {
		u.AddRows = append(u.AddRows, protocol.RowDecl{Index: uint32(i), Name: "r" + strconv.Itoa(i), Cells: []samplers.Cell{samplers.Text("1")}})
	}
	f.rp.Send(protocol.Batch{Updates: []protocol.Update{u}})
	drain := protocol.Update{ID: 1, SampleTime: u.SampleTime + 1}
	for i := range 190 {
		drain.RemoveRows = append(drain.RemoveRows, uint32(i))
	}
	f.rp.Send(protocol.Batch{Updates: []protocol.Update{drain}})
	var req protocol.SnapshotRequest
	if err := req.Decode(f.rp.Read()); err != nil || !strings.Contains(req.Reason, "renumber the rows") {
		t.Fatalf("after draining most rows the gateway sent %+v (%v), want a snapshot request to renumber them", req, err)
	}
}

// A reload that changes the limits closes probe connections with 1012, so
// that each probe reconnects at once and learns them from its Welcome.
func TestLimitsChangeReachesConnectedProbes(t *testing.T) {
	p := probe("lim", "cpu")
	gw, write := gt.StartFile(t, gateway.Options{}, p)
	rp := gt.DialRawProbe(t, gw.Addr, p.Name, p.Token)
	write(gt.Config(gw.Addr, p) + "limits: {max_rows: 5}\n")
	if code, res := postReload(t, gw.Addr); code != http.StatusOK {
		t.Fatalf("reload = %d %+v", code, res)
	}
	code, reason := rp.ExpectClose()
	if code != websocket.StatusServiceRestart || !strings.Contains(reason, "limits changed") {
		t.Fatalf("close %v %q, want 1012 saying the limits changed", code, reason)
	}
	if rp = gt.DialRawProbe(t, gw.Addr, p.Name, p.Token); rp.Welcome.Limits.MaxRows != 5 {
		t.Fatalf("the next Welcome announces %d rows, want the new 5", rp.Welcome.Limits.MaxRows)
	}
}
