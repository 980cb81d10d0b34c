package auth_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/watchfloor/watchfloor/gateway/access"
	"github.com/watchfloor/watchfloor/gateway/auth"
	"github.com/watchfloor/watchfloor/gateway/config"
	"github.com/watchfloor/watchfloor/gateway/store"
)

func shortSessions() *config.Config {
	cfg := testConfig()
	cfg.Sessions = config.Sessions{IdleTimeout: 10 * time.Minute, AbsoluteTimeout: time.Hour}
	return cfg
}

func TestIdleExpiry(t *testing.T) {
	e := newEnv(t, withConfig(shortSessions()))
	c := e.client()
	c.login("olive", "olive-password")
	id := c.session()
	// Requests keep it alive, each within the idle timeout of the last.
	for range 4 {
		e.clock.Advance(9 * time.Minute)
		want(t, "a request within the idle timeout", c.get("/api/v1/me"), http.StatusOK, "")
	}
	e.clock.Advance(10 * time.Minute)
	want(t, "a request after the idle timeout", c.get("/api/v1/me"), http.StatusUnauthorized, "not logged in: session expired; log in again")
	if !e.ended.has(id) {
		t.Errorf("Ended not told of the expired session %s", id)
	}
	if ss, _ := e.st.Sessions(); len(ss) != 0 {
		t.Errorf("the expired session is still stored: %+v", ss)
	}
	want(t, "and after that", c.get("/api/v1/me"), http.StatusUnauthorized, "unknown or ended session")
}

// An open socket keeps a session alive without requests; the sweep ends
// idle sessions and tells Ended.
func TestSweepAndConnected(t *testing.T) {
	e := newEnv(t, withConfig(shortSessions()))
	watching, idle := e.client(), e.client()
	watching.login("vera", "vera-password")
	idle.login("vera", "vera-password")
	w, i := watching.session(), idle.session()
	e.connected(w)
	for range 3 {
		e.clock.Advance(6 * time.Minute)
		e.svc.Sweep()
	}
	if e.ended.has(w) {
		t.Error("the sweep ended a session with an open socket")
	}
	if !e.ended.has(i) {
		t.Errorf("the sweep did not end the idle session %s: %v", i, e.ended.list())
	}
	want(t, "the watching session", watching.get("/whoami"), http.StatusOK, "")
	want(t, "the idle session", idle.get("/whoami"), http.StatusUnauthorized, "")
	ss, _ := e.st.Sessions()
	if len(ss) != 1 || ss[0].ID != w {
		t.Errorf("stored sessions %+v, want only %s", ss, w)
	}
	// The socket closes: the session goes idle from the last sweep that
	// saw it.
	e.connected()
	e.clock.Advance(10 * time.Minute)
	e.svc.Sweep()
	if !e.ended.has(w) {
		t.Error("an idle session whose socket closed was not ended")
	}
}

// The absolute timeout ends a session however busy it is.
func TestAbsoluteExpiry(t *testing.T) {
	e := newEnv(t, withConfig(shortSessions()))
	c := e.client()
	c.login("olive", "olive-password")
	id := c.session()
	e.connected(id)
	for range 6 {
		e.clock.Advance(9*time.Minute + 59*time.Second)
		e.svc.Sweep()
		want(t, "within the hour", c.get("/api/v1/me"), http.StatusOK, "")
	}
	e.clock.Advance(6 * time.Second) // an hour since the login
	e.svc.Sweep()
	if !e.ended.has(id) {
		t.Error("the sweep did not end a session an hour old")
	}
	want(t, "after the hour", c.get("/api/v1/me"), http.StatusUnauthorized, "")
}

// Last-seen times reach the store by the sweep, at most every 30 s per
// session, and all at Run's end.
func TestLastSeenFlush(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	c.login("olive", "olive-password")
	lastSeen := func() time.Time {
		t.Helper()
		ss, err := e.st.Sessions()
		if err != nil || len(ss) != 1 {
			t.Fatalf("sessions %+v, %v", ss, err)
		}
		return ss[0].LastSeen
	}
	e.clock.Advance(20 * time.Second)
	c.get("/api/v1/me")
	e.svc.Sweep()
	if got := lastSeen(); !got.Equal(t0) {
		t.Errorf("20 s on, the store's last-seen is %v, want still %v", got, t0)
	}
	e.clock.Advance(15 * time.Second)
	c.get("/api/v1/me")
	e.svc.Sweep()
	if got := lastSeen(); !got.Equal(t0.Add(35 * time.Second)) {
		t.Errorf("35 s on, the store's last-seen is %v, want %v", got, t0.Add(35*time.Second))
	}
	e.clock.Advance(5 * time.Second)
	c.get("/api/v1/me")

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { e.svc.Run(ctx); close(done) }()
	cancel()
	<-done
	if got := lastSeen(); !got.Equal(t0.Add(40 * time.Second)) {
		t.Errorf("after Run's end, the store's last-seen is %v, want %v", got, t0.Add(40*time.Second))
	}
}

