package actions

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/watchfloor/watchfloor/gateway/config"
	"github.com/watchfloor/watchfloor/gateway/incident"
	"github.com/watchfloor/watchfloor/gateway/internal/testcert"
	"github.com/watchfloor/watchfloor/rules"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// wait bounds every wait for something that should happen promptly.
const wait = 10 * time.Second

var opened = time.Date(2026, 12, 1, 9, 14, 3, 0, time.UTC)

// sample is an open, critical incident with every field an action reports
// set.
func sample(id string) incident.Incident {
	return incident.Incident{
		ID: id, Rule: "fix-latency", Path: "london/fix-gw/latency/p99", Probe: "ldn-1", Entity: "fix-gw",
		Client: "acme", Title: "FIX latency high", State: incident.Open,
		Severity: rules.Critical, Peak: rules.Critical, Value: "850ms", Opened: opened, Updated: opened,
	}
}

// msg is a message about sample(id).
func msg(ev Event, id string) Message {
	return Message{Event: ev, Incident: sample(id), URL: "https://gateway.example/incidents/" + id, Time: opened}
}

// resolvedMsg is the Resolved message for sample(id).
func resolvedMsg(id string) Message {
	m := msg(Resolved, id)
	m.Incident.State, m.Incident.Severity, m.Incident.Resolved = incident.Resolved, rules.OK, opened.Add(time.Hour)
	return m
}

// fast are action settings that retry at once.
func fast(a config.Action) config.Action {
	a.MinBackoff, a.MaxBackoff = 10*time.Millisecond, 20*time.Millisecond
	if a.Timeout == 0 {
		a.Timeout = 5 * time.Second
	}
	return a
}

// outcome is one call of Options.Done.
type outcome struct {
	action string
	m      Message
	err    error
}

// recorder collects Done calls.
type recorder chan outcome

func newRecorder() recorder { return make(recorder, 10000) }

func (r recorder) done(action string, m Message, err error) { r <- outcome{action, m, err} }

// next returns the next Done call, failing the test if none comes.
func (r recorder) next(t *testing.T) outcome {
	t.Helper()
	select {
	case o := <-r:
		return o
	case <-time.After(wait):
		t.Fatal("no message finished in time")
		return outcome{}
	}
}

// start makes a Dispatcher and runs it until the test ends.
func start(t *testing.T, opts Options) *Dispatcher {
	t.Helper()
	d, err := New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	run(t, d)
	return d
}

// run runs d until the test ends, and checks that Run then returns.
func run(t *testing.T, d *Dispatcher) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		d.Run(ctx)
	}()
	stop = func() {
		cancel()
		select {
		case <-stopped:
		case <-time.After(wait):
			t.Error("Run did not return after its context ended")
		}
	}
	t.Cleanup(stop)
	return stop
}

// request is a request an httptest server received.
type request struct {
	at     time.Time
	path   string
	header http.Header
	body   []byte
}

// receiver is an HTTP server that records requests and answers each with
// the next status of a script (the last one once it runs out).
type receiver struct {
	*httptest.Server
	got chan request

	mu       sync.Mutex
	statuses []int
	n        int
}

func newReceiver(t *testing.T, statuses ...int) *receiver {
	t.Helper()
	r := unstartedReceiver(t, statuses)
	r.Start()
	return r
}

// newTLSReceiver is a receiver over TLS, with a certificate from ca.
func newTLSReceiver(t *testing.T, ca *testcert.Authority) *receiver {
	t.Helper()
	r := unstartedReceiver(t, nil)
	r.TLS = &tls.Config{Certificates: []tls.Certificate{ca.ServerCertificate(t)}}
	r.Config.ErrorLog = log.New(io.Discard, "", 0) // refused handshakes are expected
	r.StartTLS()
	return r
}

func unstartedReceiver(t *testing.T, statuses []int) *receiver {
	t.Helper()
	r := &receiver{got: make(chan request, 10000), statuses: statuses}
	r.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		status := http.StatusOK
		if len(r.statuses) > 0 {
			status = r.statuses[min(r.n, len(r.statuses)-1)]
		}
		r.n++
		r.mu.Unlock()
		r.got <- request{at: time.Now(), path: req.URL.Path, header: req.Header.Clone(), body: body}
		if status >= 300 && status < 400 {
			w.Header().Set("Location", "/elsewhere")
		}
		w.WriteHeader(status)
		_, _ = io.WriteString(w, "refused: "+http.StatusText(status))
	}))
	t.Cleanup(r.Close)
	return r
}

// requests is how many requests r has had.
func (r *receiver) requests() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.n
}

// next returns the next request r receives.
func (r *receiver) next(t *testing.T) request {
	t.Helper()
	select {
	case req := <-r.got:
		return req
	case <-time.After(wait):
		t.Fatal("no request in time")
		return request{}
	}
}

// message decodes a webhook's request.
func (req request) message(t *testing.T) Message {
	t.Helper()
	var m Message
	if err := json.Unmarshal(req.body, &m); err != nil {
		t.Fatalf("decode %s: %v", req.body, err)
	}
	return m
}

// hanging is an HTTP server whose handler blocks until the test ends. It
// reports each request it gets on got.
func hanging(t *testing.T) (srv *httptest.Server, got chan struct{}) {
	t.Helper()
	release := make(chan struct{})
	got = make(chan struct{}, 10000)
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		got <- struct{}{}
		select {
		case <-release:
		case <-req.Context().Done():
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) })
	return srv, got
}

// webhookAction is a webhook action posting to url.
func webhookAction(name, url string) config.Action {
	return fast(config.Action{Name: name, Webhook: &config.WebhookAction{URL: url}})
}

// packageGoroutines returns the stacks of goroutines running this
// package's code, outside its tests.
func packageGoroutines() []string {
	buf := make([]byte, 1<<22)
	buf = buf[:runtime.Stack(buf, true)]
	var found []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		for _, line := range strings.Split(g, "\n") {
			if strings.Contains(line, "/gateway/actions/") && !strings.Contains(line, "_test.go") {
				found = append(found, g)
				break
			}
		}
	}
	return found
}

// counter is the value of a counter of the set, by its full name.
func counter(d *Dispatcher, name, action string) uint64 {
	return d.set.GetOrCreateCounter(metricName(name, action)).Get()
}

// statOf returns the named action's Stat.
func statOf(t *testing.T, d *Dispatcher, name string) Stat {
	t.Helper()
	for _, s := range d.Stats() {
		if s.Name == name {
			return s
		}
	}
	t.Fatalf("no stat for %s in %+v", name, d.Stats())
	return Stat{}
}
