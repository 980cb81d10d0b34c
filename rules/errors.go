package rules

import (
	"fmt"
	"strings"
)

// Error is one problem in a rule definition. Field is the path of the
// field at fault inside its rule ("critical.when", "where.system"), empty
// only for a rule that judges nothing (it has none of the fields); Line
// and Col, from 1, are where in that field's text the problem is, for
// expressions and patterns (0 when the whole field is at fault). Rule is
// the index of the rule in the list given to Compile.
type Error struct {
	Rule  int
	Name  string // the rule's name, if it has one
	Field string
	Line  int
	Col   int
	Msg   string
}

func (e *Error) Error() string {
	var b strings.Builder
	if e.Name != "" {
		fmt.Fprintf(&b, "rule %s: ", e.Name)
	} else {
		fmt.Fprintf(&b, "rule %d: ", e.Rule+1)
	}
	if e.Field != "" {
		b.WriteString(e.Field)
		if e.Line > 0 {
			fmt.Fprintf(&b, " (%d:%d)", e.Line, e.Col)
		}
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Errors is every problem Compile found, in rule order.
type Errors []*Error

func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}
