// Package memory samples physical memory and swap: how much there is, how
// much is in use and how much is still available.
package memory

import (
	"context"
	_ "embed"
	"encoding/json"

	"github.com/shirou/gopsutil/v4/mem"

	"github.com/watchfloor/watchfloor/samplers"
)

//go:embed sample.yaml
var sampleConfig string

func init() {
	samplers.Register(samplers.Type{Name: "memory", Validate: Validate, New: New, SampleConfig: sampleConfig})
}

// columns are the memory dataview's columns, in order.
var columns = []string{"total", "used", "available", "usedPercent"}

// source is the sampler's window on the operating system: one reading of
// physical memory and swap, in bytes.
type source interface {
	memory(ctx context.Context) (*mem.VirtualMemoryStat, *mem.SwapMemoryStat, error)
}

// Sampler samples memory into the "memory" dataview. It holds no state
// between samples, but like every sampler it is not meant for concurrent
// use.
type Sampler struct {
	src source
}

var _ samplers.Sampler = (*Sampler)(nil)

// Validate checks a memory sampler's parameters. It takes none: empty
// params or {} are accepted and any field is refused.
func Validate(params json.RawMessage) error {
	var none struct{}
	return samplers.DecodeParams(params, &none)
}

// New builds a memory sampler. It reads /proc, which every host allows,
// and nothing until the first Sample.
func New(params json.RawMessage, _ samplers.Env) (samplers.Sampler, error) {
	if err := Validate(params); err != nil {
		return nil, err
	}
	return &Sampler{src: gopsutilSource{}}, nil
}

// Close releases nothing: the sampler holds no files between samples.
func (s *Sampler) Close() error { return nil }

// Sample returns the "memory" dataview with a "physical" and a "swap" row.
// Used is what is not available: for physical memory that leaves out the
// page cache and other memory the kernel can reclaim without swapping.
func (s *Sampler) Sample(ctx context.Context) ([]samplers.Dataview, error) {
	if err := samplers.Step(ctx, "sample memory", nil); err != nil {
		return nil, err
	}
	vm, sw, err := s.src.memory(ctx)
	if err := samplers.Step(ctx, "read memory", err); err != nil {
		return nil, err
	}
	return []samplers.Dataview{{
		Name:    "memory",
		Columns: columns,
		Rows: []samplers.Row{
			row("physical", vm.Total, vm.Available),
			row("swap", sw.Total, sw.Free),
		},
	}}, nil
}

func row(name string, total, available uint64) samplers.Row {
	// Figures from one reading can still disagree by a page or two;
	// never report more available than there is.
	available = min(available, total)
	used := total - available
	pct := 0.0
	if total > 0 {
		pct = 100 * float64(used) / float64(total)
	}
	return samplers.Row{Name: name, Cells: []samplers.Cell{
		samplers.Int(int64(total)),
		samplers.Int(int64(used)),
		samplers.Int(int64(available)),
		samplers.Number(pct, 2),
	}}
}
