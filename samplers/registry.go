package samplers

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"time"
)

// MinInterval is the shortest tick a sampler may run at; DefaultInterval is
// used where a configuration gives none.
const (
	MinInterval     = 100 * time.Millisecond
	DefaultInterval = time.Second
)

// Type describes one kind of sampler.
type Type struct {
	// Name is what configurations call it: "cpu", "memory".
	Name string
	// Validate checks parameters, given as a JSON object (nil or empty for
	// the defaults), without touching the system: the gateway calls it
	// when it reads its configuration, far from the server the sampler
	// will run on. An error names the field at fault.
	Validate func(params json.RawMessage) error
	// New builds an instance on the netprobe, for the host's Env. It
	// checks params as Validate does, and paths against env, and has no
	// other side effects: it starts nothing and opens nothing until the
	// first Sample.
	New func(params json.RawMessage, env Env) (Sampler, error)
	// SampleConfig is a YAML sampler definition that documents the
	// parameters; the demo composes these.
	SampleConfig string
}

var (
	registryMu sync.RWMutex
	registry   = map[string]Type{}
)

// Register adds a sampler type. It panics on a duplicate or incomplete
// registration: that is a programming mistake.
func Register(t Type) {
	if t.Name == "" || t.New == nil || t.Validate == nil {
		panic("samplers: Register needs a name, a Validate and a New")
	}
	registryMu.Lock()
	defer registryMu.Unlock()
	if _, dup := registry[t.Name]; dup {
		panic("samplers: duplicate registration of type " + t.Name)
	}
	registry[t.Name] = t
}

// Lookup returns the registered type with the given name.
func Lookup(name string) (Type, bool) {
	registryMu.RLock()
	defer registryMu.RUnlock()
	t, ok := registry[name]
	return t, ok
}

// TypeNames returns the registered type names, sorted.
func TypeNames() []string {
	registryMu.RLock()
	defer registryMu.RUnlock()
	names := make([]string, 0, len(registry))
	for n := range registry {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// Validate checks params for a sampler of the named type.
func Validate(typ string, params json.RawMessage) error {
	t, ok := Lookup(typ)
	if !ok {
		return fmt.Errorf("unknown sampler type %q (known: %v)", typ, TypeNames())
	}
	if err := t.Validate(params); err != nil {
		return fmt.Errorf("%s sampler: %w", typ, err)
	}
	return nil
}

// New builds a sampler of the named type for env.
func New(typ string, params json.RawMessage, env Env) (Sampler, error) {
	t, ok := Lookup(typ)
	if !ok {
		return nil, fmt.Errorf("unknown sampler type %q (known: %v)", typ, TypeNames())
	}
	s, err := t.New(params, env)
	if err != nil {
		return nil, fmt.Errorf("%s sampler: %w", typ, err)
	}
	return s, nil
}

// DecodeParams decodes params into v, rejecting unknown fields and trailing
// data. Empty params leave v as it is, so callers set defaults first.
func DecodeParams(params json.RawMessage, v any) error {
	if len(bytes.TrimSpace(params)) == 0 || string(bytes.TrimSpace(params)) == "null" {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(params))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("params: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errors.New("params: trailing data after the object")
	}
	return nil
}
