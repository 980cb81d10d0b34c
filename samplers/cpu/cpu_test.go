package cpu

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/watchfloor/watchfloor/samplers"
)

func TestNewParams(t *testing.T) {
	good := func(name, params string, want config) {
		t.Helper()
		t.Run(name, func(t *testing.T) {
			s, err := New(json.RawMessage(params))
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

	bad := func(name, params, wantInErr string) {
		t.Helper()
		t.Run(name, func(t *testing.T) {
			_, err := New(json.RawMessage(params))
			if err == nil {
				t.Fatalf("New(%s): no error, want one mentioning %q", params, wantInErr)
			}
			if !strings.Contains(err.Error(), wantInErr) {
				t.Errorf("New(%s): error %q does not mention %q", params, err, wantInErr)
			}
		})
	}
	bad("unknown field", `{"percore": true}`, `"percore"`)
	bad("wrong type", `{"percpu": "yes"}`, "percpu")
	bad("not an object", `[true]`, "params")
	bad("trailing data", `{"percpu": true} {}`, "trailing")
}

// TestSampleConfig checks that the embedded sample.yaml is a sampler
// definition this package accepts, since the demo composes it as is.
func TestSampleConfig(t *testing.T) {
	var def struct {
		Name     string         `yaml:"name"`
		Type     string         `yaml:"type"`
		Interval string         `yaml:"interval"`
		Params   map[string]any `yaml:"params"`
	}
	dec := yaml.NewDecoder(strings.NewReader(sampleConfig))
	dec.KnownFields(true)
	if err := dec.Decode(&def); err != nil {
		t.Fatalf("decode sample.yaml: %v", err)
	}
	if def.Name != "cpu" || def.Type != "cpu" {
		t.Errorf("sample.yaml: name %q, type %q; want cpu, cpu", def.Name, def.Type)
	}
	iv, err := time.ParseDuration(def.Interval)
	if err != nil || iv < samplers.MinInterval {
		t.Errorf("sample.yaml: interval %q: want a duration of at least %v (err %v)", def.Interval, samplers.MinInterval, err)
	}
	if _, ok := def.Params["percpu"]; !ok {
		t.Errorf("sample.yaml: params do not document percpu: %v", def.Params)
	}
	params, err := json.Marshal(def.Params)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := New(params); err != nil {
		t.Errorf("New(sample.yaml params %s): %v", params, err)
	}

	typ, ok := samplers.Lookup("cpu")
	if !ok {
		t.Fatal(`type "cpu" is not registered`)
	}
	if typ.SampleConfig != sampleConfig {
		t.Error("registered SampleConfig is not the embedded sample.yaml")
	}
}

// TestSampleCancelled checks the lifecycle contract: a sample asked for
// after its context is done returns that context's error at once.
func TestSampleCancelled(t *testing.T) {
	s, err := New(nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	dvs, err := s.Sample(ctx)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Sample with a cancelled context: err = %v, want context.Canceled", err)
	}
	if dvs != nil {
		t.Errorf("Sample with a cancelled context returned dataviews: %v", dvs)
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
