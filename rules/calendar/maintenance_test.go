package calendar

import (
	"strings"
	"testing"
	"time"
)

// lseEOD is End-of-Day patching, every weekday 22:00–23:30 London.
func lseEOD() *Maintenance {
	return &Maintenance{Zone: london, Days: weekdays, Window: Window{clock("22:00"), clock("23:30")}}
}

// nightly crosses midnight: 23:00–01:00 New York, Fridays only.
func nightly() *Maintenance {
	return &Maintenance{Zone: newYork, Days: []time.Weekday{time.Friday}, Window: Window{clock("23:00"), clock("01:00")}}
}

// release is a one-off weekend in London.
func release(t testing.TB) *Maintenance {
	return &Maintenance{Zone: london, Start: at(t, london, "2026-12-05 08:00"), End: at(t, london, "2026-12-06 18:00")}
}

// bounded is lseEOD in force for the week of 2026-03-23 only, from
// Tuesday 22:30 (inside an occurrence) to Friday 23:00.
func bounded(t testing.TB) *Maintenance {
	m := lseEOD()
	m.Start, m.End = at(t, london, "2026-03-24 22:30"), at(t, london, "2026-03-27 23:00")
	return m
}

func TestMaintenanceActive(t *testing.T) {
	tests := []struct {
		name string
		m    *Maintenance
		at   time.Time
		want bool
	}{
		{"eod before", lseEOD(), at(t, london, "2026-03-10 21:59"), false},
		{"eod at start", lseEOD(), at(t, london, "2026-03-10 22:00"), true},
		{"eod at end", lseEOD(), at(t, london, "2026-03-10 23:30"), false},
		{"eod saturday", lseEOD(), at(t, london, "2026-03-14 22:30"), false},
		// London goes to BST on 2026-03-29: 22:00 is 22:00 UTC the Friday
		// before and 21:00 UTC the Monday after.
		{"eod 22:00 UTC before the change", lseEOD(), at(t, time.UTC, "2026-03-27 22:00"), true},
		{"eod 21:30 UTC before the change", lseEOD(), at(t, time.UTC, "2026-03-27 21:30"), false},
		{"eod 21:30 UTC after the change", lseEOD(), at(t, time.UTC, "2026-03-30 21:30"), true},
		{"eod 22:45 UTC after the change", lseEOD(), at(t, time.UTC, "2026-03-30 22:45"), false},
		// London goes back on 2026-10-25.
		{"eod 22:15 UTC the friday before going back", lseEOD(), at(t, time.UTC, "2026-10-23 21:15"), true},
		{"eod 22:15 UTC the monday after", lseEOD(), at(t, time.UTC, "2026-10-26 22:15"), true},
		{"eod 21:15 UTC the monday after", lseEOD(), at(t, time.UTC, "2026-10-26 21:15"), false},
		// New York goes to EDT on 2026-03-08, two weeks before London.
		{"nightly friday 23:30", nightly(), at(t, newYork, "2026-03-06 23:30"), true},
		{"nightly over midnight into saturday", nightly(), at(t, newYork, "2026-03-07 00:30"), true},
		{"nightly saturday 01:00", nightly(), at(t, newYork, "2026-03-07 01:00"), false},
		{"nightly 04:30 UTC in EST", nightly(), at(t, time.UTC, "2026-03-07 04:30"), true},
		{"nightly 04:30 UTC in EDT", nightly(), at(t, time.UTC, "2026-03-14 04:30"), true},
		{"nightly 05:30 UTC in EDT", nightly(), at(t, time.UTC, "2026-03-14 05:30"), false},
		{"nightly thursday", nightly(), at(t, newYork, "2026-03-05 23:30"), false},
		{"release before", release(t), at(t, london, "2026-12-05 07:59"), false},
		{"release at start", release(t), at(t, london, "2026-12-05 08:00"), true},
		{"release overnight", release(t), at(t, london, "2026-12-06 03:00"), true},
		{"release at end", release(t), at(t, london, "2026-12-06 18:00"), false},
		{"bounded before start, in an occurrence", bounded(t), at(t, london, "2026-03-24 22:15"), false},
		{"bounded from start", bounded(t), at(t, london, "2026-03-24 22:30"), true},
		{"bounded wednesday", bounded(t), at(t, london, "2026-03-25 22:00"), true},
		{"bounded cut at end", bounded(t), at(t, london, "2026-03-27 23:00"), false},
		{"bounded the week after", bounded(t), at(t, london, "2026-03-30 22:00"), false},
		{"bounded the monday before", bounded(t), at(t, london, "2026-03-23 22:00"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := checked(t, tt.m)
			if got := m.Active(tt.at); got != tt.want {
				t.Errorf("Active(%s) = %v, want %v", tt.at.In(m.Zone), got, tt.want)
			}
		})
	}
}

