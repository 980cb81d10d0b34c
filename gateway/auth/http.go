package auth

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v5"

	"github.com/watchfloor/watchfloor/gateway/access"
	"github.com/watchfloor/watchfloor/gateway/store"
)

const (
	// maxLoginBody bounds a login's body; maxBody every other one.
	maxLoginBody = 4 << 10
	maxBody      = 16 << 10
)

// inputError is a problem with what the caller sent: a 400 with its text.
type inputError struct{ msg string }

func (e *inputError) Error() string { return e.msg }

func invalid(format string, args ...any) error { return &inputError{fmt.Sprintf(format, args...)} }

// configUserError: the user is the configuration file's, which the API
// and the command line do not change (409). what is what to change there.
type configUserError struct{ name, what string }

func (e *configUserError) Error() string {
	what := e.what
	if what == "" {
		what = "it"
	}
	return fmt.Sprintf("user %s is defined in the config file; change %s there", e.name, what)
}

// fail turns an error from a request's work into its answer.
func (s *Service) fail(c *echo.Context, err error) error {
	var in *inputError
	var cu *configUserError
	var he *echo.HTTPError
	switch {
	case errors.As(err, &he):
		return he
	case errors.As(err, &in):
		return echo.NewHTTPError(http.StatusBadRequest, in.msg)
	case errors.As(err, &cu):
		return echo.NewHTTPError(http.StatusConflict, cu.Error())
	case errors.Is(err, store.ErrNotFound):
		return echo.NewHTTPError(http.StatusNotFound, err.Error())
	case errors.Is(err, store.ErrExists):
		return echo.NewHTTPError(http.StatusConflict, err.Error())
	case errors.Is(err, store.ErrInvalid):
		return echo.NewHTTPError(http.StatusBadRequest, err.Error())
	}
	s.log.Error("auth: "+c.Request().Method+" "+c.Path(), "err", err)
	return echo.NewHTTPError(http.StatusInternalServerError, "store: "+err.Error())
}

// mediaType returns a request's media type, "" if it sent none.
func mediaType(c *echo.Context) (string, error) {
	ct := c.Request().Header.Get("Content-Type")
	if ct == "" {
		return "", nil
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return "", echo.NewHTTPError(http.StatusUnsupportedMediaType, fmt.Sprintf("Content-Type %q: send application/json", ct))
	}
	return mt, nil
}

// readBody reads a request's body, up to limit bytes.
func readBody(c *echo.Context, limit int64) ([]byte, error) {
	req := c.Request()
	tooLarge := echo.NewHTTPError(http.StatusRequestEntityTooLarge, fmt.Sprintf("the body is over %d KiB", limit>>10))
	if req.ContentLength > limit {
		return nil, tooLarge
	}
	data, err := io.ReadAll(io.LimitReader(req.Body, limit+1))
	if err != nil {
		return nil, echo.NewHTTPError(http.StatusBadRequest, "read the body: "+err.Error())
	}
	if int64(len(data)) > limit {
		return nil, tooLarge
	}
	return data, nil
}

// decodeJSON decodes a JSON body of at most limit bytes into v, refusing
// other media types (415), unknown fields and trailing data (400).
func decodeJSON(c *echo.Context, limit int64, v any) error {
	mt, err := mediaType(c)
	if err != nil {
		return err
	}
	if mt != "" && mt != "application/json" {
		return echo.NewHTTPError(http.StatusUnsupportedMediaType, fmt.Sprintf("Content-Type %q: send application/json", mt))
	}
	data, err := readBody(c, limit)
	if err != nil {
		return err
	}
	return unmarshal(data, v)
}

func unmarshal(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); errors.Is(err, io.EOF) {
		return invalid("the body is empty; send a JSON object")
	} else if err != nil {
		return invalid("the body is not the JSON object wanted: %s", strings.TrimPrefix(err.Error(), "json: "))
	}
	if dec.More() {
		return invalid("the body holds more than one JSON value")
	}
	return nil
}

// replyJSON answers v as JSON, without HTML escaping.
func replyJSON(c *echo.Context, code int, v any) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		panic("auth: encode " + err.Error()) // the service built v
	}
	return c.Blob(code, "application/json", buf.Bytes())
}

// remoteIP is the address a request came from, without its port.
func remoteIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// source is the client's address as the audit log and the slow-down know
// it: echo's RealIP, which is the connection's address unless the gateway
// trusts a proxy to say.
func source(c *echo.Context) string {
	if ip := c.RealIP(); ip != "" {
		return ip
	}
	return "unknown"
}

// sessionCookieFor is the cookie carrying a secret; maxAge 0 makes a
// cookie that ends with the browser session.
func (s *Service) sessionCookieFor(secret string, maxAge time.Duration) *http.Cookie {
	return &http.Cookie{
		Name: CookieName, Value: secret, Path: "/", HttpOnly: true, Secure: s.secure,
		SameSite: http.SameSiteStrictMode, MaxAge: int(maxAge / time.Second),
	}
}

func (s *Service) clearCookie() *http.Cookie {
	return &http.Cookie{
		Name: CookieName, Value: "", Path: "/", HttpOnly: true, Secure: s.secure,
		SameSite: http.SameSiteStrictMode, MaxAge: -1,
	}
}

// auditBy is an audit entry made by the caller behind c.
func (s *Service) auditBy(c *echo.Context, now time.Time, action, target, detail string, ok bool) store.Audit {
	id := access.IdentityOf(c)
	return store.Audit{Time: now, Who: whoName(id), Kind: id.Kind.String(), Source: source(c),
		Action: action, Target: target, OK: ok, Detail: detail}
}

func whoName(id access.Identity) string {
	if id.Name == "" {
		return "anonymous"
	}
	return id.Name
}

// record writes audit entries on their own, logging a failure: the
// request they record has been answered or decided already.
func (s *Service) record(entries ...store.Audit) {
	if err := s.store.Record(entries...); err != nil {
		s.m.auditErrors.Inc()
		s.log.Error("auth: write the audit log", "action", entries[0].Action, "err", err)
	}
}

// Record writes an audit entry for something another part of the gateway
// did for the caller of r, such as reloading the configuration: who is the
// identity the Router attached, source the client's address. A failure to
// write is logged, not returned.
func (s *Service) Record(r *http.Request, action, target, detail string, ok bool) {
	id := access.IdentityFrom(r.Context())
	s.record(store.Audit{Time: s.now(), Who: whoName(id), Kind: id.Kind.String(), Source: remoteIP(r),
		Action: action, Target: target, OK: ok, Detail: detail})
}

func rfc3339(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

func nsTime(ns int64) time.Time {
	if ns == 0 {
		return time.Time{}
	}
	return time.Unix(0, ns).UTC()
}
