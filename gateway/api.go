package gateway

import (
	"bytes"
	"encoding/json"
	"errors"
	"io/fs"
	"net/http"
	"net/http/pprof"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/VictoriaMetrics/metrics"
	"github.com/labstack/echo/v5"
	"github.com/watchfloor/watchfloor/assets"
	"github.com/watchfloor/watchfloor/gateway/access"
	"github.com/watchfloor/watchfloor/gateway/config"
	"github.com/watchfloor/watchfloor/rules"
	"github.com/watchfloor/watchfloor/samplers"
)

// routes builds the HTTP server. Every route is registered through the
// access router with the permission it needs; the guard runs first, for
// every request, and keeps out unknown host names and cross-site writes.
func (g *Gateway) routes() *echo.Echo {
	e := echo.New()
	e.Logger = g.log
	e.Pre(g.guard.Middleware)
	r := access.NewRouter(e, g.auth)
	g.router = r

	r.GET("/healthz", access.Public, func(c *echo.Context) error {
		return c.String(http.StatusOK, "ok\n")
	})
	r.GET("/metrics", access.ScrapeMetrics, func(c *echo.Context) error {
		var buf bytes.Buffer
		g.metrics.WritePrometheus(&buf)
		metrics.WriteProcessMetrics(&buf)
		return c.Blob(http.StatusOK, "text/plain; version=0.0.4; charset=utf-8", buf.Bytes())
	})
	r.GET(probePath, access.Probe, func(c *echo.Context) error {
		g.serveProbe(c.Response(), c.Request())
		return nil
	})
	r.GET("/ws/dashboard", access.View, func(c *echo.Context) error {
		g.hub.ServeHTTP(c.Response(), c.Request())
		return nil
	}, access.Scoped)
	r.GET("/api/v1/probes", access.View, g.listProbes, access.Scoped)
	r.GET("/api/v1/tree", access.View, g.getTree, access.Scoped)
	r.GET("/api/v1/dataviews", access.View, g.listDataviews, access.Scoped)
	r.GET("/api/v1/dataviews/*", access.View, g.getDataview, access.Scoped)
	r.POST("/api/v1/config/reload", access.ReloadConfig, g.reloadConfig)

	// Profiles for whoever investigates the gateway itself; they expose
	// internals.
	r.GET("/debug/pprof/profile", access.Debug, echo.WrapHandler(http.HandlerFunc(pprof.Profile)))
	r.GET("/debug/pprof/*", access.Debug, echo.WrapHandler(http.HandlerFunc(pprof.Index)))

	g.rulesRoutes(r)
	g.historyRoutes(r)
	g.incidentRoutes(r)
	g.maintenanceRoutes(r)
	g.dashboardRoutes(r)
	g.auth.Routes(r)
	// The web UI's files hold no data; what they show comes through the
	// scoped routes and socket above.
	r.GET("/*", access.View, staticFiles(assets.FS()), access.Scoped)
	return e
}

