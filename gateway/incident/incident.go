package incident

import (
	"errors"
	"time"

	"github.com/watchfloor/watchfloor/rules"
)

// State is where an incident is in its life.
type State string

// States. An open incident has a problem present, or waits for a person
// to say it is over; a resolved one is over but may still reopen (within
// the policy's reopen window) and be reported on; a closed one is done
// with: a manager closed it, and nothing reopens it.
const (
	Open     State = "open"
	Resolved State = "resolved"
	Closed   State = "closed"
)

// Incident is one tracked problem. A Book hands out copies: changing one
// changes nothing.
type Incident struct {
	// ID is stable and meant for people: "INC-20261201-0042", the UTC
	// date it opened and its number that day.
	ID string `json:"id"`
	// Rule and Path say what opened it: the rule and the cell (or the
	// dataview, row or probe a finding is about). A raised incident has no
	// rule and may have no path.
	Rule     string `json:"rule,omitempty"`
	Path     string `json:"path,omitempty"`
	Headline bool   `json:"headline,omitempty"`
	Probe    string `json:"probe,omitempty"`
	Entity   string `json:"entity,omitempty"`
	// Client is the client it concerns: the value of the entity
	// attribute the rule names, or the raiser's.
	Client string `json:"client,omitempty"`
	// Attrs are its entity's attributes when it opened (a client raising
	// one, the client's scope), which decide who sees it.
	Attrs map[string]string `json:"attrs,omitempty"`
	// Maintenance is the maintenance window its entity is in now, ""
	// when none: it alerts and escalates no more until the window ends.
	Maintenance      string    `json:"maintenance,omitempty"`
	MaintenanceUntil time.Time `json:"maintenanceUntil,omitzero"`
	// Phase is the phase of its entity's work cycle when it opened
	// (bod, intraday, eod, closed), "" for an entity that follows none.
	Phase string `json:"phase,omitempty"`
	Title string `json:"title"`
	State State  `json:"state"`
	// Severity is the cell's now (ok once it has recovered); Peak the
	// worst it has been.
	Severity rules.Severity `json:"severity"`
	Peak     rules.Severity `json:"peak"`
	Value    string         `json:"value,omitempty"`
	Opened   time.Time      `json:"opened"`
	Updated  time.Time      `json:"updated"`
	// Recovered is when the cell last returned to ok, for an incident
	// that waits for a person to resolve it.
	Recovered time.Time `json:"recovered,omitzero"`
	Resolved  time.Time `json:"resolved,omitzero"`
	Closed    time.Time `json:"closed,omitzero"`
	// ReopenUntil is, for a resolved incident a rule opened, when its cell
	// stops reopening it: a recurrence after that is a new incident.
	ReopenUntil time.Time `json:"reopenUntil,omitzero"`
	Reopened    int       `json:"reopened,omitempty"`
	RaisedBy    string    `json:"raisedBy,omitempty"`
	// Manual: a person resolves it; the cell returning to ok does not.
	Manual   bool    `json:"manual,omitempty"`
	Ack      *Ack    `json:"ack,omitempty"`
	Assignee string  `json:"assignee,omitempty"`
	Snooze   *Snooze `json:"snooze,omitempty"`
	Impact   *Impact `json:"impact,omitempty"`
	// NextUpdate is when the client is next due an update, while the
	// incident is open and impacts a client; LastUpdate when one was last
	// recorded.
	NextUpdate time.Time `json:"nextUpdate,omitzero"`
	LastUpdate time.Time `json:"lastUpdate,omitzero"`
	// UpdateLate: NextUpdate has passed with no update recorded.
	UpdateLate bool       `json:"updateLate,omitempty"`
	Escalation Escalation `json:"escalation,omitzero"`
	// Notify names the actions told of its changes, beyond the policy's.
	Notify []string `json:"notify,omitempty"`
	Report Report   `json:"report,omitzero"`
	// Drafts are the notices drafted and not yet sent, by kind.
	Drafts map[NoticeKind]Notice `json:"drafts,omitempty"`
	// Alerted: people have been alerted to it (a snoozed cell's incident
	// may open silently), so its resolution is announced too.
	Alerted bool `json:"alerted,omitempty"`
	// Alerts counts the times it alerted everyone: a dashboard alerts
	// again when it grows, acknowledged or not.
	Alerts int `json:"alerts,omitempty"`
	// Events is the length of its timeline.
	Events int `json:"events"`
}

// Live reports whether the incident is open.
func (inc *Incident) Live() bool { return inc.State == Open }

// Acked reports whether someone has acknowledged it.
func (inc *Incident) Acked() bool { return inc.Ack != nil }

// UpdateOverdue reports whether a client update is due and late at now.
func (inc *Incident) UpdateOverdue(now time.Time) bool {
	return !inc.NextUpdate.IsZero() && !now.Before(inc.NextUpdate)
}

// Ack is an acknowledgement: someone has seen the incident and owns the
// response, up to Severity. A worse severity lifts it.
type Ack struct {
	By       string         `json:"by"`
	At       time.Time      `json:"at"`
	Comment  string         `json:"comment,omitempty"`
	Severity rules.Severity `json:"severity"`
}

