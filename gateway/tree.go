package gateway

import (
	"slices"
	"sort"
	"sync"

	"github.com/watchfloor/watchfloor/dashboard"
	"github.com/watchfloor/watchfloor/rules"
	"github.com/watchfloor/watchfloor/samplers"
)

// cellState is a cell as the gateway holds it.
type cellState struct {
	val     samplers.Cell
	sev     rules.Severity
	changed int64 // Unix nanoseconds of the sample that last changed the value
}

type rowState struct {
	name  string
	cells []cellState
}

// Dataview is the gateway's live copy of one dataview. Its probe's actor is
// the only writer; readers (the API, new dashboard subscribers) take the
// read lock briefly and copy out.
type Dataview struct {
	path samplers.DataviewPath
	key  string // path.String()
	typ  string // sampler type

	mu         sync.RWMutex
	columns    []string
	headlines  []string
	head       []cellState
	rows       []*rowState // by the probe's row index; nil where free
	rowIndex   map[string]uint32
	live       int   // rows that are not nil
	sampleTime int64 // Unix nanoseconds
	stale      bool
}

// tree indexes every probe's dataviews by path. Adding and removing
// dataviews is rare; lookups are frequent.
type tree struct {
	mu        sync.RWMutex
	dataviews map[string]*Dataview
}

func newTree() *tree { return &tree{dataviews: make(map[string]*Dataview)} }

func (t *tree) get(key string) *Dataview {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.dataviews[key]
}

func (t *tree) put(dv *Dataview) {
	t.mu.Lock()
	t.dataviews[dv.key] = dv
	t.mu.Unlock()
}

// removeIf removes the dataview at key if it is dv, and reports whether it
// did.
func (t *tree) removeIf(key string, dv *Dataview) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.dataviews[key] != dv {
		return false
	}
	delete(t.dataviews, key)
	return true
}

// list returns every dataview, sorted by path.
func (t *tree) list() []*Dataview {
	t.mu.RLock()
	out := make([]*Dataview, 0, len(t.dataviews))
	for _, dv := range t.dataviews {
		out = append(out, dv)
	}
	t.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool { return out[i].key < out[j].key })
	return out
}

func ms(ns int64) int64 { return ns / 1e6 }

func dashCell(c *cellState) dashboard.Cell {
	return dashboard.Cell{V: c.val.Raw, S: c.sev.String(), T: ms(c.changed)}
}

// Snapshot implements dashboard.Source.
func (t *tree) Snapshot(key string) (dashboard.Snapshot, bool) {
	dv := t.get(key)
	if dv == nil {
		return dashboard.Snapshot{}, false
	}
	dv.mu.RLock()
	defer dv.mu.RUnlock()
	s := dashboard.Snapshot{
		Dataview:   key,
		SampleTime: ms(dv.sampleTime),
		Stale:      dv.stale,
		Columns:    slices.Clone(dv.columns),
		Rows:       make([]dashboard.Row, 0, dv.live),
		Headlines:  make([]dashboard.Headline, len(dv.headlines)),
	}
	for _, r := range dv.rows {
		if r == nil {
			continue
		}
		row := dashboard.Row{Name: r.name, Cells: make([]dashboard.Cell, len(r.cells))}
		for i := range r.cells {
			row.Cells[i] = dashCell(&r.cells[i])
		}
		s.Rows = append(s.Rows, row)
	}
	for i, name := range dv.headlines {
		s.Headlines[i] = dashboard.Headline{Name: name, Cell: dashCell(&dv.head[i])}
	}
	return s, true
}
