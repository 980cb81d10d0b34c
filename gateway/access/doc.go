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
// entities. So a route demands a [Permission], and a [Role] is a named
// set of them. [DefaultRoles] are client, viewer, operator,
// client-services, engineer, manager and admin; the configuration may
// redefine them and add others. Every permission is declared in this
// package (some ahead of the routes of later issues, so that the roles
// are whole): view and raise-incident; acknowledge, comment, snooze,
// assign, request-remedy (first line); record-client-update,
// send-client-notice, read-reports (client services); read-rules,
// edit-rules, backtest, maintenance-windows (back line);
// resolve-incidents, approve-actions, manage-escalation (manager);
// manage-users, manage-probes, manage-kiosks, read-audit, reload-config,
// debug, scrape-metrics (admin). Public and probe routes need no
// permission from a role.
//
// # Identity and scope
//
// An [Identity] is who is calling: a name, a [Kind] (anonymous, person,
// kiosk), its roles, the permissions they grant, the session it came with,
// and a [Scope] (an entity attribute and the values it may have, such as
// client=acme) that filters everything it sees; the zero Scope is the
// whole estate. An [Authenticator] finds the Identity behind a request
// (package gateway/auth: sessions, kiosk links, the metrics token); an
// error becomes 401.
//
// A scope must hold on every route, and a new route must not be able to
// forget it. So a route serves scoped callers only if it is registered
// with [Scoped], which says its handler filters by [IdentityOf]'s scope;
// on every other route the Router refuses a scoped caller with 403.
//
// # Passwords
//
// People's passwords are kept as argon2id hashes ([HashPassword],
// [VerifyPassword]); bcrypt hashes made by other tools are accepted.
// Probe tokens are not passwords: they are long random secrets kept as
// SHA-256 hashes, so that a thousand probes reconnecting cost microseconds
// each, not a password hash each.
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
// is for every route but Public and Probe ones (401; a browser loading a
// page goes to the [Router.LoginPage] instead), refuses a caller without
// the route's permission (403 naming it and the roles that grant it, a
// [Refusal] in JSON) and a scoped caller on a route not registered
// [Scoped] (403), and attaches the Identity to the request, where
// [IdentityOf] and [IdentityFrom] find it.
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
