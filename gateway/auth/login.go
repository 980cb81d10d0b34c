package auth

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v5"

	"github.com/watchfloor/watchfloor/gateway/access"
	"github.com/watchfloor/watchfloor/gateway/store"
)

// maxName bounds a user name, in bytes.
const maxName = 64

// Routes registers the service's routes, each with its permission, and
// makes the Router send a browser that is not logged in to /login.
func (s *Service) Routes(r *access.Router) {
	r.LoginPage("/login")
	r.GET("/login", access.Public, s.loginPage)
	r.GET("/login.js", access.Public, s.page("login.js"))
	r.GET("/style.css", access.Public, s.page("style.css"))
	r.GET("/favicon.svg", access.Public, s.page("favicon.svg"))
	r.POST("/api/v1/login", access.Public, s.login)
	r.POST("/api/v1/logout", access.Public, s.logout)
	r.GET("/api/v1/me", access.View, s.me, access.Scoped)
	r.POST("/api/v1/me/password", access.View, s.changeOwnPassword, access.Scoped)

	r.GET("/kiosk/:secret", access.Public, s.kioskLogin)
	r.GET("/api/v1/kiosks", access.ManageKiosks, s.listKiosks)
	r.POST("/api/v1/kiosks", access.ManageKiosks, s.issueKiosk)
	r.DELETE("/api/v1/kiosks/:id", access.ManageKiosks, s.revokeKiosk)

	r.GET("/api/v1/users", access.ManageUsers, s.listUsers)
	r.POST("/api/v1/users", access.ManageUsers, s.addUser)
	r.PUT("/api/v1/users/:name", access.ManageUsers, s.updateUser)
	r.POST("/api/v1/users/:name/password", access.ManageUsers, s.setUserPassword)
	r.GET("/api/v1/sessions", access.ManageUsers, s.listSessions)
	r.DELETE("/api/v1/sessions/:id", access.ManageUsers, s.endSession)

	r.GET("/api/v1/audit", access.ReadAudit, s.queryAudit)
}

// page serves one file of the login page.
func (s *Service) page(name string) echo.HandlerFunc {
	return func(c *echo.Context) error {
		if _, err := fs.Stat(s.pages, name); err != nil {
			return echo.NewHTTPError(http.StatusNotFound, "not found")
		}
		http.ServeFileFS(c.Response(), c.Request(), s.pages, name)
		return nil
	}
}

// loginPage serves the login page, or logs in with a one-time link.
func (s *Service) loginPage(c *echo.Context) error {
	h := c.Response().Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", "frame-ancestors 'none'")
	h.Set("X-Frame-Options", "DENY")
	if tok := c.QueryParam("once"); tok != "" {
		return s.onceLogin(c, tok)
	}
	return s.page("login.html")(c)
}

// loginBody is a login request.
type loginBody struct {
	User     string `json:"user"`
	Password string `json:"password"`
	Next     string `json:"next"`
}

// decodeLogin reads a login as JSON or as a form, reporting whether it
// was a form (whose answer is a redirect).
func decodeLogin(c *echo.Context) (loginBody, bool, error) {
	var b loginBody
	mt, err := mediaType(c)
	if err != nil {
		return b, false, echo.NewHTTPError(http.StatusUnsupportedMediaType,
			"send the login as application/json or application/x-www-form-urlencoded")
	}
	form := false
	switch mt {
	case "", "application/json":
		data, err := readBody(c, maxLoginBody)
		if err != nil {
			return b, false, err
		}
		if err := unmarshal(data, &b); err != nil {
			return b, false, err
		}
	case "application/x-www-form-urlencoded":
		form = true
		data, err := readBody(c, maxLoginBody)
		if err != nil {
			return b, true, err
		}
		vals, err := url.ParseQuery(string(data))
		if err != nil {
			return b, true, invalid("the form is malformed: %v", err)
		}
		b = loginBody{User: vals.Get("user"), Password: vals.Get("password"), Next: vals.Get("next")}
	default:
		return b, false, echo.NewHTTPError(http.StatusUnsupportedMediaType, fmt.Sprintf(
			"Content-Type %q: send the login as application/json or application/x-www-form-urlencoded", mt))
	}
	switch {
	case b.User == "":
		return b, form, invalid("user: required")
	case len(b.User) > maxName:
		return b, form, invalid("user: a user name has at most %d bytes", maxName)
	case b.Password == "":
		return b, form, invalid("password: required")
	case len(b.Password) > access.MaxPassword:
		return b, form, invalid("password: a password has at most %d bytes", access.MaxPassword)
	}
	return b, form, nil
}

