// Package auth says who is calling the gateway, and serves what makes
// and manages identities: logins and logouts, sessions, kiosk links,
// one-time links, users managed at run time, and the audit log. A
// [Service] is the gateway's [access.Authenticator]; its routes register
// on the one [access.Router] with the permissions they demand.
//
// # Users
//
// A user is defined in one place: the configuration file (read-only here;
// a reload applies changes) or the database, managed through the API
// (/api/v1/users, manage-users) and the command line ([AddUser],
// [SetPassword], [SetDisabled], [ListUsers], which share the API's
// checks). A name in both is refused at start and at reload. A user has
// roles, whose permissions the role table grants, and an optional scope.
// Through the API, a holder of manage-users manages only users whose
// roles grant nothing it does not hold itself, and gives only such roles:
// it cannot make an administrator, take one over by setting its password,
// disable one, end its sessions or promote itself, whatever role the
// configuration gives manage-users to. A database user may be disabled;
// one whose role the configuration no longer defines must be disabled (or
// the role defined again) before the gateway starts or a reload is
// accepted.
//
// # Sessions and cookies
//
// A login makes a session: a 32-byte random secret, in base64url, in the
// cookie watchfloor_session (HttpOnly, SameSite=Strict, Path=/, Secure
// when the gateway serves TLS, and with no Max-Age for a person, so the
// browser forgets it when it closes). The store keeps only the secret's
// SHA-256, as the session's key, with a public random id (which names the
// session in the API and in Identity.Session, and cannot log in), the
// user, the login's time, address and User-Agent, and when it was last
// seen. Sessions survive a restart. Requests are authenticated from
// memory: one hash of the cookie, one map lookup, and the user's
// identity, which is built once per user and role table and shared by
// all its sessions.
//
// A session ends when its user logs out, after the idle timeout without a
// request (a session with an open dashboard socket counts as active, so a
// screen that only watches is not idle), at the absolute timeout after
// the login whatever happens, when an administrator ends it, and when
// what it rests on changes: its user disabled or removed from the
// configuration, its password, roles or scope changed (changing one's own
// password keeps the session that changed it and ends the others),
// whether by the API, a reload or an edit of the file while the gateway
// was down (each session keeps a digest of what it rests on, and the
// start drops those that no longer match). The gateway is told at once
// (Options.Ended) and closes the session's sockets. A logout or an
// administrator's end that the store cannot record fails and changes
// nothing, so that no session reported ended comes back at a restart.
// Last-seen times are kept in memory and written to the store by the
// sweep, at most every 30 s per session, and at shutdown.
//
// Callers without a cookie may still scrape /metrics: with the configured
// bearer token (its SHA-256 is compared, in constant time) or, if the
// configuration allows it, from a loopback address. Such callers are
// anonymous and hold scrape-metrics only.
//
// # Slowing down failed logins, not locking out
//
// After 3 failed logins in a row for a user name, or from an address (an
// IPv6 address counts as its /64; the two are counted apart), the next
// attempt must wait 1 s, then 2 s, 4 s and so on up to 30 s; an attempt
// during the wait is refused before any password is checked (429 with
// Retry-After), even with the right password. An attempt counts as failed
// from the moment it is let through until it succeeds, so a burst of
// attempts sent at once gets no more checks than attempts sent one by
// one. A key with no failure for 15 minutes starts afresh; a login resets
// its user's count, and takes back from its address's only the attempt it
// was, so that logging in to an account one holds does not wash away
// failures guessing other names. At most 10,000 keys of each kind are
// kept, the stalest dropped first. Changing one's own password is counted
// the same way, and so are one-time links, by address.
//
// An account is never locked. A lockout after N failures would let anyone
// who knows a user name lock that user out — on a trading desk, the first
// line during an incident — by typing wrong passwords, and locked
// accounts need an administrator to unlock them at the worst moment.
// Waits capped at 30 s leave a guesser a few thousand tries a day per
// name and address, far too few against any password CheckPassword
// accepts, while the person who owns the account gets in after half a
// minute at worst. The waits are audited (login.slowed, once per wait),
// so an attack shows.
//
// # Kiosk links
//
// A kiosk link is for a wall screen: /kiosk/<secret>, issued by an
// administrator (manage-kiosks) with a label, an optional scope and an
// optional expiry, shown once. Opening it sets the same cookie, with the
// link's secret and a Max-Age of 400 days, and the screen is a kiosk
// identity (kiosk:<label>) holding view only, within the link's scope.
// Kiosks have no idle timeout. Revoking a link deletes it and closes the
// screen's socket before the request answers.
//
// # One-time links
//
// [Service.OnceLink] makes a secret for /login?once=<secret> that logs in
// as a user once, within its time to live: for the demo's administrator,
// who may have no password. Links live in memory only; a used, expired
// or unknown one sends the browser to /login?error=link.
//
// # The audit log
//
// What changes who may do what is recorded in the store with the change
// itself, in one transaction: logins, logouts, sessions ended by an
// administrator, users added and changed (roles, scope, password,
// disabled, enabled), kiosk links issued and revoked; rule edits are
// recorded by the store with their versions. Failed logins and their
// slow-down, and configuration reloads ([Service.Record]), are recorded
// on their own. A session that ends by timeout is not recorded: that is
// every session's ordinary end. No entry holds a password or a secret.
// GET /api/v1/audit (read-audit) queries the log, newest first, by who,
// action (or family: "user."), target and time, in pages; entries older
// than the configured retention are deleted hourly.
package auth
