package access

import (
	"cmp"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/labstack/echo/v5"
)

// Route is one registered route and the permission it demands.
type Route struct {
	Method     string
	Path       string
	Permission Permission
	// Scoped routes filter what they serve by the caller's scope; every
	// other route shows the whole estate, so the Router refuses a scoped
	// caller there (403). A route that forgets scopes thus fails closed.
	Scoped bool
}

// RouteOption changes how a route is registered.
type RouteOption func(*Route)

// Scoped registers a route as filtering by the caller's scope, so scoped
// callers may use it; see Route.Scoped.
func Scoped(r *Route) { r.Scoped = true }

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
	perms map[routeKey]Route
	login string
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
	r := &Router{e: e, auth: auth, perms: make(map[routeKey]Route)}
	e.Use(r.authorize)
	return r
}

// LoginPage makes a browser's page load (a GET accepting text/html) that
// finds nobody logged in go to path, with the page it wanted in "next",
// rather than get a 401 body.
func (r *Router) LoginPage(path string) { r.login = path }

// Handle registers h for method and path, demanding perm. It panics if
// perm is empty or not declared in this package, or if the route was
// registered before: those are mistakes in the code, not in its input.
func (r *Router) Handle(method, path string, perm Permission, h echo.HandlerFunc, opts ...RouteOption) {
	if perm == "" {
		panic(fmt.Sprintf("access: %s %s registered without a permission", method, path))
	}
	if !open(perm) && !Known(perm) {
		panic(fmt.Sprintf("access: %s %s demands unknown permission %q; declare it in package access", method, path, perm))
	}
	ri := r.e.Add(method, path, h)
	k := routeKey{ri.Method, ri.Path}
	if _, dup := r.perms[k]; dup {
		panic(fmt.Sprintf("access: %s %s registered twice", ri.Method, ri.Path))
	}
	rt := Route{Method: ri.Method, Path: ri.Path, Permission: perm}
	for _, o := range opts {
		o(&rt)
	}
	r.perms[k] = rt
}

// GET registers a GET route; see Handle.
func (r *Router) GET(path string, perm Permission, h echo.HandlerFunc, opts ...RouteOption) {
	r.Handle(http.MethodGet, path, perm, h, opts...)
}

// POST registers a POST route; see Handle.
func (r *Router) POST(path string, perm Permission, h echo.HandlerFunc, opts ...RouteOption) {
	r.Handle(http.MethodPost, path, perm, h, opts...)
}

// PUT registers a PUT route; see Handle.
func (r *Router) PUT(path string, perm Permission, h echo.HandlerFunc, opts ...RouteOption) {
	r.Handle(http.MethodPut, path, perm, h, opts...)
}

// DELETE registers a DELETE route; see Handle.
func (r *Router) DELETE(path string, perm Permission, h echo.HandlerFunc, opts ...RouteOption) {
	r.Handle(http.MethodDelete, path, perm, h, opts...)
}

// Routes returns every registered route, sorted by path and then method.
func (r *Router) Routes() []Route {
	out := make([]Route, 0, len(r.perms))
	for _, rt := range r.perms {
		out = append(out, rt)
	}
	slices.SortFunc(out, func(a, b Route) int {
		return cmp.Or(cmp.Compare(a.Path, b.Path), cmp.Compare(a.Method, b.Method))
	})
	return out
}

// Refusal is the JSON body of a 401 or 403 from the Router: why, and for
// a missing permission which one and which roles grant it.
type Refusal struct {
	Message    string     `json:"message"`
	Permission Permission `json:"permission,omitempty"`
	Roles      []string   `json:"roles,omitempty"`
}

func (r *Router) authorize(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c *echo.Context) error {
		ri := c.RouteInfo()
		if ri.Path == "" {
			return next(c) // no route matched: echo's 404 or 405
		}
		rt, ok := r.perms[routeKey{ri.Method, ri.Path}]
		if !ok {
			return c.JSON(http.StatusForbidden, Refusal{Message: "route has no permission; denied"})
		}
		if open(rt.Permission) {
			return next(c)
		}
		req := c.Request()
		id, err := r.auth.Authenticate(req)
		switch {
		case err != nil:
			return r.unauthenticated(c, "not logged in: "+err.Error())
		case !id.Can(rt.Permission) && id.Kind == KindAnonymous:
			return r.unauthenticated(c, "not logged in")
		case !id.Can(rt.Permission):
			ref := Refusal{Message: fmt.Sprintf("%s may not do this: it needs permission %s", id.Name, rt.Permission), Permission: rt.Permission}
			if ex, ok := r.auth.(Explainer); ok {
				ref.Roles = ex.RolesGranting(rt.Permission)
				if len(ref.Roles) > 0 {
					ref.Message += ", which roles " + strings.Join(ref.Roles, ", ") + " grant"
				}
			}
			return c.JSON(http.StatusForbidden, ref)
		case !id.Scope.Whole() && !rt.Scoped:
			return c.JSON(http.StatusForbidden, Refusal{Message: fmt.Sprintf(
				"%s sees only %s, and this shows the whole estate", id.Name, id.Scope)})
		}
		c.SetRequest(req.WithContext(WithIdentity(req.Context(), id)))
		return next(c)
	}
}

// unauthenticated answers 401, or sends a browser loading a page to the
// login page.
func (r *Router) unauthenticated(c *echo.Context, msg string) error {
	req := c.Request()
	if r.login != "" && req.Method == http.MethodGet && strings.Contains(req.Header.Get("Accept"), "text/html") {
		return c.Redirect(http.StatusSeeOther, r.login+"?next="+url.QueryEscape(req.URL.RequestURI()))
	}
	return c.JSON(http.StatusUnauthorized, Refusal{Message: msg})
}
