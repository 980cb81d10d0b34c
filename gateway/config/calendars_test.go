package config_test

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/watchfloor/watchfloor/gateway/config"
	"github.com/watchfloor/watchfloor/rules/calendar"
)

// TestCalendarsGood checks what every key of the calendars section decodes
// to, and proves it by asking the schedules and cycles about instants
// whose answers the file, its iCalendar file and the zones decide.
func TestCalendarsGood(t *testing.T) {
	c, err := config.Load("testdata/calendars.good.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cs := &c.Calendars
	if len(cs.Desks) != 2 || cs.Desks[0].Name != "London" || cs.Desks[0].Zone.String() != "Europe/London" ||
		cs.Desks[1].Name != "New York" || cs.Desks[1].Zone.String() != "America/New_York" {
		t.Errorf("desks %+v", cs.Desks)
	}

	weekdays := []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday}
	lse := schedule(t, cs, "lse-trading")
	if lse.Zone.String() != "Europe/London" || !reflect.DeepEqual(lse.Days, weekdays) ||
		!reflect.DeepEqual(lse.Windows, []calendar.Window{{Start: calendar.Clock{Hour: 8}, End: calendar.Clock{Hour: 16, Minute: 30}}}) {
		t.Errorf("lse-trading %+v", lse)
	}
	wantHolidays := map[calendar.Date]string{
		{Year: 2026, Month: time.April, Day: 3}:     "Good Friday",
		{Year: 2026, Month: time.December, Day: 25}: "Christmas Day",
		{Year: 2026, Month: time.December, Day: 28}: "Boxing Day (substitute)",
	}
	wantHalfDays := map[calendar.Date]calendar.Clock{
		{Year: 2026, Month: time.December, Day: 24}: {Hour: 12, Minute: 30},
		// The file closes at 13:00; the set's own half_days win.
		{Year: 2026, Month: time.December, Day: 31}: {Hour: 12, Minute: 30},
	}
	if !reflect.DeepEqual(lse.Holidays, wantHolidays) || !reflect.DeepEqual(lse.HalfDays, wantHalfDays) {
		t.Errorf("lse-trading's holidays %v, half days %v", lse.Holidays, lse.HalfDays)
	}
	utc := schedule(t, cs, "lse-utc")
	if !reflect.DeepEqual(utc.Days, weekdays) || !reflect.DeepEqual(utc.Holidays, wantHolidays) {
		t.Errorf("lse-utc's days %v, holidays %v: full names in any case, the set read in UTC too", utc.Days, utc.Holidays)
	}
	if s := schedule(t, cs, "always"); s.Days != nil || s.Windows != nil || s.Holidays != nil {
		t.Errorf("always %+v", s)
	}

	for _, tc := range []struct {
		schedule, at string
		active       bool
	}{
		{"lse-trading", "2026-12-01T10:00:00Z", true},
		{"lse-trading", "2026-12-01T07:59:00Z", false},
		{"lse-trading", "2026-07-01T07:30:00Z", true}, // 08:30 BST
		{"lse-trading", "2026-12-25T10:00:00Z", false},
		{"lse-trading", "2026-12-28T10:00:00Z", false},
		{"lse-trading", "2026-12-24T12:29:00Z", true},
		{"lse-trading", "2026-12-24T12:30:00Z", false},
		{"lse-trading", "2026-12-31T12:45:00Z", false},
		{"lse-trading", "2026-12-05T10:00:00Z", false}, // a Saturday
		{"lse-utc", "2026-07-01T07:30:00Z", false},
		{"lse-utc", "2026-04-03T10:00:00Z", false},
		{"asia-night", "2026-12-06T13:30:00Z", true}, // Sunday 22:30 in Tokyo
		{"asia-night", "2026-12-07T16:30:00Z", true}, // Tuesday 01:30, from Monday's window
		{"asia-night", "2026-12-07T18:00:00Z", false},
		{"asia-night", "2026-12-07T21:30:00Z", true},  // Tuesday 06:30
		{"asia-night", "2026-12-04T13:30:00Z", false}, // Friday 22:30: no window starts
		{"asia-night", "2026-12-04T21:30:00Z", false}, // Saturday 06:30: not listed
		{"always", "2026-12-25T10:00:00Z", true},
	} {
		if got := schedule(t, cs, tc.schedule).Active(instant(t, tc.at)); got != tc.active {
			t.Errorf("%s at %s: active %v, want %v", tc.schedule, tc.at, got, tc.active)
		}
	}

	if len(cs.WorkCycles) != 4 {
		t.Fatalf("%d work cycles, want 4", len(cs.WorkCycles))
	}
	eq := cs.WorkCycles[0]
	wantPhases := []calendar.PhaseStart{
		{Phase: calendar.BeginningOfDay, At: calendar.Clock{Hour: 7}},
		{Phase: calendar.Intraday, At: calendar.Clock{Hour: 8}},
		{Phase: calendar.EndOfDay, At: calendar.Clock{Hour: 16, Minute: 30}},
		{Phase: calendar.Closed, At: calendar.Clock{Hour: 17, Minute: 30}},
	}
	if eq.Name != "lse-equities" || !reflect.DeepEqual(eq.Where, map[string][]string{"system": {"lse"}}) ||
		!reflect.DeepEqual(eq.Days, weekdays) || !reflect.DeepEqual(eq.Phases, wantPhases) ||
		!reflect.DeepEqual(eq.Holidays, wantHolidays) || !reflect.DeepEqual(eq.HalfDays, wantHalfDays) {
		t.Errorf("lse-equities %+v", eq)
	}
	tokyo := cs.WorkCycles[1]
	if !reflect.DeepEqual(tokyo.Where, map[string][]string{"system": {"tse", "ose"}, "desk": {"tokyo"}}) || len(tokyo.Phases) != 4 ||
		tokyo.Phases[0].Phase != calendar.Closed || tokyo.Phases[1].Phase != calendar.BeginningOfDay || tokyo.Phases[3].Phase != calendar.EndOfDay {
		t.Errorf("tokyo %+v: phases in the mapping's order, by their long names too", tokyo)
	}
	if fx := cs.WorkCycles[2]; !reflect.DeepEqual(fx.Phases, []calendar.PhaseStart{{Phase: calendar.Intraday}}) || fx.Days != nil {
		t.Errorf("fx %+v, want 24/7", fx)
	}
	if ops := cs.WorkCycles[3]; len(ops.Days) != 6 || ops.Zone != time.UTC {
		t.Errorf("crypto-ops %+v, want 24/6", ops)
	}

	for _, tc := range []struct {
		cycle   int
		at      string
		phase   calendar.Phase
		holiday string
	}{
		{0, "2026-12-01T06:59:00Z", calendar.Closed, ""},
		{0, "2026-12-01T07:00:00Z", calendar.BeginningOfDay, ""},
		{0, "2026-12-01T10:00:00Z", calendar.Intraday, ""},
		{0, "2026-12-01T16:45:00Z", calendar.EndOfDay, ""},
		{0, "2026-12-25T10:00:00Z", calendar.Closed, "Christmas Day"}, // from the iCalendar file
		{0, "2026-12-28T10:00:00Z", calendar.Closed, "Boxing Day (substitute)"},
		{0, "2026-12-31T12:45:00Z", calendar.EndOfDay, ""},
		{0, "2026-12-31T13:30:00Z", calendar.Closed, ""}, // an hour after the early close
		{2, "2026-12-25T10:00:00Z", calendar.Intraday, ""},
		{3, "2026-12-05T10:00:00Z", calendar.Closed, ""}, // the maintenance Saturday
		{3, "2026-12-06T10:00:00Z", calendar.Intraday, ""},
	} {
		w := cs.WorkCycles[tc.cycle]
		if st := w.At(instant(t, tc.at)); st.Phase != tc.phase || st.Holiday != tc.holiday {
			t.Errorf("%s at %s: %v (holiday %q), want %v (holiday %q)", w.Name, tc.at, st.Phase, st.Holiday, tc.phase, tc.holiday)
		}
	}
}

