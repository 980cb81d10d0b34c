package auth

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v5"

	"github.com/watchfloor/watchfloor/gateway/store"
)

// auditJSON is what GET /api/v1/audit answers.
type auditJSON struct {
	Entries []store.Audit `json:"entries"`
	// Next, given as before, fetches the page after this one; "" when
	// there is none.
	Next string `json:"next"`
}

var auditParams = map[string]bool{"who": true, "action": true, "target": true, "since": true, "until": true, "limit": true, "before": true}

func (s *Service) queryAudit(c *echo.Context) error {
	params := c.QueryParams()
	for k, vs := range params {
		if !auditParams[k] {
			return s.fail(c, invalid("unknown query parameter %q (want who, action, target, since, until, limit, before)", k))
		}
		if len(vs) > 1 {
			return s.fail(c, invalid("query parameter %s given %d times", k, len(vs)))
		}
	}
	q := store.AuditQuery{Who: params.Get("who"), Action: params.Get("action"), Target: params.Get("target"), Before: params.Get("before")}
	for _, t := range []struct {
		name string
		to   *time.Time
	}{{"since", &q.Since}, {"until", &q.Until}} {
		v := params.Get(t.name)
		if v == "" {
			continue
		}
		at, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			return s.fail(c, invalid("%s %q: want an RFC 3339 time, like 2026-03-02T08:00:00Z", t.name, v))
		}
		*t.to = at
	}
	if v := params.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > store.MaxAuditLimit {
			return s.fail(c, invalid("limit %q: want a number from 1 to %d", v, store.MaxAuditLimit))
		}
		q.Limit = n
	}
	entries, next, err := s.store.Query(q)
	if errors.Is(err, store.ErrInvalid) {
		return s.fail(c, invalid("before %q: not a cursor a query returned", q.Before))
	}
	if err != nil {
		return s.fail(c, fmt.Errorf("query the audit log: %w", err))
	}
	if entries == nil {
		entries = []store.Audit{}
	}
	return replyJSON(c, http.StatusOK, auditJSON{Entries: entries, Next: next})
}
