package gateway

import (
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v5"
	"github.com/watchfloor/watchfloor/gateway/history"
	"github.com/watchfloor/watchfloor/rules"
	"github.com/watchfloor/watchfloor/samplers"
)

// The backtest: POST /api/v1/rules/backtest runs a candidate rule, sent
// as to validate or preview, over the history window, through the same
// evaluation as live judging (rules.Backtest), and answers with the
// severity transitions it would have made, per cell.

const (
	// maxBacktestSeries bounds the series one backtest replays.
	maxBacktestSeries = 20_000
	// maxBacktestList bounds the transitions a backtest lists.
	maxBacktestList     = 10_000
	defaultBacktestList = 1000
)

type backtestJSON struct {
	Rule string `json:"rule"`
	From string `json:"from"`
	To   string `json:"to"`
	// Cells is how many cells the rule judged in the recording.
	Cells int `json:"cells"`
	// Transitions counts every severity change; WouldOpen those from
	// below warning to warning or worse (each would open an incident);
	// Critical those into critical.
	Transitions int                `json:"transitions"`
	WouldOpen   int                `json:"wouldOpen"`
	Critical    int                `json:"critical"`
	ByCell      []backtestCellJSON `json:"byCell"`
	Truncated   bool               `json:"truncated"`
	Errors      []string           `json:"errors,omitempty"`
}

type backtestCellJSON struct {
	Path        string               `json:"path"`
	Transitions []backtestChangeJSON `json:"transitions"`
}

type backtestChangeJSON struct {
	Time  string `json:"time"`
	Old   string `json:"old"`
	New   string `json:"new"`
	Rule  string `json:"rule,omitempty"`
	Value string `json:"value"`
}

func (g *Gateway) backtestRuleAPI(c *echo.Context) error {
	limit := defaultBacktestList
	if q := c.QueryParam("limit"); q != "" {
		n, err := strconv.Atoi(q)
		if err != nil || n < 1 {
			return badRequest("limit: a number of transitions from 1 (at most %d)", maxBacktestList)
		}
		limit = min(n, maxBacktestList)
	}
	now := g.clock.Now()
	longest := g.hist.Longest()
	to, err := parseTime(c.QueryParam("to"), now, now)
	if err != nil {
		return badRequest("to: %v", err)
	}
	from, err := parseTime(c.QueryParam("from"), now, now.Add(-longest))
	if err != nil {
		return badRequest("from: %v", err)
	}
	start := now.Add(-longest)
	switch {
	case from.After(to):
		return badRequest("the range is inverted: from %s is after to %s", from.UTC().Format(time.RFC3339Nano), to.UTC().Format(time.RFC3339Nano))
	case to.Before(start):
		return badRequest("the range ends at %s, before the history window (%s, from %s) begins", to.UTC().Format(time.RFC3339Nano), longest, start.UTC().Format(time.RFC3339))
	case from.After(now.Add(futureSlack)):
		return badRequest("the range starts at %s, in the future", from.UTC().Format(time.RFC3339Nano))
	}
	// Nothing older than the window is recorded; nor anything after now,
	// and times far off would not fit Unix nanoseconds.
	if from.Before(start) {
		from = start
	}
	if end := now.Add(futureSlack); to.After(end) {
		to = end
	}
	def, err := g.decodeRule(c, "")
	if err != nil {
		return g.fail(c, err)
	}
	set, errs := rules.Compile([]rules.Def{def}, nil)
	if errs != nil {
		return g.fail(c, fromRuleErrors(errs, def.Name))
	}
	if k := set.Rules()[0].Kind(); k != rules.CellRule {
		return badRequest("a %s rule judges what the gateway sees live (staleness, absence, probes), which the history does not record; backtest replays cells' values, so give a rule with warning or critical conditions", k)
	}
	rec, err := g.recording(set, to.UnixMilli())
	if err != nil {
		return err
	}
	res := rules.Backtest(set, rec, rules.BacktestOptions{From: from.UnixNano(), To: to.UnixNano(), MaxTransitions: limit})
	out := backtestJSON{Rule: def.Name, From: from.UTC().Format(time.RFC3339Nano), To: to.UTC().Format(time.RFC3339Nano),
		Transitions: res.Total, Truncated: res.Total > len(res.Transitions), ByCell: []backtestCellJSON{}}
	for _, v := range rec.Dataviews {
		out.Cells += len(v.Cells)
	}
	at := map[samplers.CellPath]int{}
	for _, tr := range res.Transitions {
		i, ok := at[tr.Cell]
		if !ok {
			i = len(out.ByCell)
			at[tr.Cell] = i
			out.ByCell = append(out.ByCell, backtestCellJSON{Path: tr.Cell.String()})
		}
		out.ByCell[i].Transitions = append(out.ByCell[i].Transitions, backtestChangeJSON{
			Time: time.Unix(0, tr.Time).UTC().Format(time.RFC3339Nano), Old: tr.Old.String(), New: tr.New.String(), Rule: tr.Rule, Value: tr.Value})
	}
	out.WouldOpen, out.Critical = res.Opened, res.Critical
	for _, e := range res.Errors {
		out.Errors = append(out.Errors, e.Cell.String()+": rule "+e.Rule+": "+e.Err.Error())
	}
	return replyJSON(c, http.StatusOK, out)
}