// Snooze silences an incident or a cell: no alert, no escalation, until
// it expires, or (UntilChange) the severity changes from Severity.
type Snooze struct {
	// Target is the incident's ID or the cell's path.
	Target      string         `json:"target"`
	By          string         `json:"by"`
	Reason      string         `json:"reason"`
	At          time.Time      `json:"at"`
	Until       time.Time      `json:"until"`
	UntilChange bool           `json:"untilChange,omitempty"`
	Severity    rules.Severity `json:"severity"`
}

// Impact says how an incident affects its client.
type Impact struct {
	By          string    `json:"by"`
	At          time.Time `json:"at"`
	Description string    `json:"description,omitempty"`
}

// Escalation is how far an incident has escalated: Level levels of its
// policy have fired (the last at At), and the next fires at Next, while
// the incident stays critical and unacknowledged; Since is when it became
// critical, from which the levels count.
type Escalation struct {
	Policy string    `json:"policy,omitempty"`
	Since  time.Time `json:"since,omitzero"`
	Level  int       `json:"level,omitempty"`
	At     time.Time `json:"at,omitzero"`
	Next   time.Time `json:"next,omitzero"`
}

// Report is what people write about an incident for its client.
type Report struct {
	Cause      string `json:"cause,omitempty"`
	Remedy     string `json:"remedy,omitempty"`
	Preventive string `json:"preventive,omitempty"`
}

// NoticeKind is which notice to a client.
type NoticeKind string

// The notices a client gets: the problem when it starts, updates while it
// lasts, and that it is resolved.
const (
	ProblemNotice  NoticeKind = "problem"
	UpdateNotice   NoticeKind = "update"
	ResolvedNotice NoticeKind = "resolved"
)

// NoticeKinds lists them in order.
var NoticeKinds = []NoticeKind{ProblemNotice, UpdateNotice, ResolvedNotice}

// Notice is a message to a client: drafted from a template, edited by a
// person, sent through an action.
type Notice struct {
	Kind    NoticeKind `json:"kind"`
	Subject string     `json:"subject"`
	Body    string     `json:"body"`
	// Via is the action that sends it (the client's, by default).
	Via     string    `json:"via,omitempty"`
	Drafted time.Time `json:"drafted,omitzero"`
	Sent    time.Time `json:"sent,omitzero"`
	By      string    `json:"by,omitempty"`
}

// EventKind is what an event on a timeline records.
type EventKind string

// Timeline events.
const (
	EvOpened         EventKind = "opened"
	EvRaised         EventKind = "raised"
	EvSeverity       EventKind = "severity"
	EvRecovered      EventKind = "recovered" // the cell is ok; a person resolves
	EvResolved       EventKind = "resolved"
	EvReopened       EventKind = "reopened"
	EvClosed         EventKind = "closed"
	EvAcknowledged   EventKind = "acknowledged"
	EvUnacknowledged EventKind = "unacknowledged"
	EvAckLifted      EventKind = "ack-lifted" // the severity worsened past the acknowledgement
	EvAssigned       EventKind = "assigned"
	EvComment        EventKind = "comment"
	EvSnoozed        EventKind = "snoozed"
	EvUnsnoozed      EventKind = "unsnoozed"
	EvSnoozeEnded    EventKind = "snooze-ended"
	EvImpact         EventKind = "impact"
	EvUpdateDue      EventKind = "update-due"
	EvUpdateRecorded EventKind = "update-recorded"
	EvNoticeDrafted  EventKind = "notice-drafted"
	EvNoticeSent     EventKind = "notice-sent"
	EvNoticeFailed   EventKind = "notice-failed" // its action gave up: the client was not told
	EvEscalated      EventKind = "escalated"
	EvReport         EventKind = "report"
	// EvMaintenance: its entity is in a planned maintenance window, so it
	// alerts and escalates no more until the window ends.
	EvMaintenance      EventKind = "maintenance"
	EvMaintenanceEnded EventKind = "maintenance-ended"
)

// Event is one entry on an incident's timeline. Who is the person, or
// "" for the gateway itself (a rule, a deadline).
type Event struct {
	Incident string         `json:"incident"`
	Seq      int            `json:"seq"`
	Time     time.Time      `json:"time"`
	Who      string         `json:"who,omitempty"`
	Kind     EventKind      `json:"kind"`
	Severity rules.Severity `json:"severity,omitempty"`
	Value    string         `json:"value,omitempty"`
	Text     string         `json:"text,omitempty"`
	Notice   *Notice        `json:"notice,omitempty"`
}

// Errors of the Book's commands, tested with errors.Is.
var (
	ErrNotFound = errors.New("no such incident")
	// ErrState: the command does not apply to the incident as it is
	// (acknowledging a closed one, closing an open one).
	ErrState = errors.New("not in a state for that")
	// ErrInvalid: the command lacks what it needs (a snooze without a
	// reason or an expiry, a comment without text).
	ErrInvalid = errors.New("invalid")
)
