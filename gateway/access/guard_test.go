package access_test

import (
	"cmp"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gorilla/websocket"
	"github.com/labstack/echo/v5"

	"github.com/watchfloor/watchfloor/gateway/access"
)

func newGuard(t *testing.T, opts access.GuardOptions) *access.Guard {
	t.Helper()
	g, err := access.NewGuard(opts)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// guarded returns a server behind g whose every route answers "ok".
func guarded(g *access.Guard) *echo.Echo {
	e := echo.New()
	e.Logger = slog.New(slog.DiscardHandler)
	e.Pre(g.Middleware)
	ok := func(c *echo.Context) error { return c.String(http.StatusOK, "ok") }
	e.Any("/*", ok)
	return e
}

// request sends method path with the given Host and headers
// ("Name: value" each) through e.
func request(e *echo.Echo, method, host, path string, headers ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, strings.NewReader("reload=now"))
	req.Host = host
	req.Header.Set("Content-Type", "text/plain")
	for _, h := range headers {
		k, v, _ := strings.Cut(h, ": ")
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, req)
	return rec
}

func TestGuardHosts(t *testing.T) {
	e := guarded(newGuard(t, access.GuardOptions{Listen: "127.0.0.1:7039", Exempt: []string{"/ws/probe", "/healthz"}}))
	tests := []struct {
		name, host, path string
		code             int
	}{
		{"loopback IP", "127.0.0.1:7039", "/api/v1/dataviews", 200},
		{"other loopback IP", "127.8.9.10:7039", "/api/v1/dataviews", 200},
		{"localhost", "localhost:7039", "/api/v1/dataviews", 200},
		{"localhost without port", "localhost", "/api/v1/dataviews", 200},
		{"localhost in capitals", "LocalHost:7039", "/api/v1/dataviews", 200},
		{"localhost with trailing dot", "localhost.:7039", "/api/v1/dataviews", 200},
		{"IPv6 loopback", "[::1]:7039", "/api/v1/dataviews", 200},
		{"IPv6 loopback without port", "[::1]", "/api/v1/dataviews", 200},
		{"IPv6 loopback spelt long", "[0:0:0:0:0:0:0:1]:7039", "/api/v1/dataviews", 200},
		{"IPv4-mapped loopback", "[::ffff:127.0.0.1]:7039", "/api/v1/dataviews", 200},
		{"rebound name", "evil.example:7039", "/api/v1/dataviews", 421},
		{"rebound name without port", "evil.example", "/", 421},
		{"name under localhost", "localhost.evil.example:7039", "/", 421},
		{"localhost as a subdomain", "evil.localhost:7039", "/", 421},
		{"name spelling a loopback IP", "127.0.0.1.nip.io:7039", "/", 421},
		{"unspecified address", "0.0.0.0:7039", "/", 421},
		{"IPv6 without brackets", "::1", "/", 421},
		{"IPv6 without brackets and a colon", "::1:", "/", 421},
		{"IPv4 in brackets", "[127.0.0.1]:7039", "/", 421},
		{"unclosed bracket", "[::1:7039", "/", 421},
		{"junk after bracket", "[::1]x", "/", 421},
		{"port not a number", "localhost:http", "/", 421},
		{"no host", "", "/", 421},
		{"path not registered anywhere is guarded too", "evil.example:7039", "/nowhere", 421},
		{"probe socket exempt", "evil.example:7039", "/ws/probe", 200},
		{"probe socket by IP", "10.1.2.3:7039", "/ws/probe", 200},
		{"health check exempt", "10.1.2.3:7039", "/healthz", 200},
		{"below an exempt path is not exempt", "evil.example:7039", "/ws/probe/x", 421},
		{"exempt path spelt with escapes is not exempt", "evil.example:7039", "/ws/%70robe", 421},
		{"exempt path with a query", "evil.example:7039", "/ws/probe?name=p", 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := request(e, http.MethodGet, tt.host, tt.path)
			if rec.Code != tt.code {
				t.Fatalf("Host %q %s: %d %q, want %d", tt.host, tt.path, rec.Code, rec.Body.String(), tt.code)
			}
			if tt.code == 421 && !strings.Contains(rec.Body.String(), "does not answer to host") {
				t.Errorf("421 without an explanation: %q", rec.Body.String())
			}
		})
	}
}

