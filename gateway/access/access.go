package access

import (
	"context"
	"net/http"
	"slices"
	"strings"

	"github.com/labstack/echo/v5"
)

// Permission is one thing a route lets its caller do. Every permission is
// declared here, so the role table and its validation know all of them; a
// route that demands one not declared here panics when it is registered.
type Permission string

// The permissions routes demand and roles grant. Some are declared ahead
// of the routes that will demand them (remedies, escalation policies,
// probes), so that the default roles are whole and a configuration can
// name them now.
const (
	// Public routes need no identity: health checks, the login page.
	Public Permission = "public"
	// Probe routes are for netprobes, whose token the handler itself
	// checks; like Public they need no identity from the Authenticator.
	Probe Permission = "probe"

	// View lets a caller watch: the dashboard, its socket and the
	// read-only API, within the caller's scope.
	View Permission = "view"
	// RaiseIncident lets a caller open an incident by hand.
	RaiseIncident Permission = "raise-incident"

	// First line.
	Acknowledge   Permission = "acknowledge"
	Comment       Permission = "comment"
	Snooze        Permission = "snooze"
	Assign        Permission = "assign"
	RequestRemedy Permission = "request-remedy"

	// Client services.
	RecordClientUpdate Permission = "record-client-update"
	SendClientNotice   Permission = "send-client-notice"
	ReadReports        Permission = "read-reports"

	// ReadRules lets a caller read, validate and preview rules, which
	// span the whole estate (so a scoped caller may not, whatever its
	// roles).
	ReadRules Permission = "read-rules"

	// Back line.
	EditRules          Permission = "edit-rules"
	Backtest           Permission = "backtest"
	MaintenanceWindows Permission = "maintenance-windows"

	// Support manager.
	ResolveIncidents Permission = "resolve-incidents"
	ApproveActions   Permission = "approve-actions"
	ManageEscalation Permission = "manage-escalation"

	// Administrator.
	ManageUsers  Permission = "manage-users"
	ManageProbes Permission = "manage-probes"
	ManageKiosks Permission = "manage-kiosks"
	ReadAudit    Permission = "read-audit"
	ReloadConfig Permission = "reload-config"
	// Debug lets a caller profile the gateway (pprof), which exposes its
	// internals.
	Debug Permission = "debug"
	// ScrapeMetrics lets a caller read /metrics: a Prometheus holding the
	// configured bearer token, or an administrator.
	ScrapeMetrics Permission = "scrape-metrics"
)

// all lists every grantable permission in the order documentation and
// messages give them.
var all = []Permission{
	View, RaiseIncident,
	Acknowledge, Comment, Snooze, Assign, RequestRemedy,
	RecordClientUpdate, SendClientNotice, ReadReports,
	ReadRules, EditRules, Backtest, MaintenanceWindows,
	ResolveIncidents, ApproveActions, ManageEscalation,
	ManageUsers, ManageProbes, ManageKiosks, ReadAudit, ReloadConfig, Debug, ScrapeMetrics,
}

// All returns every permission a role can grant, in a fresh slice. Public
// and Probe are not among them: they are open to every caller.
func All() []Permission { return slices.Clone(all) }

// open reports whether a route demanding p is served without asking the
// Authenticator who the caller is.
func open(p Permission) bool { return p == Public || p == Probe }

// Known reports whether p is a permission a role can grant.
func Known(p Permission) bool { return slices.Contains(all, p) }

// Kind says what sort of caller an Identity is.
type Kind uint8

// Kinds of caller.
const (
	// KindAnonymous is a caller nobody identified: the zero Identity on
	// Public and Probe routes, or a scraper recognised by its token or
	// address alone. Refused, it is told to log in (401), not that it
	// lacks a role (403).
	KindAnonymous Kind = iota
	// KindPerson is someone who logged in.
	KindPerson
	// KindKiosk is a wall screen holding a long-lived, read-only link.
	KindKiosk
)

// String returns the kind's name as logs and the API show it.
func (k Kind) String() string {
	switch k {
	case KindAnonymous:
		return "anonymous"
	case KindPerson:
		return "person"
	case KindKiosk:
		return "kiosk"
	}
	return "unknown"
}

// Scope limits what an identity sees to the entities whose Attribute
// (such as "client") has one of Values. The zero Scope is the whole
// estate. A Scope is not changed once made.
type Scope struct {
	Attribute string
	Values    []string
}

