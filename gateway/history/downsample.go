package history

import "github.com/watchfloor/watchfloor/rules"

// Bucket is what a series did during one step of a range: the least,
// the greatest and the last of the values in force during it. A chart
// drawn from Min and Max keeps a spike that lasted one sample.
type Bucket struct {
	T              int64 // the step's start, Unix ms
	Min, Max, Last float64
}

// Downsample folds points (as Read returns them: the first may be the
// value in force before from) into steps of step ms from from, up to to.
// A step holds the value carried into it and every value that began in
// it. Steps when the cell had no value — before its first point, after it
// went (rules.StaleNaN), after sampled (its dataview's last sample) — are left
// out.
func Downsample(points []Point, from, to, step, sampled int64) []Bucket {
	if step <= 0 || to < from {
		return nil
	}
	end := min(to, sampled)
	var out []Bucket
	i := 0
	var cur float64
	has := false
	for t := from; t <= end; t += step {
		next := t + step
		var b Bucket
		in := false
		add := func(x float64) {
			if !in {
				b = Bucket{T: t, Min: x, Max: x}
				in = true
			}
			b.Min, b.Max, b.Last = min(b.Min, x), max(b.Max, x), x
		}
		// Points up to t set the value carried into the step.
		for i < len(points) && points[i].T <= t {
			cur, has = points[i].V, !rules.IsStale(points[i].V)
			i++
		}
		if has {
			add(cur)
		}
		for i < len(points) && points[i].T < next && points[i].T <= end {
			cur, has = points[i].V, !rules.IsStale(points[i].V)
			if has {
				add(cur)
			}
			i++
		}
		if in {
			// A cell that went during the step keeps, as its last, the
			// last value it had.
			out = append(out, b)
		}
		if next < t { // overflow
			break
		}
	}
	return out
}
