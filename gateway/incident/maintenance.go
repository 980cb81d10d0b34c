package incident

import (
	"maps"
	"slices"
	"time"

	"github.com/watchfloor/watchfloor/rules"
)

// Maintenance says which entities are in a planned maintenance window.
// During one, an entity's cells still have their severities, but nothing
// opens an incident, escalates or alerts: an incident that would have
// opened opens when the window ends, if its cell is still as bad, and an
// open one alerts and escalates again then.
type Maintenance interface {
	// Covering returns the window the entity is in at t and when that
	// window ends (zero if it does not); ok is false when it is in none.
	Covering(probe, entity string, attrs map[string]string, t time.Time) (id string, until time.Time, ok bool)
}

// SetMaintenance makes m the maintenance windows the Book follows; nil
// is none. Call Tick after: an incident whose entity entered or left a
// window is told so then.
func (b *Book) SetMaintenance(m Maintenance) { b.maint = m }

func (b *Book) covering(probe, entity string, attrs map[string]string, t time.Time) (string, time.Time, bool) {
	if b.maint == nil || entity == "" {
		return "", time.Time{}, false
	}
	return b.maint.Covering(probe, entity, attrs, t)
}

// holdForMaintenance keeps a signal that would open (or reopen) an incident while its
// entity is in a maintenance window, and reports whether it did. A signal
// that would open none lets go of the one held for its rule and cell: the
// cell got better during the window.
func (b *Book) holdForMaintenance(s Signal, inc *Incident, worst rules.Severity) bool {
	k := key(s.Rule, s.Path)
	opens := s.Open != nil && s.New >= s.Open.OpenAt() && (inc == nil || inc.State == Resolved)
	if !opens {
		delete(b.held, k)
		if (inc == nil || inc.State == Resolved) && s.Open != nil && worst >= s.Open.OpenAt() {
			// A spike coalesced away during a window (worst) opens
			// nothing either.
			_, _, in := b.covering(s.Probe, s.Entity, s.Attrs, s.Time)
			return in
		}
		return false
	}
	_, until, in := b.covering(s.Probe, s.Entity, s.Attrs, s.Time)
	if !in {
		delete(b.held, k)
		return false
	}
	if b.held == nil {
		b.held = make(map[string]Signal)
	}
	s.heldUntil = until
	b.held[k] = s
	return true
}

// letGoOthers lets go of the signals held for path under rules other
// than rule: the path is judged by rule now ("" for none), so theirs are
// no longer the cell's state.
func (b *Book) letGoOthers(path, rule string) {
	if len(b.held) == 0 {
		return // outside windows, as nearly always
	}
	for k, s := range b.held {
		if s.Path == path && s.Rule != rule {
			delete(b.held, k)
		}
	}
}

// release lets the held signals whose windows have ended at now open
// their incidents, as signals at now, in the phase their entity is in
// then. A released signal stays held until its incident is seen open,
// so that one whose opening was undone (the store refused it, and the
// caller Reset it) opens at the next tick instead of being lost.
func (b *Book) release(now time.Time) []Change {
	var out []Change
	for _, k := range slices.Sorted(maps.Keys(b.held)) {
		s := b.held[k]
		if inc := b.byKey[k]; s.released && inc != nil && inc.State == Open {
			delete(b.held, k)
			continue
		}
		if _, until, in := b.covering(s.Probe, s.Entity, s.Attrs, now); in {
			s.heldUntil = until
			b.held[k] = s
			continue
		}
		delete(b.held, k)
		s.Time, s.Worst = now, s.New
		if b.phaseOf != nil {
			s.Phase = b.phaseOf(s.Attrs, now)
		}
		out = append(out, b.Signal(s)...)
		if inc := b.byKey[k]; inc != nil && inc.State == Open {
			s.released, s.heldUntil = true, now
			b.held[k] = s
		}
	}
	return out
}

// SetPhases gives the Book the phase of an entity's work cycle at an
// instant, for the signals it releases from maintenance: an incident
// records the phase it opened in.
func (b *Book) SetPhases(phaseOf func(attrs map[string]string, t time.Time) string) {
	b.phaseOf = phaseOf
}

// Held returns the signals held by maintenance windows, by rule and path,
// for the caller's view of what will open when they end.
func (b *Book) Held() []Signal {
	out := make([]Signal, 0, len(b.held))
	for _, k := range slices.Sorted(maps.Keys(b.held)) {
		if s := b.held[k]; !s.released {
			out = append(out, s)
		}
	}
	return out
}

// maintenance notes on an open incident that its entity entered or left
// a maintenance window; leaving one while still bad, it alerts and
// escalates again.
func (ch *change) maintenance(now time.Time) {
	inc := ch.inc
	if inc.State != Open {
		return
	}
	id, until, in := ch.b.covering(inc.Probe, inc.Entity, inc.Attrs, now)
	switch {
	case in && inc.Maintenance != id:
		inc.Maintenance, inc.MaintenanceUntil = id, until
		text := "its entity is in the maintenance window " + id
		if !until.IsZero() {
			text += " until " + until.UTC().Format(time.RFC3339)
		}
		ch.event(Event{Time: now, Kind: EvMaintenance, Text: text + ": no alerts or escalations until then"})
	case in:
		inc.MaintenanceUntil = until
	case inc.Maintenance != "":
		ch.event(Event{Time: now, Kind: EvMaintenanceEnded, Text: "the maintenance window " + inc.Maintenance + " ended"})
		inc.Maintenance, inc.MaintenanceUntil = "", time.Time{}
		ch.unsilenced(now)
	}
}
