package config

import (
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // zone names resolve where the machine has no zoneinfo

	"github.com/watchfloor/watchfloor/rules"
	"github.com/watchfloor/watchfloor/rules/calendar"
)

// The calendars section: the desks' clocks, holiday sets, schedules and
// work cycles (rules/calendar). Holiday sets live only in the file: each
// schedule or cycle that names one is given its dates. The section is
// checked as it is decoded, and calendar's Check prepares every schedule
// and cycle.

// Calendars is the configuration's calendars section. Its methods only
// read it, so it is safe for concurrent use.
type Calendars struct {
	// Desks are the support desks' clocks, for screens' headers, in file
	// order.
	Desks []Desk
	// Schedules and WorkCycles are in file order, each with its holiday
	// set's dates and prepared by Check.
	Schedules  []calendar.Schedule
	WorkCycles []WorkCycle
}

// Desk is a support desk's clock.
type Desk struct {
	Name string
	Zone *time.Location
}

// WorkCycle is a work cycle and the entities that follow it.
type WorkCycle struct {
	calendar.WorkCycle
	// Where selects the entities, as a rule's where does: every attribute
	// it names must have one of its values. Parse refuses an empty Where.
	Where map[string][]string
}

// Schedule returns the schedule with the given name.
func (cs *Calendars) Schedule(name string) (*calendar.Schedule, bool) {
	for i := range cs.Schedules {
		if cs.Schedules[i].Name == name {
			return &cs.Schedules[i], true
		}
	}
	return nil, false
}

// CycleFor returns the work cycle of an entity with the given attributes:
// the first, in file order, whose Where holds for them.
func (cs *Calendars) CycleFor(attrs map[string]string) (*WorkCycle, bool) {
	if i := cs.CycleIndex(attrs); i >= 0 {
		return &cs.WorkCycles[i], true
	}
	return nil, false
}

// CycleIndex is CycleFor's cycle as an index in WorkCycles, -1 for none.
func (cs *Calendars) CycleIndex(attrs map[string]string) int {
	for i := range cs.WorkCycles {
		if cs.WorkCycles[i].selects(attrs) {
			return i
		}
	}
	return -1
}

func (w *WorkCycle) selects(attrs map[string]string) bool {
	for name, vals := range w.Where {
		v, ok := attrs[name]
		if !ok || !slices.Contains(vals, v) {
			return false
		}
	}
	return true
}

// badDay stands for a day that did not decode, so that the days after it
// keep their indexes; Check refuses it at its index, a field already
// reported and so skipped.
const badDay time.Weekday = -1

// holidaySet is a named set of holidays as written: an iCalendar file, and
// explicit dates, which win over the file's.
type holidaySet struct {
	file      string // as written; "" if none
	fileField string
	dates     map[calendar.Date]string
	halfDays  map[calendar.Date]calendar.Clock
	// read is set once the file has been read, into data or failing.
	read   bool
	failed bool
	path   string // the file, relative to the configuration's directory
	data   []byte
	// parsed holds the file's holidays by the zone they were read in (a
	// missing value: the file did not parse in it); reported the errors
	// given so far, so that a file used in two zones is not blamed twice
	// for one fault.
	parsed   map[string]*calendar.Holidays
	reported map[string]bool
}

// holidayRef is a schedule's or cycle's holidays key: the set's name
// ("" for none) and the field it is written at.
type holidayRef struct{ name, field string }

