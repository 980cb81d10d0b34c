// Package samplertest holds the checks every sampler type's tests make:
// that its embedded sample configuration is one it accepts, that bad
// params are refused with the field named, and that it honours a
// cancelled context.
package samplertest

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/watchfloor/watchfloor/samplers"
)

// SampleConfig checks the registered type's embedded sample configuration:
// a sampler definition named after the type, with an interval no shorter
// than the floor, whose params build a sampler (the demo composes it as
// is). It returns the params for checks of their own.
func SampleConfig(t *testing.T, typeName string) map[string]any {
	t.Helper()
	typ, ok := samplers.Lookup(typeName)
	if !ok {
		t.Fatalf("type %q is not registered", typeName)
	}
	var def struct {
		Name     string         `yaml:"name"`
		Type     string         `yaml:"type"`
		Interval string         `yaml:"interval"`
		Params   map[string]any `yaml:"params"`
	}
	dec := yaml.NewDecoder(strings.NewReader(typ.SampleConfig))
	dec.KnownFields(true)
	if err := dec.Decode(&def); err != nil {
		t.Fatalf("decode %s's sample config: %v", typeName, err)
	}
	if def.Name != typeName || def.Type != typeName {
		t.Errorf("sample config: name %q, type %q; want %s for both", def.Name, def.Type, typeName)
	}
	iv, err := time.ParseDuration(def.Interval)
	if err != nil || iv < samplers.MinInterval {
		t.Errorf("sample config: interval %q: want a duration of at least %v (err %v)", def.Interval, samplers.MinInterval, err)
	}
	params, err := json.Marshal(def.Params)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := typ.New(params, samplers.Env{}); err != nil {
		t.Errorf("New(sample config params %s): %v", params, err)
	}
	return def.Params
}

// BadParams checks that New refuses params with an error mentioning want.
func BadParams(t *testing.T, typeName, name, params, want string) {
	t.Helper()
	t.Run(name, func(t *testing.T) {
		_, err := samplers.New(typeName, json.RawMessage(params), samplers.Env{})
		if err == nil {
			t.Fatalf("New(%s): no error, want one mentioning %q", params, want)
		}
		if !strings.Contains(err.Error(), want) {
			t.Errorf("New(%s): error %q does not mention %q", params, err, want)
		}
	})
}

// Cancelled checks the lifecycle contract: a sample asked for after its
// context is done returns that context's error at once, with no data.
func Cancelled(t *testing.T, s samplers.Sampler) {
	t.Helper()
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
