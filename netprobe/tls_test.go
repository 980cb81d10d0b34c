package netprobe

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/watchfloor/watchfloor/samplers"
)

// testCA is a certificate authority for these tests. (The gateway's
// testcert package does the same, but internal to the gateway's tree.)
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

func newTestCA(t *testing.T, name string) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serialNumber(t), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true, IsCA: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &testCA{cert: cert, key: key}
}

func serialNumber(t *testing.T) *big.Int {
	n, err := rand.Int(rand.Reader, big.NewInt(1<<62))
	if err != nil {
		t.Fatal(err)
	}
	return n.Add(n, big.NewInt(1))
}

func (ca *testCA) pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.cert)
	return p
}

// issue signs a server certificate for 127.0.0.1 (cn "") or a client
// certificate for cn.
func (ca *testCA) issue(t *testing.T, cn string) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serialNumber(t), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	if cn == "" {
		tmpl.IPAddresses = []net.IP{net.IPv4(127, 0, 0, 1)}
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}
}

// writeCA writes the CA's certificate to path.
func (ca *testCA) write(t *testing.T, path string) string {
	t.Helper()
	writeAtomic(t, path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.cert.Raw}))
	return path
}

// writePair writes c and its key to certFile and keyFile, each replaced
// whole, as a certificate renewal tool does.
func writePair(t *testing.T, c tls.Certificate, certFile, keyFile string) {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(c.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	writeAtomic(t, certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Certificate[0]}))
	writeAtomic(t, keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
}

func writeAtomic(t *testing.T, path string, b []byte) {
	t.Helper()
	tmp := path + ".new"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// tlsGateway is a gateway's probe endpoint over real TLS on loopback, set
// up as the gateway's: TLS 1.2 at least, h2 and http/1.1 offered, client
// certificates verified against clientCA if given. For every probe that
// connects it reports the serial of the verified client certificate (""
// for none), reads the Hello and closes, so the probe reconnects.
type tlsGateway struct {
	url  string
	seen chan string
}

func startTLSGateway(t *testing.T, serverCA, clientCA *testCA) *tlsGateway {
	t.Helper()
	g := &tlsGateway{seen: make(chan string, 100)}
	done := make(chan struct{})
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		serial := ""
		if len(r.TLS.VerifiedChains) > 0 {
			serial = r.TLS.VerifiedChains[0][0].SerialNumber.String()
		}
		select {
		case g.seen <- serial:
		case <-done:
			return
		}
		c, _, ok := acceptHello(t, w, r)
		if !ok {
			return
		}
		c.Close(websocket.StatusGoingAway, "test gateway closes every session")
	}))
	srv.EnableHTTP2 = true
	srv.TLS = &tls.Config{
		MinVersion:   tls.VersionTLS12,
		Certificates: []tls.Certificate{serverCA.issue(t, "")},
		NextProtos:   []string{"h2", "http/1.1"},
	}
	if clientCA != nil {
		srv.TLS.ClientAuth, srv.TLS.ClientCAs = tls.VerifyClientCertIfGiven, clientCA.pool()
	}
	srv.Config.ErrorLog = slog.NewLogLogger(slog.DiscardHandler, slog.LevelError) // refused handshakes
	srv.StartTLS()
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(done) })
	g.url = "wss://" + srv.Listener.Addr().String()
	return g
}

// next returns the serial of the next probe's client certificate; waiting
// says for what, if none comes.
func (g *tlsGateway) next(t *testing.T, ctx context.Context, waiting string) string {
	t.Helper()
	select {
	case s := <-g.seen:
		return s
	case <-ctx.Done():
		t.Fatalf("no probe connected while waiting for %s", waiting)
		return ""
	}
}

// runUntilEnd runs np until the test ends.
func runUntilEnd(t *testing.T, np *Probe) {
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		np.Run(ctx)
	}()
	t.Cleanup(func() { stop(); <-done })
}

