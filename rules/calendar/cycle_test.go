package calendar

import (
	"strings"
	"testing"
	"time"
)

func TestWorkCycleAt(t *testing.T) {
	l := func(s string) time.Time { return at(t, london, s) }
	n := func(s string) time.Time { return at(t, newYork, s) }
	u := func(s string) time.Time { return at(t, time.UTC, s) }
	lseC, nyseC := checked(t, ptr(lse())), checked(t, ptr(nyse()))
	sixC := checked(t, ptr(SixDays("fx", newYork, time.Saturday)))
	sixH := SixDays("fx-h", newYork, time.Saturday)
	sixH.Holidays = map[Date]string{date("2026-12-25"): "Christmas Day"}
	sixHC := checked(t, &sixH)
	gapC := checked(t, &WorkCycle{Name: "gap", Zone: newYork, Phases: []PhaseStart{
		{Closed, clock("00:00")}, {BeginningOfDay, clock("02:15")}, {Intraday, clock("02:45")}, {EndOfDay, clock("20:00")}}})
	fallC := checked(t, &WorkCycle{Name: "fall", Zone: london, Phases: []PhaseStart{
		{Closed, clock("00:00")}, {BeginningOfDay, clock("01:30")}, {Intraday, clock("08:00")}}})
	tests := []struct {
		name string
		w    *WorkCycle
		at   time.Time
		want State
	}{
		{"lse monday before bod", lseC, l("2026-03-09 06:00"), State{Closed, l("2026-03-06 17:30"), BeginningOfDay, l("2026-03-09 07:00"), ""}},
		{"lse bod", lseC, l("2026-03-09 07:00"), State{BeginningOfDay, l("2026-03-09 07:00"), Intraday, l("2026-03-09 08:00"), ""}},
		{"lse intraday", lseC, l("2026-03-09 12:00"), State{Intraday, l("2026-03-09 08:00"), EndOfDay, l("2026-03-09 16:30"), ""}},
		{"lse eod", lseC, l("2026-03-09 17:00"), State{EndOfDay, l("2026-03-09 16:30"), Closed, l("2026-03-09 17:30"), ""}},
		{"lse closed overnight", lseC, l("2026-03-09 23:00"), State{Closed, l("2026-03-09 17:30"), BeginningOfDay, l("2026-03-10 07:00"), ""}},
		{"lse weekend", lseC, l("2026-03-14 12:00"), State{Closed, l("2026-03-13 17:30"), BeginningOfDay, l("2026-03-16 07:00"), ""}},
		// 2026-03-09..2026-03-28: New York is on EDT (UTC-4), London still on GMT.
		{"lse opens 08:00 UTC while on GMT", lseC, u("2026-03-10 08:00"), State{Intraday, u("2026-03-10 08:00"), EndOfDay, u("2026-03-10 16:30"), ""}},
		{"lse opens 07:00 UTC once on BST", lseC, u("2026-03-30 07:00"), State{Intraday, u("2026-03-30 07:00"), EndOfDay, u("2026-03-30 15:30"), ""}},
		{"lse weekend over the UK change", lseC, l("2026-03-29 12:00"), State{Closed, u("2026-03-27 17:30"), BeginningOfDay, u("2026-03-30 06:00"), ""}},
		{"nyse opens 13:30 UTC on EDT", nyseC, u("2026-03-10 13:30"), State{Intraday, u("2026-03-10 13:30"), EndOfDay, u("2026-03-10 20:00"), ""}},
		{"nyse opened 14:30 UTC on EST", nyseC, u("2026-03-06 15:00"), State{Intraday, u("2026-03-06 14:30"), EndOfDay, u("2026-03-06 21:00"), ""}},
		{"nyse weekend over the US change", nyseC, n("2026-03-08 12:00"), State{Closed, u("2026-03-06 22:00"), BeginningOfDay, u("2026-03-09 12:30"), ""}},
		{"nyse odd week, 09:29 New York", nyseC, n("2026-03-24 09:29"), State{BeginningOfDay, n("2026-03-24 08:30"), Intraday, n("2026-03-24 09:30"), ""}},
		{"lse half day eod at the close", lseC, l("2026-12-24 12:30"), State{EndOfDay, l("2026-12-24 12:30"), Closed, l("2026-12-24 13:30"), ""}},
		{"lse half day intraday ends early", lseC, l("2026-12-24 10:00"), State{Intraday, l("2026-12-24 08:00"), EndOfDay, l("2026-12-24 12:30"), ""}},
		{"lse half day closed early", lseC, l("2026-12-24 14:00"), State{Closed, l("2026-12-24 13:30"), BeginningOfDay, l("2026-12-29 07:00"), ""}},
		{"lse christmas", lseC, l("2026-12-25 10:00"), State{Closed, l("2026-12-24 13:30"), BeginningOfDay, l("2026-12-29 07:00"), "Christmas Day"}},
		{"lse boxing day substitute", lseC, l("2026-12-28 23:59"), State{Closed, l("2026-12-24 13:30"), BeginningOfDay, l("2026-12-29 07:00"), "Boxing Day (substitute)"}},
		{"24/6 friday", sixC, n("2026-03-13 23:59"), State{Intraday, n("2026-03-08 00:00"), Closed, n("2026-03-14 00:00"), ""}},
		{"24/6 maintenance day", sixC, n("2026-03-14 12:00"), State{Closed, n("2026-03-14 00:00"), Intraday, n("2026-03-15 00:00"), ""}},
		{"24/6 sunday", sixC, n("2026-03-15 00:00"), State{Intraday, n("2026-03-15 00:00"), Closed, n("2026-03-21 00:00"), ""}},
		{"24/6 holiday", sixHC, n("2026-12-25 01:00"), State{Closed, n("2026-12-25 00:00"), Intraday, n("2026-12-27 00:00"), "Christmas Day"}},
		{"24/7 never changes", checked(t, ptr(AroundTheClock("crypto", london))), l("2026-03-29 01:30"), State{Phase: Intraday}},
		// 2026-03-08 02:00 EST jumps to 03:00 EDT (07:00 UTC): 02:15 and 02:45 never show.
		{"gap: bod is skipped, intraday starts at the jump", gapC, u("2026-03-08 06:59"), State{Closed, u("2026-03-08 05:00"), Intraday, u("2026-03-08 07:00"), ""}},
		{"gap: intraday from the jump", gapC, u("2026-03-08 07:00"), State{Intraday, u("2026-03-08 07:00"), EndOfDay, n("2026-03-08 20:00"), ""}},
		// 2026-10-25 02:00 BST goes back to 01:00 GMT (01:00 UTC): 01:30 shows twice.
		{"repeated: bod at the first 01:30", fallC, u("2026-10-25 00:30"), State{BeginningOfDay, u("2026-10-25 00:30"), Intraday, l("2026-10-25 08:00"), ""}},
		{"repeated: still bod at the second 01:30", fallC, u("2026-10-25 01:30"), State{BeginningOfDay, u("2026-10-25 00:30"), Intraday, l("2026-10-25 08:00"), ""}},
		{"repeated: closed before", fallC, u("2026-10-25 00:29"), State{Closed, l("2026-10-25 00:00"), BeginningOfDay, u("2026-10-25 00:30"), ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.w.At(tt.at)
			if !sameState(got, tt.want) {
				t.Errorf("At(%s) =\n%s\nwant\n%s", tt.at.In(tt.w.Zone), showState(got), showState(tt.want))
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

func sameState(a, b State) bool {
	return a.Phase == b.Phase && a.Since.Equal(b.Since) && a.Next == b.Next && a.NextAt.Equal(b.NextAt) && a.Holiday == b.Holiday
}

func showState(s State) string {
	f := func(t time.Time) string {
		if t.IsZero() {
			return "zero"
		}
		return t.UTC().Format("2006-01-02 15:04Z")
	}
	return s.Phase.String() + " since " + f(s.Since) + ", " + s.Next.String() + " at " + f(s.NextAt) + ", holiday " + s.Holiday
}

func TestWorkCycleCheck(t *testing.T) {
	tests := []struct {
		name string
		w    WorkCycle
		want []string
	}{
		{"lse", lse(), nil},
		{"no zone, no phases", WorkCycle{}, []string{"zone: missing", "phases: none; a cycle needs at least one phase start"}},
		{"out of order", WorkCycle{Zone: london, Phases: []PhaseStart{{BeginningOfDay, clock("07:00")}, {EndOfDay, clock("17:00")}, {Closed, clock("16:30")}}},
			[]string{"phases[2]: starts at 16:30, before phases[1] at 17:00"}},
		{"same clock", WorkCycle{Zone: london, Phases: []PhaseStart{{BeginningOfDay, clock("07:00")}, {Intraday, clock("07:00")}}},
			[]string{"phases[1]: starts at 07:00, as phases[0] does"}},
		{"same phase twice running", WorkCycle{Zone: london, Phases: []PhaseStart{{Intraday, clock("07:00")}, {Intraday, clock("08:00")}}},
			[]string{"phases[1]: intraday follows intraday; the phases of a day must change"}},
		{"24:00 and bad phase", WorkCycle{Zone: london, Phases: []PhaseStart{{Phase(7), clock("07:00")}, {Closed, clock("24:00")}}},
			[]string{"phases[0]: phase(7) is not a phase", "phases[1]: starts at 24:00, the end of the day; start at 00:00"}},
		{"half days", func() WorkCycle {
			w := lse()
			w.HalfDays = map[Date]Clock{date("2026-12-24"): clock("07:30"), date("2026-12-26"): clock("12:30"), date("2026-12-30"): clock("17:00")}
			return w
		}(), []string{"halfDays[2026-12-24]: closes at 07:30, not after intraday starts at 08:00",
			"halfDays[2026-12-26]: a Saturday, not a trading day",
			"halfDays[2026-12-30]: closes at 17:00, after eod's usual start at 16:30"}},
		{"half day without eod", func() WorkCycle {
			w := AroundTheClock("crypto", london)
			w.HalfDays = map[Date]Clock{date("2026-12-24"): clock("12:30")}
			return w
		}(), []string{"halfDays[2026-12-24]: the cycle has no eod phase to move"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.w.Check()
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

func TestPhaseNames(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want Phase
	}{{"closed", Closed}, {"bod", BeginningOfDay}, {"beginning-of-day", BeginningOfDay}, {"intraday", Intraday}, {"eod", EndOfDay}, {"end-of-day", EndOfDay}} {
		p, err := ParsePhase(tt.in)
		if err != nil || p != tt.want {
			t.Errorf("ParsePhase(%q) = %v, %v; want %v", tt.in, p, err, tt.want)
		}
	}
	for p := Closed; p <= EndOfDay; p++ {
		if q, err := ParsePhase(p.String()); err != nil || q != p {
			t.Errorf("ParsePhase(%q) = %v, %v", p.String(), q, err)
		}
	}
	if _, err := ParsePhase("Intraday"); err == nil || err.Error() != `phase "Intraday": want closed, bod, intraday or eod` {
		t.Errorf("ParsePhase(Intraday) error = %v", err)
	}
}
