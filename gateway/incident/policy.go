package incident

import (
	"time"

	"github.com/watchfloor/watchfloor/rules"
)

// Policy is how a Book handles incidents, from the configuration's
// incidents section. The zero value of each field is its default.
type Policy struct {
	// ReopenWindow is how long a resolved incident reopens when its cell
	// turns bad again, instead of a new incident opening (DefaultReopen).
	ReopenWindow time.Duration
	// Notify names the actions told of every incident's changes.
	Notify []string
	// Escalations are the escalation policies by name; a rule names the
	// one its incidents follow. Default is the one for incidents whose
	// rule names none and for raised ones ("" for none).
	Escalations map[string]EscalationPolicy
	Default     string
	// Clients are the clients by name: their update cadence and how
	// notices reach them. A client not listed gets DefaultUpdateEvery and
	// no notice action.
	Clients map[string]Client
	// UpdateEvery is the client update cadence for clients not listed
	// (DefaultUpdateEvery).
	UpdateEvery time.Duration
	// Templates draft the notices, by kind.
	Templates map[NoticeKind]Template
	// SnoozeWarning is how soon before expiring a snooze is listed as
	// about to expire (DefaultSnoozeWarning).
	SnoozeWarning time.Duration
	// MaxSnooze is the longest a snooze may last (DefaultMaxSnooze).
	MaxSnooze time.Duration
}

// Policy defaults.
const (
	DefaultReopen        = 10 * time.Minute
	DefaultUpdateEvery   = 15 * time.Minute
	DefaultSnoozeWarning = 15 * time.Minute
	DefaultMaxSnooze     = 7 * 24 * time.Hour
)

// EscalationPolicy is a chain of levels. Level i fires when the incident
// has been critical and unacknowledged for After (counted from when it
// became critical); levels fire in order, each at most once per
// incident.
type EscalationPolicy struct {
	Levels []Level
}

// Level is one step of an escalation.
type Level struct {
	After time.Duration
	// Notify names the actions the level runs (the manager's mail, a
	// pager).
	Notify []string
}

// Client is one client of the desk.
type Client struct {
	// UpdateEvery is how often the client is updated while an incident
	// impacts it.
	UpdateEvery time.Duration
	// Via is the action that sends it notices ("" for none: notices are
	// recorded as sent by hand).
	Via string
}

// Template drafts one kind of notice; Subject and Body are Go
// text/templates over the incident (see Draft).
type Template struct {
	Subject, Body string
}

// Signal is a rule's verdict on a path, as a Book receives it: the
// transition of a cell (or finding) with what the rule says about
// incidents.
type Signal struct {
	Rule     string
	Path     string
	Headline bool
	Probe    string
	Entity   string
	// Client is the value of the rule's client attribute on the entity;
	// Attrs are the entity's attributes.
	Client string
	Attrs  map[string]string
	// Phase is the phase of the entity's work cycle at Time, "" if it
	// follows none.
	Phase string
	// heldUntil is, for a signal the Book holds, when the maintenance
	// window that holds it ends; released, that it opened its incident at
	// heldUntil, and is kept until the incident is seen open.
	heldUntil time.Time
	released  bool
	// Old and New are the path's severity before and after; Worst the
	// worst it was in between (a short spike coalesced away still opens
	// an incident).
	Old, New, Worst rules.Severity
	Value           string
	Time            time.Time
	// Open is the rule's incident settings; nil for a rule that opens
	// none.
	Open *rules.IncidentDef
}
