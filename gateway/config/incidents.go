package config

import (
	"fmt"
	"io"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"text/template"
	"text/template/parse"
	"time"
	"unicode/utf8"

	"github.com/watchfloor/watchfloor/gateway/incident"
)

// The incidents section: how incidents reopen, escalate and keep their
// clients told, and the notices' templates. The keys are decoded and
// checked here; the references to actions in actions.go.

// DefaultIncidents is the incidents section's defaults: every duration
// set, and a template for every kind of notice.
func DefaultIncidents() Incidents {
	return Incidents{
		Policy: incident.Policy{
			ReopenWindow:  incident.DefaultReopen,
			UpdateEvery:   incident.DefaultUpdateEvery,
			SnoozeWarning: incident.DefaultSnoozeWarning,
			MaxSnooze:     incident.DefaultMaxSnooze,
			Templates:     DefaultTemplates(),
		},
		Retention: DefaultIncidentRetention,
	}
}

// stamp is how the default notices write a time: clients of a trading
// desk are in many zones, and UTC is the one they share.
const stamp = `.UTC.Format "2 Jan 2006 15:04 MST"`

// DefaultTemplates returns the notices a client gets when the
// configuration gives no templates of its own, by kind: a new map each
// call.
func DefaultTemplates() map[incident.NoticeKind]incident.Template {
	return map[incident.NoticeKind]incident.Template{
		incident.ProblemNotice: {
			Subject: `[{{.ID}}] Investigating: {{.Title}}`,
			Body: `Hello,

Since {{.Opened` + stamp + `}} we have been seeing a problem that may affect your service: {{.Title}}.

Our support desk is working on it and will keep you updated until it is resolved. Please quote {{.ID}} in any reply.

Regards,
The support desk
`,
		},
		incident.UpdateNotice: {
			Subject: `[{{.ID}}] Update: {{.Title}}`,
			Body: `Hello,

Our support desk is still working on {{.ID}}, open since {{.Opened` + stamp + `}}: {{.Title}}.
{{with .Report.Cause}}
Cause: {{.}}
{{end}}{{with .Report.Remedy}}
What we are doing: {{.}}
{{end}}
We will update you again shortly, or as soon as it is resolved.

Regards,
The support desk
`,
		},
		incident.ResolvedNotice: {
			Subject: `[{{.ID}}] Resolved: {{.Title}}`,
			Body: `Hello,

{{.ID}} ({{.Title}}) was resolved at {{.Resolved` + stamp + `}}.
{{with .Report.Cause}}
Cause: {{.}}
{{end}}{{with .Report.Remedy}}
Remedy: {{.}}
{{end}}{{with .Report.Preventive}}
To prevent a recurrence: {{.}}
{{end}}
Thank you for your patience. If you still see any effect, please contact the support desk quoting {{.ID}}.

Regards,
The support desk
`,
		},
	}
}

// incidents decodes the incidents section into in, which holds the
// defaults.
func incidents(v value, in *Incidents) {
	p := &in.Policy
	var given []string // clients that set their own cadence
	v.object(
		optional("reopen_window", positive(&p.ReopenWindow, "10m")),
		optional("retention", positive(&in.Retention, "720h or 2160h")),
		optional("notify", func(v value) { p.Notify = strs(v) }),
		optional("update_every", positive(&p.UpdateEvery, "15m or 1h")),
		optional("snooze_warning", positive(&p.SnoozeWarning, "15m")),
		optional("max_snooze", positive(&p.MaxSnooze, "24h or 168h")),
		optional("default_escalation", setStr(&p.Default)),
		optional("escalations", func(v value) { p.Escalations = escalations(v) }),
		optional("clients", func(v value) { p.Clients, given = clients(v) }),
		optional("templates", func(v value) {
			v.object(
				optional(string(incident.ProblemNotice), noticeTemplate(p.Templates, incident.ProblemNotice)),
				optional(string(incident.UpdateNotice), noticeTemplate(p.Templates, incident.UpdateNotice)),
				optional(string(incident.ResolvedNotice), noticeTemplate(p.Templates, incident.ResolvedNotice)),
			)
		}),
	)
	// A listed client without a cadence of its own has the section's,
	// which may be written after it.
	for name, c := range p.Clients {
		if !slices.Contains(given, name) {
			c.UpdateEvery = p.UpdateEvery
			p.Clients[name] = c
		}
	}
}

