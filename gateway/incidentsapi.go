package gateway

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v5"
	"github.com/watchfloor/watchfloor/gateway/access"
	"github.com/watchfloor/watchfloor/gateway/incident"
	"github.com/watchfloor/watchfloor/gateway/store"
	"github.com/watchfloor/watchfloor/rules"
	"github.com/watchfloor/watchfloor/samplers"
)

// maxIncidentBody bounds a request's body to the incidents API.
const maxIncidentBody = 64 << 10

func (g *Gateway) incidentRoutes(r *access.Router) {
	r.GET("/api/v1/incidents", access.View, g.listIncidents, access.Scoped)
	r.POST("/api/v1/incidents", access.RaiseIncident, g.raiseIncident, access.Scoped)
	r.GET("/api/v1/incidents/:id", access.View, g.getIncident, access.Scoped)
	r.GET("/api/v1/incidents/:id/report", access.ReadReports, g.incidentReport, access.Scoped)
	r.PUT("/api/v1/incidents/:id/report", access.ReadReports, g.editReport)
	r.POST("/api/v1/incidents/:id/ack", access.Acknowledge, g.ackIncident)
	r.POST("/api/v1/incidents/:id/unack", access.Acknowledge, g.unackIncident)
	r.POST("/api/v1/incidents/:id/assign", access.Assign, g.assignIncident)
	r.POST("/api/v1/incidents/:id/comments", access.Comment, g.commentIncident)
	r.POST("/api/v1/incidents/:id/snooze", access.Snooze, g.snoozeIncident)
	r.POST("/api/v1/incidents/:id/unsnooze", access.Snooze, g.unsnoozeIncident)
	r.POST("/api/v1/incidents/:id/impact", access.RecordClientUpdate, g.impactIncident)
	r.POST("/api/v1/incidents/:id/updates", access.RecordClientUpdate, g.recordUpdate)
	r.POST("/api/v1/incidents/:id/drafts/:kind", access.SendClientNotice, g.draftNotice)
	r.POST("/api/v1/incidents/:id/notices", access.SendClientNotice, g.sendNotice)
	r.POST("/api/v1/incidents/:id/resolve", access.ResolveIncidents, g.resolveIncident)
	r.POST("/api/v1/incidents/:id/close", access.ResolveIncidents, g.closeIncident)
	r.GET("/api/v1/snoozes", access.View, g.listSnoozes, access.Scoped)
	r.POST("/api/v1/snoozes", access.Snooze, g.snoozeCell)
	r.DELETE("/api/v1/snoozes", access.Snooze, g.unsnoozeCell)
	r.GET("/api/v1/handover", access.View, g.handover, access.Scoped)
	r.POST("/api/v1/handover/notes", access.Comment, g.handoverNote)
}

// decodeBody reads a JSON body of at most maxIncidentBody into v,
// refusing unknown fields. An empty body is an empty object.
func decodeBody(c *echo.Context, v any) error {
	req := c.Request()
	if req.ContentLength > maxIncidentBody {
		return echo.NewHTTPError(http.StatusRequestEntityTooLarge, fmt.Sprintf("the body is over %d KiB", maxIncidentBody>>10))
	}
	var buf bytes.Buffer
	n, err := buf.ReadFrom(http.MaxBytesReader(c.Response(), req.Body, maxIncidentBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return echo.NewHTTPError(http.StatusRequestEntityTooLarge, fmt.Sprintf("the body is over %d KiB", maxIncidentBody>>10))
		}
		return echo.NewHTTPError(http.StatusBadRequest, "read the body: "+err.Error())
	}
	if n == 0 {
		return nil
	}
	dec := json.NewDecoder(&buf)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return echo.NewHTTPError(http.StatusBadRequest, "the body is not the JSON this takes: "+err.Error())
	}
	if dec.More() {
		return echo.NewHTTPError(http.StatusBadRequest, "the body holds more than one JSON value")
	}
	return nil
}

