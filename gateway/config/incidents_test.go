package config_test

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/watchfloor/watchfloor/gateway/config"
	"github.com/watchfloor/watchfloor/gateway/incident"
	"github.com/watchfloor/watchfloor/rules"
)

// TestParseIncidents checks what the incidents section, the actions and a
// rule's incident key decode to, every key given.
func TestParseIncidents(t *testing.T) {
	c, err := config.Load("testdata/incidents.good.yaml")
	if err != nil {
		t.Fatal(err)
	}
	wantRules := []*rules.IncidentDef{
		{Open: rules.Warning, Client: "customer", Manual: true, Impact: true, Escalation: "desk",
			Notify: []string{"desk-hook"}, Title: "{{.Rule}} on {{.Entity}}"},
		{},
	}
	for i, want := range wantRules {
		if got := c.Rules[i].Incident; !reflect.DeepEqual(got, want) {
			t.Errorf("rules[%d].incident = %+v, want %+v", i, got, want)
		}
	}

	templates := config.DefaultTemplates()
	templates[incident.ProblemNotice] = incident.Template{Subject: "[{{.ID}}] {{.Title}}",
		Body: "Dear {{.Client}},\n\nSince {{.Opened.Format \"15:04 MST\"}} we have seen: {{.Title}}.\n"}
	templates[incident.ResolvedNotice] = incident.Template{Subject: "[{{.ID}}] resolved", Body: "Resolved at {{.Resolved}}."}
	want := config.Incidents{
		Policy: incident.Policy{
			ReopenWindow: 5 * time.Minute,
			Notify:       []string{"alertmanager"},
			Escalations: map[string]incident.EscalationPolicy{
				"desk": {Levels: []incident.Level{
					{After: 10 * time.Minute, Notify: []string{"mail-manager"}},
					{After: 30 * time.Minute, Notify: []string{"page-oncall", "desk-hook"}},
				}},
				"night": {Levels: []incident.Level{{After: 5 * time.Minute, Notify: []string{"page-oncall"}}}},
			},
			Default: "desk",
			Clients: map[string]incident.Client{
				"acme": {UpdateEvery: 15 * time.Minute, Via: "mail-acme"},
				// No cadence of its own: the section's, given after it.
				"globex": {UpdateEvery: 20 * time.Minute, Via: "mail-acme"},
			},
			UpdateEvery:   20 * time.Minute,
			Templates:     templates,
			SnoozeWarning: 10 * time.Minute,
			MaxSnooze:     48 * time.Hour,
		},
		Retention: 2160 * time.Hour,
	}
	if !reflect.DeepEqual(c.Incidents, want) {
		t.Errorf("incidents =\n%+v\nwant\n%+v", c.Incidents, want)
	}

	if want := []string{"/etc/watchfloor/actions", "/opt/watchfloor/actions/"}; !reflect.DeepEqual(c.ActionDirs, want) {
		t.Errorf("action_dirs = %q, want %q", c.ActionDirs, want)
	}
	defaults := func(a config.Action) config.Action {
		a.Timeout, a.Retries = config.DefaultActionTimeout, config.DefaultActionRetries
		a.MinBackoff, a.MaxBackoff = config.DefaultActionMinBackoff, config.DefaultActionMaxBackoff
		return a
	}
	wantActions := []config.Action{
		{Name: "desk-hook", Timeout: 5 * time.Second, Retries: 5, MinBackoff: 2 * time.Second, MaxBackoff: 2 * time.Minute,
			RateLimit: 30, RatePer: time.Minute,
			Webhook: &config.WebhookAction{URL: "https://desk.example/hook", Headers: map[string]string{"X-Team": "support"},
				BearerTokenFile: "/etc/watchfloor/hook.token", CAFile: "/etc/ssl/ca.pem"}},
		defaults(config.Action{Name: "mail-manager", Email: &config.EmailAction{SMTP: "mail.example:587", TLS: "tls",
			Username: "watchfloor", PasswordFile: "/etc/watchfloor/smtp.pass", CAFile: "/etc/ssl/ca.pem",
			From: "Watchfloor <watchfloor@example.com>", To: []string{"manager@example.com", "Desk Lead <lead@example.com>"}}}),
		defaults(config.Action{Name: "mail-acme", Email: &config.EmailAction{SMTP: "127.0.0.1:25", TLS: "none",
			From: "desk@example.com", To: []string{"ops@acme.example"}}}),
		defaults(config.Action{Name: "alertmanager", Alertmanager: &config.AlertmanagerAction{
			URLs: []string{"http://127.0.0.1:9093", "https://am-2.example:9093/"}, Resend: 2 * time.Minute, Watchdog: time.Minute,
			Labels: map[string]string{"site": "london"}, BearerTokenFile: "/etc/watchfloor/am.token", CAFile: "/etc/ssl/ca.pem"}}),
		defaults(config.Action{Name: "page-oncall", Command: &config.CommandAction{Path: "/etc/watchfloor/actions/page.sh",
			Args: []string{"--team", "support"}}}),
		defaults(config.Action{Name: "defaults", Command: &config.CommandAction{Path: "/opt/watchfloor/actions/log"}}),
	}
	if len(c.Actions) != len(wantActions) {
		t.Fatalf("%d actions, want %d", len(c.Actions), len(wantActions))
	}
	for i, want := range wantActions {
		if got := c.Actions[i]; !reflect.DeepEqual(got, want) {
			t.Errorf("actions[%d] =\n%+v\nwant\n%+v", i, describe(got), describe(want))
		}
	}
}

