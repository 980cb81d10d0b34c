// Package samplertest holds the contract every sampler type passes. A
// type's tests call Contract once with a Spec; the contract checks that
// the embedded sample configuration is one the type accepts, that bad
// params are refused by Validate and by New with the field named, that a
// sample cancelled in the middle stops at once, and that Close releases
// every file descriptor and goroutine the sampler took.
//
// Contract runs its checks as subtests and must not run in parallel with
// other tests: it counts the process's file descriptors and goroutines.
package samplertest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/goccy/go-yaml"
	"go.uber.org/goleak"

	"github.com/watchfloor/watchfloor/samplers"
)

// Hook is what a sampler built by Spec.Hooked calls before each of its
// accesses to the operating system, with the context that access is
// given. An error it returns is that access's error, as if the system had
// failed it.
type Hook func(ctx context.Context) error

// Spec describes one sampler type to Contract.
type Spec struct {
	// Type is the registered type's name.
	Type string
	// Env is what the host allows the sampler; the zero Env allows
	// nothing beyond /proc, which is what a netprobe started without
	// --allow-read or --allow-exec gives.
	Env samplers.Env
	// Bad are parameters that Validate and New must both refuse.
	Bad []Bad
	// Hooked builds a sampler as the type's New does, for params and
	// env, except that each of its accesses to the operating system
	// calls hook first (samplers reach the system through a narrow
	// interface, which the test wraps).
	Hooked func(params json.RawMessage, env samplers.Env, hook Hook) (samplers.Sampler, error)
}

// Bad is one set of parameters a sampler type must refuse.
type Bad struct {
	Name   string // the case's name, for the subtest
	Params string // the params, as the gateway sends them
	Field  string // text the error must hold: the field at fault
}

// prompt is how much (virtual) time a sample may take to return once its
// context is done.
const prompt = 10 * time.Millisecond

// Contract runs every check on the type spec describes.
func Contract(t *testing.T, spec Spec) {
	t.Helper()
	typ, ok := samplers.Lookup(spec.Type)
	if !ok {
		t.Fatalf("type %q is not registered (have %v)", spec.Type, samplers.TypeNames())
	}
	if spec.Hooked == nil {
		t.Fatal("Spec.Hooked is required: the contract cancels samples from inside the sampler's system calls")
	}
	if len(spec.Bad) == 0 {
		t.Fatal("Spec.Bad is required: every type refuses some params, at least an unknown field")
	}
	def := decodeDefinition(t, typ)
	params, err := json.Marshal(def.Params)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("sample config", func(t *testing.T) { sampleConfig(t, typ, spec.Env, def, params) })
	t.Run("bad params", func(t *testing.T) {
		for _, b := range spec.Bad {
			t.Run(b.Name, func(t *testing.T) { badParams(t, typ, spec.Env, b) })
		}
	})
	t.Run("close releases", func(t *testing.T) { closeReleases(t, typ, spec.Env, params) })
	t.Run("cancelled mid-sample", func(t *testing.T) { cancelledMidSample(t, spec, params) })
}

// definition is a sampler definition as configuration files hold it.
type definition struct {
	Name     string         `yaml:"name"`
	Type     string         `yaml:"type"`
	Interval string         `yaml:"interval"`
	Params   map[string]any `yaml:"params"`
}

// SampleParams decodes the registered type's embedded sample
// configuration, strictly (an unknown field is an error), and returns its
// params, for checks of a type's own on what it documents.
func SampleParams(t *testing.T, typeName string) map[string]any {
	t.Helper()
	typ, ok := samplers.Lookup(typeName)
	if !ok {
		t.Fatalf("type %q is not registered", typeName)
	}
	return decodeDefinition(t, typ).Params
}

