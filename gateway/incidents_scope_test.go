package gateway_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/watchfloor/watchfloor/gateway"
	gt "github.com/watchfloor/watchfloor/gateway/gatewaytest"
	"github.com/watchfloor/watchfloor/gateway/incident"
)

// A client paging through its incidents gets full pages of its own, and
// no cursor naming another client's incident.
func TestIncidentListPagesWithinScope(t *testing.T) {
	r := startIncidents(t, gateway.Options{}, "", "")
	r.latency("router-acme", 90)
	mine := r.waitIncident("acme's incident", "?state=open", func(inc incident.Incident) bool { return inc.Client == "acme" })
	r.latency("router-globex", 90) // newer: first on an unscoped page
	theirs := r.waitIncident("globex's incident", "?state=open", func(inc incident.Incident) bool { return inc.Client == "globex" })

	as := gt.Login(t, r.gw.URL(), acme.Name)
	var page incidentList
	as.Get(t, "/api/v1/incidents?limit=1", &page)
	if len(page.Incidents) != 1 || page.Incidents[0].ID != mine.ID {
		t.Fatalf("acme's first page of one: %+v, want its %s", page.Incidents, mine.ID)
	}
	if page.Next == theirs.ID {
		t.Fatalf("acme's cursor names globex's incident %s", theirs.ID)
	}
	if page.Next != "" {
		t.Fatalf("acme has no more incidents, yet its page goes on at %q", page.Next)
	}
	// An unscoped caller pages as before.
	page = incidentList{}
	r.gw.Admin(t).Get(t, "/api/v1/incidents?limit=1", &page)
	if len(page.Incidents) != 1 || page.Incidents[0].ID != theirs.ID || page.Next != theirs.ID {
		t.Fatalf("the admin's first page: %+v next %q", page.Incidents, page.Next)
	}
	cursor := page.Next
	page = incidentList{}
	r.gw.Admin(t).Get(t, "/api/v1/incidents?limit=1&cursor="+cursor, &page)
	if len(page.Incidents) != 1 || page.Incidents[0].ID != mine.ID || page.Next != "" {
		t.Fatalf("the admin's second page: %+v next %q", page.Incidents, page.Next)
	}
	// With more of its own, its cursor is its own last.
	code, raised := r.post(as, "/api/v1/incidents", map[string]any{"title": "Our fills are slow"})
	if code != http.StatusCreated {
		t.Fatalf("acme raises: %d", code)
	}
	page = incidentList{}
	as.Get(t, "/api/v1/incidents?limit=1", &page)
	if len(page.Incidents) != 1 || page.Incidents[0].ID != raised.ID || page.Next != raised.ID {
		t.Fatalf("acme's first page of two: %+v next %q", page.Incidents, page.Next)
	}
	cursor = page.Next
	page = incidentList{}
	as.Get(t, "/api/v1/incidents?limit=1&cursor="+cursor, &page)
	if len(page.Incidents) != 1 || page.Incidents[0].ID != mine.ID || page.Next != "" {
		t.Fatalf("acme's second page: %+v next %q", page.Incidents, page.Next)
	}
}

// A client's dashboard hears of its own cells' snoozes ending, and not of
// another client's: their paths are theirs.
func TestIncidentTopicKeepsOthersSnoozes(t *testing.T) {
	r := startIncidents(t, gateway.Options{}, "", "")
	r.latency("router-acme", 50)
	r.latency("router-globex", 50)
	r.waitIncident("acme's incident", "?state=open", func(inc incident.Incident) bool { return inc.Client == "acme" })
	r.waitIncident("globex's incident", "?state=open", func(inc incident.Incident) bool { return inc.Client == "globex" })

	ad := gt.DialDashboard(t, r.gw.Addr, gt.Login(t, r.gw.URL(), acme.Name))
	ad.Subscribe("incidents")
	ad.Next("acme's snapshot", func(f gt.Frame) bool { return f.Topic == "incidents" && f.Type == "snapshot" })

	admin := r.gw.Admin(t)
	for _, entity := range []string{"router-globex", "router-acme"} {
		path := latencyPath(entity)
		if code, b := admin.Do(t, http.MethodPost, "/api/v1/snoozes", map[string]string{"path": path, "reason": "maintenance", "for": "1h"}); code != http.StatusOK {
			t.Fatalf("snooze %s: %d %s", path, code, b)
		}
		if code, b := admin.Do(t, http.MethodDelete, "/api/v1/snoozes?path="+path, nil); code != http.StatusNoContent {
			t.Fatalf("unsnooze %s: %d %s", path, code, b)
		}
	}
	// Frames come in order: every one before acme's own cell's snooze
	// ended is checked for globex's.
	ad.Next("acme's cell unsnoozed", func(f gt.Frame) bool {
		if f.Topic != "incidents" {
			return false
		}
		if strings.Contains(string(f.Raw), "router-globex") {
			t.Errorf("acme's dashboard hears of globex's cell: %s", f.Raw)
		}
		var body struct {
			Unsnoozed []string `json:"unsnoozed"`
		}
		return json.Unmarshal(f.Raw, &body) == nil && slices.Contains(body.Unsnoozed, latencyPath("router-acme"))
	})
}