// Whole reports whether the scope is the whole estate.
func (s Scope) Whole() bool { return s.Attribute == "" }

// Contains reports whether an entity with attrs is inside the scope.
func (s Scope) Contains(attrs map[string]string) bool {
	if s.Whole() {
		return true
	}
	v, ok := attrs[s.Attribute]
	return ok && slices.Contains(s.Values, v)
}

// Equal reports whether s and o are the same scope, whatever the order of
// their values.
func (s Scope) Equal(o Scope) bool {
	return s.Attribute == o.Attribute && SameNames(s.Values, o.Values)
}

// SameNames reports whether a and b hold the same names (roles, scope
// values), ignoring order and repeats.
func SameNames(a, b []string) bool {
	return slices.Equal(slices.Compact(slices.Sorted(slices.Values(a))), slices.Compact(slices.Sorted(slices.Values(b))))
}

// String returns the scope as the API and logs show it: "client=acme" or
// "client=acme|beta"; "" for the whole estate.
func (s Scope) String() string {
	if s.Whole() {
		return ""
	}
	return s.Attribute + "=" + strings.Join(s.Values, "|")
}

// Identity is who is calling and what their roles let them do. The zero
// Identity is an anonymous caller with no permissions. An Identity never
// changes once made, so it is safe to share between goroutines.
type Identity struct {
	// Name identifies the caller in logs and the audit trail: a user
	// name, a kiosk's label.
	Name string
	// Kind says whether the caller is a person, a kiosk or nobody known.
	Kind Kind
	// Roles are the roles the caller holds, as configured.
	Roles []string
	// Scope filters what the caller sees; zero means everything.
	Scope Scope
	// Session identifies the session or kiosk link the caller came with,
	// so that ending it can close the caller's sockets; it is not the
	// secret. Empty for anonymous callers.
	Session string

	perms map[Permission]struct{}
}

// NewIdentity returns an identity granted perms, typically the union of
// its roles' permissions; duplicates are harmless. Set Roles, Scope and
// Session on the result.
func NewIdentity(name string, kind Kind, perms ...Permission) Identity {
	set := make(map[Permission]struct{}, len(perms))
	for _, p := range perms {
		set[p] = struct{}{}
	}
	return Identity{Name: name, Kind: kind, perms: set}
}

// Can reports whether the identity holds p. Public and Probe routes are
// open to everyone (a probe proves itself to its handler), so Can is true
// for them whatever was granted.
func (id Identity) Can(p Permission) bool {
	if open(p) {
		return true
	}
	_, ok := id.perms[p]
	return ok
}

// Permissions returns what the identity holds, in the order All gives.
func (id Identity) Permissions() []Permission {
	var out []Permission
	for _, p := range all {
		if _, ok := id.perms[p]; ok {
			out = append(out, p)
		}
	}
	return out
}

type identityKey struct{}

// WithIdentity returns ctx carrying id, as the Router attaches it.
func WithIdentity(ctx context.Context, id Identity) context.Context {
	return context.WithValue(ctx, identityKey{}, id)
}

// IdentityFrom returns the identity the Router attached to a request's
// context, or the zero (anonymous) Identity if there is none, as on Public
// and Probe routes. Handlers that see only the *http.Request, such as the
// dashboard hub, use it with r.Context().
func IdentityFrom(ctx context.Context) Identity {
	id, _ := ctx.Value(identityKey{}).(Identity)
	return id
}

// IdentityOf returns the identity of the caller behind c; see IdentityFrom.
func IdentityOf(c *echo.Context) Identity {
	return IdentityFrom(c.Request().Context())
}

// Authenticator finds who is behind a request. An error means nobody could
// be identified (no session, an expired one, a revoked kiosk link); the
// caller gets 401 with the error's text, so the text should say why and
// hold no secret.
type Authenticator interface {
	Authenticate(r *http.Request) (Identity, error)
}

// AuthenticatorFunc adapts a function to Authenticator.
type AuthenticatorFunc func(r *http.Request) (Identity, error)

var _ Authenticator = AuthenticatorFunc(nil)

// Authenticate calls f(r).
func (f AuthenticatorFunc) Authenticate(r *http.Request) (Identity, error) { return f(r) }

// Explainer is an Authenticator that can say which roles grant a
// permission, so a refusal names them.
type Explainer interface {
	RolesGranting(p Permission) []string
}
