package incident

import (
	"fmt"
	"maps"
	"strings"
	"time"

	"github.com/watchfloor/watchfloor/rules"
)

// The commands people give. Each takes who gives it and when, and
// returns the change (nothing changed is a zero Change), or an error
// wrapping ErrNotFound, ErrState or ErrInvalid. An incident the Book does
// not hold must be Adopted first.

// maxText bounds what a person writes in one comment, reason or field.
const maxText = 16 << 10

func (b *Book) find(id string) (*Incident, error) {
	inc, ok := b.live[id]
	if !ok {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	return inc, nil
}

func checkText(what, s string, required bool) error {
	switch {
	case required && strings.TrimSpace(s) == "":
		return fmt.Errorf("%w: %s is required", ErrInvalid, what)
	case len(s) > maxText:
		return fmt.Errorf("%w: %s is %d bytes, over the limit of %d", ErrInvalid, what, len(s), maxText)
	}
	return nil
}

func needOpen(inc *Incident, what string) error {
	if inc.State != Open {
		return fmt.Errorf("%w: %s is %s; only an open incident can be %s", ErrState, inc.ID, inc.State, what)
	}
	return nil
}

// Acknowledge records that who owns the response. It holds while the
// incident lasts, up to its severity now: a worse one lifts it.
func (b *Book) Acknowledge(id, who, comment string, now time.Time) (Change, error) {
	inc, err := b.find(id)
	if err != nil {
		return Change{}, err
	}
	if err := needOpen(inc, "acknowledged"); err != nil {
		return Change{}, err
	}
	if err := checkText("the comment", comment, false); err != nil {
		return Change{}, err
	}
	ch := b.begin(inc)
	sev := max(inc.Severity, rules.Warning)
	inc.Ack = &Ack{By: who, At: now, Comment: comment, Severity: sev}
	inc.Escalation.Next = time.Time{}
	ch.event(Event{Time: now, Who: who, Kind: EvAcknowledged, Severity: sev, Text: comment})
	ch.tell("changed", false, now)
	return ch.done(), nil
}

// Unacknowledge takes an acknowledgement back: the incident alerts and
// escalates again.
func (b *Book) Unacknowledge(id, who, comment string, now time.Time) (Change, error) {
	inc, err := b.find(id)
	if err != nil {
		return Change{}, err
	}
	switch {
	case inc.State == Closed:
		return Change{}, fmt.Errorf("%w: %s is closed", ErrState, id)
	case inc.Ack == nil:
		return Change{}, fmt.Errorf("%w: %s is not acknowledged", ErrState, id)
	}
	if err := checkText("the comment", comment, false); err != nil {
		return Change{}, err
	}
	ch := b.begin(inc)
	inc.Ack = nil
	ch.event(Event{Time: now, Who: who, Kind: EvUnacknowledged, Text: comment})
	if inc.State == Open && inc.Severity > rules.OK {
		ch.tell("changed", true, now)
		ch.escalateFrom(now)
	}
	return ch.done(), nil
}

// Assign gives the incident to a person ("" takes it back).
func (b *Book) Assign(id, who, to string, now time.Time) (Change, error) {
	inc, err := b.find(id)
	if err != nil {
		return Change{}, err
	}
	if inc.State == Closed {
		return Change{}, fmt.Errorf("%w: %s is closed", ErrState, id)
	}
	if err := checkText("the assignee", to, false); err != nil {
		return Change{}, err
	}
	if inc.Assignee == to {
		return Change{}, nil
	}
	ch := b.begin(inc)
	inc.Assignee = to
	text := "assigned to " + to
	if to == "" {
		text = "unassigned"
	}
	ch.event(Event{Time: now, Who: who, Kind: EvAssigned, Text: text})
	ch.tell("changed", false, now)
	return ch.done(), nil
}

// Comment adds a note to the timeline.
func (b *Book) Comment(id, who, text string, now time.Time) (Change, error) {
	inc, err := b.find(id)
	if err != nil {
		return Change{}, err
	}
	if err := checkText("the comment", text, true); err != nil {
		return Change{}, err
	}
	ch := b.begin(inc)
	ch.event(Event{Time: now, Who: who, Kind: EvComment, Text: text})
	return ch.done(), nil
}

// SnoozeSpec is a snooze as a person asks for it: always with a reason
// and an expiry, and optionally to end sooner when the severity changes.
type SnoozeSpec struct {
	Reason      string
	Until       time.Time
	UntilChange bool
}

func (b *Book) checkSnooze(sp SnoozeSpec, now time.Time) error {
	if err := checkText("the reason", sp.Reason, true); err != nil {
		return err
	}
	switch {
	case !sp.Until.After(now):
		return fmt.Errorf("%w: a snooze expires in the future", ErrInvalid)
	case sp.Until.Sub(now) > b.policy.MaxSnooze:
		return fmt.Errorf("%w: a snooze lasts at most %s", ErrInvalid, b.policy.MaxSnooze)
	}
	return nil
}

// Snooze silences the incident: no alert and no escalation until the
// snooze expires (or, UntilChange, its severity changes).
func (b *Book) Snooze(id, who string, sp SnoozeSpec, now time.Time) (Change, error) {
	inc, err := b.find(id)
	if err != nil {
		return Change{}, err
	}
	if err := needOpen(inc, "snoozed"); err != nil {
		return Change{}, err
	}
	if err := b.checkSnooze(sp, now); err != nil {
		return Change{}, err
	}
	ch := b.begin(inc)
	inc.Snooze = &Snooze{Target: id, By: who, Reason: sp.Reason, At: now, Until: sp.Until, UntilChange: sp.UntilChange, Severity: inc.Severity}
	ch.event(Event{Time: now, Who: who, Kind: EvSnoozed, Severity: inc.Severity, Text: snoozeText(inc.Snooze)})
	return ch.done(), nil
}

func snoozeText(s *Snooze) string {
	t := "until " + s.Until.UTC().Format(time.RFC3339)
	if s.UntilChange {
		t += " or its severity changes"
	}
	return t + ": " + s.Reason
}

// Unsnooze ends the incident's snooze now.
func (b *Book) Unsnooze(id, who string, now time.Time) (Change, error) {
	inc, err := b.find(id)
	if err != nil {
		return Change{}, err
	}
	if inc.Snooze == nil {
		return Change{}, fmt.Errorf("%w: %s is not snoozed", ErrState, id)
	}
	ch := b.begin(inc)
	inc.Snooze = nil
	ch.event(Event{Time: now, Who: who, Kind: EvUnsnoozed})
	ch.unsilenced(now)
	return ch.done(), nil
}

// SnoozeCell silences the cell at path, now at severity sev: incidents on
// it open and change without alerting anyone until the snooze ends.
func (b *Book) SnoozeCell(path string, sev rules.Severity, who string, sp SnoozeSpec, now time.Time) ([]Change, error) {
	if path == "" {
		return nil, fmt.Errorf("%w: a cell's path is required", ErrInvalid)
	}
	if err := b.checkSnooze(sp, now); err != nil {
		return nil, err
	}
	sn := &Snooze{Target: path, By: who, Reason: sp.Reason, At: now, Until: sp.Until, UntilChange: sp.UntilChange, Severity: sev}
	b.snoozes[path] = sn
	out := []Change{{Snooze: sn}}
	for _, inc := range b.byPath[path] {
		if inc.State == Open {
			ch := b.begin(inc)
			ch.event(Event{Time: now, Who: who, Kind: EvSnoozed, Severity: sev, Text: "the cell is snoozed " + snoozeText(sn)})
			out = append(out, ch.done())
		}
	}
	c := *sn
	out[0].Snooze = &c
	return out, nil
}

// UnsnoozeCell ends the cell's snooze now.
func (b *Book) UnsnoozeCell(path, who string, now time.Time) ([]Change, error) {
	if _, ok := b.snoozes[path]; !ok {
		return nil, fmt.Errorf("%w: %s is not snoozed", ErrNotFound, path)
	}
	delete(b.snoozes, path)
	out := []Change{{Unsnoozed: path}}
	for _, inc := range b.byPath[path] {
		if inc.State == Open {
			ch := b.begin(inc)
			ch.event(Event{Time: now, Who: who, Kind: EvUnsnoozed, Text: "the cell's snooze was ended"})
			ch.unsilenced(now)
			out = append(out, ch.done())
		}
	}
	return out, nil
}

// MarkImpact says whether the incident impacts its client: while it does
// and the incident is open, client updates fall due at the client's
// cadence.
func (b *Book) MarkImpact(id, who string, impacted bool, description string, now time.Time) (Change, error) {
	inc, err := b.find(id)
	if err != nil {
		return Change{}, err
	}
	if inc.State == Closed {
		return Change{}, fmt.Errorf("%w: %s is closed", ErrState, id)
	}
	if err := checkText("the description", description, false); err != nil {
		return Change{}, err
	}
	if inc.Client == "" && impacted {
		return Change{}, fmt.Errorf("%w: %s has no client to impact", ErrInvalid, id)
	}
	ch := b.begin(inc)
	if impacted {
		ch.impact(&Impact{By: who, At: now, Description: description}, who, now)
	} else {
		if inc.Impact == nil {
			return Change{}, nil
		}
		inc.Impact = nil
		inc.NextUpdate = time.Time{}
		inc.UpdateLate = false
		ch.event(Event{Time: now, Who: who, Kind: EvImpact, Text: cmpOr(description, "no client impact")})
	}
	return ch.done(), nil
}

// RecordUpdate records that the client was updated (by phone, say): the
// next update falls due a cadence from now.
func (b *Book) RecordUpdate(id, who, text string, now time.Time) (Change, error) {
	inc, err := b.find(id)
	if err != nil {
		return Change{}, err
	}
	if err := checkText("what the client was told", text, true); err != nil {
		return Change{}, err
	}
	ch := b.begin(inc)
	ch.updated(now)
	ch.event(Event{Time: now, Who: who, Kind: EvUpdateRecorded, Text: text})
	return ch.done(), nil
}

func (ch *change) updated(now time.Time) {
	inc := ch.inc
	inc.LastUpdate = now
	inc.UpdateLate = false
	delete(inc.Drafts, UpdateNotice)
	if inc.State == Open && inc.Impact != nil {
		inc.NextUpdate = now.Add(ch.b.cadence(inc))
	}
}

// DraftNotice drafts (again) the incident's notice of kind from its
// template, replacing a draft not sent.
func (b *Book) DraftNotice(id, who string, kind NoticeKind, now time.Time) (Change, error) {
	inc, err := b.find(id)
	if err != nil {
		return Change{}, err
	}
	if !validKind(kind) {
		return Change{}, fmt.Errorf("%w: %q is not a notice (problem, update or resolved)", ErrInvalid, kind)
	}
	ch := b.begin(inc)
	ch.draft(kind, now)
	ch.c.Events[len(ch.c.Events)-1].Who = who
	return ch.done(), nil
}

func validKind(k NoticeKind) bool {
	for _, x := range NoticeKinds {
		if x == k {
			return true
		}
	}
	return false
}

// SendNotice records a notice to the client as sent by who, through its
// Via action (the caller sends it: see the change's effects) or by hand
// when it names none. A problem or update notice counts as the client's
// update.
func (b *Book) SendNotice(id, who string, n Notice, now time.Time) (Change, error) {
	inc, err := b.find(id)
	if err != nil {
		return Change{}, err
	}
	if !validKind(n.Kind) {
		return Change{}, fmt.Errorf("%w: %q is not a notice (problem, update or resolved)", ErrInvalid, n.Kind)
	}
	if err := checkText("the subject", n.Subject, true); err != nil {
		return Change{}, err
	}
	if err := checkText("the body", n.Body, true); err != nil {
		return Change{}, err
	}
	if inc.Client == "" {
		return Change{}, fmt.Errorf("%w: %s has no client to send a notice to", ErrInvalid, id)
	}
	ch := b.begin(inc)
	n.Sent, n.By = now, who
	if d, ok := inc.Drafts[n.Kind]; ok {
		n.Drafted = d.Drafted
	}
	delete(inc.Drafts, n.Kind)
	if n.Kind != ResolvedNotice {
		ch.updated(now)
	}
	text := "sent by hand"
	if n.Via != "" {
		text = "sent through " + n.Via
		ch.c.Effects = append(ch.c.Effects, Effect{Event: "notice", Notify: []string{n.Via}, Notice: &n})
	}
	ch.event(Event{Time: now, Who: who, Kind: EvNoticeSent, Text: "the " + string(n.Kind) + " notice, " + text, Notice: &n})
	return ch.done(), nil
}

// NoticeFailed records that a notice sent through an action did not
// reach the client (the action gave up, for reason): the notice is a
// draft again, to send another way, and a problem or update notice no
// longer counts as the client's update, which is due now.
func (b *Book) NoticeFailed(id string, n Notice, reason string, now time.Time) (Change, error) {
	inc, err := b.find(id)
	if err != nil {
		return Change{}, err
	}
	if !validKind(n.Kind) {
		return Change{}, fmt.Errorf("%w: %q is not a notice (problem, update or resolved)", ErrInvalid, n.Kind)
	}
	ch := b.begin(inc)
	failed := n
	n.Sent, n.By = time.Time{}, ""
	if inc.Drafts == nil {
		inc.Drafts = make(map[NoticeKind]Notice)
	}
	inc.Drafts[n.Kind] = n
	if n.Kind != ResolvedNotice && inc.State == Open && inc.Impact != nil {
		inc.NextUpdate, inc.UpdateLate = now, false
	}
	ch.event(Event{Time: now, Kind: EvNoticeFailed, Notice: &failed,
		Text: "the " + string(n.Kind) + " notice through " + n.Via + " did not reach the client: " + reason + "; it is a draft again"})
	return ch.done(), nil
}

// Resolve ends an open incident by a person's word, whatever its cell
// says now.
func (b *Book) Resolve(id, who, text string, now time.Time) (Change, error) {
	inc, err := b.find(id)
	if err != nil {
		return Change{}, err
	}
	if err := needOpen(inc, "resolved"); err != nil {
		return Change{}, err
	}
	if err := checkText("the comment", text, false); err != nil {
		return Change{}, err
	}
	ch := b.begin(inc)
	ch.resolve(now, who, text)
	return ch.done(), nil
}

// Close closes an incident for good (resolving it first if it is open):
// nothing reopens it, and the Book lets it go.
func (b *Book) Close(id, who, text string, now time.Time) (Change, error) {
	inc, err := b.find(id)
	if err != nil {
		return Change{}, err
	}
	if inc.State == Closed {
		return Change{}, fmt.Errorf("%w: %s is closed already", ErrState, id)
	}
	if err := checkText("the comment", text, false); err != nil {
		return Change{}, err
	}
	ch := b.begin(inc)
	if inc.State == Open {
		ch.resolve(now, who, "resolved as it was closed")
	}
	inc.State = Closed
	inc.Closed = now
	inc.ReopenUntil = time.Time{}
	inc.Snooze = nil
	ch.event(Event{Time: now, Who: who, Kind: EvClosed, Text: text})
	ch.tell("closed", false, now)
	ch.c.Forget = true
	b.forget(inc)
	return ch.done(), nil
}

// EditReport sets the report's fields people write.
func (b *Book) EditReport(id, who string, r Report, now time.Time) (Change, error) {
	inc, err := b.find(id)
	if err != nil {
		return Change{}, err
	}
	for _, f := range []struct{ name, v string }{{"the cause", r.Cause}, {"the remedy", r.Remedy}, {"the preventive actions", r.Preventive}} {
		if err := checkText(f.name, f.v, false); err != nil {
			return Change{}, err
		}
	}
	if inc.Report == r {
		return Change{}, nil
	}
	var changed []string
	for _, f := range []struct{ name, a, b string }{{"cause", inc.Report.Cause, r.Cause}, {"remedy", inc.Report.Remedy, r.Remedy},
		{"preventive actions", inc.Report.Preventive, r.Preventive}} {
		if f.a != f.b {
			changed = append(changed, f.name)
		}
	}
	ch := b.begin(inc)
	inc.Report = r
	ch.event(Event{Time: now, Who: who, Kind: EvReport, Text: "edited the report's " + strings.Join(changed, ", ")})
	return ch.done(), nil
}

// Raise opens an incident a person reports: attached to a cell, an
// entity or nothing. It waits for a person to resolve it.
func (b *Book) Raise(r Raise, who string, now time.Time) (Change, error) {
	if err := checkText("the title", r.Title, true); err != nil {
		return Change{}, err
	}
	if err := checkText("the description", r.Text, false); err != nil {
		return Change{}, err
	}
	sev := r.Severity
	switch sev {
	case rules.Undefined:
		sev = rules.Warning
	case rules.Warning, rules.Critical:
	default:
		return Change{}, fmt.Errorf("%w: a raised incident is warning or critical, not %s", ErrInvalid, sev)
	}
	if r.Impact && r.Client == "" {
		return Change{}, fmt.Errorf("%w: an incident that impacts a client names the client", ErrInvalid)
	}
	inc := &Incident{
		ID: b.nextID(now), Path: r.Path, Probe: r.Probe, Entity: r.Entity, Client: r.Client, Attrs: maps.Clone(r.Attrs),
		Title: strings.TrimSpace(r.Title),
		State: Open, Severity: sev, Peak: sev, Opened: now, Updated: now, RaisedBy: who, Manual: true,
		Escalation: Escalation{Policy: b.policy.Default},
	}
	b.hold(inc)
	ch := b.begin(inc)
	ch.event(Event{Time: now, Who: who, Kind: EvRaised, Severity: sev, Text: r.Text})
	if r.Impact {
		ch.impact(&Impact{By: who, At: now, Description: "raised as impacting " + r.Client}, who, now)
	}
	ch.tell("opened", true, now)
	ch.escalateFrom(now)
	return ch.done(), nil
}
