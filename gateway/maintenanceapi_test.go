package gateway_test

import (
	"encoding/json"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/watchfloor/watchfloor/gateway"
	"github.com/watchfloor/watchfloor/gateway/config"
	gt "github.com/watchfloor/watchfloor/gateway/gatewaytest"
	"github.com/watchfloor/watchfloor/gateway/maintenance"
	"github.com/watchfloor/watchfloor/gateway/store"
)

// maintenanceYAML plans End-of-Day patching in the configuration.
const maintenanceYAML = `maintenance:
  - id: lse-eod-patching
    reason: End-of-Day patching
    zone: Europe/London
    days: [mon, tue, wed, thu, fri]
    from: "22:00"
    to: "23:30"
    where: {system: lse}
`

// startMaintenance runs the clients' gateway with the configuration's
// window, on st, listening on ln, on clock.
func startMaintenance(t *testing.T, st *store.Store, ln net.Listener, clock gateway.Clock) *gt.Gateway {
	t.Helper()
	cfg, err := config.Parse("maintenance.yaml", []byte(clientsConfig(ln.Addr().String())+maintenanceYAML))
	if err != nil {
		t.Fatal(err)
	}
	return gt.Start(t, gateway.Options{Config: cfg, Listener: ln, Store: st, Clock: clock})
}

type listedWindow struct {
	maintenance.Window
	Active     bool      `json:"active"`
	NextChange time.Time `json:"nextChange"`
}

func listWindows(t *testing.T, s *gt.Session) map[string]listedWindow {
	t.Helper()
	var out struct {
		Windows []listedWindow `json:"windows"`
	}
	s.Get(t, "/api/v1/maintenance", &out)
	m := map[string]listedWindow{}
	var ids []string
	for _, w := range out.Windows {
		m[w.ID] = w
		ids = append(ids, w.ID)
	}
	if !slicesSorted(ids) {
		t.Errorf("windows not by id: %q", ids)
	}
	return m
}

func slicesSorted(ids []string) bool {
	for i := 1; i < len(ids); i++ {
		if ids[i-1] >= ids[i] {
			return false
		}
	}
	return true
}

var london, _ = time.LoadLocation("Europe/London")

func londonAt(s string) time.Time {
	t, err := time.ParseInLocation("2006-01-02 15:04", s, london)
	if err != nil {
		panic(err)
	}
	return t
}

