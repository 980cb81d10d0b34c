package auth_test

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/labstack/echo/v5"

	"github.com/watchfloor/watchfloor/gateway/access"
	"github.com/watchfloor/watchfloor/gateway/auth"
	"github.com/watchfloor/watchfloor/gateway/store"
)

func TestLogin(t *testing.T) {
	st := store.OpenMemory()
	defer st.Close()
	if err := st.AddUser(store.User{Name: "dora", Roles: []string{"viewer"}, PasswordHash: hash("dora-password")}); err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, withStore(st))

	c := e.client()
	r := c.req(http.MethodPost, "/api/v1/login", map[string]string{"user": "root", "password": "root-password"})
	want(t, "good login", r, http.StatusOK, "")
	got := r.json(t)
	if got["user"] != "root" || !reflect.DeepEqual(got["roles"], []any{"admin"}) || got["scope"] != "" || got["next"] != "/" {
		t.Errorf("login answered %v", got)
	}
	if perms, _ := got["permissions"].([]any); !slices.Contains(perms, any("manage-users")) {
		t.Errorf("an admin's permissions %v lack manage-users", perms)
	}
	sc := r.header.Get("Set-Cookie")
	for _, attr := range []string{auth.CookieName + "=", "Path=/", "HttpOnly", "SameSite=Strict"} {
		if !strings.Contains(sc, attr) {
			t.Errorf("cookie %q lacks %s", sc, attr)
		}
	}
	if strings.Contains(sc, "Max-Age") || strings.Contains(sc, "Secure") || strings.Contains(sc, "Expires") {
		t.Errorf("a person's cookie %q should end with the browser and not be Secure without TLS", sc)
	}
	if v := c.cookie(); len(v) != 43 {
		t.Errorf("the session secret %q is not 32 bytes of base64url", v)
	}
	me := c.get("/api/v1/me")
	want(t, "me", me, http.StatusOK, "")
	m := me.json(t)
	if m["user"] != "root" || m["kind"] != "person" || m["source"] != "config" || m["idle_timeout"] != float64(3600) ||
		m["expires_at"] != t0.Add(12*time.Hour).Format(time.RFC3339Nano) {
		t.Errorf("me = %v", m)
	}

	bad := func(name string, r resp, code int, msg string) {
		t.Helper()
		want(t, name, r, code, msg)
		if sc := r.header.Get("Set-Cookie"); sc != "" {
			t.Errorf("%s set a cookie: %s", name, sc)
		}
	}
	login := func(body any, hdr ...string) resp {
		return e.clientFrom(randomIP()).req(http.MethodPost, "/api/v1/login", body, hdr...)
	}
	bad("wrong password", login(map[string]string{"user": "root", "password": "nope-nope"}), 401, `{"message":"wrong user name or password"}`)
	bad("unknown user", login(map[string]string{"user": "nobody", "password": "nope-nope"}), 401, `{"message":"wrong user name or password"}`)
	bad("a user without a password", login(map[string]string{"user": "demo", "password": "anything"}), 401, "wrong user name or password")
	bad("malformed JSON", login(`{"user": "root", `, "Content-Type", "application/json"), 400, "not the JSON object wanted")
	bad("unknown field", login(map[string]string{"user": "root", "password": "root-password", "otp": "1"}), 400, `unknown field \"otp\"`)
	bad("two values", login(`{"user":"root","password":"root-password"} {}`, "Content-Type", "application/json"), 400, "more than one JSON value")
	bad("empty body", login("", "Content-Type", "application/json"), 400, "the body is empty")
	bad("no user", login(map[string]string{"password": "root-password"}), 400, "user: required")
	bad("no password", login(map[string]string{"user": "root"}), 400, "password: required")
	bad("long user", login(map[string]string{"user": strings.Repeat("u", 65), "password": "x"}), 400, "at most 64 bytes")
	bad("long password", login(map[string]string{"user": "root", "password": strings.Repeat("p", 257)}), 400, "at most 256 bytes")
	bad("oversized body", login(`{"user":"root","password":"`+strings.Repeat("p", 5000)+`"}`, "Content-Type", "application/json"), 413, "over 4 KiB")
	bad("text/plain", login(`user=root`, "Content-Type", "text/plain"), 415, "application/json or application/x-www-form-urlencoded")
	bad("GET", e.client().get("/api/v1/login"), 405, "")

	// The disabled user's refusal says so only with the right password.
	if err := auth.SetDisabled(e.st, e.cfg, "dora", true, "root"); err != nil {
		t.Fatal(err)
	}
	e = newEnv(t, withStore(e.st))
	bad("disabled, right password", login(map[string]string{"user": "dora", "password": "dora-password"}), 401, `"account disabled"`)
	bad("disabled, wrong password", login(map[string]string{"user": "dora", "password": "wrong-one"}), 401, "wrong user name or password")
}

