package gateway_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/watchfloor/watchfloor/gateway"
	gt "github.com/watchfloor/watchfloor/gateway/gatewaytest"
	"github.com/watchfloor/watchfloor/gateway/incident"
)

// A maintenance window on a real gateway: router-acme's latency turns
// critical during its patching window; the cell is critical and its
// entity marked in maintenance on the tree, but no incident opens (while
// router-globex's, outside any window, does). When the gateway's clock
// passes the window's end with the cell still critical, its incident
// opens then, and the mark goes.
func TestMaintenanceWindowHoldsTheIncidentUntilItEnds(t *testing.T) {
	clock := gt.NewManualClock(time.Date(2026, 12, 1, 8, 10, 0, 0, time.UTC))
	r := startRig(t, gateway.Options{Clock: clock}, func(yaml string) string {
		return yaml + `maintenance:
  - id: acme-patching
    reason: Router firmware
    zone: UTC
    start: 2026-12-01T08:00
    end: 2026-12-01T08:20
    entities: [router-acme]
`
	}, "", "")
	admin := r.gw.Admin(t)
	gt.Eventually(t, "router-acme marked in maintenance", func() bool {
		return entityMaintenance(t, admin, "router-acme") == "acme-patching"
	})
	if m := entityMaintenance(t, admin, "router-globex"); m != "" {
		t.Fatalf("router-globex marked %q", m)
	}
	r.latency("router-acme", 90)
	acme := "venue/router-acme/orders/orders"
	gt.Eventually(t, "acme's cell critical", func() bool {
		return dataviewRow(t, admin, acme, "A")["latency"].Severity == "critical"
	})
	// The desk takes transitions in order: once globex's incident is
	// open, acme's transition has been heard too.
	r.latency("router-globex", 90)
	r.waitIncident("globex's incident", "?state=open", func(i incident.Incident) bool { return i.Entity == "router-globex" })
	for _, inc := range r.list(admin, "") {
		if inc.Entity == "router-acme" {
			t.Fatalf("an incident opened during the window: %+v", inc)
		}
	}

	clock.Advance(10 * time.Minute) // 08:20, the window's end
	after := gt.Login(t, r.gw.URL(), gt.Admin.Name)
	var inc incident.Incident
	gt.Eventually(t, "acme's incident opened at the window's end", func() bool {
		for _, i := range r.list(after, "?state=open") {
			if i.Entity == "router-acme" {
				inc = i
				return true
			}
		}
		return false
	})
	if end := time.Date(2026, 12, 1, 8, 20, 0, 0, time.UTC); !inc.Opened.Equal(end) {
		t.Errorf("opened at %v, want the window's end %v", inc.Opened, end)
	}
	gt.Eventually(t, "the mark gone", func() bool { return entityMaintenance(t, after, "router-acme") == "" })
}

// entityMaintenance is the maintenance window the tree marks an entity
// with.
func entityMaintenance(t *testing.T, s *gt.Session, entity string) string {
	t.Helper()
	code, body := s.Do(t, http.MethodGet, "/api/v1/tree", nil)
	if code != http.StatusOK {
		t.Fatalf("tree: %d %s", code, body)
	}
	var tree struct {
		Probes []struct {
			Entities []struct {
				Name        string
				Maintenance string
			}
		}
	}
	if err := json.Unmarshal(body, &tree); err != nil {
		t.Fatal(err)
	}
	for _, p := range tree.Probes {
		for _, e := range p.Entities {
			if strings.EqualFold(e.Name, entity) {
				return e.Maintenance
			}
		}
	}
	t.Fatalf("no entity %s on the tree", entity)
	return ""
}
