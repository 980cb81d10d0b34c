// Package maintenance holds maintenance windows as the gateway stores and
// shows them: planned time, one-off or recurring, in a zone, for entities
// chosen by name or by attribute. During a window the entities' severities
// still show, but nothing opens incidents, escalates or alerts for them.
//
// Window is a window as written (in the configuration or through the
// API); Compile checks one and makes its calendar.Maintenance; a Set of
// compiled windows answers which are active for an entity, and when the
// next one starts or ends. The package is pure: it does no I/O and reads
// no clock.
package maintenance

import (
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"time"
	_ "time/tzdata" // zone names resolve where the machine has no zoneinfo

	"github.com/watchfloor/watchfloor/rules/calendar"
)

// Sources of a window.
const (
	SourceConfig = "config" // the configuration file's maintenance section
	SourceAPI    = "api"    // planned through the API, kept in the store
)

// WallLayout is how a window's Start and End are written: a wall time in
// its zone.
const WallLayout = "2006-01-02T15:04"

// MaxIDLength bounds a window's ID.
const MaxIDLength = 128

// Window is a maintenance window as stored and shown.
//
// A window is one-off (Start and End) or recurring (Days, and From to To
// each of those days; Start and End then optionally bound the recurrence).
// It covers the entities named in Entities, and those whose attributes
// meet Where (each attribute named must have one of its values): either
// or both, but at least one.
type Window struct {
	// ID names the window: letters, digits, '.', '_' and '-'.
	ID string `json:"id"`
	// Reason says why: "End-of-Day patching".
	Reason string `json:"reason"`
	// PlannedBy is who planned it ("config" for the configuration's),
	// Planned when; Updated and UpdatedBy the last edit, if any.
	PlannedBy string    `json:"plannedBy"`
	Planned   time.Time `json:"planned,omitzero"`
	Updated   time.Time `json:"updated,omitzero"`
	UpdatedBy string    `json:"updatedBy,omitempty"`
	// Zone is an IANA zone name, whose wall clock Start, End, From and
	// To are on.
	Zone string `json:"zone"`
	// Start and End are wall times, "2026-12-05T08:00".
	Start string `json:"start,omitempty"`
	End   string `json:"end,omitempty"`
	// Days ("mon", …; none is every day) and From and To ("22:00") make
	// the window recurring. To at or before From crosses midnight.
	Days []string `json:"days,omitempty"`
	From string   `json:"from,omitempty"`
	To   string   `json:"to,omitempty"`
	// Entities are entity names; Where selects entities by attribute.
	Entities []string            `json:"entities,omitempty"`
	Where    map[string][]string `json:"where,omitempty"`
	// Source is SourceConfig or SourceAPI.
	Source string `json:"source"`
}

// Recurring reports whether the window recurs: it has days or clocks.
func (w *Window) Recurring() bool { return len(w.Days) > 0 || w.From != "" || w.To != "" }

// FieldError is one problem with a window, at the field it names, as
// the JSON and the configuration write it: "reason", "days[2]", "where".
type FieldError struct {
	Field string
	Msg   string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Msg }

// Fields returns the FieldErrors in an error Compile returned.
func Fields(err error) []*FieldError {
	var out []*FieldError
	var errs []error
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	} else if err != nil {
		errs = []error{err}
	}
	for _, e := range errs {
		var fe *FieldError
		if errors.As(e, &fe) {
			out = append(out, fe)
		}
	}
	return out
}

var idPattern = regexp.MustCompile(`^[A-Za-z0-9._-]+$`)

// CheckID reports whether id can name a window.
func CheckID(id string) error {
	switch {
	case id == "":
		return errors.New("required")
	case len(id) > MaxIDLength:
		return fmt.Errorf("longer than %d characters", MaxIDLength)
	case !idPattern.MatchString(id):
		return fmt.Errorf("%q: use letters, digits, '.', '_' and '-'", id)
	}
	return nil
}

// Compiled is a window checked and ready to answer. It is not changed
// once made and is safe for concurrent use.
type Compiled struct {
	w Window
	m calendar.Maintenance
}

