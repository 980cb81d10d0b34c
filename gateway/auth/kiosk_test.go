package auth_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/watchfloor/watchfloor/gateway/auth"
	"github.com/watchfloor/watchfloor/gateway/store"
)

func TestKiosk(t *testing.T) {
	e := newEnv(t)
	admin := e.client()
	admin.login("root", "root-password")

	r := admin.req(http.MethodPost, "/api/v1/kiosks", map[string]any{"label": "Wall 1", "scope": map[string]any{"client": []string{"acme"}}, "expires_in": "720h"})
	want(t, "issue", r, http.StatusCreated, "")
	issued := r.json(t)
	id, link := issued["id"].(string), issued["link"].(string)
	if issued["label"] != "Wall 1" || issued["scope"] != "client=acme" || !strings.HasPrefix(link, "/kiosk/") ||
		issued["expires"] != t0.Add(720*time.Hour).Format(time.RFC3339Nano) {
		t.Errorf("issued %v", issued)
	}
	secret := strings.TrimPrefix(link, "/kiosk/")
	ks, _ := e.st.Kiosks()
	if len(ks) != 1 || strings.Contains(ks[0].SecretSHA256, secret) || ks[0].CreatedBy != "root" {
		t.Errorf("stored kiosks %+v", ks)
	}

	screen := e.client()
	e.clock.Advance(time.Minute)
	r = screen.get(link)
	if r.code != http.StatusSeeOther || r.header.Get("Location") != auth.KioskHome || r.header.Get("Referrer-Policy") != "no-referrer" {
		t.Fatalf("the kiosk link: %d %v", r.code, r.header)
	}
	if sc := r.header.Get("Set-Cookie"); !strings.Contains(sc, "Max-Age=2591941") || !strings.Contains(sc, "HttpOnly") {
		t.Errorf("the kiosk cookie %q should last until the link expires", sc)
	}
	who := screen.get("/whoami").json(t)
	if who["name"] != "kiosk:Wall 1" || who["kind"] != "kiosk" || who["scope"] != "client=acme" || who["session"] != id {
		t.Errorf("the screen is %v", who)
	}
	want(t, "a kiosk on a whole-estate route", screen.get("/api/v1/estate"), http.StatusForbidden, "sees only client=acme")
	want(t, "a kiosk managing users", screen.get("/api/v1/users"), http.StatusForbidden, "needs permission manage-users")
	want(t, "a kiosk changing a password", screen.req(http.MethodPost, "/api/v1/me/password", map[string]string{"old": "x", "new": "yyyyyyyy"}),
		http.StatusConflict, "")
	if me := screen.get("/api/v1/me").json(t); me["kind"] != "kiosk" || me["expires_at"] == nil {
		t.Errorf("a kiosk's me = %v", me)
	}

	list := admin.get("/api/v1/kiosks")
	want(t, "list", list, http.StatusOK, `"last_used":"`+t0.Add(time.Minute).Format(time.RFC3339Nano)+`"`)
	if strings.Contains(list.text(), secret) || strings.Contains(list.text(), "secret") {
		t.Errorf("the list shows the secret: %s", list.body)
	}

	// Revoking closes the screen's socket before the answer.
	r = admin.req(http.MethodDelete, "/api/v1/kiosks/"+id, nil)
	want(t, "revoke", r, http.StatusNoContent, "")
	if !e.ended.has(id) {
		t.Errorf("Ended not told of the revoked kiosk %s before the answer: %v", id, e.ended.list())
	}
	want(t, "the revoked kiosk's cookie", screen.get("/whoami"), http.StatusUnauthorized, "")
	want(t, "the revoked link", e.client().get(link), http.StatusUnauthorized, "unknown or revoked kiosk link")
	want(t, "revoke again", admin.req(http.MethodDelete, "/api/v1/kiosks/"+id, nil), http.StatusNotFound, "")

	es := e.audit(store.AuditQuery{Action: "kiosk."})
	if len(es) != 2 || es[0].Action != store.AuditKioskRevoke || es[1].Action != store.AuditKioskIssue ||
		es[0].Target != id || es[0].Who != "root" || !strings.Contains(es[1].Detail, `"Wall 1"`) {
		t.Errorf("kiosk audit %+v", es)
	}
	for _, a := range e.audit(store.AuditQuery{Limit: 1000}) {
		if strings.Contains(a.Detail, secret) {
			t.Errorf("an audit entry holds the secret: %+v", a)
		}
	}
}

