package config_test

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/watchfloor/watchfloor/samplers"
)

// The tests use sampler types of their own rather than real ones, so that
// what they expect does not change when a real sampler does.
//
//   - test: params {"n": int}, n from 0 to 100, default 1.
//   - test-strict: params {"n": int}, n required and at least 1, so its
//     defaults alone are invalid.
//   - test-any: params any JSON object.
func init() {
	register("test", func(params json.RawMessage) error {
		p := testParams{N: 1}
		if err := samplers.DecodeParams(params, &p); err != nil {
			return err
		}
		if p.N < 0 || p.N > 100 {
			return errors.New("params: n must be from 0 to 100")
		}
		return nil
	})
	register("test-strict", func(params json.RawMessage) error {
		var p testParams
		if err := samplers.DecodeParams(params, &p); err != nil {
			return err
		}
		if p.N < 1 {
			return errors.New("params: n is required and must be at least 1")
		}
		return nil
	})
	register("test-any", func(params json.RawMessage) error {
		var p map[string]any
		return samplers.DecodeParams(params, &p)
	})
}

func register(name string, validate func(json.RawMessage) error) {
	samplers.Register(samplers.Type{Name: name, Validate: validate,
		New: func(params json.RawMessage, _ samplers.Env) (samplers.Sampler, error) {
			if err := validate(params); err != nil {
				return nil, err
			}
			return &testSampler{}, nil
		}})
}

type testParams struct {
	N int `json:"n"`
}

type testSampler struct{}

var _ samplers.Sampler = (*testSampler)(nil)

func (s *testSampler) Sample(context.Context) ([]samplers.Dataview, error) { return nil, nil }
func (s *testSampler) Close() error                                        { return nil }