// Compile checks w and prepares it. The error lists every problem, each a
// *FieldError (see Fields).
func Compile(w Window) (*Compiled, error) {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, &FieldError{Field: field, Msg: fmt.Sprintf(format, args...)})
	}
	if err := CheckID(w.ID); err != nil {
		bad("id", "%v", err)
	}
	if strings.TrimSpace(w.Reason) == "" {
		bad("reason", "required: say why, such as End-of-Day patching")
	}
	switch w.Source {
	case SourceConfig, SourceAPI:
	default:
		bad("source", "%q: want %s or %s", w.Source, SourceConfig, SourceAPI)
	}
	c := &Compiled{w: w}
	m := &c.m
	switch w.Zone {
	case "":
		bad("zone", "required: an IANA zone name, such as Europe/London")
	case "Local":
		bad("zone", `"Local" is the zone of the machine the gateway runs on: name the zone (like Europe/London)`)
	default:
		loc, err := time.LoadLocation(w.Zone)
		if err != nil {
			bad("zone", "unknown time zone %q", w.Zone)
		}
		m.Zone = loc
	}
	wall := func(field, s string) time.Time {
		if s == "" || m.Zone == nil {
			return time.Time{}
		}
		t, err := calendar.ParseWallTime(s, m.Zone)
		if err != nil {
			bad(field, "%v", err)
		}
		return t
	}
	m.Start, m.End = wall("start", w.Start), wall("end", w.End)
	if w.Recurring() {
		for i, d := range w.Days {
			wd, err := calendar.ParseWeekday(d)
			if err != nil {
				bad(fmt.Sprintf("days[%d]", i), "%v", err)
				wd = -1 // kept, so the days after it keep their indexes
			}
			m.Days = append(m.Days, wd)
		}
		clock := func(field, s string) calendar.Clock {
			if s == "" {
				bad(field, `required for a recurring window: a clock such as "22:00"`)
				return calendar.Clock{}
			}
			c, err := calendar.ParseClock(s)
			if err != nil {
				bad(field, "%v", err)
			}
			return c
		}
		m.Window = calendar.Window{Start: clock("from", w.From), End: clock("to", w.To)}
	} else {
		if w.Start == "" {
			bad("start", "required: a one-off window's start, such as 2026-12-05T08:00 (or days, from and to for a recurring one)")
		}
		if w.End == "" {
			bad("end", "required: a one-off window's end, such as 2026-12-06T18:00")
		}
	}
	// The calendar judges the rest: end before start, an empty window,
	// a day given twice. A field reported already is not judged again.
	reported := map[string]bool{}
	for _, e := range errs {
		reported[e.(*FieldError).Field] = true
	}
	if m.Zone == nil {
		// Without the zone, the wall times were not read.
		reported["start"], reported["end"] = true, true
	}
	if err := m.Check(); err != nil {
		for _, e := range unjoin(err) {
			field, msg, _ := strings.Cut(e.Error(), ": ")
			if field == "window" {
				if reported["from"] || reported["to"] {
					continue
				}
				field = "to"
			}
			if !reported[field] {
				bad(field, "%s", msg)
			}
		}
	}
	if len(w.Entities) == 0 && len(w.Where) == 0 {
		bad("entities", "name at least one entity, or select them by attribute with where")
	}
	seen := map[string]int{}
	for i, e := range w.Entities {
		f := fmt.Sprintf("entities[%d]", i)
		if e == "" {
			bad(f, "must not be empty")
		} else if j, dup := seen[e]; dup {
			bad(f, "%q is already listed (entities[%d])", e, j)
		}
		seen[e] = i
	}
	for _, name := range slices.Sorted(maps.Keys(w.Where)) {
		switch {
		case name == "":
			bad("where", "an attribute selector needs the attribute's name")
		case len(w.Where[name]) == 0:
			bad("where", "attribute %q: list at least one value", name)
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	c.w.Days, c.w.Entities, c.w.Where = slices.Clone(w.Days), slices.Clone(w.Entities), cloneWhere(w.Where)
	return c, nil
}

func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

func cloneWhere(m map[string][]string) map[string][]string {
	if m == nil {
		return nil
	}
	out := make(map[string][]string, len(m))
	for k, v := range m {
		out[k] = slices.Clone(v)
	}
	return out
}

// Window returns the window as written. Its slices and map are the
// Compiled's own: do not change them.
func (c *Compiled) Window() Window { return c.w }

// ID is the window's ID.
func (c *Compiled) ID() string { return c.w.ID }

// Active says whether the window is in force at t, whatever it covers.
func (c *Compiled) Active(t time.Time) bool { return c.m.Active(t) }

// Next is the first instant after t at which Active changes, and what to;
// ok is false if it does not (see calendar.Maintenance.Next).
func (c *Compiled) Next(t time.Time) (at time.Time, active, ok bool) { return c.m.Next(t) }

// Covers says whether the window covers the entity: it names it, or its
// attributes meet the window's where.
func (c *Compiled) Covers(entity string, attrs map[string]string) bool {
	return slices.Contains(c.w.Entities, entity) || c.selects(attrs)
}

func (c *Compiled) selects(attrs map[string]string) bool {
	if len(c.w.Where) == 0 {
		return false
	}
	for name, vals := range c.w.Where {
		v, ok := attrs[name]
		if !ok || !slices.Contains(vals, v) {
			return false
		}
	}
	return true
}
