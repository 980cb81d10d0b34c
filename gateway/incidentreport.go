package gateway

import (
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v5"
	"github.com/watchfloor/watchfloor/gateway/access"
	"github.com/watchfloor/watchfloor/gateway/history"
	"github.com/watchfloor/watchfloor/gateway/incident"
	"github.com/watchfloor/watchfloor/gateway/store"
	"github.com/watchfloor/watchfloor/rules"
	"github.com/watchfloor/watchfloor/samplers"
)

// reportLead is how long before an incident opened its report's values
// start, so they show what led up to it.
const reportLead = 5 * time.Minute

// maxReportPoints bounds the values a report lists per cell.
const maxReportPoints = 500

// reportJSON is an incident's report: what happened, for how long, what
// the client was told, and what the values did.
type reportJSON struct {
	Incident incident.Incident `json:"incident"`
	// Duration is from opening to resolution (or to now, if open).
	Duration string           `json:"duration"`
	Seconds  float64          `json:"seconds"`
	Impact   *incident.Impact `json:"impact,omitempty"`
	Report   incident.Report  `json:"report"`
	// Updates are the client updates recorded and the notices sent.
	Updates  []incident.Event `json:"updates"`
	Timeline []incident.Event `json:"timeline"`
	Cells    []reportCell     `json:"cells"`
}

// reportCell is an affected cell with its recorded values during the
// incident, from the history window.
type reportCell struct {
	Path   string        `json:"path"`
	Values []reportPoint `json:"values"`
	// Truncated: the window held more values than a report lists.
	Truncated bool `json:"truncated,omitempty"`
	// Held says why there are no values: the history window no longer
	// reaches back to the incident, or the cell is not numeric.
	Held string `json:"held,omitempty"`
}

type reportPoint struct {
	T string  `json:"t"`
	V float64 `json:"v"`
}

func (g *Gateway) incidentReport(c *echo.Context) error {
	inc, tl, err := g.visibleTimeline(c)
	if err != nil {
		return err
	}
	rep := g.report(inc, tl, g.clock.Now())
	switch f := c.QueryParam("format"); {
	case f == "md" || f == "markdown" || (f == "" && acceptsMarkdown(c.Request())):
		return c.Blob(http.StatusOK, "text/markdown; charset=utf-8", []byte(rep.markdown()))
	case f == "" || f == "json":
		return replyJSON(c, http.StatusOK, rep)
	default:
		return echo.NewHTTPError(http.StatusBadRequest, fmt.Sprintf("format: %q is not json or md", f))
	}
}

func acceptsMarkdown(r *http.Request) bool {
	return strings.Contains(r.Header.Get("Accept"), "text/markdown")
}

func (g *Gateway) report(inc incident.Incident, tl []incident.Event, now time.Time) reportJSON {
	end := now
	if !inc.Resolved.IsZero() {
		end = inc.Resolved
	}
	rep := reportJSON{Incident: inc, Duration: end.Sub(inc.Opened).Round(time.Second).String(), Seconds: end.Sub(inc.Opened).Seconds(),
		Impact: inc.Impact, Report: inc.Report, Updates: []incident.Event{}, Timeline: tl, Cells: []reportCell{}}
	if rep.Timeline == nil {
		rep.Timeline = []incident.Event{}
	}
	for _, e := range tl {
		if e.Kind == incident.EvUpdateRecorded || e.Kind == incident.EvNoticeSent {
			rep.Updates = append(rep.Updates, e)
		}
	}
	if strings.Count(inc.Path, "/") == 5 { // a cell's path, not a dataview's or a probe's
		rep.Cells = append(rep.Cells, g.reportValues(inc.Path, inc.Opened.Add(-reportLead), end))
	}
	return rep
}

// reportValues reads a cell's recorded values in [from, to].
func (g *Gateway) reportValues(path string, from, to time.Time) reportCell {
	out := reportCell{Path: path, Values: []reportPoint{}}
	cp, err := samplers.ParseCellPath(path)
	if err != nil {
		out.Held = "not a cell's path"
		return out
	}
	views, err := g.hist.Read(history.Query{From: from.UnixMilli(), To: to.UnixMilli(),
		View: func(p samplers.DataviewPath) bool { return p == cp.DataviewPath },
		Cell: func(p samplers.CellPath) bool { return p == cp }})
	if err != nil {
		out.Held = err.Error()
		return out
	}
	for _, v := range views {
		for _, s := range v.Cells {
			for _, p := range s.Points {
				if rules.IsStale(p.V) || math.IsNaN(p.V) {
					continue
				}
				if len(out.Values) == maxReportPoints {
					out.Truncated = true
					break
				}
				out.Values = append(out.Values, reportPoint{T: time.UnixMilli(p.T).UTC().Format(time.RFC3339Nano), V: p.V})
			}
		}
	}
	if len(out.Values) == 0 {
		out.Held = "no values recorded: the history window no longer reaches back to it, or the cell is not numeric"
	}
	return out
}

