package gateway_test

import (
	"reflect"
	"testing"

	"github.com/watchfloor/watchfloor/gateway"
	gt "github.com/watchfloor/watchfloor/gateway/gatewaytest"
)

// The dashboard's settings carry the configuration's alert policy, the
// same for every viewer, a client's scoped trader included; without a
// dashboard section, the defaults.
func TestDashboardSettingsServeTheAlertPolicy(t *testing.T) {
	type policy struct{ Environment, Banner, Sound, Notify string }
	type settings struct {
		Alerts struct {
			EnvironmentAttribute string
			Default              string
			RepeatSeconds        float64
			Policies             []policy
		}
	}
	get := func(gw *gt.Gateway, user string) settings {
		t.Helper()
		var s settings
		gt.Login(t, gw.URL(), user).Get(t, "/api/v1/dashboard/settings", &s)
		return s
	}

	r := startIncidents(t, gateway.Options{}, `dashboard:
  alerts:
    environment_attribute: env
    default: prod
    repeat: 1m
    policies:
      - {environment: prod, banner: warning, sound: critical, notify: critical}
      - {environment: uat}
`, "")
	want := settings{}
	want.Alerts.EnvironmentAttribute, want.Alerts.Default, want.Alerts.RepeatSeconds = "env", "prod", 60
	want.Alerts.Policies = []policy{{"prod", "warning", "critical", "critical"}, {"uat", "never", "never", "never"}}
	for _, user := range []string{olu.Name, acme.Name} {
		if got := get(r.gw, user); !reflect.DeepEqual(got, want) {
			t.Errorf("as %s: %+v, want %+v", user, got, want)
		}
	}

	defaults := get(startIncidents(t, gateway.Options{}, "", "").gw, vic.Name)
	if a := defaults.Alerts; a.EnvironmentAttribute != "environment" || a.Default != "production" || a.RepeatSeconds != 30 || len(a.Policies) != 3 ||
		a.Policies[0] != (policy{"production", "critical", "critical", "critical"}) || a.Policies[2] != (policy{"uat", "never", "never", "never"}) {
		t.Errorf("the defaults: %+v", a)
	}
}