// describe shows an action with its kind's settings.
func describe(a config.Action) string {
	s := fmt.Sprintf("%+v", a)
	for _, k := range []any{a.Webhook, a.Email, a.Alertmanager, a.Command} {
		if v := reflect.ValueOf(k); !v.IsNil() {
			s += fmt.Sprintf("\n  %+v", v.Elem().Interface())
		}
	}
	return s
}

// TestIncidentDefaults checks what Parse fills in: every duration, a
// template for each kind of notice not given, a listed client's cadence,
// and each action's settings.
func TestIncidentDefaults(t *testing.T) {
	c, err := config.Parse("gw.yaml", []byte(`listen: 127.0.0.1:1
incidents:
  clients: {acme: {via: mail}}
  templates: {update: {subject: s, body: b}}
actions:
  - {name: hook, webhook: {url: "http://127.0.0.1:8080/"}}
  - {name: mail, email: {smtp: "mail.example:587", from: a@example.com, to: [b@example.com]}}
  - {name: am, alertmanager: {urls: ["http://127.0.0.1:9093"]}}
`))
	if err != nil {
		t.Fatal(err)
	}
	want := config.DefaultIncidents()
	want.Policy.Clients = map[string]incident.Client{"acme": {UpdateEvery: incident.DefaultUpdateEvery, Via: "mail"}}
	want.Policy.Templates[incident.UpdateNotice] = incident.Template{Subject: "s", Body: "b"}
	if !reflect.DeepEqual(c.Incidents, want) {
		t.Errorf("incidents =\n%+v\nwant\n%+v", c.Incidents, want)
	}
	p := c.Incidents.Policy
	for name, d := range map[string]time.Duration{"reopen_window": p.ReopenWindow, "update_every": p.UpdateEvery,
		"snooze_warning": p.SnoozeWarning, "max_snooze": p.MaxSnooze, "retention": c.Incidents.Retention} {
		if d <= 0 {
			t.Errorf("%s = %v", name, d)
		}
	}
	if c.Incidents.Retention != config.DefaultIncidentRetention {
		t.Errorf("retention = %v, want %v", c.Incidents.Retention, config.DefaultIncidentRetention)
	}
	for _, kind := range incident.NoticeKinds {
		if tp := p.Templates[kind]; tp.Subject == "" || tp.Body == "" {
			t.Errorf("no %s template: %+v", kind, tp)
		}
	}

	base := config.Action{Timeout: config.DefaultActionTimeout, Retries: config.DefaultActionRetries,
		MinBackoff: config.DefaultActionMinBackoff, MaxBackoff: config.DefaultActionMaxBackoff}
	hook, mail, am := base, base, base
	hook.Name, hook.Webhook = "hook", &config.WebhookAction{URL: "http://127.0.0.1:8080/"}
	mail.Name, mail.Email = "mail", &config.EmailAction{SMTP: "mail.example:587", TLS: "starttls", From: "a@example.com", To: []string{"b@example.com"}}
	am.Name, am.Alertmanager = "am", &config.AlertmanagerAction{URLs: []string{"http://127.0.0.1:9093"}, Resend: config.DefaultAlertResend}
	for i, want := range []config.Action{hook, mail, am} {
		if got := c.Actions[i]; !reflect.DeepEqual(got, want) {
			t.Errorf("actions[%d] =\n%s\nwant\n%s", i, describe(got), describe(want))
		}
	}
}

