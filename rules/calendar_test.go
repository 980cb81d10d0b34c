package rules

import (
	"testing"
	"time"

	"github.com/watchfloor/watchfloor/rules/calendar"
	"github.com/watchfloor/watchfloor/samplers"
)

// venue is a Calendar at one instant: an LSE-like work cycle (Beginning
// of Day 07:00, Intraday 08:00, End of Day 16:30, Closed 17:30, London,
// weekdays) and its trading schedule (08:00–16:30), both real
// rules/calendar values.
type venue struct {
	cycle    calendar.WorkCycle
	trading  calendar.Schedule
	now      time.Time
	noCycles bool // the entity follows no work cycle
}

func newVenue(t *testing.T) *venue {
	t.Helper()
	london, err := time.LoadLocation("Europe/London")
	if err != nil {
		t.Fatal(err)
	}
	weekdays := []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday}
	v := &venue{
		cycle: calendar.SeveralHours("lse", london, weekdays,
			calendar.Clock{Hour: 7}, calendar.Clock{Hour: 8}, calendar.Clock{Hour: 16, Minute: 30}, calendar.Clock{Hour: 17, Minute: 30}),
		trading: calendar.Schedule{Name: "lse-trading", Zone: london, Days: weekdays,
			Windows: []calendar.Window{{Start: calendar.Clock{Hour: 8}, End: calendar.Clock{Hour: 16, Minute: 30}}}},
	}
	if err := v.cycle.Check(); err != nil {
		t.Fatal(err)
	}
	if err := v.trading.Check(); err != nil {
		t.Fatal(err)
	}
	return v
}

func (v *venue) Phase(_ map[string]string, now int64) (calendar.Phase, int64, bool) {
	if v.noCycles {
		return 0, 0, false
	}
	st := v.cycle.At(time.Unix(0, now))
	return st.Phase, unixNano(st.NextAt), true
}

func (v *venue) Active(name string, now int64) (bool, int64, bool) {
	if name != v.trading.Name {
		return false, 0, false
	}
	t := time.Unix(0, now)
	next, _, _ := v.trading.Next(t)
	return v.trading.Active(t), unixNano(next), true
}

func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// at is a wall-clock time in London on Tuesday 1 December 2026.
func (v *venue) at(clock string) time.Time {
	c, err := calendar.ParseClock(clock)
	if err != nil {
		panic(err)
	}
	return time.Date(2026, 12, 1, c.Hour, c.Minute, 0, 0, v.cycle.Zone)
}

// calStep is a cell judged at a London wall-clock time of the day, holding
// value; want is its severity.
type calStep struct {
	clock string
	value string
	want  Severity
}

func runCalendarSteps(t *testing.T, v *venue, r *Rule, steps []calStep) {
	t.Helper()
	e := NewEvaluator()
	e.OnError = func(r *Rule, err error) { t.Errorf("rule %s failed: %v", r.Name(), err) }
	c := newCell(r)
	for _, s := range steps {
		v.now = v.at(s.clock)
		now := v.now.UnixNano()
		c.sample(s.value, now/sec)
		got := e.Judge(&c.cs, &Input{Now: now, Value: c.val, Changed: c.changed, Calendar: v})
		if got.Severity != s.want {
			t.Errorf("%s (%s) value %s: %v, want %v", s.clock, v.cycle.At(v.now).Phase, s.value, got.Severity, s.want)
		}
		// The cell is judged again when its rule's calendar next changes.
		if want := v.nextChange(r); want != 0 && (got.Next == 0 || got.Next > want) {
			t.Errorf("%s: Next %v, want by %v", s.clock, time.Unix(0, got.Next), time.Unix(0, want))
		}
	}
}

// nextChange is the first instant after v.now at which r's phase or
// schedule changes.
// nextChange is the first instant after v.now at which what r depends on
// (its entity's phase, its schedule) changes; 0 if r depends on neither.
func (v *venue) nextChange(r *Rule) int64 {
	var next int64
	d := r.Def()
	if !v.noCycles && ((d.Active != nil && len(d.Active.Phases) > 0) || len(d.Phases) > 0) {
		next = unixNano(v.cycle.At(v.now).NextAt)
	}
	for _, name := range d.ScheduleNames() {
		if t, _, ok := v.trading.Next(v.now); ok && name == v.trading.Name && (next == 0 || t.UnixNano() < next) {
			next = t.UnixNano()
		}
	}
	return next
}