// markdown writes the report for people: a client's report and the
// desk's record.
func (r reportJSON) markdown() string {
	var b strings.Builder
	inc := r.Incident
	fmt.Fprintf(&b, "# %s: %s\n\n", inc.ID, mdLine(inc.Title))
	row := func(k, v string) {
		if v != "" {
			fmt.Fprintf(&b, "| %s | %s |\n", k, mdLine(v))
		}
	}
	b.WriteString("| | |\n|---|---|\n")
	row("State", string(inc.State))
	row("Severity", "peak "+inc.Peak.String()+", now "+inc.Severity.String())
	row("Opened", stamp(inc.Opened))
	row("Resolved", stamp(inc.Resolved))
	row("Closed", stamp(inc.Closed))
	row("Duration", r.Duration)
	row("Client", inc.Client)
	row("Entity", strings.TrimPrefix(inc.Probe+" / "+inc.Entity, " / "))
	row("Cell", inc.Path)
	row("Rule", inc.Rule)
	row("Raised by", inc.RaisedBy)
	row("Assigned to", inc.Assignee)
	if r.Impact != nil {
		row("Client impact", strings.TrimSpace(r.Impact.Description+" (marked "+stamp(r.Impact.At)+")"))
	} else {
		row("Client impact", "none recorded")
	}
	section := func(title, text string) {
		fmt.Fprintf(&b, "\n## %s\n\n", title)
		if strings.TrimSpace(text) == "" {
			b.WriteString("_Not yet written._\n")
			return
		}
		b.WriteString(strings.TrimSpace(text) + "\n")
	}
	section("Cause", r.Report.Cause)
	section("Remedy", r.Report.Remedy)
	section("Preventive actions", r.Report.Preventive)

	b.WriteString("\n## Client updates\n\n")
	if len(r.Updates) == 0 {
		b.WriteString("_None._\n")
	}
	for _, e := range r.Updates {
		fmt.Fprintf(&b, "- %s, %s: %s\n", stamp(e.Time), e.Who, mdLine(e.Text))
		if e.Notice != nil {
			fmt.Fprintf(&b, "  > **%s**  \n  > %s\n", mdLine(e.Notice.Subject), strings.ReplaceAll(strings.TrimSpace(e.Notice.Body), "\n", "\n  > "))
		}
	}
	for _, c := range r.Cells {
		fmt.Fprintf(&b, "\n## Values of %s\n\n", c.Path)
		if c.Held != "" {
			b.WriteString("_" + c.Held + "._\n")
			continue
		}
		b.WriteString("| time | value |\n|---|---:|\n")
		for _, p := range c.Values {
			fmt.Fprintf(&b, "| %s | %s |\n", p.T, strconv.FormatFloat(p.V, 'g', -1, 64))
		}
		if c.Truncated {
			fmt.Fprintf(&b, "\n_Only the first %d values are listed._\n", maxReportPoints)
		}
	}
	b.WriteString("\n## Timeline\n\n")
	for _, e := range r.Timeline {
		text := string(e.Kind)
		if e.Severity != rules.Undefined {
			text += " (" + e.Severity.String() + ")"
		}
		if e.Text != "" {
			text += ": " + e.Text
		}
		fmt.Fprintf(&b, "- %s %s — %s\n", stamp(e.Time), cmpOr(e.Who, "gateway"), mdLine(text))
	}
	return b.String()
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02 15:04:05Z")
}

// mdLine makes text safe on one line of a Markdown table or list.
func mdLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	return strings.NewReplacer("|", `\|`, "<", "&lt;", ">", "&gt;").Replace(s)
}

// handoverJSON is the shift-handover report.
type handoverJSON struct {
	Since string `json:"since"`
	Now   string `json:"now"`
	// Next is the end of the next shift, which expiring snoozes are
	// counted against.
	Next     string              `json:"nextShiftEnds"`
	Open     []incident.Incident `json:"open"`
	Resolved []incident.Incident `json:"resolved"`
	// MoreResolved: more were resolved since than a handover lists
	// (maxHandoverResolved); GET /api/v1/incidents pages through them.
	MoreResolved bool                `json:"moreResolved,omitempty"`
	Acked        []incident.Incident `json:"acknowledged"`
	Snoozes      []snoozeJSON        `json:"snoozes"`
	Expiring     []snoozeJSON        `json:"snoozesExpiringNextShift"`
	UpdatesDue   []incident.Incident `json:"clientUpdatesDue"`
	Notes        []store.Note        `json:"notes"`
}

