package gateway_test

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/watchfloor/watchfloor/gateway"
	"github.com/watchfloor/watchfloor/gateway/config"
	gt "github.com/watchfloor/watchfloor/gateway/gatewaytest"
	"github.com/watchfloor/watchfloor/gateway/incident"
	"github.com/watchfloor/watchfloor/gateway/internal/tsdbtest"
	"github.com/watchfloor/watchfloor/gateway/store"
	"github.com/watchfloor/watchfloor/netprobe/protocol"
	"github.com/watchfloor/watchfloor/samplers"
)

// The incident tests' people: first line, a manager, a viewer and two
// clients' traders, each seeing only their own client's entities.
var (
	olu    = gt.User{Name: "olu", Roles: []string{"operator"}}
	maria  = gt.User{Name: "maria", Roles: []string{"manager"}}
	vic    = gt.User{Name: "vic", Roles: []string{"viewer"}}
	acme   = gt.User{Name: "acme-trader", Roles: []string{"client"}, Scope: "client=acme"}
	globex = gt.User{Name: "globex-trader", Roles: []string{"client"}, Scope: "client=globex"}
)

// incidentYAML is a gateway with two entities on one probe, one per
// client, and a latency rule that opens incidents at warning; extra is
// more of the configuration, and inIncidents more keys of its incidents
// section.
func incidentYAML(listen string, p gt.Probe, extra, inIncidents string) string {
	return fmt.Sprintf(`listen: %q
probes:
  - name: %q
    token_sha256: %s
samplers:
  - name: orders
    type: cpu
    interval: 100ms
entities:
  - name: router-acme
    probe: %q
    attributes: {client: acme, region: emea}
    samplers: [orders]
  - name: router-globex
    probe: %q
    attributes: {client: globex, region: emea}
    samplers: [orders]
rules:
  - name: latency-high
    match: "*/*/orders/orders/*/latency"
    warning: {when: value > 40}
    critical: {when: value > 80}
    incident: {open: warning, impact: true}
incidents:
  reopen_window: 1m
  clients:
    acme: {update_every: 15m}
`, listen, p.Name, config.HashToken(p.Token), p.Name, p.Name) + inIncidents + extra + gt.Users(gt.Admin, olu, maria, vic, acme, globex)
}

// incidentRig is a gateway under test with a raw probe feeding both
// entities' orders dataviews.
type incidentRig struct {
	t     testing.TB
	gw    *gt.Gateway
	probe *gt.RawProbe
	seq   map[string]bool // entity → its dataview declared
}

func startIncidents(t testing.TB, opts gateway.Options, extra, inIncidents string) *incidentRig {
	t.Helper()
	return startRig(t, opts, func(yaml string) string { return yaml }, extra, inIncidents)
}

// startRig is startIncidents with the configuration passed through edit
// first.
func startRig(t testing.TB, opts gateway.Options, edit func(string) string, extra, inIncidents string) *incidentRig {
	t.Helper()
	p := gt.Probe{Name: "venue", Token: "venue-token-0123456789abcdef"}
	if opts.Listener == nil {
		opts.Listener = gt.Listen(t)
	}
	cfg, err := config.Parse("incidents.yaml", []byte(edit(incidentYAML(opts.Listener.Addr().String(), p, extra, inIncidents))))
	if err != nil {
		t.Fatal(err)
	}
	opts.Config = cfg
	gw := gt.Start(t, opts)
	return &incidentRig{t: t, gw: gw, probe: connectVenue(t, gw, p), seq: map[string]bool{}}
}

func connectVenue(t testing.TB, gw *gt.Gateway, p gt.Probe) *gt.RawProbe {
	t.Helper()
	return gt.DialRawProbe(t, gw.Addr, p.Name, p.Token)
}

