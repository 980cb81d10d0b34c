package memory

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
	for _, params := range []string{"", "null", "{}", " { } "} {
		if _, err := New(json.RawMessage(params)); err != nil {
			t.Errorf("New(%q): %v", params, err)
		}
	}
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
	bad("any field", `{"swap": false}`, `"swap"`)
	bad("not an object", `[]`, "params")
	bad("trailing data", `{} {}`, "trailing")
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
	if def.Name != "memory" || def.Type != "memory" {
		t.Errorf("sample.yaml: name %q, type %q; want memory, memory", def.Name, def.Type)
	}
	iv, err := time.ParseDuration(def.Interval)
	if err != nil || iv < samplers.MinInterval {
		t.Errorf("sample.yaml: interval %q: want a duration of at least %v (err %v)", def.Interval, samplers.MinInterval, err)
	}
	params, err := json.Marshal(def.Params)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := New(params); err != nil {
		t.Errorf("New(sample.yaml params %s): %v", params, err)
	}

	typ, ok := samplers.Lookup("memory")
	if !ok {
		t.Fatal(`type "memory" is not registered`)
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
