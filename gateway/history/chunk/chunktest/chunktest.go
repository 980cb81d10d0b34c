// Package chunktest makes the deterministic data sets the chunk
// benchmarks encode, here and in bench/chunkenc, modelled on what the
// gateway records: a cell's value only when it changes, at its sample
// time in Unix milliseconds.
package chunktest

import (
	"math"
	"math/rand/v2"
	"strconv"
)

// Point is one sample of a series.
type Point struct {
	T int64 // Unix milliseconds
	V float64
}

// DataSet is a named set of series, each in time order.
type DataSet struct {
	Name   string
	Series [][]Point
}

// Points returns the number of points in all the series.
func (d DataSet) Points() int {
	n := 0
	for _, s := range d.Series {
		n += len(s)
	}
	return n
}

// ChunkPoints is the most points a chunk holds in the benchmarks: the
// gateway's history cuts its chunks there, as Prometheus' head does.
const ChunkPoints = 120

// start is 2026-01-01T00:00:00.123Z: sample times have a phase within
// the second.
const start = 1_767_225_600_123

// DataSets returns the benchmarks' data sets, each an hour long:
// "system", System's series; "system-slow", SlowSystem's; "load", Load's
// with bench/load's defaults (a 1 s tick, every cell changing every
// tick); and "load-sparse", Load's at a 250 ms tick with a tenth of the
// cells changing each tick, so each cell every 2.5 s.
func DataSets() []DataSet {
	return []DataSet{
		System(1, 14400),
		SlowSystem(4, 14400),
		Load("load", 2, 3600, 1000, 1),
		Load("load-sparse", 3, 14400, 250, 0.1),
	}
}

// ticker returns n sample times tick ms apart, as a time.Ticker gives
// them: each a fraction of a millisecond late, one in fifty a few
// milliseconds later still (a busy machine), and never drifting.
func ticker(r *rand.Rand, n int, tick int64) []int64 {
	ts := make([]int64, n)
	for k := range ts {
		late := int64(r.ExpFloat64() * 300) // µs
		if r.IntN(50) == 0 {
			late += 2000 + r.Int64N(28000)
		}
		ts[k] = start + (int64(k)*tick*1000+late)/1000
	}
	return ts
}

// changes returns the points of a sampled series whose value at tick k
// is v(k): only those that differ from the one before.
func changes(ts []int64, v func(k int) float64) []Point {
	var ps []Point
	for k, t := range ts {
		x := v(k)
		if len(ps) == 0 || math.Float64bits(x) != math.Float64bits(ps[len(ps)-1].V) {
			ps = append(ps, Point{t, x})
		}
	}
	return ps
}

// number is what a sampler's samplers.Number(v, 2) cell holds: v
// rounded to two decimals, as parsed back from its text.
func number(v float64) float64 {
	f, _ := strconv.ParseFloat(strconv.FormatFloat(v, 'f', 2, 64), 64)
	return f
}

