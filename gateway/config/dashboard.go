package config

import (
	"time"
)

// The dashboard section: what the web UI's pages are told of how to alert
// people. The policy is the desk's; a person may opt in, in their own
// browser, to more (docs/dashboard.md, "Alerts"), never to less.

// Dashboard is the configuration's dashboard section.
type Dashboard struct {
	Alerts Alerts
}

// Alerts is how the dashboard alerts people to incidents, by the
// environment of the entity an incident is about.
type Alerts struct {
	// EnvironmentAttribute is the entity attribute that names an
	// incident's environment.
	EnvironmentAttribute string
	// Default names the policy of the incidents whose environment no
	// policy lists, or that have none.
	Default string
	// Repeat is how often the tone sounds again while an alert that
	// sounds is unacknowledged; 0 sounds it once.
	Repeat time.Duration
	// Policies are by environment, in file order.
	Policies []AlertPolicy
}

// AlertPolicy says, for one environment, the least severity at which an
// incident shows in the banner, sounds the tone and raises a desktop
// notification.
type AlertPolicy struct {
	Environment           string
	Banner, Sound, Notify AlertLevel
}

// AlertLevel is the least severity at which a policy does something.
type AlertLevel string

// The alert levels.
const (
	AlertNever    AlertLevel = "never"
	AlertWarning  AlertLevel = "warning"
	AlertCritical AlertLevel = "critical"
)

// rank orders levels from the one that does the least.
func (l AlertLevel) rank() int {
	switch l {
	case AlertWarning:
		return 2
	case AlertCritical:
		return 1
	}
	return 0
}

// Alert-policy defaults: production sounds and notifies for critical
// incidents, pre-production shows them in the banner only, UAT is silent;
// an environment not listed is treated as production.
const (
	DefaultEnvironmentAttribute = "environment"
	DefaultAlertPolicy          = "production"
	DefaultAlertRepeat          = 30 * time.Second
	// MinAlertRepeat keeps a tone from sounding without pause; at most
	// MaxAlertRepeat apart it still reminds.
	MinAlertRepeat = 5 * time.Second
	MaxAlertRepeat = time.Hour
)

// DefaultAlertPolicies are the policies when the section lists none.
func DefaultAlertPolicies() []AlertPolicy {
	return []AlertPolicy{
		{Environment: "production", Banner: AlertCritical, Sound: AlertCritical, Notify: AlertCritical},
		{Environment: "pre-production", Banner: AlertCritical, Sound: AlertNever, Notify: AlertNever},
		{Environment: "uat", Banner: AlertNever, Sound: AlertNever, Notify: AlertNever},
	}
}

// zero reports whether a is the zero Alerts, which a configuration without
// the section has: it stands for the defaults.
func (a *Alerts) zero() bool {
	return a.EnvironmentAttribute == "" && a.Default == "" && a.Repeat == 0 && a.Policies == nil
}

// AlertsInForce returns the alert policy the section gives, or the
// defaults for a zero section (one left out, or a configuration built in
// code).
func (d Dashboard) AlertsInForce() Alerts {
	if d.Alerts.zero() {
		return DefaultDashboard().Alerts
	}
	return d.Alerts
}

// DefaultDashboard is the dashboard section's defaults.
func DefaultDashboard() Dashboard {
	return Dashboard{Alerts: Alerts{EnvironmentAttribute: DefaultEnvironmentAttribute, Default: DefaultAlertPolicy,
		Repeat: DefaultAlertRepeat, Policies: DefaultAlertPolicies()}}
}

// dashboard decodes the section. Left out, it stays zero, which stands
// for the defaults (AlertsInForce); given, what it leaves out takes them.
func dashboard(v value, d *Dashboard) {
	v.object(optional("alerts", func(v value) {
		d.Alerts = DefaultDashboard().Alerts
		alerts(v, &d.Alerts)
	}))
}

func alerts(v value, a *Alerts) {
	v.object(
		optional("environment_attribute", setStr(&a.EnvironmentAttribute)),
		optional("default", setStr(&a.Default)),
		optional("repeat", setTimeout(&a.Repeat, "30s or 2m, or 0s to sound once")),
		optional("policies", func(v value) {
			// Listed, the policies replace the defaults whole.
			a.Policies = []AlertPolicy{}
			for _, item := range v.items() {
				p := AlertPolicy{Banner: AlertNever, Sound: AlertNever, Notify: AlertNever}
				item.object(
					required("environment", setStr(&p.Environment)),
					optional("banner", alertLevel(&p.Banner)),
					optional("sound", alertLevel(&p.Sound)),
					optional("notify", alertLevel(&p.Notify)),
				)
				a.Policies = append(a.Policies, p)
			}
		}),
	)
	// Left out, default names production: an error about it points at
	// the policies that do not list it.
	v.placeAbsent("default", "policies")
}

func alertLevel(dst *AlertLevel) func(value) {
	return func(v value) {
		s, ok := v.str()
		if !ok {
			return
		}
		switch l := AlertLevel(s); l {
		case AlertNever, AlertWarning, AlertCritical:
			*dst = l
		default:
			v.fail("%q is not an alert level: write warning, critical or never", s)
		}
	}
}

// dashboard checks the alert policies: environments listed once, the
// default among them, and nothing sounding or notified that the banner
// does not show, where it could not be acknowledged.
func (v *validator) dashboard(d *Dashboard) {
	const f = "dashboard.alerts"
	a := &d.Alerts
	if a.zero() {
		return
	}
	v.nonEmpty(f+".environment_attribute", a.EnvironmentAttribute)
	if a.Repeat != 0 && (a.Repeat < MinAlertRepeat || a.Repeat > MaxAlertRepeat) {
		v.errorf(f+".repeat", "must be from 5s to 1h, or 0s to sound once")
	}
	seen := map[string]string{}
	complete := !v.skipped(f + ".policies")
	for i, p := range a.Policies {
		pf := index(f+".policies", i)
		complete = complete && !v.skipped(pf+".environment")
		v.unique(pf+".environment", "alert policy for environment", p.Environment, seen, pf)
		for _, k := range []struct {
			key   string
			level AlertLevel
		}{{"sound", p.Sound}, {"notify", p.Notify}} {
			if k.level.rank() > p.Banner.rank() {
				v.errorf(pf+"."+k.key, "%s alerts the banner does not show (banner: %s), where they could not be acknowledged: "+
					"set banner to %s too", k.level, p.Banner, k.level)
			}
		}
	}
	if complete && v.nonEmpty(f+".default", a.Default) && seen[a.Default] == "" {
		v.errorf(f+".default", "names %q, which no policy lists: list it, or name another as the default", a.Default)
	}
}