// A form login redirects to next, if next is a path on this site.
func TestFormLoginRedirects(t *testing.T) {
	e := newEnv(t)
	for _, c := range []struct{ next, location string }{
		{"", "/"},
		{"/", "/"},
		{"/#/grid?probe=a", "/#/grid?probe=a"},
		{"/rules/cpu-high?x=1", "/rules/cpu-high?x=1"},
		{"//evil.example/", "/"},
		{"/\\evil.example/", "/"},
		{"https://evil.example/", "/"},
		{"javascript:alert(1)", "/"},
		{"evil.example", "/"},
		{"/ok\r\nSet-Cookie: x=y", "/"},
	} {
		form := url.Values{"user": {"root"}, "password": {"root-password"}, "next": {c.next}}.Encode()
		cl := e.client()
		r := cl.req(http.MethodPost, "/api/v1/login", form, "Content-Type", "application/x-www-form-urlencoded")
		if r.code != http.StatusSeeOther || r.header.Get("Location") != c.location {
			t.Errorf("next %q: %d to %q, want 303 to %q", c.next, r.code, r.header.Get("Location"), c.location)
		}
		if cl.cookie() == "" {
			t.Errorf("next %q: no cookie", c.next)
		}
	}
	r := e.client().req(http.MethodPost, "/api/v1/login", "user=root&password=wrong-one", "Content-Type", "application/x-www-form-urlencoded")
	want(t, "a wrong form login", r, http.StatusUnauthorized, "wrong user name or password")
	r = e.client().req(http.MethodPost, "/api/v1/login", "user=root&password=%zz", "Content-Type", "application/x-www-form-urlencoded")
	want(t, "a malformed form", r, http.StatusBadRequest, "the form is malformed")
}

func TestSecureCookie(t *testing.T) {
	e := newEnv(t, func(o *auth.Options) { o.Secure = true })
	r := e.client().req(http.MethodPost, "/api/v1/login", map[string]string{"user": "root", "password": "root-password"})
	if sc := r.header.Get("Set-Cookie"); r.code != 200 || !strings.Contains(sc, "; Secure") {
		t.Errorf("with Secure: %d, cookie %q", r.code, sc)
	}
}

func TestCookies(t *testing.T) {
	e := newEnv(t)
	for _, c := range []struct{ name, cookie, header, msg string }{
		{"none", "", "", "not logged in: no session; log in at /login"},
		{"too long", strings.Repeat("a", 65), "", "not logged in: malformed session cookie"},
		{"not base64url", "abc+def/ghi=", "", "not logged in: malformed session cookie"},
		{"unknown", strings.Repeat("A", 43), "", "not logged in: unknown or ended session"},
		{"raw header, quoted", "", auth.CookieName + `="not valid!"`, "malformed session cookie"},
		{"raw header, among others", "", "a=b; " + auth.CookieName + "=" + strings.Repeat("B", 43) + "; c=d", "unknown or ended session"},
	} {
		cl := e.client()
		if c.cookie != "" {
			cl.setCookie(c.cookie)
		}
		var r resp
		if c.header != "" {
			r = cl.get("/api/v1/me", "Cookie", c.header)
		} else {
			r = cl.get("/api/v1/me")
		}
		want(t, c.name, r, http.StatusUnauthorized, c.msg)
	}
	// A page load goes to the login page instead.
	r := e.client().get("/whoami", "Accept", "text/html")
	if r.code != http.StatusSeeOther || r.header.Get("Location") != "/login?next=%2Fwhoami" {
		t.Errorf("a page load without a session: %d to %q, want 303 to the login page", r.code, r.header.Get("Location"))
	}
}

