// Package simprobe is a simulated netprobe for the measurement programs:
// it speaks the real probe protocol over a WebSocket to a gateway,
// declares synthetic dataviews and changes their cells every tick, and
// registers the sampler type those dataviews are declared under.
package simprobe

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/coder/websocket"

	"github.com/watchfloor/watchfloor/netprobe/protocol"
	"github.com/watchfloor/watchfloor/samplers"
)

// Probe is one simulated netprobe. Its dataviews have IDs 1, 2, … in the
// order of Dataviews, each Rows × Cols cells, rows "r0", "r1", … and
// columns "c0", "c1", …. A Probe is not safe for concurrent use; run each
// once.
type Probe struct {
	Addr  string // the gateway's host:port, plain WebSocket on loopback
	Name  string // the probe's name, as the gateway's configuration has it
	Token string // its bearer token

	Dataviews  []string // the dataviews' names
	Rows, Cols int
	// Change is the fraction (0–1) of each dataview's cells that change
	// every tick: a window that rotates through the dataview, so that
	// with 1 every cell changes every tick.
	Change float64
	Tick   time.Duration
	// Phase is how long to wait after the snapshot before the first tick,
	// to spread probes across the tick as real servers are.
	Phase time.Duration
	// Value gives the value of every cell a tick changes, from the tick's
	// number and the time it started; tick 0 is the snapshot's, and ticks
	// go on from 1.
	Value func(tick int, start time.Time) samplers.Cell

	// Sent, if set, is called after each tick's batch is written, with the
	// cells it changed and how long the tick took to send.
	Sent func(cells int, took time.Duration)
	// SnapshotRequested, if set, is called for each snapshot request the
	// gateway sends (it saw a gap).
	SnapshotRequested func()
}

// SendTime is a Value: the time the tick started in Unix microseconds
// (16 digits, a number like any sampled one; 19-digit nanoseconds would
// exceed the wire's compact decimal form), so a reader of the cell takes
// its latency straight off its text.
func SendTime(_ int, start time.Time) samplers.Cell {
	us := start.UnixMicro()
	return samplers.Cell{Raw: strconv.FormatInt(us, 10), Num: float64(us), IsNum: true}
}

