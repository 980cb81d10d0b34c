package protocol

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"
)

// The protocol versions this package speaks. Hello and Welcome carry each
// side's range, and both sides use the highest version in common, so a
// gateway keeps serving older netprobes (and a netprobe older gateways)
// during a rolling upgrade.
//
// Version 2 added the version range to Hello and Welcome, and the
// gateway's limits to Welcome.
const (
	MinVersion = 1
	MaxVersion = 2
)

// Agree returns the highest version both ranges hold, or an error naming
// both ranges when they have none in common.
func Agree(aMin, aMax, bMin, bMax uint32) (uint32, error) {
	v := min(aMax, bMax)
	if v < max(aMin, bMin) || v == 0 {
		return 0, fmt.Errorf("no protocol version in common: %s against %s", versionRange(aMin, aMax), versionRange(bMin, bMax))
	}
	return v, nil
}

func versionRange(lo, hi uint32) string {
	if lo == hi {
		return fmt.Sprintf("version %d", lo)
	}
	return fmt.Sprintf("versions %d to %d", lo, hi)
}

// DefaultMaxMessage is the largest message either side accepts unless its
// hello says otherwise. Snapshots larger than this travel in chunks.
const DefaultMaxMessage = 4 << 20

// Kind is a message's first byte.
type Kind byte

// Message kinds. Numbers are never reused; new kinds (mirror manifests,
// command results) take new numbers, and a peer closes the connection on a
// kind it does not know.
const (
	KindHello           Kind = 1 // probe → gateway, first message
	KindWelcome         Kind = 2 // gateway → probe, answer to Hello
	KindConfig          Kind = 3 // gateway → probe, the samplers to run
	KindBatch           Kind = 4 // probe → gateway, snapshot chunks and deltas
	KindSnapshotRequest Kind = 5 // gateway → probe, send a full snapshot
)

func (k Kind) String() string {
	switch k {
	case KindHello:
		return "hello"
	case KindWelcome:
		return "welcome"
	case KindConfig:
		return "config"
	case KindBatch:
		return "batch"
	case KindSnapshotRequest:
		return "snapshot-request"
	}
	return fmt.Sprintf("kind(%d)", byte(k))
}

// KindOf returns the kind of an encoded message.
func KindOf(msg []byte) (Kind, error) {
	if len(msg) == 0 {
		return 0, errors.New("empty message")
	}
	return Kind(msg[0]), nil
}

func start(msg []byte, want Kind) (*decoder, error) {
	k, err := KindOf(msg)
	if err != nil {
		return nil, err
	}
	if k != want {
		return nil, fmt.Errorf("want %v message, have %v", want, k)
	}
	return &decoder{b: msg, off: 1}, nil
}

// Hello opens a connection from a probe.
//
// A version-1 Hello carries one version; from version 2 a Hello whose
// range holds more than one version ends with MaxVersion. A Hello without
// it speaks MinVersion alone, so version-1 netprobes are read as they are.
type Hello struct {
	MinVersion uint32 // the lowest version the probe speaks
	MaxVersion uint32 // the highest; equal to MinVersion for a single version
	Name       string // the probe's configured name
	MaxMessage uint32 // the largest message the probe accepts
	Software   string // netprobe build, for the gateway's records
}

// Append encodes h after dst.
func (h *Hello) Append(dst []byte) []byte {
	dst = append(dst, byte(KindHello))
	dst = binary.AppendUvarint(dst, uint64(h.MinVersion))
	dst = appendString(dst, h.Name)
	dst = binary.AppendUvarint(dst, uint64(h.MaxMessage))
	dst = appendString(dst, h.Software)
	if h.MaxVersion > h.MinVersion {
		dst = binary.AppendUvarint(dst, uint64(h.MaxVersion))
	}
	return dst
}

// Decode decodes msg into h.
func (h *Hello) Decode(msg []byte) error {
	d, err := start(msg, KindHello)
	if err != nil {
		return err
	}
	h.MinVersion = d.u32()
	h.Name = d.string()
	h.MaxMessage = d.u32()
	h.Software = d.string()
	h.MaxVersion = h.MinVersion
	if d.err == nil && d.off < len(d.b) {
		h.MaxVersion = d.u32()
		if d.err == nil && h.MaxVersion <= h.MinVersion {
			d.fail(fmt.Errorf("max version %d is not above min version %d", h.MaxVersion, h.MinVersion))
		}
	}
	return d.done()
}

// Limits are what the gateway holds for one probe. A batch that would pass
// one closes the connection; a netprobe that knows them (version 2) keeps
// within them instead.
type Limits struct {
	MaxDataviews uint32 // dataviews per probe
	MaxColumns   uint32 // columns per dataview
	MaxHeadlines uint32 // headlines per dataview
	MaxRows      uint32 // rows per dataview
	// MaxCells is the probe's cell budget: what all its dataviews may cost
	// together, counted as Cost says.
	MaxCells uint64
}

// CostUnit is how many bytes of text count as one more cell against a
// probe's cell budget, so that long names and values cost what they take.
const CostUnit = 64

