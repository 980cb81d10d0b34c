package gateway_test

import (
	"maps"
	"net/http"
	"testing"

	"github.com/watchfloor/watchfloor/gateway"
	"github.com/watchfloor/watchfloor/gateway/access"
	gt "github.com/watchfloor/watchfloor/gateway/gatewaytest"
)

// Every route demands a permission, and a caller without it is refused
// while one with it is served: with two callers, a watcher who may only
// view and an operator who may do everything.
func TestRoutesDemandPermissions(t *testing.T) {
	watcher := access.NewIdentity("watcher", access.KindPerson, access.View)
	operator := access.NewIdentity("operator", access.KindPerson, access.All()...)
	auth := access.AuthenticatorFunc(func(r *http.Request) (access.Identity, error) {
		if r.Header.Get("X-Test-Caller") == "operator" {
			return operator, nil
		}
		return watcher, nil
	})
	gw2, _ := gt.StartFile(t, gateway.Options{Authenticator: auth}, probe("perm", "cpu"))
	want := map[string]access.Permission{
		"GET /healthz":                    access.Public,
		"GET /metrics":                    access.Public,
		"GET /ws/probe":                   access.Probe,
		"GET /ws/dashboard":               access.View,
		"GET /api/v1/probes":              access.View,
		"GET /api/v1/tree":                access.View,
		"GET /api/v1/dataviews":           access.View,
		"GET /api/v1/dataviews/*":         access.View,
		"POST /api/v1/config/reload":      access.ReloadConfig,
		"GET /api/v1/rules":               access.View,
		"POST /api/v1/rules":              access.EditRules,
		"POST /api/v1/rules/validate":     access.View,
		"POST /api/v1/rules/preview":      access.View,
		"GET /api/v1/rules/:name":         access.View,
		"PUT /api/v1/rules/:name":         access.EditRules,
		"DELETE /api/v1/rules/:name":      access.EditRules,
		"GET /api/v1/rules/:name/history": access.View,
		"POST /api/v1/rules/:name/revert": access.EditRules,
		"POST /api/v1/rules/:name/copy":   access.EditRules,
		"GET /debug/pprof/profile":        access.Debug,
		"GET /debug/pprof/*":              access.Debug,
		"GET /*":                          access.View,
	}
	got := map[string]access.Permission{}
	for _, r := range gw2.Routes() {
		got[r.Method+" "+r.Path] = r.Permission
	}
	if !maps.Equal(got, want) {
		t.Errorf("routes and their permissions:\n got %v\nwant %v", got, want)
	}
	do := func(method, path, caller string) int {
		req, _ := http.NewRequest(method, gw2.URL()+path, nil)
		req.Header.Set("X-Test-Caller", caller)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, c := range []struct {
		method, path, caller string
		want                 int
	}{
		{"POST", "/api/v1/config/reload", "watcher", http.StatusForbidden},
		{"POST", "/api/v1/config/reload", "operator", http.StatusOK},
		{"GET", "/debug/pprof/", "watcher", http.StatusForbidden},
		{"GET", "/debug/pprof/", "operator", http.StatusOK},
		{"GET", "/api/v1/tree", "watcher", http.StatusOK},
		{"GET", "/api/v1/rules", "watcher", http.StatusOK},
		{"DELETE", "/api/v1/rules/none", "watcher", http.StatusForbidden},
		{"DELETE", "/api/v1/rules/none", "operator", http.StatusNotFound},
		{"GET", "/healthz", "watcher", http.StatusOK},
	} {
		if got := do(c.method, c.path, c.caller); got != c.want {
			t.Errorf("%s %s as %s: %d, want %d", c.method, c.path, c.caller, got, c.want)
		}
	}
}
