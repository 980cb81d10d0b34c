package incident

import (
	"bytes"
	"fmt"
	"maps"
	"slices"
	"strings"
	"text/template"
	"time"

	"github.com/watchfloor/watchfloor/rules"
)

// Book holds the incidents that are alive — open, or resolved and still
// able to reopen — with the snoozes of cells, and changes them. It is not
// safe for concurrent use: one goroutine owns it.
type Book struct {
	policy  Policy
	live    map[string]*Incident   // by ID
	byKey   map[string]*Incident   // rule and path → the incident they would reopen or update
	byPath  map[string][]*Incident // path → the incidents rules opened on it
	snoozes map[string]*Snooze     // cells' snoozes, by path
	day     string                 // the UTC day of the last number given
	number  int
	tmpl    map[string]*template.Template // parsed titles and notice templates, by text

	maint   Maintenance
	phaseOf func(attrs map[string]string, t time.Time) string
	// held are the signals that would have opened an incident but for a
	// maintenance window, by rule and path: each opens its incident when
	// its window ends, if the cell is still as bad.
	held map[string]Signal
}

// Change is what one signal, command or tick did to one incident, or to a
// cell's snooze.
type Change struct {
	// Incident is the incident as it is now; nil for a cell's snooze.
	Incident *Incident
	// Events are the events new on its timeline, in order.
	Events []Event
	// Effects are what the caller is to do about it.
	Effects []Effect
	// Forget: the Book holds the incident no more (it closed, or its
	// reopen window passed); the caller keeps it stored as it is.
	Forget bool
	// Snooze is a cell's snooze set; Unsnoozed the path of one that
	// ended.
	Snooze    *Snooze
	Unsnoozed string
}

// Effect is something the caller does about a change: tell people and
// actions. Event names it as actions see it ("opened", "reopened",
// "worsened", "changed", "escalated", "resolved", "closed", "notice").
type Effect struct {
	Event string
	// Alert: every dashboard alerts on it, acknowledged or not (it
	// opened, reopened, worsened past its acknowledgement, or its snooze
	// ended while it is still bad).
	Alert bool
	// Level is the escalation level that fired, for "escalated".
	Level int
	// Notify names the actions to tell: for an escalation, its level's;
	// for a notice, the one that sends it; otherwise the policy's and the
	// incident's own.
	Notify []string
	Notice *Notice
}

// Raise is an incident a person raises.
type Raise struct {
	Title    string
	Path     string
	Probe    string
	Entity   string
	Client   string
	Attrs    map[string]string
	Severity rules.Severity // warning by default
	Text     string         // what the raiser says, the first comment
	Impact   bool
}

// NewBook returns an empty book following p. Numbers continue after last
// on day (a "20261201" UTC date), as the store says they were used.
func NewBook(p Policy, day string, last int) *Book {
	b := &Book{
		live:    make(map[string]*Incident),
		byKey:   make(map[string]*Incident),
		byPath:  make(map[string][]*Incident),
		snoozes: make(map[string]*Snooze),
		tmpl:    make(map[string]*template.Template),
		day:     day,
		number:  last,
	}
	b.SetPolicy(p)
	return b
}

// SetPolicy replaces the policy, as a reload does; incidents keep their
// state, and their deadlines follow the new policy from their next
// change.
func (b *Book) SetPolicy(p Policy) {
	if p.ReopenWindow <= 0 {
		p.ReopenWindow = DefaultReopen
	}
	if p.UpdateEvery <= 0 {
		p.UpdateEvery = DefaultUpdateEvery
	}
	if p.SnoozeWarning <= 0 {
		p.SnoozeWarning = DefaultSnoozeWarning
	}
	if p.MaxSnooze <= 0 {
		p.MaxSnooze = DefaultMaxSnooze
	}
	b.policy = p
	clear(b.tmpl)
}

// Policy returns the policy in force, with its defaults filled in.
func (b *Book) Policy() Policy { return b.policy }

