package gateway

import (
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/watchfloor/watchfloor/rules"
	"github.com/watchfloor/watchfloor/samplers"
)

// ruleSet is where the gateway's rules come from — the configuration
// file's and those authored through the API — and the compiled set the
// actors evaluate.
type ruleSet struct {
	// mu is held by whoever changes the rule set, from compiling it to
	// installing it: a reload, or an API request, which stores its change
	// in between. Lock order: mu before reloadMu.
	mu sync.Mutex
	// Guarded by mu.
	config []rules.Def // the configuration file's, read-only through the API
	api    []rules.Def // the API-authored ones, as stored

	cur atomic.Pointer[rules.Set]
}

// current returns the set in force.
func (rs *ruleSet) current() *rules.Set { return rs.cur.Load() }

// compileRules compiles the configuration's rules and the API's together,
// as the set that follows the current one: names are unique across both,
// and a rule unchanged from the current set keeps its state in every
// cell. The caller holds g.rules.mu.
func (g *Gateway) compileRules(config, api []rules.Def) (*rules.Set, rules.Errors) {
	names := make(map[string]bool, len(config))
	for _, d := range config {
		names[d.Name] = true
	}
	var errs rules.Errors
	for i, d := range api {
		if names[d.Name] {
			errs = append(errs, &rules.Error{Rule: len(config) + i, Name: d.Name, Field: "name",
				Msg: "the configuration file has a rule of this name too: rename one of them (the API's can be copied to a new name and deleted)"})
		}
	}
	if errs != nil {
		return nil, errs
	}
	all := make([]rules.Def, 0, len(config)+len(api))
	all = append(append(all, config...), api...)
	return rules.Compile(all, g.rules.current())
}

// initRules compiles the first rule set, from the configuration's rules
// and the API's as stored, before anything runs.
func (g *Gateway) initRules(config, api []rules.Def) error {
	g.rules.mu.Lock()
	defer g.rules.mu.Unlock()
	set, errs := g.compileRules(config, api)
	if errs != nil {
		return fmt.Errorf("gateway: rules: %w", errs)
	}
	g.rules.config, g.rules.api = config, api
	g.rules.cur.Store(set)
	g.desk.refreshEvery(set)
	return nil
}

// installRules makes set the rule set in force and has every actor judge
// its probe's cells by it, returning once they all have: when an API
// request that changed a rule is answered, every cell is judged by the
// change. The caller holds g.rules.mu.
func (g *Gateway) installRules(set *rules.Set) {
	g.rules.cur.Store(set)
	g.desk.refreshEvery(set)
	g.forgetRuleErrors(set)
	g.mu.RLock()
	actors := make([]*probeActor, 0, len(g.actors)+1)
	for _, h := range g.actors {
		actors = append(actors, h.a)
	}
	if g.self != nil {
		actors = append(actors, g.self)
	}
	ctx := g.ctx
	g.mu.RUnlock()
	if ctx == nil {
		return // not running yet: actors start with the set in force
	}
	dones := make([]chan struct{}, len(actors))
	for i, a := range actors {
		dones[i] = make(chan struct{})
		if !a.send(ctx, event{kind: evRules, rules: set, done: dones[i]}) {
			close(dones[i]) // stopped: nothing to judge
		}
	}
	for i, done := range dones {
		select {
		case <-done:
		case <-actors[i].stopped:
		case <-ctx.Done():
			return
		}
	}
}

// PreviewItem is what a rule would say of one cell, dataview or probe now.
type PreviewItem struct {
	Path     string `json:"path"`
	Value    string `json:"value,omitempty"`
	Severity string `json:"severity"`
	// Pending: a level's condition holds, but not yet for its `for`.
	Pending bool   `json:"pending,omitempty"`
	Reason  string `json:"reason,omitempty"`
}

