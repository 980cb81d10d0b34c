package store

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Kiosk is a long-lived, read-only link for a wall screen. Its secret is
// in the link and in the screen's cookie; the store keeps only its
// SHA-256.
type Kiosk struct {
	ID    string `json:"id"`
	Label string `json:"label"`
	Scope Scope  `json:"scope"`
	// SecretSHA256 is the SHA-256 of the link's secret, in lower-case hex.
	SecretSHA256 string    `json:"secret_sha256"`
	Created      time.Time `json:"created"`
	CreatedBy    string    `json:"created_by"`
	LastUsed     time.Time `json:"last_used,omitzero"`
	// Expires is when the link stops working; zero is never.
	Expires time.Time `json:"expires,omitzero"`
}

func (k Kiosk) normal() Kiosk {
	k.Created = k.Created.UTC().Round(0)
	if !k.LastUsed.IsZero() {
		k.LastUsed = k.LastUsed.UTC().Round(0)
	}
	if !k.Expires.IsZero() {
		k.Expires = k.Expires.UTC().Round(0)
	}
	return k
}

const kioskPrefix = "kiosk:"

func kioskKey(id string) string { return kioskPrefix + id }

func checkKioskID(id string) error {
	if id == "" || strings.ContainsAny(id, "\x00*?") {
		return fmt.Errorf("kiosk id %q cannot be stored: %w", id, ErrInvalid)
	}
	return nil
}

// PutKiosk creates or replaces a kiosk link, with the audit entries in
// the same transaction.
func (s *Store) PutKiosk(k Kiosk, audit ...Audit) error {
	if err := checkKioskID(k.ID); err != nil {
		return err
	}
	if err := CheckHash(k.SecretSHA256); err != nil {
		return fmt.Errorf("kiosk %s: %w", k.ID, err)
	}
	return s.kv.update(func(tx txn) error {
		if err := writeJSON(tx, kioskKey(k.ID), k.normal()); err != nil {
			return err
		}
		return s.putAudit(tx, audit)
	})
}

// DeleteKiosk deletes a kiosk link (ErrNotFound if there is none), with
// the audit entries in the same transaction.
func (s *Store) DeleteKiosk(id string, audit ...Audit) error {
	if err := checkKioskID(id); err != nil {
		return fmt.Errorf("%w: %w", ErrNotFound, err)
	}
	return s.kv.update(func(tx txn) error {
		_, ok, err := tx.get(kioskKey(id))
		switch {
		case err != nil:
			return err
		case !ok:
			return fmt.Errorf("kiosk %s: %w", id, ErrNotFound)
		}
		if err := tx.delete(kioskKey(id)); err != nil {
			return err
		}
		return s.putAudit(tx, audit)
	})
}

// Kiosks returns every kiosk link, in the order of their ids.
func (s *Store) Kiosks() ([]Kiosk, error) {
	var out []Kiosk
	err := s.kv.view(func(tx txn) error {
		var bad error
		err := tx.ascend(kioskPrefix, func(key, v string) bool {
			var k Kiosk
			if err := json.Unmarshal([]byte(v), &k); err != nil {
				bad = fmt.Errorf("read %s: %w", key, err)
				return false
			}
			out = append(out, k)
			return true
		})
		if err != nil {
			return err
		}
		return bad
	})
	return out, err
}

// TouchKiosks sets when kiosk links were last used, by id, in one
// transaction; a link deleted meanwhile is skipped, and a time earlier
// than the one stored is ignored.
func (s *Store) TouchKiosks(used map[string]time.Time) error {
	if len(used) == 0 {
		return nil
	}
	return s.kv.update(func(tx txn) error {
		for id, at := range used {
			key := kioskKey(id)
			text, ok, err := tx.get(key)
			if err != nil {
				return err
			}
			if !ok {
				continue
			}
			var k Kiosk
			if err := json.Unmarshal([]byte(text), &k); err != nil {
				return fmt.Errorf("read %s: %w", key, err)
			}
			if !at.After(k.LastUsed) {
				continue
			}
			k.LastUsed = at
			if err := writeJSON(tx, key, k.normal()); err != nil {
				return err
			}
		}
		return nil
	})
}
