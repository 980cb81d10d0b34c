package incident

import (
	"errors"
	"testing"
	"time"

	"github.com/watchfloor/watchfloor/rules"
)

// opened returns the change that opened an incident among cs.
func opened(t *testing.T, cs []Change) Change {
	t.Helper()
	for _, c := range cs {
		if c.Incident != nil && len(c.Events) > 0 && c.Events[0].Kind == EvOpened {
			return c
		}
	}
	t.Fatalf("nothing opened: %+v", cs)
	return Change{}
}

func manual(open rules.Severity) *rules.IncidentDef {
	d := opens(open)
	d.Manual = true
	return d
}

// The state machine's corners: deadlines, windows and snoozes meeting.
func TestLifecycleCorners(t *testing.T) {
	tests := []struct {
		name string
		run  func(t *testing.T, b *Book, c *clock)
	}{
		{"an old incident put back after a failed write leaves its cell to the newer one that follows it", func(t *testing.T, b *Book, c *clock) {
			old := *only(t, b.Signal(sig(c.at(0), rules.OK, rules.Critical, opens(rules.Critical)))).Incident
			b.Signal(sig(c.at(time.Minute), rules.Critical, rules.OK, opens(rules.Critical)))
			b.Tick(c.at(20 * time.Minute)) // its window over: let go
			newer := only(t, b.Signal(sig(c.at(21*time.Minute), rules.OK, rules.Critical, opens(rules.Critical)))).Incident.ID
			// A comment on the old one could not be stored: it is put back.
			b.Adopt(old)
			b.Reset(old.ID, &old)
			ch := only(t, b.Signal(sig(c.at(22*time.Minute), rules.Critical, rules.Warning, opens(rules.Critical))))
			if ch.Incident.ID != newer {
				t.Fatalf("the cell's change went to %s, want the newer %s", ch.Incident.ID, newer)
			}
		}},
		{"a recurrence after the reopen window opens a new incident before any Tick lets the old go", func(t *testing.T, b *Book, c *clock) {
			first := only(t, b.Signal(sig(c.at(0), rules.OK, rules.Critical, opens(rules.Critical)))).Incident.ID
			b.Signal(sig(c.at(time.Minute), rules.Critical, rules.OK, opens(rules.Critical)))
			// The window ended at 11m; the desk has not ticked yet.
			cs := b.Signal(sig(c.at(12*time.Minute), rules.OK, rules.Critical, opens(rules.Critical)))
			inc := opened(t, cs).Incident
			if inc.ID == first || inc.State != Open {
				t.Fatalf("opened %+v", inc)
			}
			if _, held := b.Get(first); held {
				t.Fatalf("%s is held past its window", first)
			}
		}},
		{"a snoozed incident's due escalation waits for the snooze's end, not for the next Tick again and again", func(t *testing.T, b *Book, c *clock) {
			id := only(t, b.Signal(sig(c.at(0), rules.OK, rules.Critical, opens(rules.Critical)))).Incident.ID
			if _, err := b.Snooze(id, "olu", SnoozeSpec{Reason: "vendor", Until: c.at(time.Minute).Add(29 * time.Minute)}, c.now); err != nil {
				t.Fatal(err)
			}
			if cs := b.Tick(c.at(5 * time.Minute)); len(cs) != 0 {
				t.Fatalf("escalated while snoozed: %+v", cs)
			}
			if next := b.Next(); !next.Equal(t0.Add(30 * time.Minute)) {
				t.Fatalf("next deadline %v, want the snooze's end at %v", next, t0.Add(30*time.Minute))
			}
			ch := only(t, b.Tick(c.at(30*time.Minute)))
			want(t, "events", kinds(ch), []EventKind{EvSnoozeEnded, EvEscalated})
		}},
		{"a snoozed cell's due escalation waits for the cell's snooze to end", func(t *testing.T, b *Book, c *clock) {
			b.Signal(sig(c.at(0), rules.OK, rules.Critical, opens(rules.Critical)))
			if _, err := b.SnoozeCell(cell, rules.Critical, "olu", SnoozeSpec{Reason: "maintenance", Until: c.at(time.Minute).Add(29 * time.Minute)}, c.now); err != nil {
				t.Fatal(err)
			}
			b.Tick(c.at(5 * time.Minute))
			if next := b.Next(); !next.Equal(t0.Add(30 * time.Minute)) {
				t.Fatalf("next deadline %v, want the cell's snooze's end at %v", next, t0.Add(30*time.Minute))
			}
		}},
		{"a manual incident critical again after recovering escalates from then", func(t *testing.T, b *Book, c *clock) {
			b.Signal(sig(c.at(0), rules.OK, rules.Critical, manual(rules.Critical)))
			b.Signal(sig(c.at(4*time.Minute), rules.Critical, rules.OK, manual(rules.Critical)))
			ch := only(t, b.Signal(sig(c.at(20*time.Minute), rules.OK, rules.Critical, manual(rules.Critical))))
			if next := ch.Incident.Escalation.Next; !next.Equal(t0.Add(25 * time.Minute)) {
				t.Fatalf("escalation next at %v, want 5m after it turned critical again (%v)", next, t0.Add(25*time.Minute))
			}
			if cs := b.Tick(c.at(21 * time.Minute)); len(cs) != 0 {
				t.Fatalf("escalated a minute after turning critical: %+v", cs)
			}
		}},
		{"a reopened incident escalates from when it reopened", func(t *testing.T, b *Book, c *clock) {
			b.Signal(sig(c.at(0), rules.OK, rules.Critical, opens(rules.Critical)))
			b.Signal(sig(c.at(4*time.Minute), rules.Critical, rules.OK, opens(rules.Critical)))
			ch := only(t, b.Signal(sig(c.at(8*time.Minute), rules.OK, rules.Critical, opens(rules.Critical))))
			want(t, "events", kinds(ch), []EventKind{EvReopened})
			if next := ch.Incident.Escalation.Next; !next.Equal(t0.Add(13 * time.Minute)) {
				t.Fatalf("escalation next at %v, want 5m after it reopened (%v)", next, t0.Add(13*time.Minute))
			}
		}},
		{"an incident that alerted and resolves while snoozed still tells its end", func(t *testing.T, b *Book, c *clock) {
			id := only(t, b.Signal(sig(c.at(0), rules.OK, rules.Critical, opens(rules.Critical)))).Incident.ID
			if _, err := b.Snooze(id, "olu", SnoozeSpec{Reason: "vendor", Until: c.at(time.Minute).Add(time.Hour)}, c.now); err != nil {
				t.Fatal(err)
			}
			ch := only(t, b.Signal(sig(c.at(10*time.Minute), rules.Critical, rules.OK, opens(rules.Critical))))
			want(t, "effects", effects(ch), []string{"resolved"})
		}},
		{"an incident that alerted and closes while its cell is snoozed still tells its end", func(t *testing.T, b *Book, c *clock) {
			id := only(t, b.Signal(sig(c.at(0), rules.OK, rules.Critical, manual(rules.Critical)))).Incident.ID
			if _, err := b.SnoozeCell(cell, rules.Critical, "olu", SnoozeSpec{Reason: "maintenance", Until: c.at(time.Minute).Add(time.Hour)}, c.now); err != nil {
				t.Fatal(err)
			}
			ch, err := b.Close(id, "maria", "", c.at(10*time.Minute))
			if err != nil {
				t.Fatal(err)
			}
			want(t, "effects", effects(ch), []string{"resolved", "closed"})
		}},
		{"an incident that opened and recovered while snoozed announces nothing", func(t *testing.T, b *Book, c *clock) {
			if _, err := b.SnoozeCell(cell, rules.OK, "olu", SnoozeSpec{Reason: "maintenance", Until: c.at(0).Add(time.Hour)}, c.now); err != nil {
				t.Fatal(err)
			}
			b.Signal(sig(c.at(time.Minute), rules.OK, rules.Critical, opens(rules.Critical)))
			ch := only(t, b.Signal(sig(c.at(2*time.Minute), rules.Critical, rules.OK, opens(rules.Critical))))
			want(t, "effects", effects(ch), nil)
		}},
		{"a closed incident cannot be unacknowledged", func(t *testing.T, b *Book, c *clock) {
			id := only(t, b.Signal(sig(c.at(0), rules.OK, rules.Critical, opens(rules.Critical)))).Incident.ID
			if _, err := b.Acknowledge(id, "olu", "", c.now); err != nil {
				t.Fatal(err)
			}
			ch, err := b.Close(id, "maria", "", c.at(time.Minute))
			if err != nil {
				t.Fatal(err)
			}
			b.Adopt(*ch.Incident) // as the desk does for a command on it
			if _, err := b.Unacknowledge(id, "olu", "", c.at(2*time.Minute)); !errors.Is(err, ErrState) {
				t.Fatalf("unacknowledged a closed incident: %v", err)
			}
		}},
		{"an opening timed before the last day's change keeps numbers unique", func(t *testing.T, _ *Book, c *clock) {
			// Transitions from two probes' actors, and a raise, meet in one
			// batch around midnight in any order.
			b := NewBook(desk(), "20261201", 1)
			s := sig(time.Date(2026, 12, 2, 0, 0, 1, 0, time.UTC), rules.OK, rules.Critical, opens(rules.Critical))
			first := only(t, b.Signal(s)).Incident.ID
			s = sig(time.Date(2026, 12, 1, 23, 59, 59, 0, time.UTC), rules.OK, rules.Critical, opens(rules.Critical))
			s.Path = cell + "2"
			late := only(t, b.Signal(s)).Incident.ID
			if late == first || late == "INC-20261201-0001" {
				t.Fatalf("the late opening got %s: the day's earlier one (INC-20261201-0001) or the new day's (%s) again", late, first)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.run(t, NewBook(desk(), "", 0), &clock{})
		})
	}
}
