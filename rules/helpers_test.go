package rules

import (
	"testing"
	"time"

	"github.com/watchfloor/watchfloor/samplers"
)

// sec is one second in the Unix nanoseconds of Input.Now; test times are
// written in seconds.
const sec = int64(time.Second)

func dur(d time.Duration) Duration { return Duration(d) }

func durp(d time.Duration) *Duration { v := Duration(d); return &v }

// mustCompile compiles defs or fails the test.
func mustCompile(t testing.TB, prev *Set, defs ...Def) *Set {
	t.Helper()
	s, errs := Compile(defs, prev)
	if errs != nil {
		t.Fatalf("compile: %v", errs)
	}
	return s
}

// cellRule compiles one cell rule matching every cell.
func cellRule(t testing.TB, name string, critical, warning *LevelDef) *Rule {
	t.Helper()
	r, errs := CompileOne(Def{Name: name, Match: "**", Critical: critical, Warning: warning})
	if errs != nil {
		t.Fatalf("compile %s: %v", name, errs)
	}
	return r
}

// cells is a row's cells, or a dataview's headlines, for Input.
type cells []namedCell

type namedCell struct {
	name string
	v    samplers.Cell
}

func (c cells) Len() int                         { return len(c) }
func (c cells) At(i int) (string, samplers.Cell) { return c[i].name, c[i].v }

var _ Cells = cells(nil)

// row builds cells from name, value pairs.
func row(kv ...string) cells {
	var c cells
	for i := 0; i+1 < len(kv); i += 2 {
		c = append(c, namedCell{kv[i], samplers.Text(kv[i+1])})
	}
	return c
}

// cell is a cell as its owner keeps it: its value, when that was set, and
// its rule state. sample records a new value the way the owner does,
// calling Changing only when the value changes.
type cell struct {
	cs      CellState
	val     samplers.Cell
	changed int64
	set     bool
}

func newCell(rules ...*Rule) *cell {
	c := &cell{}
	c.cs.Bind(rules)
	return c
}

// sample sets the cell's value at t seconds.
func (c *cell) sample(v string, t int64) {
	if c.set && c.val.Raw == v {
		return
	}
	if c.set {
		c.cs.Changing(c.val, c.changed)
	}
	c.val, c.changed, c.set = samplers.Text(v), t*sec, true
}

// judge judges the cell at t seconds.
func (c *cell) judge(e *Evaluator, t int64, rowCells, headlines Cells) Verdict {
	return e.Judge(&c.cs, &Input{Now: t * sec, Value: c.val, Changed: c.changed, Row: rowCells, Headlines: headlines})
}

// step is one sample and judgement of a cell: at t seconds it holds v,
// and is judged want, with Verdict.Next at next seconds (0 for none).
type step struct {
	t    int64
	v    string
	want Severity
	next int64
}

// runSteps samples and judges one cell through steps.
func runSteps(t *testing.T, steps []step, rules ...*Rule) {
	t.Helper()
	e := NewEvaluator()
	e.OnError = func(r *Rule, err error) { t.Errorf("rule %s failed: %v", r.Name(), err) }
	c := newCell(rules...)
	for _, s := range steps {
		c.sample(s.v, s.t)
		v := c.judge(e, s.t, nil, nil)
		var next int64
		if v.Next != 0 {
			next = v.Next / sec
			if v.Next%sec != 0 {
				t.Errorf("t=%d: Next %d is not a whole second", s.t, v.Next)
			}
		}
		if v.Severity != s.want || next != s.next {
			t.Errorf("t=%ds value %q: got %v next %d, want %v next %d", s.t, s.v, v.Severity, next, s.want, s.next)
		}
	}
}

// cellInfo places a cell by its path, as written in a pattern's encoding
// ("probe/entity/sampler/dataview/row/column", "#" for the headline row).
func cellInfo(t testing.TB, path string, attrs map[string]string) *CellInfo {
	t.Helper()
	p, err := samplers.ParseCellPath(path)
	if err != nil {
		t.Fatalf("path %q: %v", path, err)
	}
	return &CellInfo{Path: p.DataviewPath, Attrs: attrs, Headline: p.Headline, Row: p.Row, Column: p.Column}
}

func names(rs []*Rule) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.Name()
	}
	return out
}