// Load takes incidents and cells' snoozes as the store kept them, at a
// start at now: open incidents, and resolved ones still in their reopen
// window, are held again, so that their cells update them rather than
// open new ones.
func (b *Book) Load(incs []Incident, snoozes []Snooze, now time.Time) {
	for i := range incs {
		switch st := incs[i].State; {
		case st == Closed, st == Resolved && !now.Before(incs[i].ReopenUntil):
			continue // nothing would reopen it: not held
		}
		inc := incs[i]
		b.hold(&inc)
	}
	for i := range snoozes {
		s := snoozes[i]
		b.snoozes[s.Target] = &s
	}
}

func (b *Book) hold(inc *Incident) {
	b.live[inc.ID] = inc
	if inc.Rule != "" && inc.RaisedBy == "" {
		b.byKey[key(inc.Rule, inc.Path)] = inc
		b.byPath[inc.Path] = append(b.byPath[inc.Path], inc)
	}
}

func (b *Book) forget(inc *Incident) {
	delete(b.live, inc.ID)
	if inc.Rule == "" || inc.RaisedBy != "" {
		return
	}
	if b.byKey[key(inc.Rule, inc.Path)] == inc {
		delete(b.byKey, key(inc.Rule, inc.Path))
	}
	list := slices.DeleteFunc(b.byPath[inc.Path], func(x *Incident) bool { return x == inc })
	if len(list) == 0 {
		delete(b.byPath, inc.Path)
	} else {
		b.byPath[inc.Path] = list
	}
}

func key(rule, path string) string { return rule + "\x00" + path }

// Get returns a copy of a held incident.
func (b *Book) Get(id string) (Incident, bool) {
	inc, ok := b.live[id]
	if !ok {
		return Incident{}, false
	}
	return inc.clone(), true
}

// Adopt holds an incident the Book had let go of (a resolved one past
// its window, a closed one) for one command, such as a comment or a
// report edit: the next Tick lets it go again.
func (b *Book) Adopt(inc Incident) {
	if _, ok := b.live[inc.ID]; ok {
		return
	}
	b.live[inc.ID] = &inc
}

// Reset puts a held incident back as stored (nil: as it was never
// held), when what the Book did could not be stored.
func (b *Book) Reset(id string, stored *Incident) {
	if inc, ok := b.live[id]; ok {
		b.forget(inc)
	}
	if stored != nil && stored.State != Closed {
		inc := stored.clone()
		if cur := b.byKey[key(inc.Rule, inc.Path)]; cur != nil && cur.ID != inc.ID {
			// A newer incident follows the cell: this one is held for
			// its commands only, as Adopt holds one.
			b.live[inc.ID] = &inc
			return
		}
		b.hold(&inc)
	}
}

// ResetCell puts a cell's snooze back as stored (nil: none).
func (b *Book) ResetCell(path string, stored *Snooze) {
	if stored == nil {
		delete(b.snoozes, path)
		return
	}
	s := *stored
	b.snoozes[path] = &s
}

// Incidents returns copies of the held incidents, oldest first.
func (b *Book) Incidents() []Incident {
	out := make([]Incident, 0, len(b.live))
	for _, inc := range b.live {
		out = append(out, inc.clone())
	}
	slices.SortFunc(out, func(x, y Incident) int { return strings.Compare(sortID(x.ID), sortID(y.ID)) })
	return out
}

// sortID makes IDs of one day with more digits sort after shorter ones.
func sortID(id string) string { return fmt.Sprintf("%s%08d", id[:min(len(id), 13)], len(id)) + id }

// Snoozes returns copies of every snooze: cells' and incidents'.
func (b *Book) Snoozes() []Snooze {
	var out []Snooze
	for _, s := range b.snoozes {
		out = append(out, *s)
	}
	for _, inc := range b.live {
		if inc.Snooze != nil {
			out = append(out, *inc.Snooze)
		}
	}
	slices.SortFunc(out, func(x, y Snooze) int { return x.Until.Compare(y.Until) })
	return out
}

// CellSnooze returns the snooze of the cell at path, if any.
func (b *Book) CellSnooze(path string) (Snooze, bool) {
	s, ok := b.snoozes[path]
	if !ok {
		return Snooze{}, false
	}
	return *s, true
}

