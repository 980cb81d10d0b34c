package gateway

import (
	"testing"
	"time"

	"github.com/watchfloor/watchfloor/gateway/config"
	"github.com/watchfloor/watchfloor/rules"
)

// withCalendars gives the test actor's entity (client: acme) a UTC work
// cycle whose Intraday is 08:00–08:10, and installs it as a reload would.
func withCalendars(t *testing.T, a *probeActor, cycle string) {
	t.Helper()
	cfg, err := config.Parse("cal", []byte(`listen: "127.0.0.1:0"
calendars:
  work_cycles:
    - {name: acme, where: {client: acme}, zone: UTC, phases: `+cycle+`}
`))
	if err != nil {
		t.Fatal(err)
	}
	a.g.calendars.Store(newCalendarIndex(&cfg.Calendars))
}

// docs/calendars.md: an absence rule outside its time finds nothing, "and
// a row missing counts its `for` from the rule's start". A row missing
// yesterday intraday must not be found missing at today's 08:00:00 — its
// minute counts from 08:00. refreshFindings skips an inactive rule without
// forgetting dv.missing, so the row counts from yesterday.
func TestAbsenceForCountsFromTheRulesStart(t *testing.T) {
	a, _, sid, clock := testActor(t, testLimits) // 08:00 UTC, a Tuesday
	withCalendars(t, a, `{bod: "07:00", intraday: "08:00", eod: "08:10", closed: "09:00"}`)
	a.useRules(t, rules.Def{Name: "procs", Match: "p/e/s/d", Rows: []string{"r9"}, For: rules.Duration(time.Minute),
		Severity: rules.Critical, Active: &rules.ActiveDef{Phases: []string{"intraday"}}})
	if err := a.do(snapshot(declare(1, sid, "d", clock.Now().UnixNano(), "1"))); err != nil {
		t.Fatal(err)
	}
	findings := func() int {
		if fs := a.dvs[key].findings.Load(); fs != nil {
			return len(*fs)
		}
		return 0
	}
	step(a, clock, time.Minute) // 08:01
	if findings() != 1 {
		t.Fatalf("08:01, r9 missing for a minute intraday: %d findings, want 1", findings())
	}
	step(a, clock, 9*time.Minute) // 08:10, End of Day
	if findings() != 0 {
		t.Fatalf("08:10, End of Day: %d findings, want none", findings())
	}
	step(a, clock, 50*time.Minute) // 09:00, Closed
	step(a, clock, 22*time.Hour)   // 07:00 Wednesday, Beginning of Day
	step(a, clock, time.Hour)      // 08:00 Wednesday, Intraday
	if n := findings(); n != 0 {
		t.Errorf("Wednesday 08:00:00, the rule's start: %d findings, want none (r9's minute counts from 08:00)", n)
	}
	step(a, clock, time.Minute)
	if n := findings(); n != 1 {
		t.Errorf("Wednesday 08:01: %d findings, want 1", n)
	}
}

// Preview says what the actor says (TestPreviewAbsenceForMatchesActor):
// a rule limited to Intraday, previewed during Beginning of Day, gives
// what the actor gives the cell then — nothing — not critical. Only
// backtest and test-rules are documented to judge without calendars.
func TestPreviewFollowsTheDay(t *testing.T) {
	a, _, sid, clock := testActor(t, testLimits) // 08:00 UTC, Beginning of Day below
	withCalendars(t, a, `{bod: "07:00", intraday: "09:00", eod: "16:30", closed: "17:30"}`)
	def := rules.Def{Name: "down", Match: "p/e/s/d/*/v", Active: &rules.ActiveDef{Phases: []string{"intraday"}},
		Critical: &rules.LevelDef{When: "value == 1"}}
	a.useRules(t, def)
	if err := a.do(snapshot(declare(1, sid, "d", clock.Now().UnixNano(), "1"))); err != nil {
		t.Fatal(err)
	}
	if sev, _ := sevOf(t, a, "r0"); sev != rules.Undefined {
		t.Fatalf("the actor at 08:00 (bod): %v, want undefined", sev)
	}
	items, _, errs := a.g.previewRule(def, 10)
	if errs != nil {
		t.Fatal(errs)
	}
	for _, it := range items {
		if it.Path == "p/e/s/d/r0/v" && it.Severity != rules.Undefined.String() {
			t.Errorf("preview at 08:00 (bod) of a rule active only intraday: %+v, want %v as the actor says", it, rules.Undefined)
		}
	}
}

// The calendar index keeps an answer "until its next change"; a schedule
// whose next change is beyond rules/calendar's 400-day horizon answers
// ok=false from Next, which the index stores as to=0, "for ever". So a
// holiday 456 days ahead is never seen: the gateway says the schedule is
// active on it (and Verdict.Next is 0, so no cell is judged again then).
func TestScheduleAnswerNotCachedPastTheHorizon(t *testing.T) {
	cfg, err := config.Parse("cal", []byte(`listen: "127.0.0.1:0"
calendars:
  holidays:
    venue:
      dates: {2028-03-01: Far holiday}
  schedules:
    - {name: always, zone: UTC, holidays: venue}
`))
	if err != nil {
		t.Fatal(err)
	}
	x := newCalendarIndex(&cfg.Calendars)
	s, _ := cfg.Calendars.Schedule("always")
	start := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	on, next, ok := x.Active("always", start.UnixNano())
	if !ok || !on {
		t.Fatalf("at %v: active %v ok %v, want active", start, on, ok)
	}
	holiday := time.Date(2028, 3, 1, 12, 0, 0, 0, time.UTC)
	if s.Active(holiday) {
		t.Fatalf("the schedule itself is active on its holiday; the test's premise is wrong")
	}
	if on, _, _ := x.Active("always", holiday.UnixNano()); on {
		t.Errorf("on the holiday %v the index says active (its answer from %v was kept with next=%d, for ever)", holiday, start, next)
	}
}