// System returns the series the cpu and memory samplers give for a
// 2-core, 24 GiB machine at a 250 ms tick over n ticks, modelled on this
// project's own machine (its /proc/stat, /proc/meminfo and /proc/loadavg
// read every 250 ms for two minutes, while other work came and went):
//   - busy, user, system and iowait percentages of the total and of each
//     core, from 10 ms jiffies counted over each tick, so to two decimals
//     multiples of about 2 % for the total (0, 1.96, 2, 4.08, ..., 96.08,
//     100) and 4 % for a core, the machine idle (0.4 % busy) or at work
//     (97 %) in turns of 10 s on average;
//   - load1, load5 and load15 to two decimals, which the kernel updates
//     every 5 s;
//   - used and available bytes, moving by a few pages most ticks and by
//     megabytes now and then, and the used percentage to two decimals.
func System(seed uint64, n int) DataSet {
	r := rand.New(rand.NewPCG(seed, 0))
	ts := ticker(r, n, 250)

	// CPU: a machine idle most of the time, with bursts of work.
	const cores = 2
	type times struct{ user, system, iowait, idle float64 }
	cpu := make([][cores]times, n) // jiffies in each tick
	busy := false
	for k := range cpu {
		if r.IntN(40) == 0 {
			busy = !busy
		}
		for c := range cores {
			all := 25 + r.IntN(3) - 1 // a 250 ms tick is 25 jiffies, give or take one
			p := 0.004
			if busy {
				p = 0.97
			}
			var x times
			for range all {
				switch u := r.Float64(); {
				case u < p*0.8:
					x.user++
				case u < p:
					x.system++
				case u < p+0.002:
					x.iowait++
				default:
					x.idle++
				}
			}
			cpu[k][c] = x
		}
	}
	pct := func(k, c int, f func(times) float64) float64 {
		var x times
		if c < 0 {
			for _, y := range cpu[k] {
				x.user, x.system, x.iowait, x.idle = x.user+y.user, x.system+y.system, x.iowait+y.iowait, x.idle+y.idle
			}
		} else {
			x = cpu[k][c]
		}
		all := x.user + x.system + x.iowait + x.idle
		return number(min(100*f(x)/all, 100))
	}
	cols := []func(times) float64{
		func(x times) float64 { return x.user + x.system },
		func(x times) float64 { return x.user },
		func(x times) float64 { return x.system },
		func(x times) float64 { return x.iowait },
	}
	var series [][]Point
	for c := -1; c < cores; c++ {
		for _, f := range cols {
			series = append(series, changes(ts, func(k int) float64 { return pct(k, c, f) }))
		}
	}

	// Load averages: the kernel's exponential decay every 5 s of the
	// runnable tasks then, two when busy.
	load := make([][3]float64, n)
	var avg [3]float64
	decay := [3]float64{math.Exp(-5.0 / 60), math.Exp(-5.0 / 300), math.Exp(-5.0 / 900)}
	for k := range load {
		if k%20 == 0 {
			active := float64(r.IntN(2))
			if cpu[k][0].idle < 10 {
				active = 2 + float64(r.IntN(2))
			}
			for i := range avg {
				avg[i] = avg[i]*decay[i] + active*(1-decay[i])
			}
		}
		load[k] = avg
	}
	for i := range 3 {
		series = append(series, changes(ts, func(k int) float64 { return number(load[k][i]) }))
	}

	// Memory: available moves by a few pages most ticks, by megabytes
	// now and then.
	const total = 24 << 30
	avail := make([]float64, n)
	a := int64(23 << 30)
	for k := range avail {
		switch u := r.Float64(); {
		case u < 0.3:
		case u < 0.8:
			a += 4096 * (r.Int64N(17) - 8)
		default:
			a += 4096 * (r.Int64N(2049) - 1024)
		}
		a = min(max(a, 1<<30), total)
		avail[k] = float64(a)
	}
	series = append(series,
		changes(ts, func(k int) float64 { return total - avail[k] }),
		changes(ts, func(k int) float64 { return avail[k] }),
		changes(ts, func(k int) float64 { return number(100 * (total - avail[k]) / total) }),
	)
	return DataSet{Name: "system", Series: series}
}

// Load returns the series bench/load's simulated probes make of their
// cells over n ticks of tick ms: each cell holds the Unix microseconds
// when its probe's tick began, and a fraction change of the cells
// changes each tick, every cell in turn. A probe's cells that change
// together are the same series, so it returns one cell of each of ten
// probes spread across the tick, as the load generator spreads them.
func Load(name string, seed uint64, n int, tick int64, change float64) DataSet {
	r := rand.New(rand.NewPCG(seed, 0))
	every := max(1, int(math.Round(1/change)))
	var series [][]Point
	for probe := range 10 {
		phase := tick * 1000 * int64(probe) / 10 // µs
		var ps []Point
		for k := probe % every; k < n; k += every {
			us := (start+int64(k)*tick)*1000 + phase + int64(r.ExpFloat64()*300)
			if r.IntN(50) == 0 {
				us += 2000 + r.Int64N(28000)
			}
			ps = append(ps, Point{T: us / 1000, V: float64(us)})
		}
		series = append(series, ps)
	}
	return DataSet{Name: name, Series: series}
}