// latency sets an entity's order latency (row "A").
func (r *incidentRig) latency(entity string, v int) {
	r.t.Helper()
	var id uint32
	for _, s := range r.probe.Config.Samplers {
		if s.Entity == entity {
			id = s.ID
		}
	}
	dvID := id // one dataview per sampler: its ID will do
	now := time.Now().UnixNano()
	cell := samplers.Text(fmt.Sprint(v))
	if !r.seq[entity] {
		r.seq[entity] = true
		r.probe.Send(protocol.Batch{Declares: []protocol.Declare{{ID: dvID, SamplerID: id, Name: "orders", SampleTime: now,
			Columns: []string{"latency"}, Rows: []protocol.RowDecl{{Index: 0, Name: "A", Cells: []samplers.Cell{cell}}}}}})
		return
	}
	r.probe.Send(protocol.Batch{Updates: []protocol.Update{{ID: dvID, SampleTime: now,
		Cells: []protocol.CellChange{{Row: 0, Col: 0, Value: cell}}}}})
}

func latencyPath(entity string) string {
	return samplers.DataviewPath{Probe: "venue", Entity: entity, Sampler: "orders", Dataview: "orders"}.Cell("A", "latency").String()
}

type incidentList struct {
	Incidents []incident.Incident `json:"incidents"`
	Next      string              `json:"next"`
}

func (r *incidentRig) list(s *gt.Session, query string) []incident.Incident {
	r.t.Helper()
	var l incidentList
	s.Get(r.t, "/api/v1/incidents"+query, &l)
	return l.Incidents
}

// waitIncident waits until the list with query holds an incident that ok
// accepts, and returns it.
func (r *incidentRig) waitIncident(what, query string, ok func(incident.Incident) bool) incident.Incident {
	r.t.Helper()
	var got incident.Incident
	gt.Eventually(r.t, what, func() bool {
		for _, inc := range r.list(r.gw.Admin(r.t), query) {
			if ok(inc) {
				got = inc
				return true
			}
		}
		return false
	})
	return got
}

func (r *incidentRig) post(s *gt.Session, path string, body any) (int, incident.Incident) {
	r.t.Helper()
	code, b := s.Do(r.t, http.MethodPost, path, body)
	var inc incident.Incident
	if code < 300 {
		if err := json.Unmarshal(b, &inc); err != nil {
			r.t.Fatalf("POST %s: %v in %s", path, err, b)
		}
	}
	return code, inc
}

type timelined struct {
	incident.Incident
	Timeline []incident.Event `json:"timeline"`
}

func (r *incidentRig) get(s *gt.Session, id string) timelined {
	r.t.Helper()
	var inc timelined
	s.Get(r.t, "/api/v1/incidents/"+id, &inc)
	return inc
}

func kindsOf(tl []incident.Event) []incident.EventKind {
	var out []incident.EventKind
	for _, e := range tl {
		out = append(out, e.Kind)
	}
	return out
}

// incidentFrames reads the incidents topic's frames until match accepts
// the incident with id in one.
func nextIncident(d *gt.Dashboard, what, id string, match func(incident.Incident) bool) incident.Incident {
	var got incident.Incident
	d.Next(what, func(f gt.Frame) bool {
		if f.Topic != "incidents" {
			return false
		}
		var body struct {
			Incidents []incident.Incident `json:"incidents"`
		}
		if json.Unmarshal(f.Raw, &body) != nil {
			return false
		}
		for _, inc := range body.Incidents {
			if (id == "" || inc.ID == id) && match(inc) {
				got = inc
				return true
			}
		}
		return false
	})
	return got
}

