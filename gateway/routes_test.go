package gateway

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/labstack/echo/v5"

	"github.com/watchfloor/watchfloor/gateway/config"
)

func testGateway(t *testing.T) *Gateway {
	t.Helper()
	cfg, err := config.Parse("t", fmt.Appendf(nil, "listen: \"127.0.0.1:0\"\nprobes: [{name: p, token_sha256: %s}]\n", config.HashToken("t")))
	if err != nil {
		t.Fatal(err)
	}
	g, err := New(Options{Config: cfg, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// Every route the gateway serves was registered with the role it needs.
func TestEveryRouteHasARole(t *testing.T) {
	g := testGateway(t)
	routes := g.echo.Router().Routes()
	if len(routes) < 8 {
		t.Fatalf("only %d routes", len(routes))
	}
	for _, r := range routes {
		if _, ok := g.roles[routeKey(r.Method, r.Path)]; !ok {
			t.Errorf("%s %s has no role", r.Method, r.Path)
		}
	}
	if g.roles[routeKey(http.MethodPost, "/api/v1/config/reload")] != RoleAdmin {
		t.Error("config reload must need the admin role")
	}
}

// A route added without a role is denied, whoever asks.
func TestRouteWithoutRoleDenied(t *testing.T) {
	g := testGateway(t)
	g.echo.GET("/api/v1/forgotten", func(c *echo.Context) error { return c.String(http.StatusOK, "secret") })
	rec := httptest.NewRecorder()
	g.echo.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/api/v1/forgotten", nil))
	if rec.Code != http.StatusForbidden {
		t.Fatalf("unregistered route answered %d %q, want 403", rec.Code, rec.Body.String())
	}
	rec = httptest.NewRecorder()
	g.echo.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/api/v1/probes", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("registered route answered %d", rec.Code)
	}
}
