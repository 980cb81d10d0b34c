package actions

import (
	"crypto/tls"
	"io"
	"log"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/watchfloor/watchfloor/gateway/config"
	"github.com/watchfloor/watchfloor/gateway/incident"
	"github.com/watchfloor/watchfloor/gateway/internal/testcert"
)

// delivery is a mail the test server took.
type delivery struct {
	user, password string // as authenticated; empty if not
	tls            bool   // whether the session was over TLS
	from           string
	to             []string
	data           []byte
}

// mailServer is a real SMTP server on loopback, built with go-smtp.
type mailServer struct {
	addr   string
	caFile string
	got    chan delivery
}

// How the test server offers TLS.
const (
	offerSTARTTLS = "starttls"
	offerTLS      = "tls"
	offerNothing  = "none"
)

// newMailServer starts an SMTP server that offers TLS as mode says and
// takes AUTH PLAIN from watchfloor with password "pa ss" (over TLS
// unless mode is none).
func newMailServer(t *testing.T, mode string) *mailServer {
	t.Helper()
	ca := testcert.NewAuthority(t, "mail")
	ms := &mailServer{caFile: ca.CAFile(t, t.TempDir()), got: make(chan delivery, 100)}
	s := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		_, isTLS := c.TLSConnectionState()
		return &mailSession{server: ms, d: delivery{tls: isTLS}}, nil
	}))
	s.Domain = "localhost"
	s.ReadTimeout, s.WriteTimeout = wait, wait
	s.ErrorLog = log.New(io.Discard, "", 0)
	cfg := &tls.Config{Certificates: []tls.Certificate{ca.ServerCertificate(t)}}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	switch mode {
	case offerSTARTTLS:
		s.TLSConfig = cfg
	case offerTLS:
		s.TLSConfig = cfg
		l = tls.NewListener(l, cfg)
	case offerNothing:
		s.AllowInsecureAuth = true
	}
	ms.addr = l.Addr().String()
	served := make(chan struct{})
	go func() {
		defer close(served)
		_ = s.Serve(l)
	}()
	t.Cleanup(func() {
		s.Close()
		<-served
	})
	return ms
}

type mailSession struct {
	server *mailServer
	d      delivery
}

func (s *mailSession) AuthMechanisms() []string { return []string{sasl.Plain} }

func (s *mailSession) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, password string) error {
		if user != "watchfloor" || password != "pa ss" {
			return smtp.ErrAuthFailed
		}
		s.d.user, s.d.password = user, password
		return nil
	}), nil
}

func (s *mailSession) Mail(from string, _ *smtp.MailOptions) error {
	if s.d.user == "" {
		return smtp.ErrAuthRequired
	}
	s.d.from = from
	return nil
}

func (s *mailSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.d.to = append(s.d.to, to)
	return nil
}

func (s *mailSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	d := s.d
	d.data = b
	s.server.got <- d
	return nil
}

func (s *mailSession) Reset()        { s.d.from, s.d.to = "", nil }
func (s *mailSession) Logout() error { return nil }

// emailAction mails through ms, with the password file in dir.
func emailAction(t *testing.T, name string, ms *mailServer, mode string) config.Action {
	t.Helper()
	pw := filepath.Join(t.TempDir(), "smtp.pass")
	if err := os.WriteFile(pw, []byte("pa ss\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return fast(config.Action{Name: name, Email: &config.EmailAction{
		SMTP: ms.addr, TLS: mode, Username: "watchfloor", PasswordFile: pw, CAFile: ms.caFile,
		From: "Watchfloor <watchfloor@desk.example>", To: []string{"manager@desk.example", "Ops <ops@desk.example>"},
	}})
}

// next returns the next mail ms takes.
func (ms *mailServer) next(t *testing.T) delivery {
	t.Helper()
	select {
	case d := <-ms.got:
		return d
	case <-time.After(wait):
		t.Fatal("no mail in time")
		return delivery{}
	}
}

// parse reads a delivered mail as net/mail does, and decodes its subject
// and body.
func (d delivery) parse(t *testing.T) (h mail.Header, subject, body string) {
	t.Helper()
	m, err := mail.ReadMessage(strings.NewReader(string(d.data)))
	if err != nil {
		t.Fatalf("read message: %v\n%s", err, d.data)
	}
	subject, err = new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject"))
	if err != nil {
		t.Fatalf("subject: %v", err)
	}
	b, err := io.ReadAll(quotedprintable.NewReader(m.Body))
	if err != nil {
		t.Fatalf("body: %v", err)
	}
	return m.Header, subject, string(b)
}

