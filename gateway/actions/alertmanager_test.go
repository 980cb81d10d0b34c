package actions

import (
	"encoding/json"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/watchfloor/watchfloor/gateway/config"
	"github.com/watchfloor/watchfloor/gateway/internal/tsdbtest"
	"github.com/watchfloor/watchfloor/rules"
)

// startAlertmanager runs Debian's prometheus-alertmanager on a free
// loopback port until the test ends, and returns its URL.
func startAlertmanager(t *testing.T) string {
	t.Helper()
	return "http://" + tsdbtest.StartAlertmanager(t).Addr()
}

// gettable is an alert as Alertmanager's GET /api/v2/alerts reports it.
type gettable struct {
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
	StartsAt    time.Time         `json:"startsAt"`
	EndsAt      time.Time         `json:"endsAt"`
	Status      struct {
		State string `json:"state"`
	} `json:"status"`
}

// alertsOf returns the alerts Alertmanager at base holds, by their
// incident label (the watchdog by its alertname).
func alertsOf(t *testing.T, base string) map[string]gettable {
	t.Helper()
	resp, err := http.Get(base + "/api/v2/alerts")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var list []gettable
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil {
		t.Fatal(err)
	}
	byID := map[string]gettable{}
	for _, a := range list {
		key := a.Labels["incident"]
		if key == "" {
			key = a.Labels["alertname"]
		}
		if _, dup := byID[key]; dup {
			t.Errorf("two alerts for %s in %+v", key, list)
		}
		byID[key] = a
	}
	return byID
}

func TestAlertmanagerForwardsIncidents(t *testing.T) {
	t.Parallel()
	base := startAlertmanager(t)
	rec := newRecorder()
	a := fast(config.Action{Name: "am", Alertmanager: &config.AlertmanagerAction{
		URLs: []string{base}, Resend: time.Minute, Watchdog: time.Minute, Labels: map[string]string{"site": "london"},
	}})
	d := start(t, Options{Actions: []config.Action{a}, Done: rec.done})
	finished := func() {
		t.Helper()
		if o := rec.next(t); o.err != nil {
			t.Fatalf("Done(%s %s) err %v", o.m.Event, o.m.Incident.ID, o.err)
		}
	}

	d.Send([]string{"am"}, msg(Opened, "INC-1"))
	raised := msg(Opened, "INC-2")
	raised.Incident.Rule, raised.Incident.Severity, raised.Incident.Peak = "", rules.Warning, rules.Warning
	raised.Incident.Probe, raised.Incident.Entity, raised.Incident.Path = "", "", ""
	d.Send([]string{"am"}, raised)
	finished()
	finished()

	now := time.Now()
	got := alertsOf(t, base)
	want := map[string]map[string]string{
		"INC-1": {"alertname": "fix-latency", "incident": "INC-1", "severity": "critical", "probe": "ldn-1",
			"entity": "fix-gw", "client": "acme", "path": "london/fix-gw/latency/p99", "site": "london"},
		"INC-2":    {"alertname": "watchfloor_incident", "incident": "INC-2", "severity": "warning", "client": "acme", "site": "london"},
		"Watchdog": {"alertname": "Watchdog", "severity": "none", "site": "london"},
	}
	if len(got) != len(want) {
		t.Errorf("alerts %+v, want %v", got, slices.Sorted(maps.Keys(want)))
	}
	for key, labels := range want {
		a := got[key]
		if !maps.Equal(a.Labels, labels) {
			t.Errorf("%s: labels %v, want %v", key, a.Labels, labels)
		}
		if a.Status.State != "active" || !a.EndsAt.After(now) {
			t.Errorf("%s: state %q, endsAt %v: want active, ending later than %v", key, a.Status.State, a.EndsAt, now)
		}
	}
	if ann := got["INC-1"].Annotations; ann["title"] != "FIX latency high" || ann["value"] != "850ms" ||
		ann["url"] != "https://gateway.example/incidents/INC-1" || ann["summary"] == "" {
		t.Errorf("INC-1 annotations %v", ann)
	}
	if !got["INC-1"].StartsAt.Equal(opened) {
		t.Errorf("INC-1 startsAt %v, want when it opened, %v", got["INC-1"].StartsAt, opened)
	}

	// INC-2 worsens: its warning alert resolves, a critical one fires.
	worse := raised
	worse.Event, worse.Incident.Severity, worse.Incident.Peak = Worsened, rules.Critical, rules.Critical
	d.Send([]string{"am"}, worse)
	// INC-1 is resolved: Alertmanager's v2 API leaves out an alert whose
	// endsAt has passed, which is how it shows a resolved one.
	d.Send([]string{"am"}, resolvedMsg("INC-1"))
	finished()
	finished()

	got = alertsOf(t, base)
	if a, ok := got["INC-1"]; ok {
		t.Errorf("INC-1 still listed after it resolved: %+v", a)
	}
	if a := got["INC-2"]; a.Labels["severity"] != "critical" || a.Status.State != "active" {
		t.Errorf("INC-2 %+v, want only its critical alert, active", a)
	}
	if _, ok := got["Watchdog"]; !ok || len(got) != 2 {
		t.Errorf("alerts %+v, want INC-2 and the watchdog", got)
	}
}

// posted is one post to an Alertmanager stand-in.
type posted struct {
	at     time.Time
	alerts []amAlert
}

// find returns the alert for incident id in p.
func (p posted) find(id string) (amAlert, bool) {
	for _, a := range p.alerts {
		if a.Labels["incident"] == id {
			return a, true
		}
	}
	return amAlert{}, false
}

