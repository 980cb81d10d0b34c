package auth_test

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/labstack/echo/v5"
	"go.uber.org/goleak"

	"github.com/watchfloor/watchfloor/gateway/access"
	"github.com/watchfloor/watchfloor/gateway/auth"
	"github.com/watchfloor/watchfloor/gateway/config"
	"github.com/watchfloor/watchfloor/gateway/gatewaytest"
	"github.com/watchfloor/watchfloor/gateway/store"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// cheap are password hashing parameters that cost next to nothing.
var cheap = access.PasswordParams{Memory: 64, Time: 1, Threads: 1}

var t0 = time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)

// clock is a manual clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: t0} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

var hashes sync.Map

// hash returns a cheap hash of pw, one per password.
func hash(pw string) string {
	if h, ok := hashes.Load(pw); ok {
		return h.(string)
	}
	h, err := access.HashPasswordWith(pw, cheap)
	if err != nil {
		panic(err)
	}
	hashes.Store(pw, h)
	return h
}

// testConfig has an administrator (root), an operator (olive), a viewer
// (vera) and a demo administrator with no password.
func testConfig() *config.Config {
	return &config.Config{
		Users: []config.User{
			{Name: "root", Roles: []string{"admin"}, PasswordHash: hash("root-password")},
			{Name: "olive", Roles: []string{"operator"}, PasswordHash: hash("olive-password")},
			{Name: "vera", Roles: []string{"viewer"}, PasswordHash: hash("vera-password")},
			{Name: "demo", Roles: []string{"admin"}},
		},
		Sessions: config.Sessions{IdleTimeout: time.Hour, AbsoluteTimeout: 12 * time.Hour},
		Audit:    config.DefaultAudit(),
	}
}

// recorder keeps what Ended was told.
type recorder struct {
	mu  sync.Mutex
	ids []string
}

func (r *recorder) ended(ids []string) {
	r.mu.Lock()
	r.ids = append(r.ids, ids...)
	r.mu.Unlock()
}

func (r *recorder) has(id string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Contains(r.ids, id)
}

func (r *recorder) list() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.ids)
}

// env is a service behind a real HTTP server on loopback.
type env struct {
	t       *testing.T
	svc     *auth.Service
	st      *store.Store
	cfg     *config.Config
	clock   *clock
	ended   *recorder
	set     *metrics.Set
	srv     *httptest.Server
	connMu  sync.Mutex
	conn    []string
	options auth.Options
}

type option func(*auth.Options)

func withStore(st *store.Store) option { return func(o *auth.Options) { o.Store = st } }

func withConfig(cfg *config.Config) option { return func(o *auth.Options) { o.Config = cfg } }

// pages is a login page for the tests.
var pages = fstest.MapFS{
	"login.html":  {Data: []byte("<!doctype html><title>Log in</title>")},
	"login.js":    {Data: []byte("// login")},
	"style.css":   {Data: []byte("body{}")},
	"favicon.svg": {Data: []byte("<svg/>")},
}

func newEnv(t *testing.T, opts ...option) *env {
	t.Helper()
	e := &env{t: t, clock: newClock(), ended: &recorder{}, set: metrics.NewSet()}
	o := auth.Options{
		Store: nil, Config: testConfig(), Now: e.clock.Now, Logger: slog.New(slog.DiscardHandler),
		Metrics: e.set, Ended: e.ended.ended, PasswordParams: cheap, Pages: pages,
		Connected: func() []string { e.connMu.Lock(); defer e.connMu.Unlock(); return slices.Clone(e.conn) },
	}
	for _, f := range opts {
		f(&o)
	}
	if o.Store == nil {
		o.Store = store.OpenMemory()
		t.Cleanup(func() { o.Store.Close() })
	}
	svc, err := auth.New(o)
	if err != nil {
		t.Fatal(err)
	}
	e.svc, e.st, e.cfg, e.options = svc, o.Store, o.Config, o
	e.srv = httptest.NewServer(server(svc))
	t.Cleanup(e.srv.Close)
	return e
}

func (e *env) connected(ids ...string) {
	e.connMu.Lock()
	e.conn = ids
	e.connMu.Unlock()
}

// server is an echo server with the service's routes and a few of the
// gateway's stand-ins: /whoami (view, scoped), /api/v1/estate (view, the
// whole estate) and /metrics.
func server(svc *auth.Service) *echo.Echo {
	e := echo.New()
	e.Logger = slog.New(slog.DiscardHandler)
	// Tests play clients at other addresses with X-Real-IP, as a proxy
	// the gateway trusted would tell it.
	direct := echo.ExtractIPDirect()
	e.IPExtractor = func(r *http.Request) string {
		if ip := r.Header.Get("X-Real-IP"); ip != "" {
			return ip
		}
		return direct(r)
	}
	r := access.NewRouter(e, svc)
	svc.Routes(r)
	r.GET("/whoami", access.View, func(c *echo.Context) error {
		id := access.IdentityOf(c)
		return c.JSON(http.StatusOK, map[string]any{"name": id.Name, "kind": id.Kind.String(), "scope": id.Scope.String(),
			"session": id.Session, "roles": id.Roles})
	}, access.Scoped)
	r.GET("/api/v1/estate", access.View, func(c *echo.Context) error { return c.String(http.StatusOK, "everything") })
	r.GET("/metrics", access.ScrapeMetrics, func(c *echo.Context) error { return c.String(http.StatusOK, "metrics") })
	return e
}

