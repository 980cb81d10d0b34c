package gateway_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"

	"github.com/watchfloor/watchfloor/gateway"
	gt "github.com/watchfloor/watchfloor/gateway/gatewaytest"
	"github.com/watchfloor/watchfloor/gateway/incident"
)

// selfView reads one of the gateway's own dataviews: its headlines and
// its rows' cells, by name.
func selfView(t *testing.T, s *gt.Session, name string) (head map[string]string, rows map[string]map[string]string) {
	t.Helper()
	var dv struct {
		Headlines []struct{ Name, Value string }
		Columns   []string
		Rows      []struct {
			Name  string
			Cells []struct{ Column, Value string }
		}
	}
	code, body := s.Do(t, http.MethodGet, "/api/v1/dataviews/watchfloor/gateway/self/"+name, nil)
	if code != http.StatusOK {
		return nil, nil
	}
	if err := json.Unmarshal(body, &dv); err != nil {
		t.Fatal(err)
	}
	head, rows = map[string]string{}, map[string]map[string]string{}
	for _, h := range dv.Headlines {
		head[h.Name] = h.Value
	}
	for _, r := range dv.Rows {
		rows[r.Name] = map[string]string{}
		for _, c := range r.Cells {
			rows[r.Name][c.Column] = c.Value
		}
	}
	return head, rows
}

// The gateway watches itself: its own probe's incidents dataview counts
// the open and unacknowledged incidents, the actions dataview has a row
// per action with what failed, and the probes dataview says how many
// probes are down — so rules can alert on the desk itself.
func TestSelfDataviewsWatchTheDesk(t *testing.T) {
	dead := freeAddr(t) // nobody listens there: the action fails at once
	r := startIncidents(t, gateway.Options{}, fmt.Sprintf(`actions:
  - name: dead-hook
    retries: 0
    webhook: {url: "http://%s/hook"}
`, dead), "  notify: [dead-hook]\n")
	admin := r.gw.Admin(t)
	r.latency("router-acme", 90)
	inc := r.waitIncident("the incident", "?state=open", func(incident.Incident) bool { return true })
	gt.Eventually(t, "one open, unacknowledged, critical incident on the incidents dataview", func() bool {
		h, _ := selfView(t, admin, "incidents")
		return h["open"] == "1" && h["unacknowledged"] == "1" && h["critical"] == "1"
	})
	gt.Eventually(t, "the dead webhook's failure on the actions dataview", func() bool {
		h, rows := selfView(t, admin, "actions")
		row := rows["dead-hook"]
		return row != nil && row["type"] == "webhook" && row["failed"] == "1" && row["lastError"] != "" && h["failed"] == "1"
	})
	if code, body := gt.Login(t, r.gw.URL(), olu.Name).Do(t, http.MethodPost, "/api/v1/incidents/"+inc.ID+"/ack", nil); code != http.StatusOK {
		t.Fatalf("ack: %d %s", code, body)
	}
	gt.Eventually(t, "the acknowledgement counted", func() bool {
		h, _ := selfView(t, admin, "incidents")
		return h["open"] == "1" && h["unacknowledged"] == "0"
	})
	h, _ := selfView(t, admin, "probes")
	if h["configured"] != "1" || h["connected"] != "1" || h["down"] != "0" {
		t.Fatalf("probes: %v", h)
	}
	r.probe.Conn.CloseNow()
	gt.Eventually(t, "the probe counted down", func() bool {
		h, _ := selfView(t, admin, "probes")
		return h["down"] == "1" && h["connected"] == "0"
	})
}
