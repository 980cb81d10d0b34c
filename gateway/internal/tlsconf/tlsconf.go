// Package tlsconf serves the gateway's TLS: its certificate and the
// authority that signs probes' client certificates, both read from PEM
// files and reloadable while the gateway runs, and the check that a
// probe's client certificate names the probe.
//
// Probes authenticate with their token in every case; a client
// certificate is a second factor. The listener asks for one only when a
// client CA is configured, and then never insists (browsers would show a
// certificate picker or fail): ProbeCert, called by the probe socket's
// handler after the token, refuses a probe without one when
// RequireProbeCert says so. ProbeCert goes by the last load, not by the
// handshake: a connection kept alive across a reload is judged by the
// client CA and RequireProbeCert loaded since.
package tlsconf

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/watchfloor/watchfloor/gateway/config"
)

// Server holds the gateway's certificate and client CA, as last loaded. Its
// methods are safe for concurrent use, with each other and with the
// handshakes that use its Config.
type Server struct {
	cur atomic.Pointer[loaded]
}

// loaded is what one successful load read. It is never changed.
type loaded struct {
	cert *tls.Certificate
	// conf is what handshakes use while this load is current. Its
	// ClientCAs is nil without a client CA.
	conf *tls.Config
	// requireProbeCert is the configuration's, so that ProbeCert goes by
	// the same load as handshakes do, even when a reload failed here and
	// the gateway's configuration moved on.
	requireProbeCert bool
}

// New loads the certificate, key and client CA files cfg names and returns
// a Server that serves them.
func New(cfg *config.TLS) (*Server, error) {
	l, err := load(cfg)
	if err != nil {
		return nil, err
	}
	s := &Server{}
	s.cur.Store(l)
	return s, nil
}

// Reload rereads the files cfg names. Handshakes that start after it
// returns use them, and ProbeCert judges every request by them and by
// cfg.RequireProbeCert, over connections already made too (which keep
// the certificate they were served). If a file is missing or wrong,
// Reload returns an error naming it and the Server keeps what it served
// before, RequireProbeCert included. Two Reloads that run at once both succeed
// or fail on their own, and either's files may be the ones kept.
func (s *Server) Reload(cfg *config.TLS) error {
	l, err := load(cfg)
	if err != nil {
		return err
	}
	s.cur.Store(l)
	return nil
}

// Expiry returns when the gateway's certificate (the leaf, the first in
// its file) expires, for a gauge.
func (s *Server) Expiry() time.Time { return s.cur.Load().cert.Leaf.NotAfter }

// Config returns a new tls.Config for the gateway's listener, as
// http.Server.TLSConfig (then ServeTLS with no file names) or for
// tls.NewListener.
//
// Each handshake uses the Server's current certificate and client CA,
// through GetConfigForClient: TLS 1.2 at least, ALPN h2 and http/1.1 (so
// the http.Server must keep HTTP/2 enabled, as it is by default), and,
// when a client CA is configured, a request for a client certificate that
// must verify against it if one is given (VerifyClientCertIfGiven);
// without a client CA, no request at all. The returned Config's other
// fields show the load current when Config was called but do not affect
// handshakes, except its session ticket keys; resuming a session
// re-verifies its client certificate against the current client CA.
func (s *Server) Config() *tls.Config {
	c := s.cur.Load().conf.Clone()
	c.Certificates = nil
	c.GetCertificate = func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
		return s.cur.Load().cert, nil
	}
	c.GetConfigForClient = func(*tls.ClientHelloInfo) (*tls.Config, error) {
		return s.cur.Load().conf, nil
	}
	return c
}

// ProbeCert checks the client certificate of a probe's connection, after
// its token has said which probe it is: it returns nil if the connection
// is fine for that probe. It may be called on a nil Server, for a gateway
// without TLS, and then returns nil.
//
// It goes by the Server's current load, not by what the connection's
// handshake verified, which may have been under a client CA replaced
// since. A client certificate presented is verified again against the
// current client CA, and one that no longer verifies (from a retired CA,
// or expired) is refused. One that verifies must be the probe's own, its
// common name or one of its DNS names equal to the probe's name. With
// RequireProbeCert, a connection without one (or without TLS) is refused.
// Without a client CA no one verifies a certificate, so one presented is
// treated as absent.
func (s *Server) ProbeCert(r *http.Request, probe string) error {
	return s.probeCertAt(r, probe, time.Now())
}

// probeCertAt is ProbeCert at the time now, to verify against.
func (s *Server) probeCertAt(r *http.Request, probe string, now time.Time) error {
	var l *loaded
	if s != nil {
		l = s.cur.Load()
	}
	require := l != nil && l.requireProbeCert
	if r.TLS == nil {
		if require {
			return fmt.Errorf("tls: probe %q connected without TLS; require_probe_cert needs a client certificate", probe)
		}
		return nil
	}
	if l == nil || l.conf.ClientCAs == nil || len(r.TLS.PeerCertificates) == 0 {
		if require {
			return fmt.Errorf("tls: probe %q presented no client certificate signed by the client CA; require_probe_cert needs one", probe)
		}
		return nil
	}
	leaf := r.TLS.PeerCertificates[0]
	intermediates := x509.NewCertPool()
	for _, c := range r.TLS.PeerCertificates[1:] {
		intermediates.AddCert(c)
	}
	_, err := leaf.Verify(x509.VerifyOptions{
		Roots:         l.conf.ClientCAs,
		Intermediates: intermediates,
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		CurrentTime:   now,
	})
	if err != nil {
		return fmt.Errorf("tls: probe %q presented a client certificate the current client CA does not sign (%s): %w",
			probe, describe(leaf), err)
	}
	if leaf.Subject.CommonName == probe || slices.Contains(leaf.DNSNames, probe) {
		return nil
	}
	names := "no DNS names"
	if len(leaf.DNSNames) > 0 {
		names = "DNS names " + strings.Join(leaf.DNSNames, ", ")
	}
	return fmt.Errorf("tls: probe %q presented the client certificate of %q (%s, serial %X), not its own",
		probe, leaf.Subject.CommonName, names, leaf.SerialNumber)
}

