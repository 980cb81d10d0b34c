package rules

import "github.com/watchfloor/watchfloor/samplers"

// MatchCell reports whether the pattern, written for cells
// (probe/entity/sampler/dataview/row/column, "#" for a headline's row),
// matches the cell at c. A pattern of fewer or more segments matches no
// cell, unless "**" makes up the difference.
func (p *Pattern) MatchCell(c samplers.CellPath) bool {
	segs := [6]seg{{name: c.Probe}, {name: c.Entity}, {name: c.Sampler}, {name: c.Dataview},
		{name: c.Row, headline: c.Headline}, {name: c.Column}}
	return p.match(segs[:])
}

// MatchDataview reports whether some cell of the dataview at d could match
// the pattern: its first four segments match d's.
func (p *Pattern) MatchDataview(d samplers.DataviewPath) bool {
	segs := [6]seg{{name: d.Probe}, {name: d.Entity}, {name: d.Sampler}, {name: d.Dataview},
		{unknown: true}, {unknown: true}}
	return p.match(segs[:])
}
