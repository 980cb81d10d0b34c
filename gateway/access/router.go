package access

import (
	"cmp"
	"context"
	"fmt"
	"net/http"
	"slices"

	"github.com/labstack/echo/v5"
)

// Route is one registered route and the permission it demands.
type Route struct {
	Method     string
	Path       string
	Permission Permission
}

type routeKey struct{ method, path string }

// Router registers routes on an echo server, each with the permission it
// demands, and enforces them. Make one per server and hand it to every
// package that adds routes (a second Router on the same server would deny
// the first one's routes). Register every route before serving: Handle is
// not safe to call while requests are served (nor is echo's own router);
// serving is safe for concurrent use.
type Router struct {
	e     *echo.Echo
	auth  Authenticator
	perms map[routeKey]Permission
}

// NewRouter returns a Router over e and installs its middleware on e (with
// e.Use, so it runs after routing, for matched routes only). From then on
// a route that e serves but that was not registered through the Router is
// denied with 403; a route demanding a permission other than Public or
// Probe asks auth who the caller is (401 if nobody) and refuses a caller
// without the permission (403 naming it). Unmatched paths and methods keep
// echo's 404 and 405.
func NewRouter(e *echo.Echo, auth Authenticator) *Router {
	if e == nil || auth == nil {
		panic("access: NewRouter needs an echo server and an Authenticator")
	}
	r := &Router{e: e, auth: auth, perms: make(map[routeKey]Permission)}
	e.Use(r.authorize)
	return r
}

// Handle registers h for method and path, demanding perm. It panics if
// perm is empty or not declared in this package, or if the route was
// registered before: those are mistakes in the code, not in its input.
func (r *Router) Handle(method, path string, perm Permission, h echo.HandlerFunc) {
	if perm == "" {
		panic(fmt.Sprintf("access: %s %s registered without a permission", method, path))
	}
	if !known(perm) {
		panic(fmt.Sprintf("access: %s %s demands unknown permission %q; declare it in package access", method, path, perm))
	}
	ri := r.e.Add(method, path, h)
	k := routeKey{ri.Method, ri.Path}
	if _, dup := r.perms[k]; dup {
		panic(fmt.Sprintf("access: %s %s registered twice", ri.Method, ri.Path))
	}
	r.perms[k] = perm
}

// GET registers a GET route; see Handle.
func (r *Router) GET(path string, perm Permission, h echo.HandlerFunc) {
	r.Handle(http.MethodGet, path, perm, h)
}

// POST registers a POST route; see Handle.
func (r *Router) POST(path string, perm Permission, h echo.HandlerFunc) {
	r.Handle(http.MethodPost, path, perm, h)
}

// Routes returns every registered route, sorted by path and then method.
func (r *Router) Routes() []Route {
	out := make([]Route, 0, len(r.perms))
	for k, p := range r.perms {
		out = append(out, Route{Method: k.method, Path: k.path, Permission: p})
	}
	slices.SortFunc(out, func(a, b Route) int {
		return cmp.Or(cmp.Compare(a.Path, b.Path), cmp.Compare(a.Method, b.Method))
	})
	return out
}

func (r *Router) authorize(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c *echo.Context) error {
		ri := c.RouteInfo()
		if ri.Path == "" {
			return next(c) // no route matched: echo's 404 or 405
		}
		perm, ok := r.perms[routeKey{ri.Method, ri.Path}]
		if !ok {
			return echo.NewHTTPError(http.StatusForbidden, "route has no permission; denied")
		}
		if open(perm) {
			return next(c)
		}
		req := c.Request()
		id, err := r.auth.Authenticate(req)
		if err != nil {
			return echo.NewHTTPError(http.StatusUnauthorized, "not authenticated: "+err.Error()).Wrap(err)
		}
		if !id.Can(perm) {
			return echo.NewHTTPError(http.StatusForbidden, "needs permission "+string(perm))
		}
		c.SetRequest(req.WithContext(context.WithValue(req.Context(), identityKey{}, id)))
		return next(c)
	}
}
