package incident

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/watchfloor/watchfloor/rules"
)

var t0 = time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)

const cell = "venue/router/processes/processes/order-router/instances"

// desk is the policy the lifecycle tests run under.
func desk() Policy {
	return Policy{
		ReopenWindow: 10 * time.Minute,
		Notify:       []string{"alertmanager"},
		Escalations: map[string]EscalationPolicy{
			"desk": {Levels: []Level{{After: 5 * time.Minute, Notify: []string{"mail-manager"}}, {After: 15 * time.Minute, Notify: []string{"page-oncall"}}}},
		},
		Default:     "desk",
		Clients:     map[string]Client{"acme": {UpdateEvery: 15 * time.Minute, Via: "mail-acme"}},
		UpdateEvery: 30 * time.Minute,
		Templates: map[NoticeKind]Template{
			ProblemNotice:  {Subject: "Problem: {{.Title}}", Body: "We are investigating {{.ID}}."},
			UpdateNotice:   {Subject: "Update: {{.Title}}", Body: "Still working on {{.ID}}."},
			ResolvedNotice: {Subject: "Resolved: {{.Title}}", Body: "{{.ID}} is resolved; business can resume."},
		},
	}
}

// clock is the tests' injected time: a fixed start and offsets from it.
type clock struct{ now time.Time }

func (c *clock) at(d time.Duration) time.Time { c.now = t0.Add(d); return c.now }

func opens(open rules.Severity) *rules.IncidentDef {
	return &rules.IncidentDef{Open: open, Client: "client", Notify: []string{"desk-hook"}}
}

func sig(t time.Time, old, new rules.Severity, def *rules.IncidentDef) Signal {
	return Signal{Rule: "router-down", Path: cell, Probe: "venue", Entity: "router", Client: "acme",
		Old: old, New: new, Worst: max(old, new), Value: "0", Time: t, Open: def}
}

// only returns the one change that concerns an incident.
func only(t *testing.T, cs []Change) Change {
	t.Helper()
	var got []Change
	for _, c := range cs {
		if c.Incident != nil {
			got = append(got, c)
		}
	}
	if len(got) != 1 {
		t.Fatalf("want one incident changed, got %d: %+v", len(got), got)
	}
	return got[0]
}

func kinds(c Change) []EventKind {
	var out []EventKind
	for _, e := range c.Events {
		out = append(out, e.Kind)
	}
	return out
}

func effects(c Change) []string {
	var out []string
	for _, e := range c.Effects {
		s := e.Event
		if e.Alert {
			s += "!"
		}
		out = append(out, s)
	}
	return out
}

func want[T comparable](t *testing.T, what string, got, want []T) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Fatalf("%s: got %v, want %v", what, got, want)
	}
}

