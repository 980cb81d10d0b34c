package calendar

import (
	"fmt"
	"time"
)

// Clock is a time of day, to the minute, on a zone's wall clock. Hours run
// from 00 to 24; 24:00 is the end of the day and is valid only as the end
// of a window.
type Clock struct{ Hour, Minute int }

// ParseClock reads "HH:MM" ("08:00", "16:30", "24:00"; a one-digit hour
// such as "8:00" is accepted).
func ParseClock(s string) (Clock, error) {
	h, m, ok := splitClock(s)
	if !ok {
		return Clock{}, fmt.Errorf("clock %q: want HH:MM, such as 08:00", s)
	}
	c := Clock{h, m}
	if err := c.valid(); err != nil {
		return Clock{}, fmt.Errorf("clock %q: %w", s, err)
	}
	return c, nil
}

func splitClock(s string) (h, m int, ok bool) {
	if len(s) < 4 || len(s) > 5 || s[len(s)-3] != ':' {
		return 0, 0, false
	}
	for i := 0; i < len(s); i++ {
		if i != len(s)-3 && (s[i] < '0' || s[i] > '9') {
			return 0, 0, false
		}
	}
	for _, c := range s[:len(s)-3] {
		h = h*10 + int(c-'0')
	}
	m = int(s[len(s)-2]-'0')*10 + int(s[len(s)-1]-'0')
	return h, m, true
}

func (c Clock) valid() error {
	switch {
	case c.Hour < 0 || c.Hour > 24:
		return fmt.Errorf("hour %d is not in 00–24", c.Hour)
	case c.Minute < 0 || c.Minute > 59:
		return fmt.Errorf("minute %d is not in 00–59", c.Minute)
	case c.Hour == 24 && c.Minute != 0:
		return fmt.Errorf("%02d:%02d is past the end of the day (24:00)", c.Hour, c.Minute)
	}
	return nil
}

// String gives the clock as HH:MM.
func (c Clock) String() string { return fmt.Sprintf("%02d:%02d", c.Hour, c.Minute) }

// minutes is the clock's minute of the day, 0 to 1440.
func (c Clock) minutes() int { return c.Hour*60 + c.Minute }

// Date is a calendar date, with no zone: a holiday is a date in the
// exchange's own calendar.
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// ParseDate reads "YYYY-MM-DD" ("2026-12-25").
func ParseDate(s string) (Date, error) {
	if len(s) != 10 || s[4] != '-' || s[7] != '-' {
		return Date{}, fmt.Errorf("date %q: want YYYY-MM-DD, such as 2026-12-25", s)
	}
	var n [3]int
	for i, part := range [3]string{s[:4], s[5:7], s[8:]} {
		for _, c := range part {
			if c < '0' || c > '9' {
				return Date{}, fmt.Errorf("date %q: want YYYY-MM-DD, such as 2026-12-25", s)
			}
			n[i] = n[i]*10 + int(c-'0')
		}
	}
	d := Date{n[0], time.Month(n[1]), n[2]}
	if err := d.valid(); err != nil {
		return Date{}, fmt.Errorf("date %q: %w", s, err)
	}
	return d, nil
}

// DateOf returns t's date in t's location.
func DateOf(t time.Time) Date {
	y, m, d := t.Date()
	return Date{y, m, d}
}

// String gives the date as YYYY-MM-DD.
func (d Date) String() string { return fmt.Sprintf("%04d-%02d-%02d", d.Year, int(d.Month), d.Day) }

// Weekday is the date's day of the week.
func (d Date) Weekday() time.Weekday { return weekday(d.days()) }

func (d Date) valid() error {
	switch {
	case d.Year < 1 || d.Year > 9999:
		return fmt.Errorf("year %d is not in 0001–9999", d.Year)
	case d.Month < 1 || d.Month > 12:
		return fmt.Errorf("month %d is not in 01–12", int(d.Month))
	case d.Day < 1 || d.Day > daysIn(d.Year, d.Month):
		return fmt.Errorf("%s %d has no day %d", d.Month, d.Year, d.Day)
	}
	return nil
}

func daysIn(y int, m time.Month) int {
	switch m {
	case time.February:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case time.April, time.June, time.September, time.November:
		return 30
	}
	return 31
}

// days is the number of days from 1970-01-01 to d (the civil-from-days
// algorithm of Howard Hinnant, exact for the proleptic Gregorian calendar).
func (d Date) days() int64 {
	y, m := int64(d.Year), int64(d.Month)
	if m <= 2 {
		y--
	}
	era := floorDiv(y, 400)
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + int64(d.Day) - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return era*146097 + doe - 719468
}

// dateOf is the inverse of Date.days.
func dateOf(days int64) Date {
	z := days + 719468
	era := floorDiv(z, 146097)
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	d := doy - (153*mp+2)/5 + 1
	m := (mp+2)%12 + 1
	y := yoe + era*400
	if m <= 2 {
		y++
	}
	return Date{int(y), time.Month(m), int(d)}
}

// weekday of a day number: 1970-01-01 was a Thursday.
func weekday(days int64) time.Weekday { return time.Weekday(floorMod(days+4, 7)) }

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

func floorMod(a, b int64) int64 { return a - floorDiv(a, b)*b }
