package gateway

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/watchfloor/watchfloor/gateway/config"
	"github.com/watchfloor/watchfloor/netprobe/protocol"
	"github.com/watchfloor/watchfloor/rules/calendar"
	"github.com/watchfloor/watchfloor/samplers"
)

// The calendars' state is computed, not sampled: the gateway's own probe
// shows it in three dataviews of its self sampler, so screens show where
// each system is in its day and rules can judge it —
//
//	work-cycles  a row per work cycle: its phase, since when, the next
//	             phase and when it starts, the seconds to it, the holiday
//	schedules    a row per schedule: active or not, its next change
//	desks        a row per support desk: its zone, wall clock and offset
//
// They are sent each second with the gateway's other dataviews, and at
// the instant a phase or schedule changes (feedSelf's boundary timer), so
// a phase starts on the wall when it starts, not at the next second.

// The self sampler's dataview IDs of the calendars.
const (
	cyclesID = 6 + iota
	schedulesID
	desksID
)

// selfCalendars is the calendars' dataviews at now.
func selfCalendars(at int64, now time.Time, cal *config.Calendars) []protocol.Declare {
	text := samplers.Text
	stamp := func(t time.Time) samplers.Cell {
		if t.IsZero() {
			return text("")
		}
		return text(t.UTC().Format(time.RFC3339))
	}
	until := func(t time.Time) samplers.Cell {
		if t.IsZero() {
			return text("")
		}
		return samplers.Int(int64(t.Sub(now).Round(time.Second) / time.Second))
	}
	cycles := protocol.Declare{ID: cyclesID, SamplerID: selfID, Name: "work-cycles", SampleTime: at,
		Columns: []string{"phase", "since", "next", "nextAt", "secondsToNext", "holiday", "zone", "where"}}
	for i := range cal.WorkCycles {
		w := &cal.WorkCycles[i]
		st := w.At(now)
		next := ""
		if !st.NextAt.IsZero() {
			next = st.Next.String()
		}
		cycles.Rows = append(cycles.Rows, protocol.RowDecl{Index: uint32(i), Name: w.Name, Cells: []samplers.Cell{
			text(st.Phase.String()), stamp(st.Since), text(next), stamp(st.NextAt), until(st.NextAt),
			text(st.Holiday), text(w.Zone.String()), text(whereText(w.Where)),
		}})
	}
	schedules := protocol.Declare{ID: schedulesID, SamplerID: selfID, Name: "schedules", SampleTime: at,
		Columns: []string{"active", "nextChange", "secondsToChange", "zone"}}
	for i := range cal.Schedules {
		s := &cal.Schedules[i]
		change, _, ok := s.Next(now)
		if !ok {
			change = time.Time{}
		}
		schedules.Rows = append(schedules.Rows, protocol.RowDecl{Index: uint32(i), Name: s.Name, Cells: []samplers.Cell{
			text(fmt.Sprint(s.Active(now))), stamp(change), until(change), text(s.Zone.String()),
		}})
	}
	desks := protocol.Declare{ID: desksID, SamplerID: selfID, Name: "desks", SampleTime: at,
		Columns: []string{"zone", "time", "utcOffset"}}
	for i, d := range cal.Desks {
		local := now.In(d.Zone)
		desks.Rows = append(desks.Rows, protocol.RowDecl{Index: uint32(i), Name: d.Name, Cells: []samplers.Cell{
			text(d.Zone.String()), text(local.Format("2006-01-02 15:04:05")), text(local.Format("-07:00")),
		}})
	}
	return []protocol.Declare{cycles, schedules, desks}
}

// whereText is a cycle's attribute selectors as one line:
// "region=emea|apac system=lse".
func whereText(where map[string][]string) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(where)) {
		parts = append(parts, k+"="+strings.Join(where[k], "|"))
	}
	return strings.Join(parts, " ")
}

// nextBoundary is the first instant after now at which a work cycle's
// phase or a schedule's activity changes; zero if none does.
func nextBoundary(now time.Time, cal *config.Calendars) time.Time {
	var next time.Time
	at := func(t time.Time) {
		if !t.IsZero() && t.After(now) && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}
	for i := range cal.WorkCycles {
		at(cal.WorkCycles[i].At(now).NextAt)
	}
	for i := range cal.Schedules {
		if t, _, ok := cal.Schedules[i].Next(now); ok {
			at(t)
		}
	}
	return next
}