func (inc *Incident) clone() Incident {
	c := *inc
	c.Notify = slices.Clone(inc.Notify)
	c.Drafts = maps.Clone(inc.Drafts)
	c.Attrs = maps.Clone(inc.Attrs)
	if inc.Ack != nil {
		a := *inc.Ack
		c.Ack = &a
	}
	if inc.Snooze != nil {
		s := *inc.Snooze
		c.Snooze = &s
	}
	if inc.Impact != nil {
		i := *inc.Impact
		c.Impact = &i
	}
	return c
}

// change collects what happens to one incident.
type change struct {
	b   *Book
	inc *Incident
	c   Change
}

func (b *Book) begin(inc *Incident) *change { return &change{b: b, inc: inc} }

func (ch *change) event(e Event) {
	ch.inc.Events++
	e.Incident = ch.inc.ID
	e.Seq = ch.inc.Events
	if e.Time.After(ch.inc.Updated) {
		ch.inc.Updated = e.Time
	}
	ch.c.Events = append(ch.c.Events, e)
}

// tell queues an effect for the policy's and the incident's actions.
// A snoozed incident tells nobody, but of its end once it has alerted:
// what heard it fire (an Alertmanager that resends it) must hear it is
// over. One that never alerted does not announce that it changed or
// ended.
func (ch *change) tell(event string, alert bool, at time.Time) {
	inc := ch.inc
	if !alert && !inc.Alerted {
		return
	}
	if ch.b.silenced(inc, at) && (alert || inc.State == Open) {
		return
	}
	if alert {
		inc.Alerted = true
		inc.Alerts++
	}
	ch.c.Effects = append(ch.c.Effects, Effect{Event: event, Alert: alert, Notify: ch.b.notify(inc)})
}