// incidentFail answers an error of the desk or the store.
func (g *Gateway) incidentFail(c *echo.Context, err error) error {
	var he *echo.HTTPError
	switch {
	case errors.As(err, &he):
		return he
	case errors.Is(err, incident.ErrNotFound), errors.Is(err, store.ErrNotFound):
		return echo.NewHTTPError(http.StatusNotFound, err.Error())
	case errors.Is(err, incident.ErrState):
		return echo.NewHTTPError(http.StatusConflict, err.Error())
	case errors.Is(err, incident.ErrInvalid), errors.Is(err, store.ErrInvalid):
		return echo.NewHTTPError(http.StatusUnprocessableEntity, err.Error())
	case errors.Is(err, errDeskStopped):
		return echo.NewHTTPError(http.StatusServiceUnavailable, err.Error())
	}
	g.log.Error("incidents API", "err", err)
	return echo.NewHTTPError(http.StatusInternalServerError, err.Error())
}

// who is the name a change is recorded under.
func who(c *echo.Context) string { return ruleAuthor(c) }

// auditOf is the audit entry for a command on target by the caller.
func (g *Gateway) auditOf(c *echo.Context, action, target, detail string, now time.Time) store.Audit {
	id := access.IdentityOf(c)
	return store.Audit{Time: now, Who: who(c), Kind: id.Kind.String(), Source: c.RealIP(),
		Action: action, Target: target, OK: true, Detail: detail}
}

// incidentCmd runs fn on the incident named in the path, stores its
// change with an audit entry, and answers with the incident as stored.
func (g *Gateway) incidentCmd(c *echo.Context, action, detail string, fn func(b *incident.Book, id string, now time.Time) (incident.Change, error)) error {
	id := c.Param("id")
	changes, err := g.desk.do(c.Request().Context(), []string{id}, func(b *incident.Book, now time.Time) ([]incident.Change, []store.Audit, error) {
		ch, err := fn(b, id, now)
		if err != nil {
			return nil, nil, err
		}
		return []incident.Change{ch}, []store.Audit{g.auditOf(c, action, id, detail, now)}, nil
	})
	if err != nil {
		return g.incidentFail(c, err)
	}
	if len(changes) == 0 || changes[0].Incident == nil {
		// Nothing changed (assigned to whom it was): as it is.
		inc, err := g.store.Incident(id)
		if err != nil {
			return g.incidentFail(c, err)
		}
		return replyJSON(c, http.StatusOK, inc)
	}
	return replyJSON(c, http.StatusOK, changes[0].Incident)
}

type textBody struct {
	Comment string `json:"comment"`
}

func (g *Gateway) ackIncident(c *echo.Context) error {
	var body textBody
	if err := decodeBody(c, &body); err != nil {
		return err
	}
	return g.incidentCmd(c, store.AuditIncidentAck, body.Comment, func(b *incident.Book, id string, now time.Time) (incident.Change, error) {
		return b.Acknowledge(id, who(c), body.Comment, now)
	})
}

func (g *Gateway) unackIncident(c *echo.Context) error {
	var body textBody
	if err := decodeBody(c, &body); err != nil {
		return err
	}
	return g.incidentCmd(c, store.AuditIncidentUnack, body.Comment, func(b *incident.Book, id string, now time.Time) (incident.Change, error) {
		return b.Unacknowledge(id, who(c), body.Comment, now)
	})
}

func (g *Gateway) assignIncident(c *echo.Context) error {
	var body struct {
		To string `json:"to"`
	}
	if err := decodeBody(c, &body); err != nil {
		return err
	}
	return g.incidentCmd(c, store.AuditIncidentAssign, body.To, func(b *incident.Book, id string, now time.Time) (incident.Change, error) {
		return b.Assign(id, who(c), body.To, now)
	})
}

func (g *Gateway) commentIncident(c *echo.Context) error {
	var body struct {
		Text string `json:"text"`
	}
	if err := decodeBody(c, &body); err != nil {
		return err
	}
	return g.incidentCmd(c, store.AuditIncidentComment, clip(body.Text), func(b *incident.Book, id string, now time.Time) (incident.Change, error) {
		return b.Comment(id, who(c), body.Text, now)
	})
}

// clip shortens text for an audit entry's detail.
func clip(s string) string {
	if r := []rune(s); len(r) > 200 {
		return string(r[:199]) + "…"
	}
	return s
}

// snoozeBody is a snooze as the API takes it: for a duration or until a
// time, always with a reason.
type snoozeBody struct {
	Path        string `json:"path,omitempty"`
	Reason      string `json:"reason"`
	For         string `json:"for,omitempty"`
	Until       string `json:"until,omitempty"`
	UntilChange bool   `json:"untilChange,omitempty"`
}

