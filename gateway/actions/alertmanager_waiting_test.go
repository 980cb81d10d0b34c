package actions

import (
	"testing"
	"time"

	"github.com/watchfloor/watchfloor/gateway/config"
)

// A message waiting for the rate limit, or backing off between attempts,
// must not hold up the resends and the watchdog: Alertmanager would
// resolve the firing alerts, and the dead-man's switch page someone.
func TestAlertmanagerKeepsFiringWhileMessageWaits(t *testing.T) {
	t.Parallel()
	f := func(t *testing.T, a config.Action, statuses ...int) {
		t.Helper()
		t.Parallel()
		r := newReceiver(t, statuses...)
		a.Name = "am"
		a.Alertmanager = &config.AlertmanagerAction{URLs: []string{r.URL}, Resend: 100 * time.Millisecond, Watchdog: 100 * time.Millisecond}
		d := start(t, Options{Actions: []config.Action{a}})
		d.Send([]string{"am"}, msg(Opened, "INC-1"))
		d.Send([]string{"am"}, msg(Opened, "INC-2")) // waits: rate limit, or backoff
		watchdogs, resends := 0, 0
		for watchdogs < 5 || resends < 5 {
			p := nextPost(t, r)
			for _, al := range p.alerts {
				switch {
				case al.Labels["alertname"] == watchdogName:
					watchdogs++
				case al.Labels["incident"] == "INC-1" && al.EndsAt.After(p.at):
					resends++
				}
			}
		}
	}
	t.Run("rate limit", func(t *testing.T) {
		f(t, config.Action{Timeout: 5 * time.Second, RateLimit: 1, RatePer: time.Hour})
	})
	t.Run("backoff", func(t *testing.T) {
		// The first tick and INC-1 are taken; then every post is refused
		// with a 503, and INC-2's attempts back off for an hour.
		f(t, config.Action{Timeout: 5 * time.Second, Retries: 3, MinBackoff: time.Hour, MaxBackoff: time.Hour}, 200, 200, 503)
	})
}
