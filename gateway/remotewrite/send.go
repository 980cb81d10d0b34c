package remotewrite

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"time"
)

// outcome is what became of one attempt to send a request.
type outcome int

const (
	accepted outcome = iota
	refused          // a 4xx other than 429: never sent again
	retry            // a 5xx, a 429, a timeout or a connection error
)

const (
	// reasonLen is how much of a failed response's body is kept.
	reasonLen = 256
	// logEvery is how often at most a failure of one kind is logged.
	logEvery = 10 * time.Second
)

// deliver sends the current request until the store accepts or refuses
// it, waiting between attempts; it returns false if ctx ends first.
func (w *Writer) deliver(ctx context.Context) bool {
	backoff := w.minBackoff
	for w.post(ctx) == retry {
		wait := time.NewTimer(jitter(backoff))
		select {
		case <-ctx.Done():
			wait.Stop()
			return false
		case <-wait.C:
		}
		backoff = min(2*backoff, w.maxBackoff)
		w.retries.Inc()
	}
	return true
}

// jitter spreads waits over [d/2, d], so writers that failed together do
// not retry together.
func jitter(d time.Duration) time.Duration { return d/2 + rand.N(d/2+1) }

// post sends the current request once.
func (w *Writer) post(ctx context.Context) outcome {
	rctx, cancel := context.WithTimeout(ctx, w.timeout)
	defer cancel()
	body := w.cur.body
	req := (&http.Request{
		Method:     http.MethodPost,
		URL:        w.url,
		Proto:      "HTTP/1.1",
		ProtoMajor: 1,
		ProtoMinor: 1,
		Header: http.Header{
			"Content-Encoding":                  {"snappy"},
			"Content-Type":                      {"application/x-protobuf"},
			"User-Agent":                        {"watchfloor"},
			"X-Prometheus-Remote-Write-Version": {"0.1.0"},
		},
		Body:          io.NopCloser(bytes.NewReader(body)),
		GetBody:       func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil },
		ContentLength: int64(len(body)),
	}).WithContext(rctx)
	if w.auth != "" {
		req.Header.Set("Authorization", w.auth)
	}
	w.requests.Inc()
	resp, err := w.client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			// Run is stopping; the store did nothing wrong.
			return retry
		}
		w.failed(err.Error(), true)
		return retry
	}
	reason, _ := io.ReadAll(io.LimitReader(resp.Body, reasonLen))
	// Drain a little more, so the connection can be reused.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	switch code := resp.StatusCode; {
	case code >= 200 && code < 300:
		w.succeeded()
		return accepted
	case code == http.StatusTooManyRequests || code >= 500:
		w.failed(statusError(code, reason), true)
		return retry
	default:
		w.rejected.Add(w.cur.total)
		w.failed(statusError(code, reason), false)
		return refused
	}
}

func statusError(code int, reason []byte) string {
	return fmt.Sprintf("status %d: %s", code, strings.TrimSpace(strings.ToValidUTF8(string(reason), "\uFFFD")))
}

func (w *Writer) succeeded() {
	now := w.now()
	w.sent.Add(w.cur.total)
	w.lastSuccessGauge.Set(float64(now.UnixMilli()) / 1e3)
	w.statMu.Lock()
	w.lastSuccess = now
	w.statMu.Unlock()
	if w.failures > 0 {
		w.log.Info("remote write recovered", "failed_attempts", w.failures)
		w.failures = 0
	}
}

// failed records a failed attempt, retried or refused, and logs it unless
// one like it was logged in the last logEvery.
func (w *Writer) failed(msg string, retried bool) {
	now := w.now()
	w.statMu.Lock()
	w.lastErr, w.lastErrAt = msg, now
	w.statMu.Unlock()
	if retried {
		w.failures++
		if ok, suppressed := w.retryLog.allow(now); ok {
			w.log.Warn("remote write failed; retrying", "err", msg, "attempt", w.failures, "samples", w.cur.total, "suppressed", suppressed)
		}
		return
	}
	if ok, suppressed := w.rejectLog.allow(now); ok {
		w.log.Error("remote write refused; samples dropped", "reason", msg, "samples", w.cur.total, "suppressed", suppressed)
	}
}

// logLimit lets one message through per logEvery and counts the rest.
type logLimit struct {
	next       time.Time
	suppressed int
}

// allow reports whether to log now and how many were held back since the
// last one logged.
func (l *logLimit) allow(now time.Time) (bool, int) {
	if now.Before(l.next) {
		l.suppressed++
		return false, 0
	}
	n := l.suppressed
	l.next, l.suppressed = now.Add(logEvery), 0
	return true, n
}