func (s snoozeBody) spec(now time.Time) (incident.SnoozeSpec, error) {
	sp := incident.SnoozeSpec{Reason: s.Reason, UntilChange: s.UntilChange}
	switch {
	case s.For != "" && s.Until != "":
		return sp, echo.NewHTTPError(http.StatusBadRequest, "give for or until, not both")
	case s.For != "":
		d, err := time.ParseDuration(s.For)
		if err != nil {
			return sp, echo.NewHTTPError(http.StatusBadRequest, fmt.Sprintf("for: %q is not a duration (like 30m or 2h)", s.For))
		}
		sp.Until = now.Add(d)
	case s.Until != "":
		t, err := time.Parse(time.RFC3339, s.Until)
		if err != nil {
			return sp, echo.NewHTTPError(http.StatusBadRequest, fmt.Sprintf("until: %q is not an RFC 3339 time", s.Until))
		}
		sp.Until = t
	default:
		return sp, fmt.Errorf("%w: a snooze expires: give for (a duration) or until (a time)", incident.ErrInvalid)
	}
	return sp, nil
}

func (g *Gateway) snoozeIncident(c *echo.Context) error {
	var body snoozeBody
	if err := decodeBody(c, &body); err != nil {
		return err
	}
	return g.incidentCmd(c, store.AuditIncidentSnooze, clip(body.Reason), func(b *incident.Book, id string, now time.Time) (incident.Change, error) {
		sp, err := body.spec(now)
		if err != nil {
			return incident.Change{}, err
		}
		return b.Snooze(id, who(c), sp, now)
	})
}

func (g *Gateway) unsnoozeIncident(c *echo.Context) error {
	return g.incidentCmd(c, store.AuditIncidentUnsnooze, "", func(b *incident.Book, id string, now time.Time) (incident.Change, error) {
		return b.Unsnooze(id, who(c), now)
	})
}

func (g *Gateway) impactIncident(c *echo.Context) error {
	var body struct {
		Impacted    *bool  `json:"impacted"`
		Description string `json:"description"`
	}
	if err := decodeBody(c, &body); err != nil {
		return err
	}
	if body.Impacted == nil {
		return echo.NewHTTPError(http.StatusUnprocessableEntity, "say whether it impacts the client: impacted true or false")
	}
	return g.incidentCmd(c, store.AuditIncidentImpact, strconv.FormatBool(*body.Impacted), func(b *incident.Book, id string, now time.Time) (incident.Change, error) {
		return b.MarkImpact(id, who(c), *body.Impacted, body.Description, now)
	})
}

func (g *Gateway) recordUpdate(c *echo.Context) error {
	var body struct {
		Text string `json:"text"`
	}
	if err := decodeBody(c, &body); err != nil {
		return err
	}
	return g.incidentCmd(c, store.AuditIncidentUpdate, clip(body.Text), func(b *incident.Book, id string, now time.Time) (incident.Change, error) {
		return b.RecordUpdate(id, who(c), body.Text, now)
	})
}

func (g *Gateway) draftNotice(c *echo.Context) error {
	kind := incident.NoticeKind(c.Param("kind"))
	return g.incidentCmd(c, store.AuditIncidentNotice, "drafted "+string(kind), func(b *incident.Book, id string, now time.Time) (incident.Change, error) {
		return b.DraftNotice(id, who(c), kind, now)
	})
}

func (g *Gateway) sendNotice(c *echo.Context) error {
	var body struct {
		Kind    incident.NoticeKind `json:"kind"`
		Subject string              `json:"subject"`
		Body    string              `json:"body"`
		Via     *string             `json:"via"`
	}
	if err := decodeBody(c, &body); err != nil {
		return err
	}
	return g.incidentCmd(c, store.AuditIncidentNotice, "sent "+string(body.Kind), func(b *incident.Book, id string, now time.Time) (incident.Change, error) {
		n := incident.Notice{Kind: body.Kind, Subject: body.Subject, Body: body.Body}
		inc, _ := b.Get(id)
		n.Via = b.Policy().Clients[inc.Client].Via
		if body.Via != nil {
			n.Via = *body.Via
		}
		if n.Via != "" && !g.desk.hasAction(n.Via) {
			return incident.Change{}, fmt.Errorf("%w: no action %q sends notices", incident.ErrInvalid, n.Via)
		}
		return b.SendNotice(id, who(c), n, now)
	})
}

