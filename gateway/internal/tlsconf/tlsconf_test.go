package tlsconf_test

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/watchfloor/watchfloor/gateway/config"
	"github.com/watchfloor/watchfloor/gateway/internal/testcert"
	"github.com/watchfloor/watchfloor/gateway/internal/tlsconf"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// gateway is an https server on loopback serving the way the gateway
// does: http.Server.TLSConfig from Config, ServeTLS with no file names.
// Its handler answers with what the Server's ProbeCert says of the probe
// the query names (?probe=NAME).
type gateway struct {
	addr string
	mu   sync.Mutex
	logs bytes.Buffer // the server's error log: failed handshakes
}

func serve(t *testing.T, s *tlsconf.Server) *gateway {
	t.Helper()
	g := &gateway{}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	g.addr = ln.Addr().String()
	srv := &http.Server{
		TLSConfig: s.Config(),
		ErrorLog:  log.New(lockedWriter{g}, "", 0),
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if err := s.ProbeCert(r, r.URL.Query().Get("probe")); err != nil {
				http.Error(w, err.Error(), http.StatusForbidden)
				return
			}
			fmt.Fprint(w, "ok")
		}),
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.ServeTLS(ln, "", ""); !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("ServeTLS: %v", err)
		}
	}()
	t.Cleanup(func() {
		srv.Close()
		<-done
	})
	return g
}

type lockedWriter struct{ g *gateway }

func (w lockedWriter) Write(b []byte) (int, error) {
	w.g.mu.Lock()
	defer w.g.mu.Unlock()
	return w.g.logs.Write(b)
}

func (g *gateway) log() string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.logs.String()
}

// answer is what one request saw.
type answer struct {
	status int
	body   string
	state  *tls.ConnectionState
}

// get asks for path over a client of its own, so over a new connection
// and a full handshake (unless conf has a session cache), with HTTP/2
// offered as browsers do.
func (g *gateway) get(t *testing.T, conf *tls.Config, path string) (answer, error) {
	t.Helper()
	tr := &http.Transport{TLSClientConfig: conf, ForceAttemptHTTP2: true}
	defer tr.CloseIdleConnections()
	return g.getWith(t, tr, path)
}