// calendars decodes and checks the calendars section into cs.
func calendars(v value, cs *Calendars) {
	d := v.d
	sets := map[string]*holidaySet{}
	var scheduleRefs, cycleRefs []holidayRef
	v.object(
		optional("desks", func(v value) {
			for _, item := range v.items() {
				cs.Desks = append(cs.Desks, desk(item))
			}
		}),
		optional("holidays", func(v value) { holidaySets(v, sets) }),
		optional("schedules", func(v value) {
			for _, item := range v.items() {
				s, ref := schedule(item)
				cs.Schedules = append(cs.Schedules, s)
				scheduleRefs = append(scheduleRefs, ref)
			}
		}),
		optional("work_cycles", func(v value) {
			for _, item := range v.items() {
				w, ref := workCycle(item)
				cs.WorkCycles = append(cs.WorkCycles, w)
				cycleRefs = append(cycleRefs, ref)
			}
		}),
	)
	hr := holidayReader{d: d, sets: sets, complete: !d.skip(join(v.path, "holidays"))}
	for i := range cs.Schedules {
		s := &cs.Schedules[i]
		s.Holidays, s.HalfDays = hr.holidays(scheduleRefs[i], s.Zone)
	}
	for i := range cs.WorkCycles {
		w := &cs.WorkCycles[i]
		w.Holidays, w.HalfDays = hr.holidays(cycleRefs[i], w.Zone)
	}
	cv := &validator{file: d.file, place: d.place, skip: d.skip}
	for _, name := range slices.Sorted(maps.Keys(sets)) {
		cv.name(join(join(v.path, "holidays"), name), "a holiday set", name)
	}
	d.errs = append(d.errs, cv.errs...)
}

func desk(v value) Desk {
	var dk Desk
	v.object(
		required("name", setStr(&dk.Name)),
		required("zone", setZone(&dk.Zone)),
	)
	return dk
}

func schedule(v value) (calendar.Schedule, holidayRef) {
	var s calendar.Schedule
	var ref holidayRef
	v.object(
		required("name", setStr(&s.Name)),
		required("zone", setZone(&s.Zone)),
		optional("days", func(v value) { s.Days = days(v) }),
		optional("windows", func(v value) {
			items := v.items()
			if len(items) == 0 && v.kind == sequence {
				v.fail("list at least one window, or leave windows out for all day")
			}
			for _, item := range items {
				s.Windows = append(s.Windows, window(item))
			}
		}),
		optional("holidays", setHolidayRef(&ref)),
	)
	return s, ref
}

// Presets of work_cycles' preset key.
const (
	preset247 = "24/7"
	preset246 = "24/6"
)

func workCycle(v value) (WorkCycle, holidayRef) {
	var w WorkCycle
	var ref holidayRef
	var preset, maintenance, phasesGiven, daysGiven *value
	keep := func(dst **value) func(value) { return func(v value) { *dst = &v } }
	v.object(
		required("name", setStr(&w.Name)),
		required("where", func(v value) { w.Where = selectors(v) }),
		required("zone", setZone(&w.Zone)),
		optional("days", func(v value) { daysGiven = &v; w.Days = days(v) }),
		optional("phases", func(v value) { phasesGiven = &v; w.Phases = phases(v) }),
		optional("preset", keep(&preset)),
		optional("maintenance", keep(&maintenance)),
		optional("holidays", setHolidayRef(&ref)),
	)
	phasesField := join(v.path, "phases")
	if preset == nil {
		if maintenance != nil {
			maintenance.fail("belongs to a %s preset: the day of the week the cycle is closed", preset246)
		}
		if phasesGiven == nil && !v.d.skip(v.path) {
			v.d.errorAt(v.at, phasesField, "required: give the phases, or a preset (%s or %s)", preset247, preset246)
			v.d.bad[phasesField] = true
		}
		return w, ref
	}
	for _, given := range []struct {
		key string
		v   *value
	}{{"phases", phasesGiven}, {"days", daysGiven}} {
		if given.v != nil {
			given.v.fail("a preset gives the phases and days: drop %s, or the preset", given.key)
		}
	}
	name, ok := preset.str()
	switch {
	case !ok:
	case name == preset247:
		if maintenance != nil {
			maintenance.fail("belongs to a %s preset, not %s", preset246, preset247)
		}
		w.WorkCycle = calendar.AroundTheClock(w.Name, w.Zone)
		return w, ref
	case name == preset246 && maintenance == nil:
		preset.fail("%s needs maintenance: the day of the week the cycle is closed, like sat", preset246)
	case name == preset246:
		if day, ok := weekday(*maintenance); ok {
			w.WorkCycle = calendar.SixDays(w.Name, w.Zone, day)
			return w, ref
		}
	default:
		preset.fail("unknown preset %q (known: %s, %s)", name, preset247, preset246)
	}
	// Without its preset, the cycle has no phases: that is this error's
	// doing, not another.
	v.d.bad[phasesField] = true
	return w, ref
}