func TestEmailSTARTTLSWithAuth(t *testing.T) {
	t.Parallel()
	ms := newMailServer(t, offerSTARTTLS)
	rec := newRecorder()
	d := start(t, Options{Actions: []config.Action{emailAction(t, "mail", ms, "")}, Done: rec.done})

	d.Send([]string{"mail"}, msg(Opened, "INC-20261201-0042"))
	got := ms.next(t)
	if o := rec.next(t); o.err != nil {
		t.Fatalf("Done err %v", o.err)
	}
	if !got.tls || got.user != "watchfloor" || got.password != "pa ss" {
		t.Errorf("session tls %v, auth %q/%q: want TLS and watchfloor's credentials", got.tls, got.user, got.password)
	}
	if got.from != "watchfloor@desk.example" || strings.Join(got.to, ",") != "manager@desk.example,ops@desk.example" {
		t.Errorf("envelope from %s to %v", got.from, got.to)
	}
	h, subject, body := got.parse(t)
	if want := "[CRITICAL] INC-20261201-0042 opened: FIX latency high"; subject != want {
		t.Errorf("subject %q, want %q", subject, want)
	}
	for name, want := range map[string]string{
		"MIME-Version": "1.0", "Content-Type": "text/plain; charset=utf-8", "Content-Transfer-Encoding": "quoted-printable",
	} {
		if got := h.Get(name); got != want {
			t.Errorf("%s: %q, want %q", name, got, want)
		}
	}
	if from, err := h.AddressList("From"); err != nil || len(from) != 1 || from[0].Address != "watchfloor@desk.example" {
		t.Errorf("From: %v %v", from, err)
	}
	if to, err := h.AddressList("To"); err != nil || len(to) != 2 || to[1].Name != "Ops" {
		t.Errorf("To: %v %v", to, err)
	}
	if date, err := h.Date(); err != nil || time.Since(date) > time.Minute {
		t.Errorf("Date: %v %v", date, err)
	}
	if id := h.Get("Message-ID"); !strings.HasPrefix(id, "<") || !strings.HasSuffix(id, "@desk.example>") {
		t.Errorf("Message-ID: %q", id)
	}
	for _, want := range []string{"Severity:    critical (peak critical)", "Client:      acme", "Value:       850ms",
		"Opened:      2026-12-01 09:14:03 UTC", "https://gateway.example/incidents/INC-20261201-0042"} {
		if !strings.Contains(body, want) {
			t.Errorf("body lacks %q:\n%s", want, body)
		}
	}
}

func TestEmailNotice(t *testing.T) {
	t.Parallel()
	ms := newMailServer(t, offerSTARTTLS)
	rec := newRecorder()
	d := start(t, Options{Actions: []config.Action{emailAction(t, "client", ms, "starttls")}, Done: rec.done})

	m := msg(NoticeEvent, "INC-1")
	m.Notice = &incident.Notice{
		Kind:    incident.ResolvedNotice,
		Subject: "Problème résolu\r\nBcc: everyone@example",
		Body:    "Bonjour,\n\nle problème de latence est résolu à 10:42 — merci.\n" + strings.Repeat("x", 120) + "\n",
	}
	d.Send([]string{"client"}, m)
	h, subject, body := ms.next(t).parse(t)
	if o := rec.next(t); o.err != nil {
		t.Fatalf("Done err %v", o.err)
	}
	if subject != "Problème résolu Bcc: everyone@example" {
		t.Errorf("subject %q: want the notice's, on one line", subject)
	}
	if raw := h.Get("Subject"); !strings.HasPrefix(raw, "=?utf-8?q?") {
		t.Errorf("raw subject %q: want it Q-encoded", raw)
	}
	if h.Get("Bcc") != "" {
		t.Errorf("a line break in the subject made a header: Bcc %q", h.Get("Bcc"))
	}
	if want := strings.ReplaceAll(m.Notice.Body, "\n", "\r\n"); body != want {
		t.Errorf("body %q, want %q", body, want)
	}
}

func TestEmailTLSModes(t *testing.T) {
	t.Parallel()
	f := func(t *testing.T, offer, mode string, wantTLS bool) {
		t.Helper()
		t.Parallel()
		ms := newMailServer(t, offer)
		rec := newRecorder()
		d := start(t, Options{Actions: []config.Action{emailAction(t, "mail", ms, mode)}, Done: rec.done})
		d.Send([]string{"mail"}, msg(Opened, "INC-1"))
		if got := ms.next(t); got.tls != wantTLS {
			t.Errorf("tls = %v, want %v", got.tls, wantTLS)
		}
		if o := rec.next(t); o.err != nil {
			t.Errorf("Done err %v", o.err)
		}
	}
	t.Run("implicit TLS", func(t *testing.T) { f(t, offerTLS, "tls", true) })
	t.Run("none to loopback", func(t *testing.T) { f(t, offerNothing, "none", false) })
}

func TestEmailRefusesServerWithoutSTARTTLS(t *testing.T) {
	t.Parallel()
	ms := newMailServer(t, offerNothing)
	rec := newRecorder()
	a := emailAction(t, "mail", ms, "starttls")
	a.Retries = 1
	d := start(t, Options{Actions: []config.Action{a}, Done: rec.done})
	d.Send([]string{"mail"}, msg(Opened, "INC-1"))
	if o := rec.next(t); o.err == nil || !strings.Contains(o.err.Error(), "STARTTLS") {
		t.Errorf("Done err %v, want STARTTLS refused", o.err)
	}
	select {
	case got := <-ms.got:
		t.Errorf("mail sent in clear: %s", got.data)
	default:
	}
}

func TestEmailWrongPasswordNotRetried(t *testing.T) {
	t.Parallel()
	ms := newMailServer(t, offerSTARTTLS)
	a := emailAction(t, "mail", ms, "")
	a.Retries = 3
	if err := os.WriteFile(a.Email.PasswordFile, []byte("wrong"), 0o600); err != nil {
		t.Fatal(err)
	}
	rec := newRecorder()
	d := start(t, Options{Actions: []config.Action{a}, Done: rec.done})
	d.Send([]string{"mail"}, msg(Opened, "INC-1"))
	if o := rec.next(t); o.err == nil || !strings.Contains(o.err.Error(), "auth") {
		t.Errorf("Done err %v, want authentication refused", o.err)
	}
	if s := statOf(t, d, "mail"); s.Retries != 0 || s.Failed != 1 {
		t.Errorf("stat %+v: a 5xx should not be retried", s)
	}
}
