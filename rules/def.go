package rules

import (
	"encoding/json"
	"fmt"
	"time"
)

// Def is a rule as a back-line engineer writes it, in the gateway's
// configuration file or through the API. Compile checks it and turns it
// into a Rule.
//
// A rule is of one of four kinds, told apart by which fields it sets:
//
//   - a cell rule (Critical and/or Warning) judges the cells its Match
//     pattern selects: each level's condition is tried, critical first,
//     and a cell whose conditions do not hold is ok;
//   - a staleness rule (Stale) gives Severity to a dataview that has not
//     been sampled for that long while its probe is connected;
//   - an absence rule (Rows) gives Severity to each listed row that a
//     matching dataview has not had for For;
//   - a probe rule (ProbeDown) gives Severity to a probe that has been
//     disconnected for that long.
type Def struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	// Match is a path pattern: "/"-separated, percent-encoded segments,
	// where "*" is any one segment, a "*" inside a segment any run of
	// characters, and "**" any number of segments. A cell rule's pattern
	// selects cells (probe/entity/sampler/dataview/row/column, with "#" as
	// the row of headlines), a staleness or absence rule's dataviews
	// (probe/entity/sampler/dataview) and a probe rule's probes.
	Match string `json:"match"`
	// Where selects by entity attribute: every named attribute must have
	// one of the listed values.
	Where map[string]Values `json:"where,omitempty"`

	Critical *LevelDef `json:"critical,omitempty"`
	Warning  *LevelDef `json:"warning,omitempty"`

	Stale *Duration `json:"stale,omitempty"`
	Rows  []string  `json:"rows,omitempty"`
	// For is how long an absence rule's row must be missing before it
	// counts: a process restarting is not a process gone.
	For       Duration  `json:"for,omitempty"`
	ProbeDown *Duration `json:"probe_down,omitempty"`
	// Severity is what a staleness, absence or probe rule gives.
	Severity Severity `json:"severity,omitempty"`

	// Incident, if set, makes the rule open an incident when it gives
	// Incident.Open or worse.
	Incident *IncidentDef `json:"incident,omitempty"`

	// Active limits when the rule judges: outside it the rule gives no
	// severity and opens nothing, and a pending `for` starts again.
	Active *ActiveDef `json:"active,omitempty"`
	// Schedule is a short way to write active: {schedules: [Schedule]}.
	Schedule string `json:"schedule,omitempty"`
	// Phases give a cell rule's levels in some phases of its entity's
	// work cycle, by phase name (bod, intraday, eod, closed): in a phase
	// listed, that phase's levels are the rule's levels, in full; in the
	// others, Critical and Warning are.
	Phases map[string]*PhaseLevels `json:"phases,omitempty"`
}

// ActiveDef is when a rule judges: in one of Phases of the work cycle of
// the cell's entity, and while one of Schedules is active. A rule with
// both judges when both hold. An entity that follows no work cycle is in
// every phase: a rule limited to phases judges it all day, so that a
// missing work cycle shows rather than silences.
type ActiveDef struct {
	Phases    []string `json:"phases,omitempty"`
	Schedules []string `json:"schedules,omitempty"`
}

// PhaseLevels are a cell rule's levels in a phase.
type PhaseLevels struct {
	Critical *LevelDef `json:"critical,omitempty"`
	Warning  *LevelDef `json:"warning,omitempty"`
}

// ScheduleNames are the schedules the rule's activity depends on, in the
// order written.
func (d *Def) ScheduleNames() []string {
	var out []string
	if d.Schedule != "" {
		out = append(out, d.Schedule)
	}
	if d.Active != nil {
		out = append(out, d.Active.Schedules...)
	}
	return out
}

// IncidentDef says when a rule opens an incident, and how it goes on.
type IncidentDef struct {
	// Open is the least severity that opens one: warning or critical
	// (the default).
	Open Severity `json:"open,omitempty"`
	// Client is the entity attribute whose value is the incident's client
	// (default "client"; an entity without it has none).
	Client string `json:"client,omitempty"`
	// Manual: the incident waits for a person to resolve it when the cell
	// returns to ok, instead of resolving itself.
	Manual bool `json:"manual,omitempty"`
	// Impact marks the incident as impacting its client from the start,
	// so client updates fall due at once.
	Impact bool `json:"impact,omitempty"`
	// Escalation names the escalation policy its incidents follow (the
	// incidents section's default when empty).
	Escalation string `json:"escalation,omitempty"`
	// Notify names actions told of its incidents' changes, beyond those
	// every incident tells.
	Notify []string `json:"notify,omitempty"`
	// Title is the incident's title, a text/template over the signal
	// (default: the rule's description, or its name, and the path).
	Title string `json:"title,omitempty"`
}

// DefaultIncidentClient is the entity attribute that names an incident's
// client when a rule does not say.
const DefaultIncidentClient = "client"

// OpenAt is the least severity that opens an incident.
func (d *IncidentDef) OpenAt() Severity {
	if d.Open == Undefined {
		return Critical
	}
	return d.Open
}

// ClientAttr is the entity attribute that names the incident's client.
func (d *IncidentDef) ClientAttr() string {
	if d.Client == "" {
		return DefaultIncidentClient
	}
	return d.Client
}

// LevelDef is one level of a cell rule.
type LevelDef struct {
	// When is the condition, an expression (see the package
	// documentation for what it sees).
	When string `json:"when"`
	// For is how long When must hold without a break before the level
	// fires.
	For Duration `json:"for,omitempty"`
	// Clear, if set, is the condition that ends a firing level: it keeps
	// firing after When stops holding until Clear holds.
	Clear string `json:"clear,omitempty"`
	// KeepFiringFor keeps a firing level firing for this long after When
	// stops holding (and, with Clear, after Clear holds too).
	KeepFiringFor Duration `json:"keep_firing_for,omitempty"`
}

// Values are the accepted values of one attribute. In JSON a single value
// may be written as a string.
type Values []string

// UnmarshalJSON accepts a string or a list of strings. null is no values
// (which Compile refuses), not the empty string.
func (v *Values) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*v = nil
		return nil
	}
	var s string
	if json.Unmarshal(b, &s) == nil {
		*v = Values{s}
		return nil
	}
	var list []string
	if err := json.Unmarshal(b, &list); err != nil {
		return fmt.Errorf("want a string or a list of strings")
	}
	*v = list
	return nil
}

// Duration is a time.Duration written as text ("30s", "5m").
type Duration time.Duration

// MarshalText writes the duration as time.Duration.String does.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// UnmarshalText reads a duration such as "500ms", "30s" or "1h".
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("%q is not a duration (like 500ms, 30s or 5m)", b)
	}
	*d = Duration(v)
	return nil
}

// Kind is what a rule judges.
type Kind uint8

// Kinds of rule.
const (
	CellRule Kind = iota
	StaleRule
	AbsenceRule
	ProbeRule
)

var kindNames = [...]string{"cell", "stale", "absence", "probe"}

func (k Kind) String() string { return kindNames[k] }

// segments is how many path segments a rule of the kind selects.
func (k Kind) segments() int {
	switch k {
	case CellRule:
		return 6
	case ProbeRule:
		return 1
	}
	return 4
}
