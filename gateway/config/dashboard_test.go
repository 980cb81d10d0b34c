package config_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/watchfloor/watchfloor/gateway/config"
)

// TestParseDashboard checks what the dashboard section decodes to, every
// key given: listed policies replace the defaults, and a level left out is
// never.
func TestParseDashboard(t *testing.T) {
	c, err := config.Load("testdata/dashboard.good.yaml")
	if err != nil {
		t.Fatal(err)
	}
	want := config.Alerts{EnvironmentAttribute: "env", Default: "prod", Repeat: time.Minute, Policies: []config.AlertPolicy{
		{Environment: "prod", Banner: config.AlertWarning, Sound: config.AlertCritical, Notify: config.AlertWarning},
		{Environment: "staging", Banner: config.AlertCritical, Sound: config.AlertNever, Notify: config.AlertNever},
		{Environment: "uat", Banner: config.AlertNever, Sound: config.AlertNever, Notify: config.AlertNever},
	}}
	if !reflect.DeepEqual(c.Dashboard.Alerts, want) {
		t.Errorf("dashboard.alerts =\n%+v\nwant\n%+v", c.Dashboard.Alerts, want)
	}
	if got := c.Dashboard.AlertsInForce(); !reflect.DeepEqual(got, want) {
		t.Errorf("in force: %+v, want what the file says", got)
	}
}

// Without a dashboard section, production sounds and notifies for
// critical incidents, pre-production shows them in the banner only, UAT
// is silent, and any other environment is treated as production; a
// configuration built in code, with a zero section, has the same.
func TestDashboardDefaults(t *testing.T) {
	c, err := config.Parse("minimal.yaml", []byte("listen: 127.0.0.1:7039\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := config.Alerts{EnvironmentAttribute: "environment", Default: "production", Repeat: 30 * time.Second, Policies: []config.AlertPolicy{
		{Environment: "production", Banner: config.AlertCritical, Sound: config.AlertCritical, Notify: config.AlertCritical},
		{Environment: "pre-production", Banner: config.AlertCritical, Sound: config.AlertNever, Notify: config.AlertNever},
		{Environment: "uat", Banner: config.AlertNever, Sound: config.AlertNever, Notify: config.AlertNever},
	}}
	if got := c.Dashboard.AlertsInForce(); !reflect.DeepEqual(got, want) {
		t.Errorf("defaults =\n%+v\nwant\n%+v", got, want)
	}
	c, err = config.Parse("repeat.yaml", []byte("listen: 127.0.0.1:7039\ndashboard: {alerts: {repeat: 0s}}\n"))
	if err != nil {
		t.Fatal(err)
	}
	once := want
	once.Repeat = 0
	if !reflect.DeepEqual(c.Dashboard.Alerts, once) {
		t.Errorf("a section with repeat alone =\n%+v\nwant the defaults with repeat 0s\n%+v", c.Dashboard.Alerts, once)
	}
	built := &config.Config{Listen: "127.0.0.1:7039", Limits: config.DefaultLimits(), Sessions: config.DefaultSessions(),
		Audit: config.DefaultAudit(), History: config.DefaultHistory()}
	if err := built.Validate(); err != nil {
		t.Fatalf("a configuration built in code without a dashboard section: %v", err)
	}
	if got := built.Dashboard.AlertsInForce(); !reflect.DeepEqual(got, want) {
		t.Errorf("in force for a zero section: %+v, want the defaults", got)
	}
}
