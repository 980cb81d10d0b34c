package store_test

import (
	"errors"
	"testing"
	"time"

	"github.com/watchfloor/watchfloor/gateway/store"
)

// Handover notes come back oldest first from a time on, with their audit
// entry, and retention deletes those before a time.
func TestHandoverNotes(t *testing.T) {
	backends(t, func(t *testing.T, s *store.Store) {
		for i, text := range []string{"router restarted twice", "acme to be called at 08:00", "mirror 2 lags"} {
			n := store.Note{Time: day0.Add(time.Duration(i) * time.Hour), Who: "olu", Text: text}
			if err := s.PutNote(n, incAudit(store.AuditHandoverNote, "handover", n.Time)); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.PutNote(store.Note{Time: day0, Who: "olu", Text: " "}); !errors.Is(err, store.ErrInvalid) {
			t.Fatalf("an empty note: %v", err)
		}
		got, err := s.Notes(day0.Add(time.Hour))
		if err != nil || len(got) != 2 || got[0].Text != "acme to be called at 08:00" || got[1].Text != "mirror 2 lags" {
			t.Fatalf("Notes = %+v, %v", got, err)
		}
		if n, err := s.ExpireNotes(day0.Add(90 * time.Minute)); err != nil || n != 2 {
			t.Fatalf("ExpireNotes = %d, %v; want 2", n, err)
		}
		if got, _ := s.Notes(time.Time{}); len(got) != 1 || got[0].Text != "mirror 2 lags" {
			t.Fatalf("after expiry: %+v", got)
		}
		if entries, _, err := s.Query(store.AuditQuery{Action: store.AuditHandoverNote}); err != nil || len(entries) != 3 {
			t.Fatalf("audit: %d entries, %v", len(entries), err)
		}
	})
}
