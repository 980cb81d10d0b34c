package main

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/watchfloor/watchfloor/netprobe/protocol"
	"github.com/watchfloor/watchfloor/samplers"
)

// counters are shared by every simulated probe.
type counters struct {
	cellsSent    atomic.Int64
	batchesSent  atomic.Int64
	overruns     atomic.Int64 // ticks a probe could not send in time
	snapshotReqs atomic.Int64 // gateway asked for a snapshot: it saw a gap
	measuring    atomic.Bool
}

// simProbe speaks the real probe protocol with synthetic dataviews.
type simProbe struct {
	i    int
	p    params
	addr string
	c    *counters
}

func (s *simProbe) run(ctx context.Context) error {
	hdr := http.Header{"Authorization": {"Bearer " + token(s.i)}}
	conn, _, err := websocket.Dial(ctx, "ws://"+s.addr+"/ws/probe", &websocket.DialOptions{HTTPHeader: hdr})
	if err != nil {
		return fmt.Errorf("probe %d: dial: %w", s.i, err)
	}
	defer conn.CloseNow()
	conn.SetReadLimit(protocol.DefaultMaxMessage)
	hello := protocol.Hello{MinVersion: protocol.MinVersion, MaxVersion: protocol.MaxVersion, Name: probeName(s.i), MaxMessage: protocol.DefaultMaxMessage}
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
	go func() {
		for {
			_, data, err := conn.Read(ctx)
			if err != nil {
				return
			}
			if k, _ := protocol.KindOf(data); k == protocol.KindSnapshotRequest {
				s.c.snapshotReqs.Add(1)
			}
		}
	}()

	// Snapshot: every dataview declared with every cell.
	cols := make([]string, s.p.cols)
	for c := range cols {
		cols[c] = "c" + strconv.Itoa(c)
	}
	zero := samplers.Text("0")
	decls := make([]protocol.Declare, s.p.dataviews)
	now := time.Now().UnixNano()
	for d := range decls {
		rows := make([]protocol.RowDecl, s.p.rows)
		for r := range rows {
			cells := make([]samplers.Cell, s.p.cols)
			for c := range cells {
				cells[c] = zero
			}
			rows[r] = protocol.RowDecl{Index: uint32(r), Name: "r" + strconv.Itoa(r), Cells: cells}
		}
		decls[d] = protocol.Declare{ID: uint32(d + 1), SamplerID: cfg.Samplers[0].ID, Name: "dv" + strconv.Itoa(d),
			SampleTime: now, Columns: cols, Rows: rows}
	}
	var seq uint64
	var buf []byte
	for _, b := range protocol.SplitSnapshot(decls, int(welcome.MaxMessage)-64) {
		seq++
		b.Seq = seq
		buf = b.Append(buf[:0])
		if err := conn.Write(ctx, websocket.MessageBinary, buf); err != nil {
			return err
		}
	}

	// Each tick changes a rotating window of each dataview's cells.
	cellsPerDV := s.p.rows * s.p.cols
	perDV := int(s.p.change*float64(cellsPerDV) + 0.5)
	batch := protocol.Batch{Updates: make([]protocol.Update, s.p.dataviews)}
	for d := range batch.Updates {
		batch.Updates[d] = protocol.Update{ID: uint32(d + 1), Cells: make([]protocol.CellChange, perDV)}
	}
	// Spread the probes across the tick, as real servers are.
	phase := time.Duration(int64(s.p.tick) * int64(s.i) / int64(max(s.p.probes, 1)))
	select {
	case <-ctx.Done():
		return nil
	case <-time.After(phase):
	}
	t := time.NewTicker(s.p.tick)
	defer t.Stop()
	for tick := 0; ; tick++ {
		start := time.Now()
		now := start.UnixNano()
		// Microseconds: 16 digits, a number like any sampled one (19-digit
		// nanoseconds would exceed the wire's compact decimal form).
		us := start.UnixMicro()
		v := samplers.Cell{Raw: strconv.FormatInt(us, 10), Num: float64(us), IsNum: true}
		for d := range batch.Updates {
			u := &batch.Updates[d]
			u.SampleTime = now
			for k := range u.Cells {
				idx := (tick*perDV + k) % cellsPerDV
				u.Cells[k] = protocol.CellChange{Row: uint32(idx / s.p.cols), Col: uint32(idx % s.p.cols), Value: v}
			}
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
		if s.c.measuring.Load() {
			s.c.cellsSent.Add(int64(perDV * s.p.dataviews))
			s.c.batchesSent.Add(1)
			if time.Since(start) > s.p.tick {
				s.c.overruns.Add(1)
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