// setZone returns a decode function that sets *dst to the zone the value
// names, an IANA name such as Europe/London.
func setZone(dst **time.Location) func(value) {
	return func(v value) {
		name, ok := v.str()
		switch {
		case !ok:
			return
		case name == "":
			v.fail("must not be empty")
			return
		case name == "Local":
			v.fail(`"Local" is the zone of the machine the gateway runs on: name the zone (like Europe/London)`)
			return
		}
		loc, err := time.LoadLocation(name)
		if err != nil {
			v.fail("unknown time zone %q", name)
			return
		}
		*dst = loc
	}
}

// days decodes a list of days of the week. A day that does not decode is
// kept as badDay.
func days(v value) []time.Weekday {
	items := v.items()
	if len(items) == 0 && v.kind == sequence {
		v.fail("list at least one day, or leave days out for every day")
	}
	var ds []time.Weekday
	for _, item := range items {
		d, ok := weekday(item)
		if !ok {
			d = badDay
		}
		ds = append(ds, d)
	}
	return ds
}

// weekday decodes a day of the week: mon to sun, or its full name, in any
// case.
func weekday(v value) (time.Weekday, bool) {
	s, ok := v.str()
	if !ok {
		return badDay, false
	}
	d, err := calendar.ParseWeekday(s)
	if err != nil {
		v.fail("%v", err)
		return badDay, false
	}
	return d, true
}

// window decodes a window, "HH:MM-HH:MM". One that does not decode is the
// zero Window, which Check refuses at its index, a field already reported.
func window(v value) calendar.Window {
	s, ok := v.str()
	if !ok {
		return calendar.Window{}
	}
	from, to, found := strings.Cut(s, "-")
	if !found {
		v.fail("%q is not a window: want HH:MM-HH:MM, like 08:00-16:30", s)
		return calendar.Window{}
	}
	start, err := calendar.ParseClock(strings.TrimSpace(from))
	if err != nil {
		v.fail("start: %v", err)
		return calendar.Window{}
	}
	end, err := calendar.ParseClock(strings.TrimSpace(to))
	if err != nil {
		v.fail("end: %v", err)
		return calendar.Window{}
	}
	return calendar.Window{Start: start, End: end}
}

// phases decodes a mapping of phases to their starts, in the mapping's
// order. Each phase is placed, for Check's errors, under its name as
// Phase.String gives it too; one that does not decode is left out.
func phases(v value) []calendar.PhaseStart {
	es, _ := v.entries("a mapping of phases (bod, intraday, eod, closed) to the clocks they start at")
	seen := map[calendar.Phase]string{}
	var ps []calendar.PhaseStart
	for _, e := range es {
		p, err := calendar.ParsePhase(e.key)
		if err != nil {
			v.d.errorAt(e.at, e.val.path, "unknown phase %q (known: bod, intraday, eod, closed)", e.key)
			v.d.bad[e.val.path] = true
			continue
		}
		if first, dup := seen[p]; dup {
			v.d.errorAt(e.at, e.val.path, "%s is already given (%s)", p, first)
			v.d.bad[e.val.path] = true
			continue
		}
		seen[p] = e.val.path
		s, ok := e.val.str()
		if !ok {
			continue
		}
		at, err := calendar.ParseClock(s)
		if err != nil {
			e.val.fail("%v", err)
			continue
		}
		v.d.places[join(v.path, p.String())] = e.val.at
		ps = append(ps, calendar.PhaseStart{Phase: p, At: at})
	}
	return ps
}

