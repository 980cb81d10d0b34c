package calendar

import (
	"testing"
	"time"
	_ "time/tzdata" // the tests' zones, whatever the machine has
)

var (
	london  = mustZone("Europe/London")
	newYork = mustZone("America/New_York")
)

func mustZone(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

// at is a wall time in loc, "2006-01-02 15:04", optionally with the zone
// abbreviation ("2026-11-01 01:30 EST"); give it, or use UTC, for a wall
// time that is repeated or skipped.
func at(t testing.TB, loc *time.Location, s string) time.Time {
	t.Helper()
	layout := "2006-01-02 15:04"
	if len(s) > len(layout) {
		layout += " MST"
	}
	v, err := time.ParseInLocation(layout, s, loc)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func clock(s string) Clock {
	c, err := ParseClock(s)
	if err != nil {
		panic(err)
	}
	return c
}

func date(s string) Date {
	d, err := ParseDate(s)
	if err != nil {
		panic(err)
	}
	return d
}

var weekdays = []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday}

func lse() WorkCycle {
	w := SeveralHours("lse", london, weekdays, clock("07:00"), clock("08:00"), clock("16:30"), clock("17:30"))
	w.Holidays = map[Date]string{date("2026-12-25"): "Christmas Day", date("2026-12-28"): "Boxing Day (substitute)"}
	w.HalfDays = map[Date]Clock{date("2026-12-24"): clock("12:30"), date("2026-12-31"): clock("12:30")}
	return w
}

func nyse() WorkCycle {
	return SeveralHours("nyse", newYork, weekdays, clock("08:30"), clock("09:30"), clock("16:00"), clock("17:00"))
}

func checked[T interface{ Check() error }](t testing.TB, v T) T {
	t.Helper()
	if err := v.Check(); err != nil {
		t.Fatal(err)
	}
	return v
}
