package calendar

import (
	"strings"
	"testing"
	"time"
)

func lseTrading() *Schedule {
	return &Schedule{
		Name: "lse-trading", Zone: london, Days: weekdays,
		Windows:  []Window{{clock("08:00"), clock("16:30")}},
		Holidays: map[Date]string{date("2026-12-25"): "Christmas Day"},
		HalfDays: map[Date]Clock{date("2026-12-24"): clock("12:30")},
	}
}

func fridayNight() *Schedule {
	return &Schedule{Name: "friday-night", Zone: london, Days: []time.Weekday{time.Friday},
		Windows: []Window{{clock("22:00"), clock("02:00")}}}
}

func TestScheduleActive(t *testing.T) {
	nyOpen := &Schedule{Name: "nyse", Zone: newYork, Days: weekdays, Windows: []Window{{clock("09:30"), clock("16:00")}}}
	gap := &Schedule{Name: "gap", Zone: newYork, Windows: []Window{{clock("02:30"), clock("04:00")}}}
	fallStart := &Schedule{Name: "fall-start", Zone: newYork, Windows: []Window{{clock("01:30"), clock("03:00")}}}
	fallEnd := &Schedule{Name: "fall-end", Zone: newYork, Windows: []Window{{clock("00:00"), clock("01:30")}}}
	tests := []struct {
		name string
		s    *Schedule
		at   time.Time
		want bool
	}{
		{"lse before open", lseTrading(), at(t, london, "2026-03-10 07:59"), false},
		{"lse at open", lseTrading(), at(t, london, "2026-03-10 08:00"), true},
		{"lse at open is 08:00 UTC in winter", lseTrading(), at(t, time.UTC, "2026-03-10 08:00"), true},
		{"lse at 07:00 UTC in summer is open", lseTrading(), at(t, time.UTC, "2026-03-30 07:00"), true},
		{"lse at 07:00 UTC in winter is shut", lseTrading(), at(t, time.UTC, "2026-03-27 07:00"), false},
		{"lse just before close", lseTrading(), at(t, london, "2026-03-10 16:29"), true},
		{"lse at close", lseTrading(), at(t, london, "2026-03-10 16:30"), false},
		{"lse saturday", lseTrading(), at(t, london, "2026-03-14 10:00"), false},
		{"lse christmas", lseTrading(), at(t, london, "2026-12-25 10:00"), false},
		{"lse christmas eve morning", lseTrading(), at(t, london, "2026-12-24 12:29"), true},
		{"lse christmas eve at close", lseTrading(), at(t, london, "2026-12-24 12:30"), false},
		{"nyse 09:30 EDT while London is still on GMT", nyOpen, at(t, time.UTC, "2026-03-10 13:30"), true},
		{"nyse 13:29 UTC in the odd weeks", nyOpen, at(t, time.UTC, "2026-03-10 13:29"), false},
		{"nyse 14:30 UTC before the US change", nyOpen, at(t, time.UTC, "2026-03-06 14:30"), true},
		{"nyse 14:29 UTC before the US change", nyOpen, at(t, time.UTC, "2026-03-06 14:29"), false},
		{"friday night 23:00", fridayNight(), at(t, london, "2026-03-13 23:00"), true},
		{"friday night into saturday 01:00", fridayNight(), at(t, london, "2026-03-14 01:00"), true},
		{"friday night over by saturday 03:00", fridayNight(), at(t, london, "2026-03-14 03:00"), false},
		{"friday night not on thursday", fridayNight(), at(t, london, "2026-03-12 23:00"), false},
		{"saturday 22:00 is not a start", fridayNight(), at(t, london, "2026-03-14 22:00"), false},
		// 2026-03-08 02:00 EST jumps to 03:00 EDT (07:00 UTC): 02:30 never shows.
		{"gap start: not before the jump", gap, at(t, time.UTC, "2026-03-08 06:59"), false},
		{"gap start: active from the jump", gap, at(t, time.UTC, "2026-03-08 07:00"), true},
		// 2026-11-01 02:00 EDT goes back to 01:00 EST (06:00 UTC).
		{"repeated start: first 01:30 (EDT)", fallStart, at(t, time.UTC, "2026-11-01 05:30"), true},
		{"repeated start: stays on through the second 01:00", fallStart, at(t, time.UTC, "2026-11-01 06:10"), true},
		{"repeated start: before the first 01:30", fallStart, at(t, time.UTC, "2026-11-01 05:29"), false},
		{"repeated end: ends at the first 01:30", fallEnd, at(t, time.UTC, "2026-11-01 05:30"), false},
		{"repeated end: stays off in the second 01:00–01:30", fallEnd, at(t, time.UTC, "2026-11-01 06:10"), false},
		{"repeated end: on before", fallEnd, at(t, time.UTC, "2026-11-01 05:29"), true},
		{"all day", &Schedule{Name: "always", Zone: london}, at(t, london, "2026-03-29 01:30"), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := checked(t, tt.s)
			if got := s.Active(tt.at); got != tt.want {
				t.Errorf("Active(%s) = %v, want %v", tt.at.In(s.Zone), got, tt.want)
			}
		})
	}
}

