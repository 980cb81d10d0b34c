package calendar

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	ics "github.com/arran4/golang-ical"
)

// Holidays are the holidays and half days read from an iCalendar file,
// ready for a Schedule's or WorkCycle's fields of the same names.
type Holidays struct {
	Dates    map[Date]string
	HalfDays map[Date]Clock
}

const (
	maxSpanDays    = 366 // the longest all-day event
	maxOccurrences = 200 // the most dates a yearly rule may give
)

// earlyCloseWords mark an event, in its SUMMARY or DESCRIPTION, as an
// early close rather than something else on the exchange's calendar.
var earlyCloseWords = []string{"early clos", "closes early", "closing early", "half day", "half-day", "shortened"}

// ParseICS reads holidays and half days from an iCalendar file (RFC 5545),
// such as an exchange's published holiday calendar. zone is the exchange's
// zone, in which the dates and closing times are given back.
//
// Each VEVENT is read as follows:
//   - an all-day event (DTSTART;VALUE=DATE:20261225, or a bare 8-digit
//     date) makes a holiday of each date from DTSTART up to but not
//     including DTEND (or for DURATION:PnD or PnW; one day if neither),
//     named by its SUMMARY;
//   - an event with a time of day (DTSTART:20261127T130000) whose SUMMARY
//     or DESCRIPTION says "early close", "early closing", "closes early",
//     "closing early", "half day" or "shortened" (in any case) is a half day
//     closing at DTSTART's time: the event marks the close, or covers the
//     closed afternoon. DTEND is not used. The time is read in its TZID,
//     which must be zone's name, or converted from UTC (…Z) into zone; a
//     time with no zone is taken as zone's wall clock;
//   - an all-day event marked as an early close is an error: it has no
//     closing time, and closing all day would be wrong;
//   - other timed events (a settlement cut-off, an expiry) are not
//     holidays and are skipped, as are events with STATUS:CANCELLED.
//
// A yearly rule (RRULE:FREQ=YEARLY with COUNT or UNTIL, and optionally
// INTERVAL) repeats an event on the same month and day, skipping 29
// February outside leap years, less any EXDATE dates; other rules, RDATE
// and RECURRENCE-ID are refused: list such dates as events of their own.
// Two holidays on one date join their names; a date that is both a
// holiday and a half day, or two half days with different closes, is an
// error.
//
// Errors name the line of the file, and the property: "line 12: DTSTART:
// …".
func ParseICS(data []byte, zone *time.Location) (Holidays, error) {
	if zone == nil {
		return Holidays{}, errors.New("ics: no zone for the calendar")
	}
	p := icsParser{zone: zone, h: Holidays{Dates: map[Date]string{}, HalfDays: map[Date]Clock{}}}
	events, err := readEvents(data)
	if err != nil {
		return Holidays{}, err
	}
	for _, ev := range events {
		if err := p.event(ev); err != nil {
			return Holidays{}, err
		}
	}
	return p.h, nil
}

// The library's calendar parser counts unfolded lines, from zero and
// afresh inside each component, and keeps no position on a property; so
// ParseICS unfolds the file itself, to keep each property's line, and
// reads each content line with the library's property parser.

type icsProp struct {
	line int
	*ics.BaseProperty
}

type icsEvent struct {
	line  int // of BEGIN:VEVENT
	props map[string][]icsProp
}

// readEvents returns the calendar's VEVENTs, checking that components
// begin and end in order.
func readEvents(data []byte) ([]icsEvent, error) {
	type open struct {
		name string
		line int
	}
	var (
		stack  []open
		events []icsEvent
		done   bool
	)
	for _, l := range unfold(data) {
		prop, err := ics.ParseProperty(ics.ContentLine(l.text))
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", l.n, err)
		}
		if prop == nil || !strings.HasPrefix(l.text, prop.IANAToken) {
			return nil, fmt.Errorf("line %d: not a content line (NAME:value): %.40q", l.n, l.text)
		}
		name := strings.ToUpper(prop.IANAToken)
		value := strings.ToUpper(prop.Value)
		switch {
		case done:
			return nil, fmt.Errorf("line %d: %s after END:VCALENDAR", l.n, name)
		case len(stack) == 0 && (name != "BEGIN" || value != "VCALENDAR"):
			return nil, fmt.Errorf("line %d: the file must begin with BEGIN:VCALENDAR", l.n)
		case name == "BEGIN":
			stack = append(stack, open{value, l.n})
			if len(stack) == 2 && value == "VEVENT" {
				events = append(events, icsEvent{line: l.n, props: map[string][]icsProp{}})
			}
		case name == "END":
			top := stack[len(stack)-1]
			if value != top.name {
				return nil, fmt.Errorf("line %d: END:%s, but BEGIN:%s at line %d is open", l.n, prop.Value, top.name, top.line)
			}
			stack = stack[:len(stack)-1]
			done = len(stack) == 0
		case len(stack) == 2 && stack[1].name == "VEVENT":
			ev := &events[len(events)-1]
			ev.props[name] = append(ev.props[name], icsProp{l.n, prop})
		}
	}
	if len(stack) > 0 {
		top := stack[len(stack)-1]
		return nil, fmt.Errorf("line %d: BEGIN:%s has no END", top.line, top.name)
	}
	if !done {
		return nil, errors.New("line 1: empty file; want BEGIN:VCALENDAR")
	}
	return events, nil
}

