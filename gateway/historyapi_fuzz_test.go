package gateway

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/labstack/echo/v5"
)

// FuzzHistoryQuery feeds the history API's parameters arbitrary query
// strings: a query is refused with a reason or accepted with a range
// that is in order, within the window's reach, and not folded into more
// steps than the cap.
func FuzzHistoryQuery(f *testing.F) {
	for _, q := range []string{
		"path=*/*/cpu/cpu/*/utilisation&from=-5m",
		"path=a/b/c/d/e/f&from=2026-12-01T09:00:00Z&to=2026-12-01T09:05:00Z&step=1s",
		"path=**&from=1796117340.5&to=now&step=10ms",
		"path=a//b", "path=**&from=+1h", "path=**&step=-1s", "path=**&from=-9223372036854775807ns",
		"path=**&from=1e300", "path=%zz", "from=-1m",
	} {
		f.Add(q)
	}
	now := time.Date(2026, 12, 1, 9, 30, 0, 0, time.UTC)
	const longest = 15 * time.Minute
	e := echo.New()
	f.Fuzz(func(t *testing.T, raw string) {
		req := httptest.NewRequest(http.MethodGet, "/api/v1/history", nil)
		req.URL.RawQuery = raw
		c := e.NewContext(req, httptest.NewRecorder())
		q, err := parseHistoryQuery(c, now, longest)
		if err != nil {
			if he, ok := err.(*echo.HTTPError); !ok || he.Code != http.StatusBadRequest {
				t.Fatalf("%q: %v, want a 400", raw, err)
			}
			return
		}
		if len(q.pats) == 0 || q.from > q.to || q.to < now.Add(-longest).UnixMilli() || q.from > now.Add(futureSlack).UnixMilli() {
			t.Fatalf("%q accepted as %+v", raw, q)
		}
		if q.step < 0 || q.step > 0 && (q.to-q.from)/q.step+1 > maxSteps {
			t.Fatalf("%q accepted with step %d over [%d, %d]", raw, q.step, q.from, q.to)
		}
	})
}