// The probe trusts the CA it is given for the gateway's certificate,
// presents its client certificate, and after the files are replaced
// presents the new one from the next connection on.
func TestTLSFilesTrustPresentAndRotate(t *testing.T) {
	dir := t.TempDir()
	ca := newTestCA(t, "watchfloor CA")
	g := startTLSGateway(t, ca, ca)
	certFile, keyFile := filepath.Join(dir, "probe.crt"), filepath.Join(dir, "probe.key")
	first := ca.issue(t, "oms-1")
	writePair(t, first, certFile, keyFile)

	var logs syncBuffer
	np, err := New(Options{
		Gateway: g.url, Name: "oms-1", Token: "t",
		TLS:        TLSFiles{CAFile: ca.write(t, filepath.Join(dir, "ca.crt")), CertFile: certFile, KeyFile: keyFile},
		Logger:     slog.New(slog.NewTextHandler(&logs, nil)),
		MinBackoff: 5 * time.Millisecond, MaxUnreachableBackoff: 20 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	runUntilEnd(t, np)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if got, want := g.next(t, ctx, "the first connection"), first.Leaf.SerialNumber.String(); got != want {
		t.Fatalf("the probe presented client certificate %q, want %s", got, want)
	}

	second := ca.issue(t, "oms-1")
	writePair(t, second, certFile, keyFile)
	for {
		got := g.next(t, ctx, "a connection with the replaced certificate")
		if got == second.Leaf.SerialNumber.String() {
			break
		}
		if got != first.Leaf.SerialNumber.String() {
			t.Fatalf("the probe presented client certificate %q, neither the first nor the second", got)
		}
	}
	if !strings.Contains(logs.String(), "TLS files changed") {
		t.Errorf("the change is not logged:\n%s", logs.String())
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// dialWith dials the gateway's probe endpoint with the probe's client.
func dialWith(t *testing.T, np *Probe) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, np.url, &websocket.DialOptions{HTTPClient: np.clientFor()})
	if err == nil {
		c.CloseNow()
	}
	return err
}

// A gateway whose certificate the CA file does not vouch for, and a
// gateway refusing the probe's certificate, are refusals: retrying soon
// would not help.
func TestTLSRefusals(t *testing.T) {
	dir := t.TempDir()
	ca, other := newTestCA(t, "watchfloor CA"), newTestCA(t, "another CA")
	certFile, keyFile := filepath.Join(dir, "probe.crt"), filepath.Join(dir, "probe.key")
	writePair(t, other.issue(t, "oms-1"), certFile, keyFile)

	f := func(name string, g *tlsGateway, files TLSFiles, check func(error) bool) {
		t.Helper()
		t.Run(name, func(t *testing.T) {
			np, err := New(Options{Gateway: g.url, Name: "oms-1", Token: "t", TLS: files, Logger: discard()})
			if err != nil {
				t.Fatal(err)
			}
			err = dialWith(t, np)
			if err == nil || !check(err) {
				t.Fatalf("dial: %v", err)
			}
			if o := dialOutcome(nil, err); o != refused {
				t.Errorf("outcome %v, want refused (%v)", o, err)
			}
		})
	}
	f("gateway certificate from another CA", startTLSGateway(t, other, nil),
		TLSFiles{CAFile: ca.write(t, filepath.Join(dir, "ca.crt"))},
		func(err error) bool {
			var v *tls.CertificateVerificationError
			return errors.As(err, &v)
		})
	f("client certificate from a CA the gateway does not trust", startTLSGateway(t, ca, ca),
		TLSFiles{CAFile: ca.write(t, filepath.Join(dir, "ca.crt")), CertFile: certFile, KeyFile: keyFile},
		func(err error) bool {
			return strings.Contains(err.Error(), "remote error: tls: unknown certificate authority")
		})
}

// Without a CA file the system's CAs are trusted, which do not include
// the test CA.
func TestTLSSystemRoots(t *testing.T) {
	g := startTLSGateway(t, newTestCA(t, "private CA"), nil)
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "probe.crt"), filepath.Join(dir, "probe.key")
	writePair(t, newTestCA(t, "ca").issue(t, "oms-1"), certFile, keyFile)
	np, err := New(Options{Gateway: g.url, Name: "oms-1", Token: "t", Logger: discard(),
		TLS: TLSFiles{CertFile: certFile, KeyFile: keyFile}})
	if err != nil {
		t.Fatal(err)
	}
	var v *tls.CertificateVerificationError
	if err := dialWith(t, np); !errors.As(err, &v) {
		t.Errorf("dial without a CA file to a privately signed gateway: %v, want a verification error", err)
	}
}

// Files that cannot be reread leave the probe with what it read before,
// logged once; fixed, they are used again.
func TestTLSRereadFailureKeepsOld(t *testing.T) {
	dir := t.TempDir()
	ca := newTestCA(t, "watchfloor CA")
	g := startTLSGateway(t, ca, ca)
	caFile := ca.write(t, filepath.Join(dir, "ca.crt"))
	certFile, keyFile := filepath.Join(dir, "probe.crt"), filepath.Join(dir, "probe.key")
	first := ca.issue(t, "oms-1")
	writePair(t, first, certFile, keyFile)
	var logs syncBuffer
	np, err := New(Options{Gateway: g.url, Name: "oms-1", Token: "t", Logger: slog.New(slog.NewTextHandler(&logs, nil)),
		TLS: TLSFiles{CAFile: caFile, CertFile: certFile, KeyFile: keyFile}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	// A renewal caught halfway: the new certificate, the old key.
	second := ca.issue(t, "oms-1")
	oldKey, err := os.ReadFile(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	writePair(t, second, certFile, keyFile)
	writeAtomic(t, keyFile, oldKey)
	for range 2 {
		if err := dialWith(t, np); err != nil {
			t.Fatal(err)
		}
		if got := g.next(t, ctx, "a connection"); got != first.Leaf.SerialNumber.String() {
			t.Fatalf("the probe presented %s while its files did not match, want the old certificate", got)
		}
	}
	if n := strings.Count(logs.String(), "cannot reread the TLS files"); n != 1 || !strings.Contains(logs.String(), "private key does not match public key") {
		t.Errorf("the failure is logged %d times, want once saying why:\n%s", n, logs.String())
	}

	writePair(t, second, certFile, keyFile)
	if err := dialWith(t, np); err != nil {
		t.Fatal(err)
	}
	if got := g.next(t, ctx, "a connection"); got != second.Leaf.SerialNumber.String() {
		t.Errorf("once the files match the probe presents %s, want the new certificate", got)
	}
}

func TestNewRefusesBadTLSFiles(t *testing.T) {
	dir := t.TempDir()
	ca := newTestCA(t, "watchfloor CA")
	caFile := ca.write(t, filepath.Join(dir, "ca.crt"))
	certFile, keyFile := filepath.Join(dir, "probe.crt"), filepath.Join(dir, "probe.key")
	writePair(t, ca.issue(t, "oms-1"), certFile, keyFile)
	otherCert, otherKey := filepath.Join(dir, "other.crt"), filepath.Join(dir, "other.key")
	writePair(t, ca.issue(t, "oms-2"), otherCert, otherKey)
	garbage := filepath.Join(dir, "garbage")
	writeAtomic(t, garbage, []byte("not PEM\n"))
	missing := filepath.Join(dir, "missing.crt")

	f := func(name string, o Options, want string) {
		t.Helper()
		t.Run(name, func(t *testing.T) {
			if o.Gateway == "" {
				o.Gateway = "wss://127.0.0.1:7039"
			}
			o.Name, o.Token = "oms-1", "t"
			_, err := New(o)
			if err == nil {
				t.Fatal("New succeeded")
			}
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not say %q", err, want)
			}
		})
	}
	f("certificate without key", Options{TLS: TLSFiles{CertFile: certFile}}, "give both files or neither")
	f("key without certificate", Options{TLS: TLSFiles{KeyFile: keyFile}}, "give both files or neither")
	f("plain ws", Options{Gateway: "ws://127.0.0.1:7039", TLS: TLSFiles{CAFile: caFile}}, `TLS files need a wss:// gateway address, not "ws://127.0.0.1:7039"`)
	f("missing CA file", Options{TLS: TLSFiles{CAFile: missing}}, "netprobe: TLS CA file: open "+missing+": no such file")
	f("CA file not PEM", Options{TLS: TLSFiles{CAFile: garbage}}, "netprobe: TLS CA file "+garbage+": no PEM certificates")
	f("missing key", Options{TLS: TLSFiles{CertFile: certFile, KeyFile: missing}}, "netprobe: TLS client key: open "+missing)
	f("key of another certificate", Options{TLS: TLSFiles{CertFile: certFile, KeyFile: otherKey}},
		fmt.Sprintf("netprobe: TLS client certificate %s with key %s: tls: private key does not match public key", certFile, otherKey))
	f("transport that cannot be cloned", Options{TLS: TLSFiles{CAFile: caFile}, HTTPClient: &http.Client{Transport: roundTripper(nil)}},
		"Transport is an *http.Transport")
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestIsTLSAlert(t *testing.T) {
	alert := &net.OpError{Op: "remote error", Err: errors.New("tls: bad certificate")}
	for _, c := range []struct {
		name string
		err  error
		want bool
	}{
		{"alert", alert, true},
		{"alert wrapped", fmt.Errorf("dial: %w", &net.OpError{Op: "read", Err: alert}), true},
		{"connection refused", &net.OpError{Op: "dial", Err: errors.New("connection refused")}, false},
		{"other", errors.New("EOF"), false},
	} {
		if got := isTLSAlert(c.err); got != c.want {
			t.Errorf("%s: isTLSAlert = %v, want %v", c.name, got, c.want)
		}
	}
}

// A gateway's reason for refusing the upgrade reaches the probe's error,
// on one line.
func TestRefusalReasonInError(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "tls: probe \"oms-1\" presented the client certificate of \"oms-2\"\n\x00(more)", http.StatusForbidden)
	}))
	defer srv.Close()
	np, err := New(Options{Gateway: "ws" + strings.TrimPrefix(srv.URL, "http"), Name: "oms-1", Token: "t", Logger: discard()})
	if err != nil {
		t.Fatal(err)
	}
	st := newStore()
	r := newRunner(discard(), st, testMetrics(), samplers.Env{})
	defer r.stop()
	a := np.session(context.Background(), r, st, false)
	want := `got 403; the gateway says: tls: probe "oms-1" presented the client certificate of "oms-2" (more)`
	if a.outcome != refused || a.err == nil || !strings.Contains(a.err.Error(), want) {
		t.Errorf("attempt %v: %v; want refused saying %q", a.outcome, a.err, want)
	}
}

