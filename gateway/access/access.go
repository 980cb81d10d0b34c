package access

import (
	"context"
	"net/http"

	"github.com/labstack/echo/v5"
)

// Permission is one thing a route lets its caller do. Every permission is
// declared here, so the role table and its validation know all of them; a
// route that demands one not declared here panics when it is registered.
type Permission string

// The permissions the gateway's routes demand.
const (
	// Public routes need no identity: health checks and metrics scrapes.
	Public Permission = "public"
	// Probe routes are for netprobes, whose token the handler itself
	// checks; like Public they need no identity from the Authenticator.
	Probe Permission = "probe"
	// View lets a caller watch: the dashboard, its socket and the
	// read-only API.
	View Permission = "view"
	// ReloadConfig lets a caller make the gateway reread its config file.
	ReloadConfig Permission = "reload-config"
	// EditRules lets a caller author rules through the API.
	EditRules Permission = "edit-rules"
	// Debug lets a caller profile the gateway (pprof), which exposes its
	// internals.
	Debug Permission = "debug"
)

// All returns every permission a role can grant, in a fresh slice. Public
// and Probe are not among them: they are open to every caller.
func All() []Permission {
	return []Permission{View, ReloadConfig, EditRules, Debug}
}

// open reports whether a route demanding p is served without asking the
// Authenticator who the caller is.
func open(p Permission) bool { return p == Public || p == Probe }

// known reports whether p is declared in this package.
func known(p Permission) bool {
	if open(p) {
		return true
	}
	for _, q := range All() {
		if p == q {
			return true
		}
	}
	return false
}

// Kind says what sort of caller an Identity is.
type Kind uint8

// Kinds of caller.
const (
	// KindAnonymous is a caller nobody identified: the zero Identity on
	// Public and Probe routes, and everyone under Everyone.
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
// (such as "client") has Value. The zero Scope is the whole estate. It is
// carried, not yet enforced: the access-control issue makes the tree, the
// dataviews and the dashboard hub filter by it.
type Scope struct {
	Attribute, Value string
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
	// Scope filters what the caller sees; zero means everything.
	Scope Scope

	perms map[Permission]struct{}
}

// NewIdentity returns an identity granted perms, typically the union of
// its roles' permissions; duplicates are harmless.
func NewIdentity(name string, kind Kind, perms ...Permission) Identity {
	set := make(map[Permission]struct{}, len(perms))
	for _, p := range perms {
		set[p] = struct{}{}
	}
	return Identity{Name: name, Kind: kind, perms: set}
}

// Can reports whether the identity may use a route that demands p. Public
// and Probe routes are open to everyone (a probe proves itself to its
// handler), so Can is true for them whatever was granted.
func (id Identity) Can(p Permission) bool {
	if open(p) {
		return true
	}
	_, ok := id.perms[p]
	return ok
}

type identityKey struct{}

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

// Everyone returns the Authenticator the gateway uses until it has users:
// every caller is an anonymous identity named "anyone" with every
// permission in All. That is acceptable only because the gateway serves
// plain HTTP on loopback alone unless its operator explicitly opts out, so
// reaching it means being on its machine (and the Guard keeps web pages
// that rebind a name to loopback out). Replace it before the gateway
// listens anywhere else.
func Everyone() Authenticator {
	anyone := NewIdentity("anyone", KindAnonymous, All()...)
	return AuthenticatorFunc(func(*http.Request) (Identity, error) { return anyone, nil })
}
