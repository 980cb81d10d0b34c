package disk

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/shirou/gopsutil/v4/disk"

	"github.com/watchfloor/watchfloor/samplers"
	"github.com/watchfloor/watchfloor/samplers/samplertest"
)

// hookedSource calls the contract's hook before each access to the system.
type hookedSource struct {
	source
	hook samplertest.Hook
}

func (h hookedSource) partitions(ctx context.Context) ([]disk.PartitionStat, error) {
	if err := h.hook(ctx); err != nil {
		return nil, err
	}
	return h.source.partitions(ctx)
}

func (h hookedSource) usage(ctx context.Context, path string) (*disk.UsageStat, error) {
	if err := h.hook(ctx); err != nil {
		return nil, err
	}
	return h.source.usage(ctx, path)
}

func TestContract(t *testing.T) {
	samplertest.Contract(t, samplertest.Spec{
		Type: "disk",
		Bad: []samplertest.Bad{
			{Name: "unknown field", Params: `{"exclude": []}`, Field: `"exclude"`},
			{Name: "wrong type", Params: `{"excludeTypes": "proc"}`, Field: "excludeTypes"},
			{Name: "bad excludeMounts", Params: `{"excludeMounts": "("}`, Field: "excludeMounts"},
			{Name: "bad mounts", Params: `{"mounts": ["/", "[a"]}`, Field: "mounts[1]"},
			{Name: "not an object", Params: `[true]`, Field: "params"},
			{Name: "trailing data", Params: `{} {}`, Field: "trailing"},
		},
		Hooked: func(params json.RawMessage, _ samplers.Env, hook samplertest.Hook) (samplers.Sampler, error) {
			f, err := parse(params)
			if err != nil {
				return nil, err
			}
			return newSampler(f, hookedSource{gopsutilSource{}, hook}), nil
		},
	})
}

// TestSampleConfig checks what the embedded sample.yaml documents; the
// contract checks that it is one the type accepts.
func TestSampleConfig(t *testing.T) {
	params := samplertest.SampleParams(t, "disk")
	for _, p := range []string{"excludeTypes", "excludeMounts", "mounts"} {
		if _, ok := params[p]; !ok {
			t.Errorf("sample config does not document %s", p)
		}
	}
	if typ, _ := samplers.Lookup("disk"); typ.SampleConfig != sampleConfig {
		t.Error("registered SampleConfig is not the embedded sample.yaml")
	}
	// The documented defaults are the defaults.
	if got := params["excludeMounts"]; got != defaultExcludeMounts {
		t.Errorf("sample excludeMounts %v, want %s", got, defaultExcludeMounts)
	}
	types, _ := params["excludeTypes"].([]any)
	if len(types) != len(defaultExcludeTypes) {
		t.Fatalf("sample excludeTypes %v, want %v", types, defaultExcludeTypes)
	}
	for i, ty := range types {
		if ty != defaultExcludeTypes[i] {
			t.Errorf("sample excludeTypes[%d] = %v, want %s", i, ty, defaultExcludeTypes[i])
		}
	}
}
