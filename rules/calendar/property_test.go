package calendar

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

// testSchedules are the shapes the property tests run over.
func testSchedules(t testing.TB) []*Schedule {
	ss := []*Schedule{
		lseTrading(),
		fridayNight(),
		{Name: "nyse", Zone: newYork, Days: weekdays, Windows: []Window{{clock("09:30"), clock("16:00")}},
			Holidays: map[Date]string{date("2026-11-26"): "Thanksgiving"}, HalfDays: map[Date]Clock{date("2026-11-27"): clock("13:00")}},
		{Name: "gap", Zone: newYork, Windows: []Window{{clock("02:30"), clock("04:00")}, {clock("01:00"), clock("02:10")}}},
		{Name: "fall", Zone: london, Windows: []Window{{clock("01:30"), clock("01:45")}, {clock("23:00"), clock("01:15")}}},
		{Name: "always", Zone: london, Holidays: map[Date]string{date("2026-12-25"): "Christmas", date("2027-01-01"): "New Year"}},
		{Name: "nights", Zone: mustZone("Australia/Sydney"), Days: []time.Weekday{time.Sunday, time.Wednesday},
			Windows: []Window{{clock("20:00"), clock("02:30")}}, HalfDays: map[Date]Clock{date("2026-04-05"): clock("02:15")}},
		{Name: "split", Zone: mustZone("Australia/Lord_Howe"), Windows: []Window{{clock("01:00"), clock("02:15")}, {clock("02:15"), clock("09:00")}}},
	}
	for _, s := range ss {
		checked(t, s)
	}
	return ss
}

func testCycles(t testing.TB) []*WorkCycle {
	fx := SixDays("fx", newYork, time.Saturday)
	fx.Holidays = map[Date]string{date("2026-12-25"): "Christmas Day", date("2027-01-01"): "New Year's Day"}
	crypto := AroundTheClock("crypto", time.UTC)
	crypto.Holidays = map[Date]string{date("2026-06-01"): "migration"}
	ws := []*WorkCycle{
		ptr(lse()), ptr(nyse()), &fx, &crypto,
		{Name: "gap", Zone: newYork, Phases: []PhaseStart{
			{Closed, clock("00:00")}, {BeginningOfDay, clock("02:15")}, {Intraday, clock("02:45")}, {EndOfDay, clock("20:00")}}},
		{Name: "fall", Zone: london, Days: []time.Weekday{time.Sunday, time.Monday}, Phases: []PhaseStart{
			{BeginningOfDay, clock("01:30")}, {Intraday, clock("08:00")}, {EndOfDay, clock("22:00")}}},
	}
	for _, w := range ws {
		checked(t, w)
	}
	return ws
}

// randomTimes are n instants over 2026 and 2027, a quarter of them near a
// change of offset in London or New York.
func randomTimes(n int) []time.Time {
	r := rand.New(rand.NewPCG(1, 2))
	from := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
	changes := []string{"2026-03-08T07:00:00Z", "2026-03-29T01:00:00Z", "2026-10-25T01:00:00Z", "2026-11-01T06:00:00Z", "2027-03-14T07:00:00Z", "2027-10-31T01:00:00Z"}
	out := make([]time.Time, n)
	for i := range out {
		if i%4 == 0 {
			c, _ := time.Parse(time.RFC3339, changes[r.IntN(len(changes))])
			out[i] = c.Add(time.Duration(r.IntN(4*3600)-2*3600) * time.Second)
			continue
		}
		out[i] = time.Unix(from+r.Int64N(2*365*86400), int64(r.IntN(1e9)))
	}
	return out
}

