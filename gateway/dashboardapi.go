package gateway

import (
	"net/http"

	"github.com/labstack/echo/v5"
	"github.com/watchfloor/watchfloor/gateway/access"
	"github.com/watchfloor/watchfloor/gateway/config"
)

// The dashboard's settings: what the web UI's pages are told of the desk's
// configuration, such as how to alert people in each environment. They
// hold nothing of the estate, so every viewer, scoped or not, gets the
// same.

func (g *Gateway) dashboardRoutes(r *access.Router) {
	r.GET("/api/v1/dashboard/settings", access.View, g.dashboardSettings, access.Scoped)
}

type alertPolicyJSON struct {
	Environment string            `json:"environment"`
	Banner      config.AlertLevel `json:"banner"`
	Sound       config.AlertLevel `json:"sound"`
	Notify      config.AlertLevel `json:"notify"`
}

type alertsJSON struct {
	EnvironmentAttribute string            `json:"environmentAttribute"`
	Default              string            `json:"default"`
	RepeatSeconds        float64           `json:"repeatSeconds"`
	Policies             []alertPolicyJSON `json:"policies"`
}

type dashboardSettingsJSON struct {
	Alerts alertsJSON `json:"alerts"`
}

// dashboardSettings serves the settings of the configuration in force.
func (g *Gateway) dashboardSettings(c *echo.Context) error {
	g.mu.RLock()
	a := g.cfg.Dashboard.AlertsInForce()
	g.mu.RUnlock()
	out := dashboardSettingsJSON{Alerts: alertsJSON{EnvironmentAttribute: a.EnvironmentAttribute, Default: a.Default,
		RepeatSeconds: a.Repeat.Seconds(), Policies: make([]alertPolicyJSON, 0, len(a.Policies))}}
	for _, p := range a.Policies {
		out.Alerts.Policies = append(out.Alerts.Policies, alertPolicyJSON(p))
	}
	return replyJSON(c, http.StatusOK, out)
}
