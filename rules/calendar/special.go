package calendar

import (
	"fmt"
	"slices"
)

// special is a holiday or a half day, compiled: day is the date's day
// number; a holiday has its name, a half day its close in minutes.
type special struct {
	day     int64
	holiday bool
	name    string
	close   int
}

// compileSpecials checks holidays and half days and sorts them by day,
// reporting each problem through bad(field, message). A half day's close
// is kept as the clock's minute of the day; the caller places it.
func compileSpecials(holidays map[Date]string, halfDays map[Date]Clock, bad func(field, msg string)) []special {
	out := make([]special, 0, len(holidays)+len(halfDays))
	for _, d := range sortedDates(holidays) {
		if err := d.valid(); err != nil {
			bad(fmt.Sprintf("holidays[%s]", d), err.Error())
			continue
		}
		out = append(out, special{day: d.days(), holiday: true, name: holidays[d]})
	}
	for _, d := range sortedDates(halfDays) {
		field := fmt.Sprintf("halfDays[%s]", d)
		if err := d.valid(); err != nil {
			bad(field, err.Error())
			continue
		}
		if _, ok := holidays[d]; ok {
			bad(field, "is also a holiday")
			continue
		}
		c := halfDays[d]
		if err := c.valid(); err != nil {
			bad(field, err.Error())
			continue
		}
		out = append(out, special{day: d.days(), close: c.minutes()})
	}
	slices.SortFunc(out, func(a, b special) int { return int(a.day - b.day) })
	return out
}

func sortedDates[V any](m map[Date]V) []Date {
	ds := make([]Date, 0, len(m))
	for d := range m {
		ds = append(ds, d)
	}
	slices.SortFunc(ds, func(a, b Date) int {
		switch {
		case a.Year != b.Year:
			return a.Year - b.Year
		case a.Month != b.Month:
			return int(a.Month) - int(b.Month)
		}
		return a.Day - b.Day
	})
	return ds
}

// specialOn returns the holiday or half day on day, if any.
func specialOn(sp []special, day int64) (*special, bool) {
	i := firstFrom(sp, day)
	if i < len(sp) && sp[i].day == day {
		return &sp[i], true
	}
	return nil, false
}

// firstFrom is the index of the first special on or after day.
func firstFrom(sp []special, day int64) int {
	lo, hi := 0, len(sp)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if sp[m].day < day {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
}

// lastBefore is the index of the last special on or before day, or -1.
func lastBefore(sp []special, day int64) int { return firstFrom(sp, day+1) - 1 }