// Sessions survive a restart: a new service over the reopened file knows
// the cookie, and the file holds only the secret's hash.
func TestSessionsSurviveRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "watchfloor.db")
	st, err := store.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, withStore(st))
	c := e.client()
	c.login("olive", "olive-password")
	gone := e.client()
	gone.login("vera", "vera-password")
	secret, id := c.cookie(), c.session()
	e.srv.Close()
	closeStore(t, st)

	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(raw), secret) {
		t.Error("the store file holds a session's secret")
	}

	st2, err := store.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer closeStore(t, st2)
	// vera is gone from the configuration while the gateway was down.
	cfg := testConfig()
	cfg.Users = cfg.Users[:2]
	e2 := newEnv(t, withStore(st2), withConfig(cfg))
	again := e2.client()
	again.setCookie(secret)
	r := again.get("/whoami")
	want(t, "the cookie after a restart", r, http.StatusOK, "")
	if m := r.json(t); m["name"] != "olive" || m["session"] != id {
		t.Errorf("after a restart the cookie is %v, want olive's session %s", m, id)
	}
	ss, _ := st2.Sessions()
	if len(ss) != 1 || ss[0].User != "olive" {
		t.Errorf("a restart kept sessions %+v; want olive's only, vera being gone", ss)
	}
}

// A configuration user's password, roles or scope changed in the file
// while the gateway was down ends their sessions, as a reload would: the
// start drops a session whose user no longer matches what it rests on.
func TestConfigChangedWhileDown(t *testing.T) {
	for _, c := range []struct {
		name   string
		change func(u *config.User)
		ends   bool
	}{
		{"nothing", func(*config.User) {}, false},
		{"password", func(u *config.User) { u.PasswordHash = hash("olive-password-2") }, true},
		{"roles", func(u *config.User) { u.Roles = []string{"viewer"} }, true},
		{"scope", func(u *config.User) { u.Scope = access.Scope{Attribute: "client", Values: []string{"acme"}} }, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			st := store.OpenMemory()
			defer st.Close()
			e := newEnv(t, withStore(st))
			olive := e.client()
			olive.login("olive", "olive-password")
			secret := olive.cookie()
			e.srv.Close()

			cfg := testConfig()
			c.change(&cfg.Users[1])
			again := newEnv(t, withStore(st), withConfig(cfg)).client()
			again.setCookie(secret)
			code := http.StatusOK
			if c.ends {
				code = http.StatusUnauthorized
			}
			want(t, "olive's cookie after a restart, "+c.name+" changed", again.get("/api/v1/me"), code, "")
			stored := 1
			if c.ends {
				stored = 0
			}
			if ss, _ := st.Sessions(); len(ss) != stored {
				t.Errorf("stored sessions after the restart: %+v, want %d", ss, stored)
			}
		})
	}
}

// A logout or an administrator's end of a session that the store cannot
// record fails and changes nothing: reported done, the session would come
// back at the next start, with no audit entry for its end.
func TestEndFailsWithTheStore(t *testing.T) {
	path := filepath.Join(t.TempDir(), "watchfloor.db")
	st, err := store.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, withStore(st))
	admin, olive := e.client(), e.client()
	admin.login("root", "root-password")
	olive.login("olive", "olive-password")
	id, secret := olive.session(), olive.cookie()
	closeStore(t, st) // every write fails from now on

	want(t, "ending the session", admin.req(http.MethodDelete, "/api/v1/sessions/"+id, nil), http.StatusInternalServerError, "store closed")
	want(t, "logging out", olive.req(http.MethodPost, "/api/v1/logout", nil), http.StatusInternalServerError, "store closed")
	if e.ended.has(id) {
		t.Error("Ended was told of a session that goes on")
	}
	e.srv.Close()

	st2, err := store.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer closeStore(t, st2)
	again := newEnv(t, withStore(st2)).client()
	again.setCookie(secret)
	want(t, "the session after a restart", again.get("/api/v1/me"), http.StatusOK, "")
	if es := mustQuery(t, st2, store.AuditQuery{Action: store.AuditSessionEnd}); len(es) != 0 {
		t.Errorf("audit entries for an end that did not happen: %+v", es)
	}
}