// escalations decodes the escalation policies by name, each a list of
// levels; nil when there are none. A policy whose levels are broken is
// kept, so that the rules naming it are not also told it is unknown.
func escalations(v value) map[string]incident.EscalationPolicy {
	es, _ := v.entries("a mapping of policy names to their levels")
	var m map[string]incident.EscalationPolicy
	for _, e := range es {
		e.val.placeAt(e.at)
		var levels []incident.Level
		for _, item := range e.val.items() {
			var l incident.Level
			item.object(
				required("after", positive(&l.After, "10m or 1h")),
				optional("notify", func(v value) { l.Notify = strs(v) }),
			)
			levels = append(levels, l)
		}
		if m == nil {
			m = map[string]incident.EscalationPolicy{}
		}
		m[e.key] = incident.EscalationPolicy{Levels: levels}
	}
	return m
}

// clients decodes the clients by name, nil when there are none, and
// which of them give their own update_every.
func clients(v value) (m map[string]incident.Client, given []string) {
	es, _ := v.entries("a mapping of client names to their settings")
	for _, e := range es {
		e.val.placeAt(e.at)
		var c incident.Client
		e.val.object(
			optional("update_every", func(v value) {
				positive(&c.UpdateEvery, "15m or 1h")(v)
				given = append(given, e.key)
			}),
			optional("via", setStr(&c.Via)),
		)
		if m == nil {
			m = map[string]incident.Client{}
		}
		m[e.key] = c
	}
	return m, given
}

// noticeTemplate returns a decode function that sets the template of
// kind in ts.
func noticeTemplate(ts map[incident.NoticeKind]incident.Template, kind incident.NoticeKind) func(value) {
	return func(v value) {
		var t incident.Template
		v.object(
			required("subject", setText(&t.Subject)),
			required("body", setText(&t.Body)),
		)
		ts[kind] = t
	}
}