// client is a browser: a cookie jar, redirects not followed, and an
// address it claims (X-Real-IP).
type client struct {
	e  *env
	hc *http.Client
	ip string
}

func (e *env) client() *client { return e.clientFrom("") }

func (e *env) clientFrom(ip string) *client {
	jar, _ := cookiejar.New(nil)
	return &client{e: e, ip: ip, hc: &http.Client{
		Transport:     e.srv.Client().Transport,
		Jar:           jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// resp is an answer.
type resp struct {
	code   int
	header http.Header
	body   []byte
}

func (r resp) text() string { return string(r.body) }

// json decodes the body as an object.
func (r resp) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("answer %d is not a JSON object: %v: %s", r.code, err, r.body)
	}
	return m
}

// req sends a request with a body: a string is sent as it is with the
// content type given in hdr ("Content-Type", "…"), anything else as JSON.
func (c *client) req(method, path string, body any, hdr ...string) resp {
	c.e.t.Helper()
	var rd io.Reader
	ctype := ""
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			c.e.t.Fatal(err)
		}
		rd = bytes.NewReader(data)
		ctype = "application/json"
	}
	r, err := http.NewRequest(method, c.e.srv.URL+path, rd)
	if err != nil {
		c.e.t.Fatal(err)
	}
	if ctype != "" {
		r.Header.Set("Content-Type", ctype)
	}
	if c.ip != "" {
		r.Header.Set("X-Real-IP", c.ip)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := c.hc.Do(r)
	if err != nil {
		c.e.t.Fatal(err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		c.e.t.Fatal(err)
	}
	return resp{code: res.StatusCode, header: res.Header, body: data}
}

func (c *client) get(path string, hdr ...string) resp {
	return c.req(http.MethodGet, path, nil, hdr...)
}

// login logs in with JSON and fails the test unless it works.
func (c *client) login(user, password string) map[string]any {
	c.e.t.Helper()
	r := c.req(http.MethodPost, "/api/v1/login", map[string]string{"user": user, "password": password})
	if r.code != http.StatusOK {
		c.e.t.Fatalf("login as %s: %d %s", user, r.code, r.body)
	}
	return r.json(c.e.t)
}

// cookie returns the client's session cookie's value, "" if none.
func (c *client) cookie() string {
	u, _ := url.Parse(c.e.srv.URL)
	for _, ck := range c.hc.Jar.Cookies(u) {
		if ck.Name == auth.CookieName {
			return ck.Value
		}
	}
	return ""
}

// setCookie gives the client a session cookie of its own making.
func (c *client) setCookie(v string) {
	u, _ := url.Parse(c.e.srv.URL)
	c.hc.Jar.SetCookies(u, []*http.Cookie{{Name: auth.CookieName, Value: v, Path: "/"}})
}

// session returns the client's session id, from /whoami.
func (c *client) session() string {
	c.e.t.Helper()
	r := c.get("/whoami")
	if r.code != http.StatusOK {
		c.e.t.Fatalf("whoami: %d %s", r.code, r.body)
	}
	return r.json(c.e.t)["session"].(string)
}

// want fails the test unless r has the code and, if given, a message
// containing msg.
func want(t *testing.T, what string, r resp, code int, msg string) {
	t.Helper()
	if r.code != code {
		t.Errorf("%s: %d %s; want %d", what, r.code, r.body, code)
		return
	}
	if msg != "" && !strings.Contains(string(r.body), msg) {
		t.Errorf("%s: %s; want a message with %q", what, r.body, msg)
	}
}

// audit returns the audit entries a query selects, newest first.
func (e *env) audit(q store.AuditQuery) []store.Audit {
	e.t.Helper()
	es, _, err := e.st.Query(q)
	if err != nil {
		e.t.Fatal(err)
	}
	return es
}

// counter returns a metric's value from the service's set.
func (e *env) counter(name string) string {
	var buf bytes.Buffer
	e.set.WritePrometheus(&buf)
	for line := range strings.SplitSeq(buf.String(), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			return v
		}
	}
	return ""
}

// closeStore closes a file store and waits for buntdb to stop.
func closeStore(t *testing.T, st *store.Store) {
	t.Helper()
	gatewaytest.CloseStore(t, st)
}
