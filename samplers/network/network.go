// Package network samples per-interface traffic rates and link state, with
// TCP stack counters as headlines. See README.md for the arithmetic.
package network

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"time"

	"github.com/shirou/gopsutil/v4/common"

	"github.com/watchfloor/watchfloor/samplers"
)

//go:embed sample.yaml
var sampleConfig string

func init() {
	samplers.Register(samplers.Type{Name: "network", Validate: Validate, New: New, SampleConfig: sampleConfig})
}

var columns = []string{"rxBytesPerSec", "txBytesPerSec", "rxPacketsPerSec", "txPacketsPerSec",
	"rxErrorsPerSec", "txErrorsPerSec", "rxDropsPerSec", "txDropsPerSec", "linkState"}

type config struct {
	Interfaces string `json:"interfaces"`
	Exclude    string `json:"exclude"`
}

type filter struct{ include, exclude *regexp.Regexp }

func parse(params json.RawMessage) (filter, error) {
	c := config{Exclude: `^(veth.*|docker.*|br-.*)$`}
	if err := samplers.DecodeParams(params, &c); err != nil {
		return filter{}, err
	}
	var f filter
	var err error
	if c.Interfaces != "" {
		if f.include, err = regexp.Compile(c.Interfaces); err != nil {
			return filter{}, fmt.Errorf("params: interfaces: %w", err)
		}
	}
	if c.Exclude != "" {
		if f.exclude, err = regexp.Compile(c.Exclude); err != nil {
			return filter{}, fmt.Errorf("params: exclude: %w", err)
		}
	}
	return f, nil
}

// Validate checks a network sampler's parameters (see sample.yaml).
func Validate(params json.RawMessage) error {
	_, err := parse(params)
	return err
}

// New builds a network sampler; it reads nothing until the first Sample.
func New(params json.RawMessage, _ samplers.Env) (samplers.Sampler, error) {
	f, err := parse(params)
	if err != nil {
		return nil, err
	}
	return newSampler(f, fileSource{}, time.Now), nil
}

// source is the sampler's window on the system: whole files under the
// proc root ("net/dev") and the sys root ("class/net/lo/operstate").
type source interface {
	proc(ctx context.Context, name string, buf []byte) ([]byte, error)
	sys(ctx context.Context, name string, buf []byte) ([]byte, error)
}

type fileSource struct{}

func root(ctx context.Context, key common.EnvKeyType, dfault string) string {
	if env, ok := ctx.Value(common.EnvKey).(common.EnvMap); ok && env[key] != "" {
		return env[key]
	}
	if v := os.Getenv(string(key)); v != "" {
		return v
	}
	return dfault
}

func readInto(path string, buf []byte) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return buf[:0], err
	}
	defer f.Close()
	b := bytes.NewBuffer(buf[:0])
	_, err = b.ReadFrom(f)
	return b.Bytes(), err
}

func (fileSource) proc(ctx context.Context, name string, buf []byte) ([]byte, error) {
	return readInto(filepath.Join(root(ctx, common.HostProcEnvKey, "/proc"), name), buf)
}

func (fileSource) sys(ctx context.Context, name string, buf []byte) ([]byte, error) {
	return readInto(filepath.Join(root(ctx, common.HostSysEnvKey, "/sys"), name), buf)
}

// counters are one interface's /proc/net/dev fields we use, in column order.
type counters [8]uint64

// Sampler samples the "network" dataview; not safe for concurrent use.
type Sampler struct {
	f      filter
	src    source
	now    func() time.Time
	buf    []byte
	last   time.Time
	prev   map[string]counters
	tcp    [2]uint64 // RetransSegs, ListenOverflows
	primed bool
}

var _ samplers.Sampler = (*Sampler)(nil)

func newSampler(f filter, src source, now func() time.Time) *Sampler {
	return &Sampler{f: f, src: src, now: now, prev: map[string]counters{}}
}

// Close releases nothing: no file stays open between samples.
func (s *Sampler) Close() error { return nil }

// delta applies the wrap and reset rules of README.md.
func delta(cur, prev uint64) uint64 {
	if cur >= prev {
		return cur - prev
	}
	if prev > 1<<32-1<<30 && prev < 1<<32 {
		return cur + 1<<32 - prev
	}
	return cur
}

