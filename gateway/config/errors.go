package config

import (
	"cmp"
	"slices"
	"strconv"
	"strings"
)

// Error is one problem in a configuration, with its place: the file, the
// 1-based line and column of the fault, and the field path, like
// "samplers[2].interval" (empty for YAML syntax errors). Line and Column
// are 0 only for errors found by Config.Validate, which has no file to
// point into.
type Error struct {
	File   string
	Line   int
	Column int
	Field  string
	Msg    string
}

// Error formats e as "file:line:col: field: msg", leaving out the parts
// that are empty or zero.
func (e Error) Error() string {
	var b strings.Builder
	place := func(s string) {
		b.WriteString(s)
		b.WriteString(":")
	}
	if e.File != "" {
		place(e.File)
	}
	if e.Line > 0 {
		place(strconv.Itoa(e.Line))
		if e.Column > 0 {
			place(strconv.Itoa(e.Column))
		}
	}
	if b.Len() > 0 {
		b.WriteString(" ")
	}
	if e.Field != "" {
		b.WriteString(e.Field)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Errors is every problem found in a configuration, in file order. Parse
// and Validate return an Errors (as error) when there is at least one.
type Errors []Error

// Error returns the errors one per line.
func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap returns the errors, so errors.As finds an Error.
func (es Errors) Unwrap() []error {
	errs := make([]error, len(es))
	for i, e := range es {
		errs[i] = e
	}
	return errs
}

// err returns es as an error, or nil when it is empty, after sorting it
// into file order.
func (es Errors) err() error {
	if len(es) == 0 {
		return nil
	}
	slices.SortStableFunc(es, func(a, b Error) int {
		return cmp.Or(cmp.Compare(a.Line, b.Line), cmp.Compare(a.Column, b.Column))
	})
	return es
}
