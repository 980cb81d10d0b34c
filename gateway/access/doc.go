// Package access decides who may do what on the gateway's HTTP server:
// which permission each route demands, who the caller is, whether they
// hold it, and whether the request came from a page of the gateway's own
// or from another site.
//
// # Permissions, not a ladder
//
// The people at a support desk do not form a ladder: client services
// send client notices but do not author rules, back line authors rules
// but does not approve risky actions, clients see only their own
// entities. So a route demands a [Permission], and a role (which the
// access-control issue adds) is a named set of them. Today's permissions:
//
//	public         health and metrics; no identity needed
//	probe          the netprobe socket; its handler checks the token
//	view           the dashboard, its socket, the read-only API
//	reload-config  reread the config file
//	debug          pprof profiles of the gateway itself
//
// Later issues declare theirs here too, so that one table maps roles to
// sets and config can name nothing unknown: acknowledge, comment, snooze,
// assign, raise-incident, request-remedy (first line); record-client-update,
// send-client-notice, read-reports (client services); edit-rules,
// backtest, maintenance-windows (back line); resolve-incidents,
// approve-actions, manage-escalation (manager); manage-users,
// manage-probes, manage-kiosks, see-audit (admin, who also holds
// reload-config and debug). A read-only client holds view under a scope.
//
// # Identity
//
// An [Identity] is who is calling: a name, a [Kind] (anonymous, person,
// kiosk), the permissions their roles grant, and a [Scope] (an entity
// attribute and value, such as client=acme) that will filter everything
// they see; the zero Scope is the whole estate. An [Authenticator] finds
// the Identity behind a request; an error becomes 401. Until the gateway
// has users and sessions, [Everyone] gives every caller every permission,
// which is tolerable only because plain HTTP is served on loopback alone
// unless the operator opts out.
//
// # One registrar
//
// Every package that serves routes registers them through the one
// [Router] over the gateway's echo server, each with its permission:
//
//	r.GET("/api/v1/dataviews", access.View, listDataviews)
//
// The Router's middleware denies any route that echo serves but that was
// not registered through it (403), asks the Authenticator who the caller
// is for every route but Public and Probe ones (401), refuses a caller
// without the route's permission (403 naming it), and attaches the
// Identity to the request, where [IdentityOf] and [IdentityFrom] find it.
// Registering a route twice, or with no or an unknown permission, panics.
// [Router.Routes] lists what was registered, so a test can drive every
// route with every role.
//
// # Guard
//
// A [Guard] runs before routing on every request. It answers 421 to a
// Host the gateway is not configured with (loopback names, the listen
// host, the public URL's host, extra host names), which is what a page
// that rebinds its own name to the gateway's address sends; a few paths
// whose clients are not browsers are exempt. It refuses with 403 any
// state-changing request that Sec-Fetch-Site or Origin shows came from
// another site, such as a text/plain POST that needs no CORS preflight.
// Requests without those headers come from no browser and pass. Browser
// WebSockets, whose upgrade is a GET, are checked by [Guard.CheckOrigin].
package access
