package config

import (
	"time"

	"github.com/watchfloor/watchfloor/rules"
	"github.com/watchfloor/watchfloor/samplers"
)

// The gateway configuration's schema: what each key holds, as code that
// drives the decoder in decode.go. The keys are listed in the order the
// documentation gives them, which unknown-key errors follow.

// decodeConfig decodes the configuration's root, filling in defaults.
func decodeConfig(root value) *Config {
	c := &Config{File: root.d.file, Listen: DefaultListen, Limits: DefaultLimits(),
		Sessions: DefaultSessions(), Audit: DefaultAudit(), History: DefaultHistory(), Incidents: DefaultIncidents()}
	if root.kind == null {
		return c
	}
	root.object(
		optional("listen", setStr(&c.Listen)),
		optional("tls", func(v value) {
			// Set even when broken, so validation does not also
			// complain about plain HTTP.
			c.TLS = &TLS{}
			v.object(
				required("cert_file", setStr(&c.TLS.CertFile)),
				required("key_file", setStr(&c.TLS.KeyFile)),
				optional("client_ca_file", setStr(&c.TLS.ClientCAFile)),
				optional("require_probe_cert", setBool(&c.TLS.RequireProbeCert)),
			)
		}),
		optional("allow_insecure_http", func(v value) { c.AllowInsecureHTTP, _ = v.boolean() }),
		optional("public_url", setStr(&c.PublicURL)),
		optional("allowed_hosts", func(v value) { c.AllowedHosts = strs(v) }),
		optional("limits", func(v value) {
			v.object(
				optional("max_dataviews", setInt(&c.Limits.MaxDataviews)),
				optional("max_columns", setInt(&c.Limits.MaxColumns)),
				optional("max_headlines", setInt(&c.Limits.MaxHeadlines)),
				optional("max_rows", setInt(&c.Limits.MaxRows)),
				optional("max_cells", func(v value) {
					if n, ok := v.integer(); ok {
						c.Limits.MaxCells = n
					}
				}),
			)
		}),
		optional("probes", func(v value) {
			for _, p := range v.items() {
				c.Probes = append(c.Probes, probe(p))
			}
		}),
		optional("samplers", func(v value) {
			for _, s := range v.items() {
				c.Samplers = append(c.Samplers, sampler(s))
			}
		}),
		optional("entities", func(v value) {
			for _, e := range v.items() {
				c.Entities = append(c.Entities, entity(e))
			}
		}),
		optional("rules", func(v value) { c.Rules = ruleDefs(v) }),
		optional("roles", func(v value) { c.Roles = roles(v) }),
		optional("users", func(v value) {
			for _, u := range v.items() {
				c.Users = append(c.Users, user(u))
			}
		}),
		optional("sessions", func(v value) {
			v.object(
				optional("idle_timeout", setTimeout(&c.Sessions.IdleTimeout, "30m, 1h or 8h")),
				optional("absolute_timeout", setTimeout(&c.Sessions.AbsoluteTimeout, "8h, 12h or 24h")),
			)
			// Left out, absolute_timeout is the default; an error
			// comparing it with idle_timeout points at what was set.
			v.placeAbsent("absolute_timeout", "idle_timeout")
		}),
		optional("metrics", func(v value) {
			v.object(
				optional("bearer_token_sha256", setStr(&c.Metrics.BearerTokenSHA256)),
				optional("public_on_loopback", setBool(&c.Metrics.PublicOnLoopback)),
			)
		}),
		optional("audit", func(v value) {
			v.object(optional("retention", setTimeout(&c.Audit.Retention, "720h or 9600h")))
		}),
		optional("history", func(v value) { history(v, &c.History) }),
		optional("remote_write", func(v value) {
			for _, r := range v.items() {
				c.RemoteWrite = append(c.RemoteWrite, remoteWrite(r))
			}
		}),
		optional("incidents", func(v value) { incidents(v, &c.Incidents) }),
		optional("calendars", func(v value) { calendars(v, &c.Calendars) }),
		optional("maintenance", func(v value) {
			for _, item := range v.items() {
				c.Maintenance = append(c.Maintenance, maintenanceWindow(item))
			}
		}),
		optional("dashboard", func(v value) { dashboard(v, &c.Dashboard) }),
		optional("action_dirs", func(v value) { c.ActionDirs = strs(v) }),
		optional("actions", func(v value) {
			for _, a := range v.items() {
				c.Actions = append(c.Actions, action(a))
			}
		}),
	)
	return c
}

// ruleDefs decodes a list of rules. A rule that is not a mapping is kept
// as an empty one, so the others keep their indexes.
func ruleDefs(v value) []rules.Def {
	var defs []rules.Def
	for _, r := range v.items() {
		defs = append(defs, ruleDef(r))
	}
	return defs
}

func probe(v value) Probe {
	var p Probe
	v.object(
		required("name", setStr(&p.Name)),
		required("token_sha256", setStr(&p.TokenSHA256)),
	)
	return p
}

func sampler(v value) Sampler {
	s := Sampler{Interval: samplers.DefaultInterval}
	v.object(
		required("name", setStr(&s.Name)),
		required("type", setStr(&s.Type)),
		optional("interval", func(v value) {
			text, ok := v.str()
			if !ok {
				return
			}
			iv, err := time.ParseDuration(text)
			if err != nil {
				v.fail("%q is not a duration (like 500ms, 2s or 1m)", text)
				return
			}
			if iv != 0 {
				s.Interval = iv
			}
		}),
		optional("params", func(v value) {
			if v.kind != mapping {
				v.mustBe("a mapping")
				return
			}
			s.Params = v.json()
		}),
	)
	// Without params, an error building the sampler from its defaults
	// belongs with the type.
	v.placeAbsent("params", "type")
	return s
}

func entity(v value) Entity {
	var e Entity
	v.object(
		required("name", setStr(&e.Name)),
		required("probe", setStr(&e.Probe)),
		optional("attributes", func(v value) { e.Attributes = attributes(v) }),
		optional("samplers", func(v value) { e.Samplers = strs(v) }),
	)
	return e
}

// attributes decodes a mapping of attribute names to values; it is nil
// when there are none.
func attributes(v value) map[string]string {
	var m map[string]string
	es, _ := v.entries("a mapping of names to values")
	for _, a := range es {
		if s, ok := a.val.str(); ok {
			if m == nil {
				m = map[string]string{}
			}
			m[a.key] = s
		}
	}
	return m
}

// strs decodes a list of strings. An element that is not a string is
// reported, and kept as "" so that the others keep their indexes.
func strs(v value) []string {
	var list []string
	for _, item := range v.items() {
		s, _ := item.str()
		list = append(list, s)
	}
	return list
}

// setBool returns a decode function that sets *dst to the value, true or
// false; a value of another kind leaves *dst as it was.
func setBool(dst *bool) func(value) {
	return func(v value) {
		if b, ok := v.boolean(); ok {
			*dst = b
		}
	}
}

// setTimeout returns a decode function that sets *dst to the value, a
// duration; like gives examples for the error when it is not one.
func setTimeout(dst *time.Duration, like string) func(value) {
	return func(v value) {
		if d, ok := durationLike(v, like); ok {
			*dst = d
		}
	}
}

// setInt returns a decode function that sets *dst to the value, a whole
// number.
func setInt(dst *int) func(value) {
	return func(v value) {
		n, ok := v.integer()
		if !ok {
			return
		}
		if int64(int(n)) != n {
			v.fail("%d is too large", n)
			return
		}
		*dst = int(n)
	}
}