// A cell turning bad opens one incident with its client; first line
// acknowledges it and every dashboard hears; worse re-fires it for
// everyone; the cell recovering resolves it and drafts the resolved
// notice; every step is on the timeline with who and when, and in the
// audit log.
func TestIncidentLifecycleThroughTheAPI(t *testing.T) {
	r := startIncidents(t, gateway.Options{}, "", "")
	d := r.gw.Dashboard(t)
	d.Subscribe("incidents")
	r.latency("router-acme", 50)
	inc := r.waitIncident("an incident for acme's warning latency", "?state=open", func(inc incident.Incident) bool {
		return inc.Path == latencyPath("router-acme")
	})
	if inc.Client != "acme" || inc.Severity.String() != "warning" || inc.Rule != "latency-high" || inc.Impact == nil {
		t.Fatalf("opened %+v", inc)
	}
	if inc.NextUpdate.IsZero() || inc.Drafts[incident.ProblemNotice].Subject == "" {
		t.Fatalf("an impacting incident has an update due and a problem notice drafted: %+v", inc)
	}
	nextIncident(d, "the incident on the dashboard", inc.ID, func(incident.Incident) bool { return true })

	// Repeats open nothing more.
	r.latency("router-acme", 55)
	r.latency("router-acme", 60)

	olus := gt.Login(t, r.gw.URL(), olu.Name)
	code, acked := r.post(olus, "/api/v1/incidents/"+inc.ID+"/ack", map[string]string{"comment": "on it"})
	if code != http.StatusOK || acked.Ack == nil || acked.Ack.By != "olu" || acked.Ack.Comment != "on it" {
		t.Fatalf("ack: %d %+v", code, acked)
	}
	nextIncident(d, "the acknowledgement on the dashboard", inc.ID, func(i incident.Incident) bool { return i.Ack != nil })

	alerts := acked.Alerts
	r.latency("router-acme", 95)
	worse := nextIncident(d, "the worse severity re-firing", inc.ID, func(i incident.Incident) bool { return i.Severity.String() == "critical" })
	if worse.Ack != nil || worse.Alerts <= alerts {
		t.Fatalf("worsened past its acknowledgement, it must alert again: ack %+v, alerts %d → %d", worse.Ack, alerts, worse.Alerts)
	}

	r.latency("router-acme", 10)
	done := nextIncident(d, "the resolution", inc.ID, func(i incident.Incident) bool { return i.State == incident.Resolved })
	if done.Drafts[incident.ResolvedNotice].Body == "" {
		t.Fatalf("resolved without a resolved notice drafted: %+v", done.Drafts)
	}
	if l := r.list(r.gw.Admin(t), ""); len(l) != 1 {
		t.Fatalf("%d incidents, want the one: %+v", len(l), l)
	}
	tl := r.get(r.gw.Admin(t), inc.ID).Timeline
	want := []incident.EventKind{incident.EvOpened, incident.EvImpact, incident.EvNoticeDrafted, incident.EvAcknowledged,
		incident.EvSeverity, incident.EvAckLifted, incident.EvResolved, incident.EvNoticeDrafted}
	if got := kindsOf(tl); !slices.Equal(got, want) {
		t.Fatalf("timeline %v, want %v", got, want)
	}
	if tl[3].Who != "olu" || tl[3].Time.IsZero() {
		t.Fatalf("the acknowledgement's event: %+v", tl[3])
	}
	var audit struct {
		Entries []store.Audit `json:"entries"`
	}
	r.gw.Admin(t).Get(t, "/api/v1/audit?action="+store.AuditIncidentAck, &audit)
	if len(audit.Entries) != 1 || audit.Entries[0].Who != "olu" || audit.Entries[0].Target != inc.ID {
		t.Fatalf("audit: %+v", audit.Entries)
	}
}

// Roles decide who does what: a viewer reads but does not acknowledge,
// first line does not resolve, a manager resolves and closes.
func TestIncidentRoles(t *testing.T) {
	r := startIncidents(t, gateway.Options{}, "", "")
	r.latency("router-globex", 90)
	inc := r.waitIncident("globex's incident", "?state=open", func(incident.Incident) bool { return true })
	for _, c := range []struct {
		user gt.User
		path string
		want int
	}{
		{vic, "/ack", http.StatusForbidden},
		{olu, "/resolve", http.StatusForbidden},
		{olu, "/close", http.StatusForbidden},
		{olu, "/comments", http.StatusOK},
		{maria, "/resolve", http.StatusOK},
		{maria, "/close", http.StatusOK},
		{maria, "/close", http.StatusConflict},
	} {
		var body any
		if c.path == "/comments" {
			body = map[string]string{"text": "restarting"}
		}
		code, b := gt.Login(t, r.gw.URL(), c.user.Name).Do(t, http.MethodPost, "/api/v1/incidents/"+inc.ID+c.path, body)
		if code != c.want {
			t.Errorf("%s POST %s: %d %s, want %d", c.user.Name, c.path, code, b, c.want)
		}
	}
	if got := r.get(r.gw.Admin(t), inc.ID); got.State != incident.Closed || got.Closed.IsZero() {
		t.Fatalf("after the manager closed it: %+v", got.Incident)
	}
}

