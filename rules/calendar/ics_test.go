package calendar

import (
	"maps"
	"os"
	"strings"
	"testing"
)

func TestParseICSSample(t *testing.T) {
	data, err := os.ReadFile("testdata/exchange-2026-2027.ics")
	if err != nil {
		t.Fatal(err)
	}
	h, err := ParseICS(data, newYork)
	if err != nil {
		t.Fatal(err)
	}
	wantDates := map[Date]string{
		date("2026-01-01"): "New Year's Day",
		date("2026-01-19"): "Martin Luther King, Jr. Day",
		date("2026-04-03"): "Good Friday",
		date("2026-07-03"): "Independence Day (observed)",
		date("2026-11-26"): "Thanksgiving Day",
		date("2026-12-25"): "Christmas Day",
		date("2027-12-25"): "Christmas Day",
		date("2027-01-01"): "New Year's Day",
		date("2027-03-26"): "Good Friday",
		date("2027-07-05"): "Independence Day (observed) and systems migration",
		date("2027-07-06"): "Independence Day (observed) and systems migration",
	}
	wantHalf := map[Date]Clock{
		date("2026-11-27"): clock("13:00"), // TZID, and "Early Close" in the summary
		date("2026-12-24"): clock("13:00"), // 18:00Z is 13:00 EST
		date("2027-11-26"): clock("13:00"), // floating, "Half day" in the description
	}
	if !maps.Equal(h.Dates, wantDates) {
		t.Errorf("Dates = %v\nwant %v", h.Dates, wantDates)
	}
	if !maps.Equal(h.HalfDays, wantHalf) {
		t.Errorf("HalfDays = %v\nwant %v", h.HalfDays, wantHalf)
	}
	// The result drops into a cycle.
	w := nyse()
	w.Holidays, w.HalfDays = h.Dates, h.HalfDays
	checked(t, &w)
	if st := w.At(at(t, newYork, "2026-11-27 13:30")); st.Phase != EndOfDay {
		t.Errorf("At(2026-11-27 13:30) = %s, want eod", showState(st))
	}
}