// previewRule judges the live tree by one rule alone, as if it had just
// been added: which cells (dataviews, probes) it matches and the severity
// each would get now. It returns at most limit items and how many there
// are in all.
func (g *Gateway) previewRule(def rules.Def, limit int) ([]PreviewItem, int, rules.Errors) {
	set, errs := rules.Compile([]rules.Def{def}, nil)
	if errs != nil {
		return nil, 0, errs
	}
	r := set.Rules()[0]
	now := g.clock.Now()
	var items []PreviewItem
	total := 0
	add := func(it PreviewItem) {
		total++
		if len(items) < limit {
			items = append(items, it)
		}
	}
	if r.Kind() == rules.ProbeRule {
		g.mu.RLock()
		names := make([]string, 0, len(g.actors))
		starts := make(map[string]*probeActor, len(g.actors))
		for name, h := range g.actors {
			names = append(names, name)
			starts[name] = h.a // its node, and started, set before it runs
		}
		g.mu.RUnlock()
		slices.Sort(names)
		for _, name := range names {
			if len(set.Probe(name)) == 0 {
				continue
			}
			p := starts[name].node
			it := PreviewItem{Path: p.path, Severity: rules.OK.String()}
			if !p.connected.Load() {
				since := time.Unix(0, p.since.Load())
				if p.since.Load() == 0 {
					since = time.Unix(0, starts[name].started) // never connected: down since its actor began
				}
				if down := now.Sub(since); down >= r.ProbeDown() {
					it.Severity, it.Reason = r.Severity().String(), "down for "+down.Round(time.Second).String()
				} else {
					it.Pending, it.Reason = true, "down for "+down.Round(time.Second).String()
				}
			}
			add(it)
		}
		return items, total, nil
	}
	ev := rules.NewEvaluator()
	cal := g.calendars.Load()
	for _, dv := range g.tree.list() {
		g.tree.mu.RLock()
		attrs := dv.sampler.entity.attrs
		g.tree.mu.RUnlock()
		p := dv.sampler.entity.probe
		p.mu.RLock()
		switch r.Kind() {
		case rules.StaleRule, rules.AbsenceRule:
			if on, _ := r.ActiveAt(cal, attrs, now.UnixNano()); !on {
				// Outside its phases or schedules it finds nothing, as
				// the actor's.
				add(PreviewItem{Path: dv.key, Severity: rules.OK.String(), Reason: "not active now (its phases or schedules)"})
				break
			}
			stale, absent := set.Dataview(dv.path, attrs)
			if len(stale) > 0 {
				it := PreviewItem{Path: dv.key, Severity: rules.OK.String()}
				age := now.Sub(time.Unix(0, dv.sampledAt)) // by the gateway's clock, as the actor counts
				if p.connected.Load() && dv.sampledAt != 0 && age >= r.Stale() {
					it.Severity, it.Reason = r.Severity().String(), "not sampled for "+age.Round(time.Second).String()
				}
				add(it)
			}
			if len(absent) > 0 {
				for _, row := range r.Rows() {
					it := PreviewItem{Path: dv.path.Cell(row, "").String(), Severity: rules.OK.String()}
					if _, ok := dv.rowIndex[row]; !ok {
						// Missing since the actor saw it go, if a rule of
						// the set in force expects it too; else from now.
						since := now
						if ns, ok := dv.missing[row]; ok {
							since = time.Unix(0, ns)
						}
						it.Reason = "row missing for " + now.Sub(since).Round(time.Second).String()
						if now.Sub(since) >= r.For() {
							it.Severity = r.Severity().String()
						} else {
							it.Pending = true
						}
					}
					add(it)
				}
			}
		default:
			in := judgeInput{dv: dv, now: now.UnixNano(), attrs: attrs, cal: cal, apart: true}
			dv.cells(func(row *rowState, col int, c *cellState) {
				info := in.info(row, col)
				m := ev.Match(set, &info)
				if len(m) == 0 {
					return
				}
				var cs rules.CellState
				cs.Bind(m)
				v := ev.Judge(&cs, in.input(row, c))
				add(PreviewItem{Path: info.Path.Cell(info.Row, info.Column).String(), Value: c.raw,
					Severity: v.Severity.String(), Pending: v.Pending})
			})
		}
		p.mu.RUnlock()
	}
	return items, total, nil
}

// judgeInput builds the rules' view of the cells of one dataview. The
// caller holds the probe's lock.
type judgeInput struct {
	dv    *Dataview
	now   int64
	attrs map[string]string
	cal   *calendarIndex
	dvCal dataviewCalendar
	// apart: judged apart from the actor (a preview), which must not
	// touch what the actor keeps on the dataview.
	apart bool
	row   rowCells
	head  headCells
	in    rules.Input
}

// info places a cell of the dataview (a headline when row is nil).
func (j *judgeInput) info(row *rowState, col int) rules.CellInfo {
	info := rules.CellInfo{Path: j.dv.path, Attrs: j.attrs}
	if row == nil {
		info.Headline, info.Column = true, j.dv.headlines[col]
	} else {
		info.Row, info.Column = row.name, j.dv.columns[col]
	}
	return info
}

// input returns the input for judging c, a cell of row (nil: a
// headline). It is reused by the next call.
func (j *judgeInput) input(row *rowState, c *cellState) *rules.Input {
	j.head = headCells{j.dv}
	j.in = rules.Input{Now: j.now, Value: c.value(), Changed: c.changed, Headlines: &j.head, Attrs: j.attrs}
	switch {
	case j.cal != nil && j.apart:
		j.in.Calendar = j.cal
	case j.cal != nil:
		j.dvCal = dataviewCalendar{x: j.cal, dv: j.dv}
		j.in.Calendar = &j.dvCal
	}
	if j.dv.sampledAt != 0 {
		// The probe's clock may not be the gateway's: the dataview's
		// latest sample, by both, relates them.
		j.in.ClockOffset = j.dv.sampledAt - j.dv.sampleTime
	}
	if row != nil {
		j.row = rowCells{j.dv, row}
		j.in.Row = &j.row
	}
	return &j.in
}

// rowCells are a row's cells as rules.Cells.
type rowCells struct {
	dv  *Dataview
	row *rowState
}

func (r *rowCells) Len() int { return len(r.row.cells) }
func (r *rowCells) At(i int) (string, samplers.Cell) {
	return r.dv.columns[i], r.row.cells[i].value()
}

// headCells are a dataview's headlines as rules.Cells.
type headCells struct{ dv *Dataview }

func (h *headCells) Len() int { return len(h.dv.head) }
func (h *headCells) At(i int) (string, samplers.Cell) {
	return h.dv.headlines[i], h.dv.head[i].value()
}