func TestKioskExpiresAndBadInput(t *testing.T) {
	e := newEnv(t)
	admin := e.client()
	admin.login("root", "root-password")
	r := admin.req(http.MethodPost, "/api/v1/kiosks", map[string]any{"label": "Lobby", "expires_in": "1h", "scope": "client=acme|beta"})
	want(t, "issue", r, http.StatusCreated, `"scope":"client=acme|beta"`)
	m := r.json(t)
	screen := e.client()
	want(t, "the link", screen.get(m["link"].(string)), http.StatusSeeOther, "")
	never := admin.req(http.MethodPost, "/api/v1/kiosks", map[string]any{"label": "Ops wall"}).json(t)
	forever := e.client()
	want(t, "a link that never expires", forever.get(never["link"].(string)), http.StatusSeeOther, "")

	e.clock.Advance(time.Hour)
	want(t, "an expired kiosk", screen.get("/whoami"), http.StatusUnauthorized, "this kiosk link has expired")
	if !e.ended.has(m["id"].(string)) {
		t.Error("Ended not told of the expired kiosk")
	}
	want(t, "an expired link", e.client().get(m["link"].(string)), http.StatusUnauthorized, "")
	e.clock.Advance(1000 * 24 * time.Hour)
	want(t, "a link without expiry, years on", forever.get("/whoami"), http.StatusOK, "")
	admin.login("root", "root-password") // the administrator's session expired meanwhile

	for _, c := range []struct {
		name string
		body any
		code int
		msg  string
	}{
		{"no label", map[string]any{}, 400, "label: required"},
		{"long label", map[string]any{"label": strings.Repeat("x", 65)}, 400, "at most 64 bytes"},
		{"control characters", map[string]any{"label": "a\nb"}, 400, "no control characters"},
		{"bad expiry", map[string]any{"label": "x", "expires_in": "soon"}, 400, "positive duration"},
		{"negative expiry", map[string]any{"label": "x", "expires_in": "-1h"}, 400, "positive duration"},
		{"two attributes", map[string]any{"label": "x", "scope": map[string]any{"client": "a", "region": "b"}}, 400, "one attribute"},
		{"scope without values", map[string]any{"label": "x", "scope": map[string]any{"client": []string{}}}, 400, "at least one value"},
		{"scope of numbers", map[string]any{"label": "x", "scope": map[string]any{"client": 3}}, 400, "a string or a list of strings"},
		{"scope string without =", map[string]any{"label": "x", "scope": "acme"}, 400, "attribute=value"},
		{"unknown field", map[string]any{"label": "x", "secret": "mine"}, 400, "unknown field"},
		{"not JSON", "label=x", 415, "application/json"},
	} {
		var r resp
		if s, ok := c.body.(string); ok {
			r = admin.req(http.MethodPost, "/api/v1/kiosks", s, "Content-Type", "application/x-www-form-urlencoded")
		} else {
			r = admin.req(http.MethodPost, "/api/v1/kiosks", c.body)
		}
		want(t, c.name, r, c.code, c.msg)
	}
	big := `{"label":"` + strings.Repeat("x", 17<<10) + `"}`
	want(t, "oversized", admin.req(http.MethodPost, "/api/v1/kiosks", big, "Content-Type", "application/json"), 413, "")
	want(t, "an operator", e.operator().req(http.MethodPost, "/api/v1/kiosks", map[string]any{"label": "x"}), 403, "manage-kiosks")
	if ks, _ := e.st.Kiosks(); len(ks) != 2 {
		t.Errorf("refused issues stored kiosks: %+v", ks)
	}
	want(t, "an unknown link", e.client().get("/kiosk/"+strings.Repeat("Z", 43)), http.StatusUnauthorized, "unknown or revoked kiosk link")
	want(t, "a malformed link", e.client().get("/kiosk/"+strings.Repeat("Z", 70)), http.StatusUnauthorized, "unknown or revoked kiosk link")
}

// A kiosk's logout forgets the cookie only; the link goes on working.
func TestKioskLogout(t *testing.T) {
	e := newEnv(t)
	admin := e.client()
	admin.login("root", "root-password")
	link := admin.req(http.MethodPost, "/api/v1/kiosks", map[string]any{"label": "Wall"}).json(t)["link"].(string)
	screen := e.client()
	screen.get(link)
	want(t, "logout", screen.req(http.MethodPost, "/api/v1/logout", nil), http.StatusNoContent, "")
	want(t, "after logout", screen.get("/whoami"), http.StatusUnauthorized, "")
	screen.get(link)
	want(t, "the link again", screen.get("/whoami"), http.StatusOK, "kiosk:Wall")
}
