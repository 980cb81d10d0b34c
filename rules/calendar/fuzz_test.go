package calendar

import (
	"os"
	"testing"
	"time"
)

func FuzzParseICS(f *testing.F) {
	sample, err := os.ReadFile("testdata/exchange-2026-2027.ics")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(sample)
	f.Add([]byte("BEGIN:VCALENDAR\nBEGIN:VEVENT\nDTSTART:20240229\nRRULE:FREQ=YEARLY;UNTIL=21000101\nEND:VEVENT\nEND:VCALENDAR\n"))
	f.Add([]byte("BEGIN:VCALENDAR\nBEGIN:VEVENT\nDTSTART:20261231T235900Z\nSUMMARY:early close\nEND:VEVENT\nEND:VCALENDAR\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		h, err := ParseICS(data, newYork)
		if err != nil {
			return
		}
		for d := range h.Dates {
			if d.valid() != nil {
				t.Fatalf("holiday %v is not a date", d)
			}
		}
		for d, c := range h.HalfDays {
			if d.valid() != nil || c.valid() != nil || c.minutes() >= 1440 {
				t.Fatalf("half day %v closing %v is not a date and time of day", d, c)
			}
			if _, ok := h.Dates[d]; ok {
				t.Fatalf("%v is both a holiday and a half day", d)
			}
		}
	})
}

func FuzzParseClock(f *testing.F) {
	for _, s := range []string{"08:00", "24:00", "8:5", "24:60", "99:99", "0:00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseClock(s)
		if err != nil {
			return
		}
		if c.valid() != nil {
			t.Fatalf("ParseClock(%q) = %v, not a time of day", s, c)
		}
		if again, err := ParseClock(c.String()); err != nil || again != c {
			t.Fatalf("ParseClock(%q) = %v; its String %q reads back as %v, %v", s, c, c.String(), again, err)
		}
	})
}

// FuzzParseWallTime checks that a wall time read back is the wall time
// written, unless the clocks skipped it, when it is the instant they
// jumped, later on the wall clock by under two hours.
func FuzzParseWallTime(f *testing.F) {
	for _, s := range []string{"2026-12-05T08:00", "2026-03-08T02:30", "2026-11-01T01:30", "2026-12-05T24:00", "0001-01-01T00:00", "9999-12-31T23:59"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseWallTime(s, newYork)
		if err != nil {
			return
		}
		want, err := time.ParseInLocation("2006-01-02T15:04", s, time.UTC)
		if err != nil {
			t.Fatalf("ParseWallTime took %q, which is not a wall time", s)
		}
		wall := time.Date(got.Year(), got.Month(), got.Day(), got.Hour(), got.Minute(), 0, 0, time.UTC)
		if d := wall.Sub(want); d < 0 || d >= 2*time.Hour {
			t.Fatalf("ParseWallTime(%q) = %s", s, got)
		}
	})
}
