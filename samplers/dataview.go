package samplers

import (
	"context"
	"fmt"
	"math"
	"strconv"
)

// Cell is one sampled value: the string as the sampler produced it, and the
// number it holds where it parses as one.
type Cell struct {
	Raw   string
	Num   float64
	IsNum bool
}

// Text returns a cell holding s, parsed as a number where it is one.
func Text(s string) Cell {
	c := Cell{Raw: s}
	if !mayBeNumber(s) {
		return c // most text; skip building ParseFloat's error
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil && !math.IsInf(f, 0) && !math.IsNaN(f) {
		c.Num, c.IsNum = f, true
	}
	return c
}

// mayBeNumber reports whether s could parse as a finite float: it starts
// with a sign, a digit or a point.
func mayBeNumber(s string) bool {
	if s == "" {
		return false
	}
	c := s[0]
	return c >= '0' && c <= '9' || c == '-' || c == '+' || c == '.'
}

// Number returns a cell holding v formatted with prec digits after the point.
// NaN and infinities are text, as Text reads them, so a cell means the same
// wherever its raw text is read again.
func Number(v float64, prec int) Cell {
	return Text(strconv.FormatFloat(v, 'f', prec, 64))
}

// Int returns a cell holding an integer.
func Int(v int64) Cell {
	return Cell{Raw: strconv.FormatInt(v, 10), Num: float64(v), IsNum: true}
}

// Row is one row of a dataview: its name and one cell per column.
type Row struct {
	Name  string
	Cells []Cell
}

// Headline is a named cell that belongs to the dataview as a whole.
type Headline struct {
	Name  string
	Value Cell
}

// Dataview is a table a sampler fills in on each tick: named columns, rows
// keyed by name (in the order the sampler gives them) and headline cells.
// Every row has exactly one cell per column.
type Dataview struct {
	Name      string
	Columns   []string
	Rows      []Row
	Headlines []Headline
}

// Sampler produces dataviews. Sample is called on the sampler's tick, never
// concurrently with itself, and must return promptly when ctx is done,
// also when it is cancelled in the middle of a sample. Close is called
// once, after the last Sample, and releases whatever the sampler holds
// (open files, process handles). A sampler is not safe for concurrent use.
type Sampler interface {
	Sample(ctx context.Context) ([]Dataview, error)
	Close() error
}

// Step ends a sample after one of its steps: it returns nil when err is
// nil and ctx is still live, and otherwise an error saying what the step
// was doing. A done ctx wins over err, so a step cut short by the
// cancellation (or one that finished just as ctx ended) reports ctx's
// error, which callers test with errors.Is. Samplers call it after every
// access to the operating system, so that a sample cancelled in the middle
// stops at the next step rather than at the end.
func Step(ctx context.Context, what string, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil {
		return fmt.Errorf("%s: %w", what, ctxErr)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}
