package store

import (
	"fmt"
	"slices"
	"strings"

	"github.com/watchfloor/watchfloor/gateway/maintenance"
)

// maintenancePrefix is the start of the keys of maintenance windows
// planned through the API; the configuration's are not stored.
const maintenancePrefix = "maint:"

// A window's ID holds letters, digits, '.', '_' and '-' (maintenance.CheckID),
// so it needs no escaping in its key.
func maintenanceKey(id string) string { return maintenancePrefix + id }

func checkMaintenance(w maintenance.Window) error {
	if err := maintenance.CheckID(w.ID); err != nil {
		return fmt.Errorf("maintenance window id: %v: %w", err, ErrInvalid)
	}
	if w.Source != maintenance.SourceAPI {
		return fmt.Errorf("maintenance window %s: source %q; only the API's windows are stored: %w", w.ID, w.Source, ErrInvalid)
	}
	return nil
}

// PutMaintenance stores a maintenance window planned through the API,
// replacing the one of its ID, with the audit entries in the same
// transaction. A window whose ID cannot be a key, or whose Source is not
// the API, is ErrInvalid.
func (s *Store) PutMaintenance(w maintenance.Window, audit ...Audit) error {
	if err := checkMaintenance(w); err != nil {
		return err
	}
	return s.kv.update(func(tx txn) error {
		if err := writeJSON(tx, maintenanceKey(w.ID), w); err != nil {
			return err
		}
		return s.putAudit(tx, audit)
	})
}

// DeleteMaintenance deletes the maintenance window with the given ID and
// writes the audit entries, in one transaction; a window that is not
// stored is ErrNotFound, and nothing is written.
func (s *Store) DeleteMaintenance(id string, audit ...Audit) error {
	if err := maintenance.CheckID(id); err != nil {
		return fmt.Errorf("maintenance window id: %v: %w", err, ErrInvalid)
	}
	return s.kv.update(func(tx txn) error {
		_, ok, err := tx.get(maintenanceKey(id))
		switch {
		case err != nil:
			return err
		case !ok:
			return fmt.Errorf("maintenance window %s: %w", id, ErrNotFound)
		}
		if err := tx.delete(maintenanceKey(id)); err != nil {
			return err
		}
		return s.putAudit(tx, audit)
	})
}

// Maintenances returns the stored maintenance windows, sorted by ID.
func (s *Store) Maintenances() ([]maintenance.Window, error) {
	var out []maintenance.Window
	err := s.kv.view(func(tx txn) (err error) {
		out, err = decodeAll[maintenance.Window](tx, maintenancePrefix, "")
		return err
	})
	slices.SortFunc(out, func(a, b maintenance.Window) int { return strings.Compare(a.ID, b.ID) })
	return out, err
}