func decodeDefinition(t *testing.T, typ samplers.Type) definition {
	t.Helper()
	if typ.SampleConfig == "" {
		t.Fatalf("type %s has no sample config", typ.Name)
	}
	var def definition
	if err := yaml.UnmarshalWithOptions([]byte(typ.SampleConfig), &def, yaml.Strict()); err != nil {
		t.Fatalf("decode %s's sample config: %v", typ.Name, err)
	}
	return def
}

// sampleConfig checks the embedded sample configuration: a definition
// named after the type, with an interval no shorter than the floor, whose
// params pass Validate and build a sampler (the demo composes it as is).
func sampleConfig(t *testing.T, typ samplers.Type, env samplers.Env, def definition, params json.RawMessage) {
	if def.Name != typ.Name || def.Type != typ.Name {
		t.Errorf("sample config: name %q, type %q; want %s for both", def.Name, def.Type, typ.Name)
	}
	iv, err := time.ParseDuration(def.Interval)
	if err != nil || iv < samplers.MinInterval {
		t.Errorf("sample config: interval %q: want a duration of at least %v (err %v)", def.Interval, samplers.MinInterval, err)
	}
	if err := typ.Validate(params); err != nil {
		t.Errorf("Validate(sample config params %s): %v", params, err)
	}
	s, err := typ.New(params, env)
	if err != nil {
		t.Fatalf("New(sample config params %s): %v", params, err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("Close of a sampler that never sampled: %v", err)
	}
}

func badParams(t *testing.T, typ samplers.Type, env samplers.Env, b Bad) {
	params := json.RawMessage(b.Params)
	check := func(what string, err error) {
		t.Helper()
		if err == nil {
			t.Errorf("%s(%s): no error, want one naming %q", what, b.Params, b.Field)
		} else if !strings.Contains(err.Error(), b.Field) {
			t.Errorf("%s(%s): error %q does not name %q", what, b.Params, err, b.Field)
		}
	}
	check("Validate", typ.Validate(params))
	s, err := typ.New(params, env)
	if s != nil {
		s.Close()
	}
	check("New", err)
}

// cancelledMidSample counts the system accesses of one whole sample, then
// for each of them in turn cancels the context from inside it. The
// sample must stop there: return the context's error, no dataviews and
// make no further access. It then makes each access block until the
// context is done, as a hung read does, and cancels from outside: the
// sample must return at once.
func cancelledMidSample(t *testing.T, spec Spec, params json.RawMessage) {
	calls := 0
	s := build(t, spec, params, func(context.Context) error { calls++; return nil })
	dvs, err := s.Sample(t.Context())
	if err != nil || len(dvs) == 0 {
		t.Fatalf("an uncancelled hooked sample: %d dataviews, err %v; want dataviews", len(dvs), err)
	}
	if calls == 0 {
		t.Fatal("the hooked sampler never called its hook: Hooked must wrap every access to the system")
	}
	closeOnce(t, s)

	for k := 1; k <= calls; k++ {
		t.Run(fmt.Sprintf("cancelled in access %d of %d", k, calls), func(t *testing.T) {
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			n := 0
			s := build(t, spec, params, func(context.Context) error {
				n++
				if n == k {
					cancel()
				}
				return nil
			})
			defer closeOnce(t, s)
			dvs, err := s.Sample(ctx)
			if !errors.Is(err, context.Canceled) {
				t.Errorf("Sample cancelled in access %d: err = %v, want context.Canceled", k, err)
			}
			if len(dvs) != 0 {
				t.Errorf("Sample cancelled in access %d returned %d dataviews, want none", k, len(dvs))
			}
			if n > k {
				t.Errorf("Sample cancelled in access %d went on to make %d more", k, n-k)
			}
			// A cancelled sample leaves the sampler fit to sample again.
			if dvs, err := s.Sample(t.Context()); err != nil || len(dvs) == 0 {
				t.Errorf("Sample after a cancelled one: %d dataviews, err %v", len(dvs), err)
			}
		})
		t.Run(fmt.Sprintf("blocked in access %d of %d", k, calls), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ctx, cancel := context.WithCancel(t.Context())
				defer cancel()
				n := 0
				entered := make(chan struct{})
				s := build(t, spec, params, func(ctx context.Context) error {
					n++
					if n != k {
						return nil
					}
					close(entered)
					<-ctx.Done()
					return ctx.Err()
				})
				defer closeOnce(t, s)
				type result struct {
					dvs []samplers.Dataview
					err error
				}
				done := make(chan result, 1)
				go func() {
					dvs, err := s.Sample(ctx)
					done <- result{dvs, err}
				}()
				<-entered
				cancel()
				cancelled := time.Now()
				var r result
				select {
				case r = <-done:
				case <-time.After(time.Minute):
					t.Fatalf("Sample blocked in access %d did not return within a minute of its cancellation", k)
				}
				if took := time.Since(cancelled); took > prompt {
					t.Errorf("Sample blocked in access %d took %v to return after its cancellation, want at most %v", k, took, prompt)
				}
				if !errors.Is(r.err, context.Canceled) || len(r.dvs) != 0 {
					t.Errorf("Sample blocked in access %d, then cancelled: %d dataviews, err %v; want none and context.Canceled", k, len(r.dvs), r.err)
				}
			})
		})
	}
}

