package config_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/watchfloor/watchfloor/gateway/config"
	"github.com/watchfloor/watchfloor/gateway/incident"
	"github.com/watchfloor/watchfloor/rules/calendar"
	"github.com/watchfloor/watchfloor/samplers"
)

// FuzzParse checks that Parse never panics, that every error it reports is
// placed in the file it was given (line and column from 1), and that a
// configuration it accepts validates again (its rules compile) and
// survives being written out and read back, its incidents section and
// actions included; its notices draft, and each action does one thing.
func FuzzParse(f *testing.F) {
	files, err := filepath.Glob("testdata/*.yaml")
	if err != nil {
		f.Fatal(err)
	}
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		// In testdata, as the seeds are, so that the iCalendar files
		// they name are found.
		name := filepath.Join("testdata", "fuzz.yaml")
		c, err := config.Parse(name, data)
		if err != nil {
			var errs config.Errors
			if !errors.As(err, &errs) || len(errs) == 0 {
				t.Fatalf("Parse: %T %v, want non-empty config.Errors", err, err)
			}
			if c != nil {
				t.Fatalf("Parse returned a config with its errors")
			}
			for _, e := range errs {
				if e.File != name || e.Line < 1 || e.Column < 1 || e.Msg == "" {
					t.Fatalf("badly placed error %#v", e)
				}
			}
			return
		}
		if c.File != name {
			t.Fatalf("File = %q", c.File)
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("Parse accepted what Validate rejects: %v", err)
		}
		for _, s := range c.Samplers {
			if s.Interval < samplers.MinInterval {
				t.Fatalf("sampler %q has interval %v", s.Name, s.Interval)
			}
			if s.Params != nil && !json.Valid(s.Params) {
				t.Fatalf("sampler %q has params %q", s.Name, s.Params)
			}
		}
		for _, e := range c.Entities {
			if _, ok := c.Probe(e.Probe); !ok {
				t.Fatalf("entity %q on unknown probe %q", e.Name, e.Probe)
			}
		}
		p := c.Incidents.Policy
		if p.ReopenWindow <= 0 || p.UpdateEvery <= 0 || p.SnoozeWarning <= 0 || p.MaxSnooze <= 0 || c.Incidents.Retention <= 0 {
			t.Fatalf("incidents section with a zero duration: %+v", c.Incidents)
		}
		book := incident.NewBook(p, "", 0)
		for _, kind := range incident.NoticeKinds {
			if _, err := book.Draft(&incident.Incident{}, kind, time.Time{}); err != nil {
				t.Fatalf("the %s notice does not draft: %v", kind, err)
			}
		}
		for _, a := range c.Actions {
			kinds := 0
			for _, set := range []bool{a.Webhook != nil, a.Email != nil, a.Alertmanager != nil, a.Command != nil} {
				if set {
					kinds++
				}
			}
			if kinds != 1 || a.Timeout <= 0 || a.MinBackoff <= 0 || a.MaxBackoff < a.MinBackoff {
				t.Fatalf("action %q accepted as %s", a.Name, describe(a))
			}
		}

		out := marshal(t, c)
		back, err := config.Parse(name, out)
		if err != nil {
			t.Fatalf("written out as\n%s\nit does not parse: %v", out, err)
		}
		if !equal(t, c, back) {
			t.Fatalf("written out as\n%s\nit reads back as\n%+v\nnot\n%+v", out, back, c)
		}
	})
}

