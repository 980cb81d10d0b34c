package gatewaytest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"strings"
	"sync"
	"testing"

	"github.com/watchfloor/watchfloor/gateway/access"
)

// Password is the password of every user Users writes.
const Password = "watchfloor-test-password"

// cheapHash is an argon2id hash of Password with the lowest cost the
// hash format allows, so that tests log in in microseconds; the gateway
// verifies a hash with the parameters it carries.
var cheapHash = sync.OnceValue(func() string {
	h, err := access.HashPasswordWith(Password, access.PasswordParams{Memory: 64, Time: 1, Threads: 1})
	if err != nil {
		panic(err)
	}
	return h
})

// User is a person for Users: a name, roles and an optional scope such as
// "client=acme".
type User struct {
	Name  string
	Roles []string
	Scope string
}

// Admin is the user Config always writes.
var Admin = User{Name: "admin", Roles: []string{"admin"}}

// Users renders a users section with Password for each.
func Users(users ...User) string {
	var b strings.Builder
	b.WriteString("users:\n")
	for _, u := range users {
		fmt.Fprintf(&b, "  - name: %q\n    roles: [%s]\n    password_hash: %q\n", u.Name, strings.Join(u.Roles, ", "), cheapHash())
		if attr, vals, ok := strings.Cut(u.Scope, "="); ok {
			fmt.Fprintf(&b, "    scope: {%s: [%s]}\n", attr, strings.Join(strings.Split(vals, "|"), ", "))
		}
	}
	return b.String()
}

// Session is a logged-in HTTP client: its cookie jar holds the session.
type Session struct {
	base string
	// Client sends requests with the session's cookie.
	Client *http.Client
	// Cookie is the session cookie, for a WebSocket dial.
	Cookie string
}

// Login logs user in with Password at the gateway at base
// (http://host:port) and fails the test if that is refused.
func Login(t testing.TB, base, user string) *Session {
	t.Helper()
	s, code, msg := TryLogin(t, base, user, Password)
	if s == nil {
		t.Fatalf("log in as %s: %d %s", user, code, msg)
	}
	return s
}

// TryLogin logs in and returns the session, or nil with the status and
// message of the refusal.
func TryLogin(t testing.TB, base, user, password string) (*Session, int, string) {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: Wait}
	body, _ := json.Marshal(map[string]string{"user": user, "password": password})
	resp, err := c.Post(base+"/api/v1/login", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatalf("log in as %s: %v", user, err)
	}
	data, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		var ref access.Refusal
		json.Unmarshal(data, &ref)
		return nil, resp.StatusCode, ref.Message
	}
	s := &Session{base: base, Client: c}
	for _, ck := range resp.Cookies() {
		if ck.Name == "watchfloor_session" {
			s.Cookie = ck.Name + "=" + ck.Value
		}
	}
	if s.Cookie == "" {
		t.Fatalf("log in as %s: no session cookie", user)
	}
	return s, resp.StatusCode, ""
}

// Do sends a request with the session and returns the status and body.
// A body other than nil is sent as JSON.
func (s *Session) Do(t testing.TB, method, path string, body any) (int, []byte) {
	t.Helper()
	if body == nil {
		return s.Send(t, method, path, "", nil)
	}
	b, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	return s.Send(t, method, path, "application/json", b)
}

// Send is Do with a body sent as it is, of the given Content-Type (none
// if empty).
func (s *Session) Send(t testing.TB, method, path, contentType string, body []byte) (int, []byte) {
	t.Helper()
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, s.base+path, r)
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := s.Client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	return resp.StatusCode, data
}

// Get fetches path and decodes its JSON into out, failing the test unless
// the status is 200.
func (s *Session) Get(t testing.TB, path string, out any) {
	t.Helper()
	code, data := s.Do(t, http.MethodGet, path, nil)
	if code != http.StatusOK {
		t.Fatalf("GET %s: %d %s", path, code, data)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			t.Fatalf("GET %s: %v in %s", path, err, data)
		}
	}
}
