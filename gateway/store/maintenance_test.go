package store_test

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/watchfloor/watchfloor/gateway/maintenance"
	"github.com/watchfloor/watchfloor/gateway/store"
)

func release() maintenance.Window {
	return maintenance.Window{ID: "weekend-release", Reason: "OMS 4.2 release", PlannedBy: "maria", Planned: t0,
		Zone: "Europe/London", Start: "2026-12-05T08:00", End: "2026-12-06T18:00", Entities: []string{"oms-1"}, Source: maintenance.SourceAPI}
}

func patching() maintenance.Window {
	return maintenance.Window{ID: "lse-eod-patching", Reason: "End-of-Day patching", PlannedBy: "bob", Planned: t0,
		Zone: "Europe/London", Days: []string{"mon", "fri"}, From: "22:00", To: "23:30",
		Where: map[string][]string{"system": {"lse"}}, Source: maintenance.SourceAPI}
}

func auditOf(t *testing.T, s *store.Store, action string) []store.Audit {
	t.Helper()
	entries, _, err := s.Query(store.AuditQuery{Action: action})
	if err != nil {
		t.Fatal(err)
	}
	return entries
}

// Windows are planned, edited and cancelled, each with its audit entry
// in the same transaction.
func TestMaintenance(t *testing.T) {
	backends(t, func(t *testing.T, s *store.Store) {
		if ws, err := s.Maintenances(); err != nil || len(ws) != 0 {
			t.Fatalf("a new store's windows: %+v, %v", ws, err)
		}
		for _, w := range []maintenance.Window{release(), patching()} {
			if err := s.PutMaintenance(w, incAudit(store.AuditMaintenancePlan, w.ID, t0)); err != nil {
				t.Fatal(err)
			}
		}
		ws, err := s.Maintenances()
		if err != nil || !reflect.DeepEqual(ws, []maintenance.Window{patching(), release()}) {
			t.Fatalf("windows, by ID: %+v, %v", ws, err)
		}
		edited := release()
		edited.End, edited.Updated, edited.UpdatedBy = "2026-12-06T20:00", t0.Add(time.Hour), "bob"
		if err := s.PutMaintenance(edited, incAudit(store.AuditMaintenanceEdit, edited.ID, t0)); err != nil {
			t.Fatal(err)
		}
		if ws, _ := s.Maintenances(); len(ws) != 2 || !reflect.DeepEqual(ws[1], edited) {
			t.Fatalf("after the edit: %+v", ws)
		}
		if err := s.DeleteMaintenance(edited.ID, incAudit(store.AuditMaintenanceCancel, edited.ID, t0)); err != nil {
			t.Fatal(err)
		}
		if ws, _ := s.Maintenances(); !reflect.DeepEqual(ws, []maintenance.Window{patching()}) {
			t.Fatalf("after the cancel: %+v", ws)
		}
		for action, n := range map[string]int{store.AuditMaintenancePlan: 2, store.AuditMaintenanceEdit: 1, store.AuditMaintenanceCancel: 1, "maintenance.": 4} {
			if got := auditOf(t, s, action); len(got) != n {
				t.Errorf("%s: %d audit entries, want %d", action, len(got), n)
			}
		}
	})
}

// What cannot be stored is refused, and writes neither the window nor
// its audit entry.
func TestMaintenanceRefused(t *testing.T) {
	backends(t, func(t *testing.T, s *store.Store) {
		bad := release()
		bad.ID = "a:b"
		fromConfig := release()
		fromConfig.Source = maintenance.SourceConfig
		for name, w := range map[string]maintenance.Window{"a key's separator": bad, "no id": {Source: maintenance.SourceAPI}, "the config's": fromConfig} {
			if err := s.PutMaintenance(w, incAudit(store.AuditMaintenancePlan, w.ID, t0)); !errors.Is(err, store.ErrInvalid) {
				t.Errorf("%s: %v, want ErrInvalid", name, err)
			}
		}
		if err := s.DeleteMaintenance("nothing-here", incAudit(store.AuditMaintenanceCancel, "nothing-here", t0)); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("cancelling what is not there: %v, want ErrNotFound", err)
		}
		if err := s.DeleteMaintenance("a:b"); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("cancelling a bad id: %v, want ErrInvalid", err)
		}
		if ws, _ := s.Maintenances(); len(ws) != 0 {
			t.Errorf("refused windows were stored: %+v", ws)
		}
		if got := auditOf(t, s, "maintenance."); len(got) != 0 {
			t.Errorf("refused writes were audited: %+v", got)
		}
	})
}

// A window survives reopening the file, and a schema 3 store (this
// build's with its version set back) opens and takes windows.
func TestMaintenanceSurvivesReopen(t *testing.T) {
	s, path := open(t)
	if err := s.AddUser(alice(), audit(store.AuditUserAdd, "alice")); err != nil {
		t.Fatal(err)
	}
	closeStore(t, s)
	writeRaw(t, path, "meta:schema", "3")
	waitBuntStopped(t)

	s, err := store.Open(path)
	if err != nil {
		t.Fatalf("a schema 3 store: %v", err)
	}
	if err := s.PutMaintenance(release()); err != nil {
		t.Fatal(err)
	}
	closeStore(t, s)
	s, err = store.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer closeStore(t, s)
	if ws, err := s.Maintenances(); err != nil || !reflect.DeepEqual(ws, []maintenance.Window{release()}) {
		t.Errorf("after reopening: %+v, %v", ws, err)
	}
	if u, err := s.User("alice"); err != nil || u.Name != "alice" {
		t.Errorf("the schema 3 user: %+v, %v", u, err)
	}
}