type icsLine struct {
	n    int
	text string
}

// unfold splits data into content lines, joining folded lines (a line
// beginning with a space or tab continues the one before) and dropping
// blank ones. n is the line number where each content line begins.
func unfold(data []byte) []icsLine {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	var out []icsLine
	var cur strings.Builder
	start := 0
	flush := func() {
		if cur.Len() > 0 {
			out = append(out, icsLine{start, cur.String()})
		}
		cur.Reset()
	}
	for i, raw := range bytes.Split(data, []byte("\n")) {
		raw = bytes.TrimSuffix(raw, []byte("\r"))
		if len(raw) > 0 && (raw[0] == ' ' || raw[0] == '\t') && cur.Len() > 0 {
			cur.Write(raw[1:])
			continue
		}
		flush()
		start = i + 1
		cur.Write(raw)
	}
	flush()
	return out
}

type icsParser struct {
	zone *time.Location
	h    Holidays
	// lines remember where each date was set, for errors about clashes.
	holidayLine, halfLine map[Date]int
}

func (p *icsParser) event(ev icsEvent) error {
	for _, name := range []string{"RDATE", "EXRULE", "RECURRENCE-ID"} {
		if ps := ev.props[name]; len(ps) > 0 {
			return fmt.Errorf("line %d: %s: not supported; list each date as an event", ps[0].line, name)
		}
	}
	if st, ok := ev.first("STATUS"); ok && strings.EqualFold(strings.TrimSpace(st.Value), "CANCELLED") {
		return nil
	}
	ds, ok := ev.first("DTSTART")
	if !ok {
		return fmt.Errorf("line %d: VEVENT: no DTSTART", ev.line)
	}
	start, err := p.when(ds)
	if err != nil {
		return err
	}
	name := "holiday"
	if s, ok := ev.first("SUMMARY"); ok && strings.TrimSpace(s.Value) != "" {
		name = strings.TrimSpace(s.Value)
	}
	early := ev.mentions(earlyCloseWords)
	if !start.timed && early {
		return fmt.Errorf("line %d: DTSTART: %q is an early close but has no closing time; give DTSTART the time (DTSTART:%sT130000)", ds.line, name, strings.TrimSpace(ds.Value)[:8])
	}
	if start.timed && !early {
		return nil
	}
	if start.timed {
		if err := p.close(ds, start); err != nil {
			return err
		}
	}
	span := 1
	if !start.timed {
		if span, err = p.span(ev, start); err != nil {
			return err
		}
	}
	occurrences, err := p.recur(ev, start)
	if err != nil {
		return err
	}
	for _, o := range occurrences {
		if start.timed {
			if err := p.halfDay(o, ds.line); err != nil {
				return err
			}
			continue
		}
		for k := range span {
			if err := p.holiday(dateOf(o.date.days()+int64(k)), name, ds.line); err != nil {
				return err
			}
		}
	}
	return nil
}

func (ev icsEvent) first(name string) (icsProp, bool) {
	if ps := ev.props[name]; len(ps) > 0 {
		return ps[0], true
	}
	return icsProp{}, false
}

func (ev icsEvent) mentions(words []string) bool {
	for _, field := range []string{"SUMMARY", "DESCRIPTION"} {
		for _, p := range ev.props[field] {
			v := strings.ToLower(p.Value)
			for _, w := range words {
				if strings.Contains(v, w) {
					return true
				}
			}
		}
	}
	return false
}

// icsTime is a DATE or DATE-TIME value: a date, and for a timed value
// its clock in the calendar's zone. raw is the date and time as written,
// before any conversion from UTC, which is what a yearly rule repeats.
type icsTime struct {
	raw, date Date
	timed     bool
	utc       bool
	rawClock  [3]int // hour, minute, second as written
	clock     Clock
}

