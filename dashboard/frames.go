package dashboard

import (
	"encoding/json"
	"strconv"
	"unicode/utf8"

	"github.com/watchfloor/watchfloor/dashboard/coalesce"
)

// Cell is one cell as a browser sees it: value, severity and the time the
// value last changed (Unix milliseconds).
type Cell struct {
	V string `json:"v"`
	S string `json:"s"`
	T int64  `json:"t"`
	// Rule names the rule that set S, if one did.
	Rule string `json:"rule,omitempty"`
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
// EncodeSnapshot turns it into the frame a Source returns.
type Snapshot struct {
	Type       string     `json:"type"`  // always "snapshot"; EncodeSnapshot sets it
	Topic      string     `json:"topic"` // DataviewTopic(Dataview); EncodeSnapshot fills it in when empty
	Dataview   string     `json:"dataview"`
	SampleTime int64      `json:"sampleTime"`
	Stale      bool       `json:"stale"`
	Columns    []string   `json:"columns"`
	Rows       []Row      `json:"rows"`
	Headlines  []Headline `json:"headlines"`
}

// EncodeSnapshot renders a dataview's snapshot frame, with "type" first as
// the protocol promises, and empty lists as [] rather than null.
func EncodeSnapshot(s Snapshot) []byte {
	s.Type = "snapshot"
	if s.Topic == "" {
		s.Topic = DataviewTopic(s.Dataview)
	}
	if s.Columns == nil {
		s.Columns = []string{}
	}
	if s.Rows == nil {
		s.Rows = []Row{}
	}
	if s.Headlines == nil {
		s.Headlines = []Headline{}
	}
	b, err := json.Marshal(s)
	if err != nil {
		panic("dashboard: encode snapshot: " + err.Error())
	}
	return b
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

// pending accumulates a dataview topic's updates between frames, keeping
// only the latest value of each cell, in the order cells first changed so
// rows appear as they were added.
//
// Each update is numbered, and each pending cell and removed row carries
// the number of the update that set it: a cell set before its row's
// latest removal is left out when the frame is encoded. So an update that
// removes rows costs what it removes, not what else is pending, under the
// topic lock the publisher holds.
type pending struct {
	sampleTime int64
	stale      *bool
	seq        uint64
	cells      coalesce.Map[cellKey, stampedCell]
	removed    coalesce.Map[string, uint64] // row → update that last removed it
}

type stampedCell struct {
	Cell
	seq uint64
}

func (p *pending) empty() bool {
	return p.sampleTime == 0 && p.stale == nil && p.cells.Len() == 0 && p.removed.Len() == 0
}

// keys returns how many cells and removed rows are pending: what
// Options.MaxPending bounds.
func (p *pending) keys() int { return p.cells.Len() + p.removed.Len() }

func (p *pending) add(u *Update) {
	if u.SampleTime > p.sampleTime {
		p.sampleTime = u.SampleTime
	}
	if u.Stale != nil {
		s := *u.Stale
		p.stale = &s
	}
	p.seq++
	for _, r := range u.RemovedRows {
		p.removed.Put(r, p.seq)
	}
	for _, c := range u.Changes {
		p.cells.Put(cellKey{row: c.Row, col: c.Column, headline: c.Headline}, stampedCell{c.Cell, p.seq})
	}
}

// current reports whether a pending cell is still to be sent: not set
// before its row's latest removal, which would resurrect the row.
func (p *pending) current(k cellKey, c stampedCell) bool {
	if k.headline {
		return true
	}
	removed, ok := p.removed.Get(k.row)
	return !ok || c.seq >= removed
}

func (p *pending) reset() {
	p.sampleTime, p.stale, p.seq = 0, nil, 0
	p.cells.Reset()
	p.removed.Reset()
}

// encode renders the pending changes as one delta frame:
//
//	{"type":"delta","topic":…,"dataview":…,"sampleTime":…,"stale":…,"removed":[…],
//	 "cells":[{"r":row,"c":column,"v":…,"s":…,"t":…,"rule":…}],"headlines":[{"name":…,"v":…,"s":…,"t":…}]}
//
// with empty parts left out. It appends by hand rather than through
// encoding/json: this runs for every frame of every watched dataview, and
// reflection was most of its cost (docs/benchmarks.md, BenchmarkEncodeDelta).
// It returns the frame and how many cells and headlines it carries.
func (p *pending) encode(topic, dataview string) ([]byte, int) {
	b := make([]byte, 0, 80+len(topic)+len(dataview)+48*p.cells.Len())
	b = append(b, `{"type":"delta","topic":`...)
	b = AppendJSONString(b, topic)
	b = append(b, `,"dataview":`...)
	b = AppendJSONString(b, dataview)
	if p.sampleTime != 0 {
		b = append(b, `,"sampleTime":`...)
		b = strconv.AppendInt(b, p.sampleTime, 10)
	}
	if p.stale != nil {
		b = append(b, `,"stale":`...)
		b = strconv.AppendBool(b, *p.stale)
	}
	if p.removed.Len() > 0 {
		b = append(b, `,"removed":[`...)
		first := true
		for r := range p.removed.All() {
			if !first {
				b = append(b, ',')
			}
			first = false
			b = AppendJSONString(b, r)
		}
		b = append(b, ']')
	}
	n := 0
	for _, headlines := range []bool{false, true} {
		first := true
		for k, c := range p.cells.All() {
			if k.headline != headlines || !p.current(k, c) {
				continue
			}
			n++
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
				b = AppendJSONString(b, k.row)
				b = append(b, `,"c":`...)
			}
			b = AppendJSONString(b, k.col)
			b = appendCell(b, c.Cell)
			b = append(b, '}')
		}
		if !first {
			b = append(b, ']')
		}
	}
	return append(b, '}'), n
}

// appendCell appends a cell's fields, after others in the same object.
func appendCell(b []byte, c Cell) []byte {
	b = append(b, `,"v":`...)
	b = AppendJSONString(b, c.V)
	b = append(b, `,"s":`...)
	b = AppendJSONString(b, c.S)
	b = append(b, `,"t":`...)
	b = strconv.AppendInt(b, c.T, 10)
	if c.Rule != "" {
		b = append(b, `,"rule":`...)
		b = AppendJSONString(b, c.Rule)
	}
	return b
}

// AppendJSONString appends s as a JSON string. Bytes that are not UTF-8 become
// U+FFFD, as encoding/json does; U+2028 and U+2029 are escaped so the
// frame is also valid JavaScript.
func AppendJSONString(b []byte, s string) []byte {
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

// gone says a topic has nothing under it now; Dataview is there for a
// dataview topic.
type gone struct {
	Type     string `json:"type"`
	Topic    string `json:"topic"`
	Dataview string `json:"dataview,omitempty"`
}

// errorFrame answers a request the hub cannot take; Topic is there when
// the error is about one.
type errorFrame struct {
	Type    string `json:"type"`
	Topic   string `json:"topic,omitempty"`
	Message string `json:"message"`
}

// request is what a browser sends: Topic for subscribe and unsubscribe,
// Window for pace, Seq for ack.
type request struct {
	Op     string  `json:"op"`
	Topic  string  `json:"topic"`
	Window *int    `json:"window,omitempty"`
	Seq    *uint64 `json:"seq,omitempty"`
}