// marshal writes c out as JSON, which is YAML in flow style: every string
// double-quoted, with JSON's escapes, which YAML's include.
func marshal(t *testing.T, c *config.Config) []byte {
	t.Helper()
	type obj = map[string]any
	top := obj{"listen": c.Listen, "allow_insecure_http": c.AllowInsecureHTTP, "limits": obj{
		"max_dataviews": c.Limits.MaxDataviews, "max_columns": c.Limits.MaxColumns,
		"max_headlines": c.Limits.MaxHeadlines, "max_rows": c.Limits.MaxRows, "max_cells": c.Limits.MaxCells,
	}}
	if c.TLS != nil {
		top["tls"] = obj{"cert_file": c.TLS.CertFile, "key_file": c.TLS.KeyFile,
			"client_ca_file": c.TLS.ClientCAFile, "require_probe_cert": c.TLS.RequireProbeCert}
	}
	if c.PublicURL != "" {
		top["public_url"] = c.PublicURL
	}
	if c.AllowedHosts != nil {
		top["allowed_hosts"] = c.AllowedHosts
	}
	var probes, samplers, entities []obj
	for _, p := range c.Probes {
		probes = append(probes, obj{"name": p.Name, "token_sha256": p.TokenSHA256})
	}
	for _, s := range c.Samplers {
		o := obj{"name": s.Name, "type": s.Type, "interval": s.Interval.String()}
		if s.Params != nil {
			o["params"] = s.Params
		}
		samplers = append(samplers, o)
	}
	for _, e := range c.Entities {
		entities = append(entities, obj{"name": e.Name, "probe": e.Probe, "attributes": e.Attributes, "samplers": e.Samplers})
	}
	top["probes"], top["samplers"], top["entities"] = probes, samplers, entities
	if c.Rules != nil {
		top["rules"] = c.Rules // in rules.Def's JSON form, whose names are the keys'
	}
	if c.Roles != nil {
		top["roles"] = roles(t, c.Roles)
	}
	var users []obj
	for _, u := range c.Users {
		o := obj{"name": u.Name, "roles": u.Roles, "password_hash": u.PasswordHash}
		if !u.Scope.Whole() {
			o["scope"] = obj{u.Scope.Attribute: u.Scope.Values}
		}
		users = append(users, o)
	}
	top["users"] = users
	top["sessions"] = obj{"idle_timeout": c.Sessions.IdleTimeout.String(), "absolute_timeout": c.Sessions.AbsoluteTimeout.String()}
	top["metrics"] = obj{"bearer_token_sha256": c.Metrics.BearerTokenSHA256, "public_on_loopback": c.Metrics.PublicOnLoopback}
	top["audit"] = obj{"retention": c.Audit.Retention.String()}
	hist := obj{"window": c.History.Window.String(), "max_series": c.History.MaxSeries}
	if c.History.Windows != nil {
		var windows []obj
		for _, w := range c.History.Windows {
			windows = append(windows, obj{"match": w.Match, "window": w.Window.String()})
		}
		hist["windows"] = windows
	}
	top["history"] = hist
	if c.RemoteWrite != nil {
		var targets []obj
		for _, r := range c.RemoteWrite {
			o := obj{"name": r.Name, "url": r.URL, "timeout": r.Timeout.String(), "batch_size": r.BatchSize,
				"buffer": r.Buffer, "resend": r.Resend.String()}
			if r.Username != "" || r.PasswordFile != "" {
				o["basic_auth"] = obj{"username": r.Username, "password_file": r.PasswordFile}
			}
			if r.BearerTokenFile != "" {
				o["bearer_token_file"] = r.BearerTokenFile
			}
			if r.CAFile != "" || r.CertFile != "" || r.KeyFile != "" {
				o["tls"] = obj{"ca_file": r.CAFile, "cert_file": r.CertFile, "key_file": r.KeyFile}
			}
			targets = append(targets, o)
		}
		top["remote_write"] = targets
	}
	top["incidents"] = incidents(c.Incidents)
	if c.ActionDirs != nil {
		top["action_dirs"] = c.ActionDirs
	}
	if c.Actions != nil {
		top["actions"] = actions(c.Actions)
	}
	if cs := c.Calendars; cs.Desks != nil || cs.Schedules != nil || cs.WorkCycles != nil {
		top["calendars"] = calendars(t, cs)
	}
	if c.Maintenance != nil {
		var ws []obj
		for _, w := range c.Maintenance {
			o := obj{"id": w.ID, "reason": w.Reason, "zone": w.Zone}
			for k, v := range map[string]string{"start": w.Start, "end": w.End, "from": w.From, "to": w.To} {
				if v != "" {
					o[k] = v
				}
			}
			if w.Days != nil {
				o["days"] = w.Days
			}
			if w.Entities != nil {
				o["entities"] = w.Entities
			}
			if w.Where != nil {
				o["where"] = w.Where
			}
			ws = append(ws, o)
		}
		top["maintenance"] = ws
	}
	if a := c.Dashboard.Alerts; a.Policies != nil {
		var ps []obj
		for _, p := range a.Policies {
			ps = append(ps, obj{"environment": p.Environment, "banner": p.Banner, "sound": p.Sound, "notify": p.Notify})
		}
		top["dashboard"] = obj{"alerts": obj{"environment_attribute": a.EnvironmentAttribute, "default": a.Default,
			"repeat": a.Repeat.String(), "policies": ps}}
	}
	out, err := json.MarshalIndent(top, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// incidents writes the incidents section, every key given: Parse has
// filled in the defaults.
func incidents(in config.Incidents) map[string]any {
	type obj = map[string]any
	p := in.Policy
	o := obj{"reopen_window": p.ReopenWindow.String(), "retention": in.Retention.String(),
		"update_every": p.UpdateEvery.String(), "snooze_warning": p.SnoozeWarning.String(),
		"max_snooze": p.MaxSnooze.String(), "default_escalation": p.Default}
	if p.Notify != nil {
		o["notify"] = p.Notify
	}
	if p.Escalations != nil {
		escs := obj{}
		for name, e := range p.Escalations {
			var levels []obj
			for _, l := range e.Levels {
				levels = append(levels, obj{"after": l.After.String(), "notify": l.Notify})
			}
			escs[name] = levels
		}
		o["escalations"] = escs
	}
	if p.Clients != nil {
		clients := obj{}
		for name, c := range p.Clients {
			clients[name] = obj{"update_every": c.UpdateEvery.String(), "via": c.Via}
		}
		o["clients"] = clients
	}
	templates := obj{}
	for kind, tp := range p.Templates {
		templates[string(kind)] = obj{"subject": tp.Subject, "body": tp.Body}
	}
	o["templates"] = templates
	return o
}

// actions writes the actions, every setting given.
func actions(as []config.Action) []map[string]any {
	type obj = map[string]any
	var out []obj
	for _, a := range as {
		o := obj{"name": a.Name, "timeout": a.Timeout.String(), "retries": a.Retries,
			"min_backoff": a.MinBackoff.String(), "max_backoff": a.MaxBackoff.String()}
		if a.RateLimit != 0 {
			o["rate_limit"] = obj{"count": a.RateLimit, "per": a.RatePer.String()}
		}
		switch {
		case a.Webhook != nil:
			w := a.Webhook
			o["webhook"] = obj{"url": w.URL, "headers": w.Headers, "bearer_token_file": w.BearerTokenFile, "ca_file": w.CAFile}
		case a.Email != nil:
			e := a.Email
			o["email"] = obj{"smtp": e.SMTP, "tls": e.TLS, "username": e.Username, "password_file": e.PasswordFile,
				"ca_file": e.CAFile, "from": e.From, "to": e.To}
		case a.Alertmanager != nil:
			am := a.Alertmanager
			o["alertmanager"] = obj{"urls": am.URLs, "resend": am.Resend.String(), "watchdog": am.Watchdog.String(),
				"labels": am.Labels, "bearer_token_file": am.BearerTokenFile, "ca_file": am.CAFile}
		case a.Command != nil:
			o["command"] = obj{"path": a.Command.Path, "args": a.Command.Args}
		}
		out = append(out, o)
	}
	return out
}

// calendars writes the calendars section: each schedule's and cycle's
// holidays as a set of its own, with no file, and presets as the phases
// and days they give.
func calendars(t *testing.T, cs config.Calendars) map[string]any {
	t.Helper()
	type obj = map[string]any
	var desks, schedules, cycles []obj
	sets := obj{}
	for _, d := range cs.Desks {
		desks = append(desks, obj{"name": d.Name, "zone": d.Zone.String()})
	}
	timing := func(o obj, set string, days []time.Weekday, holidays map[calendar.Date]string, halfDays map[calendar.Date]calendar.Clock) {
		if days != nil {
			var names []string
			for _, d := range days {
				names = append(names, d.String()[:3])
			}
			o["days"] = names
		}
		if holidays == nil && halfDays == nil {
			return
		}
		dates, halves := obj{}, obj{}
		for d, name := range holidays {
			dates[d.String()] = name
		}
		for d, c := range halfDays {
			halves[d.String()] = c.String()
		}
		sets[set] = obj{"dates": dates, "half_days": halves}
		o["holidays"] = set
	}
	for i, s := range cs.Schedules {
		o := obj{"name": s.Name, "zone": s.Zone.String()}
		timing(o, fmt.Sprintf("schedule-%d", i), s.Days, s.Holidays, s.HalfDays)
		if s.Windows != nil {
			var windows []string
			for _, w := range s.Windows {
				windows = append(windows, w.Start.String()+"-"+w.End.String())
			}
			o["windows"] = windows
		}
		schedules = append(schedules, o)
	}
	for i, w := range cs.WorkCycles {
		o := obj{"name": w.Name, "zone": w.Zone.String(), "where": w.Where}
		timing(o, fmt.Sprintf("cycle-%d", i), w.Days, w.Holidays, w.HalfDays)
		// In their order, which a Go map would lose.
		phases := []byte{'{'}
		for j, p := range w.Phases {
			if j > 0 {
				phases = append(phases, ',')
			}
			phases = fmt.Appendf(phases, "%q:%q", p.Phase, p.At)
		}
		o["phases"] = json.RawMessage(append(phases, '}'))
		cycles = append(cycles, o)
	}
	return obj{"desks": desks, "holidays": sets, "schedules": schedules, "work_cycles": cycles}
}

// roles writes roles as a JSON object in their order, which a Go map
// would lose.
func roles(t *testing.T, rs []config.Role) json.RawMessage {
	t.Helper()
	b := []byte{'{'}
	for i, r := range rs {
		name, err := json.Marshal(r.Name)
		if err != nil {
			t.Fatal(err)
		}
		def, err := json.Marshal(map[string]any{"extends": r.Extends, "permissions": r.Permissions, "requires_scope": r.RequiresScope})
		if err != nil {
			t.Fatal(err)
		}
		if i > 0 {
			b = append(b, ',')
		}
		b = append(append(append(b, name...), ':'), def...)
	}
	return append(b, '}')
}

func decodeJSON(t *testing.T, data []byte) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatalf("params %q: %v", data, err)
	}
	return v
}

// equal compares configurations, params by the JSON values they hold.
func equal(t *testing.T, a, b *config.Config) bool {
	t.Helper()
	if len(a.Samplers) != len(b.Samplers) {
		return false
	}
	for i := range a.Samplers {
		pa, pb := a.Samplers[i].Params, b.Samplers[i].Params
		if (pa == nil) != (pb == nil) || pa != nil && !reflect.DeepEqual(decodeJSON(t, pa), decodeJSON(t, pb)) {
			return false
		}
	}
	strip := func(c *config.Config) config.Config {
		s := *c
		s.Samplers = nil
		for _, sm := range c.Samplers {
			sm.Params = nil
			s.Samplers = append(s.Samplers, sm)
		}
		return s
	}
	return reflect.DeepEqual(strip(a), strip(b))
}
