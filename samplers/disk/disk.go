// Package disk samples file system usage, one row per mount point, as df
// reports it: sizes in bytes, free space as available to non-root users.
//
// Pseudo file systems are left out by default, as node_exporter does; see
// README.md for the parameters.
package disk

import (
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"

	"github.com/shirou/gopsutil/v4/disk"

	"github.com/watchfloor/watchfloor/samplers"
)

//go:embed sample.yaml
var sampleConfig string

func init() {
	samplers.Register(samplers.Type{Name: "disk", Validate: Validate, New: New, SampleConfig: sampleConfig})
}

// columns are the disk dataview's columns, in order.
var columns = []string{"size", "used", "free", "usedPercent", "inodesUsedPercent", "readOnly", "error"}

// defaultExcludeTypes are the pseudo and read-only image file systems left
// out unless excludeTypes says otherwise.
var defaultExcludeTypes = []string{
	"autofs", "binfmt_misc", "bpf", "cgroup", "cgroup2", "configfs", "debugfs",
	"devpts", "devtmpfs", "fusectl", "hugetlbfs", "iso9660", "mqueue", "nsfs",
	"overlay", "proc", "procfs", "pstore", "rpc_pipefs", "securityfs",
	"selinuxfs", "squashfs", "erofs", "sysfs", "tracefs", "ramfs", "efivarfs",
}

// defaultExcludeMounts matches the mount points left out unless
// excludeMounts says otherwise.
const defaultExcludeMounts = `^/(dev|proc|sys|run/credentials/.+|var/lib/docker/.+|var/lib/containers/storage/.+)($|/)`

// config is the sampler's parameters.
type config struct {
	ExcludeTypes  []string `json:"excludeTypes"`
	ExcludeMounts *string  `json:"excludeMounts"`
	Mounts        []string `json:"mounts"`
}

// filter is a config compiled: which mounts get a row.
type filter struct {
	excludeTypes  map[string]bool
	excludeMounts *regexp.Regexp
	mounts        []*regexp.Regexp
}

// keep reports whether the mount of fstype on path gets a row.
func (f filter) keep(path, fstype string) bool {
	if f.excludeTypes[fstype] {
		return false
	}
	if f.excludeMounts != nil && f.excludeMounts.MatchString(path) {
		return false
	}
	if len(f.mounts) == 0 {
		return true
	}
	return slices.ContainsFunc(f.mounts, func(re *regexp.Regexp) bool { return re.MatchString(path) })
}

// source is the sampler's window on the operating system: the mount table
// and one statfs per mount point.
type source interface {
	partitions(ctx context.Context) ([]disk.PartitionStat, error)
	usage(ctx context.Context, path string) (*disk.UsageStat, error)
}

// gopsutilSource reads the mount table and usage with gopsutil, which
// honours HOST_PROC from the environment or the context (common.EnvKey).
type gopsutilSource struct{}

func (gopsutilSource) partitions(ctx context.Context) ([]disk.PartitionStat, error) {
	return disk.PartitionsWithContext(ctx, true)
}

func (gopsutilSource) usage(ctx context.Context, path string) (*disk.UsageStat, error) {
	return disk.UsageWithContext(ctx, path)
}

// Sampler samples mounted file systems into the "disk" dataview.
type Sampler struct {
	filter filter
	src    source
	// index maps a mount point to its row in the sample being built; it
	// is kept between samples to save the allocation.
	index map[string]int
}

var _ samplers.Sampler = (*Sampler)(nil)

func parse(params json.RawMessage) (filter, error) {
	var c config
	if err := samplers.DecodeParams(params, &c); err != nil {
		return filter{}, err
	}
	types := defaultExcludeTypes
	if c.ExcludeTypes != nil {
		types = c.ExcludeTypes
	}
	f := filter{excludeTypes: make(map[string]bool, len(types))}
	for _, t := range types {
		f.excludeTypes[t] = true
	}
	expr := defaultExcludeMounts
	if c.ExcludeMounts != nil {
		expr = *c.ExcludeMounts
	}
	if expr != "" {
		re, err := regexp.Compile(expr)
		if err != nil {
			return filter{}, fmt.Errorf("excludeMounts: %w", err)
		}
		f.excludeMounts = re
	}
	for i, m := range c.Mounts {
		re, err := regexp.Compile(m)
		if err != nil {
			return filter{}, fmt.Errorf("mounts[%d]: %w", i, err)
		}
		f.mounts = append(f.mounts, re)
	}
	return f, nil
}