func compileDef(t *testing.T, d Def) *Rule {
	t.Helper()
	d.Name, d.Match = "r", "**"
	r, errs := CompileOne(d)
	if errs != nil {
		t.Fatalf("compile: %v", errs)
	}
	return r
}

func TestRuleActiveOnlyIntraday(t *testing.T) {
	r := compileDef(t, Def{Active: &ActiveDef{Phases: []string{"intraday"}}, Critical: &LevelDef{When: "value == 0"}})
	// A process down at 03:00 on a venue that trades 08:00–16:30 is
	// routine: the rule gives nothing. At 10:00 it is an emergency.
	runCalendarSteps(t, newVenue(t), r, []calStep{
		{"03:00", "0", Undefined},
		{"07:30", "0", Undefined},
		{"10:00", "0", Critical},
		{"10:05", "1", OK},
		{"16:29", "0", Critical},
		{"16:30", "0", Undefined},
	})
}

func TestRuleOnASchedule(t *testing.T) {
	r := compileDef(t, Def{Schedule: "lse-trading", Critical: &LevelDef{When: "value > 90"}})
	runCalendarSteps(t, newVenue(t), r, []calStep{
		{"07:59", "95", Undefined},
		{"08:00", "95", Critical},
		{"16:29", "95", Critical},
		{"16:30", "95", Undefined},
	})
	// A schedule the calendar does not know is ignored: the rule judges.
	unknown := compileDef(t, Def{Schedule: "nyse-trading", Critical: &LevelDef{When: "value > 90"}})
	runCalendarSteps(t, newVenue(t), unknown, []calStep{{"03:00", "95", Critical}})
}

func TestRuleLevelsPerPhase(t *testing.T) {
	// Warning at 70% CPU intraday, at 95% during Beginning of Day, when
	// heavy loads are expected.
	r := compileDef(t, Def{
		Warning: &LevelDef{When: "value > 70"},
		Phases:  map[string]*PhaseLevels{"bod": {Warning: &LevelDef{When: "value > 95"}}},
	})
	runCalendarSteps(t, newVenue(t), r, []calStep{
		{"07:10", "80", OK},
		{"07:20", "97", Warning},
		{"07:30", "80", OK},
		{"08:00", "80", Warning},
		{"17:45", "80", Warning}, // closed has no levels of its own
	})
}

func TestPendingForIsCancelledOutsideActiveTime(t *testing.T) {
	r := compileDef(t, Def{Active: &ActiveDef{Phases: []string{"intraday"}}, Critical: &LevelDef{When: "value > 90", For: dur(10 * time.Minute)}})
	runCalendarSteps(t, newVenue(t), r, []calStep{
		{"16:25", "95", OK}, // pending since 16:25
		{"16:30", "95", Undefined},
		{"16:36", "95", Undefined}, // it would have fired at 16:35
	})
	// Back in its active time it starts again: pending, not firing.
	v := newVenue(t)
	e := NewEvaluator()
	c := newCell(r)
	judge := func(at time.Time, value string) Severity {
		v.now = at
		c.sample(value, at.UnixNano()/sec)
		return e.Judge(&c.cs, &Input{Now: at.UnixNano(), Value: c.val, Changed: c.changed, Calendar: v}).Severity
	}
	judge(v.at("16:25"), "95")
	judge(v.at("16:31"), "95")
	next := v.at("08:05").AddDate(0, 0, 1)
	if got := judge(next, "95"); got != OK {
		t.Errorf("next morning at 08:05: %v, want ok (pending again)", got)
	}
	if got := judge(next.Add(10*time.Minute), "95"); got != Critical {
		t.Errorf("10 minutes later: %v, want critical", got)
	}
}

func TestLevelWrittenAlikeKeepsItsForAcrossPhases(t *testing.T) {
	critical := &LevelDef{When: "value > 90", For: dur(5 * time.Minute)}
	r := compileDef(t, Def{
		Critical: critical, Warning: &LevelDef{When: "value > 70"},
		Phases: map[string]*PhaseLevels{"bod": {Critical: &LevelDef{When: "value > 90", For: dur(5 * time.Minute)}, Warning: &LevelDef{When: "value > 85"}}},
	})
	// Pending since 07:58 in Beginning of Day; the phase changes at 08:00;
	// the critical level is the same, so it fires five minutes after 07:58.
	runCalendarSteps(t, newVenue(t), r, []calStep{
		{"07:58", "95", Warning},
		{"08:00", "95", Warning},
		{"08:03", "95", Critical},
	})
}

