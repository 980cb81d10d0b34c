package memory

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/watchfloor/watchfloor/samplers"
	"github.com/watchfloor/watchfloor/samplers/samplertest"
)

func TestNewParams(t *testing.T) {
	for _, params := range []string{"", "null", "{}", " { } "} {
		if _, err := New(json.RawMessage(params), samplers.Env{}); err != nil {
			t.Errorf("New(%q): %v", params, err)
		}
	}
	bad := func(name, params, want string) {
		t.Helper()
		samplertest.BadParams(t, "memory", name, params, want)
	}
	bad("any field", `{"swap": false}`, `"swap"`)
	bad("not an object", `[]`, "params")
	bad("trailing data", `{} {}`, "trailing")
}

// TestSampleConfig checks the embedded sample.yaml, which the demo
// composes as is.
func TestSampleConfig(t *testing.T) {
	samplertest.SampleConfig(t, "memory")
	if typ, _ := samplers.Lookup("memory"); typ.SampleConfig != sampleConfig {
		t.Error("registered SampleConfig is not the embedded sample.yaml")
	}
}

func TestSampleCancelled(t *testing.T) {
	s, err := New(nil, samplers.Env{})
	if err != nil {
		t.Fatal(err)
	}
	samplertest.Cancelled(t, s)
}

// lines renders a dataview as one line per row ("name cell cell ..."),
// checking on the way that it is well formed.
func lines(t *testing.T, dvs []samplers.Dataview) []string {
	t.Helper()
	if len(dvs) != 1 {
		t.Fatalf("got %d dataviews, want 1", len(dvs))
	}
	dv := dvs[0]
	if dv.Name != "memory" {
		t.Errorf("dataview name %q, want memory", dv.Name)
	}
	if fmt.Sprint(dv.Columns) != "[total used available usedPercent]" {
		t.Errorf("columns %v", dv.Columns)
	}
	var rows []string
	for _, r := range dv.Rows {
		if len(r.Cells) != len(dv.Columns) {
			t.Errorf("row %s has %d cells for %d columns", r.Name, len(r.Cells), len(dv.Columns))
		}
		f := []string{r.Name}
		for _, c := range r.Cells {
			if !c.IsNum {
				t.Errorf("row %s: cell %q is not a number", r.Name, c.Raw)
			}
			f = append(f, c.Raw)
		}
		rows = append(rows, strings.Join(f, " "))
	}
	return rows
}
