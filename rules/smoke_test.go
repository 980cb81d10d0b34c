package rules

import (
	"testing"
	"time"

	"github.com/watchfloor/watchfloor/samplers"
)

func TestSmoke(t *testing.T) {
	d := Duration(5 * time.Second)
	s, errs := Compile([]Def{{Name: "cpu", Match: "*/*/cpu/cpu/*/util", Critical: &LevelDef{When: "value > 90", For: d}, Warning: &LevelDef{When: "value > 50"}}}, nil)
	if errs != nil {
		t.Fatal(errs)
	}
	e := NewEvaluator()
	info := CellInfo{Path: samplers.DataviewPath{Probe: "p", Entity: "e", Sampler: "cpu", Dataview: "cpu"}, Row: "total", Column: "util"}
	m := e.Match(s, &info)
	if len(m) != 1 {
		t.Fatalf("matched %d", len(m))
	}
	var cs CellState
	cs.Bind(m)
	v := e.Judge(&cs, &Input{Now: 1e9, Value: samplers.Text("95"), Changed: 1e9})
	if v.Severity != Warning || v.Next != 6e9 {
		t.Fatalf("%+v", v)
	}
	v = e.Judge(&cs, &Input{Now: 6e9, Value: samplers.Text("95"), Changed: 1e9})
	if v.Severity != Critical {
		t.Fatalf("%+v", v)
	}
	v = e.Judge(&cs, &Input{Now: 7e9, Value: samplers.Text("abc"), Changed: 7e9})
	if v.Severity != Undefined {
		t.Fatalf("%+v", v)
	}
	_, errs = Compile([]Def{{Name: "x", Match: "a/b", Critical: &LevelDef{When: "vlaue > 1"}}}, nil)
	t.Log(errs)
}
