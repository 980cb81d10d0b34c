package calendar

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Maintenance is planned time, in a zone: one-off, from Start to End, or
// recurring, in Window on Days (none means every day), in force from
// Start (none: always) until End (none: forever). A recurring window
// whose occurrence a bound cuts is active only inside the bound.
//
// A Maintenance is recurring when it has Days or a Window; the zero Window
// is none (it would end where it starts).
//
// Check validates a Maintenance and prepares it; Active and Next panic on
// one that has not passed Check. After Check it is safe for concurrent
// use; a change to its fields takes effect at the next Check.
type Maintenance struct {
	Zone *time.Location
	// Start and End are instants. A one-off window needs both; for a
	// recurring one each is optional.
	Start, End time.Time
	// Days and Window make it recurring: the window, on the zone's wall
	// clock, on each of the days it starts on. A window crossing midnight
	// runs into the next day.
	Days   []time.Weekday
	Window Window

	recurring *Schedule // nil for a one-off window, once checked
	checked   bool
}

// Recurring reports whether m recurs: it has Days or a Window.
func (m *Maintenance) Recurring() bool { return len(m.Days) > 0 || m.Window != (Window{}) }

// Check validates m and prepares it for Active and Next. It reports every
// problem, each naming its field ("end: 2026-12-05 08:00 is not after
// start 2026-12-06 18:00", "window: ends where it starts").
func (m *Maintenance) Check() error {
	m.recurring, m.checked = nil, false
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", field, fmt.Sprintf(format, args...)))
	}
	if m.Zone == nil {
		bad("zone", "missing")
	}
	if !m.Recurring() {
		if m.Start.IsZero() {
			bad("start", "missing: a one-off window needs a start and an end (or days and a window to recur)")
		}
		if m.End.IsZero() {
			bad("end", "missing: a one-off window needs a start and an end (or days and a window to recur)")
		}
	}
	if !m.Start.IsZero() && !m.End.IsZero() && !m.End.After(m.Start) {
		bad("end", "%s is not after start %s", m.wall(m.End), m.wall(m.Start))
	}
	if m.Recurring() {
		s := &Schedule{Name: "maintenance", Zone: m.Zone, Days: m.Days, Windows: []Window{m.Window}}
		if m.Zone == nil {
			s.Zone = time.UTC // reported above; Check still judges the rest
		}
		if err := s.Check(); err != nil {
			for _, e := range unjoin(err) {
				msg := e.Error()
				if rest, ok := strings.CutPrefix(msg, "windows[0]: "); ok {
					msg = "window: " + rest
				}
				errs = append(errs, errors.New(msg))
			}
		}
		m.recurring = s
	}
	if len(errs) > 0 {
		m.recurring = nil
		return errors.Join(errs...)
	}
	m.checked = true
	return nil
}

func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// wall gives t on the zone's wall clock, for messages.
func (m *Maintenance) wall(t time.Time) string {
	if m.Zone != nil {
		t = t.In(m.Zone)
	}
	return t.Format("2006-01-02 15:04")
}

func (m *Maintenance) mustBeChecked() {
	if !m.checked {
		panic("calendar: maintenance used without a successful Check")
	}
}

// inBounds says whether t is within [Start, End), an unset bound being
// no bound.
func (m *Maintenance) inBounds(t time.Time) bool {
	return (m.Start.IsZero() || !t.Before(m.Start)) && (m.End.IsZero() || t.Before(m.End))
}

// Active says whether m is active at t.
func (m *Maintenance) Active(t time.Time) bool {
	m.mustBeChecked()
	if !m.inBounds(t) {
		return false
	}
	return m.recurring == nil || m.recurring.Active(t)
}

// Next returns the first instant after t at which Active changes, in the
// zone, and what Active changes to. ok is false if it never changes again
// (a one-off window that is over), or not within 400 days for a
// recurring one (one that is active all day every day and has no End).
func (m *Maintenance) Next(t time.Time) (at time.Time, active bool, ok bool) {
	m.mustBeChecked()
	if m.recurring == nil {
		switch {
		case t.Before(m.Start):
			return m.Start.In(m.Zone), true, true
		case t.Before(m.End):
			return m.End.In(m.Zone), false, true
		}
		return time.Time{}, false, false
	}
	if !m.End.IsZero() && !t.Before(m.End) {
		return time.Time{}, false, false
	}
	from := t
	if !m.Start.IsZero() && t.Before(m.Start) {
		if m.recurring.Active(m.Start) {
			return m.Start.In(m.Zone), true, true
		}
		from = m.Start
	}
	cur := false // before Start, and at Start, it is inactive
	if from == t {
		cur = m.recurring.Active(t)
	}
	at, active, ok = m.recurring.Next(from)
	if !m.End.IsZero() && (!ok || !at.Before(m.End)) {
		if cur {
			return m.End.In(m.Zone), false, true
		}
		return time.Time{}, false, false
	}
	return at, active, ok
}

// WallTime is the instant at which the zone's wall clock first reads c on
// date d, as schedules take their clocks: a time repeated when clocks go
// back is its first occurrence, and one skipped when they go forward is
// the instant they jump.
func WallTime(zone *time.Location, d Date, c Clock) time.Time {
	l := d.days()*secondsPerDay + int64(c.minutes())*60
	return time.Unix(resolve(zone, l), 0).In(zone)
}

// ParseWallTime reads a wall time, "2006-01-02T15:04", in zone, as
// WallTime takes it.
func ParseWallTime(s string, zone *time.Location) (time.Time, error) {
	date, clock, found := strings.Cut(s, "T")
	if !found {
		return time.Time{}, fmt.Errorf("%q: want a wall time YYYY-MM-DDTHH:MM, such as 2026-12-05T08:00", s)
	}
	d, err := ParseDate(date)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q: %w", s, err)
	}
	c, err := ParseClock(clock)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q: %w", s, err)
	}
	if len(clock) != 5 {
		return time.Time{}, fmt.Errorf("%q: want a wall time YYYY-MM-DDTHH:MM, such as 2026-12-05T08:00", s)
	}
	if c.Hour == 24 {
		return time.Time{}, fmt.Errorf("%q: 24:00 is the next day's 00:00", s)
	}
	return WallTime(zone, d, c), nil
}

// ParseWeekday reads a day of the week: mon to sun, or its full name
// (Monday), in any case.
func ParseWeekday(s string) (time.Weekday, error) {
	for d := time.Sunday; d <= time.Saturday; d++ {
		if name := d.String(); strings.EqualFold(s, name) || strings.EqualFold(s, name[:3]) {
			return d, nil
		}
	}
	return 0, fmt.Errorf("%q is not a day of the week (mon, tue, wed, thu, fri, sat or sun)", s)
}