// What a browser sends after DNS rebinding: the attacker's name in Host
// and, being same-origin as far as the browser knows, a matching Origin.
func TestGuardRefusesRebinding(t *testing.T) {
	e := guarded(newGuard(t, access.GuardOptions{Listen: "127.0.0.1:7039"}))
	for _, method := range []string{http.MethodGet, http.MethodPost} {
		for _, path := range []string{"/api/v1/dataviews", "/api/v1/config/reload", "/ws/dashboard"} {
			rec := request(e, method, "evil.example:7039", path, "Origin: http://evil.example:7039", "Sec-Fetch-Site: same-origin")
			if rec.Code != http.StatusMisdirectedRequest {
				t.Errorf("rebound %s %s: %d %q, want 421", method, path, rec.Code, rec.Body.String())
			}
		}
	}
}

func TestGuardCrossSiteWrites(t *testing.T) {
	e := guarded(newGuard(t, access.GuardOptions{Listen: "127.0.0.1:7039", Exempt: []string{"/ws/probe"}}))
	const host = "127.0.0.1:7039"
	tests := []struct {
		name, method, host string
		headers            []string
		code               int
		path               string // /api/v1/config/reload if empty
	}{
		{"no browser headers (curl)", "POST", host, nil, 200, ""},
		{"exempt path, any Host", "POST", "10.1.2.3:7039", nil, 200, "/ws/probe"},
		{"exempt path still refuses cross-site", "POST", "10.1.2.3:7039", []string{"Sec-Fetch-Site: cross-site"}, 403, "/ws/probe"},
		{"same origin", "POST", host, []string{"Origin: http://127.0.0.1:7039"}, 200, ""},
		{"same origin over https", "POST", host, []string{"Origin: https://127.0.0.1:7039"}, 200, ""},
		{"same origin, other case", "POST", "localhost:7039", []string{"Origin: http://LOCALHOST:7039"}, 200, ""},
		{"same origin, IPv6", "POST", "[::1]:7039", []string{"Origin: http://[::1]:7039"}, 200, ""},
		{"text/plain from another site", "POST", host, []string{"Origin: http://evil.example"}, 403, ""},
		{"other port on the same host", "POST", host, []string{"Origin: http://127.0.0.1:8080"}, 403, ""},
		{"other loopback name", "POST", host, []string{"Origin: http://localhost:7039"}, 403, ""},
		{"opaque origin", "POST", host, []string{"Origin: null"}, 403, ""},
		{"not http", "POST", host, []string{"Origin: ftp://127.0.0.1:7039"}, 403, ""},
		{"origin with a path", "POST", host, []string{"Origin: http://127.0.0.1:7039/x"}, 403, ""},
		{"malformed origin", "POST", host, []string{"Origin: http://%zz"}, 403, ""},
		{"Sec-Fetch-Site same-origin", "POST", host, []string{"Sec-Fetch-Site: same-origin"}, 200, ""},
		{"Sec-Fetch-Site none (typed by the user)", "POST", host, []string{"Sec-Fetch-Site: none"}, 200, ""},
		{"Sec-Fetch-Site cross-site", "POST", host, []string{"Sec-Fetch-Site: cross-site"}, 403, ""},
		{"Sec-Fetch-Site same-site", "POST", host, []string{"Sec-Fetch-Site: same-site"}, 403, ""},
		{"Sec-Fetch-Site cross-site beats a matching Origin", "POST", host, []string{"Sec-Fetch-Site: cross-site", "Origin: http://127.0.0.1:7039"}, 403, ""},
		{"Sec-Fetch-Site same-origin decides over Origin", "POST", host, []string{"Sec-Fetch-Site: same-origin", "Origin: http://evil.example"}, 200, ""},
		{"cross-site PUT", "PUT", host, []string{"Origin: http://evil.example"}, 403, ""},
		{"cross-site PATCH", "PATCH", host, []string{"Sec-Fetch-Site: cross-site"}, 403, ""},
		{"cross-site DELETE", "DELETE", host, []string{"Sec-Fetch-Site: cross-site"}, 403, ""},
		{"cross-site GET is only a read", "GET", host, []string{"Sec-Fetch-Site: cross-site", "Origin: http://evil.example"}, 200, ""},
		{"cross-site HEAD", "HEAD", host, []string{"Sec-Fetch-Site: cross-site"}, 200, ""},
		{"cross-site OPTIONS", "OPTIONS", host, []string{"Origin: http://evil.example"}, 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := cmp.Or(tt.path, "/api/v1/config/reload")
			rec := request(e, tt.method, tt.host, path, tt.headers...)
			if rec.Code != tt.code {
				t.Fatalf("%s with %q: %d %q, want %d", tt.method, tt.headers, rec.Code, rec.Body.String(), tt.code)
			}
			if tt.code == 403 && !strings.Contains(rec.Body.String(), "cross-site request refused") {
				t.Errorf("403 body %q", rec.Body.String())
			}
		})
	}
}

