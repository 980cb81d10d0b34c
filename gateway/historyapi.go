package gateway

import (
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v5"
	"github.com/watchfloor/watchfloor/dashboard"
	"github.com/watchfloor/watchfloor/gateway/access"
	"github.com/watchfloor/watchfloor/gateway/config"
	"github.com/watchfloor/watchfloor/gateway/history"
	"github.com/watchfloor/watchfloor/rules"
	"github.com/watchfloor/watchfloor/samplers"
)

// The history API: GET /api/v1/history?path=P&path=Q&from=T&to=T&step=D
// (docs/api.md). Paths are cell patterns, as rules select cells; times
// are RFC 3339, Unix seconds, or durations before now ("-15m"); step,
// when given, folds each series into steps of min, max and last.

const (
	// maxPaths bounds the patterns one query may give.
	maxPaths = 50
	// maxSteps bounds the steps one series may be folded into.
	maxSteps = 11_000
	// futureSlack is how far past now a range may end: clocks differ.
	futureSlack = time.Minute
)

func (g *Gateway) historyRoutes(r *access.Router) {
	r.GET("/api/v1/history", access.View, g.getHistory, access.Scoped)
}

// historyQuery is a parsed history request.
type historyQuery struct {
	pats     []*rules.Pattern
	from, to int64 // Unix ms
	step     int64 // ms; 0: the raw points
}

// badRequest is a 400 with a reason.
func badRequest(format string, args ...any) error {
	return echo.NewHTTPError(http.StatusBadRequest, fmt.Sprintf(format, args...))
}

// parseHistoryQuery reads and checks a history request's parameters
// against now and the longest window kept.
func parseHistoryQuery(c *echo.Context, now time.Time, longest time.Duration) (historyQuery, error) {
	var q historyQuery
	qs := c.QueryParams()
	paths := qs["path"]
	switch {
	case len(paths) == 0:
		return q, badRequest("path: give at least one cell path or pattern, like path=*/*/cpu/cpu/*/utilisation")
	case len(paths) > maxPaths:
		return q, badRequest("path: %d given, at most %d", len(paths), maxPaths)
	}
	for _, p := range paths {
		pat, err := rules.ParsePattern(p)
		if err != nil {
			if err.Col > 0 {
				return q, badRequest("path %q: column %d: %s", p, err.Col, err.Msg)
			}
			return q, badRequest("path %q: %s", p, err.Msg)
		}
		q.pats = append(q.pats, pat)
	}
	to, err := parseTime(qs.Get("to"), now, now)
	if err != nil {
		return q, badRequest("to: %v", err)
	}
	from, err := parseTime(qs.Get("from"), now, to.Add(-min(longest, 15*time.Minute)))
	if err != nil {
		return q, badRequest("from: %v", err)
	}
	start := now.Add(-longest)
	switch {
	case from.After(to):
		return q, badRequest("the range is inverted: from %s is after to %s", from.UTC().Format(time.RFC3339Nano), to.UTC().Format(time.RFC3339Nano))
	case to.Before(start):
		return q, badRequest("the range ends at %s, before the history window (%s, from %s) begins: older history is in the time-series store remote_write sends to",
			to.UTC().Format(time.RFC3339Nano), longest, start.UTC().Format(time.RFC3339))
	case from.After(now.Add(futureSlack)):
		return q, badRequest("the range starts at %s, in the future", from.UTC().Format(time.RFC3339Nano))
	}
	q.from, q.to = from.UnixMilli(), to.UnixMilli()
	if s := qs.Get("step"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil || d < time.Millisecond {
			return q, badRequest("step: %q is not a duration of at least 1ms (like 1s or 1m)", s)
		}
		q.step = d.Milliseconds()
		if n := (q.to-q.from)/q.step + 1; n > maxSteps {
			return q, badRequest("step: %s folds the range into %d steps, more than %d: take a longer step", d, n, maxSteps)
		}
	}
	return q, nil
}