// TestCycleFor checks that an entity gets the first work cycle whose where
// holds for its attributes.
func TestCycleFor(t *testing.T) {
	c, err := config.Load("testdata/calendars.good.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		attrs map[string]string
		want  string // "" for none
	}{
		{"one attribute", map[string]string{"system": "lse", "desk": "london"}, "lse-equities"},
		{"one of the values", map[string]string{"system": "ose", "desk": "tokyo"}, "tokyo"},
		{"every attribute named", map[string]string{"system": "tse"}, ""},
		{"another value", map[string]string{"system": "tse", "desk": "london"}, ""},
		{"preset", map[string]string{"system": "ops"}, "crypto-ops"},
		{"no attributes", nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w, ok := c.Calendars.CycleFor(tc.attrs)
			switch {
			case tc.want == "" && ok:
				t.Errorf("CycleFor = %s, want none", w.Name)
			case tc.want != "" && (!ok || w.Name != tc.want):
				t.Errorf("CycleFor = %v, %v, want %s", w, ok, tc.want)
			}
		})
	}
}

// TestCycleForFirstWins checks that of two cycles that select the same
// entity, the first in the file is its cycle.
func TestCycleForFirstWins(t *testing.T) {
	c, err := config.Parse("overlap.yaml", []byte(`listen: 127.0.0.1:7039
calendars:
  work_cycles:
    - {name: lse, where: {system: lse}, zone: Europe/London, phases: {intraday: "08:00", closed: "16:30"}}
    - {name: all-lse, where: {system: [lse, lme]}, zone: UTC, preset: 24/7}
`))
	if err != nil {
		t.Fatal(err)
	}
	for attr, want := range map[string]string{"lse": "lse", "lme": "all-lse"} {
		if w, ok := c.Calendars.CycleFor(map[string]string{"system": attr}); !ok || w.Name != want {
			t.Errorf("system %s: CycleFor = %v, %v, want %s", attr, w, ok, want)
		}
	}
}

func schedule(t *testing.T, cs *config.Calendars, name string) *calendar.Schedule {
	t.Helper()
	s, ok := cs.Schedule(name)
	if !ok {
		t.Fatalf("no schedule %q", name)
	}
	return s
}

func instant(t *testing.T, s string) time.Time {
	t.Helper()
	at, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return at
}

// Validate checks the calendars of a configuration built in code, and
// prepares its schedules and cycles for use.
func TestValidateCalendars(t *testing.T) {
	london, err := time.LoadLocation("Europe/London")
	if err != nil {
		t.Fatal(err)
	}
	c := &config.Config{Listen: "127.0.0.1:1", Limits: config.DefaultLimits(), Sessions: config.DefaultSessions(), Audit: config.DefaultAudit()}
	c.Calendars.Schedules = []calendar.Schedule{{Name: "lse", Zone: london, Windows: []calendar.Window{{Start: calendar.Clock{Hour: 8}, End: calendar.Clock{Hour: 16, Minute: 30}}}}}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if !c.Calendars.Schedules[0].Active(time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)) {
		t.Fatal("the validated schedule is not active at 10:00 London")
	}
	c.Calendars.Schedules[0].Windows[0].End = calendar.Clock{Hour: 8}
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "calendars.schedules[0].windows[0]") {
		t.Fatalf("a window ending where it starts: %v", err)
	}
}
