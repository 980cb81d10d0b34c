package gateway_test

import (
	"testing"
	"time"

	"github.com/watchfloor/watchfloor/dashboard"
	"github.com/watchfloor/watchfloor/gateway"
	gt "github.com/watchfloor/watchfloor/gateway/gatewaytest"
	"github.com/watchfloor/watchfloor/netprobe/protocol"
	"github.com/watchfloor/watchfloor/samplers"
)

type lastChanges struct {
	Rows []struct {
		Name  string `json:"name"`
		Cells []struct {
			Value      string `json:"value"`
			LastChange string `json:"lastChange"`
		} `json:"cells"`
	} `json:"rows"`
}

// A probe that reconnects and sends the same values again leaves every
// cell's last-change time as it was; a value that changed while it was
// away gets the new sample's time. Watchers get a delta of what changed,
// not a new snapshot.
func TestReconnectKeepsLastChangeTimes(t *testing.T) {
	p := probe("rc", "cpu")
	gw := gt.Start(t, gateway.Options{}, p)
	path := dvPath(p, "cpu", "orders")
	snap := func(rp *gt.RawProbe, at time.Time, values ...string) protocol.Batch {
		d := protocol.Declare{ID: 3, SamplerID: rp.Config.Samplers[0].ID, Name: "orders", SampleTime: at.UnixNano(), Columns: []string{"n"}}
		// Each connection numbers rows its own way: reversed here.
		for i := range values {
			j := len(values) - 1 - i
			d.Rows = append(d.Rows, protocol.RowDecl{Index: uint32(i), Name: string(rune('a' + j)), Cells: []samplers.Cell{samplers.Text(values[j])}})
		}
		return protocol.Batch{Flags: protocol.SnapshotStart | protocol.SnapshotEnd, Declares: []protocol.Declare{d}}
	}
	t1 := time.Now().Add(-time.Hour).Truncate(time.Millisecond)
	rp := gt.DialRawProbe(t, gw.Addr, p.Name, p.Token)
	rp.Send(snap(rp, t1, "1", "2", "3"))
	d := gw.Dashboard(t)
	d.Subscribe(dashboard.DataviewTopic(path))
	d.Next("the first snapshot", func(f gt.Frame) bool { return f.Type == "snapshot" && len(f.Rows) == 3 })
	var before lastChanges
	getJSON(t, gw.URL()+"/api/v1/dataviews/"+path, &before)

	rp.Conn.CloseNow()
	d.Next("the stale mark", func(f gt.Frame) bool { return f.Stale != nil && *f.Stale })
	t2 := t1.Add(30 * time.Minute)
	rp = gt.DialRawProbe(t, gw.Addr, p.Name, p.Token)
	rp.Send(snap(rp, t2, "1", "20", "3"))
	delta := d.Next("the reconnect's delta", func(f gt.Frame) bool {
		if f.Type == "snapshot" {
			t.Fatalf("the reconnect replaced the dataview: %s", f.Raw)
		}
		return f.Type == "delta" && f.Stale != nil && !*f.Stale
	})
	if len(delta.Cells) != 1 || delta.Cells[0].R != "b" || delta.Cells[0].V != "20" {
		t.Fatalf("reconnect's delta = %s, want only b changed to 20", delta.Raw)
	}
	var after lastChanges
	getJSON(t, gw.URL()+"/api/v1/dataviews/"+path, &after)
	changed := map[string]string{}
	for _, r := range before.Rows {
		changed[r.Name] = r.Cells[0].LastChange
	}
	for _, r := range after.Rows {
		want := changed[r.Name]
		if r.Name == "b" {
			want = t2.UTC().Format(time.RFC3339Nano)
		}
		if r.Cells[0].LastChange != want {
			t.Errorf("row %s last changed %s, want %s", r.Name, r.Cells[0].LastChange, want)
		}
	}
}