func TestScheduleNext(t *testing.T) {
	gap := &Schedule{Name: "gap", Zone: newYork, Windows: []Window{{clock("02:30"), clock("04:00")}}}
	split := &Schedule{Name: "split", Zone: london, Windows: []Window{{clock("08:00"), clock("12:00")}, {clock("12:00"), clock("16:00")}}}
	tests := []struct {
		name   string
		s      *Schedule
		from   time.Time
		want   time.Time
		active bool
		ok     bool
	}{
		{"friday 21:00 to 22:00", fridayNight(), at(t, london, "2026-03-13 21:00"), at(t, london, "2026-03-13 22:00"), true, true},
		{"friday 23:00 to saturday 02:00", fridayNight(), at(t, london, "2026-03-13 23:00"), at(t, london, "2026-03-14 02:00"), false, true},
		{"at the start, to the end", fridayNight(), at(t, london, "2026-03-13 22:00"), at(t, london, "2026-03-14 02:00"), false, true},
		{"saturday to next friday", fridayNight(), at(t, london, "2026-03-14 02:00"), at(t, london, "2026-03-20 22:00"), true, true},
		{"lse friday evening to monday", lseTrading(), at(t, london, "2026-03-13 17:00"), at(t, london, "2026-03-16 08:00"), true, true},
		{"lse open in summer time", lseTrading(), at(t, london, "2026-03-29 00:00"), at(t, time.UTC, "2026-03-30 07:00"), true, true},
		{"lse half day closes early", lseTrading(), at(t, london, "2026-12-24 09:00"), at(t, london, "2026-12-24 12:30"), false, true},
		{"lse over christmas", lseTrading(), at(t, london, "2026-12-24 12:30"), at(t, london, "2026-12-28 08:00"), true, true},
		{"adjacent windows are one", split, at(t, london, "2026-03-10 09:00"), at(t, london, "2026-03-10 16:00"), false, true},
		{"gap start is the jump", gap, at(t, time.UTC, "2026-03-08 00:00"), at(t, time.UTC, "2026-03-08 07:00"), true, true},
		{"always active never changes", &Schedule{Name: "always", Zone: london}, at(t, london, "2026-03-10 00:00"), time.Time{}, false, false},
		{"always active but a holiday", &Schedule{Name: "always", Zone: london, Holidays: map[Date]string{date("2026-12-25"): "Christmas"}},
			at(t, london, "2026-03-10 00:00"), at(t, london, "2026-12-25 00:00"), false, true},
		{"holiday beyond 400 days", &Schedule{Name: "always", Zone: london, Holidays: map[Date]string{date("2028-12-25"): "Christmas"}},
			at(t, london, "2026-03-10 00:00"), time.Time{}, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := checked(t, tt.s)
			got, active, ok := s.Next(tt.from)
			if !got.Equal(tt.want) || active != tt.active || ok != tt.ok {
				t.Errorf("Next(%s) = %s, %v, %v; want %s, %v, %v", tt.from.In(s.Zone), got, active, ok, tt.want.In(s.Zone), tt.active, tt.ok)
			}
			if ok && got.Location() != s.Zone {
				t.Errorf("Next gives a time in %s, want %s", got.Location(), s.Zone)
			}
		})
	}
}

