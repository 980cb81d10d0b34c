package config

import (
	"errors"
	"maps"
	"net"
	"net/mail"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Action is something the gateway does when an incident changes: a
// webhook call, a mail, an alert forwarded to Alertmanager, or a local
// command. Exactly one of Webhook, Email, Alertmanager and Command is set.
type Action struct {
	Name string
	// Timeout bounds one attempt; Retries is how many attempts follow a
	// failed one, MinBackoff and MaxBackoff the wait between them (doubling).
	Timeout                time.Duration
	Retries                int
	MinBackoff, MaxBackoff time.Duration
	// RateLimit is the most messages the action sends per RatePer; beyond
	// it messages wait their turn in its queue. Zero is no limit.
	RateLimit int
	RatePer   time.Duration

	Webhook      *WebhookAction
	Email        *EmailAction
	Alertmanager *AlertmanagerAction
	Command      *CommandAction
}

// WebhookAction posts each message as JSON to URL.
type WebhookAction struct {
	URL     string
	Headers map[string]string
	// BearerTokenFile, if set, holds a token sent as Authorization:
	// Bearer.
	BearerTokenFile string
	CAFile          string
}

// EmailAction mails each message over SMTP.
type EmailAction struct {
	// SMTP is the server's host:port.
	SMTP string
	// TLS is "starttls" (the default), "tls" (implicit, port 465) or
	// "none", which is accepted only for a loopback server.
	TLS      string
	Username string
	// PasswordFile holds the password for Username.
	PasswordFile string
	CAFile       string
	From         string
	To           []string
}

// AlertmanagerAction forwards incidents to Prometheus Alertmanagers
// through their v2 API, as Prometheus does: firing alerts are sent again
// every Resend, and a resolved incident resolves its alert.
type AlertmanagerAction struct {
	URLs   []string
	Resend time.Duration
	// Watchdog, if more than zero, is how often an always-firing
	// "Watchdog" alert is sent, so that a system outside pages someone
	// when the gateway stops sending it.
	Watchdog time.Duration
	// Labels are added to every alert.
	Labels map[string]string
	// BearerTokenFile and CAFile are as for a webhook.
	BearerTokenFile string
	CAFile          string
}

// CommandAction runs a program on the gateway, with the incident's fields
// in its environment and the message as JSON on its standard input. Path
// must lie under one of the configuration's ActionDirs.
type CommandAction struct {
	Path string
	Args []string
}

// Action defaults.
const (
	DefaultActionTimeout    = 10 * time.Second
	DefaultActionRetries    = 3
	DefaultActionMinBackoff = time.Second
	DefaultActionMaxBackoff = time.Minute
	DefaultAlertResend      = time.Minute
)

// actionName is what an action's name may hold, as a rule's may: names
// are written in rules, in URLs and in logs.
var actionName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*$`)

// maxActionName is the longest name of an action or an escalation policy.
const maxActionName = 128

// The ways an email action may protect its SMTP connection.
var emailTLS = []string{"starttls", "tls", "none"}

// AlertLabels are the labels an incident's alert gets of its own, which
// an Alertmanager action's labels may not replace.
var AlertLabels = []string{"alertname", "incident", "severity", "probe", "entity", "client", "path"}

// AlertLabelName reports whether s may name a label an action adds: a
// Prometheus label name, and not one reserved for internal use ("__").
func AlertLabelName(s string) bool {
	if s == "" || strings.HasPrefix(s, "__") {
		return false
	}
	for i, r := range s {
		if !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || i > 0 && r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

// action decodes one action, filling in the defaults. The kind given is
// set even when broken, so that validation knows what the action was
// meant to do.
func action(v value) Action {
	a := Action{Timeout: DefaultActionTimeout, Retries: DefaultActionRetries,
		MinBackoff: DefaultActionMinBackoff, MaxBackoff: DefaultActionMaxBackoff}
	v.object(
		required("name", setStr(&a.Name)),
		optional("timeout", positive(&a.Timeout, "10s")),
		optional("retries", setInt(&a.Retries)),
		optional("min_backoff", positive(&a.MinBackoff, "1s")),
		optional("max_backoff", positive(&a.MaxBackoff, "1m")),
		optional("rate_limit", func(v value) {
			v.object(
				required("count", func(v value) {
					setInt(&a.RateLimit)(v)
					if a.RateLimit < 1 {
						v.fail("must be at least 1; leave rate_limit out for no limit")
					}
				}),
				required("per", positive(&a.RatePer, "1s or 1m")),
			)
		}),
		optional("webhook", func(v value) {
			w := &WebhookAction{}
			a.Webhook = w
			v.object(
				required("url", setStr(&w.URL)),
				optional("headers", func(v value) { w.Headers = attributes(v) }),
				optional("bearer_token_file", setStr(&w.BearerTokenFile)),
				optional("ca_file", setStr(&w.CAFile)),
			)
		}),
		optional("email", func(v value) {
			e := &EmailAction{TLS: emailTLS[0]}
			a.Email = e
			v.object(
				required("smtp", setStr(&e.SMTP)),
				optional("tls", setStr(&e.TLS)),
				optional("username", setStr(&e.Username)),
				optional("password_file", setStr(&e.PasswordFile)),
				optional("ca_file", setStr(&e.CAFile)),
				required("from", setStr(&e.From)),
				required("to", func(v value) { e.To = strs(v) }),
			)
		}),
		optional("alertmanager", func(v value) {
			am := &AlertmanagerAction{Resend: DefaultAlertResend}
			a.Alertmanager = am
			v.object(
				required("urls", func(v value) { am.URLs = strs(v) }),
				optional("resend", positive(&am.Resend, "1m")),
				optional("watchdog", setTimeout(&am.Watchdog, "1m, or 0s for none")),
				optional("labels", func(v value) { am.Labels = attributes(v) }),
				optional("bearer_token_file", setStr(&am.BearerTokenFile)),
				optional("ca_file", setStr(&am.CAFile)),
			)
		}),
		optional("command", func(v value) {
			c := &CommandAction{}
			a.Command = c
			v.object(
				required("path", setStr(&c.Path)),
				optional("args", func(v value) { c.Args = strs(v) }),
			)
		}),
	)
	// Left out, max_backoff is the default; an error comparing it with
	// min_backoff points at what was set.
	v.placeAbsent("max_backoff", "min_backoff")
	return a
}

// actions checks the action directories and the actions, and returns the
// actions' names, each with its field, for the references to them; nil
// when some did not decode, so that references are not judged against
// an incomplete set.
func (v *validator) actions(c *Config) map[string]string {
	dirs, dirsKnown := map[string]string{}, !v.skipped("action_dirs")
	for i, d := range c.ActionDirs {
		f := index("action_dirs", i)
		dirsKnown = dirsKnown && !v.skipped(f)
		switch clean := filepath.Clean(d); {
		case !v.nonEmpty(f, d):
		case !filepath.IsAbs(d):
			v.errorf(f, "%q must be an absolute path", d)
		case dirs[clean] != "":
			v.errorf(f, "%q is already listed (%s)", d, dirs[clean])
		default:
			dirs[clean] = f
		}
	}
	names, complete := map[string]string{}, !v.skipped("actions")
	for i := range c.Actions {
		a := &c.Actions[i]
		f := index("actions", i)
		complete = complete && !v.skipped(f+".name")
		v.name(f+".name", "an action", a.Name)
		// A name in the wrong form is still the action's: references
		// to it are not also unknown.
		switch first := names[a.Name]; {
		case a.Name == "":
		case first != "":
			v.errorf(f+".name", "action %q is already defined (%s)", a.Name, first)
		default:
			names[a.Name] = f
		}
		v.action(f, a, dirs, dirsKnown)
	}
	if !complete {
		return nil
	}
	return names
}

// name checks the name of an action or an escalation policy; what says
// which.
func (v *validator) name(field, what, name string) {
	switch {
	case !v.nonEmpty(field, name):
	case len(name) > maxActionName:
		v.errorf(field, "the name is %d bytes long, over the limit of %d", len(name), maxActionName)
	case !actionName.MatchString(name):
		v.errorf(field, "%q: %s's name is letters, digits, '.', '_' and '-', starting with a letter or digit", name, what)
	}
}

// action checks one action, at field f. dirs are the action directories,
// cleaned; known says whether they all decoded.
func (v *validator) action(f string, a *Action, dirs map[string]string, known bool) {
	if a.Timeout <= 0 {
		v.errorf(f+".timeout", "must be more than 0s")
	}
	if a.Retries < 0 {
		v.errorf(f+".retries", "must not be negative")
	}
	switch {
	case a.MinBackoff <= 0:
		v.errorf(f+".min_backoff", "must be more than 0s")
	case a.MaxBackoff < a.MinBackoff && !v.skipped(f+".min_backoff"):
		v.errorf(f+".max_backoff", "%s is below min_backoff (%s)", short(a.MaxBackoff), short(a.MinBackoff))
	}
	switch {
	case a.RateLimit < 0:
		v.errorf(f+".rate_limit.count", "must not be negative")
	case a.RateLimit > 0 && a.RatePer <= 0:
		v.errorf(f+".rate_limit.per", "must be more than 0s")
	case a.RateLimit == 0 && a.RatePer != 0:
		v.errorf(f+".rate_limit.count", "must be at least 1")
	}

	var kinds []string
	for _, k := range []struct {
		key string
		set bool
	}{{"webhook", a.Webhook != nil}, {"email", a.Email != nil}, {"alertmanager", a.Alertmanager != nil}, {"command", a.Command != nil}} {
		if k.set {
			kinds = append(kinds, k.key)
		}
	}
	switch len(kinds) {
	case 0:
		v.errorf(f, "say what the action does: give one of webhook, email, alertmanager or command")
		return
	case 1:
	default:
		// As rules.Compile does, the second in the schema's order takes
		// the error.
		v.errorf(f+"."+kinds[1], "an action does one thing, but this one has %s: split it into one action each", strings.Join(kinds, " and "))
		return
	}
	switch {
	case a.Webhook != nil:
		w := a.Webhook
		v.httpURL(f+".webhook.url", w.URL, "https://desk.example/hook")
		for _, k := range slices.Sorted(maps.Keys(w.Headers)) {
			hf := join(f+".webhook.headers", k)
			switch {
			case !isToken(k):
				v.errorf(hf, "%q is not a header name", k)
			case strings.ContainsFunc(w.Headers[k], func(r rune) bool { return r < ' ' && r != '\t' || r == 0x7f }):
				v.errorf(hf, "a header's value must not hold control characters")
			}
		}
	case a.Email != nil:
		v.email(f+".email", a.Email)
	case a.Alertmanager != nil:
		am := a.Alertmanager
		af := f + ".alertmanager"
		if len(am.URLs) == 0 && !v.skipped(af+".urls") {
			v.errorf(af+".urls", "list at least one Alertmanager, like http://127.0.0.1:9093")
		}
		for i, u := range am.URLs {
			v.httpURL(index(af+".urls", i), u, "http://127.0.0.1:9093")
		}
		if am.Resend <= 0 {
			v.errorf(af+".resend", "must be more than 0s")
		}
		if am.Watchdog < 0 {
			v.errorf(af+".watchdog", "must not be negative")
		}
		for _, k := range slices.Sorted(maps.Keys(am.Labels)) {
			switch {
			case !AlertLabelName(k):
				v.errorf(join(af+".labels", k), "%q is not a label name: letters, digits and '_', not starting with a digit or \"__\"", k)
			case slices.Contains(AlertLabels, k):
				v.errorf(join(af+".labels", k), "%s is set by the gateway on every alert (labels: %s)", k, strings.Join(AlertLabels, ", "))
			case am.Labels[k] == "":
				v.errorf(join(af+".labels", k), "a label needs a value")
			}
		}
	case a.Command != nil:
		cf := f + ".command.path"
		p := a.Command.Path
		switch {
		case !v.nonEmpty(cf, p):
		case !filepath.IsAbs(p):
			v.errorf(cf, "%q must be an absolute path", p)
		case !known:
		case !under(filepath.Clean(p), dirs):
			in := "none are given"
			if len(dirs) > 0 {
				in = strings.Join(slices.Sorted(maps.Keys(dirs)), ", ")
			}
			v.errorf(cf, "%q is not under one of action_dirs (%s): commands run only from there", p, in)
		}
	}
}

// under reports whether path, cleaned, lies inside one of dirs.
func under(path string, dirs map[string]string) bool {
	for d := range dirs {
		if strings.HasPrefix(path, strings.TrimSuffix(d, "/")+"/") {
			return true
		}
	}
	return false
}

// httpURL checks a URL an action calls: absolute http:// or https://,
// with a host and no credentials, which go in files; like is an example.
func (v *validator) httpURL(field, s, like string) {
	if !v.nonEmpty(field, s) {
		return
	}
	u, err := url.Parse(s)
	switch {
	case err != nil:
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		v.errorf(field, "not a URL: %v", err)
	case u.Scheme != "http" && u.Scheme != "https" || u.Host == "":
		v.errorf(field, "must be an absolute http:// or https:// URL, like %s", like)
	case u.User != nil:
		v.errorf(field, "must not hold credentials: use bearer_token_file")
	}
}

// email checks an email action at field f.
func (v *validator) email(f string, e *EmailAction) {
	host, port, err := net.SplitHostPort(e.SMTP)
	// smtpOK: smtp is a valid host:port; loopback: its host is a loopback one.
	smtpOK, loopback := false, false
	switch n, perr := strconv.ParseUint(port, 10, 16); {
	case v.skipped(f + ".smtp"):
	case err != nil || host == "":
		v.errorf(f+".smtp", "%q is not host:port (like mail.example.com:587)", e.SMTP)
	case perr != nil || n == 0:
		v.errorf(f+".smtp", "port %q must be a number from 1 to 65535", port)
	default:
		if loopback, smtpOK = hostKind(host); !smtpOK {
			v.errorf(f+".smtp", "host %q is neither an IP address nor a host name", host)
		}
	}
	switch {
	case !slices.Contains(emailTLS, e.TLS):
		v.errorf(f+".tls", "must be starttls, tls or none, not %q", e.TLS)
	case e.TLS == "none" && smtpOK && !loopback:
		v.errorf(f+".tls", "none sends mail and passwords in the clear, and is only for a server on loopback: use starttls or tls")
	}
	switch {
	case e.Username != "" && e.PasswordFile == "":
		v.errorf(f+".username", "needs password_file, the file that holds its password")
	case e.Username == "" && e.PasswordFile != "":
		v.errorf(f+".password_file", "needs username, whose password it holds")
	}
	v.mailAddress(f+".from", e.From)
	if len(e.To) == 0 && !v.skipped(f+".to") {
		v.errorf(f+".to", "list at least one address")
	}
	for i, to := range e.To {
		v.mailAddress(index(f+".to", i), to)
	}
}

// mailAddress checks one address, like "Desk <desk@example.com>".
func (v *validator) mailAddress(field, s string) {
	if !v.nonEmpty(field, s) {
		return
	}
	if _, err := mail.ParseAddress(s); err != nil {
		v.errorf(field, "%q is not a mail address: %s", s, strings.TrimPrefix(err.Error(), "mail: "))
	}
}

// isToken reports whether s is an HTTP token, as header names are.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range []byte(s) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return true
}

// actionRefs checks every reference to an action: from the incidents
// section, its escalation levels and clients, and the rules. names are
// the actions', nil when they are not all known. A list of actions names
// each once.
func (v *validator) actionRefs(c *Config, names map[string]string) {
	p := &c.Incidents.Policy
	ref := func(field, name string) {
		if _, ok := names[name]; ok || names == nil || name == "" {
			return
		}
		known := "none are defined"
		if len(names) > 0 {
			known = "known: " + strings.Join(slices.Sorted(maps.Keys(names)), ", ")
		}
		v.errorf(field, "unknown action %q (%s)", name, known)
	}
	list := func(field string, list []string) {
		seen := map[string]string{}
		for i, name := range list {
			f := index(field, i)
			switch {
			case !v.nonEmpty(f, name):
			case seen[name] != "":
				v.errorf(f, "action %q is already listed (%s)", name, seen[name])
			default:
				seen[name] = f
				ref(f, name)
			}
		}
	}
	list("incidents.notify", p.Notify)
	for _, name := range slices.Sorted(maps.Keys(p.Escalations)) {
		for j, l := range p.Escalations[name].Levels {
			list(index(join("incidents.escalations", name), j)+".notify", l.Notify)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(p.Clients)) {
		ref(join("incidents.clients", name)+".via", p.Clients[name].Via)
	}
	for i, d := range c.Rules {
		if d.Incident == nil {
			continue
		}
		for j, name := range d.Incident.Notify {
			// rules.Compile has refused an empty name.
			ref(index(index("rules", i)+".incident.notify", j), name)
		}
	}
}