// A client sees only its own incidents, and raises one about its own
// entities or about none; never about another client's.
func TestIncidentClientScope(t *testing.T) {
	r := startIncidents(t, gateway.Options{}, "", "")
	r.latency("router-acme", 90)
	r.latency("router-globex", 90)
	r.waitIncident("both incidents", "?state=open", func(inc incident.Incident) bool { return inc.Client == "globex" })
	r.waitIncident("both incidents", "?state=open", func(inc incident.Incident) bool { return inc.Client == "acme" })

	as := gt.Login(t, r.gw.URL(), acme.Name)
	mine := r.list(as, "")
	if len(mine) != 1 || mine[0].Client != "acme" {
		t.Fatalf("acme's trader sees %+v", mine)
	}
	gs := gt.Login(t, r.gw.URL(), globex.Name)
	if code, _ := gs.Do(t, http.MethodGet, "/api/v1/incidents/"+mine[0].ID, nil); code != http.StatusNotFound {
		t.Fatalf("globex reads acme's incident: %d", code)
	}
	if code, _ := as.Do(t, http.MethodPost, "/api/v1/incidents/"+mine[0].ID+"/ack", nil); code != http.StatusForbidden {
		t.Fatalf("a client acknowledges: %d", code)
	}

	code, raised := r.post(as, "/api/v1/incidents", map[string]any{"title": "Our fills are slow", "text": "since 09:10"})
	if code != http.StatusCreated || raised.Client != "acme" || raised.RaisedBy != acme.Name || raised.State != incident.Open {
		t.Fatalf("acme raises: %d %+v", code, raised)
	}
	code, about := r.post(as, "/api/v1/incidents", map[string]any{"title": "Router slow", "probe": "venue", "entity": "router-acme"})
	if code != http.StatusCreated || about.Entity != "router-acme" || about.Client != "acme" {
		t.Fatalf("acme raises about its router: %d %+v", code, about)
	}
	if code, _ := r.post(as, "/api/v1/incidents", map[string]any{"title": "x", "probe": "venue", "entity": "router-globex"}); code != http.StatusNotFound {
		t.Fatalf("acme raises about globex's router: %d", code)
	}
	if n := len(r.list(gs, "")); n != 1 {
		t.Fatalf("globex sees %d incidents, want its one", n)
	}
	// The raiser's incidents reach its dashboard, and not another's.
	ad := gt.DialDashboard(t, r.gw.Addr, as)
	ad.Subscribe("incidents")
	snap := ad.Next("acme's incidents snapshot", func(f gt.Frame) bool { return f.Topic == "incidents" && f.Type == "snapshot" })
	var body struct {
		Incidents []incident.Incident `json:"incidents"`
	}
	if err := json.Unmarshal(snap.Raw, &body); err != nil {
		t.Fatal(err)
	}
	for _, inc := range body.Incidents {
		if inc.Client != "acme" {
			t.Fatalf("acme's dashboard shows %+v", inc)
		}
	}
	if len(body.Incidents) != 3 {
		t.Fatalf("acme's dashboard shows %d incidents, want 3", len(body.Incidents))
	}
}

