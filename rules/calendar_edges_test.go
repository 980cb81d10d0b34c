package rules

import (
	"testing"
	"time"
)

// A cell whose level errors at run time in Beginning of Day (its bod level
// reads the value as text) must still be judged again at 08:00, when the
// rule's own levels, which do not error, take over: the calendar's next
// change is part of the verdict whether or not this judgement's condition
// failed. judgeRule returns next 0 on an error, dropping the boundary.
func TestNextKeptWhenAPhaseLevelErrors(t *testing.T) {
	r := compileDef(t, Def{
		Critical: &LevelDef{When: "value > 90"},
		Phases:   map[string]*PhaseLevels{"bod": {Critical: &LevelDef{When: `len(value) > 3`}}},
	})
	v := newVenue(t)
	e := NewEvaluator()
	errs := 0
	e.OnError = func(*Rule, error) { errs++ }
	c := newCell(r)
	v.now = v.at("07:30")
	now := v.now.UnixNano()
	c.sample("95", now/sec)
	got := e.Judge(&c.cs, &Input{Now: now, Value: c.val, Changed: c.changed, Calendar: v})
	if errs == 0 {
		t.Fatalf("the bod level did not fail (verdict %+v); the test needs a condition that errors on a number", got)
	}
	if want := v.at("08:00").UnixNano(); got.Next != want {
		t.Errorf("07:30, bod level failed: Next = %v, want %v (Intraday, whose levels judge the cell)",
			time.Unix(0, got.Next), time.Unix(0, want))
	}
}