func (g *Gateway) resolveIncident(c *echo.Context) error {
	var body textBody
	if err := decodeBody(c, &body); err != nil {
		return err
	}
	return g.incidentCmd(c, store.AuditIncidentResolve, clip(body.Comment), func(b *incident.Book, id string, now time.Time) (incident.Change, error) {
		return b.Resolve(id, who(c), body.Comment, now)
	})
}

func (g *Gateway) closeIncident(c *echo.Context) error {
	var body textBody
	if err := decodeBody(c, &body); err != nil {
		return err
	}
	return g.incidentCmd(c, store.AuditIncidentClose, clip(body.Comment), func(b *incident.Book, id string, now time.Time) (incident.Change, error) {
		return b.Close(id, who(c), body.Comment, now)
	})
}

func (g *Gateway) editReport(c *echo.Context) error {
	var body incident.Report
	if err := decodeBody(c, &body); err != nil {
		return err
	}
	return g.incidentCmd(c, store.AuditIncidentReport, "", func(b *incident.Book, id string, now time.Time) (incident.Change, error) {
		return b.EditReport(id, who(c), body, now)
	})
}

// raiseBody is an incident a person raises: about a cell (path), an
// entity (probe and entity) or nothing.
type raiseBody struct {
	Title    string         `json:"title"`
	Text     string         `json:"text"`
	Path     string         `json:"path"`
	Probe    string         `json:"probe"`
	Entity   string         `json:"entity"`
	Client   string         `json:"client"`
	Severity rules.Severity `json:"severity"`
	Impact   bool           `json:"impact"`
}

// raiseIncident raises an incident. A scoped caller (a client) raises
// only about its own entities, or about none, and its incident is its
// own: its client is the caller's.
func (g *Gateway) raiseIncident(c *echo.Context) error {
	var body raiseBody
	if err := decodeBody(c, &body); err != nil {
		return err
	}
	sc := access.IdentityOf(c).Scope
	r := incident.Raise{Title: body.Title, Text: body.Text, Path: body.Path, Probe: body.Probe, Entity: body.Entity,
		Client: body.Client, Severity: body.Severity, Impact: body.Impact}
	if r.Path != "" {
		p, e := pathNames(r.Path)
		if (r.Probe != "" && r.Probe != p) || (r.Entity != "" && r.Entity != e) {
			return echo.NewHTTPError(http.StatusBadRequest, "the path names another probe or entity than probe and entity do")
		}
		r.Probe, r.Entity = p, e
	}
	if r.Entity != "" {
		attrs := g.tree.attrsOf(r.Probe, r.Entity)
		if attrs == nil || !sc.Contains(attrs) {
			return echo.NewHTTPError(http.StatusNotFound, fmt.Sprintf("no entity %s on probe %s", r.Entity, r.Probe))
		}
		r.Attrs = attrs
		if r.Client == "" {
			r.Client = attrs[rules.DefaultIncidentClient]
		}
	}
	switch {
	case !sc.Whole():
		// A scoped caller's incident is its own: its client is the one
		// its entity, or its scope, names, whatever the body says.
		if len(sc.Values) != 1 && r.Attrs == nil {
			return echo.NewHTTPError(http.StatusBadRequest, "name the entity it is about: your scope covers several "+sc.Attribute+"s")
		}
		if r.Attrs == nil {
			r.Attrs = map[string]string{sc.Attribute: sc.Values[0]}
		}
		r.Client = r.Attrs[rules.DefaultIncidentClient]
	case r.Attrs == nil && r.Client != "":
		// About no entity, for a client: the client's people see it.
		r.Attrs = map[string]string{rules.DefaultIncidentClient: r.Client}
	}
	changes, err := g.desk.do(c.Request().Context(), nil, func(b *incident.Book, now time.Time) ([]incident.Change, []store.Audit, error) {
		ch, err := b.Raise(r, who(c), now)
		if err != nil {
			return nil, nil, err
		}
		return []incident.Change{ch}, []store.Audit{g.auditOf(c, store.AuditIncidentRaise, ch.Incident.ID, clip(r.Title), now)}, nil
	})
	if err != nil {
		return g.incidentFail(c, err)
	}
	inc := changes[0].Incident
	c.Response().Header().Set("Location", "/api/v1/incidents/"+inc.ID)
	return replyJSON(c, http.StatusCreated, inc)
}