// Incidents live in the store: a gateway restarted on the same file holds
// its open incident again, the probe's snapshot matches it without a
// duplicate, and its recovery while the gateway was down resolves it
// once.
func TestIncidentSurvivesRestart(t *testing.T) {
	file := filepath.Join(t.TempDir(), "watchfloor.db")
	st := gt.OpenStore(t, file)
	ln := gt.Listen(t)
	addr := ln.Addr().String()
	r := startIncidents(t, gateway.Options{Store: st, Listener: ln}, "", "")
	r.latency("router-acme", 90)
	inc := r.waitIncident("the incident", "?state=open", func(incident.Incident) bool { return true })
	r.gw.Stop(t)
	gt.CloseStore(t, st)

	st2 := gt.OpenStore(t, file)
	ln2, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	r2 := startIncidents(t, gateway.Options{Store: st2, Listener: ln2}, "", "")
	r2.latency("router-acme", 90) // the probe's snapshot after reconnecting
	time.Sleep(500 * time.Millisecond)
	if l := r2.list(r2.gw.Admin(t), ""); len(l) != 1 || l[0].ID != inc.ID || l[0].State != incident.Open {
		t.Fatalf("after the restart: %+v", l)
	}
	r2.latency("router-acme", 10)
	got := r2.waitIncident("the resolution", "", func(i incident.Incident) bool { return i.State == incident.Resolved })
	tl := r2.get(r2.gw.Admin(t), got.ID).Timeline
	resolved := 0
	for _, e := range tl {
		if e.Kind == incident.EvResolved {
			resolved++
		}
	}
	if got.ID != inc.ID || resolved != 1 {
		t.Fatalf("resolved %d times: %v", resolved, kindsOf(tl))
	}
}

// The report holds the timeline, what the client was told and the cell's
// recorded values during the incident; Markdown for people, JSON for
// tools. The handover lists it while open and, once resolved, with those
// resolved since.
func TestIncidentReportAndHandover(t *testing.T) {
	r := startIncidents(t, gateway.Options{}, "", "")
	r.latency("router-acme", 45)
	inc := r.waitIncident("the incident", "?state=open", func(incident.Incident) bool { return true })
	r.latency("router-acme", 85)
	r.waitIncident("critical", "?state=open", func(i incident.Incident) bool { return i.Severity.String() == "critical" })
	ms := gt.Login(t, r.gw.URL(), maria.Name)
	if code, b := ms.Do(t, http.MethodPost, "/api/v1/incidents/"+inc.ID+"/updates", map[string]string{"text": "Phoned acme's desk"}); code != http.StatusOK {
		t.Fatalf("record update: %d %s", code, b)
	}
	if code, b := ms.Do(t, http.MethodPut, "/api/v1/incidents/"+inc.ID+"/report",
		incident.Report{Cause: "A full disk on the router", Remedy: "Logs rotated", Preventive: "Alert at 80% disk"}); code != http.StatusOK {
		t.Fatalf("edit report: %d %s", code, b)
	}
	if code, b := ms.Do(t, http.MethodPost, "/api/v1/handover/notes", map[string]string{"text": "Watch acme's router after 16:00"}); code != http.StatusCreated {
		t.Fatalf("note: %d %s", code, b)
	}
	var ho struct {
		Open       []incident.Incident `json:"open"`
		Resolved   []incident.Incident `json:"resolved"`
		UpdatesDue []incident.Incident `json:"clientUpdatesDue"`
		Notes      []store.Note        `json:"notes"`
	}
	ms.Get(t, "/api/v1/handover", &ho)
	if len(ho.Open) != 1 || len(ho.UpdatesDue) != 1 || len(ho.Notes) != 1 || ho.Notes[0].Who != "maria" {
		t.Fatalf("handover while open: %+v", ho)
	}
	r.latency("router-acme", 5)
	r.waitIncident("resolved", "", func(i incident.Incident) bool { return i.State == incident.Resolved })
	ms.Get(t, "/api/v1/handover?since="+inc.Opened.Add(-time.Minute).UTC().Format(time.RFC3339), &ho)
	if len(ho.Open) != 0 || len(ho.Resolved) != 1 {
		t.Fatalf("handover after: open %d, resolved %d", len(ho.Open), len(ho.Resolved))
	}

	var rep struct {
		Duration string `json:"duration"`
		Updates  []incident.Event
		Report   incident.Report
		Cells    []struct {
			Path   string
			Values []struct {
				V float64
			}
		}
	}
	ms.Get(t, "/api/v1/incidents/"+inc.ID+"/report", &rep)
	if rep.Report.Cause == "" || len(rep.Updates) != 1 || len(rep.Cells) != 1 {
		t.Fatalf("report: %+v", rep)
	}
	var vals []float64
	for _, v := range rep.Cells[0].Values {
		vals = append(vals, v.V)
	}
	for _, v := range []float64{45, 85, 5} {
		if !slices.Contains(vals, v) {
			t.Fatalf("the report's values %v lack %v", vals, v)
		}
	}
	code, md := ms.Do(t, http.MethodGet, "/api/v1/incidents/"+inc.ID+"/report?format=md", nil)
	for _, want := range []string{"# " + inc.ID, "## Cause", "A full disk on the router", "Phoned acme's desk", "| time | value |", "| 85 |"} {
		if code != http.StatusOK || !strings.Contains(string(md), want) {
			t.Fatalf("the Markdown report lacks %q:\n%s", want, md)
		}
	}
	if code, _ := gt.Login(t, r.gw.URL(), olu.Name).Do(t, http.MethodGet, "/api/v1/incidents/"+inc.ID+"/report", nil); code != http.StatusForbidden {
		t.Fatalf("first line reads a client report: %d", code)
	}
}

