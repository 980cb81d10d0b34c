package cpu

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

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

	bad := func(name, params, want string) {
		t.Helper()
		samplertest.BadParams(t, "cpu", name, params, want)
	}
	bad("unknown field", `{"percore": true}`, `"percore"`)
	bad("wrong type", `{"percpu": "yes"}`, "percpu")
	bad("not an object", `[true]`, "params")
	bad("trailing data", `{"percpu": true} {}`, "trailing")
}

// TestSampleConfig checks the embedded sample.yaml, which the demo
// composes as is.
func TestSampleConfig(t *testing.T) {
	params := samplertest.SampleConfig(t, "cpu")
	if _, ok := params["percpu"]; !ok {
		t.Errorf("sample config does not document percpu: %v", params)
	}
	if typ, _ := samplers.Lookup("cpu"); typ.SampleConfig != sampleConfig {
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
