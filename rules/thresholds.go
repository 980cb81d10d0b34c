package rules

import (
	"github.com/expr-lang/expr/ast"

	"github.com/watchfloor/watchfloor/rules/calendar"
)

// Threshold is a number a cell rule's level compares the cell's value
// with, found in the level's condition (value > 90) or its clear
// (value < 80), so that a chart of the cell can draw it as a line.
type Threshold struct {
	Level Severity `json:"level"` // critical or warning
	// Op is the comparison with the value on the left: <, <=, >, >=, ==
	// or != (90 < value is written value > 90).
	Op    string  `json:"op"`
	Value float64 `json:"value"`
	// Clear marks a number from the level's clear condition.
	Clear bool `json:"clear,omitempty"`
	// Phase names the work-cycle phase whose own levels hold the number;
	// empty for the rule's levels.
	Phase string `json:"phase,omitempty"`
}

// Thresholds returns the numbers the rule's levels compare a cell's value
// with: every comparison of value with a number anywhere in a level's
// condition and clear (value > 90 and rate > 1 gives 90), critical
// first, each once, then those of the levels a phase has of its own. A
// condition that compares value with nothing constant (value >
// row.limit) has none; so has a rule that judges no cells.
func (r *Rule) Thresholds() []Threshold {
	var out []Threshold
	seen := map[Threshold]bool{}
	add := func(levels *[2]*level, phase string) {
		for _, l := range levels {
			if l == nil {
				continue
			}
			for _, c := range []struct {
				cond  *condition
				clear bool
			}{{l.when, false}, {l.clear, true}} {
				if c.cond == nil {
					continue
				}
				for _, cmp := range comparisons(c.cond) {
					t := Threshold{Level: l.sev, Op: cmp.op, Value: cmp.k, Clear: c.clear, Phase: phase}
					if !seen[t] {
						seen[t] = true
						out = append(out, t)
					}
				}
			}
		}
	}
	add(&r.levels, "")
	for p, levels := range r.phased {
		if levels != nil {
			add(levels, calendar.Phase(p).String())
		}
	}
	return out
}

// comparisons returns every comparison of value with a number in a
// compiled condition's tree, in the order written.
func comparisons(c *condition) []comparison {
	var f comparisonFinder
	node := c.prog.Node()
	ast.Walk(&node, &f)
	return f.found
}

type comparisonFinder struct {
	found []comparison
}

func (f *comparisonFinder) Visit(n *ast.Node) {
	if cmp := comparisonOf(*n); cmp != nil {
		f.found = append(f.found, *cmp)
	}
}