func (g *gateway) getWith(t *testing.T, tr *http.Transport, path string) (answer, error) {
	t.Helper()
	resp, err := (&http.Client{Transport: tr}).Get("https://" + g.addr + path)
	if err != nil {
		return answer{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return answer{}, err
	}
	return answer{status: resp.StatusCode, body: strings.TrimSpace(string(b)), state: resp.TLS}, nil
}

// mustGet is get for a request that must be answered.
func (g *gateway) mustGet(t *testing.T, conf *tls.Config, path string) answer {
	t.Helper()
	a, err := g.get(t, conf, path)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	return a
}

func trusting(ca *testcert.Authority) *tls.Config {
	return &tls.Config{RootCAs: ca.Pool()}
}

// presenting trusts ca and presents cert whatever the server asks for,
// as the netprobe does; it records the server's request.
func presenting(ca *testcert.Authority, cert tls.Certificate, asked *[]*tls.CertificateRequestInfo) *tls.Config {
	c := trusting(ca)
	c.GetClientCertificate = func(cri *tls.CertificateRequestInfo) (*tls.Certificate, error) {
		if asked != nil {
			*asked = append(*asked, cri)
		}
		return &cert, nil
	}
	return c
}

func serial(a answer) string {
	return fmt.Sprintf("%X", a.state.PeerCertificates[0].SerialNumber)
}

func serialOf(t *testing.T, certFile string) string {
	return fmt.Sprintf("%X", testcert.Leaf(t, certFile).SerialNumber)
}

func newServer(t *testing.T, cfg *config.TLS) *tlsconf.Server {
	t.Helper()
	s, err := tlsconf.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestServesAndReloadsCertificate(t *testing.T) {
	dir := t.TempDir()
	ca := testcert.NewAuthority(t, "ca")
	cert1, key1 := ca.Server(t, dir)
	s := newServer(t, &config.TLS{CertFile: cert1, KeyFile: key1})
	if got, want := s.Expiry(), testcert.Leaf(t, cert1).NotAfter; !got.Equal(want) {
		t.Errorf("Expiry %v, want the certificate's NotAfter %v", got, want)
	}
	g := serve(t, s)

	a := g.mustGet(t, trusting(ca), "/")
	if a.status != http.StatusOK || serial(a) != serialOf(t, cert1) {
		t.Fatalf("first connection: %d %q with serial %s, want ok with %s", a.status, a.body, serial(a), serialOf(t, cert1))
	}
	if a.state.NegotiatedProtocol != "h2" || a.state.Version != tls.VersionTLS13 {
		t.Errorf("negotiated %q over %s, want h2 over TLS 1.3", a.state.NegotiatedProtocol, tls.VersionName(a.state.Version))
	}
	// A connection made before the reload, kept alive across it.
	kept := &http.Transport{TLSClientConfig: trusting(ca), ForceAttemptHTTP2: true}
	defer kept.CloseIdleConnections()
	if _, err := g.getWith(t, kept, "/"); err != nil {
		t.Fatal(err)
	}

	cert2, key2 := ca.Server(t, dir)
	if err := s.Reload(&config.TLS{CertFile: cert2, KeyFile: key2}); err != nil {
		t.Fatal(err)
	}
	if a := g.mustGet(t, trusting(ca), "/"); serial(a) != serialOf(t, cert2) {
		t.Errorf("connection after the reload has serial %s, want the new certificate's %s", serial(a), serialOf(t, cert2))
	}
	if got, want := s.Expiry(), testcert.Leaf(t, cert2).NotAfter; !got.Equal(want) {
		t.Errorf("Expiry after the reload %v, want the new certificate's %v", got, want)
	}
	a, err := g.getWith(t, kept, "/")
	if err != nil {
		t.Fatalf("the connection made before the reload: %v", err)
	}
	if serial(a) != serialOf(t, cert1) {
		t.Errorf("the connection made before the reload now shows serial %s, want it unchanged (%s)", serial(a), serialOf(t, cert1))
	}
}

// Plain HTTP/1.1 clients (the netprobe's WebSocket upgrade among them) are
// served too, and nothing below TLS 1.2 is.
func TestProtocols(t *testing.T) {
	dir := t.TempDir()
	ca := testcert.NewAuthority(t, "ca")
	cert, key := ca.Server(t, dir)
	g := serve(t, newServer(t, &config.TLS{CertFile: cert, KeyFile: key}))

	tr := &http.Transport{TLSClientConfig: trusting(ca)} // no HTTP/2: a custom TLS config turns it off
	defer tr.CloseIdleConnections()
	a, err := g.getWith(t, tr, "/")
	if err != nil || a.status != http.StatusOK {
		t.Errorf("HTTP/1.1 client: %v, %d %q", err, a.status, a.body)
	}
	old := trusting(ca)
	old.MinVersion, old.MaxVersion = tls.VersionTLS11, tls.VersionTLS11
	if _, err := g.get(t, old, "/"); err == nil || !strings.Contains(err.Error(), "protocol version") {
		t.Errorf("TLS 1.1 client: %v, want refused for its protocol version", err)
	}
	tls12 := trusting(ca)
	tls12.MaxVersion = tls.VersionTLS12
	if a := g.mustGet(t, tls12, "/"); a.state.Version != tls.VersionTLS12 {
		t.Errorf("TLS 1.2 client got %s", tls.VersionName(a.state.Version))
	}
}

// badFiles are files that must not load, each with what the error says.
func badFiles(t *testing.T) []struct {
	name string
	cfg  config.TLS
	want []string
} {
	dir := t.TempDir()
	ca := testcert.NewAuthority(t, "ca")
	cert, key := ca.Server(t, dir)
	_, otherKey := ca.Server(t, dir)
	caFile := ca.CAFile(t, dir)
	missing := filepath.Join(dir, "missing.crt")
	garbage := filepath.Join(dir, "garbage.pem")
	if err := os.WriteFile(garbage, []byte("not PEM at all\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return []struct {
		name string
		cfg  config.TLS
		want []string
	}{
		{"missing cert file", config.TLS{CertFile: missing, KeyFile: key},
			[]string{"tls: cert_file " + missing + ": open " + missing + ": no such file"}},
		{"missing key file", config.TLS{CertFile: cert, KeyFile: missing},
			[]string{"tls: key_file " + missing + ": open "}},
		{"key of another certificate", config.TLS{CertFile: cert, KeyFile: otherKey},
			[]string{"tls: cert_file and key_file do not match: the key in " + otherKey + " is not the one certified by " + cert}},
		{"cert file not PEM", config.TLS{CertFile: garbage, KeyFile: key},
			[]string{"tls: cert_file " + garbage + ": no PEM certificates"}},
		{"key file holds a certificate", config.TLS{CertFile: cert, KeyFile: cert},
			[]string{"tls: key_file " + cert + ": no PEM private key"}},
		{"client CA not PEM", config.TLS{CertFile: cert, KeyFile: key, ClientCAFile: garbage},
			[]string{"tls: client_ca_file " + garbage + ": no PEM certificates"}},
		{"client CA missing", config.TLS{CertFile: cert, KeyFile: key, ClientCAFile: missing},
			[]string{"tls: client_ca_file " + missing + ": open "}},
		{"required probe certificates without a client CA", config.TLS{CertFile: cert, KeyFile: key, RequireProbeCert: true},
			[]string{"tls: require_probe_cert needs client_ca_file"}},
		{"every wrong file is reported", config.TLS{CertFile: missing, KeyFile: key, ClientCAFile: garbage},
			[]string{"tls: cert_file " + missing, "tls: client_ca_file " + garbage}},
		{"key file key, cert file key", config.TLS{CertFile: key, KeyFile: key, ClientCAFile: caFile},
			[]string{"tls: cert_file " + key + ": no PEM certificates"}},
	}
}

func TestNewRefusesBadFiles(t *testing.T) {
	for _, c := range badFiles(t) {
		t.Run(c.name, func(t *testing.T) {
			s, err := tlsconf.New(&c.cfg)
			if err == nil {
				t.Fatalf("New succeeded (%v)", s)
			}
			for _, want := range c.want {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not say %q", err, want)
				}
			}
		})
	}
	if _, err := tlsconf.New(nil); err == nil {
		t.Error("New(nil) succeeded")
	}
}

func TestBadReloadKeepsServing(t *testing.T) {
	dir := t.TempDir()
	ca := testcert.NewAuthority(t, "ca")
	cert, key := ca.Server(t, dir)
	s := newServer(t, &config.TLS{CertFile: cert, KeyFile: key})
	g := serve(t, s)
	for _, c := range badFiles(t) {
		t.Run(c.name, func(t *testing.T) {
			err := s.Reload(&c.cfg)
			if err == nil {
				t.Fatal("Reload succeeded")
			}
			for _, want := range c.want {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not say %q", err, want)
				}
			}
			if a := g.mustGet(t, trusting(ca), "/"); serial(a) != serialOf(t, cert) {
				t.Errorf("after the failed reload the gateway serves serial %s, want the old certificate's %s", serial(a), serialOf(t, cert))
			}
			if got, want := s.Expiry(), testcert.Leaf(t, cert).NotAfter; !got.Equal(want) {
				t.Errorf("Expiry %v after the failed reload, want the old certificate's %v", got, want)
			}
		})
	}
}

func TestProbeCertificates(t *testing.T) {
	dir := t.TempDir()
	ca := testcert.NewAuthority(t, "probes-ca")
	other := testcert.NewAuthority(t, "other-ca")
	cert, key := ca.Server(t, dir)
	s := newServer(t, &config.TLS{CertFile: cert, KeyFile: key, ClientCAFile: ca.CAFile(t, dir), RequireProbeCert: true})
	if s.Config().ClientAuth != tls.VerifyClientCertIfGiven {
		t.Errorf("ClientAuth %v, want VerifyClientCertIfGiven", s.Config().ClientAuth)
	}
	g := serve(t, s)
	oms1 := ca.ClientCertificate(t, "oms-1")
	byDNS := ca.ClientCertificate(t, "Risk host", "risk-1", "risk-1.example")

	ok := func(name string, conf *tls.Config, path string) {
		t.Helper()
		if a := g.mustGet(t, conf, path); a.status != http.StatusOK {
			t.Errorf("%s: %d %s, want ok", name, a.status, a.body)
		}
	}
	refused := func(name string, conf *tls.Config, path, want string) {
		t.Helper()
		a := g.mustGet(t, conf, path)
		if a.status != http.StatusForbidden || !strings.Contains(a.body, want) {
			t.Errorf("%s: %d %q, want refused saying %q", name, a.status, a.body, want)
		}
	}

	var asked []*tls.CertificateRequestInfo
	ok("common name matches", presenting(ca, oms1, &asked), "/?probe=oms-1")
	if len(asked) != 1 || len(asked[0].AcceptableCAs) != 1 || !bytes.Equal(asked[0].AcceptableCAs[0], ca.Certificate().RawSubject) {
		t.Errorf("certificate requests %+v, want one naming the client CA", asked)
	}
	ok("DNS name matches", presenting(ca, byDNS, nil), "/?probe=risk-1")
	refused("another probe's certificate", presenting(ca, oms1, nil), "/?probe=oms-2",
		`tls: probe "oms-2" presented the client certificate of "oms-1" (no DNS names, serial`)
	refused("another probe's certificate with DNS names", presenting(ca, byDNS, nil), "/?probe=oms-2",
		`presented the client certificate of "Risk host" (DNS names risk-1, risk-1.example`)
	refused("no certificate when required", trusting(ca), "/?probe=oms-1",
		`tls: probe "oms-1" presented no client certificate signed by the client CA; require_probe_cert needs one`)

	// Whether one is required is the Server's to say, as of its last load.
	if err := s.Reload(&config.TLS{CertFile: cert, KeyFile: key, ClientCAFile: ca.CAFile(t, dir)}); err != nil {
		t.Fatal(err)
	}
	ok("no certificate when not required (a browser)", trusting(ca), "/?probe=oms-1")
	refused("another probe's certificate when not required", presenting(ca, oms1, nil), "/?probe=oms-2",
		`presented the client certificate of "oms-1"`)

	// Over HTTP/1.1, as the netprobe dials: HTTP/2 would hide the alert.
	h1 := &http.Transport{TLSClientConfig: presenting(ca, other.ClientCertificate(t, "oms-1"), nil)}
	defer h1.CloseIdleConnections()
	_, err := g.getWith(t, h1, "/?probe=oms-1")
	if err == nil || !strings.Contains(err.Error(), "remote error: tls: unknown certificate authority") {
		t.Errorf("certificate from another authority: %v, want the handshake refused for an unknown authority", err)
	}
	// The server logs the handshake error after it sent the alert.
	logged := func(l string) bool {
		return strings.Contains(l, "TLS handshake error") && strings.Contains(l, "certificate signed by unknown authority")
	}
	for deadline := time.Now().Add(10 * time.Second); !logged(g.log()) && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	if l := g.log(); !logged(l) {
		t.Errorf("the gateway's log does not show the refused handshake:\n%s", l)
	}
}

func TestNoClientCANoRequest(t *testing.T) {
	dir := t.TempDir()
	ca := testcert.NewAuthority(t, "ca")
	cert, key := ca.Server(t, dir)
	s := newServer(t, &config.TLS{CertFile: cert, KeyFile: key})
	if s.Config().ClientAuth != tls.NoClientCert {
		t.Errorf("ClientAuth %v, want NoClientCert", s.Config().ClientAuth)
	}
	g := serve(t, s)
	var asked []*tls.CertificateRequestInfo
	a := g.mustGet(t, presenting(ca, ca.ClientCertificate(t, "oms-1"), &asked), "/?probe=oms-2")
	if len(asked) != 0 {
		t.Errorf("the gateway asked for a client certificate without a client CA: %+v", asked)
	}
	// What was not asked for was not sent, so not checked either.
	if a.status != http.StatusOK {
		t.Errorf("%d %q; want ok", a.status, a.body)
	}
}

// A reloaded client CA applies to the next handshake, and to resumed
// sessions: a ticket issued under the old CA does not carry its client
// certificate past the reload.
func TestReloadClientCA(t *testing.T) {
	dir := t.TempDir()
	oldCA := testcert.NewAuthority(t, "old-ca")
	newCA := testcert.NewAuthority(t, "new-ca")
	cert, key := oldCA.Server(t, dir)
	s := newServer(t, &config.TLS{CertFile: cert, KeyFile: key})
	g := serve(t, s)
	oldProbe, newProbe := oldCA.ClientCertificate(t, "oms-1"), newCA.ClientCertificate(t, "oms-1")

	var asked []*tls.CertificateRequestInfo
	g.mustGet(t, presenting(oldCA, oldProbe, &asked), "/")
	if len(asked) != 0 {
		t.Fatal("asked for a client certificate before a client CA was configured")
	}

	if err := s.Reload(&config.TLS{CertFile: cert, KeyFile: key, ClientCAFile: oldCA.CAFile(t, dir)}); err != nil {
		t.Fatal(err)
	}
	resuming := presenting(oldCA, oldProbe, nil)
	resuming.ClientSessionCache = tls.NewLRUClientSessionCache(4)
	if a := g.mustGet(t, resuming, "/?probe=oms-1"); a.status != http.StatusOK {
		t.Fatalf("old CA's probe under the old CA: %d %s", a.status, a.body)
	}
	if a := g.mustGet(t, resuming, "/?probe=oms-1"); a.status != http.StatusOK || !a.state.DidResume {
		t.Fatalf("second connection: %d %s, resumed %v; want a resumed session", a.status, a.body, a.state.DidResume)
	}

	if err := s.Reload(&config.TLS{CertFile: cert, KeyFile: key, ClientCAFile: newCA.CAFile(t, dir), RequireProbeCert: true}); err != nil {
		t.Fatal(err)
	}
	h1 := &http.Transport{TLSClientConfig: resuming}
	defer h1.CloseIdleConnections()
	if _, err := g.getWith(t, h1, "/?probe=oms-1"); err == nil || !strings.Contains(err.Error(), "unknown certificate authority") {
		t.Errorf("old CA's probe, resuming its session after the reload: %v, want refused", err)
	}
	if a := g.mustGet(t, presenting(oldCA, newProbe, nil), "/?probe=oms-1"); a.status != http.StatusOK {
		t.Errorf("new CA's probe after the reload: %d %s", a.status, a.body)
	}
}

// A connection kept alive across a reload that replaced the client CA
// keeps the certificate its handshake verified, but not its standing:
// ProbeCert refuses its next request.
func TestProbeCertKeptAliveAcrossClientCARotation(t *testing.T) {
	for _, c := range []struct {
		name string
		h2   bool
	}{{"HTTP/1.1", false}, {"HTTP/2", true}} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			serverCA := testcert.NewAuthority(t, "server-ca")
			oldCA, newCA := testcert.NewAuthority(t, "old-ca"), testcert.NewAuthority(t, "new-ca")
			cert, key := serverCA.Server(t, dir)
			s := newServer(t, &config.TLS{CertFile: cert, KeyFile: key, ClientCAFile: oldCA.CAFile(t, dir), RequireProbeCert: true})
			g := serve(t, s)

			// Each full handshake asks for the certificate once; without
			// a session cache there is no resumption.
			var asked []*tls.CertificateRequestInfo
			kept := &http.Transport{TLSClientConfig: presenting(serverCA, oldCA.ClientCertificate(t, "oms-1"), &asked), ForceAttemptHTTP2: c.h2}
			defer kept.CloseIdleConnections()
			a, err := g.getWith(t, kept, "/?probe=oms-1")
			if err != nil {
				t.Fatal(err)
			}
			if a.status != http.StatusOK {
				t.Fatalf("under the CA that signed it: %d %q, want ok", a.status, a.body)
			}
			if h2 := a.state.NegotiatedProtocol == "h2"; h2 != c.h2 {
				t.Fatalf("negotiated %q, want HTTP/2 %v", a.state.NegotiatedProtocol, c.h2)
			}

			if err := s.Reload(&config.TLS{CertFile: cert, KeyFile: key, ClientCAFile: newCA.CAFile(t, dir), RequireProbeCert: true}); err != nil {
				t.Fatal(err)
			}
			a, err = g.getWith(t, kept, "/?probe=oms-1")
			if err != nil {
				t.Fatal(err)
			}
			if len(asked) != 1 {
				t.Fatalf("%d handshakes, want the second request over the first one's connection", len(asked))
			}
			if want := `tls: probe "oms-1" presented a client certificate the current client CA does not sign`; a.status != http.StatusForbidden || !strings.Contains(a.body, want) {
				t.Errorf("over the connection made under the old CA, after the reload: %d %q, want refused saying %q", a.status, a.body, want)
			}
		})
	}
}