// amAlert is an alert as Alertmanager's GET /api/v2/alerts reports it.
type amAlert struct {
	Labels map[string]string `json:"labels"`
	Status struct {
		State string `json:"state"`
	} `json:"status"`
}

func amAlerts(t *testing.T, am *tsdbtest.Server) []amAlert {
	t.Helper()
	var out []amAlert
	if err := json.Unmarshal(am.GetOK(t, "/api/v2/alerts", nil), &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func amHas(t *testing.T, am *tsdbtest.Server, label, value string) bool {
	for _, a := range amAlerts(t, am) {
		if a.Labels[label] == value && a.Status.State == "active" {
			return true
		}
	}
	return false
}

// Forwarded to a real Alertmanager, an incident fires there with its
// labels and resolves there when it resolves; the always-firing watchdog
// is there all along. A webhook that hangs does not delay either, nor
// the incidents themselves.
func TestIncidentsReachAlertmanager(t *testing.T) {
	am := tsdbtest.StartAlertmanager(t)
	hung := make(chan struct{})
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-hung }))
	t.Cleanup(func() { close(hung); hang.Close() })
	r := startIncidents(t, gateway.Options{}, fmt.Sprintf(`actions:
  - name: am
    alertmanager: {urls: ["http://%s"], resend: 1s, watchdog: 1s, labels: {site: test}}
  - name: hung-hook
    timeout: 1m
    webhook: {url: "%s"}
`, am.Addr(), hang.URL), "  notify: [hung-hook, am]\n")
	tsdbtest.WaitFor(t, "the watchdog in Alertmanager", func() bool { return amHas(t, am, "alertname", "Watchdog") })
	r.latency("router-acme", 90)
	inc := r.waitIncident("the incident", "?state=open", func(incident.Incident) bool { return true })
	tsdbtest.WaitFor(t, inc.ID+" firing in Alertmanager", func() bool {
		for _, a := range amAlerts(t, am) {
			if a.Labels["incident"] == inc.ID && a.Labels["alertname"] == "latency-high" && a.Labels["client"] == "acme" &&
				a.Labels["site"] == "test" && a.Labels["severity"] == "critical" && a.Status.State == "active" {
				return true
			}
		}
		return false
	})
	r.latency("router-acme", 10)
	r.waitIncident("resolved", "", func(i incident.Incident) bool { return i.State == incident.Resolved })
	tsdbtest.WaitFor(t, inc.ID+" resolved in Alertmanager", func() bool { return !amHas(t, am, "incident", inc.ID) })
	if !amHas(t, am, "alertname", "Watchdog") {
		t.Fatal("the watchdog stopped firing")
	}
}
