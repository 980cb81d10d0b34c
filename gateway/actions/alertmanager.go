package actions

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/watchfloor/watchfloor/gateway/config"
	"github.com/watchfloor/watchfloor/gateway/incident"
)

// rawIncidentAlertname names the alert of an incident a person raised,
// which has no rule.
const rawIncidentAlertname = "watchfloor_incident"

// watchdogName is the always-firing alert's alertname, as in the
// kube-prometheus convention outside dead-man's switches expect.
const watchdogName = "Watchdog"

// lifetimes is how many resend intervals a firing alert lasts in
// Alertmanager without being sent again, as in Prometheus.
const lifetimes = 4

// alertmanager forwards incidents to Alertmanagers as alerts, as
// Prometheus does: each firing alert is sent again every resend, and
// lasts lifetimes resends, so that Alertmanager resolves it itself if the
// gateway goes away.
type alertmanager struct {
	urls     []string // the alerts endpoints
	client   *httpClient
	labels   map[string]string
	resend   time.Duration
	watchdog time.Duration
	now      func() time.Time

	// Owned by the worker goroutine.
	firing       map[string]*firingAlert // by incident ID
	started      time.Time               // the watchdog's startsAt
	lastResend   time.Time
	lastWatchdog time.Time
}

var (
	_ sender    = (*alertmanager)(nil)
	_ periodic  = (*alertmanager)(nil)
	_ inheritor = (*alertmanager)(nil)
)

// firingAlert is an incident whose alert fires.
type firingAlert struct {
	inc incident.Incident
	url string
	// sent are the labels last sent for it, to resolve that alert if its
	// labels change (a new severity makes a new alert).
	sent map[string]string
}

// amAlert is an alert as Alertmanager's v2 API takes it.
type amAlert struct {
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations,omitempty"`
	StartsAt     time.Time         `json:"startsAt"`
	EndsAt       time.Time         `json:"endsAt"`
	GeneratorURL string            `json:"generatorURL,omitempty"`
}

// outgoing is an alert to send, and for how long it fires from the time
// it is sent; zero resolves it.
type outgoing struct {
	alert amAlert
	lasts time.Duration
}

func newAlertmanager(c *config.AlertmanagerAction, f *files, now func() time.Time) (*alertmanager, []error) {
	var errs []error
	fail := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	s := &alertmanager{resend: c.Resend, watchdog: c.Watchdog, now: now, labels: map[string]string{},
		firing: map[string]*firingAlert{}}

	if len(c.URLs) == 0 {
		fail("urls: missing")
	}
	for _, raw := range c.URLs {
		u, err := httpURL(raw)
		if err != nil {
			fail("urls: %v", err)
			continue
		}
		s.urls = append(s.urls, u.JoinPath("api/v2/alerts").String())
	}
	if s.resend == 0 {
		s.resend = config.DefaultAlertResend
	}
	if s.resend < 0 {
		fail("resend: %v is negative", c.Resend)
	}
	if s.watchdog < 0 {
		fail("watchdog: %v is negative", c.Watchdog)
	}
	for _, name := range slices.Sorted(maps.Keys(c.Labels)) {
		value := c.Labels[name]
		switch {
		case !config.AlertLabelName(name):
			fail("labels: %q is not a label name", name)
		case slices.Contains(config.AlertLabels, name):
			fail("labels: %s is set by the gateway", name)
		case value == "":
			fail("labels: %s is empty", name)
		default:
			s.labels[name] = value
		}
	}
	var es []error
	s.client, es = newHTTPClient(c.BearerTokenFile, c.CAFile, f)
	errs = append(errs, es...)
	if len(errs) > 0 {
		return nil, errs
	}
	return s, nil
}

func (s *alertmanager) prepare(m Message, _ time.Time) (func(ctx context.Context) error, error) {
	id := m.Incident.ID
	switch {
	case m.Event == NoticeEvent:
		return nil, nil
	case id == "":
		return nil, errors.New("message without an incident ID")
	case m.Event == Resolved || m.Event == Closed || !m.Incident.Live():
		f := s.firing[id]
		if f == nil && m.Event != Resolved && m.Event != Closed {
			return nil, nil // a change to an incident over: nothing fires
		}
		delete(s.firing, id)
		a := s.incidentAlert(&m.Incident, m.URL)
		if f != nil {
			a.Labels = f.sent
		} else {
			// Not known to fire (the gateway restarted): resolve it at the
			// severity it most likely fired at.
			a.Labels["severity"] = m.Incident.Peak.String()
		}
		return s.attempt([]outgoing{{alert: a}}), nil
	default:
		f := s.firing[id]
		if f == nil {
			f = &firingAlert{}
			s.firing[id] = f
		}
		f.inc, f.url = m.Incident, m.URL
		return s.attempt(s.refresh(f)), nil
	}
}

// refresh returns f's alert, firing, and resolves the one sent before if
// its labels differ.
func (s *alertmanager) refresh(f *firingAlert) []outgoing {
	a := s.incidentAlert(&f.inc, f.url)
	var out []outgoing
	if f.sent != nil && !maps.Equal(f.sent, a.Labels) {
		old := a
		old.Labels = f.sent
		out = append(out, outgoing{alert: old})
	}
	f.sent = a.Labels
	return append(out, outgoing{alert: a, lasts: lifetimes * s.resend})
}

