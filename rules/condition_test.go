package rules

import (
	"fmt"
	"testing"

	"github.com/expr-lang/expr/vm"
	"github.com/watchfloor/watchfloor/samplers"
)

// A numeric cell is judged by a comparison of value with a number without
// the VM: for every operator, either side, integer, float and negated
// constants, and values below, at and above them, the comparison and the
// program agree.
func TestComparisonAgreesWithTheVM(t *testing.T) {
	var m vm.VM
	consts := []string{"90", "90.5", "-3", "-0.25", "0", "1e3"}
	values := []string{"89.99", "90", "90.5", "91", "-3", "-0.25", "0", "-0", "1000", "1e3", "-1e9"}
	checked := 0
	for op := range flipped {
		for _, k := range consts {
			for _, src := range []string{"value " + op + " " + k, k + " " + op + " value"} {
				c, _, err := compileCondition("when", src)
				if err != nil {
					t.Fatalf("%s: %v", src, err)
				}
				if c.cmp == nil {
					t.Fatalf("%s is not recognised as a comparison", src)
				}
				for _, raw := range values {
					v := samplers.Text(raw)
					out, err := m.Run(c.prog, &env{Value: v.Num})
					if err != nil {
						t.Fatalf("%s with value %s: %v", src, raw, err)
					}
					if got := c.cmp.holds(v.Num); got != out.(bool) {
						t.Errorf("%s with value %s: the comparison says %v, the VM %v", src, raw, got, out)
					}
					checked++
				}
			}
		}
	}
	t.Logf("%d cases", checked)
}

// Any other shape runs on the VM, and a text cell always does, so that
// what it does with text (an error, or a comparison of strings) is the
// expression library's.
func TestComparisonOnlyForItsShape(t *testing.T) {
	for _, src := range []string{"value > row.limit", "value + 1 > 2", "value > 90 && value < 95", "previous > 90", "value in [1, 2]", `value == "DOWN"`, "!(value > 90)"} {
		c, _, err := compileCondition("when", src)
		if err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		if c.cmp != nil {
			t.Errorf("%s taken as a comparison %+v", src, *c.cmp)
		}
	}
	e := NewEvaluator()
	r := mustRule(t, Def{Name: "r", Match: "**", Critical: &LevelDef{When: "value > 90"}})
	var cs CellState
	cs.Bind([]*Rule{r})
	errs := 0
	e.OnError = func(*Rule, error) { errs++ }
	if v := e.Judge(&cs, &Input{Value: samplers.Text("n/a")}); v.Severity != Undefined || errs != 1 {
		t.Fatalf("a text value: %v with %d errors, want undefined and the VM's error", v.Severity, errs)
	}
	if v := e.Judge(&cs, &Input{Value: samplers.Text("95")}); v.Severity != Critical {
		t.Fatalf("95 > 90: %v", v.Severity)
	}
}

func mustRule(t *testing.T, d Def) *Rule {
	t.Helper()
	r, errs := CompileOne(d)
	if errs != nil {
		t.Fatal(fmt.Sprint(errs))
	}
	return r
}