// TestDefaultTemplates drafts each default notice, as the incident book
// does, for an incident a rule opened and people reported on.
func TestDefaultTemplates(t *testing.T) {
	opened := time.Date(2026, 3, 2, 8, 5, 0, 0, time.UTC)
	inc := &incident.Incident{ID: "INC-20260302-0001", Rule: "order-router-down", Client: "acme",
		Title: "order router down on OMS-primary", State: incident.Resolved, Severity: rules.OK, Peak: rules.Critical,
		Opened: opened, Resolved: opened.Add(42 * time.Minute),
		Report: incident.Report{Cause: "a full disk on the router host", Remedy: "logs rotated, disk freed"}}
	tests := []struct {
		kind      incident.NoticeKind
		subject   string
		has, hasn []string
	}{
		{incident.ProblemNotice, "[INC-20260302-0001] Investigating: order router down on OMS-primary",
			[]string{"Since 2 Mar 2026 08:05 UTC", "order router down on OMS-primary.", "quote INC-20260302-0001"}, nil},
		{incident.UpdateNotice, "[INC-20260302-0001] Update: order router down on OMS-primary",
			[]string{"open since 2 Mar 2026 08:05 UTC", "Cause: a full disk on the router host", "What we are doing: logs rotated"}, nil},
		{incident.ResolvedNotice, "[INC-20260302-0001] Resolved: order router down on OMS-primary",
			[]string{"was resolved at 2 Mar 2026 08:47 UTC.", "Cause: a full disk", "Remedy: logs rotated, disk freed"},
			[]string{"prevent"}},
	}
	book := incident.NewBook(config.DefaultIncidents().Policy, "", 0)
	for _, tt := range tests {
		t.Run(string(tt.kind), func(t *testing.T) {
			n, err := book.Draft(inc, tt.kind, opened)
			if err != nil {
				t.Fatal(err)
			}
			if n.Subject != tt.subject {
				t.Errorf("subject = %q, want %q", n.Subject, tt.subject)
			}
			for _, s := range tt.has {
				if !strings.Contains(n.Body, s) {
					t.Errorf("body lacks %q:\n%s", s, n.Body)
				}
			}
			for _, s := range append(tt.hasn, "<no value>", "\n\n\n") {
				if strings.Contains(n.Body, s) {
					t.Errorf("body has %q:\n%s", s, n.Body)
				}
			}
		})
	}
	// Without a report the notices say nothing of causes.
	bare := *inc
	bare.Report = incident.Report{}
	for _, kind := range incident.NoticeKinds {
		n, err := book.Draft(&bare, kind, opened)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(n.Body, "Cause") || strings.Contains(n.Body, "\n\n\n") {
			t.Errorf("%s notice without a report:\n%s", kind, n.Body)
		}
	}
}