// incidents checks the incidents section: its durations, its escalation
// policies, its clients, its templates, and the references to policies
// from it and from the rules.
// Parse refuses zero durations; in a Config built in code they are the
// defaults, as incident.Policy says of its own.
func (v *validator) incidents(c *Config) {
	in := &c.Incidents
	p := &in.Policy
	for _, d := range []struct {
		field string
		d     time.Duration
	}{
		{"incidents.retention", in.Retention},
		{"incidents.reopen_window", p.ReopenWindow},
		{"incidents.update_every", p.UpdateEvery},
		{"incidents.snooze_warning", p.SnoozeWarning},
		{"incidents.max_snooze", p.MaxSnooze},
	} {
		if d.d < 0 {
			v.errorf(d.field, "must not be negative")
		}
	}
	for _, name := range slices.Sorted(maps.Keys(p.Escalations)) {
		f := join("incidents.escalations", name)
		v.name(f, "an escalation policy", name)
		levels := p.Escalations[name].Levels
		if len(levels) == 0 {
			v.errorf(f, "list at least one level")
		}
		var prev time.Duration
		for j, l := range levels {
			lf := index(f, j)
			switch {
			case l.After <= 0:
				v.errorf(lf+".after", "must be more than 0s")
			case j > 0 && l.After <= prev:
				v.errorf(lf+".after", "%s is not after the level before it (%s): levels fire in order", short(l.After), short(prev))
			}
			prev = max(prev, l.After)
			if len(l.Notify) == 0 {
				v.errorf(lf+".notify", "name at least one action")
			}
		}
	}
	if p.Default != "" {
		v.escalationRef("incidents.default_escalation", p.Default, p.Escalations)
	}
	for i, d := range c.Rules {
		if d.Incident != nil && d.Incident.Escalation != "" {
			v.escalationRef(index("rules", i)+".incident.escalation", d.Incident.Escalation, p.Escalations)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(p.Clients)) {
		f := join("incidents.clients", name)
		switch c := p.Clients[name]; {
		case name == "":
			v.errorf(f, "a client needs a name")
		case !utf8.ValidString(name):
			v.errorf(f, "client names must be valid UTF-8")
		case c.UpdateEvery < 0:
			v.errorf(f+".update_every", "must not be negative")
		}
	}
	for _, kind := range slices.Sorted(maps.Keys(p.Templates)) {
		f := join("incidents.templates", string(kind))
		if !slices.Contains(incident.NoticeKinds, kind) {
			v.errorf(f, "unknown notice kind %q (known: %s)", kind, noticeKinds())
			continue
		}
		t := p.Templates[kind]
		v.noticeTemplate(f+".subject", t.Subject)
		v.noticeTemplate(f+".body", t.Body)
	}
}

// escalationRef checks a reference to an escalation policy, unless the
// policies did not all decode.
func (v *validator) escalationRef(field, name string, policies map[string]incident.EscalationPolicy) {
	if _, ok := policies[name]; ok || v.skipped("incidents.escalations") {
		return
	}
	known := "none are defined"
	if len(policies) > 0 {
		known = "known: " + strings.Join(slices.Sorted(maps.Keys(policies)), ", ")
	}
	v.errorf(field, "unknown escalation policy %q (%s)", name, known)
}

func noticeKinds() string {
	names := make([]string, len(incident.NoticeKinds))
	for i, k := range incident.NoticeKinds {
		names[i] = string(k)
	}
	return strings.Join(names, ", ")
}

// noticeTemplate checks that a notice's template parses and runs, as
// incident.Book.Draft runs it, over an incident with nothing in it: a
// misspelt field, or one that is not always set (.Ack.By), would
// otherwise fail the draft when an incident needs it.
func (v *validator) noticeTemplate(field, text string) {
	if v.skipped(field) {
		return
	}
	if err := runTemplate("notice", text, &incident.Incident{}); err != nil {
		v.templateError(field, text, err)
	}
}

// runTemplate parses text as the incident book does, and runs it over
// data with missingkey=error. It refuses a range over a number written
// in the text ({{range 1000000000}}), which would run that many times at
// every draft, and here.
func runTemplate(name, text string, data any) error {
	t, err := template.New(name).Option("missingkey=error").Parse(text)
	if err != nil {
		return err
	}
	for _, tt := range t.Templates() {
		if tt.Tree == nil {
			continue
		}
		if n := countedRange(tt.Tree.Root); n != nil {
			loc, _ := tt.ErrorContext(n)
			return fmt.Errorf("template: %s: a range over a number is not allowed", loc)
		}
	}
	return t.Execute(io.Discard, data)
}

// countedRange returns the number of the first range under n over a
// number literal, or nil.
func countedRange(n parse.Node) parse.Node {
	var branch *parse.BranchNode
	switch n := n.(type) {
	case *parse.ListNode:
		if n == nil {
			return nil
		}
		for _, c := range n.Nodes {
			if r := countedRange(c); r != nil {
				return r
			}
		}
		return nil
	case *parse.RangeNode:
		for _, c := range n.Pipe.Cmds {
			for _, a := range c.Args {
				if _, ok := a.(*parse.NumberNode); ok {
					return a
				}
			}
		}
		branch = &n.BranchNode
	case *parse.IfNode:
		branch = &n.BranchNode
	case *parse.WithNode:
		branch = &n.BranchNode
	default:
		return nil
	}
	if r := countedRange(branch.List); r != nil {
		return r
	}
	return countedRange(branch.ElseList)
}

// templateErr takes apart text/template's errors: "template: NAME:LINE:
// MSG" from parsing, "template: NAME:LINE:COL: executing "NAME" at
// <NODE>: MSG" from running, COL counted in bytes from 0.
var templateErr = regexp.MustCompile(`(?s)^template: [^:]*:(\d+)(?::(\d+))?: (?:executing "[^"]*" at )?(.*)$`)

// templateError records the error of the template text at field, placed
// as ruleError places an expression's: at its line in the file (and its
// character, when the error says which) where the text can be followed
// there, and at the value otherwise, with the place in the text in the
// message.
func (v *validator) templateError(field, text string, err error) {
	if v.skipped(field) {
		return
	}
	m := templateErr.FindStringSubmatch(err.Error())
	if m == nil {
		v.errorf(field, "%v", err)
		return
	}
	line, _ := strconv.Atoi(m[1])
	col := 1
	if lines := strings.Split(text, "\n"); m[2] != "" && line <= len(lines) {
		if b, _ := strconv.Atoi(m[2]); b <= len(lines[line-1]) {
			col = utf8.RuneCountInString(lines[line-1][:b]) + 1
		}
	}
	e := Error{File: v.file, Field: field, Msg: m[3]}
	if v.place != nil {
		e.Line, e.Column = v.place(field)
	}
	exact := false
	if v.text != nil {
		if l, c, ok := v.text(field, line, col); ok {
			e.Line, e.Column, exact = l, c, true
		}
	}
	switch {
	case exact:
	case m[2] != "":
		e.Msg += fmt.Sprintf(" (at %d:%d in the value)", line, col)
	case strings.Contains(text, "\n"):
		e.Msg += fmt.Sprintf(" (at line %d in the value)", line)
	}
	v.errs = append(v.errs, e)
}
