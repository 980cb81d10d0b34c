package incident

import (
	"testing"
	"time"

	"github.com/watchfloor/watchfloor/rules"
)

// openWindow is a maintenance window for "router" from from on, with no
// end given (Covering's until is zero: "zero if it does not").
type openWindow struct{ from time.Time }

func (w openWindow) Covering(_, entity string, _ map[string]string, t time.Time) (string, time.Time, bool) {
	if entity == "router" && !t.Before(w.from) {
		return "open-ended", time.Time{}, true
	}
	return "", time.Time{}, false
}

// A held signal opens its incident at the window's end "if the cell is
// still as bad". When, during the window, the cell stops being judged by
// the rule that held it (the rule was removed, so the transition has no
// rule; or another rule now judges the cell ok), nothing may open for the
// old rule at the end.
func TestHeldSignalLetGoWhenItsRuleNoLongerJudges(t *testing.T) {
	for _, tc := range []struct {
		name string
		then Signal
	}{
		{"rule removed", Signal{Rule: "", Path: cell, Probe: "venue", Entity: "router", Client: "acme",
			Old: rules.Critical, New: rules.Undefined, Worst: rules.Critical}},
		{"another rule judges it ok", Signal{Rule: "router-fine", Path: cell, Probe: "venue", Entity: "router", Client: "acme",
			Old: rules.Critical, New: rules.OK, Worst: rules.Critical, Open: opens(rules.Critical)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := NewBook(desk(), "", 0)
			end := t0.Add(time.Hour)
			b.SetMaintenance(window{from: t0, to: end})
			b.Signal(sig(t0.Add(time.Minute), rules.OK, rules.Critical, opens(rules.Critical)))
			tc.then.Time = t0.Add(2 * time.Minute)
			b.Signal(tc.then)
			for _, c := range b.Tick(end) {
				if c.Incident != nil && c.Incident.State == Open {
					t.Errorf("at the window's end, %s opened for a cell it no longer judges: %+v", c.Incident.Rule, c.Incident)
				}
			}
		})
	}
}

// The desk undoes a Tick whose changes it could not store (Book.Reset to
// the stored state, nil for an incident never stored) and ticks again a
// second later: "Undone, so still due". An incident a held signal opened
// at the window's end must open again then: the cell's transition is not
// resent.
func TestHeldSignalSurvivesAnUndoneTick(t *testing.T) {
	b := NewBook(desk(), "", 0)
	end := t0.Add(time.Hour)
	b.SetMaintenance(window{from: t0, to: end})
	b.Signal(sig(t0.Add(time.Minute), rules.OK, rules.Critical, opens(rules.Critical)))
	ch := only(t, b.Tick(end))
	b.Reset(ch.Incident.ID, nil) // the store refused it: as the desk's undo does
	var opened bool
	for _, c := range b.Tick(end.Add(time.Second)) {
		opened = opened || (c.Incident != nil && c.Incident.State == Open)
	}
	if !opened {
		t.Errorf("after the undone tick, the retry opens nothing: the held signal is gone (held %d, Next %v)", len(b.Held()), b.Next())
	}
}

// During a window with no end (Covering's until zero), an open critical
// incident's escalation falls due and is skipped; Next must then not say
// "now" again and again, or the desk's loop ticks without pause for the
// whole window (its timer is reset to max(next-now, 0)).
func TestOpenEndedWindowDoesNotSpinTheDesk(t *testing.T) {
	b := NewBook(desk(), "", 0)
	only(t, b.Signal(sig(t0, rules.OK, rules.Critical, opens(rules.Critical))))
	b.SetMaintenance(openWindow{from: t0.Add(time.Minute)})
	b.Tick(t0.Add(time.Minute))     // marked: in the window
	now := t0.Add(10 * time.Minute) // the first escalation (after 5m) is due, and silenced
	b.Tick(now)
	if next := b.Next(); !next.IsZero() && !next.After(now) {
		t.Errorf("after a tick at %v, Next = %v: the desk ticks again at once, forever", now, next)
	}
}