func (b *Book) notify(inc *Incident) []string {
	out := slices.Clone(b.policy.Notify)
	for _, n := range inc.Notify {
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out
}

// silenced reports whether the incident, or its cell, is snoozed at t,
// or its entity is in a maintenance window.
func (b *Book) silenced(inc *Incident, t time.Time) bool {
	if inc.Snooze != nil && t.Before(inc.Snooze.Until) {
		return true
	}
	if _, _, ok := b.covering(inc.Probe, inc.Entity, inc.Attrs, t); ok {
		return true
	}
	if inc.Path == "" {
		return false
	}
	s := b.snoozes[inc.Path]
	return s != nil && t.Before(s.Until)
}

func (ch *change) done() Change {
	if len(ch.c.Events) == 0 && len(ch.c.Effects) == 0 && !ch.c.Forget {
		return Change{}
	}
	inc := ch.inc.clone()
	ch.c.Incident = &inc
	return ch.c
}

// Signal applies a rule's verdict on a path and returns what it changed:
// an incident opened, updated, resolved or reopened.
func (b *Book) Signal(s Signal) []Change {
	var out []Change
	add := func(c Change) {
		if c.Incident != nil || c.Snooze != nil || c.Unsnoozed != "" {
			out = append(out, c)
		}
	}
	for _, c := range b.snoozeChanged(s) {
		add(c)
	}
	// The path's incidents of other rules: the path is theirs no more.
	for _, inc := range slices.Clone(b.byPath[s.Path]) {
		if inc.Rule != s.Rule && inc.State == Open && inc.Severity > rules.OK {
			ch := b.begin(inc)
			ch.recover(s.Time, "now judged by "+ruleOr(s.Rule))
			add(ch.done())
		}
	}
	b.letGoOthers(s.Path, s.Rule)
	if s.Rule == "" {
		return out
	}
	inc := b.byKey[key(s.Rule, s.Path)]
	if inc != nil && inc.State == Resolved && !s.Time.Before(inc.ReopenUntil) {
		// Its window is over though no Tick has let it go yet: a
		// recurrence is a new incident.
		ch := b.begin(inc)
		ch.c.Forget = true
		b.forget(inc)
		add(ch.done())
		inc = nil
	}
	worst := max(s.Worst, s.New)
	if b.holdForMaintenance(s, inc, worst) {
		return out
	}
	switch {
	case inc == nil:
		if s.Open != nil && worst >= s.Open.OpenAt() {
			add(b.open(s, worst))
		}
	case inc.State == Open:
		add(b.follow(inc, s))
	case inc.State == Resolved && worst >= openAt(s.Open, inc):
		add(b.reopen(inc, s, worst))
	}
	return out
}

func ruleOr(rule string) string {
	if rule == "" {
		return "no rule"
	}
	return "rule " + rule
}

// openAt is the severity that reopens inc: its rule's, or what it opened
// at when the rule no longer says.
func openAt(d *rules.IncidentDef, inc *Incident) rules.Severity {
	if d != nil {
		return d.OpenAt()
	}
	return rules.Critical
}

// snoozeChanged ends a cell's until-change snooze when its severity
// moves.
func (b *Book) snoozeChanged(s Signal) []Change {
	sn := b.snoozes[s.Path]
	if sn == nil || !sn.UntilChange || s.New == sn.Severity {
		return nil
	}
	delete(b.snoozes, s.Path)
	out := []Change{{Unsnoozed: s.Path}}
	for _, inc := range b.byPath[s.Path] {
		if inc.State == Open {
			ch := b.begin(inc)
			ch.event(Event{Time: s.Time, Kind: EvSnoozeEnded, Severity: s.New, Text: "the cell's snooze ended: its severity changed"})
			out = append(out, ch.done())
		}
	}
	return out
}

func (b *Book) nextID(t time.Time) string {
	// A time before the day of the last number (transitions of several
	// actors, and raises, meet around midnight in any order) takes that
	// day's next number: going back would give out its numbers again.
	if day := t.UTC().Format("20060102"); day > b.day {
		b.day, b.number = day, 0
	}
	b.number++
	return fmt.Sprintf("INC-%s-%04d", b.day, b.number)
}

func (b *Book) open(s Signal, worst rules.Severity) Change {
	inc := &Incident{
		ID: b.nextID(s.Time), Rule: s.Rule, Path: s.Path, Headline: s.Headline, Probe: s.Probe, Entity: s.Entity,
		Client: s.Client, Attrs: maps.Clone(s.Attrs), Phase: s.Phase, State: Open, Severity: worst, Peak: worst, Value: s.Value,
		Opened: s.Time, Updated: s.Time, Manual: s.Open.Manual, Notify: slices.Clone(s.Open.Notify),
	}
	inc.Title = b.title(s)
	inc.Escalation.Policy = cmpOr(s.Open.Escalation, b.policy.Default)
	b.hold(inc)
	ch := b.begin(inc)
	ch.event(Event{Time: s.Time, Kind: EvOpened, Severity: worst, Value: s.Value, Text: inc.Title})
	if s.Open.Impact && inc.Client != "" {
		ch.impact(&Impact{At: s.Time, Description: "marked by rule " + s.Rule}, "", s.Time)
	}
	ch.tell("opened", true, s.Time)
	ch.escalateFrom(s.Time)
	if s.New < worst {
		ch.follow(s)
	}
	return ch.done()
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// title makes an incident's title from its rule's template, or from its
// rule and entity.
func (b *Book) title(s Signal) string {
	where := cmpOr(s.Entity, cmpOr(s.Probe, s.Path))
	if s.Open.Title == "" {
		return s.Rule + " on " + where
	}
	var buf bytes.Buffer
	if t := b.template(s.Open.Title); t == nil || t.Execute(&buf, s) != nil {
		return s.Rule + " on " + where
	}
	return buf.String()
}

func (b *Book) template(text string) *template.Template {
	t, ok := b.tmpl[text]
	if !ok {
		t, _ = template.New("").Option("missingkey=zero").Parse(text) // compiled and checked when the rule was
		b.tmpl[text] = t
	}
	return t
}

func (b *Book) follow(inc *Incident, s Signal) Change {
	ch := b.begin(inc)
	ch.follow(s)
	return ch.done()
}

// follow applies a signal to an open incident.
func (ch *change) follow(s Signal) {
	inc := ch.inc
	inc.Value = s.Value
	switch {
	case s.New <= rules.OK:
		if inc.Severity > rules.OK {
			ch.recover(s.Time, "")
		}
	case s.New > inc.Severity:
		inc.Severity = s.New
		inc.Peak = max(inc.Peak, s.New)
		inc.Recovered = time.Time{}
		ch.event(Event{Time: s.Time, Kind: EvSeverity, Severity: s.New, Value: s.Value})
		alert := false
		if inc.Ack != nil && s.New > inc.Ack.Severity {
			ch.event(Event{Time: s.Time, Kind: EvAckLifted, Severity: s.New,
				Text: fmt.Sprintf("%s acknowledged it at %s; it is %s now", inc.Ack.By, inc.Ack.Severity, s.New)})
			inc.Ack = nil
			alert = true
		}
		ch.endSnoozeOnChange(s.Time, s.New)
		ch.tell("worsened", alert || !inc.Alerted, s.Time)
		ch.escalateFrom(s.Time)
	case s.New < inc.Severity:
		inc.Severity = s.New
		ch.event(Event{Time: s.Time, Kind: EvSeverity, Severity: s.New, Value: s.Value})
		ch.endSnoozeOnChange(s.Time, s.New)
		ch.tell("changed", false, s.Time)
		ch.escalateFrom(s.Time)
	}
}

// recover handles the incident's cell returning to ok (or to no rule):
// it resolves, or, if manual, waits for a person.
func (ch *change) recover(t time.Time, why string) {
	inc := ch.inc
	inc.Severity = rules.OK
	ch.endSnoozeOnChange(t, rules.OK)
	inc.Escalation.Next, inc.Escalation.Since = time.Time{}, time.Time{}
	if inc.Manual {
		inc.Recovered = t
		ch.event(Event{Time: t, Kind: EvRecovered, Severity: rules.OK, Value: inc.Value,
			Text: strings.TrimSpace("the cell is ok again; a person resolves this incident " + paren(why))})
		ch.tell("changed", false, t)
		return
	}
	ch.resolve(t, "", strings.TrimSpace("the cell is ok again "+paren(why)))
}

func paren(s string) string {
	if s == "" {
		return ""
	}
	return "(" + s + ")"
}

func (ch *change) resolve(t time.Time, who, text string) {
	inc := ch.inc
	inc.State = Resolved
	inc.Resolved = t
	inc.NextUpdate = time.Time{}
	inc.UpdateLate = false
	inc.Escalation.Next, inc.Escalation.Since = time.Time{}, time.Time{}
	if inc.Rule != "" && inc.RaisedBy == "" {
		inc.ReopenUntil = t.Add(ch.b.policy.ReopenWindow)
	}
	ch.event(Event{Time: t, Who: who, Kind: EvResolved, Severity: inc.Severity, Text: text})
	if inc.Impact != nil {
		ch.draft(ResolvedNotice, t)
	}
	ch.tell("resolved", false, t)
}

func (b *Book) reopen(inc *Incident, s Signal, worst rules.Severity) Change {
	ch := b.begin(inc)
	inc.State = Open
	inc.Resolved = time.Time{}
	inc.ReopenUntil = time.Time{}
	inc.Recovered = time.Time{}
	inc.Reopened++
	inc.Severity = worst
	inc.Peak = max(inc.Peak, worst)
	inc.Value = s.Value
	inc.Ack = nil
	delete(inc.Drafts, ResolvedNotice)
	ch.event(Event{Time: s.Time, Kind: EvReopened, Severity: worst, Value: s.Value,
		Text: fmt.Sprintf("it came back within the reopen window (reopened %d times)", inc.Reopened)})
	if inc.Impact != nil {
		inc.NextUpdate = s.Time.Add(b.cadence(inc))
	}
	ch.tell("reopened", true, s.Time)
	ch.escalateFrom(s.Time)
	if s.New < worst {
		ch.follow(s)
	}
	return ch.done()
}

// endSnoozeOnChange ends the incident's until-change snooze when its
// severity moves.
func (ch *change) endSnoozeOnChange(t time.Time, sev rules.Severity) {
	sn := ch.inc.Snooze
	if sn == nil || !sn.UntilChange || sev == sn.Severity {
		return
	}
	ch.inc.Snooze = nil
	ch.event(Event{Time: t, Kind: EvSnoozeEnded, Severity: sev, Text: "its severity changed"})
}

// escalateFrom schedules the next escalation level: while the incident is
// critical and unacknowledged, counted from when it became critical.
func (ch *change) escalateFrom(t time.Time) {
	inc := ch.inc
	esc := &inc.Escalation
	pol, ok := ch.b.policy.Escalations[esc.Policy]
	if !ok || inc.State != Open || inc.Severity != rules.Critical || inc.Ack != nil || esc.Level >= len(pol.Levels) {
		esc.Next = time.Time{}
		if inc.Severity != rules.Critical {
			esc.Since = time.Time{}
		}
		return
	}
	if esc.Since.IsZero() {
		esc.Since = t
	}
	esc.Next = esc.Since.Add(pol.Levels[esc.Level].After)
}

// cadence is how often inc's client is due an update.
func (b *Book) cadence(inc *Incident) time.Duration {
	if c, ok := b.policy.Clients[inc.Client]; ok && c.UpdateEvery > 0 {
		return c.UpdateEvery
	}
	return b.policy.UpdateEvery
}

// impact marks the incident as impacting its client: its problem notice
// is drafted and the first update falls due a cadence later.
func (ch *change) impact(im *Impact, who string, t time.Time) {
	inc := ch.inc
	inc.Impact = im
	ch.event(Event{Time: t, Who: who, Kind: EvImpact, Text: cmpOr(im.Description, "impacts "+cmpOr(inc.Client, "its client"))})
	if inc.State == Open {
		inc.NextUpdate = t.Add(ch.b.cadence(inc))
		inc.UpdateLate = false
		if inc.LastUpdate.IsZero() {
			ch.draft(ProblemNotice, t)
		}
	}
}

// draft fills in a notice of kind from its template and keeps it on the
// incident for a person to edit and send.
func (ch *change) draft(kind NoticeKind, t time.Time) {
	n, err := ch.b.Draft(ch.inc, kind, t)
	if err != nil {
		ch.event(Event{Time: t, Kind: EvNoticeDrafted, Text: "the " + string(kind) + " notice could not be drafted: " + err.Error()})
		return
	}
	if ch.inc.Drafts == nil {
		ch.inc.Drafts = make(map[NoticeKind]Notice)
	}
	ch.inc.Drafts[kind] = n
	ch.event(Event{Time: t, Kind: EvNoticeDrafted, Text: "the " + string(kind) + " notice is drafted", Notice: &n})
}

// Draft fills in a notice of kind for inc from the policy's template.
func (b *Book) Draft(inc *Incident, kind NoticeKind, t time.Time) (Notice, error) {
	tp, ok := b.policy.Templates[kind]
	if !ok {
		return Notice{}, fmt.Errorf("%w: no template for %s notices", ErrInvalid, kind)
	}
	var subj, body bytes.Buffer
	for _, x := range []struct {
		text string
		out  *bytes.Buffer
	}{{tp.Subject, &subj}, {tp.Body, &body}} {
		tt := b.template(x.text)
		if tt == nil {
			return Notice{}, fmt.Errorf("%w: the %s template does not parse", ErrInvalid, kind)
		}
		if err := tt.Execute(x.out, inc); err != nil {
			return Notice{}, fmt.Errorf("%w: the %s template: %v", ErrInvalid, kind, err)
		}
	}
	return Notice{Kind: kind, Subject: strings.TrimSpace(subj.String()), Body: body.String(),
		Via: b.policy.Clients[inc.Client].Via, Drafted: t}, nil
}

// Tick applies the deadlines due at now: escalations, client updates
// falling due, snoozes expiring, reopen windows ending.
func (b *Book) Tick(now time.Time) []Change {
	var out []Change
	for _, path := range slices.Sorted(maps.Keys(b.snoozes)) {
		if sn := b.snoozes[path]; !now.Before(sn.Until) {
			delete(b.snoozes, path)
			out = append(out, Change{Unsnoozed: path})
			for _, inc := range b.byPath[path] {
				if inc.State == Open {
					ch := b.begin(inc)
					ch.event(Event{Time: now, Kind: EvSnoozeEnded, Text: "the cell's snooze by " + sn.By + " expired"})
					ch.unsilenced(now)
					out = append(out, ch.done())
				}
			}
		}
	}
	out = append(out, b.release(now)...)
	for _, id := range slices.Sorted(maps.Keys(b.live)) {
		inc := b.live[id]
		ch := b.begin(inc)
		ch.maintenance(now)
		if sn := inc.Snooze; sn != nil && !now.Before(sn.Until) {
			inc.Snooze = nil
			ch.event(Event{Time: now, Kind: EvSnoozeEnded, Text: "the snooze by " + sn.By + " expired"})
			ch.unsilenced(now)
		}
		if esc := &inc.Escalation; !esc.Next.IsZero() && !now.Before(esc.Next) && !b.silenced(inc, now) {
			ch.escalate(now)
		}
		if inc.State == Open && !inc.NextUpdate.IsZero() && !inc.UpdateLate && !now.Before(inc.NextUpdate) {
			inc.UpdateLate = true
			ch.event(Event{Time: now, Kind: EvUpdateDue, Text: "the client is due an update"})
			ch.draft(UpdateNotice, now)
		}
		switch {
		case inc.State == Closed:
			ch.c.Forget = true
		case inc.State == Resolved && !now.Before(inc.ReopenUntil):
			ch.c.Forget = true
		}
		if ch.c.Forget {
			b.forget(inc)
		}
		if c := ch.done(); c.Incident != nil {
			out = append(out, c)
		}
	}
	return out
}

// unsilenced alerts on an incident whose snooze just ended while it is
// still bad.
func (ch *change) unsilenced(now time.Time) {
	inc := ch.inc
	if inc.State == Open && inc.Severity > rules.OK && !ch.b.silenced(inc, now) {
		ch.tell("changed", inc.Ack == nil, now)
		if inc.Escalation.Next.IsZero() {
			ch.escalateFrom(now)
		}
	}
}

func (ch *change) escalate(now time.Time) {
	inc := ch.inc
	esc := &inc.Escalation
	pol := ch.b.policy.Escalations[esc.Policy]
	if esc.Level >= len(pol.Levels) {
		esc.Next = time.Time{}
		return
	}
	lv := pol.Levels[esc.Level]
	esc.Level++
	esc.At = now
	ch.event(Event{Time: now, Kind: EvEscalated, Severity: inc.Severity,
		Text: fmt.Sprintf("escalated to level %d (%s: critical and unacknowledged for %s)", esc.Level, esc.Policy, lv.After)})
	ch.c.Effects = append(ch.c.Effects, Effect{Event: "escalated", Alert: true, Level: esc.Level, Notify: slices.Clone(lv.Notify)})
	inc.Alerted = true
	inc.Alerts++
	ch.escalateFrom(now)
}

// silencedUntil is when the incident's snooze and its cell's end, the
// later of the two; zero if neither is snoozed.
func (b *Book) silencedUntil(inc *Incident) time.Time {
	var until time.Time
	if inc.Snooze != nil {
		until = inc.Snooze.Until
	}
	if s := b.snoozes[inc.Path]; s != nil && inc.Path != "" {
		until = later(until, s.Until)
	}
	if inc.Maintenance != "" {
		until = later(until, inc.MaintenanceUntil)
	}
	return until
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// Next returns the earliest deadline among the held incidents and
// snoozes, or the zero time if there is none: when to call Tick.
func (b *Book) Next() time.Time {
	var next time.Time
	at := func(t time.Time) {
		if !t.IsZero() && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}
	for _, sn := range b.snoozes {
		at(sn.Until)
	}
	for _, s := range b.held {
		at(s.heldUntil)
	}
	for _, inc := range b.live {
		if inc.Maintenance != "" {
			at(inc.MaintenanceUntil)
		}
		if inc.Snooze != nil {
			at(inc.Snooze.Until)
		}
		if esc := inc.Escalation.Next; !esc.IsZero() && (inc.Maintenance == "" || !inc.MaintenanceUntil.IsZero()) {
			// A snoozed incident escalates when its snooze ends, at the
			// earliest: Tick skips it until then. One in a maintenance
			// window with no end waits for the window to change.
			at(later(esc, b.silencedUntil(inc)))
		}
		if !inc.UpdateLate {
			at(inc.NextUpdate)
		}
		switch inc.State {
		case Resolved:
			at(inc.ReopenUntil)
			if inc.ReopenUntil.IsZero() {
				at(inc.Resolved) // raised ones: let go at the next tick
			}
		case Closed:
			at(inc.Closed)
		}
	}
	return next
}