// when reads a DATE or DATE-TIME property.
func (p *icsParser) when(prop icsProp) (icsTime, error) {
	v := strings.TrimSpace(prop.Value)
	fail := func(format string, args ...any) (icsTime, error) {
		return icsTime{}, fmt.Errorf("line %d: %s: %s", prop.line, strings.ToUpper(prop.IANAToken), fmt.Sprintf(format, args...))
	}
	isDate := strings.EqualFold(param(prop, "VALUE"), "DATE")
	date := len(v) == 8 && digits(v, 0, 8)
	dateTime := (len(v) == 15 || (len(v) == 16 && v[15] == 'Z')) && digits(v, 0, 8) && v[8] == 'T' && digits(v, 9, 15)
	switch {
	case isDate && !date:
		return fail("%q is not a date (YYYYMMDD)", v)
	case !date && !dateTime:
		return fail("%q is not a date (YYYYMMDD) or a date-time (YYYYMMDDTHHMMSS, Z for UTC)", v)
	}
	var t icsTime
	t.raw = Date{atoi(v[0:4]), time.Month(atoi(v[4:6])), atoi(v[6:8])}
	if err := t.raw.valid(); err != nil {
		return fail("%q: %s", v, err)
	}
	t.date = t.raw
	if date {
		return t, nil
	}
	t.timed, t.utc = true, len(v) == 16
	t.rawClock = [3]int{atoi(v[9:11]), atoi(v[11:13]), atoi(v[13:15])}
	h, m, sec := t.rawClock[0], t.rawClock[1], t.rawClock[2]
	if h > 23 || m > 59 || sec > 60 {
		return fail("%q has no time %02d:%02d:%02d", v, h, m, sec)
	}
	t.clock = Clock{h, m}
	if t.utc {
		t = p.fromUTC(t)
	}
	return t, nil
}

// close checks that a timed DTSTART can be a half day's close.
func (p *icsParser) close(prop icsProp, t icsTime) error {
	if t.rawClock[2] != 0 {
		return fmt.Errorf("line %d: DTSTART: a close is to the minute; %02d:%02d:%02d has seconds", prop.line, t.rawClock[0], t.rawClock[1], t.rawClock[2])
	}
	if tz := param(prop, "TZID"); tz != "" && tz != p.zone.String() {
		return fmt.Errorf("line %d: DTSTART: TZID %q is not the calendar's zone %s", prop.line, tz, p.zone)
	}
	return nil
}

// fromUTC sets t's date and clock from its raw date and time in UTC.
func (p *icsParser) fromUTC(t icsTime) icsTime {
	local := time.Date(t.raw.Year, t.raw.Month, t.raw.Day, t.rawClock[0], t.rawClock[1], 0, 0, time.UTC).In(p.zone)
	t.date, t.clock = DateOf(local), Clock{local.Hour(), local.Minute()}
	return t
}

func param(prop icsProp, name string) string {
	for k, vs := range prop.ICalParameters {
		if strings.EqualFold(k, name) && len(vs) > 0 {
			return vs[0]
		}
	}
	return ""
}

func digits(s string, from, to int) bool {
	if len(s) < to {
		return false
	}
	for i := from; i < to; i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s) // callers pass only digits
	return n
}

// span is how many days an all-day event lasts.
func (p *icsParser) span(ev icsEvent, start icsTime) (int, error) {
	if de, ok := ev.first("DTEND"); ok {
		end, err := p.when(de)
		if err != nil {
			return 0, err
		}
		n := end.raw.days() - start.raw.days()
		switch {
		case end.timed:
			return 0, fmt.Errorf("line %d: DTEND: a time, but DTSTART is a date", de.line)
		case n <= 0:
			return 0, fmt.Errorf("line %d: DTEND: %s is not after DTSTART %s", de.line, end.raw, start.raw)
		case n > maxSpanDays:
			return 0, fmt.Errorf("line %d: DTEND: the event lasts %d days, more than %d", de.line, n, maxSpanDays)
		}
		return int(n), nil
	}
	if du, ok := ev.first("DURATION"); ok {
		v := strings.ToUpper(strings.TrimSpace(du.Value))
		unit := 1
		switch {
		case strings.HasSuffix(v, "W"):
			unit = 7
		case !strings.HasSuffix(v, "D"):
			return 0, fmt.Errorf("line %d: DURATION: %q; an all-day event lasts PnD or PnW", du.line, du.Value)
		}
		n, err := strconv.Atoi(strings.TrimPrefix(v[:len(v)-1], "P"))
		if !strings.HasPrefix(v, "P") || err != nil || n < 1 || n*unit > maxSpanDays {
			return 0, fmt.Errorf("line %d: DURATION: %q; an all-day event lasts PnD or PnW, 1 to %d days", du.line, du.Value, maxSpanDays)
		}
		return n * unit, nil
	}
	return 1, nil
}

