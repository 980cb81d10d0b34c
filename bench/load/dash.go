package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/coder/websocket"
	"github.com/watchfloor/watchfloor/bench/internal/estate"
)

// dashClient is a real dashboard WebSocket client with a session of its
// own, as each wall screen has. It reads each changed cell's value as the
// time its probe sent it.
type dashClient struct {
	k       int
	slow    bool
	p       params
	addr    string
	cookie  string // its session, checked once, when the socket opens
	c       *counters
	lat     []time.Duration // measured deltas' latencies
	frames  int
	resyncs int // snapshots after the first of each subscription
	err     error
}

func (d *dashClient) run(ctx context.Context) {
	conn, _, err := websocket.Dial(ctx, "ws://"+d.addr+"/ws/dashboard",
		&websocket.DialOptions{HTTPHeader: http.Header{"Cookie": {d.cookie}}})
	if err != nil {
		d.err = fmt.Errorf("dashboard %d: %w", d.k, err)
		return
	}
	defer conn.CloseNow()
	conn.SetReadLimit(64 << 20)
	for j := range d.p.subs {
		probe := (d.k*d.p.subs + j) % d.p.probes
		dv := (d.k + j) % d.p.dataviews
		msg, _ := json.Marshal(map[string]string{"op": "subscribe",
			"topic": fmt.Sprintf("dataview/%s/%s/load/dv%d", estate.Probe(probe), estate.Entity(probe), dv)})
		if err := conn.Write(ctx, websocket.MessageText, msg); err != nil {
			d.err = err
			return
		}
	}
	snapshots := 0
	deltaPrefix := []byte(`{"type":"delta"`)
	for {
		_, data, err := conn.Read(ctx)
		if err != nil {
			if ctx.Err() == nil {
				d.err = fmt.Errorf("dashboard %d: %w", d.k, err)
			}
			return
		}
		now := time.Now()
		measuring := d.c.measuring.Load()
		if !bytes.HasPrefix(data, deltaPrefix) {
			if bytes.HasPrefix(data, []byte(`{"type":"snapshot"`)) {
				snapshots++
				if snapshots > d.p.subs && measuring {
					d.resyncs++
				}
			}
			continue
		}
		if measuring {
			d.frames++
			d.record(data, now)
		}
		if d.slow {
			select {
			case <-ctx.Done():
				return
			case <-time.After(d.p.slowDelay):
			}
		}
	}
}

// record scans a delta for cell values without a full JSON decode: every
// "v":"<digits>" is a send time in Unix microseconds.
func (d *dashClient) record(data []byte, now time.Time) {
	key := []byte(`"v":"`)
	for {
		i := bytes.Index(data, key)
		if i < 0 {
			return
		}
		data = data[i+len(key):]
		j := bytes.IndexByte(data, '"')
		if j < 0 {
			return
		}
		us, err := strconv.ParseInt(string(data[:j]), 10, 64)
		data = data[j:]
		if err != nil || us == 0 {
			continue
		}
		d.lat = append(d.lat, now.Sub(time.UnixMicro(us)))
	}
}