func TestMaintenanceNext(t *testing.T) {
	always := &Maintenance{Zone: london, Window: Window{clock("00:00"), clock("24:00")}}
	alwaysUntil := &Maintenance{Zone: london, Window: Window{clock("00:00"), clock("24:00")}, End: at(t, london, "2026-04-01 06:00")}
	tests := []struct {
		name   string
		m      *Maintenance
		from   time.Time
		want   time.Time
		active bool
		ok     bool
	}{
		{"eod to start", lseEOD(), at(t, london, "2026-03-10 12:00"), at(t, london, "2026-03-10 22:00"), true, true},
		{"eod at start to end", lseEOD(), at(t, london, "2026-03-10 22:00"), at(t, london, "2026-03-10 23:30"), false, true},
		{"eod friday night to monday", lseEOD(), at(t, london, "2026-03-13 23:30"), at(t, london, "2026-03-16 22:00"), true, true},
		{"eod over the London change", lseEOD(), at(t, london, "2026-03-28 12:00"), at(t, time.UTC, "2026-03-30 21:00"), true, true},
		{"eod over the change back", lseEOD(), at(t, london, "2026-10-24 12:00"), at(t, time.UTC, "2026-10-26 22:00"), true, true},
		{"nightly crossing midnight", nightly(), at(t, newYork, "2026-03-06 23:10"), at(t, newYork, "2026-03-07 01:00"), false, true},
		{"nightly over the New York change", nightly(), at(t, newYork, "2026-03-07 01:00"), at(t, time.UTC, "2026-03-14 03:00"), true, true},
		{"release before", release(t), at(t, london, "2026-12-01 00:00"), at(t, london, "2026-12-05 08:00"), true, true},
		{"release during", release(t), at(t, london, "2026-12-05 08:00"), at(t, london, "2026-12-06 18:00"), false, true},
		{"release over", release(t), at(t, london, "2026-12-06 18:00"), time.Time{}, false, false},
		{"bounded before start, in an occurrence: at start", bounded(t), at(t, london, "2026-03-24 12:00"), at(t, london, "2026-03-24 22:30"), true, true},
		{"bounded before start, none at start", &Maintenance{Zone: london, Days: weekdays, Window: Window{clock("22:00"), clock("23:30")},
			Start: at(t, london, "2026-03-24 12:00")}, at(t, london, "2026-03-20 23:00"), at(t, london, "2026-03-24 22:00"), true, true},
		{"bounded: the end cuts an occurrence", bounded(t), at(t, london, "2026-03-27 22:10"), at(t, london, "2026-03-27 23:00"), false, true},
		{"bounded: no start before the end", bounded(t), at(t, london, "2026-03-27 12:00"), at(t, london, "2026-03-27 22:00"), true, true},
		{"bounded: over", bounded(t), at(t, london, "2026-03-27 23:00"), time.Time{}, false, false},
		{"bounded: nothing after the last", &Maintenance{Zone: london, Days: weekdays, Window: Window{clock("22:00"), clock("23:30")},
			End: at(t, london, "2026-03-27 23:59")}, at(t, london, "2026-03-27 23:30"), time.Time{}, false, false},
		{"all day never changes", always, at(t, london, "2026-03-10 00:00"), time.Time{}, false, false},
		{"all day until its end", alwaysUntil, at(t, london, "2026-03-10 00:00"), at(t, london, "2026-04-01 06:00"), false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := checked(t, tt.m)
			got, active, ok := m.Next(tt.from)
			if !got.Equal(tt.want) || active != tt.active || ok != tt.ok {
				t.Errorf("Next(%s) = %s, %v, %v; want %s, %v, %v", tt.from.In(m.Zone), got, active, ok, tt.want.In(m.Zone), tt.active, tt.ok)
			}
			if ok && got.Location() != m.Zone {
				t.Errorf("Next gives a time in %s, want %s", got.Location(), m.Zone)
			}
			if ok && m.Active(got) != active {
				t.Errorf("Active(%s) = %v, but Next says it changes to %v", got, !active, active)
			}
		})
	}
}

// Walking Next from change to change agrees with Active minute by minute
// over the London and New York changes of clock.
func TestMaintenanceNextAgreesWithActive(t *testing.T) {
	for name, m := range map[string]*Maintenance{"eod": lseEOD(), "nightly": nightly(), "bounded": bounded(t), "release": release(t)} {
		m := checked(t, m)
		from, to := at(t, time.UTC, "2026-03-01 00:00"), at(t, time.UTC, "2026-04-10 00:00")
		if name == "release" {
			from, to = at(t, time.UTC, "2026-12-04 00:00"), at(t, time.UTC, "2026-12-08 00:00")
		}
		next, nextActive, ok := m.Next(from)
		state := m.Active(from)
		for u := from.Add(time.Minute); u.Before(to); u = u.Add(time.Minute) {
			if ok && !u.Before(next) {
				if !u.Equal(next) {
					t.Fatalf("%s: Next said %s, passed at %s", name, next, u)
				}
				state = nextActive
				next, nextActive, ok = m.Next(u)
			}
			if got := m.Active(u); got != state {
				t.Fatalf("%s: Active(%s) = %v, but Next gave no change to it", name, u, got)
			}
		}
	}
}

