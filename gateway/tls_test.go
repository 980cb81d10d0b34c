package gateway_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/watchfloor/watchfloor/gateway"
	"github.com/watchfloor/watchfloor/gateway/config"
	gt "github.com/watchfloor/watchfloor/gateway/gatewaytest"
	"github.com/watchfloor/watchfloor/gateway/internal/testcert"
	"github.com/watchfloor/watchfloor/netprobe"
)

// The gateway serves TLS from certificate files a test made: people log
// in over HTTPS with a Secure cookie, plain HTTP gets nothing from the
// TLS port, a probe with its own client certificate connects while one
// presenting another probe's certificate is refused, and a renewed
// certificate written over the files is served after a reload without a
// restart.
func TestTLSWithProbeCertificates(t *testing.T) {
	dir := t.TempDir()
	ca := testcert.NewAuthority(t, "watchfloor test CA")
	certFile, keyFile := ca.Server(t, dir)
	caFile := ca.CAFile(t, dir)
	edgeCert, edgeKey := ca.Client(t, dir, "edge-1")
	otherCert, otherKey := ca.Client(t, dir, "edge-2")

	ln := gt.Listen(t)
	addr := ln.Addr().String()
	edge := probe("edge-1", "cpu")
	yaml := fmt.Sprintf("tls:\n  cert_file: %q\n  key_file: %q\n  client_ca_file: %q\n  require_probe_cert: true\n",
		certFile, keyFile, caFile) + gt.Config(addr, edge)
	file := filepath.Join(dir, "gateway.yaml")
	if err := os.WriteFile(file, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	gw := gt.Start(t, gateway.Options{Config: cfg, ConfigFile: file, Listener: ln})
	base := "https://" + addr

	// A browser, trusting the test's authority.
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar, Timeout: gt.Wait, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.Pool()}}}
	t.Cleanup(browser.CloseIdleConnections)
	body, _ := json.Marshal(map[string]string{"user": gt.Admin.Name, "password": gt.Password})
	resp, err := browser.Post(base+"/api/v1/login", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || len(resp.Cookies()) != 1 || !resp.Cookies()[0].Secure || !resp.Cookies()[0].HttpOnly {
		t.Fatalf("login over TLS: %s, cookies %+v; want 200 and one Secure, HttpOnly cookie", resp.Status, resp.Cookies())
	}
	serial := func() string {
		t.Helper()
		resp, err := browser.Get(base + "/api/v1/me")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET /api/v1/me over TLS: %s", resp.Status)
		}
		return resp.TLS.PeerCertificates[0].SerialNumber.String()
	}
	first := serial()
	plain := &http.Client{Timeout: gt.Wait, Transport: &http.Transport{DisableKeepAlives: true}}
	if resp, err := plain.Get("http://" + addr + "/healthz"); err == nil {
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			t.Error("plain HTTP is served on the TLS port")
		}
	}

	// The probe with its own certificate connects.
	np, err := netprobe.New(netprobe.Options{
		Gateway: "wss://" + addr, Name: edge.Name, Token: edge.Token,
		TLS:    netprobe.TLSFiles{CAFile: caFile, CertFile: edgeCert, KeyFile: edgeKey},
		Logger: slog.New(slog.DiscardHandler), MinBackoff: 50 * time.Millisecond, MaxBackoff: 500 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); np.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	connected := func() float64 { return probesConnected(t, browser, base) }
	gt.Eventually(t, "the probe with its certificate to connect", func() bool { return connected() == 1 })

	// Its token with another probe's certificate is refused.
	other, err := tls.LoadX509KeyPair(otherCert, otherKey)
	if err != nil {
		t.Fatal(err)
	}
	dialer := &http.Client{Timeout: gt.Wait, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.Pool(), Certificates: []tls.Certificate{other}}}}
	t.Cleanup(dialer.CloseIdleConnections)
	dctx, dcancel := context.WithTimeout(context.Background(), gt.Wait)
	defer dcancel()
	_, dresp, err := websocket.Dial(dctx, "wss://"+addr+"/ws/probe", &websocket.DialOptions{HTTPClient: dialer,
		HTTPHeader: http.Header{"Authorization": {"Bearer " + edge.Token}}})
	if err == nil || dresp == nil || dresp.StatusCode != http.StatusForbidden {
		t.Errorf("edge-1's token with edge-2's certificate: %v, %v; want 403", err, dresp)
	}

	// The certificate is renewed in place; a reload serves it.
	newCert, newKey := ca.Server(t, dir)
	for from, to := range map[string]string{newCert: certFile, newKey: keyFile} {
		b, err := os.ReadFile(from)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(to, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := gw.Reload(); err != nil {
		t.Fatal(err)
	}
	browser.CloseIdleConnections()
	if again := serial(); again == first || again != testcert.Leaf(t, newCert).SerialNumber.String() {
		t.Errorf("after the reload the gateway serves serial %s (before: %s), want the renewed %s", again, first, testcert.Leaf(t, newCert).SerialNumber)
	}
	if connected() != 1 {
		t.Error("the probe's connection did not survive the certificate reload")
	}
}

// tlsAdmin returns a browser trusting ca, logged in over TLS as the Admin
// user.
func tlsAdmin(t *testing.T, ca *testcert.Authority, base string) *http.Client {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar, Timeout: gt.Wait, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.Pool()}}}
	t.Cleanup(browser.CloseIdleConnections)
	body, _ := json.Marshal(map[string]string{"user": gt.Admin.Name, "password": gt.Password})
	resp, err := browser.Post(base+"/api/v1/login", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("login over TLS: %s", resp.Status)
	}
	return browser
}