// load reads the files cfg names. It reports every file that is wrong,
// not just the first.
func load(cfg *config.TLS) (*loaded, error) {
	if cfg == nil {
		return nil, errors.New("tls: no tls section in the configuration")
	}
	var errs []error
	cert, err := loadKeyPair(cfg.CertFile, cfg.KeyFile)
	if err != nil {
		errs = append(errs, err)
	}
	var pool *x509.CertPool
	switch {
	case cfg.ClientCAFile != "":
		if pool, err = loadPool(cfg.ClientCAFile); err != nil {
			errs = append(errs, err)
		}
	case cfg.RequireProbeCert:
		errs = append(errs, errors.New("tls: require_probe_cert needs client_ca_file"))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	conf := &tls.Config{
		MinVersion:   tls.VersionTLS12,
		Certificates: []tls.Certificate{*cert},
		NextProtos:   []string{"h2", "http/1.1"},
		ClientAuth:   tls.NoClientCert,
	}
	if pool != nil {
		conf.ClientAuth = tls.VerifyClientCertIfGiven
		conf.ClientCAs = pool
	}
	return &loaded{cert: cert, conf: conf, requireProbeCert: cfg.RequireProbeCert}, nil
}

// loadKeyPair reads a certificate chain and its key. Unlike
// tls.LoadX509KeyPair it says which file is wrong.
func loadKeyPair(certFile, keyFile string) (*tls.Certificate, error) {
	if certFile == "" || keyFile == "" {
		return nil, errors.New("tls: cert_file and key_file are both required")
	}
	chain, err := readCerts(certFile)
	if err != nil {
		return nil, fmt.Errorf("tls: cert_file %s: %w", certFile, err)
	}
	key, err := readKey(keyFile)
	if err != nil {
		return nil, fmt.Errorf("tls: key_file %s: %w", keyFile, err)
	}
	leaf := chain[0]
	pub, ok := leaf.PublicKey.(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !pub.Equal(key.Public()) {
		return nil, fmt.Errorf("tls: cert_file and key_file do not match: the key in %s is not the one certified by %s (%s)",
			keyFile, certFile, describe(leaf))
	}
	c := &tls.Certificate{PrivateKey: key, Leaf: leaf}
	for _, x := range chain {
		c.Certificate = append(c.Certificate, x.Raw)
	}
	return c, nil
}

// loadPool reads the client CA file.
func loadPool(file string) (*x509.CertPool, error) {
	certs, err := readCerts(file)
	if err != nil {
		return nil, fmt.Errorf("tls: client_ca_file %s: %w", file, err)
	}
	pool := x509.NewCertPool()
	for _, c := range certs {
		pool.AddCert(c)
	}
	return pool, nil
}

// readCerts parses every CERTIFICATE block of a PEM file, in order, and
// refuses a file with none or with one that does not parse. Text and
// blocks of other types between them are skipped.
func readCerts(file string) ([]*x509.Certificate, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	var certs []*x509.Certificate
	for n := 1; ; {
		var block *pem.Block
		block, b = pem.Decode(b)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("certificate %d: %w", n, err)
		}
		certs = append(certs, c)
		n++
	}
	if len(certs) == 0 {
		return nil, errors.New("no PEM certificates")
	}
	return certs, nil
}

// readKey parses the first private key block of a PEM file: PKCS #8,
// PKCS #1 (RSA) or SEC 1 (EC), as crypto/tls accepts.
func readKey(file string) (crypto.Signer, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	for {
		var block *pem.Block
		block, b = pem.Decode(b)
		if block == nil {
			return nil, errors.New("no PEM private key")
		}
		if block.Type == "PRIVATE KEY" || strings.HasSuffix(block.Type, " PRIVATE KEY") {
			return parseKey(block)
		}
	}
}

func parseKey(block *pem.Block) (crypto.Signer, error) {
	switch block.Type {
	case "RSA PRIVATE KEY":
		return x509.ParsePKCS1PrivateKey(block.Bytes)
	case "EC PRIVATE KEY":
		return x509.ParseECPrivateKey(block.Bytes)
	case "PRIVATE KEY":
		k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			return nil, err
		}
		switch k := k.(type) {
		case *rsa.PrivateKey, *ecdsa.PrivateKey, ed25519.PrivateKey:
			return k.(crypto.Signer), nil
		default:
			return nil, fmt.Errorf("a %T key, which TLS cannot use", k)
		}
	}
	return nil, fmt.Errorf("a %q block, not a private key TLS can use (PRIVATE KEY, RSA PRIVATE KEY or EC PRIVATE KEY)", block.Type)
}

// describe names a certificate in an error.
func describe(c *x509.Certificate) string {
	s := fmt.Sprintf("subject %q, serial %X", c.Subject.CommonName, c.SerialNumber)
	if len(c.DNSNames) > 0 {
		s += ", DNS names " + strings.Join(c.DNSNames, ", ")
	}
	return s
}
