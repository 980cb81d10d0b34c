package calendar

import (
	"errors"
	"fmt"
	"time"
)

// Phase is where a system is in its work cycle.
type Phase uint8

// The phases of a work cycle.
const (
	Closed Phase = iota
	BeginningOfDay
	Intraday
	EndOfDay
)

// Phases is how many phases there are.
const Phases = int(EndOfDay) + 1

var phaseNames = [...]string{Closed: "closed", BeginningOfDay: "bod", Intraday: "intraday", EndOfDay: "eod"}

// String gives the phase's name as config writes it: "closed", "bod",
// "intraday" or "eod".
func (p Phase) String() string {
	if int(p) < len(phaseNames) {
		return phaseNames[p]
	}
	return fmt.Sprintf("phase(%d)", uint8(p))
}

// ParsePhase reads a phase's name: "closed", "bod" or "beginning-of-day",
// "intraday", "eod" or "end-of-day".
func ParsePhase(s string) (Phase, error) {
	switch s {
	case "closed":
		return Closed, nil
	case "bod", "beginning-of-day":
		return BeginningOfDay, nil
	case "intraday":
		return Intraday, nil
	case "eod", "end-of-day":
		return EndOfDay, nil
	}
	return 0, fmt.Errorf("phase %q: want closed, bod, intraday or eod", s)
}

// PhaseStart is when a phase starts each trading day, on the cycle's wall
// clock.
type PhaseStart struct {
	Phase Phase
	At    Clock
}

// WorkCycle is a system's day. Each day's cycle runs from its first phase
// start to the next day's first phase start. On a trading day the phases
// start at their clocks in order, the last running on until the next
// day's first start. A day that is not a trading day, or is a holiday, is
// Closed for its whole cycle.
//
// A half day moves End of Day to the half day's close: the phases before
// End of Day keep their starts, and the phases after it keep their
// distances from End of Day (with Closed an hour after a 16:30 End of Day,
// a 12:30 close gives Closed at 13:30).
//
// Check validates a cycle and prepares it; At panics on a cycle that has
// not passed Check. After Check a cycle is safe for concurrent use; a
// change to its fields takes effect at the next Check.
type WorkCycle struct {
	Name string
	Zone *time.Location
	// Days are the trading days; none means every day.
	Days []time.Weekday
	// Phases are the phase starts of a trading day, in strictly
	// increasing order of At (all before 24:00), at least one.
	Phases   []PhaseStart
	Holidays map[Date]string
	// HalfDays give the early close, when End of Day starts, on trading
	// days that close early.
	HalfDays map[Date]Clock

	c *cycleCode
}

type cycleCode struct {
	loc      *time.Location
	phases   []Phase
	starts   []int // minutes of the day, parallel to phases
	eod      int   // index of the first End of Day phase, -1 if none
	trading  [7]bool
	specials []special
	// uniform says every day of a usual week is in one phase, the only one
	// there is; holidays and half days can still change it.
	uniform bool
}