// selectors decodes a work cycle's where.
func selectors(v value) map[string][]string {
	var m map[string][]string
	for name, vals := range where(v) {
		if m == nil {
			m = map[string][]string{}
		}
		m[name] = vals
	}
	return m
}

func setHolidayRef(ref *holidayRef) func(value) {
	return func(v value) {
		ref.field = v.path
		ref.name, _ = v.str()
	}
}

// holidaySets decodes the holiday sets by name into sets.
func holidaySets(v value, sets map[string]*holidaySet) {
	es, _ := v.entries("a mapping of holiday set names to their dates")
	for _, e := range es {
		e.val.placeAt(e.at)
		hs := &holidaySet{}
		halfAt := map[calendar.Date]value{}
		e.val.object(
			optional("file", func(v value) {
				hs.fileField = v.path
				if hs.file, _ = v.str(); hs.file == "" && v.kind == scalar {
					v.fail("must not be empty")
				}
			}),
			optional("dates", func(v value) {
				hs.dates = map[calendar.Date]string{}
				for date, val := range dates(v) {
					hs.dates[date], _ = val.str()
				}
			}),
			optional("half_days", func(v value) {
				hs.halfDays = map[calendar.Date]calendar.Clock{}
				for date, val := range dates(v) {
					s, ok := val.str()
					if !ok {
						continue
					}
					c, err := calendar.ParseClock(s)
					if err != nil {
						val.fail("%v", err)
						continue
					}
					hs.halfDays[date], halfAt[date] = c, val
				}
			}),
		)
		for date, val := range halfAt {
			if _, ok := hs.dates[date]; ok {
				val.fail("%s is also a holiday in dates", date)
			}
		}
		sets[e.key] = hs
	}
}

// dates decodes a mapping whose keys are dates, YYYY-MM-DD, returning
// each date's value. A key that is not a date is reported.
func dates(v value) map[calendar.Date]value {
	es, _ := v.entries("a mapping of dates (YYYY-MM-DD) to values")
	m := map[calendar.Date]value{}
	for _, e := range es {
		date, err := calendar.ParseDate(e.key)
		if err != nil {
			v.d.errorAt(e.at, e.val.path, "%v", err)
			v.d.bad[e.val.path] = true
			continue
		}
		m[date] = e.val
	}
	return m
}

// holidayReader gives schedules and cycles the dates of the holiday sets
// they name, reading each set's file once and parsing it once for each
// zone it is used in. complete says whether every set decoded, so that
// a name it does not know is unknown.
type holidayReader struct {
	d        *decoder
	sets     map[string]*holidaySet
	complete bool
}

// holidays returns the dates of the set ref names, in zone: the file's,
// with the set's own dates over them; nil maps when there are none.
func (r *holidayReader) holidays(ref holidayRef, zone *time.Location) (map[calendar.Date]string, map[calendar.Date]calendar.Clock) {
	if ref.name == "" {
		return nil, nil
	}
	hs, ok := r.sets[ref.name]
	if !ok {
		if r.complete {
			known := "none are defined"
			if len(r.sets) > 0 {
				known = "known: " + strings.Join(slices.Sorted(maps.Keys(r.sets)), ", ")
			}
			r.errorIn(ref.field, "unknown holiday set %q (%s)", ref.name, known)
		}
		r.d.bad[ref.field] = true
		return nil, nil
	}
	dates, halfDays := map[calendar.Date]string{}, map[calendar.Date]calendar.Clock{}
	if hs.file != "" {
		h := r.file(hs, zone)
		if h == nil {
			// What Check would say of the dates is moot until the
			// file is read.
			r.d.bad[ref.field] = true
			return nil, nil
		}
		maps.Copy(dates, h.Dates)
		maps.Copy(halfDays, h.HalfDays)
	}
	for date, name := range hs.dates {
		delete(halfDays, date)
		dates[date] = name
	}
	for date, c := range hs.halfDays {
		delete(dates, date)
		halfDays[date] = c
	}
	if len(dates) == 0 {
		dates = nil
	}
	if len(halfDays) == 0 {
		halfDays = nil
	}
	return dates, halfDays
}