// A session that expired while the gateway was down is dropped when it
// starts.
func TestExpiredWhileDown(t *testing.T) {
	e := newEnv(t, withConfig(shortSessions()))
	c := e.client()
	c.login("olive", "olive-password")
	if ss, _ := e.st.Sessions(); len(ss) != 1 {
		t.Fatalf("sessions %+v", ss)
	}
	o := e.options
	later := newClock()
	later.Advance(11 * time.Minute)
	o.Now = later.Now
	if _, err := auth.New(o); err != nil {
		t.Fatal(err)
	}
	if ss, _ := e.st.Sessions(); len(ss) != 0 {
		t.Errorf("a session expired while down is still stored: %+v", ss)
	}
}

// Run stops when its context ends.
func TestRunStops(t *testing.T) {
	e := newEnv(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { e.svc.Run(ctx); close(done) }()
	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
}

// The metrics route: the bearer token, the loopback rule, and neither.
func TestMetricsAccess(t *testing.T) {
	cfg := testConfig()
	sum := sha256.Sum256([]byte("scrape-token"))
	cfg.Metrics.BearerTokenSHA256 = hex.EncodeToString(sum[:])
	e := newEnv(t, withConfig(cfg))
	c := e.client()
	want(t, "the bearer token", c.get("/metrics", "Authorization", "Bearer scrape-token"), http.StatusOK, "metrics")
	want(t, "the bearer token, scheme in lower case", c.get("/metrics", "Authorization", "bearer scrape-token"), http.StatusOK, "metrics")
	want(t, "a wrong token", c.get("/metrics", "Authorization", "Bearer scrape-tokeN"), http.StatusUnauthorized, "bearer token not recognised")
	want(t, "basic auth", c.get("/metrics", "Authorization", "Basic cm9vdDpyb290"), http.StatusUnauthorized, "bearer token not recognised")
	want(t, "the token elsewhere", c.get("/api/v1/me", "Authorization", "Bearer scrape-token"), http.StatusUnauthorized, "not logged in")
	want(t, "loopback, not allowed", c.get("/metrics"), http.StatusUnauthorized, "no session")
	c.login("root", "root-password")
	want(t, "an administrator", c.get("/metrics"), http.StatusOK, "metrics")
	want(t, "an operator", e.operator().get("/metrics"), http.StatusForbidden, "needs permission scrape-metrics")

	cfg = testConfig()
	cfg.Metrics.PublicOnLoopback = true
	l := newEnv(t, withConfig(cfg))
	want(t, "loopback, allowed", l.client().get("/metrics"), http.StatusOK, "metrics")
	want(t, "loopback, elsewhere", l.client().get("/api/v1/me"), http.StatusUnauthorized, "not logged in")
	id, err := l.svc.Authenticate(httptest.NewRequest(http.MethodGet, "/metrics", nil)) // from 192.0.2.1
	if err == nil {
		t.Errorf("a caller from 192.0.2.1 is %+v, want refused", id)
	}
	r := httptest.NewRequest(http.MethodGet, "/metrics", nil)
	r.RemoteAddr = "[::1]:4242"
	if id, err := l.svc.Authenticate(r); err != nil || id.Kind != access.KindAnonymous || !id.Can(access.ScrapeMetrics) || id.Can(access.View) {
		t.Errorf("a caller from ::1 is %+v, %v; want anonymous, scrape-metrics only", id, err)
	}
}

// operator is a client logged in as the operator.
func (e *env) operator() *client {
	e.t.Helper()
	c := e.client()
	c.login("olive", "olive-password")
	return c
}

func BenchmarkAuthenticate(b *testing.B) {
	st := store.OpenMemory()
	defer st.Close()
	svc, err := auth.New(auth.Options{Store: st, Config: testConfig(), PasswordParams: cheap, Pages: pages})
	if err != nil {
		b.Fatal(err)
	}
	e := server(svc)
	login := func(user, pw string) string {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodPost, "/api/v1/login", strings.NewReader(`{"user":"`+user+`","password":"`+pw+`"}`))
		e.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("login: %d %s", rec.Code, rec.Body)
		}
		return strings.Split(rec.Header().Get("Set-Cookie"), ";")[0]
	}
	cookie := login("olive", "olive-password")
	// Other sessions, so the lookup is in a map of some size.
	for range 1000 {
		login("vera", "vera-password")
	}
	req := httptest.NewRequest(http.MethodGet, "/api/v1/dataviews", nil)
	req.Header.Set("Cookie", "theme=dark; "+cookie)
	if id, err := svc.Authenticate(req); err != nil || id.Name != "olive" {
		b.Fatalf("Authenticate = %+v, %v", id, err)
	}
	b.Run("serial", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := svc.Authenticate(req); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := svc.Authenticate(req); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}