// localNext returns next if it is a path on this site, else "/": a login
// must not send the browser to another site (an open redirect).
func localNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.ContainsAny(next, `\`) {
		return "/"
	}
	for i := 0; i < len(next); i++ {
		if next[i] < 0x20 || next[i] == 0x7f {
			return "/"
		}
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil {
		return "/"
	}
	return next
}

// loginJSON answers a login, and describes the caller in /api/v1/me.
type loginJSON struct {
	User        string              `json:"user"`
	Kind        string              `json:"kind,omitempty"`
	Source      string              `json:"source,omitempty"` // config or database, for a person
	Roles       []string            `json:"roles"`
	Permissions []access.Permission `json:"permissions"`
	Scope       string              `json:"scope"`
	// Next is where a login page should go now: the next it was given,
	// if that is a path on this site.
	Next string `json:"next,omitempty"`
	// For a person's session: the idle timeout in seconds (0: none), and
	// when the session ends whatever happens.
	IdleTimeout *int64 `json:"idle_timeout,omitempty"`
	ExpiresAt   string `json:"expires_at,omitempty"`
}

func describe(id access.Identity) loginJSON {
	roles := id.Roles
	if roles == nil {
		roles = []string{}
	}
	perms := id.Permissions()
	if perms == nil {
		perms = []access.Permission{}
	}
	return loginJSON{User: id.Name, Roles: roles, Permissions: perms, Scope: id.Scope.String()}
}

// errChanged: the user changed (disabled, its password set) while its
// login was being checked.
var errChanged = errors.New("the user changed during the login")

func errWrongLogin() error {
	return echo.NewHTTPError(http.StatusUnauthorized, "wrong user name or password")
}

func (s *Service) login(c *echo.Context) error {
	body, form, err := decodeLogin(c)
	if err != nil {
		return s.fail(c, err)
	}
	now := s.now()
	src := source(c)
	if err := s.admit(c, body.User, src, now); err != nil {
		return err
	}
	p, why := s.verify(c.Request().Context(), body.User, body.Password)
	if p == nil {
		s.failed(body.User, src, now, store.AuditLoginFailed, why)
		return errWrongLogin()
	}
	if p.disabled {
		// Said only to someone who knows the password: it is no help in
		// guessing one. The attempt still counts as a failure.
		s.failed(p.name, src, now, store.AuditLoginFailed, "account disabled")
		return echo.NewHTTPError(http.StatusUnauthorized, "account disabled")
	}
	secret, id, err := s.startSession(p, c, now, "password")
	if errors.Is(err, errChanged) {
		s.failed(p.name, src, now, store.AuditLoginFailed, "the user changed during the login")
		return errWrongLogin()
	}
	s.limit.succeeded(body.User, src, now)
	if err != nil {
		return s.fail(c, err)
	}
	s.m.loginOK.Inc()
	c.SetCookie(s.sessionCookieFor(secret, 0))
	c.Response().Header().Set("Cache-Control", "no-store")
	next := localNext(body.Next)
	if form {
		return c.Redirect(http.StatusSeeOther, next)
	}
	out := describe(id)
	out.Next = next
	return replyJSON(c, http.StatusOK, out)
}

// checkPassword verifies password against hash once one of the bounded
// hashing slots is free, or gives up when the request does.
func (s *Service) checkPassword(ctx context.Context, hash, password string) (bool, error) {
	select {
	case s.hashing <- struct{}{}:
	case <-ctx.Done():
		return false, echo.NewHTTPError(http.StatusServiceUnavailable, "too many logins at once; try again")
	}
	defer func() { <-s.hashing }()
	return access.VerifyPassword(hash, password), nil
}

// verify checks a user name and password, spending the time of one hash
// check whether or not the user exists. It returns the user, or nil and
// why not (for the audit log only).
func (s *Service) verify(ctx context.Context, name, password string) (*principal, string) {
	p := s.snap.Load().users[name]
	hash := s.dummy()
	if p != nil && p.hash != "" {
		hash = p.hash
	}
	ok, err := s.checkPassword(ctx, hash, password)
	switch {
	case err != nil:
		return nil, err.Error()
	case p == nil:
		return nil, "no such user"
	case p.hash == "":
		return nil, "the user has no password (it logs in with one-time links)"
	case !ok:
		return nil, "wrong password"
	}
	return p, ""
}

// admit lets an attempt for user (or none, "") from src be checked,
// counting it as a failure until it succeeds, or refuses it before any
// password is checked while the user name or the address must wait after
// failures (429, Retry-After). The first refusal of each wait is audited.
func (s *Service) admit(c *echo.Context, user, src string, now time.Time) error {
	r, ok := s.limit.admit(user, src, now)
	if ok {
		return nil
	}
	s.m.loginSlowed.Inc()
	var entries []store.Audit
	if r.tellUser {
		entries = append(entries, store.Audit{Time: now, Who: user, Kind: "anonymous", Source: src, Action: store.AuditLoginSlowed,
			Target: user, Detail: fmt.Sprintf("failed logins for user %s: attempts wait %s", user, r.user.Round(time.Second))})
	}
	if r.tellSource {
		entries = append(entries, store.Audit{Time: now, Who: whoOr(user), Kind: "anonymous", Source: src, Action: store.AuditLoginSlowed,
			Target: user, Detail: fmt.Sprintf("failed logins from %s: attempts wait %s", sourceKey(src), r.source.Round(time.Second))})
	}
	if len(entries) > 0 {
		s.record(entries...)
	}
	secs := int(math.Ceil(r.wait().Seconds()))
	msg := fmt.Sprintf("too many failed logins for user %s: wait %d s and try again", user, secs)
	if r.source > r.user {
		msg = fmt.Sprintf("too many failed logins from your address: wait %d s and try again", secs)
	}
	c.Response().Header().Set("Retry-After", strconv.Itoa(secs))
	return echo.NewHTTPError(http.StatusTooManyRequests, msg)
}

// failed records a failed attempt, which admit has counted already.
func (s *Service) failed(user, src string, now time.Time, action, why string) {
	s.m.loginFailed.Inc()
	s.record(store.Audit{Time: now, Who: whoOr(user), Kind: "anonymous", Source: src, Action: action, Target: user, Detail: why})
}

func whoOr(user string) string {
	if user == "" {
		return "anonymous"
	}
	return user
}

// startSession makes a session for p, unless p was disabled or its
// password changed meanwhile (errChanged), and records the login in the
// same transaction. It returns the secret for the cookie and the
// session's identity.
func (s *Service) startSession(p *principal, c *echo.Context, now time.Time, how string) (string, access.Identity, error) {
	secret := randomToken()
	sum, key := hashToken(secret)
	src := source(c)
	agent := c.Request().UserAgent()
	if len(agent) > store.MaxUserAgent {
		agent = strings.ToValidUTF8(agent[:store.MaxUserAgent], "")
	}
	l := &live{hash: sum, key: key, id: randomID(), created: now.UnixNano(), source: src, agent: agent}
	l.lastSeen.Store(now.UnixNano())
	l.flushed = now.UnixNano()

	s.mu.Lock()
	defer s.mu.Unlock()
	sn := s.snap.Load()
	cur := sn.users[p.name]
	if cur == nil || cur.disabled || cur.hash != p.hash {
		return "", access.Identity{}, errChanged
	}
	l.user.Store(cur)
	sess := store.Session{Hash: key, ID: l.id, User: cur.name, Created: now, LastSeen: now, Source: src, UserAgent: l.agent,
		Basis: cur.basis()}
	a := store.Audit{Time: now, Who: cur.name, Kind: "person", Source: src, Action: store.AuditLogin, Target: cur.name, OK: true,
		Detail: how + ", session " + l.id}
	if err := s.store.PutSession(sess, a); err != nil {
		return "", access.Identity{}, fmt.Errorf("store the session: %w", err)
	}
	next := sn.clone()
	next.add(l)
	s.snap.Store(next)
	id := cur.ident
	id.Session = l.id
	return secret, id, nil
}

func (s *Service) logout(c *echo.Context) error {
	c.SetCookie(s.clearCookie())
	tok, ok := sessionCookie(c.Request().Header)
	if ok && wellFormed(tok) {
		if l := s.snap.Load().byHash[sha256.Sum256([]byte(tok))]; l != nil {
			name := l.userName()
			a := store.Audit{Time: s.now(), Who: name, Kind: l.kind().String(), Source: source(c), Action: store.AuditLogout,
				Target: name, OK: true, Detail: "session " + l.id}
			if l.kiosk != nil {
				// The screen forgets its cookie; the link itself works
				// until revoked.
				s.record(a)
			} else {
				ids, err := s.end([]*live{l}, a)
				if err != nil {
					return s.fail(c, fmt.Errorf("log out: %w", err))
				}
				s.notify(ids)
			}
		}
	}
	return c.NoContent(http.StatusNoContent)
}

// onceLink is a one-time login secret's user and end.
type onceLink struct {
	user    string
	expires time.Time
}

// OnceLink returns a secret for /login?once=SECRET that logs in as user
// once, within ttl: for a user with no password, such as the demo's
// administrator. Links are kept in memory only, so a restart voids them.
func (s *Service) OnceLink(user string, ttl time.Duration) (string, error) {
	if ttl <= 0 {
		return "", fmt.Errorf("one-time link for %s: want a positive time to live, not %v", user, ttl)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.snap.Load().users[user]
	switch {
	case p == nil:
		return "", fmt.Errorf("one-time link: no user %s", user)
	case p.disabled:
		return "", fmt.Errorf("one-time link: user %s is disabled", user)
	}
	now := s.now()
	for k, o := range s.once {
		if !now.Before(o.expires) {
			delete(s.once, k)
		}
	}
	tok := randomToken()
	s.once[sha256.Sum256([]byte(tok))] = onceLink{user: user, expires: now.Add(ttl)}
	return tok, nil
}

// onceLogin logs in with a one-time link, which works once.
func (s *Service) onceLogin(c *echo.Context, tok string) error {
	now := s.now()
	src := source(c)
	// Links are guessed no better than passwords, but a flood of bad ones
	// would flood the audit log: the address's count covers them too.
	if err := s.admit(c, "", src, now); err != nil {
		c.Response().Header().Del("Retry-After")
		return c.Redirect(http.StatusSeeOther, "/login?error=link")
	}
	bad := func(user, why string) error {
		s.failed(user, src, now, store.AuditLoginFailed, why)
		return c.Redirect(http.StatusSeeOther, "/login?error=link")
	}
	if !wellFormed(tok) {
		return bad("", "malformed one-time link")
	}
	sum := sha256.Sum256([]byte(tok))
	s.mu.Lock()
	o, ok := s.once[sum]
	delete(s.once, sum)
	s.mu.Unlock()
	switch {
	case !ok:
		return bad("", "unknown or used one-time link")
	case !now.Before(o.expires):
		return bad(o.user, "expired one-time link")
	}
	p := s.snap.Load().users[o.user]
	if p == nil || p.disabled {
		return bad(o.user, "one-time link for a user removed or disabled since")
	}
	secret, _, err := s.startSession(p, c, now, "one-time link")
	if errors.Is(err, errChanged) {
		return bad(o.user, "one-time link for a user changed during the login")
	}
	s.limit.succeeded("", src, now)
	if err != nil {
		return s.fail(c, err)
	}
	s.m.loginOK.Inc()
	c.SetCookie(s.sessionCookieFor(secret, 0))
	c.Response().Header().Set("Referrer-Policy", "no-referrer")
	return c.Redirect(http.StatusSeeOther, "/")
}

func (s *Service) me(c *echo.Context) error {
	id := access.IdentityOf(c)
	out := describe(id)
	out.Kind = id.Kind.String()
	sn := s.snap.Load()
	if l := sn.byID[id.Session]; l != nil {
		switch {
		case l.kiosk != nil:
			if l.kiosk.expires != 0 {
				out.ExpiresAt = rfc3339(nsTime(l.kiosk.expires))
			}
		default:
			idle := int64(sn.idle / time.Second)
			out.IdleTimeout = &idle
			if sn.absolute > 0 {
				out.ExpiresAt = rfc3339(nsTime(l.created + int64(sn.absolute)))
			}
			out.Source = "database"
			if l.user.Load().config {
				out.Source = "config"
			}
		}
	}
	return replyJSON(c, http.StatusOK, out)
}

// changeOwnPassword sets the caller's password, given the old one; it
// ends the caller's other sessions and keeps this one.
func (s *Service) changeOwnPassword(c *echo.Context) error {
	var body struct {
		Old string `json:"old"`
		New string `json:"new"`
	}
	if err := decodeJSON(c, maxBody, &body); err != nil {
		return s.fail(c, err)
	}
	switch {
	case body.Old == "":
		return s.fail(c, invalid("old: required"))
	case len(body.Old) > access.MaxPassword:
		return s.fail(c, invalid("old: a password has at most %d bytes", access.MaxPassword))
	}
	if err := access.CheckPassword(body.New); err != nil {
		return s.fail(c, invalid("new: %v", err))
	}
	id := access.IdentityOf(c)
	sn := s.snap.Load()
	l := sn.byID[id.Session]
	if id.Kind != access.KindPerson || l == nil || l.kiosk != nil {
		return echo.NewHTTPError(http.StatusConflict, "only a person's own session can change its password")
	}
	p := l.user.Load()
	if p.config {
		return s.fail(c, &configUserError{name: p.name, what: "its password_hash"})
	}
	now := s.now()
	src := source(c)
	if err := s.admit(c, p.name, src, now); err != nil {
		return err
	}
	if ok, err := s.checkPassword(c.Request().Context(), p.hash, body.Old); err != nil {
		return err
	} else if !ok {
		s.failed(p.name, src, now, store.AuditUserPassword, "wrong old password")
		return echo.NewHTTPError(http.StatusForbidden, "the old password is wrong")
	}
	s.limit.succeeded(p.name, src, now)
	hash, err := access.HashPasswordWith(body.New, s.params)
	if err != nil {
		return s.fail(c, invalid("new: %v", err))
	}
	a := s.auditBy(c, now, store.AuditUserPassword, p.name, "changed their own password; their other sessions ended", true)
	_, ids, err := s.changeUser(p.name, func(cur *principal) (store.UserChange, []store.Audit, error) {
		if cur.hash != p.hash || s.snap.Load().byHash[l.hash] != l {
			return store.UserChange{}, nil, echo.NewHTTPError(http.StatusConflict, "the password or the session changed meanwhile; log in again")
		}
		return store.UserChange{PasswordHash: hash, KeepSession: l.key, At: now}, []store.Audit{a}, nil
	})
	if err != nil {
		return s.fail(c, err)
	}
	s.notify(ids)
	return c.NoContent(http.StatusNoContent)
}
