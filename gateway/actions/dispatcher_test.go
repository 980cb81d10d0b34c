package actions

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/watchfloor/watchfloor/gateway/config"
)

func TestNewRefuses(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	hook := &config.WebhookAction{URL: "https://desk.example/hook"}
	mail := func(f func(*config.EmailAction)) *config.EmailAction {
		e := &config.EmailAction{SMTP: "mail.example:587", From: "watchfloor@example", To: []string{"manager@example"}}
		f(e)
		return e
	}
	am := func(f func(*config.AlertmanagerAction)) *config.AlertmanagerAction {
		a := &config.AlertmanagerAction{URLs: []string{"http://127.0.0.1:9093"}}
		f(a)
		return a
	}
	f := func(t *testing.T, a config.Action, want ...string) {
		t.Helper()
		if a.Name == "" {
			a.Name = "x"
		}
		_, err := New(Options{Actions: []config.Action{a}})
		if err == nil {
			t.Fatalf("New took %+v", a)
		}
		for _, w := range append(want, `action "x": `) {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("error %q lacks %q", err, w)
			}
		}
	}
	t.Run("no type", func(t *testing.T) { f(t, config.Action{}, "no type") })
	t.Run("two types", func(t *testing.T) {
		f(t, config.Action{Webhook: hook, Command: &config.CommandAction{Path: "/bin/true"}}, "more than one type")
	})
	t.Run("negative timeout", func(t *testing.T) { f(t, config.Action{Timeout: -time.Second, Webhook: hook}, "timeout") })
	t.Run("negative retries", func(t *testing.T) { f(t, config.Action{Retries: -1, Webhook: hook}, "retries") })
	t.Run("backoffs crossed", func(t *testing.T) {
		f(t, config.Action{MinBackoff: time.Minute, MaxBackoff: time.Second, Webhook: hook}, "max_backoff")
	})
	t.Run("rate without period", func(t *testing.T) { f(t, config.Action{RateLimit: 3, Webhook: hook}, "rate_limit") })
	t.Run("webhook without URL", func(t *testing.T) { f(t, config.Action{Webhook: &config.WebhookAction{}}, "webhook: url: missing") })
	t.Run("webhook bad scheme", func(t *testing.T) {
		f(t, config.Action{Webhook: &config.WebhookAction{URL: "ftp://desk.example"}}, "webhook: url", "http or https")
	})
	t.Run("webhook bad header", func(t *testing.T) {
		f(t, config.Action{Webhook: &config.WebhookAction{URL: "http://a", Headers: map[string]string{"X-A": "1\r\nX-B: 2"}}}, "line break")
	})
	t.Run("unreadable token", func(t *testing.T) {
		f(t, config.Action{Webhook: &config.WebhookAction{URL: "http://a", BearerTokenFile: filepath.Join(dir, "nope")}},
			"bearer_token_file", "no such file")
	})
	t.Run("empty token", func(t *testing.T) {
		f(t, config.Action{Webhook: &config.WebhookAction{URL: "http://a", BearerTokenFile: empty}}, "is empty")
	})
	t.Run("bad CA file", func(t *testing.T) {
		f(t, config.Action{Webhook: &config.WebhookAction{URL: "http://a", CAFile: empty}}, "ca_file", "no PEM certificate")
	})
	t.Run("email none to a remote server", func(t *testing.T) {
		f(t, config.Action{Email: mail(func(e *config.EmailAction) { e.TLS = "none" })}, "loopback", "mail.example")
	})
	t.Run("email unknown tls", func(t *testing.T) {
		f(t, config.Action{Email: mail(func(e *config.EmailAction) { e.TLS = "ssl" })}, `tls: "ssl"`)
	})
	t.Run("email without port", func(t *testing.T) {
		f(t, config.Action{Email: mail(func(e *config.EmailAction) { e.SMTP = "mail.example" })}, "host:port")
	})
	t.Run("email username without password", func(t *testing.T) {
		f(t, config.Action{Email: mail(func(e *config.EmailAction) { e.Username = "w" })}, "password_file")
	})
	t.Run("email bad address", func(t *testing.T) {
		f(t, config.Action{Email: mail(func(e *config.EmailAction) { e.To = []string{"not an address"} })}, "to:")
	})
	t.Run("email no recipient", func(t *testing.T) {
		f(t, config.Action{Email: mail(func(e *config.EmailAction) { e.To = nil })}, "to: missing")
	})
	t.Run("alertmanager no URL", func(t *testing.T) {
		f(t, config.Action{Alertmanager: am(func(a *config.AlertmanagerAction) { a.URLs = nil })}, "urls: missing")
	})
	t.Run("alertmanager builtin label", func(t *testing.T) {
		f(t, config.Action{Alertmanager: am(func(a *config.AlertmanagerAction) { a.Labels = map[string]string{"severity": "x"} })},
			"severity is set by the gateway")
	})
	t.Run("alertmanager bad label", func(t *testing.T) {
		f(t, config.Action{Alertmanager: am(func(a *config.AlertmanagerAction) { a.Labels = map[string]string{"1site": "x"} })},
			"not a label name")
	})

	t.Run("every error at once", func(t *testing.T) {
		_, err := New(Options{Actions: []config.Action{
			{Name: "a", Webhook: &config.WebhookAction{}},
			{Name: "b", Timeout: -1, Email: &config.EmailAction{SMTP: "m:25", TLS: "none", From: "a@b", To: []string{"c@d"}}},
			{Name: "a", Webhook: hook},
			{Webhook: hook},
		}})
		if err == nil {
			t.Fatal("New took them")
		}
		for _, want := range []string{`action "a": webhook: url: missing`, `action "b": timeout`, `action "b": email: tls: none`,
			`action "a": defined twice`, `action #4: no name`} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error lacks %q:\n%v", want, err)
			}
		}
	})
}

