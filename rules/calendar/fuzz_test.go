package calendar

import (
	"os"
	"testing"
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
