package calendar

import (
	"errors"
	"fmt"
	"slices"
	"time"
)

// Window is a daily window from Start to End on the zone's wall clock. An
// End at or before Start crosses midnight: 22:00–02:00 runs from 22:00 on
// the day it starts to 02:00 the next day. 00:00–24:00 is all day.
type Window struct{ Start, End Clock }

// String gives the window as HH:MM–HH:MM.
func (w Window) String() string { return w.Start.String() + "–" + w.End.String() }

// Schedule is named active time: the days and windows it is active on, in
// a zone, less holidays, with half days closing early.
//
// Check validates a schedule and prepares it; Active and Next panic on a
// schedule that has not passed Check. After Check a schedule is safe for
// concurrent use; a change to its fields takes effect at the next Check.
type Schedule struct {
	Name string
	Zone *time.Location
	// Days are the days a window may start on; none means every day. A
	// window crossing midnight runs into the next day whatever that is.
	Days []time.Weekday
	// Windows are the daily windows; none means all day (00:00–24:00).
	Windows []Window
	// Holidays are dates on which no window starts (the value is the
	// holiday's name). A window that started the day before still ends
	// as usual.
	Holidays map[Date]string
	// HalfDays are dates on which the windows starting that day end at
	// the given clock at the latest. The close is the first time the clock
	// reads it at or after the day's first window starts, so a 01:00 close
	// on a 22:00–02:00 window means 01:00 the next morning; windows that
	// would start after the close do not open.
	HalfDays map[Date]Clock

	c *scheduleCode
}

// scheduleCode is what Check prepares. Intervals are in minutes from the
// start day's 00:00, so a window crossing midnight ends past 1440.
type scheduleCode struct {
	loc      *time.Location
	week     [7][]interval
	specials []special
	// full says the windows cover every instant of a week: only holidays
	// and half days can make the schedule inactive.
	full bool
}

type interval struct{ start, end int }