func TestProbeCertWithoutTLS(t *testing.T) {
	dir := t.TempDir()
	ca := testcert.NewAuthority(t, "ca")
	cert, key := ca.Server(t, dir)
	caFile := ca.CAFile(t, dir)
	r := httptest.NewRequest(http.MethodGet, "http://127.0.0.1/ws/probe", nil)

	var none *tlsconf.Server // a gateway without TLS
	if err := none.ProbeCert(r, "oms-1"); err != nil {
		t.Errorf("nil Server: %v, want nil", err)
	}
	for _, cfg := range []*config.TLS{
		{CertFile: cert, KeyFile: key},
		{CertFile: cert, KeyFile: key, ClientCAFile: caFile},
	} {
		if err := newServer(t, cfg).ProbeCert(r, "oms-1"); err != nil {
			t.Errorf("loaded %+v: %v, want nil", cfg, err)
		}
	}
	s := newServer(t, &config.TLS{CertFile: cert, KeyFile: key, ClientCAFile: caFile, RequireProbeCert: true})
	want := `probe "oms-1" connected without TLS`
	if err := s.ProbeCert(r, "oms-1"); err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("required certificate over plain HTTP: %v, want %q", err, want)
	}
	// What the Server loaded counts, not a configuration it refused.
	if err := s.Reload(&config.TLS{CertFile: cert, KeyFile: filepath.Join(dir, "missing.key"), ClientCAFile: caFile}); err == nil {
		t.Fatal("Reload with a missing key succeeded")
	}
	if err := s.ProbeCert(r, "oms-1"); err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("after a failed reload that would not require one: %v, want still %q", err, want)
	}
}

