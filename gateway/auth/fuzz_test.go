package auth_test

import (
	"net/http"
	"strings"
	"testing"
)

// Whatever a login body holds, the answer is a refusal with a reason (400,
// 401, 413, 415, 429) or, only for root's right password, a session; never
// a failure of the gateway's own.
func FuzzLoginBody(f *testing.F) {
	for _, seed := range []struct{ ctype, body string }{
		{"application/json", `{"user": "root", "password": "root-password"}`},
		{"application/json", `{"user": "root", "password": "wrong-password"}`},
		{"application/json", `{"user": "root", "password": "root-password", "next": "//evil.example"}`},
		{"application/json", `{"user": 1, "password": ["x"]}`},
		{"application/json", `{"user": "root"} {"password": "root-password"}`},
		{"application/x-www-form-urlencoded", "user=root&password=root-password&next=%2F"},
		{"application/x-www-form-urlencoded", "user=root&user=vera&password=%ZZ"},
		{"text/plain", "root:root-password"},
	} {
		f.Add(seed.ctype, seed.body)
	}
	f.Fuzz(func(t *testing.T, ctype, body string) {
		if strings.ContainsFunc(ctype, func(r rune) bool { return r < ' ' || r >= 0x7f }) {
			t.Skip("not a header value a client can send")
		}
		e := newEnv(t)
		r := e.client().req(http.MethodPost, "/api/v1/login", body, "Content-Type", ctype)
		switch r.code {
		case http.StatusOK, http.StatusSeeOther:
			if !strings.Contains(body, "root-password") || len(r.header.Values("Set-Cookie")) == 0 {
				t.Errorf("login %q (%s) succeeded: %d %s", body, ctype, r.code, r.body)
			}
		case http.StatusBadRequest, http.StatusUnauthorized, http.StatusRequestEntityTooLarge,
			http.StatusUnsupportedMediaType, http.StatusTooManyRequests:
			if len(r.body) == 0 {
				t.Errorf("login %q (%s): %d without a reason", body, ctype, r.code)
			}
		default:
			t.Errorf("login %q (%s): %d %s", body, ctype, r.code, r.body)
		}
		if loc := r.header.Get("Location"); loc != "" && (!strings.HasPrefix(loc, "/") || strings.HasPrefix(loc, "//") || strings.HasPrefix(loc, "/\\")) {
			t.Errorf("login %q redirects off the gateway, to %q", body, loc)
		}
	})
}

// Whatever a session cookie holds, it authenticates nobody and is refused
// with 401.
func FuzzSessionCookie(f *testing.F) {
	for _, seed := range []string{"", "x", strings.Repeat("A", 43), strings.Repeat("A", 4096), "k.abc", "%00", "\"quoted\""} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, value string) {
		e := newEnv(t)
		req, err := http.NewRequest(http.MethodGet, e.srv.URL+"/api/v1/me", nil)
		if err != nil {
			t.Skip()
		}
		req.Header.Set("Cookie", "watchfloor_session="+value)
		res, err := e.srv.Client().Do(req)
		if err != nil {
			return // a header net/http itself will not send
		}
		res.Body.Close()
		if res.StatusCode != http.StatusUnauthorized {
			t.Errorf("cookie %q: %d, want 401", value, res.StatusCode)
		}
	})
}
