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
	err := s.kv.view(func(tx txn) error {
		var derr error
		err := tx.ascend(notePrefix, func(k, v string) bool {
			if k < from {
				return true
			}
			var n Note
			if derr = json.Unmarshal([]byte(v), &n); derr != nil {
				derr = fmt.Errorf("decode %s: %w", k, derr)
				return false
			}
			out = append(out, n)
			return true
		})
		if derr != nil {
			return derr
		}
		return err
	})
	return out, err
}

// ExpireNotes deletes the notes left before olderThan, returning how many.
func (s *Store) ExpireNotes(olderThan time.Time) (int, error) {
	below := fmt.Sprintf("%s%020d:", notePrefix, max(olderThan.UnixNano(), 0))
	n := 0
	err := s.kv.update(func(tx txn) error {
		var keys []string
		if err := tx.ascend(notePrefix, func(k, _ string) bool {
			if k >= below {
				return false
			}
			keys = append(keys, k)
			return true
		}); err != nil {
			return err
		}
		for _, k := range keys {
			if err := tx.delete(k); err != nil {
				return err
			}
		}
		n = len(keys)
		return nil
	})
	return n, err
}
