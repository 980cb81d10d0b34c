package gateway_test

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/watchfloor/watchfloor/gateway"
	gt "github.com/watchfloor/watchfloor/gateway/gatewaytest"
	"github.com/watchfloor/watchfloor/gateway/incident"
)

// FuzzIncidentBodies sends arbitrary bodies to the incidents API's
// commands — raise, snooze (an incident and a cell), notices, report,
// impact — as a manager and as a client: whatever arrives, the gateway
// answers with the incident changed or why not (4xx), never with an
// error of its own, and every incident it raised is stored.
func FuzzIncidentBodies(f *testing.F) {
	r := startIncidents(f, gateway.Options{Logger: slog.New(slog.DiscardHandler)}, "", "")
	r.latency("router-acme", 90)
	inc := r.waitIncident("the incident", "?state=open", func(incident.Incident) bool { return true })
	for _, seed := range []struct {
		route uint8
		body  string
	}{
		{0, `{"title": "Fills slow", "text": "since 09:10", "probe": "venue", "entity": "router-acme", "severity": "critical", "impact": true}`},
		{0, `{"title": "x", "path": "venue/router-acme/orders/orders/A/latency"}`},
		{0, `{"title": "x", "path": "venue/%zz/x"}`},
		{1, `{"reason": "vendor fix", "for": "2h", "untilChange": true}`},
		{1, `{"reason": "x", "until": "2026-13-01T00:00:00Z"}`},
		{2, `{"path": "venue/router-acme/orders/orders/A/latency", "reason": "deploy", "for": "30m"}`},
		{2, `{"path": "a/b", "reason": "deploy", "for": "-1s"}`},
		{3, `{"kind": "update", "subject": "Update", "body": "Still on it", "via": ""}`},
		{4, `{"cause": "disk", "remedy": "rotate", "preventive": "alert at 80%"}`},
		{5, `{"impacted": true, "description": "orders rejected"}`},
		{5, `{"impacted": "yes"}`},
		{0, `[1, 2] {}`},
	} {
		f.Add(seed.route, seed.body, false)
		f.Add(seed.route, seed.body, true)
	}
	manager := gt.Login(f, r.gw.URL(), maria.Name)
	client := gt.Login(f, r.gw.URL(), acme.Name)
	routes := []struct{ method, path string }{
		{http.MethodPost, "/api/v1/incidents"},
		{http.MethodPost, "/api/v1/incidents/" + inc.ID + "/snooze"},
		{http.MethodPost, "/api/v1/snoozes"},
		{http.MethodPost, "/api/v1/incidents/" + inc.ID + "/notices"},
		{http.MethodPut, "/api/v1/incidents/" + inc.ID + "/report"},
		{http.MethodPost, "/api/v1/incidents/" + inc.ID + "/impact"},
	}
	f.Fuzz(func(t *testing.T, route uint8, body string, asClient bool) {
		rt := routes[int(route)%len(routes)]
		s := manager
		if asClient {
			s = client
		}
		code, reply := s.Send(t, rt.method, rt.path, "application/json", []byte(body))
		switch {
		case code >= 500:
			t.Fatalf("%s %s %q: %d %s", rt.method, rt.path, body, code, reply)
		case code == http.StatusCreated:
			var raised incident.Incident
			if err := json.Unmarshal(reply, &raised); err != nil || !strings.HasPrefix(raised.ID, "INC-") {
				t.Fatalf("raised %q: %s, %v", body, reply, err)
			}
			if c, b := s.Do(t, http.MethodGet, "/api/v1/incidents/"+raised.ID, nil); c != http.StatusOK {
				t.Fatalf("raised %s, then reading it: %d %s", raised.ID, c, b)
			}
			if asClient && raised.Client != "acme" {
				t.Fatalf("acme's trader raised an incident of client %q: %s", raised.Client, reply)
			}
		}
	})
}
