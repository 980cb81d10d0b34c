package auth

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v5"

	"github.com/watchfloor/watchfloor/gateway/access"
	"github.com/watchfloor/watchfloor/gateway/store"
)

// maxLabel bounds a kiosk link's label, in bytes.
const maxLabel = 64

func errUnknownKiosk() error {
	return echo.NewHTTPError(http.StatusUnauthorized, "unknown or revoked kiosk link")
}

// KioskHome is where a kiosk link sends its screen once it holds the
// screen's cookie: the wall, without the page's chrome.
const KioskHome = "/?kiosk=1#/wall"

// kioskLogin turns a kiosk link into the screen's cookie.
func (s *Service) kioskLogin(c *echo.Context) error {
	h := c.Response().Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
	tok := c.Param("secret")
	if !wellFormed(tok) {
		return errUnknownKiosk()
	}
	sn := s.snap.Load()
	l := sn.byHash[sha256.Sum256([]byte(tok))]
	if l == nil || l.kiosk == nil {
		return errUnknownKiosk()
	}
	now := s.now()
	if l.expired(sn, now.UnixNano()) {
		s.notify(s.expire([]*live{l}))
		return echo.NewHTTPError(http.StatusUnauthorized, "this kiosk link has expired")
	}
	l.seen(now.UnixNano())
	if err := s.store.TouchKiosks(map[string]time.Time{l.id: now}); err != nil {
		s.log.Error("auth: note a kiosk link's use", "kiosk", l.id, "err", err)
	}
	age := kioskMaxAge
	if l.kiosk.expires != 0 {
		age = min(age, time.Duration(l.kiosk.expires-now.UnixNano())+time.Second)
	}
	c.SetCookie(s.sessionCookieFor(tok, age))
	// A wall screen shows the wall in kiosk mode: no navigation.
	return c.Redirect(http.StatusSeeOther, KioskHome)
}

// kioskJSON is a kiosk link as the API lists it, without its secret.
type kioskJSON struct {
	ID        string `json:"id"`
	Label     string `json:"label"`
	Scope     string `json:"scope"`
	Created   string `json:"created"`
	CreatedBy string `json:"created_by"`
	LastUsed  string `json:"last_used,omitempty"`
	Expires   string `json:"expires,omitempty"`
	// Link is the kiosk's link, shown once: in the answer to its issue.
	Link string `json:"link,omitempty"`
}

func kioskInfo(k store.Kiosk) kioskJSON {
	return kioskJSON{ID: k.ID, Label: k.Label, Scope: toAccess(k.Scope).String(), Created: rfc3339(k.Created),
		CreatedBy: k.CreatedBy, LastUsed: rfc3339(k.LastUsed), Expires: rfc3339(k.Expires)}
}

func (s *Service) listKiosks(c *echo.Context) error {
	ks, err := s.store.Kiosks()
	if err != nil {
		return s.fail(c, err)
	}
	sn := s.snap.Load()
	out := make([]kioskJSON, 0, len(ks))
	for _, k := range ks {
		if l := sn.byID[k.ID]; l != nil && l.kiosk != nil {
			// Memory knows of uses the store has not been told of yet.
			if used := nsTime(l.lastSeen.Load()); used.After(k.LastUsed) {
				k.LastUsed = used
			}
		}
		out = append(out, kioskInfo(k))
	}
	return replyJSON(c, http.StatusOK, out)
}

func (s *Service) issueKiosk(c *echo.Context) error {
	var body struct {
		Label     string          `json:"label"`
		Scope     json.RawMessage `json:"scope"`
		ExpiresIn string          `json:"expires_in"`
	}
	if err := decodeJSON(c, maxBody, &body); err != nil {
		return s.fail(c, err)
	}
	switch {
	case strings.TrimSpace(body.Label) == "":
		return s.fail(c, invalid("label: required, such as the screen's place"))
	case len(body.Label) > maxLabel:
		return s.fail(c, invalid("label: at most %d bytes", maxLabel))
	case strings.ContainsFunc(body.Label, func(r rune) bool { return r < 0x20 || r == 0x7f }):
		return s.fail(c, invalid("label: no control characters"))
	}
	sc, err := parseScope(body.Scope)
	if err != nil {
		return s.fail(c, err)
	}
	now := s.now()
	var expires time.Time
	if body.ExpiresIn != "" {
		d, err := time.ParseDuration(body.ExpiresIn)
		if err != nil || d <= 0 {
			return s.fail(c, invalid("expires_in %q: want a positive duration, like 720h", body.ExpiresIn))
		}
		expires = now.Add(d)
	}
	secret := randomToken()
	_, key := hashToken(secret)
	k := store.Kiosk{ID: randomID(), Label: body.Label, Scope: sc, SecretSHA256: key, Created: now,
		CreatedBy: whoName(access.IdentityOf(c)), Expires: expires}
	detail := fmt.Sprintf("label %q", k.Label)
	if !toAccess(sc).Whole() {
		detail += ", scope " + toAccess(sc).String()
	}
	if !expires.IsZero() {
		detail += ", expires " + rfc3339(expires)
	}
	a := s.auditBy(c, now, store.AuditKioskIssue, k.ID, detail, true)
	l, _ := kioskLive(k)

	s.mu.Lock()
	err = s.store.PutKiosk(k, a)
	if err == nil {
		ns := s.snap.Load().clone()
		ns.add(l)
		s.snap.Store(ns)
	}
	s.mu.Unlock()
	if err != nil {
		return s.fail(c, err)
	}
	out := kioskInfo(k)
	out.Link = "/kiosk/" + secret
	c.Response().Header().Set("Cache-Control", "no-store")
	return replyJSON(c, http.StatusCreated, out)
}

// revokeKiosk deletes a kiosk link and closes its screen's socket before
// answering.
func (s *Service) revokeKiosk(c *echo.Context) error {
	id := c.Param("id")
	now := s.now()
	s.mu.Lock()
	sn := s.snap.Load()
	detail := ""
	if l := sn.byID[id]; l != nil && l.kiosk != nil {
		detail = fmt.Sprintf("label %q", l.kiosk.k.Label)
	}
	a := s.auditBy(c, now, store.AuditKioskRevoke, id, detail, true)
	err := s.store.DeleteKiosk(id, a)
	var ids []string
	if err == nil {
		ids = []string{id}
		if l := sn.byID[id]; l != nil && l.kiosk != nil {
			ns := sn.clone()
			ns.remove(l)
			s.snap.Store(ns)
		}
	}
	s.mu.Unlock()
	if err != nil {
		return s.fail(c, err)
	}
	s.notify(ids)
	return c.NoContent(http.StatusNoContent)
}