// staticFiles serves the web UI. A path that cannot name one of its files
// (not UTF-8, such as "/%ff" or an overlong "/%c0%ae", or not a valid file
// name) is not found, rather than an error from the file system.
func staticFiles(fsys fs.FS) echo.HandlerFunc {
	files := http.FileServerFS(fsys)
	return func(c *echo.Context) error {
		name := strings.TrimPrefix(c.Request().URL.Path, "/")
		if name == "" {
			name = "."
		}
		if !utf8.ValidString(name) || !fs.ValidPath(strings.TrimSuffix(name, "/")) {
			return echo.NewHTTPError(http.StatusNotFound, "not found")
		}
		files.ServeHTTP(c.Response(), c.Request())
		return nil
	}
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

// listProbes lists the configured probes the caller sees: with a scope,
// those running one of its entities.
func (g *Gateway) listProbes(c *echo.Context) error {
	sc := access.IdentityOf(c).Scope
	g.mu.RLock()
	nodes := make([]*probeNode, 0, len(g.actors))
	for _, p := range g.cfg.Probes {
		if h := g.actors[p.Name]; h != nil {
			nodes = append(nodes, h.a.node)
		}
	}
	g.mu.RUnlock()
	out := make([]probeJSON, 0, len(nodes))
	g.tree.mu.RLock()
	for _, n := range nodes {
		if visible(n, sc) {
			out = append(out, probeJSON{Name: n.name, Connected: n.connected.Load(), LastSeen: rfc3339(n.lastSeen.Load())})
		}
	}
	g.tree.mu.RUnlock()
	return c.JSON(http.StatusOK, out)
}

func (g *Gateway) getTree(c *echo.Context) error {
	return c.JSONBlob(http.StatusOK, encodeTree(g.tree, "", access.IdentityOf(c).Scope))
}

// sees reports whether a caller with scope sees dv.
func (g *Gateway) sees(sc access.Scope, dv *Dataview) bool {
	if sc.Whole() {
		return true
	}
	g.tree.mu.RLock()
	defer g.tree.mu.RUnlock()
	return sc.Contains(dv.sampler.entity.attrs)
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

// summarize describes dv. The caller holds the probe's read lock.
func summarize(dv *Dataview, typ string) dataviewSummary {
	return dataviewSummary{
		Path: dv.key, Probe: dv.path.Probe, Entity: dv.path.Entity, Sampler: dv.path.Sampler,
		Dataview: dv.path.Dataview, Type: typ, Stale: dv.staleNow, SampleTime: rfc3339(dv.sampleTime),
	}
}

// samplerType returns the type of dv's sampler.
func (g *Gateway) samplerType(dv *Dataview) string {
	g.tree.mu.RLock()
	defer g.tree.mu.RUnlock()
	return dv.sampler.typ
}

func (g *Gateway) listDataviews(c *echo.Context) error {
	sc := access.IdentityOf(c).Scope
	dvs := g.tree.list()
	out := make([]dataviewSummary, 0, len(dvs))
	for _, dv := range dvs {
		if !g.sees(sc, dv) {
			continue
		}
		typ := g.samplerType(dv)
		p := dv.sampler.entity.probe
		p.mu.RLock()
		out = append(out, summarize(dv, typ))
		p.mu.RUnlock()
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
	Rule       string   `json:"rule,omitempty"`
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
	out := cellJSON{Path: p.String(), Value: c.raw, Severity: c.sev.String(), Rule: c.ruleName(), LastChange: rfc3339(c.changed)}
	if c.isNum {
		n := c.num
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
	// Outside the caller's scope is not found, as if it did not exist.
	dv := g.tree.get(p.String())
	if dv == nil || !g.sees(access.IdentityOf(c).Scope, dv) {
		return echo.NewHTTPError(http.StatusNotFound, "no dataview "+p.String())
	}
	typ := g.samplerType(dv)
	probe := dv.sampler.entity.probe
	probe.mu.RLock()
	out := dataviewJSON{dataviewSummary: summarize(dv, typ)}
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
	probe.mu.RUnlock()
	return c.JSON(http.StatusOK, out)
}

func (g *Gateway) reloadConfig(c *echo.Context) error {
	err := g.reload()
	if !errors.Is(err, errNoConfigFile) {
		action, target, ok, detail := reloadAudit(g.opts.ConfigFile, err)
		g.auth.Record(c.Request(), action, target, detail, ok)
	}
	var cerrs config.Errors
	var rerrs rules.Errors
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
	case errors.As(err, &rerrs):
		msgs := make([]string, len(rerrs))
		for i, e := range rerrs {
			msgs[i] = e.Error()
		}
		return c.JSON(http.StatusUnprocessableEntity, map[string]any{"reloaded": false, "errors": msgs})
	default:
		return c.JSON(http.StatusUnprocessableEntity, map[string]any{"reloaded": false, "errors": []string{err.Error()}})
	}
}

// marshal encodes v, which the gateway builds itself: a failure is a bug.
func marshal(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic("gateway: encode " + err.Error())
	}
	return b
}

// Routes lists the routes the gateway serves and the permission each
// demands.
func (g *Gateway) Routes() []access.Route { return g.router.Routes() }
