package store

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Note is a note one shift leaves the next, for the handover.
type Note struct {
	Time time.Time `json:"time"`
	Who  string    `json:"who"`
	Text string    `json:"text"`
}

// AuditHandoverNote is the audit action of a note left for the next
// shift.
const AuditHandoverNote = "handover.note"

// notePrefix keys the handover notes by time: note:<ns 20 digits>:<seq 8>.
const notePrefix = "note:"

// PutNote stores a handover note with its audit entries.
func (s *Store) PutNote(n Note, audit ...Audit) error {
	if strings.TrimSpace(n.Text) == "" || n.Time.IsZero() {
		return fmt.Errorf("%w: a note has a time and text", ErrInvalid)
	}
	key := fmt.Sprintf("%s%020d:%08d", notePrefix, n.Time.UnixNano(), s.seq.Add(1))
	return s.kv.update(func(tx txn) error {
		if err := writeJSON(tx, key, n); err != nil {
			return err
		}
		return s.putAudit(tx, audit)
	})
}

// Notes returns the handover notes left at since or later, oldest first.
func (s *Store) Notes(since time.Time) ([]Note, error) {
	from := fmt.Sprintf("%s%020d:", notePrefix, max(since.UnixNano(), 0))
	var out []Note
	err := s.kv.view(func(tx txn) (err error) {
		out, err = decodeAll[Note](tx, notePrefix, from)
		return err
	})
	return out, err
}

// ExpireNotes deletes the notes left before olderThan, returning how many.
func (s *Store) ExpireNotes(olderThan time.Time) (int, error) {
	n, err := s.expireBefore(notePrefix, fmt.Sprintf("%s%020d:", notePrefix, max(olderThan.UnixNano(), 0)))
	if err != nil {
		return n, fmt.Errorf("expire handover notes before %v: %w", olderThan.UTC(), err)
	}
	return n, nil
}

// decodeAll decodes, as JSON, the value of every key with prefix that
// sorts at from or after it, in key order.
func decodeAll[T any](tx txn, prefix, from string) ([]T, error) {
	var out []T
	var bad error
	err := tx.ascend(prefix, func(k, v string) bool {
		if k < from {
			return true
		}
		var x T
		if err := json.Unmarshal([]byte(v), &x); err != nil {
			bad = fmt.Errorf("read %s: %w", k, err)
			return false
		}
		out = append(out, x)
		return true
	})
	if err != nil {
		return nil, err
	}
	return out, bad
}