// Cost is what one piece of text costs against a probe's cell budget: one
// cell, and one more per CostUnit bytes. A dataview costs its name, each of
// its columns, each headline's name and value, and each row's name and
// cells.
func Cost(text string) uint64 { return 1 + uint64(len(text))/CostUnit }

// Welcome answers a Hello, in the version agreed: the highest both speak.
// Version 1 carries only Version and MaxMessage; from version 2 it also
// carries the gateway's version range and its limits.
type Welcome struct {
	Version    uint32 // the version agreed for this connection
	MaxMessage uint32 // the largest message the gateway accepts

	// From version 2.
	MinVersion, MaxVersion uint32 // the versions the gateway speaks
	Limits                 Limits
}

// Append encodes w after dst.
func (w *Welcome) Append(dst []byte) []byte {
	dst = append(dst, byte(KindWelcome))
	dst = binary.AppendUvarint(dst, uint64(w.Version))
	dst = binary.AppendUvarint(dst, uint64(w.MaxMessage))
	if w.Version < 2 {
		return dst
	}
	dst = binary.AppendUvarint(dst, uint64(w.MinVersion))
	dst = binary.AppendUvarint(dst, uint64(w.MaxVersion))
	l := &w.Limits
	for _, v := range []uint32{l.MaxDataviews, l.MaxColumns, l.MaxHeadlines, l.MaxRows} {
		dst = binary.AppendUvarint(dst, uint64(v))
	}
	return binary.AppendUvarint(dst, l.MaxCells)
}

// Decode decodes msg into w.
func (w *Welcome) Decode(msg []byte) error {
	d, err := start(msg, KindWelcome)
	if err != nil {
		return err
	}
	*w = Welcome{Version: d.u32(), MaxMessage: d.u32()}
	if d.err == nil && w.Version >= 2 {
		w.MinVersion = d.u32()
		w.MaxVersion = d.u32()
		l := &w.Limits
		l.MaxDataviews = d.u32()
		l.MaxColumns = d.u32()
		l.MaxHeadlines = d.u32()
		l.MaxRows = d.u32()
		l.MaxCells = d.uvarint()
		if d.err == nil && (w.Version < w.MinVersion || w.Version > w.MaxVersion) {
			d.fail(fmt.Errorf("agreed version %d is outside the gateway's %s", w.Version, versionRange(w.MinVersion, w.MaxVersion)))
		}
	}
	return d.done()
}

// SamplerConfig is one sampler instance the probe must run.
type SamplerConfig struct {
	ID       uint32 // stable while the instance's entity and name stay
	Entity   string
	Name     string
	Type     string
	Interval time.Duration
	Params   []byte // a JSON object, or empty for the defaults
}

// Config is the whole set of samplers a probe runs. Each Config replaces the
// previous one.
type Config struct {
	Samplers []SamplerConfig
}

// Append encodes c after dst.
func (c *Config) Append(dst []byte) []byte {
	dst = append(dst, byte(KindConfig))
	dst = binary.AppendUvarint(dst, uint64(len(c.Samplers)))
	for _, s := range c.Samplers {
		dst = binary.AppendUvarint(dst, uint64(s.ID))
		dst = appendString(dst, s.Entity)
		dst = appendString(dst, s.Name)
		dst = appendString(dst, s.Type)
		dst = binary.AppendUvarint(dst, uint64(s.Interval/time.Millisecond))
		dst = binary.AppendUvarint(dst, uint64(len(s.Params)))
		dst = append(dst, s.Params...)
	}
	return dst
}

// Decode decodes msg into c.
func (c *Config) Decode(msg []byte) error {
	d, err := start(msg, KindConfig)
	if err != nil {
		return err
	}
	n := d.count(6)
	c.Samplers = make([]SamplerConfig, n)
	for i := range c.Samplers {
		s := &c.Samplers[i]
		s.ID = d.u32()
		s.Entity = d.string()
		s.Name = d.string()
		s.Type = d.string()
		ms := d.uvarint()
		if ms > uint64(24*time.Hour/time.Millisecond) {
			d.fail(fmt.Errorf("sampler interval %d ms is over a day", ms))
		}
		s.Interval = time.Duration(ms) * time.Millisecond
		if p := d.bytes(); len(p) > 0 {
			s.Params = append([]byte(nil), p...)
		}
	}
	return d.done()
}

// SnapshotRequest asks the probe to send a full snapshot, for instance after
// the gateway saw a gap in sequence numbers.
type SnapshotRequest struct {
	Reason string
}

// Append encodes r after dst.
func (r *SnapshotRequest) Append(dst []byte) []byte {
	dst = append(dst, byte(KindSnapshotRequest))
	return appendString(dst, r.Reason)
}

// Decode decodes msg into r.
func (r *SnapshotRequest) Decode(msg []byte) error {
	d, err := start(msg, KindSnapshotRequest)
	if err != nil {
		return err
	}
	r.Reason = d.string()
	return d.done()
}
