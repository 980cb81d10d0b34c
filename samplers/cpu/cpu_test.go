package cpu

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/shirou/gopsutil/v4/cpu"
	"github.com/shirou/gopsutil/v4/load"

	"github.com/watchfloor/watchfloor/samplers"
	"github.com/watchfloor/watchfloor/samplers/samplertest"
)

func TestNewParams(t *testing.T) {
	good := func(name, params string, want config) {
		t.Helper()
		t.Run(name, func(t *testing.T) {
			s, err := New(json.RawMessage(params), samplers.Env{})
			if err != nil {
				t.Fatalf("New(%s): %v", params, err)
			}
			if got := s.(*Sampler).percpu; got != want.PerCPU {
				t.Errorf("New(%s): percpu = %v, want %v", params, got, want.PerCPU)
			}
		})
	}
	good("nil", "", config{PerCPU: true})
	good("null", "null", config{PerCPU: true})
	good("empty object", "{}", config{PerCPU: true})
	good("percpu off", `{"percpu": false}`, config{PerCPU: false})
	good("percpu on", `{"percpu": true}`, config{PerCPU: true})
}

// hookedSource calls the contract's hook before each access to the system.
type hookedSource struct {
	source
	hook samplertest.Hook
}

func (h hookedSource) times(ctx context.Context, percpu bool) ([]cpu.TimesStat, error) {
	if err := h.hook(ctx); err != nil {
		return nil, err
	}
	return h.source.times(ctx, percpu)
}

func (h hookedSource) load(ctx context.Context) (*load.AvgStat, error) {
	if err := h.hook(ctx); err != nil {
		return nil, err
	}
	return h.source.load(ctx)
}

func TestContract(t *testing.T) {
	samplertest.Contract(t, samplertest.Spec{
		Type: "cpu",
		Bad: []samplertest.Bad{
			{Name: "unknown field", Params: `{"percore": true}`, Field: `"percore"`},
			{Name: "wrong type", Params: `{"percpu": "yes"}`, Field: "percpu"},
			{Name: "not an object", Params: `[true]`, Field: "params"},
			{Name: "trailing data", Params: `{"percpu": true} {}`, Field: "trailing"},
		},
		Hooked: func(params json.RawMessage, _ samplers.Env, hook samplertest.Hook) (samplers.Sampler, error) {
			c, err := parse(params)
			if err != nil {
				return nil, err
			}
			return newSampler(c, hookedSource{gopsutilSource{}, hook}), nil
		},
	})
}

// TestSampleConfig checks what the embedded sample.yaml documents; the
// contract checks that it is one the type accepts.
func TestSampleConfig(t *testing.T) {
	if _, ok := samplertest.SampleParams(t, "cpu")["percpu"]; !ok {
		t.Error("sample config does not document percpu")
	}
	if typ, _ := samplers.Lookup("cpu"); typ.SampleConfig != sampleConfig {
		t.Error("registered SampleConfig is not the embedded sample.yaml")
	}
}

// lines renders a dataview as one line per row ("name cell cell ...") and
// one line of headlines ("name=value ..."), checking on the way that it is
// well formed: the right name and columns, one cell per column.
func lines(t *testing.T, dvs []samplers.Dataview) (rows []string, headlines string) {
	t.Helper()
	if len(dvs) != 1 {
		t.Fatalf("got %d dataviews, want 1", len(dvs))
	}
	dv := dvs[0]
	if dv.Name != "cpu" {
		t.Errorf("dataview name %q, want cpu", dv.Name)
	}
	if fmt.Sprint(dv.Columns) != "[utilisation user system iowait steal]" {
		t.Errorf("columns %v", dv.Columns)
	}
	for _, r := range dv.Rows {
		if len(r.Cells) != len(dv.Columns) {
			t.Errorf("row %s has %d cells for %d columns", r.Name, len(r.Cells), len(dv.Columns))
		}
		f := []string{r.Name}
		for _, c := range r.Cells {
			f = append(f, c.Raw)
		}
		rows = append(rows, strings.Join(f, " "))
	}
	var h []string
	for _, hl := range dv.Headlines {
		h = append(h, hl.Name+"="+hl.Value.Raw)
	}
	return rows, strings.Join(h, " ")
}
