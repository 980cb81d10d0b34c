package gateway

import (
	"bytes"
	"errors"
	"net/http"
	"net/http/pprof"
	"strings"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/labstack/echo/v5"
	"github.com/watchfloor/watchfloor/assets"
	"github.com/watchfloor/watchfloor/gateway/config"
	"github.com/watchfloor/watchfloor/samplers"
)

// Role is what a caller may do. Every route is registered with the role it
// needs; a request to a route registered without one is denied.
type Role int

// Roles, from least to most privileged.
const (
	// RolePublic needs no identity: health checks and metrics scrapes.
	RolePublic Role = iota
	// RoleProbe is for netprobes, which authenticate with their token in
	// the handler itself.
	RoleProbe
	// RoleViewer may watch: the dashboard and read-only API.
	RoleViewer
	// RoleOperator may act on incidents (a later issue adds such routes).
	RoleOperator
	// RoleAdmin may change configuration.
	RoleAdmin
)

func (r Role) String() string {
	return [...]string{"public", "probe", "viewer", "operator", "admin"}[r]
}

// callerRole is the role of the person behind a request. Until users and
// sessions exist there is one role, admin, for everyone who can reach the
// gateway; demo mode reaches only loopback, and a non-loopback listener
// needs TLS or an explicit opt-out.
func callerRole(*http.Request) Role { return RoleAdmin }

func routeKey(method, path string) string { return method + " " + path }

// route registers a handler with the role it needs.
func (g *Gateway) route(e *echo.Echo, method, path string, role Role, h echo.HandlerFunc) {
	g.roles[routeKey(method, path)] = role
	e.Add(method, path, h)
}

// authorize denies a request whose route was not registered with a role, or
// whose caller lacks it. Unmatched paths fall through to echo's 404/405.
func (g *Gateway) authorize(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c *echo.Context) error {
		ri := c.RouteInfo()
		if ri.Path == "" {
			return next(c)
		}
		need, ok := g.roles[routeKey(ri.Method, ri.Path)]
		if !ok {
			return echo.NewHTTPError(http.StatusForbidden, "route has no role; denied")
		}
		if need > RoleProbe && callerRole(c.Request()) < need {
			return echo.NewHTTPError(http.StatusForbidden, "needs role "+need.String())
		}
		return next(c)
	}
}

func (g *Gateway) routes() *echo.Echo {
	e := echo.New()
	e.Logger = g.log
	g.roles = make(map[string]Role)
	e.Use(g.authorize)

	g.route(e, http.MethodGet, "/healthz", RolePublic, func(c *echo.Context) error {
		return c.String(http.StatusOK, "ok\n")
	})
	g.route(e, http.MethodGet, "/metrics", RolePublic, func(c *echo.Context) error {
		var buf bytes.Buffer
		g.metrics.WritePrometheus(&buf)
		metrics.WriteProcessMetrics(&buf)
		return c.Blob(http.StatusOK, "text/plain; version=0.0.4; charset=utf-8", buf.Bytes())
	})
	g.route(e, http.MethodGet, "/ws/probe", RoleProbe, func(c *echo.Context) error {
		g.serveProbe(c.Response(), c.Request())
		return nil
	})
	g.route(e, http.MethodGet, "/ws/dashboard", RoleViewer, func(c *echo.Context) error {
		g.hub.ServeHTTP(c.Response(), c.Request())
		return nil
	})
	g.route(e, http.MethodGet, "/api/v1/probes", RoleViewer, g.listProbes)
	g.route(e, http.MethodGet, "/api/v1/dataviews", RoleViewer, g.listDataviews)
	g.route(e, http.MethodGet, "/api/v1/dataviews/*", RoleViewer, g.getDataview)
	g.route(e, http.MethodPost, "/api/v1/config/reload", RoleAdmin, g.reloadConfig)

	// Profiles for whoever investigates the gateway itself; they expose
	// internals, so only admins get them.
	g.route(e, http.MethodGet, "/debug/pprof/profile", RoleAdmin, echo.WrapHandler(http.HandlerFunc(pprof.Profile)))
	g.route(e, http.MethodGet, "/debug/pprof/*", RoleAdmin, echo.WrapHandler(http.HandlerFunc(pprof.Index)))

	static := http.FileServerFS(assets.FS())
	g.route(e, http.MethodGet, "/*", RoleViewer, func(c *echo.Context) error {
		static.ServeHTTP(c.Response(), c.Request())
		return nil
	})
	return e
}

type probeJSON struct {
	Name      string `json:"name"`
	Connected bool   `json:"connected"`
	LastSeen  string `json:"lastSeen"`
}

func rfc3339(ns int64) string {
	if ns == 0 {
		return ""
	}
	return time.Unix(0, ns).UTC().Format(time.RFC3339Nano)
}