func TestGuardOptions(t *testing.T) {
	tests := []struct {
		name    string
		opts    access.GuardOptions
		allowed []string
		refused []string
	}{
		{
			name:    "unspecified IPv4 listen host adds nothing",
			opts:    access.GuardOptions{Listen: "0.0.0.0:7039"},
			allowed: []string{"localhost:7039", "127.0.0.1:7039"},
			refused: []string{"0.0.0.0:7039", "10.0.0.5:7039", "gw.example.com:7039"},
		},
		{
			name:    "unspecified IPv6 listen host adds nothing",
			opts:    access.GuardOptions{Listen: "[::]:7039"},
			allowed: []string{"[::1]:7039"},
			refused: []string{"[::]:7039", "0.0.0.0:7039"},
		},
		{
			name:    "empty listen host adds nothing",
			opts:    access.GuardOptions{Listen: ":7039"},
			allowed: []string{"localhost:7039"},
			refused: []string{":7039", "10.0.0.5:7039"},
		},
		{
			name:    "listen IP",
			opts:    access.GuardOptions{Listen: "10.0.0.5:7039"},
			allowed: []string{"10.0.0.5:7039", "10.0.0.5", "localhost:7039"},
			refused: []string{"10.0.0.6:7039"},
		},
		{
			name:    "listen name",
			opts:    access.GuardOptions{Listen: "GW.example.com:443"},
			allowed: []string{"gw.example.com", "gw.example.com.:443"},
			refused: []string{"example.com", "evil.gw.example.com"},
		},
		{
			name:    "listen IPv6",
			opts:    access.GuardOptions{Listen: "[fd00::5]:7039"},
			allowed: []string{"[fd00::5]:7039", "[FD00:0::5]:7039"},
			refused: []string{"[fd00::6]:7039"},
		},
		{
			name:    "public URL",
			opts:    access.GuardOptions{Listen: "127.0.0.1:7039", PublicURL: "https://Watch.Example.com/floor/"},
			allowed: []string{"watch.example.com", "watch.example.com:443", "127.0.0.1:7039"},
			refused: []string{"example.com", "floor"},
		},
		{
			name:    "public URL with an IPv6 host",
			opts:    access.GuardOptions{Listen: "127.0.0.1:7039", PublicURL: "http://[fd00::7]:8080"},
			allowed: []string{"[fd00::7]:8080"},
		},
		{
			name:    "extra hosts",
			opts:    access.GuardOptions{Listen: "127.0.0.1:7039", Hosts: []string{"wall-01", "Gw.Corp.Example.", "192.0.2.9", "2001:db8::9"}},
			allowed: []string{"wall-01:7039", "gw.corp.example:7039", "192.0.2.9:7039", "[2001:db8::9]:7039"},
			refused: []string{"wall-02:7039", "corp.example:7039"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := guarded(newGuard(t, tt.opts))
			for _, host := range tt.allowed {
				if rec := request(e, http.MethodGet, host, "/"); rec.Code != http.StatusOK {
					t.Errorf("Host %q: %d, want 200", host, rec.Code)
				}
			}
			for _, host := range tt.refused {
				if rec := request(e, http.MethodGet, host, "/"); rec.Code != http.StatusMisdirectedRequest {
					t.Errorf("Host %q: %d, want 421", host, rec.Code)
				}
			}
		})
	}
}