// sees reports whether a caller with scope sees the incident.
func sees(sc access.Scope, inc *incident.Incident) bool {
	return sc.Whole() || (inc.Attrs != nil && sc.Contains(inc.Attrs))
}

// incidentJSON is an incident as the API shows it, with its timeline
// when asked for one.
type incidentJSON struct {
	incident.Incident
	Timeline []incident.Event `json:"timeline,omitempty"`
}

// visibleTimeline reads the incident named in the path with its
// timeline: one that does not exist, or that the caller's scope does not
// see, is not found.
func (g *Gateway) visibleTimeline(c *echo.Context) (incident.Incident, []incident.Event, error) {
	id := c.Param("id")
	inc, tl, err := g.store.Timeline(id)
	switch {
	case errors.Is(err, store.ErrNotFound), err == nil && !sees(access.IdentityOf(c).Scope, &inc):
		return inc, nil, echo.NewHTTPError(http.StatusNotFound, "no incident "+id)
	case err != nil:
		return inc, nil, g.incidentFail(c, err)
	}
	return inc, tl, nil
}

func (g *Gateway) getIncident(c *echo.Context) error {
	inc, tl, err := g.visibleTimeline(c)
	if err != nil {
		return err
	}
	return replyJSON(c, http.StatusOK, incidentJSON{Incident: inc, Timeline: tl})
}

// listIncidents lists incidents, newest first, filtered by the query's
// state, severity, probe, entity, client, from, to and q (text), a page
// of limit at a time (cursor continues).
func (g *Gateway) listIncidents(c *echo.Context) error {
	q, err := incidentQuery(c)
	if err != nil {
		return err
	}
	list, next, err := g.visibleIncidents(q, access.IdentityOf(c).Scope)
	if err != nil {
		return g.incidentFail(c, err)
	}
	out := struct {
		Incidents []incident.Incident `json:"incidents"`
		Next      string              `json:"next,omitempty"`
	}{Incidents: list, Next: next}
	return replyJSON(c, http.StatusOK, out)
}

// visibleIncidents is a page of the incidents q selects that a caller
// with scope sees, and the cursor after it. A scoped caller's page is
// filled from as many of the store's pages as it takes, and its cursor is
// its own last incident: never one it does not see.
func (g *Gateway) visibleIncidents(q store.IncidentQuery, sc access.Scope) ([]incident.Incident, string, error) {
	if sc.Whole() {
		list, next, err := g.store.Incidents(q)
		if list == nil {
			list = []incident.Incident{}
		}
		return list, next, err
	}
	limit := q.Limit
	switch {
	case limit <= 0:
		limit = store.DefaultIncidentLimit
	case limit > store.MaxIncidentLimit:
		limit = store.MaxIncidentLimit
	}
	q.Limit = store.MaxIncidentLimit
	out := []incident.Incident{}
	for {
		list, next, err := g.store.Incidents(q)
		if err != nil {
			return nil, "", err
		}
		for i := range list {
			if !sees(sc, &list[i]) {
				continue
			}
			if len(out) == limit {
				return out, out[limit-1].ID, nil // there is one more
			}
			out = append(out, list[i])
		}
		if next == "" {
			return out, "", nil
		}
		q.Cursor = next
	}
}