// maxHandoverResolved bounds the resolved incidents a handover lists.
const maxHandoverResolved = store.MaxIncidentLimit

// shiftLength is how long the next shift is taken to be, for the
// handover's expiring snoozes, unless the query says (shift=8h).
const shiftLength = 8 * time.Hour

// handover reports, for the shift coming on: the open incidents, those
// resolved since, acknowledgements and snoozes (and which expire during
// the next shift), client updates due, and the notes the outgoing shift
// left.
func (g *Gateway) handover(c *echo.Context) error {
	now := g.clock.Now()
	since := now.Add(-shiftLength)
	if s := c.QueryParam("since"); s != "" {
		t, err := queryTime(s, "since")
		if err != nil {
			return err
		}
		since = t
	}
	shift := shiftLength
	if s := c.QueryParam("shift"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil || d <= 0 {
			return echo.NewHTTPError(http.StatusBadRequest, fmt.Sprintf("shift: %q is not a duration above 0 (like 8h)", s))
		}
		shift = d
	}
	sc := access.IdentityOf(c).Scope
	out := handoverJSON{Since: stamp(since), Now: stamp(now), Next: stamp(now.Add(shift)),
		Open: []incident.Incident{}, Resolved: []incident.Incident{}, Acked: []incident.Incident{}, Snoozes: []snoozeJSON{},
		Expiring: []snoozeJSON{}, UpdatesDue: []incident.Incident{}}
	live, cells := g.desk.liveIncidents(func(inc *incident.Incident) bool { return sees(sc, inc) })
	for _, inc := range live {
		if inc.State == incident.Open {
			out.Open = append(out.Open, inc)
			if inc.Ack != nil {
				out.Acked = append(out.Acked, inc)
			}
			if !inc.NextUpdate.IsZero() && inc.NextUpdate.Before(now.Add(shift)) {
				out.UpdatesDue = append(out.UpdatesDue, inc)
			}
		}
	}
	resolved, more, err := g.store.Incidents(store.IncidentQuery{States: []incident.State{incident.Resolved, incident.Closed},
		From: since, Limit: maxHandoverResolved})
	if err != nil {
		return g.incidentFail(c, err)
	}
	out.MoreResolved = more != ""
	for i := range resolved {
		if sees(sc, &resolved[i]) && !resolved[i].Resolved.Before(since) {
			out.Resolved = append(out.Resolved, resolved[i])
		}
	}
	add := func(s incident.Snooze) {
		j := snoozeJSON{Snooze: s, Expiring: s.Until.Before(now.Add(shift))}
		out.Snoozes = append(out.Snoozes, j)
		if j.Expiring {
			out.Expiring = append(out.Expiring, j)
		}
	}
	for _, s := range cells {
		if sc.Whole() || g.tree.entitySees(dataviewOf(s.Target), sc) {
			add(s)
		}
	}
	for _, inc := range live {
		if inc.Snooze != nil {
			add(*inc.Snooze)
		}
	}
	slices.SortFunc(out.Snoozes, func(a, b snoozeJSON) int { return a.Until.Compare(b.Until) })
	slices.SortFunc(out.Expiring, func(a, b snoozeJSON) int { return a.Until.Compare(b.Until) })
	if sc.Whole() {
		if out.Notes, err = g.store.Notes(since); err != nil {
			return g.incidentFail(c, err)
		}
	}
	if out.Notes == nil {
		out.Notes = []store.Note{}
	}
	return replyJSON(c, http.StatusOK, out)
}

// handoverNote stores a note from the outgoing shift for the next.
func (g *Gateway) handoverNote(c *echo.Context) error {
	var body struct {
		Text string `json:"text"`
	}
	if err := decodeBody(c, &body); err != nil {
		return err
	}
	if strings.TrimSpace(body.Text) == "" || len(body.Text) > maxIncidentBody {
		return echo.NewHTTPError(http.StatusUnprocessableEntity, "a note has text, at most 64 KiB")
	}
	now := g.clock.Now()
	n := store.Note{Time: now, Who: who(c), Text: body.Text}
	if err := g.store.PutNote(n, g.auditOf(c, store.AuditHandoverNote, "handover", clip(body.Text), now)); err != nil {
		return g.incidentFail(c, err)
	}
	return replyJSON(c, http.StatusCreated, n)
}