// nextPost decodes r's next request as a post of alerts.
func nextPost(t *testing.T, r *receiver) posted {
	t.Helper()
	req := r.next(t)
	var p posted
	p.at = req.at
	if err := json.Unmarshal(req.body, &p.alerts); err != nil {
		t.Fatalf("decode %s: %v", req.body, err)
	}
	return p
}

func TestAlertmanagerResendsFiringAlerts(t *testing.T) {
	t.Parallel()
	const resend = 200 * time.Millisecond
	r := newReceiver(t)
	a := fast(config.Action{Name: "am", Alertmanager: &config.AlertmanagerAction{URLs: []string{r.URL}, Resend: resend}})
	rec := newRecorder()
	d := start(t, Options{Actions: []config.Action{a}, Done: rec.done})

	d.Send([]string{"am"}, msg(Opened, "INC-A"))
	var ends []time.Time
	for len(ends) < 3 {
		p := nextPost(t, r)
		a, ok := p.find("INC-A")
		if !ok {
			continue
		}
		if !a.EndsAt.After(p.at) || a.EndsAt.After(p.at.Add(4*resend+time.Second)) {
			t.Errorf("firing alert ends at %v, posted at %v: want about 4 resends later", a.EndsAt, p.at)
		}
		ends = append(ends, a.EndsAt)
	}
	for i := 2; i < len(ends); i++ {
		if gap := ends[i].Sub(ends[i-1]); gap < resend*9/10 {
			t.Errorf("resends %v apart, want at least %v", gap, resend)
		}
	}

	d.Send([]string{"am"}, resolvedMsg("INC-A"))
	for {
		p := nextPost(t, r)
		if a, ok := p.find("INC-A"); ok && !a.EndsAt.After(p.at) {
			break // the resolution
		}
	}
	d.Send([]string{"am"}, msg(Opened, "INC-B"))
	for seen := 0; seen < 3; {
		p := nextPost(t, r)
		if _, ok := p.find("INC-A"); ok {
			t.Fatalf("INC-A sent again after it resolved: %+v", p.alerts)
		}
		if _, ok := p.find("INC-B"); ok {
			seen++
		}
	}
}

func TestAlertmanagerURLs(t *testing.T) {
	t.Parallel()
	f := func(t *testing.T, first, second []int, wantErr string, wantSecond int) {
		t.Helper()
		t.Parallel()
		r1, r2 := newReceiver(t, first...), newReceiver(t, second...)
		a := fast(config.Action{Name: "am", Retries: 2, Alertmanager: &config.AlertmanagerAction{
			URLs: []string{r1.URL, r2.URL}, Resend: time.Hour, // no resend during the test
		}})
		rec := newRecorder()
		d := start(t, Options{Actions: []config.Action{a}, Done: rec.done})
		d.Send([]string{"am"}, msg(Opened, "INC-1"))
		o := rec.next(t)
		if wantErr == "" && o.err != nil || wantErr != "" && (o.err == nil || !strings.Contains(o.err.Error(), wantErr)) {
			t.Errorf("Done err %v, want %q", o.err, wantErr)
		}
		if n := r2.requests(); n != wantSecond {
			t.Errorf("second Alertmanager had %d posts, want %d", n, wantSecond)
		}
	}
	t.Run("one failing is retried; the other's take is enough", func(t *testing.T) { f(t, []int{200}, []int{503}, "", 3) })
	t.Run("both failing", func(t *testing.T) { f(t, []int{503}, []int{500}, "500 Internal Server Error", 3) })
	t.Run("refused by both", func(t *testing.T) { f(t, []int{400}, []int{400}, "400 Bad Request", 1) })
	t.Run("recovering", func(t *testing.T) { f(t, []int{200}, []int{503, 200}, "", 2) })
}

func TestAlertmanagerIgnoresNotices(t *testing.T) {
	t.Parallel()
	r := newReceiver(t)
	a := fast(config.Action{Name: "am", Alertmanager: &config.AlertmanagerAction{URLs: []string{r.URL + "/prefix/"}}})
	rec := newRecorder()
	d := start(t, Options{Actions: []config.Action{a}, Done: rec.done})
	notice := msg(NoticeEvent, "INC-1")
	d.Send([]string{"am"}, notice)
	d.Send([]string{"am"}, msg(Opened, "INC-2"))
	if o := rec.next(t); o.m.Event != Opened || o.err != nil {
		t.Errorf("first Done for %s (%v), want the opening", o.m.Event, o.err)
	}
	if s := statOf(t, d, "am"); s.Sent != 1 || s.Failed != 0 {
		t.Errorf("stat %+v, want the notice not counted", s)
	}
	if p := nextPost(t, r); len(p.alerts) != 1 || p.alerts[0].Labels["incident"] != "INC-2" {
		t.Errorf("posted %+v, want INC-2 alone", p.alerts)
	}
}

func TestAlertmanagerPath(t *testing.T) {
	t.Parallel()
	r := newReceiver(t)
	a := fast(config.Action{Name: "am", Alertmanager: &config.AlertmanagerAction{URLs: []string{r.URL + "/am/"}}})
	d := start(t, Options{Actions: []config.Action{a}})
	d.Send([]string{"am"}, msg(Opened, "INC-1"))
	if req := r.next(t); req.path != "/am/api/v2/alerts" {
		t.Errorf("posted to %s, want /am/api/v2/alerts", req.path)
	}
}
