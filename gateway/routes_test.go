package gateway_test

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/cookiejar"
	"slices"
	"strings"
	"testing"

	"github.com/watchfloor/watchfloor/gateway"
	"github.com/watchfloor/watchfloor/gateway/access"
	"github.com/watchfloor/watchfloor/gateway/config"
	gt "github.com/watchfloor/watchfloor/gateway/gatewaytest"
)

// Two clients' systems on two probes: acme's and beta's.
var (
	acmeProbe = probe("acme-srv", "cpu")
	betaProbe = probe("beta-srv", "cpu")
)

// people holds a user for every default role, a client of acme and a
// viewer scoped to acme.
var people = []gt.User{
	{Name: "admin", Roles: []string{"admin"}},
	{Name: "manager", Roles: []string{"manager"}},
	{Name: "engineer", Roles: []string{"engineer"}},
	{Name: "services", Roles: []string{"client-services"}},
	{Name: "operator", Roles: []string{"operator"}},
	{Name: "viewer", Roles: []string{"viewer"}},
	{Name: "acme-client", Roles: []string{"client"}, Scope: "client=acme"},
	{Name: "acme-viewer", Roles: []string{"viewer"}, Scope: "client=acme"},
}

// clientsConfig is a configuration with the two clients' probes, each
// with one entity whose client attribute names its client, and people.
func clientsConfig(listen string) string {
	cfg := gt.Entities(listen, acmeProbe, betaProbe) + gt.Users(people...)
	cfg = strings.Replace(cfg, "attributes: {region: emea}", "attributes: {region: emea, client: acme}", 1)
	return strings.Replace(cfg, "attributes: {region: emea}", "attributes: {region: emea, client: beta}", 1)
}

func startClients(t *testing.T, opts gateway.Options) *gt.Gateway {
	t.Helper()
	ln := gt.Listen(t)
	cfg, err := config.Parse("clients.yaml", []byte(clientsConfig(ln.Addr().String())))
	if err != nil {
		t.Fatal(err)
	}
	opts.Config, opts.Listener = cfg, ln
	return gt.Start(t, opts)
}

