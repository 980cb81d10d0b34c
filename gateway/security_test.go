package gateway_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/coder/websocket"

	"github.com/watchfloor/watchfloor/gateway"
	gt "github.com/watchfloor/watchfloor/gateway/gatewaytest"
)

// raw sends one HTTP request as written, Host header and all, and returns
// the status code.
func raw(t *testing.T, addr, request string) int {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := io.WriteString(c, request); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufioReader(c), nil)
	if err != nil {
		t.Fatalf("%q: %v", request, err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// After DNS rebinding a page on evil.example talks to the loopback
// gateway with its own name in Host and Origin. The gateway answers only
// the names it is configured with, so neither the API, the dashboard's
// socket nor a reload reach it; and a cross-site text/plain POST — which
// needs no CORS preflight — cannot reload the configuration either.
func TestDNSRebindingAndCrossSiteWrites(t *testing.T) {
	gw, _ := gt.StartFile(t, gateway.Options{}, probe("sec", "cpu"))
	_, port, _ := net.SplitHostPort(gw.Addr)
	evil := "evil.example:" + port

	get := "GET /api/v1/dataviews HTTP/1.1\r\nHost: " + evil + "\r\nOrigin: http://" + evil + "\r\nConnection: close\r\n\r\n"
	if code := raw(t, gw.Addr, get); code != http.StatusMisdirectedRequest {
		t.Errorf("API with a rebound Host answered %d, want 421", code)
	}
	reload := "POST /api/v1/config/reload HTTP/1.1\r\nHost: " + evil + "\r\nOrigin: http://" + evil +
		"\r\nContent-Type: text/plain\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
	if code := raw(t, gw.Addr, reload); code != http.StatusMisdirectedRequest {
		t.Errorf("reload with a rebound Host answered %d, want 421", code)
	}
	ctx, cancel := context.WithTimeout(context.Background(), gt.Wait)
	defer cancel()
	_, resp, err := websocket.Dial(ctx, "ws://"+gw.Addr+"/ws/dashboard", &websocket.DialOptions{
		Host: evil, HTTPHeader: http.Header{"Origin": {"http://" + evil}}})
	if err == nil || resp == nil || resp.StatusCode == http.StatusSwitchingProtocols {
		t.Errorf("dashboard socket with a rebound Host: err %v, resp %v; want it refused", err, resp)
	}

	crossSite := "POST /api/v1/config/reload HTTP/1.1\r\nHost: " + gw.Addr + "\r\nOrigin: http://evil.example\r\n" +
		"Content-Type: text/plain\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi"
	if code := raw(t, gw.Addr, crossSite); code != http.StatusForbidden {
		t.Errorf("cross-site text/plain reload answered %d, want 403", code)
	}
	fetchSite := "POST /api/v1/config/reload HTTP/1.1\r\nHost: " + gw.Addr + "\r\nSec-Fetch-Site: cross-site\r\n" +
		"Content-Length: 0\r\nConnection: close\r\n\r\n"
	if code := raw(t, gw.Addr, fetchSite); code != http.StatusForbidden {
		t.Errorf("reload marked Sec-Fetch-Site: cross-site answered %d, want 403", code)
	}
	// The gateway's own page, and a script such as curl, still reload.
	sameSite := "POST /api/v1/config/reload HTTP/1.1\r\nHost: " + gw.Addr + "\r\nOrigin: http://" + gw.Addr +
		"\r\nCookie: " + gw.Admin(t).Cookie + "\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
	if code := raw(t, gw.Addr, sameSite); code != http.StatusOK {
		t.Errorf("same-origin reload answered %d, want 200", code)
	}
	if code, _ := postReload(t, gw.Addr); code != http.StatusOK {
		t.Errorf("a script's reload answered %d, want 200", code)
	}
	for _, host := range []string{"localhost:" + port, "[::1]:" + port} {
		req := "GET /healthz HTTP/1.1\r\nHost: " + host + "\r\nConnection: close\r\n\r\n"
		if code := raw(t, gw.Addr, req); code != http.StatusOK {
			t.Errorf("Host %s answered %d, want 200", host, code)
		}
	}
}

// Paths that are not UTF-8, or that encode a byte the long way round, get
// 400 or 404 on every route, never 500.
func TestInvalidPathsNever500(t *testing.T) {
	gw := gt.Start(t, gateway.Options{}, probe("paths", "cpu"))
	bad := []string{"%ff%fe", "%c0%ae", "%c0%ae%c0%ae/etc/passwd", "%ed%a0%80", "a%00b", "%2e%2e/%2e%2e/x", "..%2f..%2fx", "%"}
	for _, route := range gw.Routes() {
		if route.Method != http.MethodGet && route.Method != http.MethodPost {
			continue
		}
		for _, b := range bad {
			path := strings.TrimSuffix(strings.ReplaceAll(route.Path, "*", b), "/") + "/" + b
			req := route.Method + " " + path + " HTTP/1.1\r\nHost: " + gw.Addr + "\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
			if code := raw(t, gw.Addr, req); code >= 500 {
				t.Errorf("%s %s answered %d", route.Method, path, code)
			}
		}
	}
}