func TestNewGuardErrors(t *testing.T) {
	_, err := access.NewGuard(access.GuardOptions{
		Listen:    "localhost",
		PublicURL: "ftp://gw.example.com",
		Hosts:     []string{"ok.example", "gw.example.com:7039", "", "a b", "*.example.com"},
		Exempt:    []string{"ws/probe"},
	})
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{
		`listen "localhost"`,
		`public URL "ftp://gw.example.com": want an http or https URL`,
		`hosts[1] "gw.example.com:7039": want a host name or IP address, without a port`,
		`hosts[2] ""`,
		`hosts[3] "a b"`,
		`hosts[4] "*.example.com"`,
		`exempt[0] "ws/probe"`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q\nlacks %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "ok.example") {
		t.Errorf("error names a good host: %q", err)
	}

	for _, u := range []string{"http://", "://x", "gw.example.com"} {
		if _, err := access.NewGuard(access.GuardOptions{Listen: "127.0.0.1:1", PublicURL: u}); err == nil || !strings.Contains(err.Error(), "public URL") {
			t.Errorf("public URL %q: error %v", u, err)
		}
	}
}

func TestCheckOrigin(t *testing.T) {
	g := newGuard(t, access.GuardOptions{Listen: "127.0.0.1:7039", Exempt: []string{"/ws/dashboard"}})
	tests := []struct {
		name, host string
		headers    []string
		want       bool
	}{
		{"rebinding", "evil.example:7039", []string{"Origin: http://evil.example:7039"}, false},
		{"rebinding without Origin", "evil.example:7039", nil, false},
		{"loopback IP", "127.0.0.1:7039", []string{"Origin: http://127.0.0.1:7039"}, true},
		{"localhost", "localhost:7039", []string{"Origin: http://localhost:7039", "Sec-Fetch-Site: same-origin"}, true},
		{"IPv6 loopback", "[::1]:7039", []string{"Origin: http://[::1]:7039"}, true},
		{"no Origin (not a browser)", "127.0.0.1:7039", nil, true},
		{"page on another site", "127.0.0.1:7039", []string{"Origin: http://evil.example"}, false},
		{"opaque origin", "127.0.0.1:7039", []string{"Origin: null"}, false},
		{"Sec-Fetch-Site cross-site", "127.0.0.1:7039", []string{"Origin: http://127.0.0.1:7039", "Sec-Fetch-Site: cross-site"}, false},
		{"Sec-Fetch-Site same-site", "127.0.0.1:7039", []string{"Sec-Fetch-Site: same-site"}, false},
		{"Sec-Fetch-Site does not excuse a foreign Origin", "127.0.0.1:7039", []string{"Origin: http://evil.example", "Sec-Fetch-Site: same-origin"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodGet, "/ws/dashboard", nil)
			req.Host = tt.host
			for _, h := range tt.headers {
				k, v, _ := strings.Cut(h, ": ")
				req.Header.Set(k, v)
			}
			if got := g.CheckOrigin(req); got != tt.want {
				t.Errorf("CheckOrigin(Host %q, %q) = %v, want %v", tt.host, tt.headers, got, tt.want)
			}
		})
	}
}

