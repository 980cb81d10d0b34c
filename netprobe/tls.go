package netprobe

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"os"
)

// TLSFiles name the PEM files a probe uses with a wss:// gateway. The zero
// TLSFiles trusts the system's certificate authorities and presents no
// client certificate.
//
// The files are read when the probe is made, so that a mistake stops it at
// once, and again before every connection attempt: a renewed client
// certificate or a new CA takes effect at the next reconnect, without a
// restart. If rereading fails (a file half-written, a certificate that
// does not match its key yet), the probe logs it and keeps using what it
// read last. Every attempt makes a new connection and a full handshake, so
// that what the gateway asks for at the time applies to it.
type TLSFiles struct {
	// CAFile holds the certificates of the authorities trusted to sign
	// the gateway's certificate, instead of the system's.
	CAFile string
	// CertFile and KeyFile are the probe's client certificate (with any
	// intermediate certificates after it) and its private key, for a
	// gateway that checks probes' certificates (mutual TLS): both or
	// neither. The probe presents the certificate whenever the gateway
	// asks for one, even one signed by an authority the gateway does not
	// name, so that a wrong certificate is refused loudly rather than
	// left out.
	CertFile, KeyFile string
}

func (f TLSFiles) isZero() bool { return f == TLSFiles{} }

// tlsDialer is the HTTP client a probe with TLS files dials with. It is
// owned by Run's goroutine (and New's, before Run).
type tlsDialer struct {
	files TLSFiles
	// base is the caller's client, and baseTransport its transport; each
	// client is a copy of base with a clone of baseTransport that holds
	// what the files said.
	base          http.Client
	baseTransport *http.Transport

	read    [3][]byte         // what the files held when last loaded
	leaf    *x509.Certificate // the client certificate loaded; nil if none
	client  *http.Client
	lastErr string // the last rereading error logged, so each is logged once
}

func newTLSDialer(files TLSFiles, hc *http.Client) (*tlsDialer, error) {
	if (files.CertFile == "") != (files.KeyFile == "") {
		return nil, errors.New("netprobe: a TLS client certificate and its key go together: give both files or neither")
	}
	d := &tlsDialer{files: files}
	if hc != nil {
		d.base = *hc
	}
	switch tr := d.base.Transport.(type) {
	case nil:
		d.baseTransport = http.DefaultTransport.(*http.Transport)
	case *http.Transport:
		d.baseTransport = tr
	default:
		return nil, fmt.Errorf("netprobe: TLS files need an HTTPClient whose Transport is an *http.Transport, not %T", tr)
	}
	if _, err := d.refresh(); err != nil {
		return nil, err
	}
	return d, nil
}

// refresh rereads the files and, if they changed, makes a new client from
// them. It reports whether they changed; on an error it keeps the client
// it had.
func (d *tlsDialer) refresh() (changed bool, err error) {
	var now [3][]byte
	for i, f := range []struct{ what, file string }{
		{"CA file", d.files.CAFile}, {"client certificate", d.files.CertFile}, {"client key", d.files.KeyFile},
	} {
		if f.file == "" {
			continue
		}
		if now[i], err = os.ReadFile(f.file); err != nil {
			return false, fmt.Errorf("netprobe: TLS %s: %w", f.what, err)
		}
	}
	if d.client != nil && bytes.Equal(now[0], d.read[0]) && bytes.Equal(now[1], d.read[1]) && bytes.Equal(now[2], d.read[2]) {
		return false, nil
	}
	conf, leaf, err := d.config(now)
	if err != nil {
		return false, err
	}
	tr := d.baseTransport.Clone()
	tr.TLSClientConfig = conf
	// Every attempt is an upgrade, which takes its connection for the
	// session. A refused one would otherwise stay idle and carry the next
	// attempt, handshake and all: what the gateway asks for since (a
	// client certificate, once it has a client CA) would never apply.
	tr.DisableKeepAlives = true
	c := d.base
	c.Transport = tr
	d.read, d.leaf, d.client = now, leaf, &c
	return true, nil
}

// config makes the TLS configuration from the files' contents (CA, cert,
// key), starting from the base transport's, and returns it with the client
// certificate, if any.
func (d *tlsDialer) config(b [3][]byte) (*tls.Config, *x509.Certificate, error) {
	conf := &tls.Config{}
	if d.baseTransport.TLSClientConfig != nil {
		conf = d.baseTransport.TLSClientConfig.Clone()
	}
	conf.MinVersion = max(conf.MinVersion, tls.VersionTLS12)
	if d.files.CAFile != "" {
		pool := x509.NewCertPool()
		n, err := appendCerts(pool, b[0])
		if err != nil {
			return nil, nil, fmt.Errorf("netprobe: TLS CA file %s: %w", d.files.CAFile, err)
		}
		if n == 0 {
			return nil, nil, fmt.Errorf("netprobe: TLS CA file %s: no PEM certificates", d.files.CAFile)
		}
		conf.RootCAs = pool
	}
	if d.files.CertFile != "" {
		cert, err := tls.X509KeyPair(b[1], b[2])
		if err != nil {
			return nil, nil, fmt.Errorf("netprobe: TLS client certificate %s with key %s: %w", d.files.CertFile, d.files.KeyFile, err)
		}
		conf.Certificates = nil
		conf.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			return &cert, nil
		}
		return conf, cert.Leaf, nil
	}
	return conf, nil, nil
}

// appendCerts adds every CERTIFICATE block of b to pool, refusing one that
// does not parse (which x509.CertPool.AppendCertsFromPEM would skip).
func appendCerts(pool *x509.CertPool, b []byte) (int, error) {
	n := 0
	for {
		var block *pem.Block
		block, b = pem.Decode(b)
		if block == nil {
			return n, nil
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return n, fmt.Errorf("certificate %d: %w", n+1, err)
		}
		pool.AddCert(c)
		n++
	}
}

// clientFor returns the client for the next attempt, having reread the
// files; it logs a change, or a failure to reread them once per failure.
func (p *Probe) clientFor() *http.Client {
	d := p.tls
	if d == nil {
		return p.opts.HTTPClient
	}
	changed, err := d.refresh()
	switch {
	case err != nil:
		if err.Error() != d.lastErr {
			p.log.Warn("cannot reread the TLS files; using those read before", "err", err)
		}
		d.lastErr = err.Error()
	case changed:
		if d.leaf != nil {
			p.log.Info("TLS files changed; connecting with the new ones",
				"client_cert", d.leaf.Subject.CommonName, "client_cert_expires", d.leaf.NotAfter)
		} else {
			p.log.Info("TLS files changed; connecting with the new ones")
		}
		d.lastErr = ""
	case d.lastErr != "":
		p.log.Info("TLS files readable again")
		d.lastErr = ""
	}
	return d.client
}
