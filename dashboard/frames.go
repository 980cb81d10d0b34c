package dashboard

import (
	"slices"
	"strconv"
	"unicode/utf8"
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

// encode renders the pending changes as one delta frame:
//
//	{"type":"delta","dataview":…,"sampleTime":…,"stale":…,"removed":[…],
//	 "cells":[{"r":row,"c":column,"v":…,"s":…,"t":…}],"headlines":[{"name":…,"v":…,"s":…,"t":…}]}
//
// with empty parts left out. It appends by hand rather than through
// encoding/json: this runs for every frame of every watched dataview, and
// reflection was most of its cost.
func (p *pending) encode(dataview string) ([]byte, int) {
	b := make([]byte, 0, 64+len(dataview)+48*len(p.order))
	b = append(b, `{"type":"delta","dataview":`...)
	b = appendString(b, dataview)
	if p.sampleTime != 0 {
		b = append(b, `,"sampleTime":`...)
		b = strconv.AppendInt(b, p.sampleTime, 10)
	}
	if p.stale != nil {
		b = append(b, `,"stale":`...)
		b = strconv.AppendBool(b, *p.stale)
	}
	if len(p.removed) > 0 {
		b = append(b, `,"removed":[`...)
		for i, r := range p.removed {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, r)
		}
		b = append(b, ']')
	}
	for _, headlines := range []bool{false, true} {
		first := true
		for _, k := range p.order {
			if k.headline != headlines {
				continue
			}
			switch {
			case !first:
				b = append(b, ',')
			case headlines:
				b = append(b, `,"headlines":[`...)
			default:
				b = append(b, `,"cells":[`...)
			}
			first = false
			if headlines {
				b = append(b, `{"name":`...)
			} else {
				b = append(b, `{"r":`...)
				b = appendString(b, k.row)
				b = append(b, `,"c":`...)
			}
			b = appendString(b, k.col)
			b = appendCell(b, p.cells[k])
			b = append(b, '}')
		}
		if !first {
			b = append(b, ']')
		}
	}
	return append(b, '}'), len(p.order)
}

// appendCell appends a cell's fields, after others in the same object.
func appendCell(b []byte, c Cell) []byte {
	b = append(b, `,"v":`...)
	b = appendString(b, c.V)
	b = append(b, `,"s":`...)
	b = appendString(b, c.S)
	b = append(b, `,"t":`...)
	return strconv.AppendInt(b, c.T, 10)
}

// appendString appends s as a JSON string. Bytes that are not UTF-8 become
// U+FFFD, as encoding/json does; U+2028 and U+2029 are escaped so the
// frame is also valid JavaScript.
func appendString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
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