// calendarIndex answers the rules' questions about one configuration's
// calendars (rules.Calendar): the phase of an entity's work cycle and
// whether a schedule is active, each with the instant it next changes.
// An answer is kept until that instant, so a cell judged many times
// between two boundaries costs a lookup, not a calendar computation. It
// is safe for concurrent use: every actor asks it.
type calendarIndex struct {
	cal       *config.Calendars
	cycles    []calendarAnswer
	schedules map[string]*scheduleEntry
}

type scheduleEntry struct {
	s    *calendar.Schedule
	last calendarAnswer
}

// calendarAnswer is the latest answer about one cycle or schedule, and
// the span of time it holds for.
type calendarAnswer struct{ p atomic.Pointer[answer] }

type answer struct {
	value    uint8 // a phase, or 1 for an active schedule
	from, to int64 // Unix ns it holds from, and until
}

// answerHorizon is how long an answer that names no next change is
// kept: the calendars look a year or so ahead, so "no change" means none
// as far as they looked, and is asked again a day later (the cells that
// depend on it are judged again then too).
const answerHorizon = 24 * time.Hour

func (c *calendarAnswer) get(now int64, compute func(time.Time) answer) answer {
	if a := c.p.Load(); a != nil && a.from <= now && now < a.to {
		return *a
	}
	a := compute(time.Unix(0, now))
	if a.to == 0 {
		a.to = now + int64(answerHorizon)
	}
	c.p.Store(&a)
	return a
}

func newCalendarIndex(cal *config.Calendars) *calendarIndex {
	x := &calendarIndex{cal: cal, cycles: make([]calendarAnswer, len(cal.WorkCycles)), schedules: make(map[string]*scheduleEntry, len(cal.Schedules))}
	for i := range cal.Schedules {
		x.schedules[cal.Schedules[i].Name] = &scheduleEntry{s: &cal.Schedules[i]}
	}
	return x
}

// cycleRef is the work cycle of a dataview's entity, an index in the
// WorkCycles of the calendar index of: found once, since looking it up
// matches the entity against every cycle's where. Reset when its entity's
// attributes may have changed.
type cycleRef struct {
	of *calendarIndex
	i  int
}

// dataviewCalendar is the calendar as the cells of one dataview see it,
// for rules.Input: its entity's cycle is looked up once.
type dataviewCalendar struct {
	x  *calendarIndex
	dv *Dataview
}

func (c *dataviewCalendar) Phase(attrs map[string]string, now int64) (calendar.Phase, int64, bool) {
	if c.dv.cycle.of != c.x {
		c.dv.cycle = cycleRef{of: c.x, i: c.x.cal.CycleIndex(attrs)}
	}
	return c.x.phaseOf(c.dv.cycle.i, now)
}

func (c *dataviewCalendar) Active(name string, now int64) (bool, int64, bool) {
	return c.x.Active(name, now)
}

// Phase is rules.Calendar's.
func (x *calendarIndex) Phase(attrs map[string]string, now int64) (calendar.Phase, int64, bool) {
	return x.phaseOf(x.cal.CycleIndex(attrs), now)
}

// phaseOf is the phase of work cycle i at now, ok false for i < 0.
func (x *calendarIndex) phaseOf(i int, now int64) (calendar.Phase, int64, bool) {
	if i < 0 {
		return 0, 0, false
	}
	w := &x.cal.WorkCycles[i]
	a := x.cycles[i].get(now, func(t time.Time) answer {
		st := w.At(t)
		return answer{value: uint8(st.Phase), from: t.UnixNano(), to: unixNano(st.NextAt)}
	})
	return calendar.Phase(a.value), a.to, true
}

// Active is rules.Calendar's.
func (x *calendarIndex) Active(name string, now int64) (bool, int64, bool) {
	e, ok := x.schedules[name]
	if !ok {
		return false, 0, false
	}
	a := e.last.get(now, func(t time.Time) answer {
		out := answer{from: t.UnixNano()}
		if e.s.Active(t) {
			out.value = 1
		}
		if next, _, ok := e.s.Next(t); ok {
			out.to = next.UnixNano()
		}
		return out
	})
	return a.value == 1, a.to, true
}

// unixNano is t in Unix ns, 0 for the zero time.
func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// phaseOf is the phase at t of the work cycle an entity with attrs
// follows, "" if it follows none.
func (g *Gateway) phaseOf(attrs map[string]string, t time.Time) string {
	if p, _, ok := g.calendars.Load().Phase(attrs, t.UnixNano()); ok {
		return p.String()
	}
	return ""
}
