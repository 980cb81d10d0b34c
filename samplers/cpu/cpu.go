// Package cpu samples CPU utilisation, in total and per core, as
// percentages of each interval, with the load averages as headlines.
//
// Rates come from the change in the kernel's CPU time counters between two
// consecutive samples; see README.md for the arithmetic.
package cpu

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"slices"

	"github.com/shirou/gopsutil/v4/cpu"
	"github.com/shirou/gopsutil/v4/load"

	"github.com/watchfloor/watchfloor/samplers"
)

//go:embed sample.yaml
var sampleConfig string

func init() {
	samplers.Register(samplers.Type{Name: "cpu", Validate: Validate, New: New, SampleConfig: sampleConfig})
}

// columns are the cpu dataview's columns, in order. Nice, irq and softirq
// time have no column of their own but count towards utilisation.
var columns = []string{"utilisation", "user", "system", "iowait", "steal"}

// config is the sampler's parameters.
type config struct {
	PerCPU bool `json:"percpu"`
}

// source is the sampler's window on the operating system. It is narrow so
// that the rate arithmetic sees nothing but counters.
type source interface {
	// times returns the all-CPUs counters (percpu false) or one entry per
	// online CPU (percpu true), as seconds since boot.
	times(ctx context.Context, percpu bool) ([]cpu.TimesStat, error)
	load(ctx context.Context) (*load.AvgStat, error)
}

// gopsutilSource reads the counters with gopsutil. gopsutil honours
// HOST_PROC, from the environment or from the context (common.EnvKey), so a
// netprobe in a container can watch the host's /proc, and tests can point
// it at recorded trees.
type gopsutilSource struct{}

func (gopsutilSource) times(ctx context.Context, percpu bool) ([]cpu.TimesStat, error) {
	ts, err := cpu.TimesWithContext(ctx, percpu)
	if err != nil {
		return nil, err
	}
	// On Linux gopsutil reports an unreadable /proc/stat as no CPUs rather
	// than as an error; a machine with no CPUs is not one we can be on.
	if len(ts) == 0 {
		return nil, errors.New("no CPU times found")
	}
	return ts, nil
}

func (gopsutilSource) load(ctx context.Context) (*load.AvgStat, error) {
	return load.AvgWithContext(ctx)
}

// Sampler samples CPU times and load averages into the "cpu" dataview.
// It keeps the previous sample's counters to compute rates, so it is not
// safe for concurrent use.
type Sampler struct {
	percpu bool
	src    source
	// prev holds the counters last seen for each CPU, by gopsutil's name
	// for it. A CPU that goes offline keeps its entry: its counters stop
	// while it is away, so when it comes back the change since then is
	// exactly its time online.
	prev map[string]cpu.TimesStat
	// last holds the cells last computed for each CPU, repeated when no
	// clock tick has elapsed since the previous sample (a rate over no
	// time is undefined, and blanking the row would look like an outage).
	last map[string][]samplers.Cell
}

var _ samplers.Sampler = (*Sampler)(nil)

func parse(params json.RawMessage) (config, error) {
	c := config{PerCPU: true}
	err := samplers.DecodeParams(params, &c)
	return c, err
}

// Validate checks a cpu sampler's parameters (see sample.yaml): unknown
// ones are refused.
func Validate(params json.RawMessage) error {
	_, err := parse(params)
	return err
}

// New builds a cpu sampler from its parameters. It reads /proc, which
// every host allows, and nothing until the first Sample.
func New(params json.RawMessage, _ samplers.Env) (samplers.Sampler, error) {
	c, err := parse(params)
	if err != nil {
		return nil, err
	}
	return newSampler(c, gopsutilSource{}), nil
}

func newSampler(c config, src source) *Sampler {
	return &Sampler{
		percpu: c.PerCPU,
		src:    src,
		prev:   map[string]cpu.TimesStat{},
		last:   map[string][]samplers.Cell{},
	}
}

// Sample reads the CPU counters and load averages and returns the "cpu"
// dataview: a "total" row, then one row per online core unless percpu is
// off. The first sample after New reports averages since boot, as top's
// first frame does; later ones cover the time since the previous sample.
func (s *Sampler) Sample(ctx context.Context) ([]samplers.Dataview, error) {
	if err := samplers.Step(ctx, "sample cpu", nil); err != nil {
		return nil, err
	}
	total, err := s.src.times(ctx, false)
	if err := samplers.Step(ctx, "read total CPU times", err); err != nil {
		return nil, err
	}
	cores, err := s.src.times(ctx, true)
	if err := samplers.Step(ctx, "read per-CPU times", err); err != nil {
		return nil, err
	}
	avg, err := s.src.load(ctx)
	if err := samplers.Step(ctx, "read load averages", err); err != nil {
		return nil, err
	}

	dv := samplers.Dataview{
		Name:    "cpu",
		Columns: columns,
		Rows:    []samplers.Row{{Name: "total", Cells: s.rate(total[0])}},
		Headlines: []samplers.Headline{
			{Name: "load1", Value: samplers.Number(avg.Load1, 2)},
			{Name: "load5", Value: samplers.Number(avg.Load5, 2)},
			{Name: "load15", Value: samplers.Number(avg.Load15, 2)},
			{Name: "cores", Value: samplers.Int(int64(len(cores)))},
		},
	}
	if s.percpu {
		for _, t := range cores {
			dv.Rows = append(dv.Rows, samplers.Row{Name: t.CPU, Cells: s.rate(t)})
		}
	}
	return []samplers.Dataview{dv}, nil
}

// Close releases nothing: the sampler holds no files between samples.
func (s *Sampler) Close() error { return nil }

// rate returns one CPU's cells for the interval since its previous counters
// (since boot if there are none) and makes cur the new baseline.
func (s *Sampler) rate(cur cpu.TimesStat) []samplers.Cell {
	prev := s.prev[cur.CPU]
	s.prev[cur.CPU] = cur

	// A counter can go backwards (the kernel's iowait does, on idle CPUs
	// with nohz); count that field as no time rather than negative time.
	d := func(now, before float64) float64 { return max(now-before, 0) }
	user := d(cur.User, prev.User)
	nice := d(cur.Nice, prev.Nice)
	system := d(cur.System, prev.System)
	idle := d(cur.Idle, prev.Idle)
	iowait := d(cur.Iowait, prev.Iowait)
	irq := d(cur.Irq, prev.Irq)
	softirq := d(cur.Softirq, prev.Softirq)
	steal := d(cur.Steal, prev.Steal)
	// Guest and GuestNice are left out: the kernel already counts them
	// in User and Nice.
	busy := user + nice + system + irq + softirq + steal
	all := busy + idle + iowait

	if all <= 0 {
		if cells, ok := s.last[cur.CPU]; ok {
			// A copy, so a caller that edits its dataview cannot
			// change what the next sample repeats.
			return slices.Clone(cells)
		}
		cells := make([]samplers.Cell, len(columns))
		for i := range cells {
			cells[i] = samplers.Text("")
		}
		return cells
	}
	pct := func(v float64) samplers.Cell { return samplers.Number(min(100*v/all, 100), 2) }
	// Utilisation is busy/all, which is 100 - idle% - iowait%; summing the
	// busy fields rather than subtracting keeps a quiet CPU at 0.00, never
	// at a float's -0.00.
	cells := []samplers.Cell{pct(busy), pct(user), pct(system), pct(iowait), pct(steal)}
	s.last[cur.CPU] = cells
	return cells
}