// Check validates the cycle and prepares it for At. It reports every
// problem, each naming its field ("phases[2]: starts at 16:30, before
// phases[1] at 17:00").
func (w *WorkCycle) Check() error {
	w.c = nil
	var errs []error
	bad := func(field, msg string) { errs = append(errs, fmt.Errorf("%s: %s", field, msg)) }
	if w.Zone == nil {
		bad("zone", "missing")
	}
	c := &cycleCode{loc: w.Zone, eod: -1}
	c.trading = checkDays(w.Days, bad)
	if len(w.Phases) == 0 {
		bad("phases", "none; a cycle needs at least one phase start")
	}
	for i, ps := range w.Phases {
		field := fmt.Sprintf("phases[%d]", i)
		if ps.Phase > EndOfDay {
			bad(field, fmt.Sprintf("%s is not a phase", ps.Phase))
			continue
		}
		if err := ps.At.valid(); err != nil {
			bad(field, err.Error())
			continue
		}
		m := ps.At.minutes()
		if m == 1440 {
			bad(field, "starts at 24:00, the end of the day; start at 00:00")
			continue
		}
		if n := len(c.starts); n > 0 {
			prev := w.Phases[i-1]
			switch {
			case m == c.starts[n-1]:
				bad(field, fmt.Sprintf("starts at %s, as phases[%d] does", ps.At, i-1))
				continue
			case m < c.starts[n-1]:
				bad(field, fmt.Sprintf("starts at %s, before phases[%d] at %s", ps.At, i-1, prev.At))
				continue
			case ps.Phase == c.phases[n-1]:
				bad(field, fmt.Sprintf("%s follows %s; the phases of a day must change", ps.Phase, prev.Phase))
				continue
			}
		}
		if ps.Phase == EndOfDay && c.eod < 0 {
			c.eod = len(c.phases)
		}
		c.phases = append(c.phases, ps.Phase)
		c.starts = append(c.starts, m)
	}
	c.specials = compileSpecials(w.Holidays, w.HalfDays, bad)
	for _, sp := range c.specials {
		if sp.holiday || len(c.phases) == 0 {
			continue
		}
		field := fmt.Sprintf("halfDays[%s]", dateOf(sp.day))
		close := Clock{sp.close / 60, sp.close % 60}
		switch wd := weekday(sp.day); {
		case !c.trading[wd]:
			bad(field, fmt.Sprintf("a %s, not a trading day", wd))
		case c.eod < 0:
			bad(field, "the cycle has no eod phase to move")
		case c.eod > 0 && sp.close <= c.starts[c.eod-1]:
			bad(field, fmt.Sprintf("closes at %s, not after %s starts at %s", close, c.phases[c.eod-1], w.Phases[c.eod-1].At))
		case sp.close > c.starts[c.eod]:
			bad(field, fmt.Sprintf("closes at %s, after eod's usual start at %s", close, w.Phases[c.eod].At))
		}
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	c.uniform = true
	for d := range 7 {
		for _, p := range c.phases {
			c.uniform = c.uniform && (p == c.phases[0]) && (c.trading[d] || p == Closed)
		}
	}
	w.c = c
	return nil
}

// State is a cycle's phase at an instant.
type State struct {
	Phase Phase
	// Since is when the phase started; zero if it has not changed in the
	// 400 days before the instant.
	Since time.Time
	// Next is the phase that follows and NextAt when it starts; Closed and
	// zero if the phase does not change in the 400 days after the instant
	// (a 24/7 cycle).
	Next   Phase
	NextAt time.Time
	// Holiday is the name of the holiday on the instant's date in the
	// cycle's zone, if it is one.
	Holiday string
}

// A segment is one phase start on one day: the i-th start of day x's
// cycle. Days that are not trading days have one start, Closed, at the
// first phase's clock.
type segment struct {
	x int64
	i int
}

// dayShape describes day x's cycle: its number of starts, whether it is a
// trading day, and how far a half day moves End of Day and what follows.
func (c *cycleCode) dayShape(x int64) (n int, trading bool, shift int) {
	sp, special := specialOn(c.specials, x)
	if !c.trading[weekday(x)] || (special && sp.holiday) {
		return 1, false, 0
	}
	if special {
		shift = c.starts[c.eod] - sp.close
	}
	return len(c.phases), true, shift
}

func (c *cycleCode) phaseOf(s segment) Phase {
	if _, trading, _ := c.dayShape(s.x); !trading {
		return Closed
	}
	return c.phases[s.i]
}

func (c *cycleCode) startOf(r *resolver, s segment) int64 {
	m := c.starts[s.i] // a day that is not a trading day has one start, i = 0
	if _, trading, shift := c.dayShape(s.x); trading && c.eod >= 0 && s.i >= c.eod {
		m -= shift
	}
	return r.at(s.x, m)
}

func (c *cycleCode) next(s segment) segment {
	if n, _, _ := c.dayShape(s.x); s.i+1 < n {
		return segment{s.x, s.i + 1}
	}
	return segment{s.x + 1, 0}
}

func (c *cycleCode) prev(s segment) segment {
	if s.i > 0 {
		return segment{s.x, s.i - 1}
	}
	n, _, _ := c.dayShape(s.x - 1)
	return segment{s.x - 1, n - 1}
}

// At returns the cycle's state at t. Times in the state are in the
// cycle's zone.
func (w *WorkCycle) At(t time.Time) State {
	c := w.code()
	u := t.Unix()
	r := newResolver(c.loc, u)
	d := r.localDay(u)
	var st State
	if sp, ok := specialOn(c.specials, d); ok && sp.holiday {
		st.Holiday = sp.name
	}

	// The segment holding u: the last start at or before u, in day d's
	// cycle or, before that begins, day d-1's.
	cur := segment{d, 0}
	if c.startOf(&r, cur) > u {
		cur = c.prev(cur)
		cur.i = 0
	}
	for {
		nx := c.next(cur)
		if nx.x != cur.x || c.startOf(&r, nx) > u {
			break
		}
		cur = nx
	}
	st.Phase = c.phaseOf(cur)
	if c.uniform && len(c.specials) == 0 {
		return st
	}

	// Since: back over starts of the same phase, or that last no time.
	first, lo := cur, d-horizonDays
	for {
		p := c.prev(first)
		if c.uniform && p.x != first.x && st.Phase == c.phases[0] {
			// Whole usual days between holidays change nothing: jump to
			// the last special day before this one.
			i := lastBefore(c.specials, first.x-1)
			if i < 0 {
				first.x = lo - 1
				break
			}
			if sx := c.specials[i].day; sx < p.x {
				n, _, _ := c.dayShape(sx)
				p = segment{sx, n - 1}
				first = segment{sx + 1, 0}
			}
		}
		if p.x < lo {
			first.x = lo - 1
			break
		}
		if c.phaseOf(p) != st.Phase && c.startOf(&r, p) < c.startOf(&r, first) {
			break
		}
		first = p
	}
	if first.x >= lo {
		st.Since = w.instant(c.startOf(&r, first))
	}

	// Next: forward to the first start of another phase that lasts.
	hi := d + horizonDays
	nx := c.next(cur)
	for nx.x <= hi {
		if c.uniform && nx.i == 0 && st.Phase == c.phases[0] {
			i := firstFrom(c.specials, nx.x)
			if i == len(c.specials) {
				break
			}
			nx = segment{max(nx.x, c.specials[i].day), 0}
			if nx.x > hi {
				break
			}
		}
		if p := c.phaseOf(nx); p != st.Phase {
			at := c.startOf(&r, nx)
			if after := c.next(nx); c.startOf(&r, after) > at {
				st.Next, st.NextAt = p, w.instant(at)
				break
			}
		}
		nx = c.next(nx)
	}
	return st
}

func (w *WorkCycle) code() *cycleCode {
	if w.c == nil {
		panic(fmt.Sprintf("calendar: work cycle %q used without a successful Check", w.Name))
	}
	return w.c
}

func (w *WorkCycle) instant(u int64) time.Time { return time.Unix(u, 0).In(w.c.loc) }

// SeveralHours is a cycle for a market open several hours a day: on each
// trading day Beginning of Day at bod, Intraday at open, End of Day at
// close and Closed at eod (LSE: 07:00, 08:00, 16:30, 17:30 Europe/London,
// Monday to Friday). Call Check before use.
func SeveralHours(name string, zone *time.Location, days []time.Weekday, bod, open, close, eod Clock) WorkCycle {
	return WorkCycle{Name: name, Zone: zone, Days: days, Phases: []PhaseStart{
		{BeginningOfDay, bod}, {Intraday, open}, {EndOfDay, close}, {Closed, eod},
	}}
}

// AroundTheClock is a 24/7 cycle: Intraday always. Call Check before use.
func AroundTheClock(name string, zone *time.Location) WorkCycle {
	return WorkCycle{Name: name, Zone: zone, Phases: []PhaseStart{{Intraday, Clock{0, 0}}}}
}

// SixDays is a 24/6 cycle: Intraday every day but the weekly maintenance
// day, which is Closed from 00:00 to 24:00 in the zone. Call Check before
// use.
func SixDays(name string, zone *time.Location, maintenance time.Weekday) WorkCycle {
	days := make([]time.Weekday, 0, 6)
	for d := time.Sunday; d <= time.Saturday; d++ {
		if d != maintenance {
			days = append(days, d)
		}
	}
	return WorkCycle{Name: name, Zone: zone, Days: days, Phases: []PhaseStart{{Intraday, Clock{0, 0}}}}
}
