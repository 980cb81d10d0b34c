package gateway

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/labstack/echo/v5"
	"github.com/watchfloor/watchfloor/gateway/access"
	"github.com/watchfloor/watchfloor/gateway/maintenance"
	"github.com/watchfloor/watchfloor/gateway/store"
)

// Maintenance windows, the planning side: the configuration's windows and
// those planned through the API make one maintenance.Set, which the
// gateway holds and replaces whole on every change (an API write, a
// reload). What a window does to incidents and rules reads the set
// (maintenanceSet) and learns of a change from maintenanceCh.

func (g *Gateway) maintenanceRoutes(r *access.Router) {
	r.GET("/api/v1/maintenance", access.View, g.listMaintenance)
	r.POST("/api/v1/maintenance", access.MaintenanceWindows, g.planMaintenance)
	r.PUT("/api/v1/maintenance/:id", access.MaintenanceWindows, g.editMaintenance)
	r.DELETE("/api/v1/maintenance/:id", access.MaintenanceWindows, g.cancelMaintenance)
}

// maintenanceSet is the maintenance windows in force now: never nil once
// New has returned.
func (g *Gateway) maintenanceSet() *maintenance.Set { return g.maint.Load() }

// maintenanceChanged tells whoever watches maintenanceCh that the set
// changed. It never blocks: a signal already waiting says as much.
func (g *Gateway) maintenanceChanged() {
	select {
	case g.maintenanceCh <- struct{}{}:
	default:
	}
}

// rebuildMaintenance makes the set again from the configuration in force
// and the store's windows.
func (g *Gateway) rebuildMaintenance() error {
	g.maintenanceMu.Lock()
	defer g.maintenanceMu.Unlock()
	return g.rebuildMaintenanceLocked()
}

// rebuildMaintenanceLocked is rebuildMaintenance with maintenanceMu held.
// The configuration's windows come first, so an ID it shares with a
// stored window is the configuration's; a stored window that no longer
// compiles (a zone gone from the zone database) is left out, loudly.
func (g *Gateway) rebuildMaintenanceLocked() error {
	g.mu.RLock()
	cfg := g.cfg
	g.mu.RUnlock()
	stored, err := g.store.Maintenances()
	if err != nil {
		return fmt.Errorf("maintenance windows: %w", err)
	}
	ws := make([]*maintenance.Compiled, 0, len(cfg.Maintenance)+len(stored))
	for _, w := range cfg.Maintenance {
		c, err := maintenance.Compile(w)
		if err != nil {
			return fmt.Errorf("maintenance window %s: %w", w.ID, err)
		}
		ws = append(ws, c)
	}
	for _, w := range stored {
		c, err := maintenance.Compile(w)
		if err != nil {
			g.log.Error("a stored maintenance window is not in force", "id", w.ID, "err", err)
			continue
		}
		ws = append(ws, c)
	}
	for _, id := range maintenance.Shadowed(ws) {
		g.log.Warn("a maintenance window planned through the API has the id of one in the configuration, which is in force instead", "id", id)
	}
	g.maint.Store(maintenance.NewSet(ws))
	g.maintenanceChanged()
	return nil
}

// maintenanceJSON is a window as listed: with whether it is active now,
// and when that next changes (none if it never does).
type maintenanceJSON struct {
	maintenance.Window
	Active     bool      `json:"active"`
	NextChange time.Time `json:"nextChange,omitzero"`
}

// listMaintenance lists every window, by ID, on the gateway's clock.
func (g *Gateway) listMaintenance(c *echo.Context) error {
	now := g.clock.Now()
	set := g.maintenanceSet()
	out := struct {
		Windows []maintenanceJSON `json:"windows"`
	}{Windows: make([]maintenanceJSON, 0, set.Len())}
	for _, w := range set.Windows() {
		j := maintenanceJSON{Window: w.Window(), Active: w.Active(now)}
		if at, _, ok := w.Next(now); ok {
			j.NextChange = at.UTC()
		}
		out.Windows = append(out.Windows, j)
	}
	return replyJSON(c, http.StatusOK, out)
}

// windowBody is a window as the API takes it: who planned it, when, and
// its source are the gateway's to say.
type windowBody struct {
	ID       string              `json:"id"`
	Reason   string              `json:"reason"`
	Zone     string              `json:"zone"`
	Start    string              `json:"start"`
	End      string              `json:"end"`
	Days     []string            `json:"days"`
	From     string              `json:"from"`
	To       string              `json:"to"`
	Entities []string            `json:"entities"`
	Where    map[string][]string `json:"where"`
}

func (b windowBody) window() maintenance.Window {
	return maintenance.Window{ID: b.ID, Reason: b.Reason, Zone: b.Zone, Start: b.Start, End: b.End, Days: b.Days,
		From: b.From, To: b.To, Entities: b.Entities, Where: b.Where, Source: maintenance.SourceAPI}
}

// compileBody checks a window, answering 400 with every problem, each
// naming its field.
func compileBody(w maintenance.Window) error {
	_, err := maintenance.Compile(w)
	if err == nil {
		return nil
	}
	var msgs []string
	for _, fe := range maintenance.Fields(err) {
		msgs = append(msgs, fe.Error())
	}
	return echo.NewHTTPError(http.StatusBadRequest, strings.Join(msgs, "; "))
}

// maintenanceInConfig reports whether the configuration defines the
// window with the given ID.
func (g *Gateway) maintenanceInConfig(id string) bool {
	g.mu.RLock()
	defer g.mu.RUnlock()
	return slices.ContainsFunc(g.cfg.Maintenance, func(w maintenance.Window) bool { return w.ID == id })
}