// recur gives the event's occurrences: DTSTART, and with a yearly rule
// each year's repeat, less EXDATEs.
func (p *icsParser) recur(ev icsEvent, start icsTime) ([]icsTime, error) {
	rr, ok := ev.first("RRULE")
	if !ok {
		return []icsTime{start}, nil
	}
	fail := func(format string, args ...any) ([]icsTime, error) {
		return nil, fmt.Errorf("line %d: RRULE: %s", rr.line, fmt.Sprintf(format, args...))
	}
	count, interval := 0, 1
	var until *icsTime
	yearly := false
	for _, part := range strings.Split(strings.TrimSpace(rr.Value), ";") {
		k, v, _ := strings.Cut(part, "=")
		var err error
		switch strings.ToUpper(k) {
		case "FREQ":
			yearly = strings.EqualFold(v, "YEARLY")
			if !yearly {
				return fail("FREQ=%s: only FREQ=YEARLY is supported; list other dates as events", v)
			}
		case "COUNT":
			if count, err = strconv.Atoi(v); err != nil || count < 1 || count > maxOccurrences {
				return fail("COUNT=%s: want 1 to %d", v, maxOccurrences)
			}
		case "INTERVAL":
			if interval, err = strconv.Atoi(v); err != nil || interval < 1 || interval > 100 {
				return fail("INTERVAL=%s: want 1 to 100", v)
			}
		case "UNTIL":
			u, err := p.when(icsProp{rr.line, &ics.BaseProperty{IANAToken: "RRULE UNTIL", Value: v}})
			if err != nil {
				return nil, err
			}
			until = &u
		default:
			return fail("%s: not supported; a yearly rule takes COUNT, UNTIL or INTERVAL (list other dates as events)", k)
		}
	}
	switch {
	case !yearly:
		return fail("no FREQ=YEARLY")
	case count == 0 && until == nil:
		return fail("a yearly rule needs COUNT or UNTIL, so the dates are finite")
	case count > 0 && until != nil:
		return fail("COUNT and UNTIL together; give one")
	}
	except := map[Date]bool{}
	for _, ex := range ev.props["EXDATE"] {
		for _, v := range strings.Split(ex.Value, ",") {
			e, err := p.when(icsProp{ex.line, &ics.BaseProperty{IANAToken: "EXDATE", Value: v, ICalParameters: ex.ICalParameters}})
			if err != nil {
				return nil, err
			}
			except[e.raw] = true
		}
	}
	var out []icsTime
	for y, n := start.raw.Year, 0; y <= 9999; y += interval {
		d := Date{y, start.raw.Month, start.raw.Day}
		if d.valid() != nil {
			continue // 29 February outside a leap year
		}
		o := start
		o.raw, o.date = d, d
		if o.utc {
			o = p.fromUTC(o)
		}
		if until != nil && until.before(o) {
			break
		}
		if n++; count > 0 && n > count {
			break
		}
		if len(out) == maxOccurrences {
			return fail("more than %d dates", maxOccurrences)
		}
		if except[d] {
			continue
		}
		out = append(out, o)
	}
	return out, nil
}

// before says whether a rule's UNTIL u ends before occurrence o: by the
// dates as written when either is a date, and otherwise by the wall clock
// in the calendar's zone, so that an UNTIL earlier on o's day than o's
// time excludes it.
func (u icsTime) before(o icsTime) bool {
	switch {
	case !u.timed || !o.timed:
		return u.raw.days() < o.raw.days()
	case u.date != o.date:
		return u.date.days() < o.date.days()
	}
	return u.clock.minutes() < o.clock.minutes()
}

func (p *icsParser) holiday(d Date, name string, line int) error {
	if at, ok := p.halfLine[d]; ok {
		return fmt.Errorf("line %d: %s is a holiday here and a half day at line %d", line, d, at)
	}
	if old, ok := p.h.Dates[d]; ok {
		if old != name && !strings.Contains(old, name) {
			p.h.Dates[d] = old + " / " + name
		}
		return nil
	}
	if p.holidayLine == nil {
		p.holidayLine = map[Date]int{}
	}
	p.h.Dates[d], p.holidayLine[d] = name, line
	return nil
}

func (p *icsParser) halfDay(o icsTime, line int) error {
	d := o.date
	if at, ok := p.holidayLine[d]; ok {
		return fmt.Errorf("line %d: %s is a half day here and a holiday at line %d", line, d, at)
	}
	if old, ok := p.h.HalfDays[d]; ok && old != o.clock {
		return fmt.Errorf("line %d: %s closes at %s here and at %s at line %d", line, d, o.clock, old, p.halfLine[d])
	}
	if p.halfLine == nil {
		p.halfLine = map[Date]int{}
	}
	p.h.HalfDays[d], p.halfLine[d] = o.clock, line
	return nil
}
