package incident

import (
	"testing"
	"time"

	"github.com/watchfloor/watchfloor/rules"
)

// window is one maintenance window for the entity "router", from..to.
type window struct{ from, to time.Time }

func (w window) Covering(_, entity string, _ map[string]string, t time.Time) (string, time.Time, bool) {
	if entity == "router" && !t.Before(w.from) && t.Before(w.to) {
		return "eod-patching", w.to, true
	}
	return "", time.Time{}, false
}

// A cell critical during a maintenance window opens nothing; still
// critical when the window ends, it opens its incident then, and alerts.
func TestMaintenanceHoldsAnIncidentUntilItsEnd(t *testing.T) {
	b := NewBook(desk(), "", 0)
	b.SetMaintenance(window{from: t0, to: t0.Add(90 * time.Minute)})
	if cs := b.Signal(sig(t0.Add(10*time.Minute), rules.OK, rules.Critical, opens(rules.Critical))); len(cs) != 0 {
		t.Fatalf("opened during the window: %+v", cs)
	}
	if n := len(b.Held()); n != 1 {
		t.Fatalf("%d signals held, want 1", n)
	}
	if next := b.Next(); !next.Equal(t0.Add(90 * time.Minute)) {
		t.Fatalf("Next = %v, want the window's end", next)
	}
	if cs := b.Tick(t0.Add(89 * time.Minute)); len(cs) != 0 {
		t.Fatalf("a tick inside the window changed %+v", cs)
	}
	end := t0.Add(90 * time.Minute)
	ch := only(t, b.Tick(end))
	if ch.Incident.State != Open || !ch.Incident.Opened.Equal(end) || ch.Incident.Severity != rules.Critical {
		t.Fatalf("at the end: %+v", ch.Incident)
	}
	want(t, "effects", effects(ch), []string{"opened!"})
	if len(b.Held()) != 0 {
		t.Fatal("still held after the window")
	}
}

// A cell that recovers during the window opens nothing at its end; nor
// does a spike coalesced away inside it.
func TestMaintenanceLetsGoOfACellThatRecovered(t *testing.T) {
	b := NewBook(desk(), "", 0)
	b.SetMaintenance(window{from: t0, to: t0.Add(time.Hour)})
	b.Signal(sig(t0.Add(time.Minute), rules.OK, rules.Critical, opens(rules.Critical)))
	b.Signal(sig(t0.Add(2*time.Minute), rules.Critical, rules.OK, opens(rules.Critical)))
	spike := sig(t0.Add(3*time.Minute), rules.OK, rules.OK, opens(rules.Critical))
	spike.Worst = rules.Critical
	if cs := b.Signal(spike); len(cs) != 0 {
		t.Fatalf("a spike during the window: %+v", cs)
	}
	if cs := b.Tick(t0.Add(time.Hour)); len(cs) != 0 {
		t.Fatalf("at the end: %+v", cs)
	}
}

// An incident open when a window starts is marked, alerts and escalates
// no more during it, and when the window ends still unacknowledged it
// alerts again and its escalation goes on.
func TestMaintenancePausesAnOpenIncident(t *testing.T) {
	b := NewBook(desk(), "", 0)
	from, to := t0.Add(time.Minute), t0.Add(time.Hour)
	b.SetMaintenance(window{from: from, to: to})
	opened := only(t, b.Signal(sig(t0, rules.OK, rules.Warning, opens(rules.Warning))))
	id := opened.Incident.ID
	ch := only(t, b.Tick(from))
	want(t, "events at the start", kinds(ch), []EventKind{EvMaintenance})
	if ch.Incident.Maintenance != "eod-patching" || !ch.Incident.MaintenanceUntil.Equal(to) {
		t.Fatalf("marked %q until %v", ch.Incident.Maintenance, ch.Incident.MaintenanceUntil)
	}
	// Worse during the window: on the timeline, but nobody is told and
	// nothing escalates (the desk policy's first level is after 5m).
	ch = only(t, b.Signal(sig(from.Add(time.Minute), rules.Warning, rules.Critical, opens(rules.Warning))))
	want(t, "effects when worse", effects(ch), nil)
	for _, c := range b.Tick(from.Add(30 * time.Minute)) {
		if c.Incident != nil && len(c.Effects) > 0 {
			t.Fatalf("told during the window: %+v", c.Effects)
		}
	}
	if next := b.Next(); next.Before(to) {
		t.Fatalf("Next = %v, before the window's end %v", next, to)
	}
	ch = only(t, b.Tick(to))
	if ch.Incident.ID != id || ch.Incident.Maintenance != "" {
		t.Fatalf("at the end: %+v", ch.Incident)
	}
	want(t, "events at the end", kinds(ch), []EventKind{EvMaintenanceEnded, EvEscalated})
	want(t, "effects at the end", effects(ch), []string{"changed!", "escalated!"})
}