func TestEntityWithoutACycleIsJudgedAllDay(t *testing.T) {
	v := newVenue(t)
	v.noCycles = true
	r := compileDef(t, Def{Active: &ActiveDef{Phases: []string{"intraday"}}, Critical: &LevelDef{When: "value == 0"}})
	runCalendarSteps(t, v, r, []calStep{{"03:00", "0", Critical}})
	// And without a calendar at all, as a gateway with no calendars.
	e := NewEvaluator()
	c := newCell(r)
	if got := e.Judge(&c.cs, &Input{Now: sec, Value: samplers.Text("0")}); got.Severity != Critical {
		t.Errorf("without a calendar: %v, want critical", got.Severity)
	}
}

func TestCalendarLimitsRefused(t *testing.T) {
	cases := []struct {
		name  string
		def   Def
		field string
	}{
		{"unknown phase", Def{Active: &ActiveDef{Phases: []string{"lunch"}}, Critical: &LevelDef{When: "true"}}, "active.phases[0]"},
		{"empty active", Def{Active: &ActiveDef{}, Critical: &LevelDef{When: "true"}}, "active"},
		{"schedule twice", Def{Active: &ActiveDef{Schedules: []string{"a"}}, Schedule: "b", Critical: &LevelDef{When: "true"}}, "schedule"},
		{"levels for an inactive phase", Def{Active: &ActiveDef{Phases: []string{"intraday"}}, Critical: &LevelDef{When: "true"},
			Phases: map[string]*PhaseLevels{"eod": {Critical: &LevelDef{When: "false"}}}}, "phases.eod"},
		{"a phase given twice", Def{Critical: &LevelDef{When: "true"},
			Phases: map[string]*PhaseLevels{"bod": {Critical: &LevelDef{When: "false"}}, "beginning-of-day": {Critical: &LevelDef{When: "false"}}}}, "phases.bod"},
		{"a probe rule", Def{ProbeDown: durp(time.Minute), Severity: Warning, Schedule: "lse"}, "schedule"},
		{"a staleness rule's levels per phase", Def{Stale: durp(time.Minute), Severity: Warning,
			Phases: map[string]*PhaseLevels{"bod": {Warning: &LevelDef{When: "true"}}}}, "phases"},
		{"a phase's bad condition", Def{Critical: &LevelDef{When: "true"},
			Phases: map[string]*PhaseLevels{"bod": {Warning: &LevelDef{When: "value >"}}}}, "phases.bod.warning.when"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.def.Name, c.def.Match = "r", "**"
			switch {
			case c.def.Stale != nil:
				c.def.Match = "*/*/*/*"
			case c.def.ProbeDown != nil:
				c.def.Match = "*"
			}
			_, errs := CompileOne(c.def)
			if len(errs) != 1 || errs[0].Field != c.field {
				t.Fatalf("errors %v, want one at %s", errs, c.field)
			}
		})
	}
}

// A staleness or absence rule follows the day too: a log that is quiet
// at night is not stale.
func TestDataviewRuleActiveAt(t *testing.T) {
	v := newVenue(t)
	r, errs := CompileOne(Def{Name: "log-quiet", Match: "*/*/logs/*", Stale: durp(2 * time.Minute), Severity: Warning,
		Active: &ActiveDef{Phases: []string{"intraday"}}})
	if errs != nil {
		t.Fatal(errs)
	}
	for _, c := range []struct {
		clock  string
		active bool
		next   string
	}{
		{"03:00", false, "07:00"},
		{"07:30", false, "08:00"},
		{"10:00", true, "16:30"},
	} {
		active, next := r.ActiveAt(v, nil, v.at(c.clock).UnixNano())
		if active != c.active || next != v.at(c.next).UnixNano() {
			t.Errorf("%s: active %v, next %v; want %v, %s", c.clock, active, time.Unix(0, next).In(v.cycle.Zone), c.active, c.next)
		}
	}
	if active, next := r.ActiveAt(nil, nil, v.at("03:00").UnixNano()); !active || next != 0 {
		t.Errorf("without a calendar: %v %d, want active for ever", active, next)
	}
}