// randomIP returns an address of its own, so that a test's clients do
// not share a source's slow-down unless they mean to.
func randomIP() string {
	n := nextIP.Add(1)
	return fmt.Sprintf("10.%d.%d.%d", n>>16&255, n>>8&255, n&255)
}

var nextIP atomic.Int64

func TestSlowDown(t *testing.T) {
	e := newEnv(t)
	try := func(c *client, user, pw string) resp {
		return c.req(http.MethodPost, "/api/v1/login", map[string]string{"user": user, "password": pw})
	}
	slowed := func(what string, r resp, retry, msg string) {
		t.Helper()
		want(t, what, r, http.StatusTooManyRequests, msg)
		if got := r.header.Get("Retry-After"); got != retry {
			t.Errorf("%s: Retry-After %q, want %q", what, got, retry)
		}
	}
	// Each failure from an address of its own: only the user's count.
	fail := func(user string) {
		t.Helper()
		want(t, "wrong password for "+user, try(e.clientFrom(randomIP()), user, "wrong-password"), 401, "wrong user name or password")
	}

	// Three failures are free; then waits double, from 1 s to 30 s.
	for range 3 {
		fail("olive")
	}
	slowed("the right password during the wait", try(e.clientFrom(randomIP()), "olive", "olive-password"), "1",
		"too many failed logins for user olive: wait 1 s and try again")
	for _, wait := range []int{1, 2, 4, 8, 16, 30, 30} {
		e.clock.Advance(time.Duration(wait)*time.Second - time.Millisecond)
		slowed("a millisecond before the wait ends", try(e.clientFrom(randomIP()), "olive", "olive-password"), "1", "wait 1 s")
		e.clock.Advance(time.Millisecond)
		fail("olive")
		next := min(2*wait, 30)
		slowed("after another failure", try(e.clientFrom(randomIP()), "olive", "olive-password"), strconv.Itoa(next),
			"wait "+strconv.Itoa(next)+" s and try again")
	}
	// No lockout: after the wait, the right password works, and resets
	// the count.
	e.clock.Advance(30 * time.Second)
	e.clientFrom(randomIP()).login("olive", "olive-password")
	fail("olive")
	fail("olive")
	fail("olive")
	slowed("the count starts again after a login", try(e.clientFrom(randomIP()), "olive", "olive-password"), "1", "")

	// A wait is audited once, not at every refused attempt.
	slowedFor := func(user string) int {
		n := 0
		for _, a := range e.audit(store.AuditQuery{Action: store.AuditLoginSlowed, Limit: 1000}) {
			if a.Target == user {
				n++
			}
		}
		return n
	}
	before := slowedFor("olive")
	try(e.clientFrom(randomIP()), "olive", "olive-password")
	try(e.clientFrom(randomIP()), "olive", "olive-password")
	if got := slowedFor("olive"); got != before {
		t.Errorf("refusals within one wait added %d login.slowed entries, want none", got-before)
	}
	if e.counter(`watchfloor_logins_total{result="slowed"}`) == "0" {
		t.Error("no slowed login counted")
	}

	// The source's count spans user names; another source is not slowed.
	from := e.clientFrom("192.0.2.10")
	for _, u := range []string{"anna", "ben", "cleo"} {
		want(t, "a guess from 192.0.2.10", try(from, u, "guess-guess"), 401, "")
	}
	slowed("a fourth name from the same address", try(from, "root", "root-password"), "1",
		"too many failed logins from your address: wait 1 s and try again")
	e.clientFrom("192.0.2.11").login("root", "root-password")
	// A login from it takes back only the attempt it was: logging in to
	// an account one holds does not wash away the guesses at others.
	e.clock.Advance(time.Second)
	from.login("vera", "vera-password")
	want(t, "after a login from it", try(from, "dan", "guess-guess"), 401, "")
	slowed("the guess after that", try(from, "eve", "guess-guess"), "2", "from your address: wait 2 s")

	// An IPv6 address counts as its /64: walking through one is no fresh
	// source at each step.
	for i, u := range []string{"anna", "ben", "cleo"} {
		want(t, "a guess from 2001:db8:1:2::/64", try(e.clientFrom(fmt.Sprintf("2001:db8:1:2::%x", i+1)), u, "guess-guess"), 401, "")
	}
	slowed("a fourth name from the same /64", try(e.clientFrom("2001:db8:1:2:ffff::1"), "dan", "guess-guess"), "1", "from your address")
	want(t, "another /64", try(e.clientFrom("2001:db8:1:3::1"), "dan", "guess-guess"), 401, "")

	// A key forgets its failures after 15 minutes without one.
	for range 3 {
		fail("vera")
	}
	e.clock.Advance(16 * time.Minute)
	fail("vera") // the first of a new count, so no wait follows
	e.clientFrom(randomIP()).login("vera", "vera-password")

	if e.counter(`watchfloor_logins_total{result="failed"}`) == "0" || e.counter(`watchfloor_logins_total{result="ok"}`) == "0" {
		t.Error("logins not counted")
	}
}