func TestConfigureBeforeRunKeepsQueues(t *testing.T) {
	t.Parallel()
	r1, r2 := newReceiver(t), newReceiver(t)
	d, err := New(Options{Actions: []config.Action{webhookAction("same", r1.URL), webhookAction("moved", r1.URL)}})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"INC-1", "INC-2", "INC-3"} {
		d.Send([]string{"same", "moved"}, msg(Opened, id))
	}
	acts := []config.Action{webhookAction("same", r1.URL), webhookAction("moved", r2.URL), webhookAction("new", r2.URL)}
	if err := d.Configure(acts, nil); err != nil {
		t.Fatal(err)
	}
	for _, s := range d.Stats() {
		if want := map[string]int{"same": 3, "moved": 3, "new": 0}[s.Name]; s.Queued != want {
			t.Errorf("%s: %d queued, want %d", s.Name, s.Queued, want)
		}
	}
	run(t, d)
	for range 3 {
		if got := r1.next(t).message(t).Incident.ID; got == "" {
			t.Error("empty message")
		}
	}
	for i := range 3 {
		if got := r2.next(t).message(t).Incident.ID; got != []string{"INC-1", "INC-2", "INC-3"}[i] {
			t.Errorf("moved action's message %d is %s", i, got)
		}
	}
}

func TestConfigureWhileRunning(t *testing.T) {
	t.Parallel()
	hung, got := hanging(t)
	r := newReceiver(t)
	rec := newRecorder()
	keep := webhookAction("keep", r.URL)
	gone := webhookAction("gone", hung.URL)
	gone.Timeout = 300 * time.Millisecond
	d := start(t, Options{Actions: []config.Action{keep, gone}, Done: rec.done})

	d.Send([]string{"gone"}, msg(Opened, "INC-0"))
	<-got // gone's first attempt hangs
	for _, id := range []string{"INC-1", "INC-2", "INC-3", "INC-4"} {
		d.Send([]string{"gone"}, msg(Opened, id))
	}
	d.mu.RLock()
	keeper, goner := d.workers["keep"], d.workers["gone"]
	d.mu.RUnlock()

	// A bad configuration changes nothing.
	bad := []config.Action{webhookAction("keep", "http://elsewhere.example"), {Name: "broken"}}
	if err := d.Configure(bad, nil); err == nil || !strings.Contains(err.Error(), `action "broken"`) {
		t.Fatalf("Configure err %v, want the broken action named", err)
	}
	if !d.Has("gone") || d.Has("broken") {
		t.Error("a refused configuration changed the actions")
	}
	d.Send([]string{"keep"}, msg(Opened, "INC-K1"))
	if m := r.next(t).message(t); m.Incident.ID != "INC-K1" {
		t.Errorf("keep got %s", m.Incident.ID)
	}
	rec.next(t)

	// Removing gone stops its goroutine once its attempt ends, and drops
	// what it had queued; keep, unchanged, is the same worker.
	if err := d.Configure([]config.Action{keep}, nil); err != nil {
		t.Fatal(err)
	}
	select {
	case <-goner.done:
	case <-time.After(wait):
		t.Fatal("removed action's goroutine still runs")
	}
	if o := rec.next(t); o.action != "gone" || o.err == nil {
		t.Errorf("Done(%s, %v), want gone's attempt in flight failed by its timeout", o.action, o.err)
	}
	d.mu.RLock()
	same := d.workers["keep"] == keeper
	d.mu.RUnlock()
	if !same || d.Has("gone") {
		t.Errorf("keep replaced (%v) or gone still there (%v)", !same, d.Has("gone"))
	}
	if n := counter(d, "watchfloor_action_dropped_total", "gone"); n != 4 {
		t.Errorf("gone dropped %d, want its 4 queued", n)
	}
	d.Send([]string{"gone"}, msg(Opened, "INC-5"))
	if n := counter(d, "watchfloor_action_dropped_total", "gone"); n != 5 {
		t.Errorf("gone dropped %d after a send to it, want 5", n)
	}
	for _, s := range d.Stats() {
		if s.Name != "keep" {
			t.Errorf("stats list %s", s.Name)
		}
	}

	// Added back, it starts afresh and counts on.
	if err := d.Configure([]config.Action{keep, webhookAction("gone", r.URL)}, nil); err != nil {
		t.Fatal(err)
	}
	d.Send([]string{"gone"}, msg(Opened, "INC-6"))
	if m := r.next(t).message(t); m.Incident.ID != "INC-6" {
		t.Errorf("gone, added back, sent %s", m.Incident.ID)
	}
	if o := rec.next(t); o.err != nil || statOf(t, d, "gone").Dropped != 5 {
		t.Errorf("Done err %v, stat %+v", o.err, statOf(t, d, "gone"))
	}
}