func TestLifecycle(t *testing.T) {
	tests := []struct {
		name string
		run  func(t *testing.T, b *Book, c *clock)
	}{
		{"opens at the rule's severity, once per rule and cell", func(t *testing.T, b *Book, c *clock) {
			if cs := b.Signal(sig(c.at(0), rules.OK, rules.Warning, opens(rules.Critical))); len(cs) != 0 {
				t.Fatalf("warning opened something under open: critical: %+v", cs)
			}
			ch := only(t, b.Signal(sig(c.at(time.Second), rules.Warning, rules.Critical, opens(rules.Critical))))
			inc := ch.Incident
			if inc.ID != "INC-20261201-0001" || inc.State != Open || inc.Severity != rules.Critical || inc.Client != "acme" {
				t.Fatalf("opened %+v", inc)
			}
			want(t, "events", kinds(ch), []EventKind{EvOpened})
			want(t, "effects", effects(ch), []string{"opened!"})
			want(t, "notify", ch.Effects[0].Notify, []string{"alertmanager", "desk-hook"})
			// The same cell critical again (a reconnect's snapshot) is no news.
			if cs := b.Signal(sig(c.at(2*time.Second), rules.Undefined, rules.Critical, opens(rules.Critical))); len(cs) != 0 {
				t.Fatalf("a repeat changed something: %+v", cs)
			}
			if n := len(b.Incidents()); n != 1 {
				t.Fatalf("%d incidents held, want 1", n)
			}
			// Another rule on the same cell opens its own.
			s := sig(c.at(3*time.Second), rules.Critical, rules.Critical, opens(rules.Critical))
			s.Rule = "router-restarts"
			cs := b.Signal(s)
			if len(cs) != 2 {
				t.Fatalf("another rule: want the first incident recovered and a second opened, got %+v", cs)
			}
			if cs[0].Incident.ID != "INC-20261201-0001" || cs[0].Incident.State != Resolved {
				t.Fatalf("the first rule's incident: %+v", cs[0].Incident)
			}
			if cs[1].Incident.ID != "INC-20261201-0002" || cs[1].Incident.Rule != "router-restarts" {
				t.Fatalf("the second rule's incident: %+v", cs[1].Incident)
			}
		}},
		{"a short spike coalesced away still opens, and resolves at once", func(t *testing.T, b *Book, c *clock) {
			s := sig(c.at(0), rules.OK, rules.OK, opens(rules.Critical))
			s.Worst = rules.Critical
			ch := only(t, b.Signal(s))
			want(t, "events", kinds(ch), []EventKind{EvOpened, EvResolved})
			if ch.Incident.Peak != rules.Critical || ch.Incident.State != Resolved {
				t.Fatalf("%+v", ch.Incident)
			}
		}},
		{"auto-resolves when the cell is ok, and tells who was told", func(t *testing.T, b *Book, c *clock) {
			b.Signal(sig(c.at(0), rules.OK, rules.Critical, opens(rules.Critical)))
			b.Signal(sig(c.at(time.Minute), rules.Critical, rules.Warning, opens(rules.Critical)))
			ch := only(t, b.Signal(sig(c.at(2*time.Minute), rules.Warning, rules.OK, opens(rules.Critical))))
			want(t, "events", kinds(ch), []EventKind{EvResolved})
			want(t, "effects", effects(ch), []string{"resolved"})
			inc := ch.Incident
			if inc.State != Resolved || !inc.Resolved.Equal(c.now) || inc.Peak != rules.Critical || inc.Events != 3 {
				t.Fatalf("%+v", inc)
			}
			if !inc.ReopenUntil.Equal(c.now.Add(10 * time.Minute)) {
				t.Fatalf("reopen window ends %v", inc.ReopenUntil)
			}
		}},
		{"a manual rule waits for a person, then a manager resolves", func(t *testing.T, b *Book, c *clock) {
			def := opens(rules.Critical)
			def.Manual = true
			b.Signal(sig(c.at(0), rules.OK, rules.Critical, def))
			ch := only(t, b.Signal(sig(c.at(time.Minute), rules.Critical, rules.OK, def)))
			want(t, "events", kinds(ch), []EventKind{EvRecovered})
			if ch.Incident.State != Open || ch.Incident.Severity != rules.OK || ch.Incident.Recovered.IsZero() {
				t.Fatalf("%+v", ch.Incident)
			}
			r, err := b.Resolve(ch.Incident.ID, "maria", "restarted by hand", c.at(2*time.Minute))
			if err != nil {
				t.Fatal(err)
			}
			if r.Incident.State != Resolved || r.Events[0].Who != "maria" || r.Events[0].Text != "restarted by hand" {
				t.Fatalf("%+v", r)
			}
		}},
		{"a flap within the window reopens the same incident; after it, a new one", func(t *testing.T, b *Book, c *clock) {
			b.Signal(sig(c.at(0), rules.OK, rules.Critical, opens(rules.Critical)))
			b.Signal(sig(c.at(time.Minute), rules.Critical, rules.OK, opens(rules.Critical)))
			ch := only(t, b.Signal(sig(c.at(5*time.Minute), rules.OK, rules.Critical, opens(rules.Critical))))
			want(t, "events", kinds(ch), []EventKind{EvReopened})
			want(t, "effects", effects(ch), []string{"reopened!"})
			if ch.Incident.ID != "INC-20261201-0001" || ch.Incident.State != Open || ch.Incident.Reopened != 1 {
				t.Fatalf("%+v", ch.Incident)
			}
			b.Signal(sig(c.at(6*time.Minute), rules.Critical, rules.OK, opens(rules.Critical)))
			// The window (10m from 6m) passes: the book lets it go.
			tick := only(t, b.Tick(c.at(16*time.Minute)))
			if !tick.Forget || len(tick.Events) != 0 {
				t.Fatalf("window end: %+v", tick)
			}
			ch = only(t, b.Signal(sig(c.at(17*time.Minute), rules.OK, rules.Critical, opens(rules.Critical))))
			if ch.Incident.ID != "INC-20261201-0002" {
				t.Fatalf("after the window: %s, want a new incident", ch.Incident.ID)
			}
		}},
		{"acknowledged, then worsened: the acknowledgement lifts and the alert fires again", func(t *testing.T, b *Book, c *clock) {
			ch := only(t, b.Signal(sig(c.at(0), rules.OK, rules.Warning, opens(rules.Warning))))
			id := ch.Incident.ID
			ack, err := b.Acknowledge(id, "olu", "looking", c.at(time.Minute))
			if err != nil {
				t.Fatal(err)
			}
			if a := ack.Incident.Ack; a == nil || a.By != "olu" || a.Severity != rules.Warning || !a.At.Equal(c.now) || a.Comment != "looking" {
				t.Fatalf("ack %+v", ack.Incident.Ack)
			}
			want(t, "ack effects", effects(ack), []string{"changed"})
			// Still warning: the acknowledgement holds.
			b.Signal(sig(c.at(2*time.Minute), rules.Warning, rules.OK, opens(rules.Warning)))
			ch = only(t, b.Signal(sig(c.at(3*time.Minute), rules.OK, rules.Warning, opens(rules.Warning))))
			if ch.Incident.Reopened != 1 || ch.Incident.Ack != nil {
				t.Fatalf("reopened: %+v", ch.Incident)
			}
			if _, err := b.Acknowledge(id, "olu", "", c.at(4*time.Minute)); err != nil {
				t.Fatal(err)
			}
			ch = only(t, b.Signal(sig(c.at(5*time.Minute), rules.Warning, rules.Critical, opens(rules.Warning))))
			want(t, "events", kinds(ch), []EventKind{EvSeverity, EvAckLifted})
			want(t, "effects", effects(ch), []string{"worsened!"})
			if ch.Incident.Ack != nil {
				t.Fatal("the acknowledgement held past a worse severity")
			}
			// Unacknowledge of nothing is refused.
			if _, err := b.Unacknowledge(id, "olu", "", c.now); !errors.Is(err, ErrState) {
				t.Fatalf("unacknowledge: %v", err)
			}
		}},
		{"escalation chain: levels fire in turn while critical and unacknowledged", func(t *testing.T, b *Book, c *clock) {
			ch := only(t, b.Signal(sig(c.at(0), rules.OK, rules.Critical, opens(rules.Critical))))
			if ch.Incident.Escalation.Policy != "desk" {
				t.Fatalf("the policy's default escalation was not taken: %+v", ch.Incident.Escalation)
			}
			if next := b.Next(); !next.Equal(t0.Add(5 * time.Minute)) {
				t.Fatalf("next deadline %v, want the first level at 5m", next)
			}
			if cs := b.Tick(c.at(4 * time.Minute)); len(cs) != 0 {
				t.Fatalf("early tick: %+v", cs)
			}
			ch = only(t, b.Tick(c.at(5*time.Minute)))
			want(t, "events", kinds(ch), []EventKind{EvEscalated})
			if e := ch.Effects[0]; e.Event != "escalated" || e.Level != 1 || !slices.Equal(e.Notify, []string{"mail-manager"}) {
				t.Fatalf("level 1: %+v", e)
			}
			if !b.Next().Equal(t0.Add(15 * time.Minute)) {
				t.Fatalf("next %v, want level 2 at 15m", b.Next())
			}
			ch = only(t, b.Tick(c.at(15*time.Minute)))
			if e := ch.Effects[0]; e.Level != 2 || !slices.Equal(e.Notify, []string{"page-oncall"}) {
				t.Fatalf("level 2: %+v", e)
			}
			if ch.Incident.Escalation.Level != 2 || !ch.Incident.Escalation.Next.IsZero() {
				t.Fatalf("after the last level: %+v", ch.Incident.Escalation)
			}
			if cs := b.Tick(c.at(time.Hour)); len(cs) != 0 {
				t.Fatalf("a level fired twice: %+v", cs)
			}
		}},
		{"an acknowledgement stops escalation; taking it back resumes it", func(t *testing.T, b *Book, c *clock) {
			ch := only(t, b.Signal(sig(c.at(0), rules.OK, rules.Critical, opens(rules.Critical))))
			id := ch.Incident.ID
			if _, err := b.Acknowledge(id, "olu", "", c.at(time.Minute)); err != nil {
				t.Fatal(err)
			}
			if cs := b.Tick(c.at(10 * time.Minute)); len(cs) != 0 {
				t.Fatalf("an acknowledged incident escalated: %+v", cs)
			}
			un, err := b.Unacknowledge(id, "olu", "handing over", c.at(11*time.Minute))
			if err != nil {
				t.Fatal(err)
			}
			want(t, "unack effects", effects(un), []string{"changed!"})
			// Critical since 0m: level 1 (5m) is overdue and fires at the next tick.
			ch = only(t, b.Tick(c.at(11*time.Minute)))
			want(t, "events", kinds(ch), []EventKind{EvEscalated})
		}},
		{"a warning incident does not escalate until critical", func(t *testing.T, b *Book, c *clock) {
			b.Signal(sig(c.at(0), rules.OK, rules.Warning, opens(rules.Warning)))
			if cs := b.Tick(c.at(time.Hour)); len(cs) != 0 {
				t.Fatalf("warning escalated: %+v", cs)
			}
			b.Signal(sig(c.at(time.Hour), rules.Warning, rules.Critical, opens(rules.Warning)))
			if !b.Next().Equal(t0.Add(time.Hour + 5*time.Minute)) {
				t.Fatalf("escalation counts from becoming critical: next %v", b.Next())
			}
		}},
		{"client updates fall due at the client's cadence, overdue until recorded", func(t *testing.T, b *Book, c *clock) {
			def := opens(rules.Critical)
			def.Impact = true
			ch := only(t, b.Signal(sig(c.at(0), rules.OK, rules.Critical, def)))
			inc := ch.Incident
			want(t, "events", kinds(ch), []EventKind{EvOpened, EvImpact, EvNoticeDrafted})
			if d, ok := inc.Drafts[ProblemNotice]; !ok || d.Subject != "Problem: router-down on router" || d.Via != "mail-acme" {
				t.Fatalf("problem draft: %+v", inc.Drafts)
			}
			if !inc.NextUpdate.Equal(t0.Add(15 * time.Minute)) {
				t.Fatalf("first update due %v, want at acme's 15m", inc.NextUpdate)
			}
			if inc.UpdateOverdue(t0.Add(14 * time.Minute)) {
				t.Fatal("overdue early")
			}
			// First line owns it, so it does not escalate.
			if _, err := b.Acknowledge(inc.ID, "olu", "", c.at(time.Minute)); err != nil {
				t.Fatal(err)
			}
			ch = only(t, b.Tick(c.at(15*time.Minute)))
			want(t, "events", kinds(ch), []EventKind{EvUpdateDue, EvNoticeDrafted})
			if !ch.Incident.UpdateLate || !ch.Incident.UpdateOverdue(c.now) {
				t.Fatalf("not overdue: %+v", ch.Incident)
			}
			if cs := b.Tick(c.at(20 * time.Minute)); len(cs) != 0 {
				t.Fatalf("due noted twice: %+v", cs)
			}
			n := ch.Incident.Drafts[UpdateNotice]
			n.Body += " Next update in 15 minutes."
			sent, err := b.SendNotice(inc.ID, "cara", n, c.at(21*time.Minute))
			if err != nil {
				t.Fatal(err)
			}
			if e := sent.Effects[0]; e.Event != "notice" || e.Notice.Body != n.Body || !slices.Equal(e.Notify, []string{"mail-acme"}) {
				t.Fatalf("notice effect %+v", sent.Effects)
			}
			if sent.Incident.UpdateLate || !sent.Incident.NextUpdate.Equal(c.now.Add(15*time.Minute)) {
				t.Fatalf("after the update: %+v", sent.Incident)
			}
			rec, err := b.RecordUpdate(inc.ID, "cara", "phoned their desk", c.at(30*time.Minute))
			if err != nil {
				t.Fatal(err)
			}
			if !rec.Incident.NextUpdate.Equal(c.now.Add(15 * time.Minute)) {
				t.Fatalf("recorded: next %v", rec.Incident.NextUpdate)
			}
			// Resolution drafts the resolved notice at once and stops updates.
			ch = only(t, b.Signal(sig(c.at(31*time.Minute), rules.Critical, rules.OK, def)))
			want(t, "events", kinds(ch), []EventKind{EvResolved, EvNoticeDrafted})
			if d := ch.Incident.Drafts[ResolvedNotice]; d.Body != inc.ID+" is resolved; business can resume." || !ch.Incident.NextUpdate.IsZero() {
				t.Fatalf("resolved draft %+v, next %v", d, ch.Incident.NextUpdate)
			}
		}},
		{"a client without settings gets the default cadence; marking impact by hand", func(t *testing.T, b *Book, c *clock) {
			s := sig(c.at(0), rules.OK, rules.Critical, opens(rules.Critical))
			s.Client = "globex"
			ch := only(t, b.Signal(s))
			if !ch.Incident.NextUpdate.IsZero() {
				t.Fatal("an update is due without impact")
			}
			m, err := b.MarkImpact(ch.Incident.ID, "cara", true, "orders rejected", c.at(time.Minute))
			if err != nil {
				t.Fatal(err)
			}
			if !m.Incident.NextUpdate.Equal(c.now.Add(30*time.Minute)) || m.Incident.Impact.By != "cara" {
				t.Fatalf("%+v", m.Incident)
			}
			if m.Incident.Drafts[ProblemNotice].Via != "" {
				t.Fatal("globex has no notice action")
			}
		}},
		{"snoozing an incident silences escalation until it expires, and then it alerts", func(t *testing.T, b *Book, c *clock) {
			ch := only(t, b.Signal(sig(c.at(0), rules.OK, rules.Critical, opens(rules.Critical))))
			id := ch.Incident.ID
			if _, err := b.Snooze(id, "olu", SnoozeSpec{Until: c.at(time.Minute).Add(20 * time.Minute)}, c.now); !errors.Is(err, ErrInvalid) {
				t.Fatalf("a snooze without a reason: %v", err)
			}
			if _, err := b.Snooze(id, "olu", SnoozeSpec{Reason: "x", Until: c.now.Add(-time.Second)}, c.now); !errors.Is(err, ErrInvalid) {
				t.Fatalf("a snooze in the past: %v", err)
			}
			sn, err := b.Snooze(id, "olu", SnoozeSpec{Reason: "vendor fixing the feed", Until: c.now.Add(20 * time.Minute)}, c.now)
			if err != nil {
				t.Fatal(err)
			}
			if s := sn.Incident.Snooze; s.By != "olu" || s.Reason == "" || !s.Until.Equal(t0.Add(21*time.Minute)) {
				t.Fatalf("snooze %+v", s)
			}
			if l := b.Snoozes(); len(l) != 1 || l[0].Target != id {
				t.Fatalf("snoozes listed %+v", l)
			}
			if cs := b.Tick(c.at(10 * time.Minute)); len(cs) != 0 {
				t.Fatalf("escalated while snoozed: %+v", cs)
			}
			// Worse while snoozed: recorded, no alert.
			ch = only(t, b.Signal(sig(c.at(11*time.Minute), rules.Critical, rules.Warning, opens(rules.Critical))))
			want(t, "snoozed effects", effects(ch), nil)
			b.Signal(sig(c.at(12*time.Minute), rules.Warning, rules.Critical, opens(rules.Critical)))
			ch = only(t, b.Tick(c.at(21*time.Minute)))
			want(t, "events", kinds(ch), []EventKind{EvSnoozeEnded, EvEscalated})
			want(t, "effects", effects(ch), []string{"changed!", "escalated!"})
		}},
		{"a snooze until the severity changes ends with it", func(t *testing.T, b *Book, c *clock) {
			ch := only(t, b.Signal(sig(c.at(0), rules.OK, rules.Warning, opens(rules.Warning))))
			if _, err := b.Snooze(ch.Incident.ID, "olu", SnoozeSpec{Reason: "known", Until: c.now.Add(time.Hour), UntilChange: true}, c.now); err != nil {
				t.Fatal(err)
			}
			ch = only(t, b.Signal(sig(c.at(time.Minute), rules.Warning, rules.Critical, opens(rules.Warning))))
			want(t, "events", kinds(ch), []EventKind{EvSeverity, EvSnoozeEnded})
			want(t, "effects", effects(ch), []string{"worsened"})
			if ch.Incident.Snooze != nil {
				t.Fatal("the snooze held past a change")
			}
		}},
		{"a snoozed cell opens its incident silently; the snooze's end alerts", func(t *testing.T, b *Book, c *clock) {
			cs, err := b.SnoozeCell(cell, rules.OK, "olu", SnoozeSpec{Reason: "maintenance", Until: c.at(0).Add(30 * time.Minute)}, c.now)
			if err != nil || len(cs) != 1 || cs[0].Snooze == nil || cs[0].Snooze.Target != cell {
				t.Fatalf("snooze cell: %+v, %v", cs, err)
			}
			ch := only(t, b.Signal(sig(c.at(time.Minute), rules.OK, rules.Critical, opens(rules.Critical))))
			want(t, "effects while snoozed", effects(ch), nil)
			if ch.Incident.Alerted {
				t.Fatal("alerted while the cell is snoozed")
			}
			if cs := b.Tick(c.at(10 * time.Minute)); len(cs) != 0 {
				t.Fatalf("escalated while the cell is snoozed: %+v", cs)
			}
			cs = b.Tick(c.at(30 * time.Minute))
			if len(cs) < 2 || cs[0].Unsnoozed != cell {
				t.Fatalf("expiry: %+v", cs)
			}
			var all Change
			for _, c := range cs[1:] {
				all.Events = append(all.Events, c.Events...)
				all.Effects = append(all.Effects, c.Effects...)
			}
			want(t, "events", kinds(all), []EventKind{EvSnoozeEnded, EvEscalated})
			want(t, "effects", effects(all), []string{"changed!", "escalated!"})
		}},
		{"a snoozed incident that recovers before anyone was told announces nothing", func(t *testing.T, b *Book, c *clock) {
			if _, err := b.SnoozeCell(cell, rules.OK, "olu", SnoozeSpec{Reason: "maintenance", Until: c.at(0).Add(time.Hour)}, c.now); err != nil {
				t.Fatal(err)
			}
			b.Signal(sig(c.at(time.Minute), rules.OK, rules.Critical, opens(rules.Critical)))
			b.Tick(c.at(2 * time.Hour)) // the snooze ends: now it alerts
			ch := only(t, b.Signal(sig(c.at(2*time.Hour+time.Minute), rules.Critical, rules.OK, opens(rules.Critical))))
			want(t, "effects", effects(ch), []string{"resolved"})
		}},
		{"raised by an operator: open until a person resolves it, then let go", func(t *testing.T, b *Book, c *clock) {
			if _, err := b.Raise(Raise{}, "olu", c.at(0)); !errors.Is(err, ErrInvalid) {
				t.Fatalf("raise without a title: %v", err)
			}
			ch, err := b.Raise(Raise{Title: "Client cannot log in", Entity: "frontend", Probe: "venue", Text: "phoned at 09:00"}, "olu", c.now)
			if err != nil {
				t.Fatal(err)
			}
			inc := ch.Incident
			if inc.RaisedBy != "olu" || inc.Severity != rules.Warning || !inc.Manual || inc.Rule != "" {
				t.Fatalf("%+v", inc)
			}
			want(t, "events", kinds(ch), []EventKind{EvRaised})
			want(t, "effects", effects(ch), []string{"opened!"})
			if cs := b.Tick(c.at(time.Hour)); len(cs) != 0 {
				t.Fatalf("%+v", cs)
			}
			if _, err := b.Resolve(inc.ID, "maria", "fixed", c.now); err != nil {
				t.Fatal(err)
			}
			tick := only(t, b.Tick(c.at(time.Hour+time.Second)))
			if !tick.Forget {
				t.Fatal("a resolved raised incident is held on")
			}
		}},
		{"raised by a client, impacting it: updates fall due", func(t *testing.T, b *Book, c *clock) {
			ch, err := b.Raise(Raise{Title: "Our orders are slow", Client: "acme", Impact: true, Severity: rules.Critical}, "acme-trader", c.at(0))
			if err != nil {
				t.Fatal(err)
			}
			if !ch.Incident.NextUpdate.Equal(t0.Add(15*time.Minute)) || ch.Incident.Client != "acme" {
				t.Fatalf("%+v", ch.Incident)
			}
			if _, err := b.Raise(Raise{Title: "x", Impact: true}, "olu", c.now); !errors.Is(err, ErrInvalid) {
				t.Fatalf("impact without a client: %v", err)
			}
			if _, err := b.Raise(Raise{Title: "x", Severity: rules.OK}, "olu", c.now); !errors.Is(err, ErrInvalid) {
				t.Fatalf("an ok incident: %v", err)
			}
		}},
		{"close: from open or resolved, once; nothing reopens a closed incident", func(t *testing.T, b *Book, c *clock) {
			ch := only(t, b.Signal(sig(c.at(0), rules.OK, rules.Critical, opens(rules.Critical))))
			id := ch.Incident.ID
			cl, err := b.Close(id, "maria", "duplicate of a vendor ticket", c.at(time.Minute))
			if err != nil {
				t.Fatal(err)
			}
			want(t, "events", kinds(cl), []EventKind{EvResolved, EvClosed})
			if !cl.Forget || cl.Incident.State != Closed {
				t.Fatalf("%+v", cl)
			}
			if _, err := b.Acknowledge(id, "olu", "", c.now); !errors.Is(err, ErrNotFound) {
				t.Fatalf("ack a closed incident the book let go: %v", err)
			}
			b.Adopt(*cl.Incident)
			if _, err := b.Close(id, "maria", "", c.now); !errors.Is(err, ErrState) {
				t.Fatalf("close twice: %v", err)
			}
			ch = only(t, b.Signal(sig(c.at(2*time.Minute), rules.Critical, rules.Critical, opens(rules.Critical))))
			if ch.Incident.ID == id {
				t.Fatal("a closed incident reopened")
			}
		}},
		{"comments, assignment and the report are on the timeline with who and when", func(t *testing.T, b *Book, c *clock) {
			ch := only(t, b.Signal(sig(c.at(0), rules.OK, rules.Critical, opens(rules.Critical))))
			id := ch.Incident.ID
			steps := []func() (Change, error){
				func() (Change, error) { return b.Assign(id, "maria", "olu", c.at(time.Minute)) },
				func() (Change, error) { return b.Comment(id, "olu", "restarting the router", c.at(2*time.Minute)) },
				func() (Change, error) {
					return b.EditReport(id, "maria", Report{Cause: "disk full", Remedy: "rotated logs"}, c.at(3*time.Minute))
				},
			}
			for i, step := range steps {
				got, err := step()
				if err != nil {
					t.Fatal(err)
				}
				e := got.Events[0]
				if e.Seq != i+2 || !e.Time.Equal(c.now) || e.Who == "" {
					t.Fatalf("step %d: %+v", i, e)
				}
			}
			if _, err := b.Comment(id, "olu", " ", c.now); !errors.Is(err, ErrInvalid) {
				t.Fatalf("empty comment: %v", err)
			}
			if _, err := b.Comment(id, "olu", strings.Repeat("x", maxText+1), c.now); !errors.Is(err, ErrInvalid) {
				t.Fatalf("huge comment: %v", err)
			}
			inc, _ := b.Get(id)
			if inc.Assignee != "olu" || inc.Report.Cause != "disk full" || inc.Events != 4 {
				t.Fatalf("%+v", inc)
			}
		}},
		{"numbers continue the day's and restart on a new day", func(t *testing.T, _ *Book, c *clock) {
			b := NewBook(desk(), "20261201", 41)
			ch := only(t, b.Signal(sig(c.at(0), rules.OK, rules.Critical, opens(rules.Critical))))
			if ch.Incident.ID != "INC-20261201-0042" {
				t.Fatal(ch.Incident.ID)
			}
			s := sig(c.at(24*time.Hour), rules.OK, rules.Critical, opens(rules.Critical))
			s.Path = cell + "2"
			if ch := only(t, b.Signal(s)); ch.Incident.ID != "INC-20261202-0001" {
				t.Fatal(ch.Incident.ID)
			}
		}},
		{"loaded after a restart, an incident is matched again without a duplicate", func(t *testing.T, b *Book, c *clock) {
			ch := only(t, b.Signal(sig(c.at(0), rules.OK, rules.Critical, opens(rules.Critical))))
			stored := *ch.Incident
			b2 := NewBook(desk(), "20261201", 1)
			b2.Load([]Incident{stored}, nil, c.now)
			// The probe reconnects with the cell still critical: nothing new.
			if cs := b2.Signal(sig(c.at(time.Minute), rules.Undefined, rules.Critical, opens(rules.Critical))); len(cs) != 0 {
				t.Fatalf("a duplicate: %+v", cs)
			}
			// It recovered while the gateway was down: resolved once.
			got := only(t, b2.Signal(sig(c.at(2*time.Minute), rules.Undefined, rules.OK, opens(rules.Critical))))
			if got.Incident.ID != stored.ID || got.Incident.State != Resolved || got.Events[0].Seq != stored.Events+1 {
				t.Fatalf("%+v", got)
			}
			if cs := b2.Signal(sig(c.at(3*time.Minute), rules.Undefined, rules.OK, opens(rules.Critical))); len(cs) != 0 {
				t.Fatalf("resolved twice: %+v", cs)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.run(t, NewBook(desk(), "", 0), &clock{})
		})
	}
}