// Validate checks a disk sampler's parameters (see sample.yaml): unknown
// ones and regular expressions that do not compile are refused.
func Validate(params json.RawMessage) error {
	_, err := parse(params)
	return err
}

// New builds a disk sampler from its parameters. It reads the mount table
// under /proc and statfs's the mount points, and nothing until the first
// Sample.
func New(params json.RawMessage, _ samplers.Env) (samplers.Sampler, error) {
	f, err := parse(params)
	if err != nil {
		return nil, err
	}
	return newSampler(f, gopsutilSource{}), nil
}

func newSampler(f filter, src source) *Sampler {
	return &Sampler{filter: f, src: src, index: map[string]int{}}
}

// Sample reads the mount table and each kept mount point's usage and
// returns the "disk" dataview, one row per mount point in mount table
// order. A mount point listed twice (a bind or an over-mount) has one row,
// for the mount listed last, which is the one its path reaches. A mount
// whose statfs fails keeps its row, with empty figures and the failure in
// the error column.
func (s *Sampler) Sample(ctx context.Context) ([]samplers.Dataview, error) {
	if err := samplers.Step(ctx, "sample disk", nil); err != nil {
		return nil, err
	}
	parts, err := s.src.partitions(ctx)
	if err := samplers.Step(ctx, "read mount table", err); err != nil {
		return nil, err
	}
	clear(s.index)
	var kept []disk.PartitionStat
	for _, p := range parts {
		if !s.filter.keep(p.Mountpoint, p.Fstype) {
			continue
		}
		if i, dup := s.index[p.Mountpoint]; dup {
			kept[i] = p
			continue
		}
		s.index[p.Mountpoint] = len(kept)
		kept = append(kept, p)
	}
	dv := samplers.Dataview{Name: "disk", Columns: columns, Rows: make([]samplers.Row, 0, len(kept))}
	for _, p := range kept {
		u, err := s.src.usage(ctx, p.Mountpoint)
		if err := samplers.Step(ctx, "statfs "+p.Mountpoint, nil); err != nil {
			return nil, err
		}
		dv.Rows = append(dv.Rows, samplers.Row{Name: p.Mountpoint, Cells: cells(p, u, err)})
	}
	dv.Headlines = []samplers.Headline{{Name: "mounts", Value: samplers.Int(int64(len(dv.Rows)))}}
	return []samplers.Dataview{dv}, nil
}

// Close releases nothing: the sampler holds no files between samples.
func (s *Sampler) Close() error { return nil }

// cells returns one mount's cells from its usage, or empty figures and the
// message when err is not nil.
func cells(p disk.PartitionStat, u *disk.UsageStat, err error) []samplers.Cell {
	ro := int64(0)
	if slices.Contains(p.Opts, "ro") {
		ro = 1
	}
	if err != nil {
		empty := samplers.Text("")
		return []samplers.Cell{empty, empty, empty, empty, empty, samplers.Int(ro), samplers.Text(err.Error())}
	}
	// As df: used is what is allocated, free what non-root may allocate,
	// and the percentage is of the two together, leaving out the blocks
	// reserved for root.
	pct := 0.0
	if u.Used+u.Free > 0 {
		pct = 100 * float64(u.Used) / float64(u.Used+u.Free)
	}
	return []samplers.Cell{
		samplers.Int(int64(u.Total)),
		samplers.Int(int64(u.Used)),
		samplers.Int(int64(u.Free)),
		samplers.Number(pct, 2),
		samplers.Number(u.InodesUsedPercent, 2),
		samplers.Int(ro),
		samplers.Text(""),
	}
}
