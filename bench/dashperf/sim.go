package main

import (
	"time"

	"github.com/watchfloor/watchfloor/bench/internal/estate"
	"github.com/watchfloor/watchfloor/bench/internal/simprobe"
	"github.com/watchfloor/watchfloor/samplers"
)

// simProbe returns probe i of probes at the gateway at addr, with one
// dataview, "dv", of rows × cols cells, every one of which changes every
// tick to value's value, the probes spread across the tick.
func simProbe(i, probes int, addr string, rows, cols int, tick time.Duration, value func(int, time.Time) samplers.Cell) *simprobe.Probe {
	return &simprobe.Probe{
		Addr: addr, Name: estate.Probe(i), Token: estate.Token(tokenPrefix, i),
		Dataviews: []string{"dv"}, Rows: rows, Cols: cols, Change: 1, Tick: tick,
		Phase: time.Duration(int64(tick) * int64(i) / int64(probes)),
		Value: value,
	}
}

// severityCycle is the wall case's value: 0, 1, 2, 0, … one step a tick,
// which the wall rules judge ok, warning and critical.
func severityCycle(tick int, _ time.Time) samplers.Cell {
	return samplers.Int(int64(tick % 3))
}