// permissions is what every route demands. A route added without an
// entry here fails TestRouteMatrix, so no route escapes the matrix.
var permissions = map[string]access.Permission{
	"GET /healthz":                      access.Public,
	"GET /login":                        access.Public,
	"GET /login.js":                     access.Public,
	"GET /style.css":                    access.Public,
	"GET /favicon.svg":                  access.Public,
	"POST /api/v1/login":                access.Public,
	"POST /api/v1/logout":               access.Public,
	"GET /kiosk/:secret":                access.Public,
	"GET /ws/probe":                     access.Probe,
	"GET /metrics":                      access.ScrapeMetrics,
	"GET /ws/dashboard":                 access.View,
	"GET /api/v1/me":                    access.View,
	"POST /api/v1/me/password":          access.View,
	"GET /api/v1/probes":                access.View,
	"GET /api/v1/tree":                  access.View,
	"GET /api/v1/dataviews":             access.View,
	"GET /api/v1/dataviews/*":           access.View,
	"GET /*":                            access.View,
	"POST /api/v1/config/reload":        access.ReloadConfig,
	"GET /api/v1/rules":                 access.ReadRules,
	"POST /api/v1/rules":                access.EditRules,
	"POST /api/v1/rules/validate":       access.ReadRules,
	"POST /api/v1/rules/preview":        access.ReadRules,
	"POST /api/v1/rules/backtest":       access.Backtest,
	"GET /api/v1/history":               access.View,
	"GET /api/v1/rules/:name":           access.ReadRules,
	"PUT /api/v1/rules/:name":           access.EditRules,
	"DELETE /api/v1/rules/:name":        access.EditRules,
	"GET /api/v1/rules/:name/history":   access.ReadRules,
	"POST /api/v1/rules/:name/revert":   access.EditRules,
	"POST /api/v1/rules/:name/copy":     access.EditRules,
	"GET /api/v1/users":                 access.ManageUsers,
	"POST /api/v1/users":                access.ManageUsers,
	"PUT /api/v1/users/:name":           access.ManageUsers,
	"POST /api/v1/users/:name/password": access.ManageUsers,
	"GET /api/v1/sessions":              access.ManageUsers,
	"DELETE /api/v1/sessions/:id":       access.ManageUsers,
	"GET /api/v1/kiosks":                access.ManageKiosks,
	"POST /api/v1/kiosks":               access.ManageKiosks,
	"DELETE /api/v1/kiosks/:id":         access.ManageKiosks,
	"GET /api/v1/audit":                 access.ReadAudit,
	"GET /debug/pprof/profile":          access.Debug,
	"GET /debug/pprof/*":                access.Debug,

	"GET /api/v1/incidents":                   access.View,
	"POST /api/v1/incidents":                  access.RaiseIncident,
	"GET /api/v1/incidents/:id":               access.View,
	"GET /api/v1/incidents/:id/report":        access.ReadReports,
	"PUT /api/v1/incidents/:id/report":        access.ReadReports,
	"POST /api/v1/incidents/:id/ack":          access.Acknowledge,
	"POST /api/v1/incidents/:id/unack":        access.Acknowledge,
	"POST /api/v1/incidents/:id/assign":       access.Assign,
	"POST /api/v1/incidents/:id/comments":     access.Comment,
	"POST /api/v1/incidents/:id/snooze":       access.Snooze,
	"POST /api/v1/incidents/:id/unsnooze":     access.Snooze,
	"POST /api/v1/incidents/:id/impact":       access.RecordClientUpdate,
	"POST /api/v1/incidents/:id/updates":      access.RecordClientUpdate,
	"POST /api/v1/incidents/:id/drafts/:kind": access.SendClientNotice,
	"POST /api/v1/incidents/:id/notices":      access.SendClientNotice,
	"POST /api/v1/incidents/:id/resolve":      access.ResolveIncidents,
	"POST /api/v1/incidents/:id/close":        access.ResolveIncidents,
	"GET /api/v1/snoozes":                     access.View,
	"POST /api/v1/snoozes":                    access.Snooze,
	"DELETE /api/v1/snoozes":                  access.Snooze,
	"GET /api/v1/handover":                    access.View,
	"POST /api/v1/handover/notes":             access.Comment,

	"GET /api/v1/maintenance":        access.View,
	"POST /api/v1/maintenance":       access.MaintenanceWindows,
	"PUT /api/v1/maintenance/:id":    access.MaintenanceWindows,
	"DELETE /api/v1/maintenance/:id": access.MaintenanceWindows,

	"GET /api/v1/dashboard/settings": access.View,
}

// scoped are the routes that filter by the caller's scope, so a client
// may use them; every other route shows the whole estate.
var scoped = []string{
	"GET /ws/dashboard", "GET /api/v1/me", "POST /api/v1/me/password", "GET /api/v1/probes", "GET /api/v1/tree",
	"GET /api/v1/dataviews", "GET /api/v1/dataviews/*", "GET /api/v1/history", "GET /*",
	"GET /api/v1/incidents", "POST /api/v1/incidents", "GET /api/v1/incidents/:id", "GET /api/v1/incidents/:id/report",
	"GET /api/v1/snoozes", "GET /api/v1/handover", "GET /api/v1/dashboard/settings",
}

// concrete is the request the matrix sends for a route: parameters
// filled in with names that exist nowhere, so that a request let through
// changes nothing.
func concrete(r access.Route) string {
	p := r.Path
	switch p {
	case "/api/v1/dataviews/*":
		return "/api/v1/dataviews/" + cpuPath(acmeProbe)
	case "/debug/pprof/*":
		return "/debug/pprof/"
	case "/debug/pprof/profile":
		return "/debug/pprof/profile?seconds=1"
	case "/*":
		return "/index.html"
	case "/api/v1/history":
		return "/api/v1/history?path=nowhere/*/*/*/*/*"
	}
	for _, param := range []string{":name", ":id", ":secret", ":kind"} {
		p = strings.ReplaceAll(p, param, "nobody-has-this")
	}
	return p
}

