package protocol

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"
)

// Version is the protocol version this package speaks. Peers exchange it in
// Hello and Welcome and refuse a version they do not know.
const Version = 1

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
type Hello struct {
	Version    uint32
	Name       string // the probe's configured name
	MaxMessage uint32 // the largest message the probe accepts
	Software   string // netprobe build, for the gateway's records
}

// Append encodes h after dst.
func (h *Hello) Append(dst []byte) []byte {
	dst = append(dst, byte(KindHello))
	dst = binary.AppendUvarint(dst, uint64(h.Version))
	dst = appendString(dst, h.Name)
	dst = binary.AppendUvarint(dst, uint64(h.MaxMessage))
	return appendString(dst, h.Software)
}

// Decode decodes msg into h.
func (h *Hello) Decode(msg []byte) error {
	d, err := start(msg, KindHello)
	if err != nil {
		return err
	}
	h.Version = d.u32()
	h.Name = d.string()
	h.MaxMessage = d.u32()
	h.Software = d.string()
	return d.done()
}

// Welcome answers a Hello.
type Welcome struct {
	Version    uint32
	MaxMessage uint32 // the largest message the gateway accepts
}

// Append encodes w after dst.
func (w *Welcome) Append(dst []byte) []byte {
	dst = append(dst, byte(KindWelcome))
	dst = binary.AppendUvarint(dst, uint64(w.Version))
	return binary.AppendUvarint(dst, uint64(w.MaxMessage))
}

// Decode decodes msg into w.
func (w *Welcome) Decode(msg []byte) error {
	d, err := start(msg, KindWelcome)
	if err != nil {
		return err
	}
	w.Version = d.u32()
	w.MaxMessage = d.u32()
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