// A gateway that starts asking for client certificates (a client CA
// configured at a reload) gets the probe's from its next attempt, even
// when its last attempt was refused over a connection kept alive: every
// attempt is a new handshake, under what the gateway asks for now.
func TestTLSEveryAttemptANewHandshake(t *testing.T) {
	dir := t.TempDir()
	ca := newTestCA(t, "watchfloor CA")
	serverCert := ca.issue(t, "")
	plain := &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{serverCert}, NextProtos: []string{"h2", "http/1.1"}}
	mutual := plain.Clone()
	mutual.ClientAuth, mutual.ClientCAs = tls.VerifyClientCertIfGiven, ca.pool()
	var current atomic.Pointer[tls.Config]
	current.Store(plain)

	type seen struct {
		serial string
		conn   string // the connection's remote address
	}
	seenc := make(chan seen, 100)
	first, reloaded := make(chan struct{}), make(chan struct{})
	var requests atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := seen{conn: r.RemoteAddr}
		if len(r.TLS.VerifiedChains) > 0 {
			s.serial = r.TLS.VerifiedChains[0][0].SerialNumber.String()
		}
		select {
		case seenc <- s:
		case <-r.Context().Done():
			return
		}
		if requests.Add(1) == 1 {
			close(first)
			select {
			case <-reloaded: // the gateway reloads while it refuses this one
			case <-r.Context().Done():
				return
			}
			http.Error(w, "probe unknown (yet)", http.StatusUnauthorized)
			return
		}
		if s.serial == "" {
			http.Error(w, "a client certificate is required", http.StatusForbidden)
			return
		}
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		c.Close(websocket.StatusGoingAway, "test over")
	}))
	srv.EnableHTTP2 = true
	srv.TLS = &tls.Config{GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) { return current.Load(), nil }}
	srv.Config.ErrorLog = slog.NewLogLogger(slog.DiscardHandler, slog.LevelError)
	srv.StartTLS()
	t.Cleanup(srv.Close)

	certFile, keyFile := filepath.Join(dir, "probe.crt"), filepath.Join(dir, "probe.key")
	cert := ca.issue(t, "oms-1")
	writePair(t, cert, certFile, keyFile)
	np, err := New(Options{
		Gateway: "wss://" + srv.Listener.Addr().String(), Name: "oms-1", Token: "t", Logger: discard(),
		TLS:        TLSFiles{CAFile: ca.write(t, filepath.Join(dir, "ca.crt")), CertFile: certFile, KeyFile: keyFile},
		MinBackoff: 5 * time.Millisecond, MaxUnreachableBackoff: 20 * time.Millisecond, MaxBackoff: 50 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	runUntilEnd(t, np)

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var s seen
	select {
	case s = <-seenc:
	case <-ctx.Done():
		t.Fatal("the probe never connected")
	}
	if s.serial != "" {
		t.Fatalf("the probe presented a certificate (%s) to a gateway that did not ask for one", s.serial)
	}
	<-first
	current.Store(mutual)
	close(reloaded)
	select {
	case next := <-seenc:
		if next.serial != cert.Leaf.SerialNumber.String() {
			t.Fatalf("after the gateway began asking for client certificates the probe's next attempt presented %q (over connection %s, the refused one was %s), want its certificate %s",
				next.serial, next.conn, s.conn, cert.Leaf.SerialNumber)
		}
	case <-ctx.Done():
		t.Fatal("the probe did not try again")
	}
}