// parseTime reads a time: RFC 3339, Unix seconds (with a fraction), a
// duration relative to now ("-15m"), or "now". Empty is def.
func parseTime(s string, now, def time.Time) (time.Time, error) {
	switch {
	case s == "":
		return def, nil
	case s == "now":
		return now, nil
	case strings.HasPrefix(s, "-") || strings.HasPrefix(s, "+"):
		if d, err := time.ParseDuration(s); err == nil {
			return now.Add(d), nil
		}
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil && !math.IsInf(f, 0) && !math.IsNaN(f) && math.Abs(f) < 1e11 {
		sec, frac := math.Modf(f)
		return time.Unix(int64(sec), int64(frac*1e9)), nil
	}
	return time.Time{}, fmt.Errorf("%q is not a time: give RFC 3339 (2026-12-01T09:30:00Z), Unix seconds, or a duration before now (-15m)", s)
}

func (g *Gateway) getHistory(c *echo.Context) error {
	g.mu.RLock()
	maxSeries := g.cfg.History.MaxSeries
	g.mu.RUnlock()
	if maxSeries == 0 {
		maxSeries = config.DefaultMaxSeries // a configuration built in code
	}
	now := g.clock.Now()
	q, err := parseHistoryQuery(c, now, g.hist.Longest())
	if err != nil {
		return err
	}
	sc := access.IdentityOf(c).Scope
	views, err := g.hist.Read(history.Query{
		From: q.from, To: q.to, MaxSeries: maxSeries,
		View: func(p samplers.DataviewPath) bool { return g.mayMatch(q.pats, p) && g.inScope(sc, p) },
		Cell: func(p samplers.CellPath) bool { return matchAny(q.pats, p) },
	})
	if err != nil {
		return badRequest("%v", err)
	}
	return c.Blob(http.StatusOK, "application/json", encodeHistory(views, q))
}

func (g *Gateway) mayMatch(pats []*rules.Pattern, p samplers.DataviewPath) bool {
	for _, pat := range pats {
		if pat.MatchDataview(p) {
			return true
		}
	}
	return false
}

func matchAny(pats []*rules.Pattern, p samplers.CellPath) bool {
	for _, pat := range pats {
		if pat.MatchCell(p) {
			return true
		}
	}
	return false
}

// inScope reports whether a caller with scope sees the history of the
// dataview at p: its entity is in the tree and in the scope. History of
// an entity no longer configured is seen only by callers who see
// everything.
func (g *Gateway) inScope(sc access.Scope, p samplers.DataviewPath) bool {
	if sc.Whole() {
		return true
	}
	g.tree.mu.RLock()
	defer g.tree.mu.RUnlock()
	pn := g.tree.probes[p.Probe]
	if pn == nil {
		return false
	}
	for _, e := range pn.entities {
		if e.name == p.Entity {
			return sc.Contains(e.attrs)
		}
	}
	return false
}

// encodeHistory writes the answer by hand: a chart asks for thousands of
// points, and a point is two numbers.
//
//	{"from":"…","to":"…","step":"1s","series":[{"path":"…","start":"…",
//	 "sampled":"…","points":[[ms,v],…]} or "steps":[[ms,min,max,last],…]]}
//
// Values that JSON has no number for are strings ("NaN", "+Inf",
// "-Inf"); a cell that went is null from then until its next point.
func encodeHistory(views []history.ViewData, q historyQuery) []byte {
	// Sized once: about 24 bytes a point, three numbers a step.
	n, series := 0, 0
	for _, v := range views {
		series += len(v.Cells)
		for _, s := range v.Cells {
			n += len(s.Points)
		}
	}
	if q.step > 0 {
		n = min(n, series*int((q.to-q.from)/q.step+1)) * 3
	}
	b := make([]byte, 0, 512+128*series+24*n)
	b = append(b, `{"from":`...)
	b = strconv.AppendQuote(b, time.UnixMilli(q.from).UTC().Format(time.RFC3339Nano))
	b = append(b, `,"to":`...)
	b = strconv.AppendQuote(b, time.UnixMilli(q.to).UTC().Format(time.RFC3339Nano))
	if q.step > 0 {
		b = append(b, `,"step":`...)
		b = strconv.AppendQuote(b, (time.Duration(q.step) * time.Millisecond).String())
	}
	b = append(b, `,"series":[`...)
	first := true
	for _, v := range views {
		for _, s := range v.Cells {
			if !first {
				b = append(b, ',')
			}
			first = false
			b = append(b, `{"path":`...)
			b = dashboard.AppendJSONString(b, s.Path.String())
			b = append(b, `,"start":`...)
			b = strconv.AppendQuote(b, time.UnixMilli(s.Start).UTC().Format(time.RFC3339Nano))
			if v.Sampled != 0 {
				b = append(b, `,"sampled":`...)
				b = strconv.AppendQuote(b, time.UnixMilli(v.Sampled).UTC().Format(time.RFC3339Nano))
			}
			if q.step > 0 {
				b = append(b, `,"steps":[`...)
				for i, st := range history.Downsample(s.Points, q.from, q.to, q.step, v.Sampled) {
					if i > 0 {
						b = append(b, ',')
					}
					b = append(b, '[')
					b = strconv.AppendInt(b, st.T, 10)
					for _, x := range [3]float64{st.Min, st.Max, st.Last} {
						b = append(b, ',')
						b = appendValue(b, x)
					}
					b = append(b, ']')
				}
			} else {
				b = append(b, `,"points":[`...)
				for i, p := range s.Points {
					if i > 0 {
						b = append(b, ',')
					}
					b = append(b, '[')
					b = strconv.AppendInt(b, p.T, 10)
					b = append(b, ',')
					b = appendValue(b, p.V)
					b = append(b, ']')
				}
			}
			b = append(b, "]}"...)
		}
	}
	return append(b, "]}\n"...)
}

func appendValue(b []byte, x float64) []byte {
	switch {
	case rules.IsStale(x):
		return append(b, "null"...)
	case math.IsNaN(x):
		return append(b, `"NaN"`...)
	case math.IsInf(x, 1):
		return append(b, `"+Inf"`...)
	case math.IsInf(x, -1):
		return append(b, `"-Inf"`...)
	}
	return strconv.AppendFloat(b, x, 'g', -1, 64)
}
