package actions

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/VictoriaMetrics/metrics"

	"github.com/watchfloor/watchfloor/gateway/config"
	"github.com/watchfloor/watchfloor/gateway/incident"
	"github.com/watchfloor/watchfloor/gateway/internal/testcert"
	"github.com/watchfloor/watchfloor/rules"
)

func TestWebhookPostsMessage(t *testing.T) {
	t.Parallel()
	r := newReceiver(t)
	dir := t.TempDir()
	token := filepath.Join(dir, "token")
	if err := os.WriteFile(token, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	a := webhookAction("desk", r.URL+"/hook")
	a.Webhook.Headers = map[string]string{"X-Team": "support"}
	a.Webhook.BearerTokenFile = token
	rec := newRecorder()
	d := start(t, Options{Actions: []config.Action{a}, Done: rec.done})

	m := msg(Escalated, "INC-20261201-0042")
	m.Level = 2
	d.Send([]string{"desk"}, m)

	req := r.next(t)
	for name, want := range map[string]string{
		"Content-Type": "application/json", "User-Agent": "watchfloor", "X-Team": "support", "Authorization": "Bearer s3cret",
	} {
		if got := req.header.Get(name); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	got := req.message(t)
	if got.Event != Escalated || got.Level != 2 || got.URL != m.URL || !got.Time.Equal(m.Time) {
		t.Errorf("message = %+v, want event escalated, level 2, url %s, time %v", got, m.URL, m.Time)
	}
	inc := got.Incident
	if inc.ID != "INC-20261201-0042" || inc.Severity != rules.Critical || inc.State != incident.Open ||
		inc.Title != "FIX latency high" || inc.Client != "acme" || !inc.Opened.Equal(opened) {
		t.Errorf("incident = %+v", inc)
	}
	if o := rec.next(t); o.err != nil || o.action != "desk" || o.m.Incident.ID != m.Incident.ID {
		t.Errorf("Done(%s, %s, %v), want desk, %s, nil", o.action, o.m.Incident.ID, o.err, m.Incident.ID)
	}
	if s := statOf(t, d, "desk"); s.Sent != 1 || s.Failed != 0 || s.Retries != 0 || s.Type != "webhook" || s.LastSuccess.IsZero() {
		t.Errorf("stat = %+v", s)
	}
	if n := counter(d, "watchfloor_action_sent_total", "desk"); n != 1 {
		t.Errorf("watchfloor_action_sent_total = %d, want 1", n)
	}
}

func TestWebhookStatuses(t *testing.T) {
	t.Parallel()
	f := func(t *testing.T, statuses []int, retries, attempts int, wantErr string) {
		t.Helper()
		t.Parallel()
		r := newReceiver(t, statuses...)
		a := webhookAction("hook", r.URL)
		a.Retries = retries
		rec := newRecorder()
		d := start(t, Options{Actions: []config.Action{a}, Done: rec.done})
		d.Send([]string{"hook"}, msg(Opened, "INC-1"))

		o := rec.next(t)
		if n := r.requests(); n != attempts {
			t.Errorf("%d attempts, want %d", n, attempts)
		}
		s := statOf(t, d, "hook")
		if s.Retries != uint64(attempts-1) {
			t.Errorf("retries = %d, want %d", s.Retries, attempts-1)
		}
		if wantErr == "" {
			if o.err != nil || s.Sent != 1 || s.Failed != 0 {
				t.Errorf("Done err %v, stat %+v: want success", o.err, s)
			}
			return
		}
		if o.err == nil || !strings.Contains(o.err.Error(), wantErr) {
			t.Errorf("Done err %v, want one containing %q", o.err, wantErr)
		}
		if s.Sent != 0 || s.Failed != 1 || !strings.Contains(s.LastError, wantErr) || s.LastErrorAt.IsZero() {
			t.Errorf("stat = %+v, want one failure", s)
		}
	}
	t.Run("5xx retried until accepted", func(t *testing.T) { f(t, []int{500, 502, 200}, 3, 3, "") })
	t.Run("429 retried", func(t *testing.T) { f(t, []int{429, 204}, 3, 2, "") })
	t.Run("400 not retried", func(t *testing.T) { f(t, []int{400}, 3, 1, `400 Bad Request: "refused: Bad Request"`) })
	t.Run("404 not retried", func(t *testing.T) { f(t, []int{404}, 3, 1, "404 Not Found") })
	t.Run("redirect not followed", func(t *testing.T) { f(t, []int{302}, 3, 1, "302 Found") })
	t.Run("retries run out", func(t *testing.T) { f(t, []int{503}, 2, 3, "503 Service Unavailable") })
	t.Run("retries: 0 means none", func(t *testing.T) { f(t, []int{500}, 0, 1, "500 Internal Server Error") })
}

func TestWebhookRetriesConnectionErrors(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now
	a := webhookAction("gone", "http://"+addr)
	a.Retries = 2
	rec := newRecorder()
	d := start(t, Options{Actions: []config.Action{a}, Done: rec.done})
	d.Send([]string{"gone"}, msg(Opened, "INC-1"))
	if o := rec.next(t); o.err == nil || !strings.Contains(o.err.Error(), "connect") {
		t.Errorf("Done err %v, want a connection error", o.err)
	}
	if s := statOf(t, d, "gone"); s.Retries != 2 || s.Failed != 1 {
		t.Errorf("stat = %+v, want 2 retries and a failure", s)
	}
}

func TestWebhookCAFile(t *testing.T) {
	t.Parallel()
	ca := testcert.NewAuthority(t, "hooks")
	r := newTLSReceiver(t, ca)
	trusting := webhookAction("trusting", r.URL)
	trusting.Webhook.CAFile = ca.CAFile(t, t.TempDir())
	other := webhookAction("other", r.URL)
	other.Retries = 1
	other.Webhook.CAFile = testcert.NewAuthority(t, "other").CAFile(t, t.TempDir())
	rec := newRecorder()
	d := start(t, Options{Actions: []config.Action{trusting, other}, Done: rec.done})

	d.Send([]string{"trusting"}, msg(Opened, "INC-1"))
	if o := rec.next(t); o.err != nil {
		t.Errorf("Done err %v, want the private CA trusted", o.err)
	}
	d.Send([]string{"other"}, msg(Opened, "INC-1"))
	if o := rec.next(t); o.err == nil || !strings.Contains(o.err.Error(), "certificate") {
		t.Errorf("Done err %v, want the server's certificate refused", o.err)
	}
}

func TestWebhookRateLimit(t *testing.T) {
	t.Parallel()
	const per = 400 * time.Millisecond
	r := newReceiver(t)
	a := webhookAction("limited", r.URL)
	a.RateLimit, a.RatePer = 2, per
	d := start(t, Options{Actions: []config.Action{a}})

	sent := time.Now()
	for _, id := range []string{"INC-1", "INC-2", "INC-3"} {
		d.Send([]string{"limited"}, msg(Opened, id))
	}
	var reqs []request
	for range 3 {
		reqs = append(reqs, r.next(t))
	}
	for i, req := range reqs {
		if id := req.message(t).Incident.ID; id != []string{"INC-1", "INC-2", "INC-3"}[i] {
			t.Errorf("request %d is for %s: out of order", i, id)
		}
	}
	if waited := reqs[2].at.Sub(sent); waited < per {
		t.Errorf("third message arrived %v after the first was sent; the limit is 2 per %v", waited, per)
	}
}

func TestWebhookHungReceiver(t *testing.T) {
	t.Parallel()
	hung, got := hanging(t)
	r := newReceiver(t)
	slow := webhookAction("slow", hung.URL)
	slow.Timeout, slow.Retries = 200*time.Millisecond, 1
	rec := newRecorder()
	d := start(t, Options{Actions: []config.Action{slow, webhookAction("fast", r.URL)}, Done: rec.done})

	began := time.Now()
	for i := range DefaultQueueSize {
		d.Send([]string{"slow"}, msg(Opened, fmt.Sprintf("INC-%d", i)))
	}
	if took := time.Since(began); took > time.Second {
		t.Errorf("sending %d messages to a hung action took %v", DefaultQueueSize, took)
	}
	<-got // the hung action is stuck in its first attempt
	d.Send([]string{"fast"}, msg(Opened, "INC-fast"))
	if req := r.next(t); req.message(t).Incident.ID != "INC-fast" {
		t.Errorf("fast action got %s", req.body)
	}

	o := rec.next(t)
	for o.action != "slow" {
		o = rec.next(t)
	}
	if !errors.Is(o.err, context.DeadlineExceeded) {
		t.Errorf("slow action's Done err = %v, want its timeout", o.err)
	}
	if s := statOf(t, d, "slow"); s.Retries < 1 || s.Failed < 1 {
		t.Errorf("slow stat = %+v, want the attempt retried and failed", s)
	}
}

func TestQueueFullDrops(t *testing.T) {
	t.Parallel()
	set := metrics.NewSet()
	d, err := New(Options{Actions: []config.Action{webhookAction("hook", "http://127.0.0.1:1")}, QueueSize: 2, Metrics: set})
	if err != nil {
		t.Fatal(err)
	}
	for range 5 {
		d.Send([]string{"hook", "nosuch"}, msg(Opened, "INC-1"))
	}
	if s := statOf(t, d, "hook"); s.Queued != 2 || s.Dropped != 3 {
		t.Errorf("stat = %+v, want 2 queued and 3 dropped", s)
	}
	if n := counter(d, "watchfloor_action_dropped_total", "nosuch"); n != 5 {
		t.Errorf("dropped for an unknown action = %d, want 5", n)
	}
	var b strings.Builder
	set.WritePrometheus(&b)
	if !strings.Contains(b.String(), `watchfloor_action_queued{action="hook"} 2`+"\n") {
		t.Errorf("metrics lack the queue's length:\n%s", b.String())
	}
}