// incidentAlert is inc's alert, its end not yet set.
func (s *alertmanager) incidentAlert(inc *incident.Incident, url string) amAlert {
	l := maps.Clone(s.labels)
	l["alertname"] = inc.Rule
	if inc.Rule == "" {
		l["alertname"] = rawIncidentAlertname
	}
	l["incident"] = inc.ID
	l["severity"] = severityOf(inc).String()
	for name, value := range map[string]string{"probe": inc.Probe, "entity": inc.Entity, "client": inc.Client, "path": inc.Path} {
		if value != "" {
			l[name] = value
		}
	}
	ann := map[string]string{
		"title":   inc.Title,
		"summary": fmt.Sprintf("%s (%s): %s", inc.ID, severityOf(inc), inc.Title),
	}
	if inc.Value != "" {
		ann["value"] = inc.Value
	}
	if url != "" {
		ann["url"] = url
	}
	start := inc.Opened
	if start.IsZero() {
		start = s.now()
	}
	return amAlert{Labels: l, Annotations: ann, StartsAt: start, GeneratorURL: url}
}

// watchdogAlert is the alert that always fires.
func (s *alertmanager) watchdogAlert() amAlert {
	l := maps.Clone(s.labels)
	l["alertname"] = watchdogName
	l["severity"] = "none"
	return amAlert{
		Labels: l,
		Annotations: map[string]string{
			"summary": "Fires while the watchfloor gateway runs; when it stops arriving, the gateway is down.",
		},
		StartsAt: s.started,
	}
}

// attempt returns the attempt that posts out to every Alertmanager that
// has not yet taken it. It succeeds once all have; short of that, one
// that took it makes the message sent, and the others are retried.
func (s *alertmanager) attempt(out []outgoing) func(ctx context.Context) error {
	pending := s.urls
	accepted := false
	return func(ctx context.Context) error {
		body, err := s.encode(out)
		if err != nil {
			return permanent(err)
		}
		retry, ok, err := s.postAll(ctx, pending, body)
		accepted = accepted || ok
		pending = retry
		switch {
		case err == nil:
			return nil
		case accepted:
			return partialError{err}
		case len(retry) == 0:
			return permanent(err)
		default:
			return err
		}
	}
}

// encode stamps the alerts' ends from now and encodes them.
func (s *alertmanager) encode(out []outgoing) ([]byte, error) {
	now := s.now()
	alerts := make([]amAlert, len(out))
	for i, o := range out {
		alerts[i] = o.alert
		alerts[i].EndsAt = now.Add(o.lasts)
	}
	return json.Marshal(alerts)
}

// postAll posts body to each URL at once, and returns the URLs worth
// retrying, whether any took it, and every failure.
func (s *alertmanager) postAll(ctx context.Context, urls []string, body []byte) (retry []string, accepted bool, err error) {
	errs := make([]error, len(urls))
	var wg sync.WaitGroup
	for i, u := range urls {
		wg.Go(func() { errs[i] = s.client.post(ctx, u, nil, body) })
	}
	wg.Wait()
	for i, err := range errs {
		var perm permanentError
		switch {
		case err == nil:
			accepted = true
		case !errors.As(err, &perm):
			retry = append(retry, urls[i])
		}
	}
	return retry, accepted, errors.Join(errs...)
}

func (s *alertmanager) next(now time.Time) time.Duration {
	wait := s.lastResend.Add(s.resend).Sub(now)
	if s.watchdog > 0 {
		wait = min(wait, s.lastWatchdog.Add(s.watchdog).Sub(now))
	}
	return wait
}

// tick resends every firing alert when a resend is due, and the watchdog
// when it is due.
func (s *alertmanager) tick(ctx context.Context) error {
	now := s.now()
	resend := !now.Before(s.lastResend.Add(s.resend))
	watchdog := s.watchdog > 0 && !now.Before(s.lastWatchdog.Add(s.watchdog))
	var out []outgoing
	if resend {
		for _, id := range slices.Sorted(maps.Keys(s.firing)) {
			out = append(out, s.refresh(s.firing[id])...)
		}
	}
	if watchdog {
		if s.started.IsZero() {
			s.started = now
		}
		out = append(out, outgoing{alert: s.watchdogAlert(), lasts: lifetimes * s.watchdog})
	}
	var err error
	if len(out) > 0 {
		var body []byte
		if body, err = s.encode(out); err == nil {
			_, _, err = s.postAll(ctx, s.urls, body)
		}
	}
	// Counted from the end, so that an Alertmanager slower than the
	// interval does not leave messages waiting behind back-to-back ticks.
	done := s.now()
	if resend {
		s.lastResend = done
	}
	if watchdog {
		s.lastWatchdog = done
	}
	return err
}

// inherit takes over the alerts the action's previous configuration had
// firing, so that a reload neither forgets them nor lets them lapse; the
// next tick sends them at once under the new settings.
func (s *alertmanager) inherit(prev sender) {
	if p, ok := prev.(*alertmanager); ok {
		s.firing, s.started = p.firing, p.started
	}
}

func (s *alertmanager) close() { s.client.close() }