// SlowSystem returns the slowly changing series of a mostly idle machine
// at a 250 ms tick over n ticks, each to two decimals as the samplers
// give them, so that most ticks repeat the value before:
//   - load1, load5 and load15, which the kernel updates every 5 s, of a
//     machine with no runnable task most of the time, one now and then,
//     and a burst of two or three for a minute or so every ten;
//   - the used percentage of 24 GiB of memory, moved by a few megabytes
//     every 5 s on average, and of 8 GiB of swap, by a megabyte or two
//     every few minutes;
//   - the used percentage of three disks: a 100 GiB root filling with
//     logs at about 20 KB/s, a log rotation freeing some every 20 minutes
//     or so; a 1 TiB data disk written in bursts and trimmed now and
//     then; and a 2 TiB backup disk taking a few gigabytes a quarter of
//     an hour.
func SlowSystem(seed uint64, n int) DataSet {
	r := rand.New(rand.NewPCG(seed, 0))
	ts := ticker(r, n, 250)
	var series [][]Point

	// Load averages, as in System, of fewer runnable tasks.
	load := make([][3]float64, n)
	var avg [3]float64
	decay := [3]float64{math.Exp(-5.0 / 60), math.Exp(-5.0 / 300), math.Exp(-5.0 / 900)}
	burst := 0
	for k := range load {
		if k%20 == 0 {
			active := 0.0
			switch {
			case burst > 0:
				burst--
				active = 2 + float64(r.IntN(2))
			case r.IntN(120) == 0:
				burst = 6 + r.IntN(12)
			case r.IntN(4) == 0:
				active = 1
			}
			for i := range avg {
				avg[i] = avg[i]*decay[i] + active*(1-decay[i])
			}
		}
		load[k] = avg
	}
	for i := range 3 {
		series = append(series, changes(ts, func(k int) float64 { return number(load[k][i]) }))
	}

	// walk returns the used percentage of total bytes at each tick, from
	// used bytes that step moves.
	walk := func(total, used float64, step func() float64) []float64 {
		pct := make([]float64, n)
		for k := range pct {
			used = min(max(used+step(), 0), total)
			pct[k] = number(100 * used / total)
		}
		return pct
	}
	const mib, gib = 1 << 20, 1 << 30
	pages := func(lo, hi float64) float64 { return 4096 * math.Round(lo+r.Float64()*(hi-lo)) }
	sets := [][]float64{
		walk(24*gib, 9.3*gib, func() float64 { // memory
			if r.IntN(20) != 0 {
				return 0
			}
			return pages(-4096, 4096)
		}),
		walk(8*gib, 0.4*gib, func() float64 { // swap
			if r.IntN(800) != 0 {
				return 0
			}
			return pages(-512, 512)
		}),
		walk(100*gib, 61.2*gib, func() float64 { // root: logs
			if r.IntN(4800) == 0 {
				return -pages(0, 128*mib/4096)
			}
			return pages(0, 2*20e3/4/4096)
		}),
		walk(1024*gib, 412*gib, func() float64 { // data: bursts of writes
			switch u := r.IntN(2400); {
			case u < 24:
				return pages(0, 64*mib/4096)
			case u == 24:
				return -pages(0, 4*gib/4096)
			}
			return 0
		}),
		walk(2048*gib, 1337*gib, func() float64 { // backup
			if r.IntN(3600) != 0 {
				return 0
			}
			return pages(0, 8*gib/4096)
		}),
	}
	for _, pct := range sets {
		series = append(series, changes(ts, func(k int) float64 { return pct[k] }))
	}
	return DataSet{Name: "system-slow", Series: series}
}
