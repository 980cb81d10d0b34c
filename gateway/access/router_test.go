package access_test

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/labstack/echo/v5"
	"go.uber.org/goleak"

	"github.com/watchfloor/watchfloor/gateway/access"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// authenticate is a test Authenticator: the X-Caller header names who
// calls.
func authenticate(r *http.Request) (access.Identity, error) {
	switch name := r.Header.Get("X-Caller"); name {
	case "watcher":
		return access.NewIdentity(name, access.KindKiosk, access.View), nil
	case "admin":
		return access.NewIdentity(name, access.KindPerson, access.All()...), nil
	case "client":
		id := access.NewIdentity(name, access.KindPerson, access.View, access.ReloadConfig)
		id.Scope = access.Scope{Attribute: "client", Values: []string{"acme"}}
		return id, nil
	case "scraper":
		return access.NewIdentity(name, access.KindAnonymous, access.ScrapeMetrics), nil
	case "":
		return access.Identity{}, errors.New("no session")
	default:
		return access.Identity{}, errors.New("unknown caller " + name)
	}
}

// whoami answers with the identity the Router attached.
func whoami(c *echo.Context) error {
	id := access.IdentityOf(c)
	return c.String(http.StatusOK, "served "+id.Name+" ("+id.Kind.String()+")")
}

func newServer(t *testing.T, auth access.Authenticator) (*echo.Echo, *access.Router) {
	t.Helper()
	e := echo.New()
	e.Logger = slog.New(slog.DiscardHandler)
	r := access.NewRouter(e, auth)
	r.GET("/healthz", access.Public, whoami)
	r.GET("/ws/probe", access.Probe, whoami)
	r.GET("/api/v1/dataviews", access.View, whoami, access.Scoped)
	r.GET("/api/v1/dataviews/*", access.View, whoami, access.Scoped)
	r.POST("/api/v1/config/reload", access.ReloadConfig, whoami)
	r.Handle(http.MethodGet, "/debug/pprof/*", access.Debug, whoami)
	return e, r
}

func serve(e *echo.Echo, method, path, caller string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, nil)
	if caller != "" {
		req.Header.Set("X-Caller", caller)
	}
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, req)
	return rec
}

func TestRouterEnforcesPermissions(t *testing.T) {
	e, _ := newServer(t, access.AuthenticatorFunc(authenticate))
	e.GET("/api/v1/forgotten", whoami) // added behind the Router's back

	tests := []struct {
		name, method, path, caller string
		code                       int
		body                       string
	}{
		{"unregistered route denied to admin", "GET", "/api/v1/forgotten", "admin", 403, "route has no permission; denied"},
		{"unregistered route denied before authentication", "GET", "/api/v1/forgotten", "", 403, "route has no permission; denied"},
		{"public needs no identity", "GET", "/healthz", "", 200, "served  (anonymous)"},
		{"public ignores a caller", "GET", "/healthz", "admin", 200, "served  (anonymous)"},
		{"probe needs no identity", "GET", "/ws/probe", "", 200, "served  (anonymous)"},
		{"view without identity", "GET", "/api/v1/dataviews", "", 401, "not logged in: no session"},
		{"anonymous without the permission is told to log in", "GET", "/api/v1/dataviews", "scraper", 401, `{"message":"not logged in"}`},
		{"view with unknown caller", "GET", "/api/v1/dataviews", "mallory", 401, "unknown caller mallory"},
		{"view served to watcher", "GET", "/api/v1/dataviews", "watcher", 200, "served watcher (kiosk)"},
		{"wildcard route served to watcher", "GET", "/api/v1/dataviews/p/e/s/d", "watcher", 200, "served watcher"},
		{"reload refused to watcher", "POST", "/api/v1/config/reload", "watcher", 403, `"permission":"reload-config"`},
		{"scoped caller served on a scoped route", "GET", "/api/v1/dataviews", "client", 200, "served client (person)"},
		{"scoped caller refused the whole estate", "POST", "/api/v1/config/reload", "client", 403, "client sees only client=acme, and this shows the whole estate"},
		{"reload served to admin", "POST", "/api/v1/config/reload", "admin", 200, "served admin (person)"},
		{"pprof refused to watcher", "GET", "/debug/pprof/heap", "watcher", 403, "watcher may not do this: it needs permission debug"},
		{"pprof served to admin", "GET", "/debug/pprof/heap", "admin", 200, "served admin"},
		{"view served to admin", "GET", "/api/v1/dataviews", "admin", 200, "served admin"},
		{"unknown path keeps 404", "GET", "/nowhere", "admin", 404, "Not Found"},
		{"unknown method keeps 405", "DELETE", "/healthz", "", 405, "Method Not Allowed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := serve(e, tt.method, tt.path, tt.caller)
			if rec.Code != tt.code || !strings.Contains(rec.Body.String(), tt.body) {
				t.Errorf("%s %s as %q: %d %q, want %d containing %q", tt.method, tt.path, tt.caller, rec.Code, rec.Body.String(), tt.code, tt.body)
			}
		})
	}
}