// TestScheduleNextConsistent checks, from random instants, that Active
// holds from t until Next and changes there.
func TestScheduleNextConsistent(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, s := range testSchedules(t) {
		t.Run(s.Name, func(t *testing.T) {
			for _, t0 := range randomTimes(3000) {
				cur := s.Active(t0)
				next, active, ok := s.Next(t0)
				if !ok {
					if !s.Active(t0.Add(24*time.Hour)) == cur {
						t.Fatalf("Next(%s): no change, but Active changes within a day", t0)
					}
					continue
				}
				fail := func(format string, args ...any) {
					t.Helper()
					t.Fatalf("from %s (active %v), Next = %s (%v): %s", t0.In(s.Zone), cur, next, active, fmt.Sprintf(format, args...))
				}
				if !next.After(t0) {
					fail("not after t")
				}
				if active == cur {
					fail("changes to what it is")
				}
				if s.Active(next) != active {
					fail("Active(Next) = %v", !active)
				}
				for _, d := range []time.Duration{time.Nanosecond, time.Second, time.Minute} {
					if before := next.Add(-d); before.After(t0) && s.Active(before) != cur {
						fail("Active %s before Next = %v", d, !cur)
					}
				}
				if span := next.Sub(t0); span > 0 {
					mid := t0.Add(time.Duration(r.Int64N(int64(span))))
					if s.Active(mid) != cur {
						fail("Active(%s) between = %v", mid.In(s.Zone), !cur)
					}
				}
			}
		})
	}
}

// TestWorkCycleAtConsistent checks, from random instants, that the phase
// holds from Since to NextAt, and that the neighbouring phases differ.
func TestWorkCycleAtConsistent(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for _, w := range testCycles(t) {
		t.Run(w.Name, func(t *testing.T) {
			for _, t0 := range randomTimes(3000) {
				st := w.At(t0)
				fail := func(format string, args ...any) {
					t.Helper()
					t.Fatalf("At(%s) = %s: %s", t0.In(w.Zone), showState(st), fmt.Sprintf(format, args...))
				}
				if !st.Since.IsZero() {
					if st.Since.After(t0) {
						fail("since is after t")
					}
					if p := w.At(st.Since).Phase; p != st.Phase {
						fail("At(Since) is %s", p)
					}
					if p := w.At(st.Since.Add(-time.Nanosecond)).Phase; p == st.Phase {
						fail("the phase was already %s before Since", p)
					}
				}
				if st.NextAt.IsZero() {
					continue
				}
				if !st.NextAt.After(t0) {
					fail("NextAt is not after t")
				}
				if next := w.At(st.NextAt); next.Phase != st.Next || !next.Since.Equal(st.NextAt) {
					fail("At(NextAt) = %s", showState(next))
				}
				if p := w.At(st.NextAt.Add(-time.Nanosecond)).Phase; p != st.Phase {
					fail("just before NextAt it is %s", p)
				}
				mid := t0.Add(time.Duration(r.Int64N(int64(st.NextAt.Sub(t0)))))
				if m := w.At(mid); m.Phase != st.Phase || !m.NextAt.Equal(st.NextAt) || !m.Since.Equal(st.Since) {
					fail("At(%s) between = %s", mid.In(w.Zone), showState(m))
				}
			}
		})
	}
}

// TestResolve checks wall times against a search, minute by minute, for
// the first instant whose wall clock reads the time or later, in zones
// with changes of one hour, half an hour, and a whole skipped day.
func TestResolve(t *testing.T) {
	zones := []string{"Europe/London", "America/New_York", "Australia/Sydney", "Australia/Lord_Howe", "Pacific/Apia", "Asia/Kolkata", "UTC"}
	days := []string{"2026-03-08", "2026-03-29", "2026-10-25", "2026-11-01", "2026-04-05", "2026-10-04", "2011-12-29", "2011-12-30", "2026-07-01"}
	for _, zn := range zones {
		loc := mustZone(zn)
		for _, ds := range days {
			d := date(ds).days()
			for x := d - 1; x <= d+1; x++ {
				r := newResolver(loc, x*secondsPerDay)
				for m := 0; m <= 2880; m += 5 {
					l := x*secondsPerDay + int64(m)*60
					want := l - maxOffset - 3600
					for want+int64(periodAt(loc, want).off) < l {
						want += 60
					}
					if got := r.at(x, m); got != want {
						t.Fatalf("%s: wall %s +%d min = %s, want %s", zn, dateOf(x), m, time.Unix(got, 0).In(loc), time.Unix(want, 0).In(loc))
					}
				}
			}
		}
	}
}
