package main

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/coder/websocket"

	"github.com/watchfloor/watchfloor/bench/internal/estate"
	"github.com/watchfloor/watchfloor/netprobe/protocol"
	"github.com/watchfloor/watchfloor/samplers"
)

// simProbe speaks the real probe protocol, as bench/load's probes do,
// with one dataview, "dv", of rows × cols cells, every one of which
// changes every tick. value gives a cell's value at a tick.
type simProbe struct {
	i          int
	addr       string
	rows, cols int
	tick       time.Duration
	value      func(tick int, start time.Time) samplers.Cell
}

// sendTime is the grid case's value: the time the probe sent it, in Unix
// microseconds (16 digits, a number like any sampled one), so the page
// reads each cell's latency off its text.
func sendTime(_ int, start time.Time) samplers.Cell {
	us := start.UnixMicro()
	return samplers.Cell{Raw: strconv.FormatInt(us, 10), Num: float64(us), IsNum: true}
}

// severityCycle is the wall case's value: 0, 1, 2, 0, … one step a tick,
// which the wall rules judge ok, warning and critical.
func severityCycle(tick int, _ time.Time) samplers.Cell {
	return samplers.Int(int64(tick % 3))
}

func (s *simProbe) run(ctx context.Context) error {
	hdr := http.Header{"Authorization": {"Bearer " + estate.Token(tokenPrefix, s.i)}}
	conn, _, err := websocket.Dial(ctx, "ws://"+s.addr+"/ws/probe", &websocket.DialOptions{HTTPHeader: hdr})
	if err != nil {
		return fmt.Errorf("probe %d: dial: %w", s.i, err)
	}
	defer conn.CloseNow()
	conn.SetReadLimit(protocol.DefaultMaxMessage)
	hello := protocol.Hello{MinVersion: protocol.MinVersion, MaxVersion: protocol.MaxVersion, Name: estate.Probe(s.i), MaxMessage: protocol.DefaultMaxMessage}
	if err := conn.Write(ctx, websocket.MessageBinary, hello.Append(nil)); err != nil {
		return err
	}
	var welcome protocol.Welcome
	var cfg protocol.Config
	for _, m := range []interface{ Decode([]byte) error }{&welcome, &cfg} {
		_, data, err := conn.Read(ctx)
		if err != nil {
			return fmt.Errorf("probe %d: handshake: %w", s.i, err)
		}
		if err := m.Decode(data); err != nil {
			return fmt.Errorf("probe %d: handshake: %w", s.i, err)
		}
	}
	if len(cfg.Samplers) != 1 {
		return fmt.Errorf("probe %d: config has %d samplers, want 1", s.i, len(cfg.Samplers))
	}
	// Read (and drop) what the gateway sends, so its writes never block.
	go func() {
		for {
			if _, _, err := conn.Read(ctx); err != nil {
				return
			}
		}
	}()

	cols := make([]string, s.cols)
	for c := range cols {
		cols[c] = "c" + strconv.Itoa(c)
	}
	first := s.value(0, time.Now())
	rows := make([]protocol.RowDecl, s.rows)
	for r := range rows {
		cells := make([]samplers.Cell, s.cols)
		for c := range cells {
			cells[c] = first
		}
		rows[r] = protocol.RowDecl{Index: uint32(r), Name: "r" + strconv.Itoa(r), Cells: cells}
	}
	decl := protocol.Declare{ID: 1, SamplerID: cfg.Samplers[0].ID, Name: "dv", SampleTime: time.Now().UnixNano(), Columns: cols, Rows: rows}
	var seq uint64
	var buf []byte
	for _, b := range protocol.SplitSnapshot([]protocol.Declare{decl}, int(welcome.MaxMessage)-64) {
		seq++
		b.Seq = seq
		buf = b.Append(buf[:0])
		if err := conn.Write(ctx, websocket.MessageBinary, buf); err != nil {
			return err
		}
	}

	n := s.rows * s.cols
	batch := protocol.Batch{Updates: []protocol.Update{{ID: 1, Cells: make([]protocol.CellChange, n)}}}
	t := time.NewTicker(s.tick)
	defer t.Stop()
	for tick := 1; ; tick++ {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		start := time.Now()
		v := s.value(tick, start)
		u := &batch.Updates[0]
		u.SampleTime = start.UnixNano()
		for k := range u.Cells {
			u.Cells[k] = protocol.CellChange{Row: uint32(k / s.cols), Col: uint32(k % s.cols), Value: v}
		}
		seq++
		batch.Seq = seq
		buf = batch.Append(buf[:0])
		if err := conn.Write(ctx, websocket.MessageBinary, buf); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("probe %d: write: %w", s.i, err)
		}
	}
}