// A snooze without an expiry, or an impact without saying which, lacks
// what the command needs: 422, as the API says.
func TestIncidentCommandsLackingWhatTheyNeed(t *testing.T) {
	r := startIncidents(t, gateway.Options{}, "", "")
	r.latency("router-acme", 90)
	inc := r.waitIncident("acme's incident", "?state=open", func(incident.Incident) bool { return true })
	ms := gt.Login(t, r.gw.URL(), maria.Name)
	for _, c := range []struct {
		path string
		body any
		want int
	}{
		{"/snooze", map[string]string{"reason": "vendor"}, http.StatusUnprocessableEntity},
		{"/snooze", map[string]string{"for": "1h"}, http.StatusUnprocessableEntity},
		{"/snooze", map[string]string{"reason": "vendor", "for": "soon"}, http.StatusBadRequest},
		{"/snooze", map[string]any{"reason": 3, "for": "1h"}, http.StatusBadRequest},
		{"/impact", map[string]string{"description": "orders rejected"}, http.StatusUnprocessableEntity},
		{"/unack", nil, http.StatusConflict},
	} {
		if code, b := ms.Do(t, http.MethodPost, "/api/v1/incidents/"+inc.ID+c.path, c.body); code != c.want {
			t.Errorf("POST %s %v: %d %s, want %d", c.path, c.body, code, b, c.want)
		}
	}
	if code, b := r.gw.Admin(t).Do(t, http.MethodPost, "/api/v1/snoozes", map[string]string{"path": latencyPath("router-acme"), "reason": "x"}); code != http.StatusUnprocessableEntity {
		t.Errorf("a cell's snooze without an expiry: %d %s, want 422", code, b)
	}
}

// An incident the desk raises for a client, about no entity, is the
// client's to see; a client raising one cannot make it another client's.
func TestRaisedIncidentsBelongToTheirClient(t *testing.T) {
	r := startIncidents(t, gateway.Options{}, "", "")
	ms := gt.Login(t, r.gw.URL(), maria.Name)
	code, forAcme := r.post(ms, "/api/v1/incidents", map[string]any{"title": "Acme's session dropped", "client": "acme"})
	if code != http.StatusCreated || forAcme.Client != "acme" {
		t.Fatalf("raise for acme: %d %+v", code, forAcme)
	}
	as := gt.Login(t, r.gw.URL(), acme.Name)
	if got := r.list(as, ""); len(got) != 1 || got[0].ID != forAcme.ID {
		t.Fatalf("acme sees %+v, want the incident raised for it", got)
	}
	code, own := r.post(as, "/api/v1/incidents", map[string]any{"title": "Slow", "client": "globex"})
	if code != http.StatusCreated || own.Client != "acme" {
		t.Fatalf("acme raising for globex: %d %+v, want acme's own", code, own)
	}
	if got := r.list(gt.Login(t, r.gw.URL(), globex.Name), ""); len(got) != 0 {
		t.Fatalf("globex sees %+v", got)
	}
}

