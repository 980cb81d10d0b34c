package all

import (
	"testing"

	"github.com/watchfloor/watchfloor/samplers"
)

func TestRegistered(t *testing.T) {
	for _, name := range []string{"cpu", "memory"} {
		typ, ok := samplers.Lookup(name)
		if !ok {
			t.Errorf("type %q is not registered (have %v)", name, samplers.TypeNames())
			continue
		}
		if typ.SampleConfig == "" {
			t.Errorf("type %q has no sample config", name)
		}
		if _, err := samplers.New(name, nil, samplers.Env{}); err != nil {
			t.Errorf("samplers.New(%q, defaults): %v", name, err)
		}
	}
}