// TestValidateIncidents checks Config.Validate on incidents and actions
// built in code: zero durations are the defaults, and the errors name
// fields, with the place inside a template in the message.
func TestValidateIncidents(t *testing.T) {
	base := func() *config.Config {
		return &config.Config{Listen: "127.0.0.1:1", Limits: config.DefaultLimits(), Sessions: config.DefaultSessions(), Audit: config.DefaultAudit()}
	}
	if err := base().Validate(); err != nil {
		t.Fatalf("Validate with a zero incidents section: %v", err)
	}

	c := base()
	c.Incidents.Policy = incident.Policy{
		ReopenWindow: -time.Minute,
		Notify:       []string{"hook", "pager"},
		Escalations:  map[string]incident.EscalationPolicy{"desk": {Levels: []incident.Level{{Notify: []string{"hook"}}}}},
		Default:      "night",
		Templates: map[incident.NoticeKind]incident.Template{
			"outage":              {Subject: "x", Body: "y"},
			incident.UpdateNotice: {Subject: "ok", Body: "line\n{{.Clinet}}"},
		},
	}
	c.Rules = []rules.Def{{Name: "r", Match: "**", Critical: &rules.LevelDef{When: "value > 1"},
		Incident: &rules.IncidentDef{Escalation: "desk", Title: "{{.Rule}} {{.Enitty}}"}}}
	c.ActionDirs = []string{"/etc/watchfloor/actions"}
	c.Actions = []config.Action{
		{Name: "hook", Timeout: time.Second, MinBackoff: time.Second, MaxBackoff: time.Second,
			Webhook: &config.WebhookAction{URL: "https://desk.example/hook"}},
		{Name: "mail", Email: &config.EmailAction{SMTP: "mail.example:587", From: "a@example.com", To: []string{"b@example.com"}}},
	}
	want := strings.Join([]string{
		`rules[0].incident.title: <.Enitty>: can't evaluate field Enitty in type incident.Signal (at 1:13 in the value)`,
		`incidents.reopen_window: must not be negative`,
		`incidents.escalations.desk[0].after: must be more than 0s`,
		`incidents.default_escalation: unknown escalation policy "night" (known: desk)`,
		`incidents.templates.outage: unknown notice kind "outage" (known: problem, update, resolved)`,
		`incidents.templates.update.body: <.Clinet>: can't evaluate field Clinet in type *incident.Incident (at 2:3 in the value)`,
		`actions[1].timeout: must be more than 0s`,
		`actions[1].min_backoff: must be more than 0s`,
		`actions[1].email.tls: must be starttls, tls or none, not ""`,
		`incidents.notify[1]: unknown action "pager" (known: hook, mail)`,
	}, "\n")
	err := c.Validate()
	var errs config.Errors
	if !errors.As(err, &errs) || err.Error() != want {
		t.Errorf("Validate:\n%v\nwant\n%s", err, want)
	}
}

// A URL written bare in a bracketed list is a mapping to YAML
// ("http": "//host:9093"); the error says to quote it, at the URL.
func TestUnquotedURLInAFlowList(t *testing.T) {
	yaml := "listen: \"127.0.0.1:7039\"\nactions:\n  - name: am\n    alertmanager: {urls: [http://127.0.0.1:9093]}\n"
	_, err := config.Parse("am.yaml", []byte(yaml))
	if err == nil || !strings.Contains(err.Error(), `am.yaml:4:27: actions[0].alertmanager.urls[0]: must be a string (a URL in a list or mapping written with brackets or braces needs quotes: "http://…")`) {
		t.Fatalf("got %v", err)
	}
	if _, err := config.Parse("am.yaml", []byte(strings.Replace(yaml, "[http://127.0.0.1:9093]", `["http://127.0.0.1:9093"]`, 1))); err != nil {
		t.Fatalf("quoted: %v", err)
	}
}

// An Alertmanager action's labels are refused where they are written when
// the gateway sets them itself, when they are reserved or when they are
// empty, rather than when the actions start.
func TestAlertmanagerLabelsChecked(t *testing.T) {
	yaml := "listen: \"127.0.0.1:7039\"\nactions:\n  - name: am\n    alertmanager:\n      urls: [\"http://127.0.0.1:9093\"]\n" +
		"      labels: {site: london, severity: high, __meta: x, team: \"\"}\n"
	_, err := config.Parse("am.yaml", []byte(yaml))
	if err == nil {
		t.Fatal("accepted")
	}
	for _, want := range []string{
		"actions[0].alertmanager.labels.severity: severity is set by the gateway",
		`actions[0].alertmanager.labels.__meta: "__meta" is not a label name`,
		"actions[0].alertmanager.labels.team: a label needs a value",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in:\n%v", want, err)
		}
	}
	if strings.Contains(err.Error(), "labels.site") {
		t.Errorf("site refused: %v", err)
	}
}