// A resolved incident whose reopen window passes leaves the live
// incidents: dashboards are told it is removed, and it stays stored.
func TestIncidentLeavesTheWallAfterItsWindow(t *testing.T) {
	clock := gt.NewManualClock(time.Now())
	r := startIncidents(t, gateway.Options{Clock: clock}, "", "")
	d := r.gw.Dashboard(t)
	d.Subscribe("incidents")
	r.latency("router-acme", 90)
	inc := r.waitIncident("the incident", "?state=open", func(incident.Incident) bool { return true })
	r.latency("router-acme", 10)
	nextIncident(d, "the resolution", inc.ID, func(i incident.Incident) bool { return i.State == incident.Resolved })
	clock.Advance(2 * time.Minute) // the rig's reopen window is 1m
	d.Next("the incident removed from the topic", func(f gt.Frame) bool {
		return f.Topic == "incidents" && slices.Contains(f.Removed, inc.ID)
	})
	if got := r.get(r.gw.Admin(t), inc.ID); got.State != incident.Resolved {
		t.Fatalf("stored as %s", got.State)
	}
}

// A notice whose action gives up is on the incident's timeline, is a
// draft again, and the client's update is due again: the client was not
// told.
func TestFailedNoticeIsRecorded(t *testing.T) {
	dead := freeAddr(t) // nobody listens there: the action fails at once
	r := startIncidents(t, gateway.Options{}, fmt.Sprintf(`actions:
  - name: mail-acme
    retries: 0
    webhook: {url: "http://%s/notices"}
`, dead), "    globex: {update_every: 15m, via: mail-acme}\n")
	r.latency("router-globex", 90)
	inc := r.waitIncident("globex's incident", "?state=open", func(incident.Incident) bool { return true })
	ms := gt.Login(t, r.gw.URL(), maria.Name)
	if code, body := ms.Do(t, http.MethodPost, "/api/v1/incidents/"+inc.ID+"/impact", map[string]any{"impacted": true}); code != http.StatusOK {
		t.Fatalf("impact: %d %s", code, body)
	}
	code, sent := r.post(ms, "/api/v1/incidents/"+inc.ID+"/notices", map[string]string{"kind": "problem", "subject": "Orders slow", "body": "We are on it."})
	if code != http.StatusOK || sent.NextUpdate.IsZero() || sent.LastUpdate.IsZero() {
		t.Fatalf("send: %d %+v", code, sent)
	}
	var got timelined
	gt.Eventually(t, "the failed notice on the timeline", func() bool {
		got = r.get(ms, inc.ID)
		return slices.Contains(kindsOf(got.Timeline), incident.EvNoticeFailed)
	})
	if d, ok := got.Drafts[incident.ProblemNotice]; !ok || d.Body != "We are on it." || !d.Sent.IsZero() {
		t.Fatalf("the problem notice is not a draft again: %+v", got.Drafts)
	}
	if !got.NextUpdate.Before(sent.NextUpdate) {
		t.Fatalf("the update is not due again: next %v, was %v", got.NextUpdate, sent.NextUpdate)
	}
}

// A rule edited so that it no longer opens incidents leaves its open
// incident following the cell all the same: the cell recovering resolves
// it, though its rule's transitions are no longer the desk's otherwise.
func TestIncidentOfARuleEditedAwayStillResolves(t *testing.T) {
	r := startRig(t, gateway.Options{}, func(yaml string) string {
		return strings.Replace(yaml, "    incident: {open: warning, impact: true}\n", "", 1)
	}, "", "")
	admin := r.gw.Admin(t)
	rule := map[string]any{"name": "latency-api", "match": "venue/router-acme/orders/orders/*/latency",
		"critical": map[string]string{"when": "value > 200"}, "incident": map[string]string{"open": "critical"}}
	if code, body := admin.Do(t, http.MethodPost, "/api/v1/rules", rule); code != http.StatusCreated {
		t.Fatalf("create: %d %s", code, body)
	}
	r.latency("router-acme", 250)
	inc := r.waitIncident("the API rule's incident", "?state=open", func(i incident.Incident) bool { return i.Rule == "latency-api" })
	delete(rule, "incident")
	code, body := admin.Send(t, http.MethodPut, "/api/v1/rules/latency-api", "application/json", mustJSON(t, rule))
	if code != http.StatusOK {
		t.Fatalf("edit: %d %s", code, body)
	}
	r.latency("router-acme", 10)
	r.waitIncident("the incident resolved", "", func(i incident.Incident) bool { return i.ID == inc.ID && i.State == incident.Resolved })
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