// Check validates the schedule and prepares it for Active and Next. It
// reports every problem, each naming its field ("windows[1]: ends where it
// starts").
func (s *Schedule) Check() error {
	s.c = nil
	var errs []error
	bad := func(field, msg string) { errs = append(errs, fmt.Errorf("%s: %s", field, msg)) }
	if s.Zone == nil {
		bad("zone", "missing")
	}
	days := checkDays(s.Days, bad)

	windows := s.Windows
	if len(windows) == 0 {
		windows = []Window{{Clock{0, 0}, Clock{24, 0}}}
	}
	ivs := make([]interval, 0, len(windows))
	okWindows := true
	for i, w := range windows {
		iv, err := w.interval()
		if err != nil {
			bad(fmt.Sprintf("windows[%d]", i), err.Error())
			okWindows = false
			continue
		}
		ivs = append(ivs, iv)
	}
	if okWindows {
		checkOverlaps(windows, ivs, days, bad)
	}
	slices.SortFunc(ivs, func(a, b interval) int { return a.start - b.start })

	c := &scheduleCode{loc: s.Zone}
	for d := range 7 {
		if days[d] {
			c.week[d] = ivs
		}
	}
	c.specials = compileSpecials(s.Holidays, s.HalfDays, bad)
	for i := range c.specials {
		sp := &c.specials[i]
		if sp.holiday || !okWindows {
			continue
		}
		field := fmt.Sprintf("halfDays[%s]", dateOf(sp.day))
		wd := weekday(sp.day)
		if !days[wd] {
			bad(field, fmt.Sprintf("a %s, when no window starts", wd))
			continue
		}
		closeAt := sp.close
		if closeAt < ivs[0].start {
			closeAt += 1440
		}
		inside := false
		for _, iv := range ivs {
			inside = inside || (iv.start < closeAt && closeAt <= iv.end)
		}
		if !inside {
			bad(field, fmt.Sprintf("closes at %s, outside the day's windows (%s)", Clock{sp.close / 60, sp.close % 60}, windowList(windows)))
			continue
		}
		sp.close = closeAt
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	c.full = covers(c.week)
	s.c = c
	return nil
}

func checkDays(ds []time.Weekday, bad func(field, msg string)) [7]bool {
	var days [7]bool
	if len(ds) == 0 {
		return [7]bool{true, true, true, true, true, true, true}
	}
	for i, d := range ds {
		switch {
		case d < time.Sunday || d > time.Saturday:
			bad(fmt.Sprintf("days[%d]", i), fmt.Sprintf("%d is not a day of the week", int(d)))
		case days[d]:
			bad(fmt.Sprintf("days[%d]", i), fmt.Sprintf("%s is listed twice", d))
		default:
			days[d] = true
		}
	}
	return days
}

func (w Window) interval() (interval, error) {
	if err := w.Start.valid(); err != nil {
		return interval{}, fmt.Errorf("start: %w", err)
	}
	if err := w.End.valid(); err != nil {
		return interval{}, fmt.Errorf("end: %w", err)
	}
	s, e := w.Start.minutes(), w.End.minutes()
	switch {
	case s == 1440:
		return interval{}, errors.New("starts at 24:00, the end of the day; start at 00:00")
	case s == e || (s == 0 && e == 0):
		return interval{}, errors.New("ends where it starts (00:00–24:00 is all day)")
	case e < s:
		e += 1440
	}
	return interval{s, e}, nil
}

// checkOverlaps reports windows that overlap on one day, or that run past
// midnight into a window of the next day when both days are active.
func checkOverlaps(ws []Window, ivs []interval, days [7]bool, bad func(field, msg string)) {
	consecutive := false
	for d := range 7 {
		consecutive = consecutive || (days[d] && days[(d+1)%7])
	}
	for j := range ivs {
		for i := range j {
			a, b := ivs[i], ivs[j]
			switch {
			case a.start < b.end && b.start < a.end:
				bad(fmt.Sprintf("windows[%d]", j), fmt.Sprintf("overlaps windows[%d] (%s)", i, ws[i]))
			case consecutive && (a.end > b.start+1440 || b.end > a.start+1440):
				bad(fmt.Sprintf("windows[%d]", j), fmt.Sprintf("overlaps windows[%d] (%s) across midnight", i, ws[i]))
			}
		}
	}
}

func windowList(ws []Window) string {
	s := ""
	for i, w := range ws {
		if i > 0 {
			s += ", "
		}
		s += w.String()
	}
	return s
}

// covers says whether the week's intervals leave no instant uncovered.
func covers(week [7][]interval) bool {
	const weekMinutes = 7 * 1440
	var all []interval
	for d, ivs := range week {
		for _, iv := range ivs {
			all = append(all, interval{d*1440 + iv.start, d*1440 + iv.end})
		}
	}
	reach := 0 // the start of the week is covered up to reach by wrapped tails
	for _, iv := range all {
		reach = max(reach, iv.end-weekMinutes)
	}
	slices.SortFunc(all, func(a, b interval) int { return a.start - b.start })
	for _, iv := range all {
		if iv.start > reach {
			return false
		}
		reach = max(reach, iv.end)
	}
	return reach >= weekMinutes
}

func (s *Schedule) code() *scheduleCode {
	if s.c == nil {
		panic(fmt.Sprintf("calendar: schedule %q used without a successful Check", s.Name))
	}
	return s.c
}

// day gives the intervals starting on day x and the half-day close that
// clips them (2880, past any end, on a usual day); none on a holiday.
func (c *scheduleCode) day(x int64) ([]interval, int) {
	if sp, ok := specialOn(c.specials, x); ok {
		if sp.holiday {
			return nil, 0
		}
		return c.week[weekday(x)], sp.close
	}
	return c.week[weekday(x)], 2 * 1440
}

// Active says whether the schedule is active at t.
func (s *Schedule) Active(t time.Time) bool {
	c := s.code()
	u := t.Unix()
	r := newResolver(c.loc, u)
	d := r.localDay(u)
	for x := d - 1; x <= d; x++ {
		ivs, closeAt := c.day(x)
		for _, iv := range ivs {
			end := min(iv.end, closeAt)
			if iv.start >= end {
				break
			}
			if r.at(x, iv.start) <= u && u < r.at(x, end) {
				return true
			}
		}
	}
	return false
}

// Next returns the first instant after t at which Active changes, in the
// schedule's zone, and what Active changes to. ok is false if Active does
// not change within 400 days of t (a schedule that is always active).
func (s *Schedule) Next(t time.Time) (at time.Time, active bool, ok bool) {
	c := s.code()
	u := t.Unix()
	r := newResolver(c.loc, u)
	d := r.localDay(u)
	last := d + horizonDays
	x := d - 1
	inRun := false
	var runEnd int64
	if c.full {
		// Active changes only around holidays and half days: skip to the
		// day before the first, which is wholly active and chains on.
		i := firstFrom(c.specials, d-1)
		if i == len(c.specials) || c.specials[i].day > last {
			return time.Time{}, false, false
		}
		if first := c.specials[i].day - 1; first > d {
			x = first
			inRun = true
			runEnd = r.at(x, c.week[weekday(x)][0].start)
		}
	}
	limit := u + horizonDays*secondsPerDay
	for ; x <= last+1; x++ {
		ivs, closeAt := c.day(x)
		for _, iv := range ivs {
			end := min(iv.end, closeAt)
			if iv.start >= end {
				break
			}
			a, b := r.at(x, iv.start), r.at(x, end)
			if b <= u || a == b {
				continue
			}
			switch {
			case inRun && a <= runEnd:
				runEnd = max(runEnd, b)
			case inRun:
				return s.result(runEnd, false, limit)
			case a > u:
				return s.result(a, true, limit)
			default:
				inRun, runEnd = true, b
			}
		}
	}
	if inRun {
		return s.result(runEnd, false, limit)
	}
	return time.Time{}, false, false
}

func (s *Schedule) result(u int64, active bool, limit int64) (time.Time, bool, bool) {
	if u > limit {
		return time.Time{}, false, false
	}
	return time.Unix(u, 0).In(s.c.loc), active, true
}