// icsLine is how calendar.ParseICS's errors start.
var icsLine = regexp.MustCompile(`^line (\d+): `)

// file returns the holidays of hs's file in zone, or nil when it cannot
// be read or parsed (or zone is not known), which is reported at the
// file key. The file is relative to the configuration's directory.
func (r *holidayReader) file(hs *holidaySet, zone *time.Location) *calendar.Holidays {
	if !hs.read {
		hs.read = true
		hs.path = hs.file
		if !filepath.IsAbs(hs.path) {
			hs.path = filepath.Join(filepath.Dir(r.d.file), hs.path)
		}
		var err error
		if hs.data, err = readICS(hs.path); err != nil {
			// The message names the file already.
			var pe *os.PathError
			if errors.As(err, &pe) {
				err = pe.Err
			}
			r.errorIn(hs.fileField, "cannot read %s: %v", hs.path, err)
			hs.failed = true
		}
		hs.parsed, hs.reported = map[string]*calendar.Holidays{}, map[string]bool{}
	}
	if hs.failed || zone == nil {
		return nil
	}
	if h, ok := hs.parsed[zone.String()]; ok {
		return h
	}
	h, err := calendar.ParseICS(hs.data, zone)
	if err != nil {
		msg := hs.path + ": " + err.Error()
		if m := icsLine.FindStringSubmatch(err.Error()); m != nil {
			msg = hs.path + ":" + m[1] + ": " + err.Error()[len(m[0]):]
		}
		if !hs.reported[msg] {
			hs.reported[msg] = true
			r.errorIn(hs.fileField, "%s", msg)
		}
		hs.parsed[zone.String()] = nil
		return nil
	}
	hs.parsed[zone.String()] = &h
	return &h
}

// maxICS is the largest iCalendar file read: an exchange's holidays for
// years take some kilobytes, and a path mistyped as a device or a log
// must not fill the gateway's memory.
const maxICS = 4 << 20

// readICS reads an iCalendar file of at most maxICS bytes.
func readICS(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxICS+1))
	switch {
	case err != nil:
		return nil, err
	case len(data) > maxICS:
		return nil, fmt.Errorf("larger than %d MiB", maxICS>>20)
	}
	return data, nil
}

// errorIn records an error at field's place, and marks the field bad.
func (r *holidayReader) errorIn(field, format string, args ...any) {
	line, col := r.d.place(field)
	r.d.errorAt(place{line, col}, field, format, args...)
	r.d.bad[field] = true
}

// calendars checks the calendars section: names, zones, each work
// cycle's where, and each schedule and cycle by its Check, which prepares
// it.
func (v *validator) calendars(cs *Calendars) {
	desks := map[string]string{}
	for i, dk := range cs.Desks {
		f := index("calendars.desks", i)
		v.unique(f+".name", "desk", dk.Name, desks, f)
		if dk.Zone == nil {
			v.errorf(f+".zone", "missing")
		}
	}
	schedules := map[string]string{}
	for i := range cs.Schedules {
		s := &cs.Schedules[i]
		f := index("calendars.schedules", i)
		v.calendarName(f+".name", "schedule", s.Name, schedules, f)
		v.calendarCheck(f, s.Check(), nil)
	}
	cycles := map[string]string{}
	for i := range cs.WorkCycles {
		w := &cs.WorkCycles[i]
		f := index("calendars.work_cycles", i)
		v.calendarName(f+".name", "work cycle", w.Name, cycles, f)
		if len(w.Where) == 0 {
			v.errorf(f+".where", "name at least one attribute, and the values the entities following the cycle have")
		}
		for _, name := range slices.Sorted(maps.Keys(w.Where)) {
			switch {
			case name == "":
				v.errorf(f+".where", "an attribute selector needs the attribute's name")
			case len(w.Where[name]) == 0:
				v.errorf(join(f+".where", name), "list at least one value")
			}
		}
		v.calendarCheck(f, w.Check(), w.Phases)
	}
}