// A handler put over a registered route behind the Router's back still
// gets the route's permission enforced.
func TestOverwrittenRouteKeepsItsPermission(t *testing.T) {
	e, _ := newServer(t, access.AuthenticatorFunc(authenticate))
	e.POST("/api/v1/config/reload", whoami)
	if rec := serve(e, "POST", "/api/v1/config/reload", "watcher"); rec.Code != http.StatusForbidden {
		t.Fatalf("overwritten route answered the watcher %d %q, want 403", rec.Code, rec.Body.String())
	}
}

// rolesAuth is an Authenticator that explains refusals.
type rolesAuth struct{ access.AuthenticatorFunc }

func (rolesAuth) RolesGranting(p access.Permission) []string {
	return access.DefaultRoles().Granting(p)
}

// A refusal names the permission and the roles that grant it, in JSON.
func TestRefusalNamesRoles(t *testing.T) {
	e, _ := newServer(t, rolesAuth{authenticate})
	rec := serve(e, "POST", "/api/v1/config/reload", "watcher")
	var ref access.Refusal
	if err := json.Unmarshal(rec.Body.Bytes(), &ref); err != nil || rec.Code != http.StatusForbidden {
		t.Fatalf("reload as watcher: %d %q (%v)", rec.Code, rec.Body.String(), err)
	}
	want := access.Refusal{Message: "watcher may not do this: it needs permission reload-config, which roles admin grant",
		Permission: access.ReloadConfig, Roles: []string{"admin"}}
	if ref.Message != want.Message || ref.Permission != want.Permission || !slices.Equal(ref.Roles, want.Roles) {
		t.Errorf("refusal %+v, want %+v", ref, want)
	}
}

// A browser loading a page without a session goes to the login page,
// keeping where it wanted to go; an API call gets 401.
func TestLoginPageRedirect(t *testing.T) {
	e, r := newServer(t, access.AuthenticatorFunc(authenticate))
	r.LoginPage("/login")
	req := httptest.NewRequest("GET", "/api/v1/dataviews/p/e/s/d?x=1", nil)
	req.Header.Set("Accept", "text/html,application/xhtml+xml")
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, req)
	if loc := rec.Header().Get("Location"); rec.Code != http.StatusSeeOther || loc != "/login?next=%2Fapi%2Fv1%2Fdataviews%2Fp%2Fe%2Fs%2Fd%3Fx%3D1" {
		t.Errorf("page load without a session: %d to %q", rec.Code, loc)
	}
	if rec := serve(e, "GET", "/api/v1/dataviews", ""); rec.Code != http.StatusUnauthorized {
		t.Errorf("API call without a session: %d", rec.Code)
	}
}

func TestIdentityCan(t *testing.T) {
	tests := []struct {
		name string
		id   access.Identity
		can  []access.Permission
		not  []access.Permission
	}{
		{"zero identity", access.Identity{}, []access.Permission{access.Public, access.Probe}, access.All()},
		{"view only", access.NewIdentity("w", access.KindKiosk, access.View), []access.Permission{access.Public, access.View}, []access.Permission{access.ReloadConfig, access.Debug}},
		{"everything", access.NewIdentity("a", access.KindPerson, access.All()...), append(access.All(), access.Public, access.Probe), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, p := range tt.can {
				if !tt.id.Can(p) {
					t.Errorf("Can(%s) = false", p)
				}
			}
			for _, p := range tt.not {
				if tt.id.Can(p) {
					t.Errorf("Can(%s) = true", p)
				}
			}
		})
	}
}

func TestRoutesSorted(t *testing.T) {
	_, r := newServer(t, access.AuthenticatorFunc(authenticate))
	want := []access.Route{
		{Method: "POST", Path: "/api/v1/config/reload", Permission: access.ReloadConfig},
		{Method: "GET", Path: "/api/v1/dataviews", Permission: access.View, Scoped: true},
		{Method: "GET", Path: "/api/v1/dataviews/*", Permission: access.View, Scoped: true},
		{Method: "GET", Path: "/debug/pprof/*", Permission: access.Debug},
		{Method: "GET", Path: "/healthz", Permission: access.Public},
		{Method: "GET", Path: "/ws/probe", Permission: access.Probe},
	}
	r.POST("/healthz", access.Public, whoami)
	want = slices.Insert(want, 5, access.Route{Method: "POST", Path: "/healthz", Permission: access.Public})
	if got := r.Routes(); !slices.Equal(got, want) {
		t.Errorf("Routes() =\n%v\nwant\n%v", got, want)
	}
}

func TestRegistrationMistakesPanic(t *testing.T) {
	tests := []struct {
		name, path string
		perm       access.Permission
		want       string
	}{
		{"twice", "/api/v1/dataviews", access.View, "GET /api/v1/dataviews registered twice"},
		{"twice with another permission", "/healthz", access.Debug, "GET /healthz registered twice"},
		{"no permission", "/api/v1/new", "", "GET /api/v1/new registered without a permission"},
		{"unknown permission", "/api/v1/new", "acknowledge-all", `unknown permission "acknowledge-all"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, r := newServer(t, access.AuthenticatorFunc(authenticate))
			defer func() {
				msg, _ := recover().(string)
				if !strings.Contains(msg, tt.want) {
					t.Errorf("panic %q, want one containing %q", msg, tt.want)
				}
			}()
			r.GET(tt.path, tt.perm, whoami)
		})
	}
}