func TestParseICSRules(t *testing.T) {
	const head = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\n"
	const tail = "END:VCALENDAR\r\n"
	ev := func(lines ...string) string {
		return head + "BEGIN:VEVENT\r\n" + strings.Join(lines, "\r\n") + "\r\nEND:VEVENT\r\n" + tail
	}
	tests := []struct {
		name  string
		in    string
		dates map[Date]string
		half  map[Date]Clock
		err   string
	}{
		{name: "bare date, no summary", in: ev("DTSTART:20261225"), dates: map[Date]string{date("2026-12-25"): "holiday"}},
		{name: "span by DTEND", in: ev("DTSTART;VALUE=DATE:20261224", "DTEND;VALUE=DATE:20261227", "SUMMARY:Break"),
			dates: map[Date]string{date("2026-12-24"): "Break", date("2026-12-25"): "Break", date("2026-12-26"): "Break"}},
		{name: "span by DURATION", in: ev("DTSTART;VALUE=DATE:20261231", "DURATION:P2D", "SUMMARY:Turn"),
			dates: map[Date]string{date("2026-12-31"): "Turn", date("2027-01-01"): "Turn"}},
		{name: "yearly until, leap day skipped", in: ev("DTSTART;VALUE=DATE:20240229", "RRULE:FREQ=YEARLY;UNTIL=20281231", "SUMMARY:Leap"),
			dates: map[Date]string{date("2024-02-29"): "Leap", date("2028-02-29"): "Leap"}},
		{name: "yearly until a time before the last day's close", in: ev("DTSTART:20261224T130000", "RRULE:FREQ=YEARLY;UNTIL=20281224T120000", "SUMMARY:Early close"),
			half: map[Date]Clock{date("2026-12-24"): clock("13:00"), date("2027-12-24"): clock("13:00")}},
		{name: "yearly until in UTC, at the last close", in: ev("DTSTART:20261224T180000Z", "RRULE:FREQ=YEARLY;UNTIL=20271224T180000Z", "SUMMARY:Early close"),
			half: map[Date]Clock{date("2026-12-24"): clock("13:00"), date("2027-12-24"): clock("13:00")}},
		{name: "yearly until in UTC, before the last close", in: ev("DTSTART;TZID=America/New_York:20261224T130000", "RRULE:FREQ=YEARLY;UNTIL=20271224T170000Z", "SUMMARY:Early close"),
			half: map[Date]Clock{date("2026-12-24"): clock("13:00")}},
		{name: "yearly count with exdate", in: ev("DTSTART;VALUE=DATE:20260101", "RRULE:FREQ=YEARLY;COUNT=3", "EXDATE;VALUE=DATE:20270101", "SUMMARY:NY"),
			dates: map[Date]string{date("2026-01-01"): "NY", date("2028-01-01"): "NY"}},
		{name: "two names on a date", in: head + "BEGIN:VEVENT\r\nDTSTART:20261225\r\nSUMMARY:A\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nDTSTART:20261225\r\nSUMMARY:B\r\nEND:VEVENT\r\n" + tail,
			dates: map[Date]string{date("2026-12-25"): "A / B"}},
		{name: "early close in UTC over a DST change", in: ev("DTSTART:20260303T170000Z", "RRULE:FREQ=YEARLY;COUNT=2", "SUMMARY:Early close"),
			half: map[Date]Clock{date("2026-03-03"): clock("12:00"), date("2027-03-03"): clock("12:00")}},
		{name: "timed, not an early close", in: ev("DTSTART:20261218T160000", "SUMMARY:Expiry")},
		{name: "early close needs a time", in: ev("DTSTART;VALUE=DATE:20261224", "SUMMARY:Early close"),
			err: `line 4: DTSTART: "Early close" is an early close but has no closing time; give DTSTART the time (DTSTART:20261224T130000)`},
		{name: "bad date", in: ev("UID:x", "DTSTART;VALUE=DATE:20261324"), err: `line 5: DTSTART: "20261324": month 13 is not in 01–12`},
		{name: "date with a time", in: ev("DTSTART;VALUE=DATE:20261224T120000"), err: `line 4: DTSTART: "20261224T120000" is not a date (YYYYMMDD)`},
		{name: "no DTSTART", in: ev("SUMMARY:x"), err: "line 3: VEVENT: no DTSTART"},
		{name: "DTEND before", in: ev("DTSTART:20261225", "DTEND:20261225"), err: "line 5: DTEND: 2026-12-25 is not after DTSTART 2026-12-25"},
		{name: "other zone", in: ev("DTSTART;TZID=Europe/London:20261224T123000", "SUMMARY:Early close"),
			err: `line 4: DTSTART: TZID "Europe/London" is not the calendar's zone America/New_York`},
		{name: "monthly", in: ev("DTSTART:20261225", "RRULE:FREQ=MONTHLY;COUNT=2"), err: "line 5: RRULE: FREQ=MONTHLY: only FREQ=YEARLY is supported; list other dates as events"},
		{name: "byday", in: ev("DTSTART:20261126", "RRULE:FREQ=YEARLY;BYDAY=4TH;COUNT=2"), err: "line 5: RRULE: BYDAY: not supported; a yearly rule takes COUNT, UNTIL or INTERVAL (list other dates as events)"},
		{name: "unbounded", in: ev("DTSTART:20261225", "RRULE:FREQ=YEARLY"), err: "line 5: RRULE: a yearly rule needs COUNT or UNTIL, so the dates are finite"},
		{name: "rdate", in: ev("DTSTART:20261225", "RDATE:20271225"), err: "line 5: RDATE: not supported; list each date as an event"},
		{name: "holiday and half day", in: head + "BEGIN:VEVENT\r\nDTSTART:20261224\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nDTSTART:20261224T130000\r\nSUMMARY:Early close\r\nEND:VEVENT\r\n" + tail,
			err: "line 7: 2026-12-24 is a half day here and a holiday at line 4"},
		{name: "folded line keeps its first line number", in: head + "BEGIN:VEVENT\r\nSUMMARY:a\r\n  b\r\nDTSTART:2026\r\n 1325\r\nEND:VEVENT\r\n" + tail,
			err: `line 6: DTSTART: "20261325": month 13 is not in 01–12`},
		{name: "unbalanced", in: head + "BEGIN:VEVENT\r\nDTSTART:20261225\r\nEND:VTODO\r\n" + tail, err: "line 5: END:VTODO, but BEGIN:VEVENT at line 3 is open"},
		{name: "unclosed", in: head + "BEGIN:VEVENT\r\nDTSTART:20261225\r\n", err: "line 3: BEGIN:VEVENT has no END"},
		{name: "not a calendar", in: "hello\n", err: `line 1: not a content line (NAME:value): "hello"`},
		{name: "no vcalendar", in: "BEGIN:VEVENT\n", err: "line 1: the file must begin with BEGIN:VCALENDAR"},
		{name: "after the end", in: head + tail + "X:y\r\n", err: "line 4: X after END:VCALENDAR"},
		{name: "empty", in: "", err: "line 1: empty file; want BEGIN:VCALENDAR"},
		{name: "library param error", in: head + "BEGIN:VEVENT\r\nDTSTART;VALUE=\"DATE:20261225\r\nEND:VEVENT\r\n" + tail, err: "line 4: parsing property DTSTART: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := ParseICS([]byte(tt.in), newYork)
			if tt.err != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tt.err) {
					t.Fatalf("error = %v, want %s", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tt.dates == nil {
				tt.dates = map[Date]string{}
			}
			if tt.half == nil {
				tt.half = map[Date]Clock{}
			}
			if !maps.Equal(h.Dates, tt.dates) || !maps.Equal(h.HalfDays, tt.half) {
				t.Errorf("got %v %v, want %v %v", h.Dates, h.HalfDays, tt.dates, tt.half)
			}
		})
	}
}