func TestConfigureHandsOverMessageInHand(t *testing.T) {
	t.Parallel()
	failing, ok := newReceiver(t, 503), newReceiver(t)
	a := webhookAction("hook", failing.URL)
	a.Retries, a.MinBackoff, a.MaxBackoff = 1, time.Hour, time.Hour
	rec := newRecorder()
	d := start(t, Options{Actions: []config.Action{a}, Done: rec.done})
	d.Send([]string{"hook"}, msg(Opened, "INC-1"))
	failing.next(t) // the first attempt failed; the message waits an hour to retry

	if err := d.Configure([]config.Action{webhookAction("hook", ok.URL)}, nil); err != nil {
		t.Fatal(err)
	}
	if m := ok.next(t).message(t); m.Incident.ID != "INC-1" {
		t.Errorf("new settings sent %s", m.Incident.ID)
	}
	if o := rec.next(t); o.err != nil {
		t.Errorf("Done err %v", o.err)
	}
	if s := statOf(t, d, "hook"); s.Sent != 1 || s.Retries != 1 || s.Failed != 0 {
		t.Errorf("stat %+v, want the message sent on its retry", s)
	}
}

func TestConfigureAlertmanagerKeepsFiring(t *testing.T) {
	t.Parallel()
	r := newReceiver(t)
	am := func(site string) config.Action {
		return fast(config.Action{Name: "am", Alertmanager: &config.AlertmanagerAction{
			URLs: []string{r.URL}, Resend: time.Hour, Labels: map[string]string{"site": site},
		}})
	}
	rec := newRecorder()
	d := start(t, Options{Actions: []config.Action{am("london")}, Done: rec.done})
	d.Send([]string{"am"}, msg(Opened, "INC-1"))
	rec.next(t)
	nextPost(t, r)

	if err := d.Configure([]config.Action{am("paris")}, nil); err != nil {
		t.Fatal(err)
	}
	p := nextPost(t, r) // the new configuration's first resend, at once
	var fired, resolved bool
	for _, a := range p.alerts {
		switch {
		case a.Labels["incident"] != "INC-1":
			t.Errorf("posted %v", a.Labels)
		case a.Labels["site"] == "paris" && a.EndsAt.After(p.at):
			fired = true
		case a.Labels["site"] == "london" && !a.EndsAt.After(p.at):
			resolved = true
		}
	}
	if !fired || !resolved {
		t.Errorf("after the reload posted %+v, want INC-1 firing at paris and resolved at london", p.alerts)
	}
}

func TestRunStopsEverything(t *testing.T) {
	// Not parallel, so that no other test's goroutines run meanwhile.
	dir := t.TempDir()
	hang := script(t, dir, "hang.sh", "sleep 60\n")
	hung, got := hanging(t)
	r := newReceiver(t)
	ms := newMailServer(t, offerSTARTTLS)
	acts := []config.Action{
		webhookAction("hung", hung.URL),
		commandAction("cmd", hang),
		emailAction(t, "mail", ms, ""),
		fast(config.Action{Name: "am", Alertmanager: &config.AlertmanagerAction{URLs: []string{r.URL}, Resend: 50 * time.Millisecond, Watchdog: 50 * time.Millisecond}}),
	}
	acts[0].Timeout = time.Hour
	d, err := New(Options{Actions: acts, AllowExec: []string{dir}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		d.Run(ctx)
	}()
	for _, id := range []string{"INC-1", "INC-2"} {
		d.Send([]string{"hung", "cmd", "mail", "am"}, msg(Opened, id))
	}
	<-got
	nextPost(t, r)
	ms.next(t)
	if len(packageGoroutines()) < len(acts) {
		t.Fatalf("the check does not see the workers running:\n%s", strings.Join(packageGoroutines(), "\n\n"))
	}
	// A reload while running, so that a replaced worker is among those to stop.
	acts[3].Alertmanager.Resend = time.Minute
	if err := d.Configure(acts, []string{dir}); err != nil {
		t.Fatal(err)
	}

	cancel()
	select {
	case <-stopped:
	case <-time.After(wait):
		t.Fatal("Run did not return")
	}
	if left := packageGoroutines(); len(left) > 0 {
		t.Errorf("goroutines left after Run returned:\n%s", strings.Join(left, "\n\n"))
	}
}

func TestBackoff(t *testing.T) {
	t.Parallel()
	f := func(attempt int, want time.Duration) {
		t.Helper()
		if got := backoff(time.Second, time.Minute, attempt); got != want {
			t.Errorf("backoff after attempt %d = %v, want %v", attempt, got, want)
		}
	}
	f(1, time.Second)
	f(2, 2*time.Second)
	f(3, 4*time.Second)
	f(6, 32*time.Second)
	f(7, time.Minute)
	f(1000, time.Minute)
}