// Run connects, declares the dataviews in a snapshot and sends a batch
// every tick until ctx is done, when it returns nil; any other end is an
// error naming the probe.
func (p *Probe) Run(ctx context.Context) error {
	hdr := http.Header{"Authorization": {"Bearer " + p.Token}}
	conn, _, err := websocket.Dial(ctx, "ws://"+p.Addr+"/ws/probe", &websocket.DialOptions{HTTPHeader: hdr})
	if err != nil {
		return fmt.Errorf("probe %s: dial: %w", p.Name, err)
	}
	defer conn.CloseNow()
	conn.SetReadLimit(protocol.DefaultMaxMessage)
	hello := protocol.Hello{MinVersion: protocol.MinVersion, MaxVersion: protocol.MaxVersion, Name: p.Name, MaxMessage: protocol.DefaultMaxMessage}
	if err := conn.Write(ctx, websocket.MessageBinary, hello.Append(nil)); err != nil {
		return fmt.Errorf("probe %s: hello: %w", p.Name, err)
	}
	var welcome protocol.Welcome
	var cfg protocol.Config
	for _, m := range []interface{ Decode([]byte) error }{&welcome, &cfg} {
		_, data, err := conn.Read(ctx)
		if err != nil {
			return fmt.Errorf("probe %s: handshake: %w", p.Name, err)
		}
		if err := m.Decode(data); err != nil {
			return fmt.Errorf("probe %s: handshake: %w", p.Name, err)
		}
	}
	if len(cfg.Samplers) != 1 {
		return fmt.Errorf("probe %s: config has %d samplers, want 1", p.Name, len(cfg.Samplers))
	}
	// Read what the gateway sends, so its writes never block; the reader
	// ends when the connection closes, which Run waits for.
	read := make(chan struct{})
	go func() {
		defer close(read)
		for {
			_, data, err := conn.Read(ctx)
			if err != nil {
				return
			}
			if k, _ := protocol.KindOf(data); k == protocol.KindSnapshotRequest && p.SnapshotRequested != nil {
				p.SnapshotRequested()
			}
		}
	}()
	defer func() {
		conn.CloseNow()
		<-read
	}()

	// Snapshot: every dataview declared with every cell.
	cols := make([]string, p.Cols)
	for c := range cols {
		cols[c] = "c" + strconv.Itoa(c)
	}
	start := time.Now()
	first := p.Value(0, start)
	decls := make([]protocol.Declare, len(p.Dataviews))
	for d, name := range p.Dataviews {
		rows := make([]protocol.RowDecl, p.Rows)
		for r := range rows {
			cells := make([]samplers.Cell, p.Cols)
			for c := range cells {
				cells[c] = first
			}
			rows[r] = protocol.RowDecl{Index: uint32(r), Name: "r" + strconv.Itoa(r), Cells: cells}
		}
		decls[d] = protocol.Declare{ID: uint32(d + 1), SamplerID: cfg.Samplers[0].ID, Name: name,
			SampleTime: start.UnixNano(), Columns: cols, Rows: rows}
	}
	var seq uint64
	var buf []byte
	for _, b := range protocol.SplitSnapshot(decls, int(welcome.MaxMessage)-64) {
		seq++
		b.Seq = seq
		buf = b.Append(buf[:0])
		if err := conn.Write(ctx, websocket.MessageBinary, buf); err != nil {
			return fmt.Errorf("probe %s: snapshot: %w", p.Name, err)
		}
	}

	// Each tick changes a rotating window of each dataview's cells.
	cellsPerDV := p.Rows * p.Cols
	perDV := int(p.Change*float64(cellsPerDV) + 0.5)
	batch := protocol.Batch{Updates: make([]protocol.Update, len(decls))}
	for d := range batch.Updates {
		batch.Updates[d] = protocol.Update{ID: uint32(d + 1), Cells: make([]protocol.CellChange, perDV)}
	}
	select {
	case <-ctx.Done():
		return nil
	case <-time.After(p.Phase):
	}
	t := time.NewTicker(p.Tick)
	defer t.Stop()
	for tick := 1; ; tick++ {
		start := time.Now()
		v := p.Value(tick, start)
		for d := range batch.Updates {
			u := &batch.Updates[d]
			u.SampleTime = start.UnixNano()
			for k := range u.Cells {
				idx := ((tick-1)*perDV + k) % cellsPerDV
				u.Cells[k] = protocol.CellChange{Row: uint32(idx / p.Cols), Col: uint32(idx % p.Cols), Value: v}
			}
		}
		seq++
		batch.Seq = seq
		buf = batch.Append(buf[:0])
		if err := conn.Write(ctx, websocket.MessageBinary, buf); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("probe %s: write: %w", p.Name, err)
		}
		if p.Sent != nil {
			p.Sent(perDV*len(decls), time.Since(start))
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// RegisterSampler registers a sampler type called name for the gateway's
// configuration to declare the simulated probes' dataviews under: the
// probes never run it, they only send its data, so it samples nothing.
// It takes no parameters. Like samplers.Register, it panics if name is
// taken; call it from a program's init.
func RegisterSampler(name string) {
	samplers.Register(samplers.Type{Name: name, Validate: noParams,
		New: func(p json.RawMessage, _ samplers.Env) (samplers.Sampler, error) { return nothing{}, noParams(p) }})
}

// nothing is the registered type's sampler.
type nothing struct{}

var _ samplers.Sampler = nothing{}

func (nothing) Sample(context.Context) ([]samplers.Dataview, error) { return nil, nil }
func (nothing) Close() error                                        { return nil }

func noParams(p json.RawMessage) error { return samplers.DecodeParams(p, &struct{}{}) }
