package gateway

import (
	"context"
	"time"

	"github.com/watchfloor/watchfloor/gateway/incident"
	"github.com/watchfloor/watchfloor/gateway/maintenance"
	"github.com/watchfloor/watchfloor/gateway/store"
)

// What maintenance windows do, as time passes: at each instant a window
// starts or ends, and whenever the set of windows changes (the API, a
// reload), the gateway marks the entities in one on the tree (their
// severities still show, "in maintenance") and has the incident desk
// follow them — nothing opens, alerts or escalates during a window, and a
// cell still bad at its end opens its incident then (incident.Book).

// watchMaintenance follows the maintenance windows until ctx is done.
// Run owns it.
func (g *Gateway) watchMaintenance(ctx context.Context) {
	t := g.clock.NewTimer()
	defer t.Stop()
	for {
		now := g.clock.Now()
		set := g.maintenanceSet()
		g.markMaintenance(set, now)
		var retry <-chan time.Time
		if err := g.desk.followMaintenance(ctx); err != nil && ctx.Err() == nil {
			// The desk is not running yet, or could not store: again
			// shortly.
			retry = time.After(100 * time.Millisecond)
		}
		t.Stop()
		if next := set.NextChange(now); !next.IsZero() {
			// From the clock now: the desk may have taken a while.
			t.Reset(max(next.Sub(g.clock.Now()), 0))
		}
		select {
		case <-ctx.Done():
			return
		case <-g.maintenanceCh:
		case <-t.C():
		case <-retry:
		}
	}
}

// markMaintenance marks each entity of the tree with the window it is in
// at now, and tells the tree's watchers of the probes whose marks changed.
func (g *Gateway) markMaintenance(set *maintenance.Set, now time.Time) {
	var changed []string
	g.tree.mu.Lock()
	for _, p := range g.tree.sortedProbes() {
		touched := false
		for _, e := range p.entities {
			id := ""
			if set != nil {
				id, _ = set.Active(e.name, e.attrs, now)
			}
			if id != e.maintenance {
				e.maintenance, touched = id, true
			}
		}
		if touched {
			changed = append(changed, subtreeKeyPrefix+p.path)
		}
	}
	g.tree.mu.Unlock()
	if len(changed) > 0 {
		g.hub.Touch(treeTopic, changed...)
	}
}

// maintenanceCovering is the gateway's maintenance windows as the
// incident Book asks about them: always the set in force, so a window
// planned is followed from the next signal on.
type maintenanceCovering struct{ g *Gateway }

// Covering is incident.Maintenance's: the window covering the entity at t
// (the first by ID), and when it ends.
func (m maintenanceCovering) Covering(_, entity string, attrs map[string]string, t time.Time) (string, time.Time, bool) {
	set := m.g.maintenanceSet()
	if set == nil {
		return "", time.Time{}, false
	}
	id, ok := set.Active(entity, attrs, t)
	if !ok {
		return "", time.Time{}, false
	}
	var until time.Time
	if w, found := set.Window(id); found {
		if at, _, ok := w.Next(t); ok {
			until = at
		}
	}
	return id, until, true
}

// followMaintenance ticks the Book when a window starts or ends, or the
// windows change: an incident whose entity entered or left a window is
// told so, and the signals held by a window that ended open their
// incidents.
func (d *desk) followMaintenance(ctx context.Context) error {
	_, err := d.do(ctx, nil, func(b *incident.Book, now time.Time) ([]incident.Change, []store.Audit, error) {
		return b.Tick(now), nil, nil
	})
	return err
}