// caller is one column of the matrix: who calls and what they hold.
type caller struct {
	name  string
	s     *gt.Session // nil: no session
	id    access.Identity
	roles []string
}

// Every route, with no session and as every default role, a scoped client
// and viewer, and a kiosk, gets exactly what the permission matrix says:
// the route list comes from the router itself, so a new route without a
// permission, or one that forgets scopes, fails here.
func TestRouteMatrix(t *testing.T) {
	gw := startClients(t, gateway.Options{})
	got := map[string]access.Permission{}
	gotScoped := []string{}
	for _, r := range gw.Routes() {
		key := r.Method + " " + r.Path
		got[key] = r.Permission
		if r.Scoped {
			gotScoped = append(gotScoped, key)
		}
	}
	if !maps.Equal(got, permissions) {
		for k, p := range got {
			if permissions[k] != p {
				t.Errorf("route %s demands %q; the matrix says %q", k, p, permissions[k])
			}
		}
		for k := range permissions {
			if _, ok := got[k]; !ok {
				t.Errorf("route %s is in the matrix but not served", k)
			}
		}
	}
	slices.Sort(gotScoped)
	wantScoped := slices.Sorted(slices.Values(scoped))
	if !slices.Equal(gotScoped, wantScoped) {
		t.Errorf("scoped routes %v, want %v", gotScoped, wantScoped)
	}

	roles := access.DefaultRoles()
	callers := []caller{{name: "no session"}}
	for _, u := range people {
		perms, _, err := roles.Grant(u.Roles)
		if err != nil {
			t.Fatal(err)
		}
		id := access.NewIdentity(u.Name, access.KindPerson, perms...)
		if attr, vals, ok := strings.Cut(u.Scope, "="); ok {
			id.Scope = access.Scope{Attribute: attr, Values: strings.Split(vals, "|")}
		}
		callers = append(callers, caller{name: u.Name, s: gt.Login(t, gw.URL(), u.Name), id: id, roles: u.Roles})
	}
	callers = append(callers, caller{name: "kiosk", s: kioskSession(t, gw, ""), id: access.NewIdentity("kiosk", access.KindKiosk, access.View)})

	for _, r := range gw.Routes() {
		key := r.Method + " " + r.Path
		path := concrete(r)
		for _, c := range callers {
			// Public routes are the same for everyone; logging out would
			// end the caller's session for the routes after it.
			if access.Permission(r.Permission) == access.Public && c.s != nil {
				continue
			}
			code, body := send(t, gw, c.s, r.Method, path)
			switch {
			case r.Permission == access.Probe:
				// The probe socket takes a probe token, never a session.
				if code != http.StatusUnauthorized {
					t.Errorf("%s as %s: %d, want 401: the probe socket needs a token", key, c.name, code)
				}
			case r.Permission == access.Public:
				if code == http.StatusForbidden || code >= 500 {
					t.Errorf("%s with no session: %d %s", key, code, body)
				}
			case c.s == nil:
				if code != http.StatusUnauthorized {
					t.Errorf("%s with no session: %d %s, want 401", key, code, body)
				}
			case c.id.Can(r.Permission) && (r.Scoped || c.id.Scope.Whole()):
				if code == http.StatusUnauthorized || code == http.StatusForbidden || code >= 500 {
					t.Errorf("%s as %s: %d %s, want it served (%s holds %s)", key, c.name, code, body, c.name, r.Permission)
				}
			default:
				var ref access.Refusal
				if code != http.StatusForbidden || json.Unmarshal(body, &ref) != nil || ref.Message == "" {
					t.Errorf("%s as %s: %d %s, want 403 with a reason", key, c.name, code, body)
				} else if !c.id.Can(r.Permission) && (ref.Permission != r.Permission || !slices.Equal(ref.Roles, roles.Granting(r.Permission))) {
					t.Errorf("%s as %s: refusal %+v does not name %s and the roles that grant it", key, c.name, ref, r.Permission)
				}
			}
		}
	}
}

