package dashboard

import (
	"encoding/json"
	"slices"
)

// Cell is one cell as a browser sees it: value, severity and the time the
// value last changed (Unix milliseconds).
type Cell struct {
	V string `json:"v"`
	S string `json:"s"`
	T int64  `json:"t"`
}

// Row is a row of a snapshot.
type Row struct {
	Name  string `json:"name"`
	Cells []Cell `json:"cells"`
}

// Headline is a named headline cell.
type Headline struct {
	Name string `json:"name"`
	Cell
}

// Snapshot is a dataview's whole state, as the gateway's tree holds it.
type Snapshot struct {
	Type       string     `json:"type"` // always "snapshot"
	Dataview   string     `json:"dataview"`
	SampleTime int64      `json:"sampleTime"`
	Stale      bool       `json:"stale"`
	Columns    []string   `json:"columns"`
	Rows       []Row      `json:"rows"`
	Headlines  []Headline `json:"headlines"`
}

// Change is one changed cell, addressed by row and column name, or a
// changed headline.
type Change struct {
	Row      string // empty for a headline
	Column   string // the headline's name for a headline
	Headline bool
	Cell     Cell
}

// Update is what changed in a dataview in one batch. A row that appears
// carries all its cells; RemovedRows apply before Changes.
type Update struct {
	SampleTime  int64
	Stale       *bool
	Changes     []Change
	RemovedRows []string
}

type cellKey struct {
	row, col string
	headline bool
}

// pending accumulates a topic's updates between frames, keeping only the
// latest value of each cell.
type pending struct {
	sampleTime int64
	stale      *bool
	cells      map[cellKey]Cell
	order      []cellKey // first-change order, so rows appear as they were added
	removed    []string
}

func (p *pending) empty() bool {
	return p.sampleTime == 0 && p.stale == nil && len(p.cells) == 0 && len(p.removed) == 0
}

func (p *pending) add(u *Update) {
	if u.SampleTime > p.sampleTime {
		p.sampleTime = u.SampleTime
	}
	if u.Stale != nil {
		s := *u.Stale
		p.stale = &s
	}
	if len(u.RemovedRows) > 0 {
		for _, r := range u.RemovedRows {
			if !slices.Contains(p.removed, r) {
				p.removed = append(p.removed, r)
			}
		}
		// A removed row's earlier pending cells must not resurrect it.
		p.order = slices.DeleteFunc(p.order, func(k cellKey) bool {
			if !k.headline && slices.Contains(u.RemovedRows, k.row) {
				delete(p.cells, k)
				return true
			}
			return false
		})
	}
	if p.cells == nil && len(u.Changes) > 0 {
		p.cells = make(map[cellKey]Cell, len(u.Changes))
	}
	for _, c := range u.Changes {
		k := cellKey{row: c.Row, col: c.Column, headline: c.Headline}
		if _, seen := p.cells[k]; !seen {
			p.order = append(p.order, k)
		}
		p.cells[k] = c.Cell
	}
}

func (p *pending) reset() {
	clear(p.cells)
	*p = pending{cells: p.cells, order: p.order[:0], removed: p.removed[:0]}
}

type deltaCell struct {
	R string `json:"r"`
	C string `json:"c"`
	Cell
}

type delta struct {
	Type       string      `json:"type"`
	Dataview   string      `json:"dataview"`
	SampleTime int64       `json:"sampleTime,omitempty"`
	Stale      *bool       `json:"stale,omitempty"`
	Removed    []string    `json:"removed,omitempty"`
	Cells      []deltaCell `json:"cells,omitempty"`
	Headlines  []Headline  `json:"headlines,omitempty"`
}

// encode renders the pending changes as one delta frame.
func (p *pending) encode(dataview string) ([]byte, int) {
	d := delta{Type: "delta", Dataview: dataview, SampleTime: p.sampleTime, Stale: p.stale, Removed: p.removed}
	for _, k := range p.order {
		c := p.cells[k]
		if k.headline {
			d.Headlines = append(d.Headlines, Headline{Name: k.col, Cell: c})
		} else {
			d.Cells = append(d.Cells, deltaCell{R: k.row, C: k.col, Cell: c})
		}
	}
	b, err := json.Marshal(d)
	if err != nil {
		panic("dashboard: encode delta: " + err.Error()) // plain strings and numbers always encode
	}
	return b, len(p.order)
}

type gone struct {
	Type     string `json:"type"`
	Dataview string `json:"dataview"`
}

type errorFrame struct {
	Type    string `json:"type"`
	Message string `json:"message"`
}

// request is what a browser sends.
type request struct {
	Op       string `json:"op"`
	Dataview string `json:"dataview"`
}
