package remotewrite_test

// The tests in this file need a store that fails on demand: a 4xx with a
// given reason, a 5xx, a 429, an answer that never comes. VictoriaMetrics
// and Prometheus cannot be made to answer so, so these tests use an
// httptest server. Everything a real store can show — the wire format,
// labels, values, timestamps, staleness, resends, an outage, a real 401 —
// is tested against one (victoriametrics_test.go, prometheus_test.go).

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/golang/snappy"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/watchfloor/watchfloor/gateway/internal/tsdbtest"
	"github.com/watchfloor/watchfloor/gateway/remotewrite"
)

// hang is a receiver's status that answers nothing until the client
// gives up.
const hang = -1

// receiver answers with the statuses of plan in turn, then 204 to
// everything, and records each request.
type receiver struct {
	reason string // the body of a failure

	mu          sync.Mutex
	plan        []int
	reqs        []received
	inflight    int
	maxInflight int
}

type received struct {
	header http.Header
	body   []byte
}

func startReceiver(t *testing.T, r *receiver) string {
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	return srv.URL + "/api/v1/write"
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	r.inflight++
	r.maxInflight = max(r.maxInflight, r.inflight)
	r.reqs = append(r.reqs, received{req.Header.Clone(), body})
	status := http.StatusNoContent
	if len(r.plan) > 0 {
		status, r.plan = r.plan[0], r.plan[1:]
	}
	r.mu.Unlock()
	if status == hang {
		<-req.Context().Done()
	}
	// Done before answering: the client may send the next request as soon
	// as it has the answer.
	r.mu.Lock()
	r.inflight--
	r.mu.Unlock()
	if status == hang {
		return
	}
	w.WriteHeader(status)
	if status != http.StatusNoContent {
		io.WriteString(w, r.reason)
	}
}

func (r *receiver) requests() []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.reqs)
}

func (r *receiver) mostInFlight() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.maxInflight
}

// decoded is a TimeSeries as a request carries it.
type decoded struct {
	Labels  []remotewrite.Label
	Samples []tsdbtest.Point
}

// decodeWriteRequest parses a request body: snappy, then prompb's
// WriteRequest, every field checked against the schema.
func decodeWriteRequest(t *testing.T, body []byte) []decoded {
	t.Helper()
	raw, err := snappy.Decode(nil, body)
	if err != nil {
		t.Fatalf("snappy: %v", err)
	}
	var out []decoded
	eachField(t, raw, func(num protowire.Number, typ protowire.Type, b []byte, _ uint64) {
		want(t, num == 1 && typ == protowire.BytesType, "WriteRequest field %d type %d", num, typ)
		var ts decoded
		eachField(t, b, func(num protowire.Number, typ protowire.Type, b []byte, _ uint64) {
			want(t, typ == protowire.BytesType && (num == 1 || num == 2), "TimeSeries field %d type %d", num, typ)
			if num == 1 {
				var l remotewrite.Label
				eachField(t, b, func(num protowire.Number, typ protowire.Type, b []byte, _ uint64) {
					want(t, typ == protowire.BytesType && (num == 1 || num == 2), "Label field %d type %d", num, typ)
					if num == 1 {
						l.Name = string(b)
					} else {
						l.Value = string(b)
					}
				})
				ts.Labels = append(ts.Labels, l)
				return
			}
			var p tsdbtest.Point
			eachField(t, b, func(num protowire.Number, typ protowire.Type, _ []byte, v uint64) {
				switch {
				case num == 1 && typ == protowire.Fixed64Type:
					p.V = math.Float64frombits(v)
				case num == 2 && typ == protowire.VarintType:
					p.T = int64(v)
				default:
					t.Fatalf("Sample field %d type %d", num, typ)
				}
			})
			ts.Samples = append(ts.Samples, p)
		})
		out = append(out, ts)
	})
	return out
}

func want(t *testing.T, ok bool, format string, args ...any) {
	t.Helper()
	if !ok {
		t.Fatalf("unexpected "+format, args...)
	}
}

// eachField calls f with each field of a protobuf message.
func eachField(t *testing.T, b []byte, f func(num protowire.Number, typ protowire.Type, bytes []byte, scalar uint64)) {
	t.Helper()
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			t.Fatalf("bad tag: %v", protowire.ParseError(n))
		}
		b = b[n:]
		switch typ {
		case protowire.BytesType:
			var v []byte
			v, n = protowire.ConsumeBytes(b)
			if n >= 0 {
				f(num, typ, v, 0)
			}
		case protowire.Fixed64Type:
			var v uint64
			v, n = protowire.ConsumeFixed64(b)
			if n >= 0 {
				f(num, typ, nil, v)
			}
		case protowire.VarintType:
			var v uint64
			v, n = protowire.ConsumeVarint(b)
			if n >= 0 {
				f(num, typ, nil, v)
			}
		default:
			t.Fatalf("field %d has wire type %d", num, typ)
		}
		if n < 0 {
			t.Fatalf("field %d: %v", num, protowire.ParseError(n))
		}
		b = b[n:]
	}
}