// Attempts sent at once cannot all slip past the count: each one admitted
// counts as a failure until it succeeds.
func TestSlowDownInParallel(t *testing.T) {
	e := newEnv(t)
	codes := make(chan int, 20)
	var wg sync.WaitGroup
	for range 20 {
		c := e.clientFrom(randomIP())
		wg.Go(func() {
			codes <- c.req(http.MethodPost, "/api/v1/login", map[string]string{"user": "olive", "password": "guess-guess"}).code
		})
	}
	wg.Wait()
	close(codes)
	n := map[int]int{}
	for c := range codes {
		n[c]++
	}
	if n[401] != 3 || n[429] != 17 {
		t.Errorf("20 parallel guesses were answered %v; want 3 checked (401) and 17 refused (429)", n)
	}
}

// Unless the gateway is told to trust a proxy (echo's IPExtractor), an
// address is the connection's: headers that claim another cannot make
// each guess come from a fresh one.
func TestSlowDownIgnoresForwardedHeaders(t *testing.T) {
	e := newEnv(t)
	ec := echo.New() // no IPExtractor, as the gateway's server
	ec.Logger = slog.New(slog.DiscardHandler)
	e.svc.Routes(access.NewRouter(ec, e.svc))
	srv := httptest.NewServer(ec)
	defer srv.Close()
	try := func(i int) int {
		t.Helper()
		body := fmt.Sprintf(`{"user":"u%d","password":"guess-guess"}`, i)
		req, err := http.NewRequest(http.MethodPost, srv.URL+"/api/v1/login", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		ip := fmt.Sprintf("198.51.100.%d", i+1)
		req.Header.Set("X-Forwarded-For", ip)
		req.Header.Set("X-Real-IP", ip)
		res, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	for i := range 3 {
		if code := try(i); code != http.StatusUnauthorized {
			t.Fatalf("guess %d: %d, want 401", i, code)
		}
	}
	if code := try(3); code != http.StatusTooManyRequests {
		t.Errorf("a fourth guess from one connection's address with a fresh X-Forwarded-For: %d, want 429", code)
	}
}

func TestLogout(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	c.login("olive", "olive-password")
	id, secret := c.session(), c.cookie()
	other := e.client()
	other.login("olive", "olive-password")

	r := c.req(http.MethodPost, "/api/v1/logout", nil)
	want(t, "logout", r, http.StatusNoContent, "")
	if sc := r.header.Get("Set-Cookie"); !strings.Contains(sc, auth.CookieName+"=;") || !strings.Contains(sc, "Max-Age=0") {
		t.Errorf("logout's cookie %q does not clear it", sc)
	}
	if !e.ended.has(id) {
		t.Errorf("Ended was not told of %s: %v", id, e.ended.list())
	}
	ss, _ := e.st.Sessions()
	if len(ss) != 1 || ss[0].ID == id {
		t.Errorf("stored sessions after logout: %+v; want only the other one", ss)
	}
	if c.cookie() != "" {
		t.Error("the browser kept its cookie after logout")
	}
	// The old cookie, replayed, no longer works.
	replay := e.client()
	replay.setCookie(secret)
	want(t, "the logged out cookie", replay.get("/api/v1/me"), http.StatusUnauthorized, "unknown or ended session")
	if other.get("/api/v1/me").code != http.StatusOK {
		t.Error("logging out ended the user's other session")
	}
	want(t, "logout without a session", e.client().req(http.MethodPost, "/api/v1/logout", nil), http.StatusNoContent, "")
	es := e.audit(store.AuditQuery{Action: store.AuditLogout})
	if len(es) != 1 || es[0].Who != "olive" || es[0].Kind != "person" || es[0].Detail != "session "+id {
		t.Errorf("logout audit entries %+v", es)
	}
}

func TestOnceLink(t *testing.T) {
	e := newEnv(t)
	tok, err := e.svc.OnceLink("demo", 5*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	c := e.client()
	r := c.get("/login?once=" + tok)
	if r.code != http.StatusSeeOther || r.header.Get("Location") != "/" {
		t.Fatalf("a one-time link: %d to %q, want 303 to /", r.code, r.header.Get("Location"))
	}
	if m := c.get("/api/v1/me").json(t); m["user"] != "demo" || m["kind"] != "person" {
		t.Errorf("logged in by link as %v", m)
	}
	again := e.client().get("/login?once=" + tok)
	if again.code != http.StatusSeeOther || again.header.Get("Location") != "/login?error=link" {
		t.Errorf("the link used again: %d to %q, want /login?error=link", again.code, again.header.Get("Location"))
	}
	tok2, _ := e.svc.OnceLink("demo", 5*time.Minute)
	e.clock.Advance(5 * time.Minute)
	if r := e.client().get("/login?once=" + tok2); r.header.Get("Location") != "/login?error=link" {
		t.Errorf("an expired link: %d to %q", r.code, r.header.Get("Location"))
	}
	if r := e.client().get("/login?once=not!valid"); r.header.Get("Location") != "/login?error=link" {
		t.Errorf("a malformed link: %d to %q", r.code, r.header.Get("Location"))
	}
	if _, err := e.svc.OnceLink("nobody", time.Minute); err == nil {
		t.Error("a link for no user was made")
	}
	es := e.audit(store.AuditQuery{Action: store.AuditLogin, Who: "demo"})
	if len(es) != 1 || !strings.HasPrefix(es[0].Detail, "one-time link") {
		t.Errorf("login audit %+v, want one by one-time link", es)
	}
}

// A one-time link opened twice at once logs in once.
func TestOnceLinkAtOnce(t *testing.T) {
	e := newEnv(t)
	for range 20 {
		tok, err := e.svc.OnceLink("demo", time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		locs := make(chan string, 2)
		for range 2 {
			c := e.clientFrom(randomIP())
			wg.Go(func() { locs <- c.get("/login?once=" + tok).header.Get("Location") })
		}
		wg.Wait()
		close(locs)
		in := 0
		for l := range locs {
			if l == "/" {
				in++
			}
		}
		if in != 1 {
			t.Fatalf("a one-time link opened twice at once logged in %d times, want once", in)
		}
	}
}

func TestLoginPage(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	for _, p := range []struct{ path, ctype, body string }{
		{"/login", "text/html; charset=utf-8", "<title>Log in</title>"},
		{"/login.js", "text/javascript; charset=utf-8", "// login"},
		{"/style.css", "text/css; charset=utf-8", "body{}"},
		{"/favicon.svg", "image/svg+xml", "<svg/>"},
	} {
		r := c.get(p.path)
		if r.code != 200 || r.header.Get("Content-Type") != p.ctype || !strings.Contains(r.text(), p.body) {
			t.Errorf("%s: %d %s %q", p.path, r.code, r.header.Get("Content-Type"), r.body)
		}
	}
	if r := c.get("/login?error=link"); r.header.Get("Cache-Control") != "no-store" || r.header.Get("X-Frame-Options") != "DENY" {
		t.Errorf("the login page's headers: %v", r.header)
	}
	missing := newEnv(t, func(o *auth.Options) { o.Pages = nil })
	// The embedded assets may not have a login page yet; either way the
	// route answers without an identity.
	if r := missing.client().get("/login"); r.code != 200 && r.code != 404 {
		t.Errorf("the embedded login page: %d", r.code)
	}
}