// calendarName checks the name of a schedule or a work cycle: written as
// a rule's, and unique among those of its kind.
func (v *validator) calendarName(field, kind, name string, seen map[string]string, where string) {
	v.name(field, "a "+kind, name)
	if actionName.MatchString(name) && len(name) <= maxActionName {
		v.unique(field, kind, name, seen, where)
	}
}

// checkPhase is how Check names a phase in its fields and messages.
var checkPhase = regexp.MustCompile(`phases\[(\d+)\]`)

// calendarCheck records the errors of a schedule's or cycle's Check, at
// field f, each at the field it names: a window or a day by its index, a
// phase by its name (ps are the cycle's phases), and a holiday or a half
// day at the holidays key that brought it.
func (v *validator) calendarCheck(f string, err error, ps []calendar.PhaseStart) {
	if err == nil {
		return
	}
	errs := []error{err}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	}
	phaseName := func(s string) string {
		i, _ := strconv.Atoi(checkPhase.FindStringSubmatch(s)[1])
		if i < len(ps) {
			return ps[i].Phase.String()
		}
		return s
	}
	for _, e := range errs {
		field, msg, _ := strings.Cut(e.Error(), ": ")
		msg = checkPhase.ReplaceAllStringFunc(msg, phaseName)
		switch {
		case strings.HasPrefix(field, "holidays["):
			msg = "holiday " + strings.TrimSuffix(strings.TrimPrefix(field, "holidays["), "]") + ": " + msg
			field = f + ".holidays"
		case strings.HasPrefix(field, "halfDays["):
			msg = "half day " + strings.TrimSuffix(strings.TrimPrefix(field, "halfDays["), "]") + ": " + msg
			field = f + ".holidays"
		case checkPhase.MatchString(field):
			if name := phaseName(field); name != field {
				field = join(f+".phases", name)
			} else {
				field = f + "." + field
			}
		default:
			field = f + "." + field
		}
		v.errorf(field, "%s", msg)
	}
}

// UnknownSchedule returns the first schedule a rule names that cs does
// not define, with the rule's field that names it ("schedule",
// "active.schedules[1]"); ok is false when it names none unknown.
func (cs *Calendars) UnknownSchedule(d *rules.Def) (field, name string, ok bool) {
	if d.Schedule != "" {
		if _, found := cs.Schedule(d.Schedule); !found {
			return "schedule", d.Schedule, true
		}
	}
	if d.Active != nil {
		for i, s := range d.Active.Schedules {
			if _, found := cs.Schedule(s); !found && s != "" {
				return index("active.schedules", i), s, true
			}
		}
	}
	return "", "", false
}

// KnownSchedules lists the schedules' names, for an error about one that
// is not among them.
func (cs *Calendars) KnownSchedules() string {
	if len(cs.Schedules) == 0 {
		return "none are defined"
	}
	names := make([]string, len(cs.Schedules))
	for i := range cs.Schedules {
		names[i] = cs.Schedules[i].Name
	}
	return "known: " + strings.Join(names, ", ")
}

// scheduleRefs checks that the rules name only schedules the calendars
// define.
func (v *validator) scheduleRefs(c *Config) {
	for i, d := range c.Rules {
		if field, name, bad := c.Calendars.UnknownSchedule(&d); bad {
			v.errorf(index("rules", i)+"."+field, "unknown schedule %q (%s)", name, c.Calendars.KnownSchedules())
		}
	}
}