// TestRetried: a 5xx or a 429 sends the same request again after a
// backoff, one request at a time, before the requests after it.
func TestRetried(t *testing.T) {
	for _, status := range []int{http.StatusInternalServerError, http.StatusServiceUnavailable, http.StatusTooManyRequests} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			r := &receiver{plan: []int{status, status}, reason: "busy"}
			var log logBuffer
			w, err := remotewrite.New(remotewrite.Options{
				URL:           startReceiver(t, r),
				BearerToken:   "tok",
				BatchSize:     3,
				FlushInterval: 10 * time.Millisecond,
				MinBackoff:    time.Millisecond,
				MaxBackoff:    10 * time.Millisecond,
				Logger:        log.logger(),
				Now:           newClock(time.Unix(1_700_000_000, 0)).Now,
				Resend:        -1,
			})
			if err != nil {
				t.Fatal(err)
			}
			x := w.Series([]remotewrite.Label{{Name: "job", Value: "j"}, {Name: "__name__", Value: "x"}})
			y := w.Series([]remotewrite.Label{{Name: "__name__", Value: "y"}})
			const t0 = 1_700_000_000_000
			// Two batches, buffered before Run starts.
			w.Add([]remotewrite.Sample{
				{Series: x, T: t0 + 1, V: 1}, {Series: y, T: t0, V: 2}, {Series: x, T: t0, V: 3},
				{Series: y, T: t0 + 1, V: 4}, {Series: x, T: t0 + 2, V: 5}, {Series: y, T: t0 + 2, V: 6},
			})
			run(t, w)
			st := waitStats(t, w, "6 samples sent", func(s remotewrite.Stats) bool { return s.Sent >= 6 })
			if st.Sent != 6 || st.Requests != 4 || st.Retries != 2 || st.Rejected != 0 || st.Pending != 0 {
				t.Errorf("stats %+v, want 6 sent in 4 requests, 2 of them retries", st)
			}
			if st.LastError != fmt.Sprintf("status %d: busy", status) || st.LastSuccess.IsZero() {
				t.Errorf("stats %+v: want the failure and the success recorded", st)
			}

			reqs := r.requests()
			if len(reqs) != 4 {
				t.Fatalf("%d requests, want 4", len(reqs))
			}
			for i, req := range reqs {
				for name, value := range map[string]string{
					"Content-Encoding":                  "snappy",
					"Content-Type":                      "application/x-protobuf",
					"X-Prometheus-Remote-Write-Version": "0.1.0",
					"User-Agent":                        "watchfloor",
					"Authorization":                     "Bearer tok",
				} {
					if got := req.header.Get(name); got != value {
						t.Errorf("request %d: %s %q, want %q", i, name, got, value)
					}
				}
				if i > 0 && i < 3 && !bytes.Equal(req.body, reqs[0].body) {
					t.Errorf("retry %d differs from the first attempt", i)
				}
			}
			xl := []remotewrite.Label{{Name: "__name__", Value: "x"}, {Name: "job", Value: "j"}}
			yl := []remotewrite.Label{{Name: "__name__", Value: "y"}}
			for i, want := range map[int][]decoded{
				0: {{xl, []tsdbtest.Point{{T: t0, V: 3}, {T: t0 + 1, V: 1}}}, {yl, []tsdbtest.Point{{T: t0, V: 2}}}},
				3: {{yl, []tsdbtest.Point{{T: t0 + 1, V: 4}, {T: t0 + 2, V: 6}}}, {xl, []tsdbtest.Point{{T: t0 + 2, V: 5}}}},
			} {
				if got := decodeWriteRequest(t, reqs[i].body); !reflect.DeepEqual(got, want) {
					t.Errorf("request %d carries\n %v\nwant %v", i, got, want)
				}
			}
			if n := r.mostInFlight(); n != 1 {
				t.Errorf("%d requests in flight at once, want 1", n)
			}
			logs := log.String()
			if n := strings.Count(logs, "remote write failed; retrying"); n != 1 {
				t.Errorf("%d failures logged, want 1 (the second within 10s held back):\n%s", n, logs)
			}
			if !strings.Contains(logs, "remote write recovered") || !strings.Contains(logs, "failed_attempts=2") {
				t.Errorf("recovery not logged:\n%s", logs)
			}
		})
	}
}