// recording copies out of the history, up to to (Unix ms), every
// dataview with a cell the rule set selects, with all its cells (a rule
// may read a cell's row and headlines), and the text cells of its live
// dataview, which history does not record, at their current values.
func (g *Gateway) recording(set *rules.Set, to int64) (*rules.Recording, error) {
	ev := rules.NewEvaluator()
	attrsOf := map[samplers.DataviewPath]map[string]string{}
	views, err := g.hist.Read(history.Query{
		From: 0, To: to, Samples: true, WholeViews: true, MaxSeries: maxBacktestSeries,
		View: func(p samplers.DataviewPath) bool {
			attrs, ok := g.entityAttrs(p)
			attrsOf[p] = attrs
			return ok
		},
		Cell: func(p samplers.CellPath) bool {
			info := rules.CellInfo{Path: p.DataviewPath, Attrs: attrsOf[p.DataviewPath], Headline: p.Headline, Row: p.Row, Column: p.Column}
			return len(ev.Match(set, &info)) > 0
		},
	})
	if err != nil {
		return nil, echo.NewHTTPError(http.StatusBadRequest, "the rule selects too many cells to backtest: "+err.Error())
	}
	rec := &rules.Recording{Dataviews: make([]rules.RecordedView, 0, len(views))}
	for _, v := range views {
		rv := rules.RecordedView{Path: v.Path, Attrs: attrsOf[v.Path], Samples: make([]int64, len(v.Samples))}
		for i, t := range v.Samples {
			rv.Samples[i] = t * 1e6
		}
		numeric := map[samplers.CellPath]bool{}
		for _, c := range v.Cells {
			numeric[c.Path] = true
			rc := rules.RecordedCell{Headline: c.Path.Headline, Row: c.Path.Row, Column: c.Path.Column, Points: make([]rules.Point, len(c.Points))}
			for i, p := range c.Points {
				rc.Points[i] = rules.Point{T: p.T * 1e6, V: p.V}
			}
			rv.Cells = append(rv.Cells, rc)
		}
		rv.Cells = append(rv.Cells, g.textCells(v.Path, numeric)...)
		rec.Dataviews = append(rec.Dataviews, rv)
	}
	return rec, nil
}

// entityAttrs returns the attributes of the entity of the dataview at p,
// if it is configured.
func (g *Gateway) entityAttrs(p samplers.DataviewPath) (map[string]string, bool) {
	g.tree.mu.RLock()
	defer g.tree.mu.RUnlock()
	if pn := g.tree.probes[p.Probe]; pn != nil {
		for _, e := range pn.entities {
			if e.name == p.Entity {
				return e.attrs, true
			}
		}
	}
	return nil, false
}

// textCells returns the cells of the live dataview at p that hold text
// (and so have no history), at their current values, leaving out those
// in numeric.
func (g *Gateway) textCells(p samplers.DataviewPath, numeric map[samplers.CellPath]bool) []rules.RecordedCell {
	dv := g.tree.get(p.String())
	if dv == nil {
		return nil
	}
	var out []rules.RecordedCell
	probe := dv.sampler.entity.probe
	probe.mu.RLock()
	defer probe.mu.RUnlock()
	for i, name := range dv.headlines {
		if c := &dv.head[i]; !c.isNum && !numeric[p.HeadlineCell(name)] {
			out = append(out, rules.RecordedCell{Headline: true, Column: name, Text: c.raw})
		}
	}
	for _, r := range dv.rows {
		if r == nil {
			continue
		}
		for i, col := range dv.columns {
			if c := &r.cells[i]; !c.isNum && !numeric[p.Cell(r.name, col)] {
				out = append(out, rules.RecordedCell{Row: r.name, Column: col, Text: c.raw})
			}
		}
	}
	return out
}
