package network

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/watchfloor/watchfloor/samplers"
	"github.com/watchfloor/watchfloor/samplers/samplertest"
)

type hookedSource struct {
	source
	hook samplertest.Hook
}

func (h hookedSource) proc(ctx context.Context, name string, buf []byte) ([]byte, error) {
	if err := h.hook(ctx); err != nil {
		return buf[:0], err
	}
	return h.source.proc(ctx, name, buf)
}

func (h hookedSource) sys(ctx context.Context, name string, buf []byte) ([]byte, error) {
	if err := h.hook(ctx); err != nil {
		return buf[:0], err
	}
	return h.source.sys(ctx, name, buf)
}

func TestContract(t *testing.T) {
	samplertest.Contract(t, samplertest.Spec{
		Type: "network",
		Bad: []samplertest.Bad{
			{Name: "unknown field", Params: `{"iface": "lo"}`, Field: `"iface"`},
			{Name: "bad interfaces regex", Params: `{"interfaces": "("}`, Field: "interfaces"},
			{Name: "bad exclude regex", Params: `{"exclude": "["}`, Field: "exclude"},
		},
		Hooked: func(params json.RawMessage, _ samplers.Env, hook samplertest.Hook) (samplers.Sampler, error) {
			f, err := parse(params)
			if err != nil {
				return nil, err
			}
			return newSampler(f, hookedSource{fileSource{}, hook}, time.Now), nil
		},
	})
}

func TestDelta(t *testing.T) {
	for _, c := range []struct{ cur, prev, want uint64 }{
		{150, 100, 50},
		{100, 1<<32 - 100, 200},
		{40, 5000, 40},
	} {
		if got := delta(c.cur, c.prev); got != c.want {
			t.Errorf("delta(%d, %d) = %d, want %d", c.cur, c.prev, got, c.want)
		}
	}
}

func TestLiveLoopback(t *testing.T) {
	s, err := New(json.RawMessage(`{"interfaces": "^lo$"}`), samplers.Env{})
	if err != nil {
		t.Fatal(err)
	}
	dvs, err := s.Sample(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile("/sys/class/net/lo/operstate")
	if err != nil {
		t.Fatal(err)
	}
	rows := dvs[0].Rows
	if len(rows) != 1 || rows[0].Name != "lo" {
		t.Fatalf("rows %v, want lo only", rows)
	}
	if got := rows[0].Cells[8].Raw; got != strings.TrimSpace(string(want)) {
		t.Errorf("lo linkState %q, want %q", got, want)
	}
}