// Sample reads the counters and returns the "network" dataview.
func (s *Sampler) Sample(ctx context.Context) ([]samplers.Dataview, error) {
	if err := samplers.Step(ctx, "sample network", nil); err != nil {
		return nil, err
	}
	now := s.now()
	var elapsed float64
	if s.primed {
		elapsed = now.Sub(s.last).Seconds()
	} else {
		b, err := s.src.proc(ctx, "uptime", s.buf)
		s.buf = b
		if err := samplers.Step(ctx, "read uptime", err); err != nil {
			return nil, err
		}
		f := bytes.Fields(b)
		if len(f) == 0 {
			return nil, fmt.Errorf("read uptime: empty")
		}
		if elapsed, err = strconv.ParseFloat(string(f[0]), 64); err != nil {
			return nil, fmt.Errorf("read uptime: %w", err)
		}
	}
	rate := func(d uint64) samplers.Cell {
		if elapsed <= 0 {
			return samplers.Text("")
		}
		return samplers.Number(float64(d)/elapsed, 2)
	}

	b, err := s.src.proc(ctx, "net/dev", s.buf)
	s.buf = b
	if err := samplers.Step(ctx, "read net/dev", err); err != nil {
		return nil, err
	}
	cur := map[string]counters{}
	var names []string
	for i, line := range bytes.Split(b, []byte("\n")) {
		colon := bytes.IndexByte(line, ':')
		if i < 2 || colon < 0 {
			continue
		}
		name := string(bytes.TrimSpace(line[:colon]))
		if (s.f.include != nil && !s.f.include.MatchString(name)) || (s.f.exclude != nil && s.f.exclude.MatchString(name)) {
			continue
		}
		fs := bytes.Fields(line[colon+1:])
		if len(fs) < 12 {
			continue
		}
		// rx: bytes packets errs drop ...; tx starts at field 8.
		var c counters
		for j, k := range [8]int{0, 8, 1, 9, 2, 10, 3, 11} {
			c[j], _ = strconv.ParseUint(string(fs[k]), 10, 64)
		}
		cur[name] = c
		names = append(names, name)
	}

	tcp, estab, err := s.readTCP(ctx)
	if err != nil {
		return nil, err
	}

	dv := samplers.Dataview{Name: "network", Columns: columns}
	for _, name := range names {
		b, err := s.src.sys(ctx, "class/net/"+name+"/operstate", s.buf)
		s.buf = b
		if err := samplers.Step(ctx, "read operstate of "+name, nil); err != nil {
			return nil, err
		}
		state := ""
		if err == nil {
			state = string(bytes.TrimSpace(b))
		}
		c, p := cur[name], s.prev[name]
		cells := make([]samplers.Cell, 0, len(columns))
		for j := range c {
			cells = append(cells, rate(delta(c[j], p[j])))
		}
		cells = append(cells, samplers.Text(state))
		dv.Rows = append(dv.Rows, samplers.Row{Name: name, Cells: cells})
	}
	dv.Headlines = []samplers.Headline{
		{Name: "tcpEstablished", Value: samplers.Int(int64(estab))},
		{Name: "tcpRetransmitsPerSec", Value: rate(delta(tcp[0], s.tcp[0]))},
		{Name: "tcpListenOverflowsPerSec", Value: rate(delta(tcp[1], s.tcp[1]))},
		{Name: "interfaces", Value: samplers.Int(int64(len(names)))},
	}
	s.prev, s.tcp, s.last, s.primed = cur, tcp, now, true
	return []samplers.Dataview{dv}, nil
}

// readTCP returns RetransSegs and ListenOverflows, and CurrEstab.
func (s *Sampler) readTCP(ctx context.Context) ([2]uint64, uint64, error) {
	var out [2]uint64
	b, err := s.src.proc(ctx, "net/snmp", s.buf)
	s.buf = b
	if err := samplers.Step(ctx, "read net/snmp", err); err != nil {
		return out, 0, err
	}
	estab := field(b, "Tcp:", "CurrEstab")
	out[0] = field(b, "Tcp:", "RetransSegs")
	b, err = s.src.proc(ctx, "net/netstat", s.buf)
	s.buf = b
	if err := samplers.Step(ctx, "read net/netstat", err); err != nil {
		return out, 0, err
	}
	out[1] = field(b, "TcpExt:", "ListenOverflows")
	return out, estab, nil
}

// field finds key in the header line starting with prefix and returns the
// value in the same position on the next line with that prefix.
func field(b []byte, prefix, key string) uint64 {
	lines := bytes.Split(b, []byte("\n"))
	for i := 0; i+1 < len(lines); i++ {
		if !bytes.HasPrefix(lines[i], []byte(prefix)) || !bytes.HasPrefix(lines[i+1], []byte(prefix)) {
			continue
		}
		h, v := bytes.Fields(lines[i]), bytes.Fields(lines[i+1])
		for j := range h {
			if string(h[j]) == key && j < len(v) {
				n, _ := strconv.ParseUint(string(v[j]), 10, 64)
				return n
			}
		}
		return 0
	}
	return 0
}