// The check wired into gorilla's Upgrader, over a real socket: a rebound
// page's upgrade is refused before it becomes a WebSocket.
func TestCheckOriginUpgrade(t *testing.T) {
	var g *access.Guard
	up := websocket.Upgrader{CheckOrigin: func(r *http.Request) bool { return g.CheckOrigin(r) }}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, err := up.Upgrade(w, r, nil)
		if err != nil {
			return // Upgrade has answered
		}
		conn.Close()
	}))
	defer srv.Close()
	g = newGuard(t, access.GuardOptions{Listen: srv.Listener.Addr().String()})
	_, port, err := net.SplitHostPort(srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	url := "ws" + strings.TrimPrefix(srv.URL, "http") + "/ws/dashboard"

	tests := []struct {
		name, host string
		code       int
	}{
		{"rebound name", "evil.example:" + port, http.StatusForbidden},
		{"loopback IP", "127.0.0.1:" + port, http.StatusSwitchingProtocols},
		{"localhost", "localhost:" + port, http.StatusSwitchingProtocols},
		{"IPv6 loopback name", "[::1]:" + port, http.StatusSwitchingProtocols},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			conn, resp, err := websocket.DefaultDialer.Dial(url, http.Header{"Host": {tt.host}, "Origin": {"http://" + tt.host}})
			if conn != nil {
				conn.Close()
			}
			if resp == nil {
				t.Fatalf("no response: %v", err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.code {
				t.Errorf("Host %q: %d (%v), want %d", tt.host, resp.StatusCode, err, tt.code)
			}
		})
	}
}

// FuzzHostname drives untrusted Host headers through the guard: it never
// panics, and a Host it allows stays allowed with another port, which
// would fail if the port leaked into the comparison.
func FuzzHostname(f *testing.F) {
	for _, s := range []string{"localhost:7039", "[::1]:7039", "127.0.0.1", "evil.example:1", "[", "[]:", "::1:", "LOCALHOST.", "[::ffff:127.0.0.1]", "[fe80::1%25eth0]:1", "gw.example.com:"} {
		f.Add(s)
	}
	g, err := access.NewGuard(access.GuardOptions{Listen: "127.0.0.1:7039", PublicURL: "http://gw.example.com", Hosts: []string{"fd00::1"}})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, host string) {
		req := httptest.NewRequest(http.MethodGet, "/ws/dashboard", nil)
		req.Host = host
		if !g.CheckOrigin(req) {
			return
		}
		name := host
		if i := strings.LastIndexByte(host, ':'); i >= 0 && !strings.HasSuffix(host, "]") {
			name = host[:i]
		}
		req.Host = name + ":65000"
		if !g.CheckOrigin(req) {
			t.Errorf("Host %q allowed but %q refused", host, req.Host)
		}
	})
}

// The defect as found, on a server wired the way the gateway wires it:
// the Guard before routing, the Router after it; the caller holds every
// permission, so only the Guard refuses.
func TestGuardBeforeRouter(t *testing.T) {
	admin := access.NewIdentity("admin", access.KindPerson, access.All()...)
	e, _ := newServer(t, access.AuthenticatorFunc(func(*http.Request) (access.Identity, error) { return admin, nil }))
	e.Pre(newGuard(t, access.GuardOptions{Listen: "127.0.0.1:7039", Exempt: []string{"/ws/probe"}}).Middleware)
	tests := []struct {
		name, method, host, path string
		headers                  []string
		code                     int
	}{
		{"rebound read", "GET", "evil.example:7039", "/api/v1/dataviews", []string{"Origin: http://evil.example:7039"}, 421},
		{"rebound reload", "POST", "evil.example:7039", "/api/v1/config/reload", []string{"Origin: http://evil.example:7039"}, 421},
		{"cross-site text/plain reload", "POST", "127.0.0.1:7039", "/api/v1/config/reload", []string{"Origin: http://evil.example"}, 403},
		{"same-origin reload", "POST", "127.0.0.1:7039", "/api/v1/config/reload", []string{"Origin: http://127.0.0.1:7039"}, 200},
		{"reload from curl", "POST", "localhost:7039", "/api/v1/config/reload", nil, 200},
		{"read on loopback", "GET", "[::1]:7039", "/api/v1/dataviews", nil, 200},
		{"probe socket by any name", "GET", "probe-facing.example:7039", "/ws/probe", nil, 200},
		{"unknown path on a rebound name", "GET", "evil.example:7039", "/nowhere", nil, 421},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if rec := request(e, tt.method, tt.host, tt.path, tt.headers...); rec.Code != tt.code {
				t.Errorf("%s %s Host %q: %d %q, want %d", tt.method, tt.path, tt.host, rec.Code, rec.Body.String(), tt.code)
			}
		})
	}
}