// TestRetriedTimeout: a request the store does not answer within Timeout
// is sent again.
func TestRetriedTimeout(t *testing.T) {
	r := &receiver{plan: []int{hang}}
	w, err := remotewrite.New(remotewrite.Options{
		URL:           startReceiver(t, r),
		Timeout:       200 * time.Millisecond,
		FlushInterval: 10 * time.Millisecond,
		MinBackoff:    time.Millisecond,
		Resend:        -1,
	})
	if err != nil {
		t.Fatal(err)
	}
	run(t, w)
	w.Add([]remotewrite.Sample{{Series: w.Series([]remotewrite.Label{{Name: "__name__", Value: "x"}}), T: 1, V: 1}})
	st := waitStats(t, w, "the sample sent", func(s remotewrite.Stats) bool { return s.Sent >= 1 })
	// On a busy machine a later attempt may time out too; each is a retry
	// of the same request.
	if st.Sent != 1 || st.Requests < 2 || st.Retries != st.Requests-1 || !strings.Contains(st.LastError, "deadline exceeded") {
		t.Errorf("stats %+v, want 1 sent after a timed-out request and a retry", st)
	}
	reqs := r.requests()
	for i, req := range reqs {
		if !bytes.Equal(req.body, reqs[0].body) {
			t.Errorf("attempt %d differs from the first", i)
		}
	}
	if uint64(len(reqs)) != st.Requests {
		t.Errorf("%d requests received, %d counted", len(reqs), st.Requests)
	}
}

// TestRefused: a 4xx drops the request's samples, counts them, logs the
// store's reason (at most once per 10s) and is not retried.
func TestRefused(t *testing.T) {
	reason := "out of order sample " + strings.Repeat("x", 400)
	r := &receiver{plan: slices.Repeat([]int{http.StatusBadRequest}, 4), reason: reason}
	var log logBuffer
	clk := newClock(time.Unix(1_700_000_000, 0))
	set := metrics.NewSet()
	w, err := remotewrite.New(remotewrite.Options{
		URL:           startReceiver(t, r),
		Name:          "vm-1",
		Metrics:       set,
		BatchSize:     2,
		FlushInterval: 10 * time.Millisecond,
		Logger:        log.logger(),
		Now:           clk.Now,
		Resend:        -1,
	})
	if err != nil {
		t.Fatal(err)
	}
	run(t, w)
	s := w.Series([]remotewrite.Label{{Name: "__name__", Value: "x"}})
	w.Add([]remotewrite.Sample{{Series: s, T: 1, V: 1}, {Series: s, T: 2, V: 2}, {Series: s, T: 3, V: 3}, {Series: s, T: 4, V: 4}, {Series: s, T: 5, V: 5}, {Series: s, T: 6, V: 6}})
	st := waitStats(t, w, "6 samples refused", func(s remotewrite.Stats) bool { return s.Rejected >= 6 })
	if st.Rejected != 6 || st.Sent != 0 || st.Requests != 3 || st.Retries != 0 || st.Pending != 0 {
		t.Errorf("stats %+v, want 6 rejected in 3 requests, no retry", st)
	}
	if want := "status 400: " + reason[:256]; st.LastError != want {
		t.Errorf("last error %q, want %q", st.LastError, want)
	}
	logs := log.String()
	if n := strings.Count(logs, "remote write refused"); n != 1 || !strings.Contains(logs, reason[:256]) || strings.Contains(logs, reason[:257]) {
		t.Errorf("want one refusal logged, with the first 256 bytes of the reason:\n%s", logs)
	}

	clk.Advance(11 * time.Second)
	w.Add([]remotewrite.Sample{{Series: s, T: 7, V: 7}, {Series: s, T: 8, V: 8}})
	waitStats(t, w, "8 samples refused", func(s remotewrite.Stats) bool { return s.Rejected >= 8 })
	if logs := log.String(); strings.Count(logs, "remote write refused") != 2 || !strings.Contains(logs, "suppressed=2") {
		t.Errorf("want a second refusal logged after 10s, with the 2 held back:\n%s", logs)
	}
	var page bytes.Buffer
	set.WritePrometheus(&page)
	for _, line := range []string{
		`watchfloor_remote_write_samples_rejected_total{target="vm-1"} 8`,
		`watchfloor_remote_write_requests_total{target="vm-1"} 4`,
		`watchfloor_remote_write_samples_sent_total{target="vm-1"} 0`,
		`watchfloor_remote_write_pending_samples{target="vm-1"} 0`,
	} {
		if !strings.Contains(page.String(), line+"\n") {
			t.Errorf("metrics lack %q:\n%s", line, page.String())
		}
	}
}