// probesConnected reads the connected probes' gauge over TLS; -1 if it
// is missing.
func probesConnected(t *testing.T, browser *http.Client, base string) float64 {
	t.Helper()
	resp, err := browser.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	b.ReadFrom(resp.Body)
	for line := range strings.SplitSeq(b.String(), "\n") {
		if v, ok := strings.CutPrefix(line, "watchfloor_probes_connected "); ok {
			var f float64
			fmt.Sscan(v, &f)
			return f
		}
	}
	return -1
}

// A reload that starts requiring probe certificates cuts off a probe
// connected without one, as a revoked token does: it is not left
// streaming until it happens to reconnect.
func TestReloadRequiringProbeCertCutsOffProbeWithout(t *testing.T) {
	dir := t.TempDir()
	ca := testcert.NewAuthority(t, "watchfloor test CA")
	certFile, keyFile := ca.Server(t, dir)
	caFile := ca.CAFile(t, dir)
	ln := gt.Listen(t)
	addr := ln.Addr().String()
	edge := probe("edge-1", "cpu")
	yaml := func(require bool) string {
		return fmt.Sprintf("tls:\n  cert_file: %q\n  key_file: %q\n  client_ca_file: %q\n  require_probe_cert: %v\n",
			certFile, keyFile, caFile, require) + gt.Config(addr, edge)
	}
	file := filepath.Join(dir, "gateway.yaml")
	write := func(s string) {
		if err := os.WriteFile(file, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(yaml(false))
	cfg, err := config.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	gw := gt.Start(t, gateway.Options{Config: cfg, ConfigFile: file, Listener: ln})
	browser := tlsAdmin(t, ca, "https://"+addr)

	np, err := netprobe.New(netprobe.Options{
		Gateway: "wss://" + addr, Name: edge.Name, Token: edge.Token, TLS: netprobe.TLSFiles{CAFile: caFile},
		Logger: slog.New(slog.DiscardHandler), MinBackoff: 50 * time.Millisecond, MaxBackoff: 500 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); np.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	gt.Eventually(t, "the probe without a certificate to connect", func() bool {
		return probesConnected(t, browser, "https://"+addr) == 1
	})

	write(yaml(true))
	if err := gw.Reload(); err != nil {
		t.Fatal(err)
	}
	gt.Eventually(t, "the probe without a certificate to be cut off", func() bool {
		return probesConnected(t, browser, "https://"+addr) == 0
	})
}