// ProbeCert verifies a presented certificate itself, against the current
// client CA at the time it is called, whatever the handshake did.
func TestProbeCertVerifiesAgainstCurrentCA(t *testing.T) {
	dir := t.TempDir()
	ca, other := testcert.NewAuthority(t, "ca"), testcert.NewAuthority(t, "other-ca")
	cert, key := ca.Server(t, dir)
	withCA := newServer(t, &config.TLS{CertFile: cert, KeyFile: key, ClientCAFile: ca.CAFile(t, dir)})
	required := newServer(t, &config.TLS{CertFile: cert, KeyFile: key, ClientCAFile: ca.CAFile(t, dir), RequireProbeCert: true})
	withoutCA := newServer(t, &config.TLS{CertFile: cert, KeyFile: key})
	oms1 := ca.ClientCertificate(t, "oms-1").Leaf
	now := time.Now()
	const notSigned = `tls: probe "oms-1" presented a client certificate the current client CA does not sign`

	f := func(name string, s *tlsconf.Server, presented *x509.Certificate, at time.Time, want string) {
		t.Helper()
		r := httptest.NewRequest(http.MethodGet, "https://127.0.0.1/ws/probe", nil)
		if presented != nil {
			r.TLS.PeerCertificates = []*x509.Certificate{presented}
		}
		err := tlsconf.ProbeCertAt(s, r, "oms-1", at)
		switch {
		case want == "" && err != nil:
			t.Errorf("%s: %v, want nil", name, err)
		case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
			t.Errorf("%s: %v, want an error saying %q", name, err, want)
		}
	}
	f("signed by the client CA", withCA, oms1, now, "")
	f("signed by the client CA, required", required, oms1, now, "")
	f("another probe's", withCA, ca.ClientCertificate(t, "oms-2").Leaf, now, `presented the client certificate of "oms-2"`)
	f("another CA's", withCA, other.ClientCertificate(t, "oms-1").Leaf, now, notSigned)
	f("another CA's, and not required", withCA, other.ClientCertificate(t, "oms-1").Leaf, now, "certificate signed by unknown authority")
	f("not for client authentication", withCA, ca.ServerCertificate(t).Leaf, now, notSigned)
	f("expired since the handshake", withCA, oms1, oms1.NotAfter.Add(time.Minute), notSigned)
	f("none, required", required, nil, now, `presented no client certificate signed by the client CA`)
	f("none, not required", withCA, nil, now, "")
	// Without a client CA no one verifies it, so it is as if absent.
	f("another CA's, without a client CA", withoutCA, other.ClientCertificate(t, "oms-2").Leaf, now, "")
	f("nil Server", nil, other.ClientCertificate(t, "oms-2").Leaf, now, "")
}