func (g *Gateway) listProbes(c *echo.Context) error {
	g.mu.RLock()
	out := make([]probeJSON, 0, len(g.actors))
	for _, p := range g.cfg.Probes {
		if h := g.actors[p.Name]; h != nil {
			out = append(out, probeJSON{Name: p.Name, Connected: h.a.connected.Load(), LastSeen: rfc3339(h.a.lastSeen.Load())})
		}
	}
	g.mu.RUnlock()
	return c.JSON(http.StatusOK, out)
}

type dataviewSummary struct {
	Path       string `json:"path"`
	Probe      string `json:"probe"`
	Entity     string `json:"entity"`
	Sampler    string `json:"sampler"`
	Dataview   string `json:"dataview"`
	Type       string `json:"type"`
	Stale      bool   `json:"stale"`
	SampleTime string `json:"sampleTime"`
}

func summarize(dv *Dataview) dataviewSummary {
	dv.mu.RLock()
	defer dv.mu.RUnlock()
	return dataviewSummary{
		Path: dv.key, Probe: dv.path.Probe, Entity: dv.path.Entity, Sampler: dv.path.Sampler,
		Dataview: dv.path.Dataview, Type: dv.typ, Stale: dv.stale, SampleTime: rfc3339(dv.sampleTime),
	}
}

func (g *Gateway) listDataviews(c *echo.Context) error {
	dvs := g.tree.list()
	out := make([]dataviewSummary, len(dvs))
	for i, dv := range dvs {
		out[i] = summarize(dv)
	}
	return c.JSON(http.StatusOK, out)
}

type cellJSON struct {
	Path       string   `json:"path"`
	Column     string   `json:"column,omitempty"`
	Name       string   `json:"name,omitempty"`
	Value      string   `json:"value"`
	Number     *float64 `json:"number,omitempty"`
	Severity   string   `json:"severity"`
	LastChange string   `json:"lastChange"`
}

type rowJSON struct {
	Name  string     `json:"name"`
	Cells []cellJSON `json:"cells"`
}

type dataviewJSON struct {
	dataviewSummary
	Columns   []string   `json:"columns"`
	Rows      []rowJSON  `json:"rows"`
	Headlines []cellJSON `json:"headlines"`
}

func toCellJSON(p samplers.CellPath, c *cellState) cellJSON {
	out := cellJSON{Path: p.String(), Value: c.val.Raw, Severity: c.sev.String(), LastChange: rfc3339(c.changed)}
	if c.val.IsNum {
		n := c.val.Num
		out.Number = &n
	}
	return out
}

// getDataview serves one dataview by its path. The path is taken from the
// request's escaped form, so "%2F" inside a segment stays in its segment.
func (g *Gateway) getDataview(c *echo.Context) error {
	raw := strings.TrimPrefix(c.Request().URL.EscapedPath(), "/api/v1/dataviews/")
	p, err := samplers.ParseDataviewPath(raw)
	if err != nil {
		return echo.NewHTTPError(http.StatusBadRequest, err.Error())
	}
	dv := g.tree.get(p.String())
	if dv == nil {
		return echo.NewHTTPError(http.StatusNotFound, "no dataview "+p.String())
	}
	out := dataviewJSON{dataviewSummary: summarize(dv)}
	dv.mu.RLock()
	out.Columns = append([]string{}, dv.columns...)
	out.Rows = make([]rowJSON, 0, dv.live)
	for _, r := range dv.rows {
		if r == nil {
			continue
		}
		row := rowJSON{Name: r.name, Cells: make([]cellJSON, len(r.cells))}
		for i := range r.cells {
			row.Cells[i] = toCellJSON(dv.path.Cell(r.name, dv.columns[i]), &r.cells[i])
			row.Cells[i].Column = dv.columns[i]
		}
		out.Rows = append(out.Rows, row)
	}
	out.Headlines = make([]cellJSON, len(dv.headlines))
	for i, name := range dv.headlines {
		out.Headlines[i] = toCellJSON(dv.path.HeadlineCell(name), &dv.head[i])
		out.Headlines[i].Name = name
	}
	dv.mu.RUnlock()
	return c.JSON(http.StatusOK, out)
}

func (g *Gateway) reloadConfig(c *echo.Context) error {
	err := g.Reload()
	var cerrs config.Errors
	switch {
	case err == nil:
		return c.JSON(http.StatusOK, map[string]any{"reloaded": true})
	case errors.Is(err, errNoConfigFile):
		return echo.NewHTTPError(http.StatusConflict, err.Error())
	case errors.As(err, &cerrs):
		msgs := make([]string, len(cerrs))
		for i, e := range cerrs {
			msgs[i] = e.Error()
		}
		return c.JSON(http.StatusUnprocessableEntity, map[string]any{"reloaded": false, "errors": msgs})
	default:
		return c.JSON(http.StatusUnprocessableEntity, map[string]any{"reloaded": false, "errors": []string{err.Error()}})
	}
}