// An engineer plans, lists, edits and cancels a window; an operator may
// not; bad windows are refused naming the field; the configuration's
// window is not the API's to change; what is planned survives a restart
// on the same store; and each change is audited.
func TestMaintenanceAPI(t *testing.T) {
	file := filepath.Join(t.TempDir(), "watchfloor.db")
	st := gt.OpenStore(t, file)
	clock := gt.NewManualClock(londonAt("2026-12-04 12:00")) // a Friday
	gw := startMaintenance(t, st, gt.Listen(t), clock)
	eng := gt.Login(t, gw.URL(), "engineer")

	release := map[string]any{"id": "weekend-release", "reason": "OMS 4.2 release", "zone": "Europe/London",
		"start": "2026-12-05T08:00", "end": "2026-12-06T18:00", "entities": []string{"oms-1"}}
	code, body := eng.Do(t, http.MethodPost, "/api/v1/maintenance", release)
	if code != http.StatusCreated {
		t.Fatalf("plan: %d %s", code, body)
	}
	var planned maintenance.Window
	if err := json.Unmarshal(body, &planned); err != nil {
		t.Fatal(err)
	}
	if planned.PlannedBy != "engineer" || !planned.Planned.Equal(clock.Now()) || planned.Source != maintenance.SourceAPI {
		t.Errorf("planned: %+v", planned)
	}

	ws := listWindows(t, gt.Login(t, gw.URL(), "viewer"))
	if len(ws) != 2 {
		t.Fatalf("listed %+v", ws)
	}
	if w := ws["lse-eod-patching"]; w.Source != maintenance.SourceConfig || w.PlannedBy != "config" || w.Reason != "End-of-Day patching" ||
		w.Active || !w.NextChange.Equal(londonAt("2026-12-04 22:00")) {
		t.Errorf("the configuration's window: %+v", w)
	}
	if w := ws["weekend-release"]; w.PlannedBy != "engineer" || w.Reason != "OMS 4.2 release" || w.Active ||
		!w.NextChange.Equal(londonAt("2026-12-05 08:00")) {
		t.Errorf("the planned window: %+v", w)
	}
	clock.Advance(21 * time.Hour) // Saturday 09:00, past the sessions' lives
	eng = gt.Login(t, gw.URL(), "engineer")
	if w := listWindows(t, eng)["weekend-release"]; !w.Active || !w.NextChange.Equal(londonAt("2026-12-06 18:00")) {
		t.Errorf("during the release: %+v", w)
	}

	for _, c := range []struct {
		name   string
		method string
		path   string
		body   any
		code   int
		says   []string
	}{
		{"an id taken", http.MethodPost, "/api/v1/maintenance", release, http.StatusConflict, []string{"exists already"}},
		{"the configuration's id", http.MethodPost, "/api/v1/maintenance", map[string]any{"id": "lse-eod-patching", "reason": "x",
			"zone": "UTC", "start": "2026-12-05T08:00", "end": "2026-12-06T18:00", "entities": []string{"a"}}, http.StatusConflict,
			[]string{"defined in the configuration"}},
		{"bad fields", http.MethodPost, "/api/v1/maintenance", map[string]any{"id": "bad", "zone": "Europe/Lundon",
			"days": []string{"mon", "wedn"}, "from": "22:00", "to": "25:00"}, http.StatusBadRequest,
			[]string{"reason: required", `zone: unknown time zone \"Europe/Lundon\"`, `days[1]: \"wedn\"`, "to: clock", "entities: name at least one"}},
		{"end before start", http.MethodPost, "/api/v1/maintenance", map[string]any{"id": "backwards", "reason": "x", "zone": "UTC",
			"start": "2026-12-06T18:00", "end": "2026-12-05T08:00", "entities": []string{"a"}}, http.StatusBadRequest,
			[]string{"end: 2026-12-05 08:00 is not after start 2026-12-06 18:00"}},
		{"who planned it is the gateway's to say", http.MethodPost, "/api/v1/maintenance", map[string]any{"id": "x", "plannedBy": "someone"},
			http.StatusBadRequest, []string{"plannedBy"}},
		{"editing the configuration's", http.MethodPut, "/api/v1/maintenance/lse-eod-patching", release, http.StatusConflict,
			[]string{"defined in the configuration"}},
		{"cancelling the configuration's", http.MethodDelete, "/api/v1/maintenance/lse-eod-patching", nil, http.StatusConflict,
			[]string{"defined in the configuration"}},
		{"editing what is not there", http.MethodPut, "/api/v1/maintenance/nothing", map[string]any{"reason": "x"}, http.StatusNotFound, nil},
		{"renaming", http.MethodPut, "/api/v1/maintenance/weekend-release", map[string]any{"id": "other"}, http.StatusBadRequest,
			[]string{"does not change"}},
	} {
		code, body := eng.Do(t, c.method, c.path, c.body)
		if code != c.code {
			t.Errorf("%s: %d %s, want %d", c.name, code, body, c.code)
			continue
		}
		for _, s := range c.says {
			if !strings.Contains(string(body), s) {
				t.Errorf("%s: %s does not say %q", c.name, body, s)
			}
		}
	}
	op := gt.Login(t, gw.URL(), "operator")
	for _, r := range []struct{ method, path string }{
		{http.MethodPost, "/api/v1/maintenance"}, {http.MethodPut, "/api/v1/maintenance/weekend-release"},
		{http.MethodDelete, "/api/v1/maintenance/weekend-release"},
	} {
		if code, body := op.Do(t, r.method, r.path, release); code != http.StatusForbidden {
			t.Errorf("%s %s as an operator: %d %s, want 403", r.method, r.path, code, body)
		}
	}

	edited := map[string]any{"reason": "OMS 4.2 release, longer", "zone": "Europe/London",
		"start": "2026-12-05T08:00", "end": "2026-12-06T20:00", "entities": []string{"oms-1", "oms-2"}}
	clock.Advance(time.Minute)
	bob := gt.Login(t, gw.URL(), "manager") // a manager holds maintenance-windows too
	if code, body := bob.Do(t, http.MethodPut, "/api/v1/maintenance/weekend-release", edited); code != http.StatusOK {
		t.Fatalf("edit: %d %s", code, body)
	}

	// A restart on the same store keeps the edited window.
	gw.Stop(t)
	gt.CloseStore(t, st)
	st = gt.OpenStore(t, file)
	gw = startMaintenance(t, st, gt.Listen(t), clock)
	eng = gt.Login(t, gw.URL(), "engineer")
	w := listWindows(t, eng)["weekend-release"]
	if w.Reason != "OMS 4.2 release, longer" || w.End != "2026-12-06T20:00" || len(w.Entities) != 2 || w.PlannedBy != "engineer" ||
		!w.Planned.Equal(planned.Planned) || w.UpdatedBy != "manager" || !w.Updated.Equal(clock.Now()) || !w.Active {
		t.Fatalf("after the restart: %+v", w)
	}

	clock.Advance(time.Minute)
	if code, body := eng.Do(t, http.MethodDelete, "/api/v1/maintenance/weekend-release", nil); code != http.StatusNoContent {
		t.Fatalf("cancel: %d %s", code, body)
	}
	if ws := listWindows(t, eng); len(ws) != 1 || ws["lse-eod-patching"].ID == "" {
		t.Errorf("after the cancel: %+v", ws)
	}
	if code, body := eng.Do(t, http.MethodDelete, "/api/v1/maintenance/weekend-release", nil); code != http.StatusNotFound {
		t.Errorf("cancelling again: %d %s, want 404", code, body)
	}

	var audit struct {
		Entries []store.Audit `json:"entries"`
	}
	gw.Admin(t).Get(t, "/api/v1/audit?action=maintenance.", &audit)
	want := []struct{ action, who string }{ // newest first
		{store.AuditMaintenanceCancel, "engineer"}, {store.AuditMaintenanceEdit, "manager"}, {store.AuditMaintenancePlan, "engineer"},
	}
	if len(audit.Entries) != len(want) {
		t.Fatalf("audit: %+v", audit.Entries)
	}
	for i, e := range audit.Entries {
		if e.Action != want[i].action || e.Who != want[i].who || e.Target != "weekend-release" || !e.OK {
			t.Errorf("audit entry %d: %+v, want %s by %s", i, e, want[i].action, want[i].who)
		}
	}
}

// A reload brings the configuration's new windows into the list, and the
// API's stay.
func TestMaintenanceReload(t *testing.T) {
	gw, write := gt.StartFile(t, gateway.Options{})
	admin := gw.Admin(t)
	if code, body := admin.Do(t, http.MethodPost, "/api/v1/maintenance", map[string]any{"id": "planned", "reason": "x", "zone": "UTC",
		"start": "2026-12-05T08:00", "end": "2026-12-06T18:00", "where": map[string][]string{"region": {"emea"}}}); code != http.StatusCreated {
		t.Fatalf("plan: %d %s", code, body)
	}
	write(gt.Config(strings.TrimPrefix(gw.URL(), "http://")) + maintenanceYAML)
	if err := gw.Reload(); err != nil {
		t.Fatal(err)
	}
	if ws := listWindows(t, admin); len(ws) != 2 || ws["lse-eod-patching"].Source != "config" || ws["planned"].Source != "api" {
		t.Errorf("after the reload: %+v", ws)
	}
}
