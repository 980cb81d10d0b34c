package gateway_test

import (
	"bytes"
	"fmt"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/watchfloor/watchfloor/gateway"
	"github.com/watchfloor/watchfloor/gateway/config"
	gt "github.com/watchfloor/watchfloor/gateway/gatewaytest"
	"github.com/watchfloor/watchfloor/gateway/incident"
	"github.com/watchfloor/watchfloor/netprobe/protocol"
	"github.com/watchfloor/watchfloor/samplers"
)

// counterOf reads a counter of the gateway's own metrics.
func counterOf(gw *gt.Gateway, name string) float64 {
	var buf bytes.Buffer
	gw.Metrics().WritePrometheus(&buf)
	for line := range strings.SplitSeq(buf.String(), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			f, _ := strconv.ParseFloat(v, 64)
			return f
		}
	}
	return 0
}

// An incident storm: 10,000 cells of one probe turn critical in one tick
// (one batch), each opening an incident, stored durably (a store file,
// fsynced). Reported: the time until all are recorded, and the time
// until a change the probe sends right after the storm, to another
// dataview, is applied — ingestion does not wait for the incidents. Run
// with
//
//	go test -run '^$' -bench IncidentStorm -benchtime 3x ./gateway/
func BenchmarkIncidentStorm(b *testing.B) {
	const cells = 10_000
	var recorded, ingested time.Duration
	for range b.N {
		st := gt.OpenStore(b, filepath.Join(b.TempDir(), "watchfloor.db"))
		p := gt.Probe{Name: "venue", Token: "venue-token-0123456789abcdef"}
		ln := gt.Listen(b)
		cfg, err := config.Parse("storm.yaml", []byte(incidentYAML(ln.Addr().String(), p, "", "")))
		if err != nil {
			b.Fatal(err)
		}
		gw := gt.Start(b, gateway.Options{Config: cfg, Listener: ln, Store: st})
		rp := gt.DialRawProbe(b, gw.Addr, p.Name, p.Token)
		var acme, globex uint32
		for _, s := range rp.Config.Samplers {
			if s.Entity == "router-acme" {
				acme = s.ID
			} else {
				globex = s.ID
			}
		}
		now := time.Now().UnixNano()
		rp.Send(protocol.Batch{Flags: protocol.SnapshotStart | protocol.SnapshotEnd, Declares: []protocol.Declare{{
			ID: globex, SamplerID: globex, Name: "orders", SampleTime: now, Columns: []string{"latency"},
			Rows: []protocol.RowDecl{{Index: 0, Name: "A", Cells: []samplers.Cell{samplers.Text("1")}}},
		}}})
		storm := protocol.Declare{ID: acme, SamplerID: acme, Name: "orders", SampleTime: now, Columns: []string{"latency"}}
		for i := range cells {
			storm.Rows = append(storm.Rows, protocol.RowDecl{Index: uint32(i), Name: fmt.Sprintf("order-%05d", i), Cells: []samplers.Cell{samplers.Text("95")}})
		}
		path := gt.DataviewPath("venue", "router-globex", "orders", "orders")
		admin := gw.Admin(b)
		b.StartTimer()
		start := time.Now()
		rp.Send(protocol.Batch{Declares: []protocol.Declare{storm}})
		rp.Send(protocol.Batch{Updates: []protocol.Update{{ID: globex, SampleTime: time.Now().UnixNano(),
			Cells: []protocol.CellChange{{Row: 0, Col: 0, Value: samplers.Text("2")}}}}})
		for ingested == 0 || counterOf(gw, "watchfloor_incidents_opened_total") < cells {
			if ingested == 0 {
				if code, body := admin.Do(b, http.MethodGet, "/api/v1/dataviews/"+path, nil); code == http.StatusOK && strings.Contains(string(body), `"value":"2"`) {
					ingested += time.Since(start)
				}
			}
			if time.Since(start) > time.Minute {
				b.Fatalf("after a minute, %v incidents recorded", counterOf(gw, "watchfloor_incidents_opened_total"))
			}
			time.Sleep(2 * time.Millisecond)
		}
		recorded += time.Since(start)
		b.StopTimer()
		gw.Stop(b)
		gt.CloseStore(b, st)
	}
	b.ReportMetric(float64(recorded.Milliseconds())/float64(b.N), "ms-all-recorded")
	b.ReportMetric(float64(ingested.Milliseconds())/float64(b.N), "ms-next-change-applied")
	b.ReportMetric(cells*float64(b.N)/recorded.Seconds(), "incidents/s")
}

// The latency an acknowledgement adds from the click to every dashboard:
// ten dashboards watch the incidents; each op is one POST (ack, then
// un-ack) until all ten have the new state. Run with
//
//	go test -run '^$' -bench AckToDashboards -benchtime 200x ./gateway/
func BenchmarkAckToDashboards(b *testing.B) {
	const boards = 10
	st := gt.OpenStore(b, filepath.Join(b.TempDir(), "watchfloor.db"))
	r := startIncidents(b, gateway.Options{Store: st}, "", "")
	r.latency("router-acme", 90)
	inc := r.waitIncident("the incident", "?state=open", func(incident.Incident) bool { return true })
	var ds []*gt.Dashboard
	for range boards {
		d := r.gw.Dashboard(b)
		d.Subscribe("incidents")
		nextIncident(d, "the snapshot", inc.ID, func(incident.Incident) bool { return true })
		ds = append(ds, d)
	}
	olu := gt.Login(b, r.gw.URL(), olu.Name)
	b.ResetTimer()
	for i := range b.N {
		acked := i%2 == 0
		verb := "/unack"
		if acked {
			verb = "/ack"
		}
		if code, body := olu.Do(b, http.MethodPost, "/api/v1/incidents/"+inc.ID+verb, nil); code != http.StatusOK {
			b.Fatalf("%s: %d %s", verb, code, body)
		}
		for _, d := range ds {
			nextIncident(d, "the change", inc.ID, func(x incident.Incident) bool { return (x.Ack != nil) == acked })
		}
	}
}
