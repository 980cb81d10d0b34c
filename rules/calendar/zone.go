package calendar

import (
	"math"
	"time"
)

const (
	secondsPerDay = 86400
	// maxOffset bounds any zone's offset from UTC (the extremes in use are
	// -12:00 and +14:00), so the instants showing a given wall time lie
	// within maxOffset of it read as UTC.
	maxOffset = 14 * 3600
	// horizonDays is how far Next and At look for a change.
	horizonDays = 400
)

// period is a stretch of time over which a zone keeps one offset:
// [start, end) in Unix seconds.
type period struct {
	off, start, end int64
}

func periodAt(loc *time.Location, u int64) period {
	t := time.Unix(u, 0).In(loc)
	_, off := t.Zone()
	p := period{off: int64(off), start: math.MinInt64, end: math.MaxInt64}
	if s, e := t.ZoneBounds(); !s.IsZero() || !e.IsZero() {
		if !s.IsZero() {
			p.start = s.Unix()
		}
		if !e.IsZero() {
			p.end = e.Unix()
		}
	}
	return p
}

// resolver turns wall times in a zone into instants. It holds the zone's
// period around the instant being judged, so that away from a change of
// offset a wall time costs one subtraction.
type resolver struct {
	loc *time.Location
	p   period
}

func newResolver(loc *time.Location, u int64) resolver {
	return resolver{loc: loc, p: periodAt(loc, u)}
}

// localDay is the day number of instant u on the zone's wall clock.
func (r *resolver) localDay(u int64) int64 {
	if u >= r.p.start && u < r.p.end {
		return floorDiv(u+r.p.off, secondsPerDay)
	}
	return floorDiv(u+periodAt(r.loc, u).off, secondsPerDay)
}

// at is the instant at which the wall clock in the zone first reads
// minute min (0 to 2880) of day number day:
//   - a wall time that occurs once is that instant;
//   - a wall time that occurs twice (the repeated hour when clocks go
//     back) is its first occurrence;
//   - a wall time that does not occur (skipped when clocks go forward) is
//     the instant the clocks jump, the first instant after the gap.
//
// So at never decreases as the wall time increases.
func (r *resolver) at(day int64, min int) int64 {
	l := day*secondsPerDay + int64(min)*60
	if !r.holds(l) {
		// Move to the period of this wall time, so that the days after a
		// change of offset take the quick way again.
		r.p = periodAt(r.loc, l-maxOffset)
		if !r.holds(l) {
			return resolve(r.loc, l)
		}
	}
	return l - r.p.off
}

// holds says whether wall time l (local seconds) shows first in the
// resolver's period: the period reaches back to maxOffset before l, the
// earliest instant that could show it, and l shows in it.
func (r *resolver) holds(l int64) bool {
	return l-maxOffset >= r.p.start && l-r.p.off < r.p.end
}

// resolve is the general case of resolver.at, for local seconds l: walk
// the zone's periods forward from the earliest that can show l.
func resolve(loc *time.Location, l int64) int64 {
	p := periodAt(loc, l-maxOffset)
	for range 8 { // at most two or three periods can be in reach
		u := l - p.off
		switch {
		case u < p.start:
			return p.start // l was skipped: the clocks jumped over it at p.start
		case u < p.end:
			return u
		}
		p = periodAt(loc, p.end)
	}
	return l - p.off
}