func TestMaintenanceCheck(t *testing.T) {
	t1, t2 := at(t, london, "2026-12-05 08:00"), at(t, london, "2026-12-06 18:00")
	tests := []struct {
		name string
		m    Maintenance
		want []string
	}{
		{"one-off", Maintenance{Zone: london, Start: t1, End: t2}, nil},
		{"recurring", *lseEOD(), nil},
		{"recurring every day", Maintenance{Zone: london, Window: Window{clock("22:00"), clock("02:00")}}, nil},
		{"nothing", Maintenance{}, []string{"zone: missing",
			"start: missing: a one-off window needs a start and an end (or days and a window to recur)",
			"end: missing: a one-off window needs a start and an end (or days and a window to recur)"}},
		{"end before start", Maintenance{Zone: london, Start: t2, End: t1}, []string{"end: 2026-12-05 08:00 is not after start 2026-12-06 18:00"}},
		{"end at start", Maintenance{Zone: london, Start: t1, End: t1}, []string{"end: 2026-12-05 08:00 is not after start 2026-12-05 08:00"}},
		{"recurring bounds reversed", Maintenance{Zone: london, Days: weekdays, Window: Window{clock("22:00"), clock("23:00")}, Start: t2, End: t1},
			[]string{"end: 2026-12-05 08:00 is not after start 2026-12-06 18:00"}},
		{"empty window", Maintenance{Zone: london, Days: weekdays, Window: Window{clock("22:00"), clock("22:00")}},
			[]string{"window: ends where it starts (00:00–24:00 is all day)"}},
		{"days and no window", Maintenance{Zone: london, Days: weekdays}, []string{"window: ends where it starts (00:00–24:00 is all day)"}},
		{"bad days, no zone", Maintenance{Days: []time.Weekday{time.Monday, time.Monday}, Window: Window{clock("22:00"), clock("23:00")}},
			[]string{"zone: missing", "days[1]: Monday is listed twice"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.m.Check()
			var got []string
			if err != nil {
				got = strings.Split(err.Error(), "\n")
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("Check:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

func TestMaintenanceUnchecked(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("Active on an unchecked Maintenance did not panic")
		}
	}()
	lseEOD().Active(time.Now())
}

func TestParseWallTime(t *testing.T) {
	for _, tt := range []struct {
		in   string
		zone *time.Location
		want string // RFC 3339 in UTC, or the error
	}{
		{"2026-12-05T08:00", london, "2026-12-05T08:00:00Z"},
		{"2026-07-05T08:00", london, "2026-07-05T07:00:00Z"},
		// Skipped when New York springs forward: the instant of the jump.
		{"2026-03-08T02:30", newYork, "2026-03-08T07:00:00Z"},
		// Repeated when it falls back: the first.
		{"2026-11-01T01:30", newYork, "2026-11-01T05:30:00Z"},
		{"2026-12-05 08:00", london, `"2026-12-05 08:00": want a wall time YYYY-MM-DDTHH:MM, such as 2026-12-05T08:00`},
		{"2026-12-05T8:00", london, `"2026-12-05T8:00": want a wall time YYYY-MM-DDTHH:MM, such as 2026-12-05T08:00`},
		{"2026-02-30T08:00", london, `"2026-02-30T08:00": date "2026-02-30": February 2026 has no day 30`},
		{"2026-12-05T24:00", london, `"2026-12-05T24:00": 24:00 is the next day's 00:00`},
		{"2026-12-05T08:60", london, `"2026-12-05T08:60": clock "08:60": minute 60 is not in 00–59`},
	} {
		got, err := ParseWallTime(tt.in, tt.zone)
		s := got.UTC().Format(time.RFC3339)
		if err != nil {
			s = err.Error()
		}
		if s != tt.want {
			t.Errorf("ParseWallTime(%q) = %s, want %s", tt.in, s, tt.want)
		}
	}
}

func TestParseWeekday(t *testing.T) {
	for in, want := range map[string]time.Weekday{"mon": time.Monday, "SUN": time.Sunday, "Wednesday": time.Wednesday} {
		if got, err := ParseWeekday(in); err != nil || got != want {
			t.Errorf("ParseWeekday(%q) = %v, %v", in, got, err)
		}
	}
	if _, err := ParseWeekday("wedn"); err == nil || err.Error() != `"wedn" is not a day of the week (mon, tue, wed, thu, fri, sat or sun)` {
		t.Errorf("ParseWeekday(wedn): %v", err)
	}
}