func build(t *testing.T, spec Spec, params json.RawMessage, hook Hook) samplers.Sampler {
	t.Helper()
	s, err := spec.Hooked(params, spec.Env, hook)
	if err != nil {
		t.Fatalf("Hooked(%s): %v", params, err)
	}
	return s
}

func closeOnce(t *testing.T, s samplers.Sampler) {
	t.Helper()
	if err := s.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
}

// closeReleases builds samplers with New, samples each some number of
// times and closes it, and checks that the process holds the same file
// descriptors and goroutines as before. One round first lets whatever
// the process sets up once (gopsutil's caches, the runtime's poller) be
// set up outside the count.
func closeReleases(t *testing.T, typ samplers.Type, env samplers.Env, params json.RawMessage) {
	round := func(samples int) {
		t.Helper()
		s, err := typ.New(params, env)
		if err != nil {
			t.Fatalf("New(%s): %v", params, err)
		}
		for i := range samples {
			if _, err := s.Sample(t.Context()); err != nil {
				t.Fatalf("sample %d of %d: %v", i+1, samples, err)
			}
		}
		if err := s.Close(); err != nil {
			t.Errorf("Close after %d samples: %v", samples, err)
		}
	}
	round(1)
	fdsBefore := openFDs(t)
	goroutines := goleak.IgnoreCurrent()
	for _, samples := range []int{0, 1, 3} {
		round(samples)
		if fdsBefore != nil {
			if leaked := newFDs(fdsBefore, openFDs(t)); len(leaked) > 0 {
				t.Errorf("after New, %d samples and Close, these descriptors are still open: %s", samples, strings.Join(leaked, ", "))
			}
		}
		if err := goleak.Find(goroutines); err != nil {
			t.Errorf("after New, %d samples and Close, goroutines are left: %v", samples, err)
		}
	}
}

// openFDs returns the process's open file descriptors and what each is
// open on, or nil where /proc/self/fd does not exist.
func openFDs(t *testing.T) map[int]string {
	t.Helper()
	entries, err := os.ReadDir("/proc/self/fd")
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	fds := make(map[int]string, len(entries))
	for _, e := range entries {
		fd, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		// The descriptor ReadDir itself had open is gone by now.
		if target, err := os.Readlink("/proc/self/fd/" + e.Name()); err == nil {
			fds[fd] = target
		}
	}
	return fds
}

func newFDs(before, after map[int]string) []string {
	var fds []int
	for fd, target := range after {
		if before[fd] != target {
			fds = append(fds, fd)
		}
	}
	slices.Sort(fds)
	leaked := make([]string, len(fds))
	for i, fd := range fds {
		leaked[i] = fmt.Sprintf("%d (%s)", fd, after[fd])
	}
	return leaked
}
