package remotewrite_test

import (
	"bytes"
	"crypto/tls"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/VictoriaMetrics/metrics"

	"github.com/watchfloor/watchfloor/gateway/remotewrite"
)

func TestNew(t *testing.T) {
	f := func(name string, opts remotewrite.Options, wantErrs ...string) {
		t.Helper()
		t.Run(name, func(t *testing.T) {
			t.Helper()
			w, err := remotewrite.New(opts)
			if len(wantErrs) == 0 {
				if err != nil || w == nil {
					t.Fatalf("New: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("New accepted %+v", opts)
			}
			for _, want := range wantErrs {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q lacks %q", err, want)
				}
			}
			if n := strings.Count(err.Error(), "\n") + 1; n != len(wantErrs) {
				t.Errorf("error %q has %d problems, want %d", err, n, len(wantErrs))
			}
		})
	}
	const u = "http://127.0.0.1:8428/api/v1/write"
	f("minimal", remotewrite.Options{URL: u})
	f("https with auth", remotewrite.Options{URL: "https://vm.example:8427/api/v1/write", Username: "u", Password: "p"})
	f("no URL", remotewrite.Options{}, "URL: missing")
	f("bad scheme", remotewrite.Options{URL: "ftp://h/x"}, "scheme must be http or https")
	f("no host", remotewrite.Options{URL: "http:///api/v1/write"}, "missing host")
	f("unparsable", remotewrite.Options{URL: "http://h:port/"}, "URL: ")
	f("credentials in URL", remotewrite.Options{URL: "http://u:p@h/x"}, "not the URL")
	f("password alone", remotewrite.Options{URL: u, Password: "p"}, "Password: set without Username")
	f("two kinds of auth", remotewrite.Options{URL: u, Username: "u", BearerToken: "t"}, "BearerToken: set with Username")
	f("TLS and Client", remotewrite.Options{URL: u, TLS: &tls.Config{}, Client: &http.Client{}}, "TLS: set with Client")
	f("everything negative", remotewrite.Options{
		URL: u, Timeout: -1, BatchSize: -1, FlushInterval: -1, BufferSize: -1, MinBackoff: -1, MaxBackoff: -1,
	}, "Timeout: must not", "BatchSize: must not", "FlushInterval: must not", "BufferSize: must not", "MinBackoff: must not", "MaxBackoff: must not")
	f("backoffs crossed", remotewrite.Options{URL: u, MinBackoff: time.Minute, MaxBackoff: time.Second}, "MinBackoff: 1m0s is above MaxBackoff 1s")
	f("resend off", remotewrite.Options{URL: u, Resend: -1})
}

func TestSeriesMistakesPanic(t *testing.T) {
	w, err := remotewrite.New(remotewrite.Options{URL: "http://127.0.0.1:1/"})
	if err != nil {
		t.Fatal(err)
	}
	f := func(name string, labels []remotewrite.Label, want string) {
		t.Helper()
		t.Run(name, func(t *testing.T) {
			defer func() {
				if r, _ := recover().(string); !strings.Contains(r, want) {
					t.Errorf("panic %q, want one with %q", r, want)
				}
			}()
			w.Series(labels)
		})
	}
	f("no name", []remotewrite.Label{{Name: "job", Value: "j"}}, "has no __name__")
	f("empty name value", []remotewrite.Label{{Name: "__name__", Value: ""}, {Name: "job", Value: "j"}}, "has no __name__")
	f("repeated", []remotewrite.Label{{Name: "__name__", Value: "x"}, {Name: "job", Value: "a"}, {Name: "job", Value: "b"}}, `repeats label "job"`)
	f("nameless label", []remotewrite.Label{{Name: "__name__", Value: "x"}, {Name: "", Value: "v"}}, "without a name")
}

// TestAddDropsWhenFull: with no sender running, Add takes what fits,
// counts the rest as dropped, and returns.
func TestAddDropsWhenFull(t *testing.T) {
	set := metrics.NewSet()
	w, err := remotewrite.New(remotewrite.Options{URL: "http://127.0.0.1:1/api/v1/write", BufferSize: 10, Metrics: set})
	if err != nil {
		t.Fatal(err)
	}
	s := w.Series([]remotewrite.Label{{Name: "__name__", Value: "x"}})
	samples := make([]remotewrite.Sample, 7)
	for i := range samples {
		samples[i] = remotewrite.Sample{Series: s, T: int64(i), V: 1}
	}
	w.Add(samples)
	w.Add(samples)
	w.Add(nil)
	w.Forget(s)
	if st := w.Stats(); st.Pending != 10 || st.Dropped != 5 {
		t.Errorf("stats %+v, want 10 pending and 5 dropped", st)
	}
	var page bytes.Buffer
	set.WritePrometheus(&page)
	for _, line := range []string{
		`watchfloor_remote_write_samples_dropped_total{target="127.0.0.1:1"} 5`,
		`watchfloor_remote_write_pending_samples{target="127.0.0.1:1"} 10`,
	} {
		if !strings.Contains(page.String(), line+"\n") {
			t.Errorf("metrics lack %q:\n%s", line, page.String())
		}
	}
}

// TestMetricsCarryOver: a Writer replacing one of the same Name on the
// same Set continues its counters.
func TestMetricsCarryOver(t *testing.T) {
	set := metrics.NewSet()
	opts := remotewrite.Options{URL: "http://127.0.0.1:1/api/v1/write", Name: `a "b"`, BufferSize: 1, Metrics: set}
	for range 2 {
		w, err := remotewrite.New(opts)
		if err != nil {
			t.Fatal(err)
		}
		s := w.Series([]remotewrite.Label{{Name: "__name__", Value: "x"}})
		w.Add([]remotewrite.Sample{{Series: s}, {Series: s}})
	}
	var page bytes.Buffer
	set.WritePrometheus(&page)
	if line := `watchfloor_remote_write_samples_dropped_total{target="a \"b\""} 2`; !strings.Contains(page.String(), line+"\n") {
		t.Errorf("metrics lack %q:\n%s", line, page.String())
	}
}