func incidentQuery(c *echo.Context) (store.IncidentQuery, error) {
	p := c.Request().URL.Query()
	q := store.IncidentQuery{Probe: p.Get("probe"), Entity: p.Get("entity"), Client: p.Get("client"), Text: p.Get("q"), Cursor: p.Get("cursor")}
	for _, s := range p["state"] {
		for st := range strings.SplitSeq(s, ",") {
			switch incident.State(st) {
			case incident.Open, incident.Resolved, incident.Closed:
				q.States = append(q.States, incident.State(st))
			default:
				return q, echo.NewHTTPError(http.StatusBadRequest, fmt.Sprintf("state: %q is not open, resolved or closed", st))
			}
		}
	}
	if s := p.Get("severity"); s != "" {
		sev, err := rules.ParseSeverity(s)
		if err != nil {
			return q, echo.NewHTTPError(http.StatusBadRequest, "severity: "+err.Error())
		}
		q.Severity = sev
	}
	var err error
	if q.From, err = queryTime(p.Get("from"), "from"); err != nil {
		return q, err
	}
	if q.To, err = queryTime(p.Get("to"), "to"); err != nil {
		return q, err
	}
	if s := p.Get("limit"); s != "" {
		if q.Limit, err = strconv.Atoi(s); err != nil || q.Limit < 1 {
			return q, echo.NewHTTPError(http.StatusBadRequest, fmt.Sprintf("limit: %q is not a number above 0", s))
		}
	}
	return q, nil
}

// queryTime parses an RFC 3339 time from a query parameter ("" is zero).
func queryTime(s, name string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return t, echo.NewHTTPError(http.StatusBadRequest, fmt.Sprintf("%s: %q is not an RFC 3339 time (like 2026-12-01T09:00:00Z)", name, s))
	}
	return t, nil
}

// snoozeJSON is a snooze as listed, with whether it expires soon.
type snoozeJSON struct {
	incident.Snooze
	Expiring bool `json:"expiring"`
}

// listSnoozes lists every snooze, cells' and incidents', soonest to
// expire first; those expiring within the policy's warning are marked.
func (g *Gateway) listSnoozes(c *echo.Context) error {
	sc := access.IdentityOf(c).Scope
	now := g.clock.Now()
	warn := g.incidentPolicy().SnoozeWarning
	incs, cells := g.desk.liveIncidents(func(inc *incident.Incident) bool { return inc.Snooze != nil && sees(sc, inc) })
	out := struct {
		Snoozes []snoozeJSON `json:"snoozes"`
	}{Snoozes: []snoozeJSON{}}
	add := func(s incident.Snooze) {
		out.Snoozes = append(out.Snoozes, snoozeJSON{Snooze: s, Expiring: s.Until.Sub(now) <= warn})
	}
	for _, s := range cells {
		if sc.Whole() || g.tree.entitySees(dataviewOf(s.Target), sc) {
			add(s)
		}
	}
	for _, inc := range incs {
		add(*inc.Snooze)
	}
	return replyJSON(c, http.StatusOK, out)
}

// dataviewOf is the dataview path of a cell's path.
func dataviewOf(path string) string {
	segs := strings.Split(path, "/")
	if len(segs) < 4 {
		return path
	}
	return strings.Join(segs[:4], "/")
}

func (g *Gateway) snoozeCell(c *echo.Context) error {
	var body snoozeBody
	if err := decodeBody(c, &body); err != nil {
		return err
	}
	if _, err := samplers.ParseCellPath(body.Path); err != nil {
		return echo.NewHTTPError(http.StatusBadRequest, "path: "+err.Error())
	}
	sev := g.tree.cellSeverity(body.Path)
	changes, err := g.desk.do(c.Request().Context(), nil, func(b *incident.Book, now time.Time) ([]incident.Change, []store.Audit, error) {
		sp, err := body.spec(now)
		if err != nil {
			return nil, nil, err
		}
		cs, err := b.SnoozeCell(body.Path, sev, who(c), sp, now)
		if err != nil {
			return nil, nil, err
		}
		return cs, []store.Audit{g.auditOf(c, store.AuditCellSnooze, body.Path, clip(body.Reason), now)}, nil
	})
	if err != nil {
		return g.incidentFail(c, err)
	}
	return replyJSON(c, http.StatusOK, changes[0].Snooze)
}

func (g *Gateway) unsnoozeCell(c *echo.Context) error {
	path := c.QueryParam("path")
	_, err := g.desk.do(c.Request().Context(), nil, func(b *incident.Book, now time.Time) ([]incident.Change, []store.Audit, error) {
		cs, err := b.UnsnoozeCell(path, who(c), now)
		if err != nil {
			return nil, nil, err
		}
		return cs, []store.Audit{g.auditOf(c, store.AuditCellUnsnooze, path, "", now)}, nil
	})
	if err != nil {
		return g.incidentFail(c, err)
	}
	return c.NoContent(http.StatusNoContent)
}
