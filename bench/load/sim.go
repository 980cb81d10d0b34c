package main

import (
	"strconv"
	"sync/atomic"
	"time"

	"github.com/watchfloor/watchfloor/bench/internal/estate"
	"github.com/watchfloor/watchfloor/bench/internal/simprobe"
)

// counters are shared by every simulated probe.
type counters struct {
	cellsSent    atomic.Int64
	batchesSent  atomic.Int64
	overruns     atomic.Int64 // ticks a probe could not send in time
	snapshotReqs atomic.Int64 // gateway asked for a snapshot: it saw a gap
	measuring    atomic.Bool
}

// simProbe returns probe i of the estate p describes, at the gateway at
// addr, counting into c: dataviews dv0, dv1, …, each changed cell holding
// the time its probe sent it, the probes spread across the tick.
func simProbe(i int, p params, addr string, c *counters) *simprobe.Probe {
	dvs := make([]string, p.dataviews)
	for d := range dvs {
		dvs[d] = "dv" + strconv.Itoa(d)
	}
	return &simprobe.Probe{
		Addr: addr, Name: estate.Probe(i), Token: estate.Token(tokenPrefix, i),
		Dataviews: dvs, Rows: p.rows, Cols: p.cols, Change: p.change, Tick: p.tick,
		Phase: time.Duration(int64(p.tick) * int64(i) / int64(max(p.probes, 1))),
		Value: simprobe.SendTime,
		Sent: func(cells int, took time.Duration) {
			if c.measuring.Load() {
				c.cellsSent.Add(int64(cells))
				c.batchesSent.Add(1)
				if took > p.tick {
					c.overruns.Add(1)
				}
			}
		},
		SnapshotRequested: func() { c.snapshotReqs.Add(1) },
	}
}