// send makes one request as s (nil: no session), with an empty JSON body
// for methods that take one.
func send(t *testing.T, gw *gt.Gateway, s *gt.Session, method, path string) (int, []byte) {
	t.Helper()
	var body io.Reader
	if method == http.MethodPost || method == http.MethodPut {
		body = strings.NewReader("{}")
	}
	req, err := http.NewRequest(method, gw.URL()+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	client := &http.Client{Timeout: gt.Wait, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	if s != nil {
		client.Jar = s.Client.Jar
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// kioskSession has the admin issue a kiosk link (scoped if scope is not
// empty) and opens it as a wall screen's browser would.
func kioskSession(t *testing.T, gw *gt.Gateway, scope string) *gt.Session {
	t.Helper()
	req := map[string]any{"label": "wall " + scope}
	if scope != "" {
		req["scope"] = scope
	}
	code, body := gw.Admin(t).Do(t, http.MethodPost, "/api/v1/kiosks", req)
	if code != http.StatusCreated {
		t.Fatalf("issue a kiosk link: %d %s", code, body)
	}
	var issued struct{ ID, Link string }
	if err := json.Unmarshal(body, &issued); err != nil {
		t.Fatal(err)
	}
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: gt.Wait}
	resp, err := c.Get(gw.URL() + issued.Link)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/" {
		t.Fatalf("the kiosk link led to %s %s", resp.Status, resp.Request.URL)
	}
	s := &gt.Session{Client: c}
	for _, ck := range jar.Cookies(resp.Request.URL) {
		s.Cookie = ck.Name + "=" + ck.Value
	}
	return s
}

// kioskID returns the ID of the kiosk link labelled label.
func kioskID(t *testing.T, gw *gt.Gateway, label string) string {
	t.Helper()
	var kiosks []struct{ ID, Label string }
	gw.Admin(t).Get(t, "/api/v1/kiosks", &kiosks)
	for _, k := range kiosks {
		if k.Label == label {
			return k.ID
		}
	}
	t.Fatalf("no kiosk %q in %+v", label, kiosks)
	return ""
}

// A state change sent cross-site with a valid session is refused, as a
// form on another site posting to the gateway would be; the same request
// from the gateway's own page is served.
func TestCrossSiteStateChangeRefused(t *testing.T) {
	gw := startClients(t, gateway.Options{})
	admin := gw.Admin(t)
	for _, c := range []struct {
		name    string
		headers map[string]string
		want    int
	}{
		{"cross-site form", map[string]string{"Origin": "http://evil.example", "Sec-Fetch-Site": "cross-site"}, http.StatusForbidden},
		{"same-site, other origin", map[string]string{"Origin": "http://evil.example", "Sec-Fetch-Site": "same-site"}, http.StatusForbidden},
		{"other origin, no fetch metadata", map[string]string{"Origin": "http://127.0.0.2:1"}, http.StatusForbidden},
		{"own page", map[string]string{"Origin": gw.URL(), "Sec-Fetch-Site": "same-origin"}, http.StatusCreated},
	} {
		body := fmt.Sprintf(`{"label": %q}`, c.name)
		req, _ := http.NewRequest(http.MethodPost, gw.URL()+"/api/v1/kiosks", strings.NewReader(body))
		req.Header.Set("Content-Type", "text/plain")
		if c.want == http.StatusCreated {
			req.Header.Set("Content-Type", "application/json")
		}
		for k, v := range c.headers {
			req.Header.Set(k, v)
		}
		resp, err := admin.Client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != c.want {
			t.Errorf("%s: %d %s, want %d", c.name, resp.StatusCode, b, c.want)
		}
	}
	var kiosks []struct{ Label string }
	admin.Get(t, "/api/v1/kiosks", &kiosks)
	if len(kiosks) != 1 || kiosks[0].Label != "own page" {
		t.Errorf("kiosks after the cross-site attempts: %+v, want only the own page's", kiosks)
	}
}