func TestScheduleCheck(t *testing.T) {
	tests := []struct {
		name string
		s    Schedule
		want []string // each a line of the error; none for valid
	}{
		{"valid", *lseTrading(), nil},
		{"no zone", Schedule{}, []string{"zone: missing"}},
		{"zero length", Schedule{Zone: london, Windows: []Window{{clock("08:00"), clock("16:00")}, {clock("17:00"), clock("17:00")}}},
			[]string{"windows[1]: ends where it starts (00:00–24:00 is all day)"}},
		{"zero window", Schedule{Zone: london, Windows: []Window{{}}}, []string{"windows[0]: ends where it starts (00:00–24:00 is all day)"}},
		{"starts at 24:00", Schedule{Zone: london, Windows: []Window{{clock("24:00"), clock("02:00")}}},
			[]string{"windows[0]: starts at 24:00, the end of the day; start at 00:00"}},
		{"bad clock", Schedule{Zone: london, Windows: []Window{{Clock{25, 0}, Clock{8, 61}}}},
			[]string{"windows[0]: start: hour 25 is not in 00–24"}},
		{"overlap", Schedule{Zone: london, Windows: []Window{{clock("08:00"), clock("12:00")}, {clock("11:00"), clock("13:00")}}},
			[]string{"windows[1]: overlaps windows[0] (08:00–12:00)"}},
		{"overlap across midnight", Schedule{Zone: london, Windows: []Window{{clock("22:00"), clock("09:00")}, {clock("08:00"), clock("12:00")}}},
			[]string{"windows[1]: overlaps windows[0] (22:00–09:00) across midnight"}},
		{"no overlap across midnight on one day", Schedule{Zone: london, Days: []time.Weekday{time.Friday},
			Windows: []Window{{clock("22:00"), clock("09:00")}, {clock("08:00"), clock("12:00")}}}, nil},
		{"duplicate and bad days", Schedule{Zone: london, Days: []time.Weekday{time.Monday, time.Monday, 9}},
			[]string{"days[1]: Monday is listed twice", "days[2]: 9 is not a day of the week"}},
		{"half day outside windows", Schedule{Zone: london, Days: weekdays, Windows: []Window{{clock("08:00"), clock("16:30")}},
			HalfDays: map[Date]Clock{date("2026-12-24"): clock("17:00"), date("2026-12-26"): clock("12:00"), date("2026-12-31"): clock("07:00")}},
			[]string{"halfDays[2026-12-24]: closes at 17:00, outside the day's windows (08:00–16:30)",
				"halfDays[2026-12-26]: a Saturday, when no window starts",
				"halfDays[2026-12-31]: closes at 07:00, outside the day's windows (08:00–16:30)"}},
		{"half day and holiday", Schedule{Zone: london, Holidays: map[Date]string{date("2026-12-25"): "x", {2026, 2, 30}: "y"},
			HalfDays: map[Date]Clock{date("2026-12-25"): clock("12:00")}},
			[]string{"holidays[2026-02-30]: February 2026 has no day 30", "halfDays[2026-12-25]: is also a holiday"}},
		{"half day across midnight", Schedule{Zone: london, Windows: []Window{{clock("22:00"), clock("02:00")}},
			HalfDays: map[Date]Clock{date("2026-12-24"): clock("01:00")}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.s.Check()
			var got []string
			if err != nil {
				got = strings.Split(err.Error(), "\n")
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("Check() =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

func TestScheduleHalfDayAcrossMidnight(t *testing.T) {
	s := checked(t, &Schedule{Name: "night", Zone: london, Windows: []Window{{clock("22:00"), clock("02:00")}},
		HalfDays: map[Date]Clock{date("2026-12-24"): clock("01:00")}})
	for _, tt := range []struct {
		at   string
		want bool
	}{{"2026-12-24 23:00", true}, {"2026-12-25 00:59", true}, {"2026-12-25 01:00", false}, {"2026-12-26 01:30", true}} {
		if got := s.Active(at(t, london, tt.at)); got != tt.want {
			t.Errorf("Active(%s) = %v, want %v", tt.at, got, tt.want)
		}
	}
}

func TestScheduleUncheckedPanics(t *testing.T) {
	defer func() {
		if r := recover(); r == nil || !strings.Contains(r.(string), `"unchecked"`) {
			t.Errorf("recover() = %v, want a panic naming the schedule", r)
		}
	}()
	(&Schedule{Name: "unchecked", Zone: london}).Active(time.Unix(0, 0))
}
