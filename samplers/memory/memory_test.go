package memory

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/shirou/gopsutil/v4/mem"

	"github.com/watchfloor/watchfloor/samplers"
	"github.com/watchfloor/watchfloor/samplers/samplertest"
)

func TestNewParams(t *testing.T) {
	for _, params := range []string{"", "null", "{}", " { } "} {
		if _, err := New(json.RawMessage(params), samplers.Env{}); err != nil {
			t.Errorf("New(%q): %v", params, err)
		}
	}
}

// hookedSource calls the contract's hook before each access to the system.
type hookedSource struct {
	source
	hook samplertest.Hook
}

func (h hookedSource) memory(ctx context.Context) (*mem.VirtualMemoryStat, *mem.SwapMemoryStat, error) {
	if err := h.hook(ctx); err != nil {
		return nil, nil, err
	}
	return h.source.memory(ctx)
}

func TestContract(t *testing.T) {
	samplertest.Contract(t, samplertest.Spec{
		Type: "memory",
		Bad: []samplertest.Bad{
			{Name: "any field", Params: `{"swap": false}`, Field: `"swap"`},
			{Name: "not an object", Params: `[]`, Field: "params"},
			{Name: "trailing data", Params: `{} {}`, Field: "trailing"},
		},
		Hooked: func(params json.RawMessage, _ samplers.Env, hook samplertest.Hook) (samplers.Sampler, error) {
			if err := Validate(params); err != nil {
				return nil, err
			}
			return &Sampler{src: hookedSource{gopsutilSource{}, hook}}, nil
		},
	})
	if typ, _ := samplers.Lookup("memory"); typ.SampleConfig != sampleConfig {
		t.Error("registered SampleConfig is not the embedded sample.yaml")
	}
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
