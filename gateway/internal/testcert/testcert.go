// Package testcert makes certificates for tests that run real TLS on
// loopback: a certificate authority, server certificates for 127.0.0.1,
// ::1 and localhost, and client certificates for a probe's name, all
// ECDSA P-256, made in memory and written as PEM files into a test's
// directory. A second authority made with NewAuthority is one the first
// does not trust, for tests of refused certificates.
//
// Certificates are valid from an hour ago until a day from now. Every
// certificate gets a fresh random serial number, so a test can tell which
// of two certificates a handshake presented.
//
// An Authority is safe for concurrent use.
package testcert

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// Authority is a certificate authority that exists only in a test.
type Authority struct {
	name string
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	n    atomic.Int64 // numbers the files it writes
}

// NewAuthority makes a self-signed certificate authority whose common
// name is name; name also prefixes the files it writes.
func NewAuthority(t testing.TB, name string) *Authority {
	t.Helper()
	key := newKey(t)
	tmpl := &x509.Certificate{
		SerialNumber:          newSerial(t),
		Subject:               pkix.Name{CommonName: name, Organization: []string{"watchfloor tests"}},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatalf("testcert: make authority %s: %v", name, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatalf("testcert: parse authority %s: %v", name, err)
	}
	return &Authority{name: name, cert: cert, key: key}
}

// Certificate returns the authority's own certificate.
func (a *Authority) Certificate() *x509.Certificate { return a.cert }

// Pool returns a new pool holding only the authority's certificate, for a
// client's RootCAs or a server's ClientCAs.
func (a *Authority) Pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(a.cert)
	return p
}

// CAFile writes the authority's certificate into dir and returns the
// file's path.
func (a *Authority) CAFile(t testing.TB, dir string) string {
	t.Helper()
	path := a.path(dir, "ca", ".crt")
	writeFile(t, path, pemCert(a.cert.Raw), 0o644)
	return path
}

// Server writes a new server certificate for 127.0.0.1, ::1 and
// localhost, signed by the authority, and its key into dir, under names
// no earlier call used, and returns their paths.
func (a *Authority) Server(t testing.TB, dir string) (certFile, keyFile string) {
	t.Helper()
	c := a.ServerCertificate(t)
	return a.write(t, dir, "server", c)
}

// ServerCertificate is Server without the files.
func (a *Authority) ServerCertificate(t testing.TB) tls.Certificate {
	t.Helper()
	return a.issue(t, &x509.Certificate{
		Subject:     pkix.Name{CommonName: "localhost"},
		DNSNames:    []string{"localhost"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	})
}

// Client writes a new client certificate whose common name is commonName
// and whose DNS names are dnsNames (none if none are given), signed by
// the authority, and its key into dir, under names no earlier call used,
// and returns their paths.
func (a *Authority) Client(t testing.TB, dir, commonName string, dnsNames ...string) (certFile, keyFile string) {
	t.Helper()
	c := a.ClientCertificate(t, commonName, dnsNames...)
	return a.write(t, dir, "client-"+commonName, c)
}

// ClientCertificate is Client without the files, for a test's own
// tls.Config.
func (a *Authority) ClientCertificate(t testing.TB, commonName string, dnsNames ...string) tls.Certificate {
	t.Helper()
	return a.issue(t, &x509.Certificate{
		Subject:     pkix.Name{CommonName: commonName},
		DNSNames:    dnsNames,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	})
}

// Leaf reads the first certificate of a PEM file, to compare what a
// handshake presented with what a test wrote.
func Leaf(t testing.TB, certFile string) *x509.Certificate {
	t.Helper()
	b, err := os.ReadFile(certFile)
	if err != nil {
		t.Fatalf("testcert: %v", err)
	}
	block, _ := pem.Decode(b)
	if block == nil || block.Type != "CERTIFICATE" {
		t.Fatalf("testcert: %s: no PEM certificate", certFile)
	}
	c, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatalf("testcert: %s: %v", certFile, err)
	}
	return c
}

// issue completes tmpl as a leaf certificate, signs it and returns it with
// a new key.
func (a *Authority) issue(t testing.TB, tmpl *x509.Certificate) tls.Certificate {
	t.Helper()
	key := newKey(t)
	tmpl.SerialNumber = newSerial(t)
	tmpl.NotBefore = time.Now().Add(-time.Hour)
	tmpl.NotAfter = time.Now().Add(24 * time.Hour)
	tmpl.KeyUsage = x509.KeyUsageDigitalSignature
	tmpl.BasicConstraintsValid = true
	der, err := x509.CreateCertificate(rand.Reader, tmpl, a.cert, &key.PublicKey, a.key)
	if err != nil {
		t.Fatalf("testcert: sign %s: %v", tmpl.Subject.CommonName, err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatalf("testcert: parse %s: %v", tmpl.Subject.CommonName, err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}
}

// write writes c's certificate and key as PEM files.
func (a *Authority) write(t testing.TB, dir, kind string, c tls.Certificate) (certFile, keyFile string) {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(c.PrivateKey)
	if err != nil {
		t.Fatalf("testcert: marshal key: %v", err)
	}
	n := a.n.Add(1)
	certFile = a.path(dir, fmt.Sprintf("%s-%d", kind, n), ".crt")
	keyFile = a.path(dir, fmt.Sprintf("%s-%d", kind, n), ".key")
	writeFile(t, certFile, pemCert(c.Certificate[0]), 0o644)
	writeFile(t, keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600)
	return certFile, keyFile
}

// path names a file in dir after the authority and what it holds, with
// anything but letters, digits, dots and dashes replaced.
func (a *Authority) path(dir, what, ext string) string {
	safe := strings.Map(func(r rune) rune {
		if r == '.' || r == '-' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' {
			return r
		}
		return '_'
	}, a.name+"-"+what)
	return filepath.Join(dir, safe+ext)
}

func pemCert(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

func writeFile(t testing.TB, path string, b []byte, perm os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, b, perm); err != nil {
		t.Fatalf("testcert: %v", err)
	}
}

func newKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatalf("testcert: generate key: %v", err)
	}
	return key
}

func newSerial(t testing.TB) *big.Int {
	t.Helper()
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		t.Fatalf("testcert: serial: %v", err)
	}
	return n.Add(n, big.NewInt(1)) // never zero
}