// storedMaintenance returns the stored window with the given ID.
func (g *Gateway) storedMaintenance(id string) (maintenance.Window, bool, error) {
	ws, err := g.store.Maintenances()
	if err != nil {
		return maintenance.Window{}, false, err
	}
	i := slices.IndexFunc(ws, func(w maintenance.Window) bool { return w.ID == id })
	if i < 0 {
		return maintenance.Window{}, false, nil
	}
	return ws[i], true, nil
}

// maintenanceFail answers an error of the store.
func (g *Gateway) maintenanceFail(err error) error {
	var he *echo.HTTPError
	switch {
	case errors.As(err, &he):
		return he
	case errors.Is(err, store.ErrNotFound):
		return echo.NewHTTPError(http.StatusNotFound, err.Error())
	case errors.Is(err, store.ErrInvalid):
		return echo.NewHTTPError(http.StatusBadRequest, err.Error())
	}
	g.log.Error("maintenance API", "err", err)
	return echo.NewHTTPError(http.StatusInternalServerError, err.Error())
}

// maintenanceWrite stores a change with its audit entry and makes the set
// again, with maintenanceMu held. A failure to make the set after a write
// that succeeded leaves the old set in force until the next change; the
// write stands.
func (g *Gateway) maintenanceWrite(write func() error) error {
	if err := write(); err != nil {
		return g.maintenanceFail(err)
	}
	if err := g.rebuildMaintenanceLocked(); err != nil {
		g.log.Error("maintenance windows after a change", "err", err)
	}
	return nil
}

// planMaintenance plans a window: 201 with it, 400 for a bad one, 409
// for an ID taken.
func (g *Gateway) planMaintenance(c *echo.Context) error {
	var body windowBody
	if err := decodeBody(c, &body); err != nil {
		return err
	}
	now := g.clock.Now()
	w := body.window()
	w.PlannedBy, w.Planned = who(c), now.UTC()
	if err := compileBody(w); err != nil {
		return err
	}
	g.maintenanceMu.Lock()
	defer g.maintenanceMu.Unlock()
	if g.maintenanceInConfig(w.ID) {
		return echo.NewHTTPError(http.StatusConflict, fmt.Sprintf("maintenance window %q exists already, defined in the configuration", w.ID))
	}
	if _, exists, err := g.storedMaintenance(w.ID); err != nil {
		return g.maintenanceFail(err)
	} else if exists {
		return echo.NewHTTPError(http.StatusConflict, fmt.Sprintf("maintenance window %q exists already: edit it with PUT, or choose another id", w.ID))
	}
	err := g.maintenanceWrite(func() error {
		return g.store.PutMaintenance(w, g.auditOf(c, store.AuditMaintenancePlan, w.ID, clip(w.Reason), now))
	})
	if err != nil {
		return err
	}
	c.Response().Header().Set("Location", "/api/v1/maintenance/"+w.ID)
	return replyJSON(c, http.StatusCreated, w)
}

// existingMaintenance finds the stored window the path names, with
// maintenanceMu held: 409 for one the configuration defines, 404 for none.
func (g *Gateway) existingMaintenance(id string) (maintenance.Window, error) {
	if g.maintenanceInConfig(id) {
		return maintenance.Window{}, echo.NewHTTPError(http.StatusConflict,
			fmt.Sprintf("maintenance window %q is defined in the configuration: change it there, and reload", id))
	}
	old, ok, err := g.storedMaintenance(id)
	switch {
	case err != nil:
		return old, g.maintenanceFail(err)
	case !ok:
		return old, echo.NewHTTPError(http.StatusNotFound, fmt.Sprintf("no maintenance window %q", id))
	}
	return old, nil
}

// editMaintenance replaces a planned window with the body, keeping who
// planned it and when.
func (g *Gateway) editMaintenance(c *echo.Context) error {
	id := c.Param("id")
	var body windowBody
	if err := decodeBody(c, &body); err != nil {
		return err
	}
	g.maintenanceMu.Lock()
	defer g.maintenanceMu.Unlock()
	old, err := g.existingMaintenance(id)
	if err != nil {
		return err
	}
	if body.ID != "" && body.ID != id {
		return echo.NewHTTPError(http.StatusBadRequest, fmt.Sprintf("id: %q, but the path names %q; a window's id does not change", body.ID, id))
	}
	body.ID = id
	now := g.clock.Now()
	w := body.window()
	w.PlannedBy, w.Planned = old.PlannedBy, old.Planned
	w.UpdatedBy, w.Updated = who(c), now.UTC()
	if err := compileBody(w); err != nil {
		return err
	}
	err = g.maintenanceWrite(func() error {
		return g.store.PutMaintenance(w, g.auditOf(c, store.AuditMaintenanceEdit, id, clip(w.Reason), now))
	})
	if err != nil {
		return err
	}
	return replyJSON(c, http.StatusOK, w)
}

// cancelMaintenance deletes a planned window.
func (g *Gateway) cancelMaintenance(c *echo.Context) error {
	id := c.Param("id")
	g.maintenanceMu.Lock()
	defer g.maintenanceMu.Unlock()
	old, err := g.existingMaintenance(id)
	if err != nil {
		return err
	}
	now := g.clock.Now()
	err = g.maintenanceWrite(func() error {
		return g.store.DeleteMaintenance(id, g.auditOf(c, store.AuditMaintenanceCancel, id, clip(old.Reason), now))
	})
	if err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}
