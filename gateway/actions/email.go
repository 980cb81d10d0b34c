package actions

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"os"
	"strings"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/watchfloor/watchfloor/gateway/config"
	"github.com/watchfloor/watchfloor/gateway/incident"
	"github.com/watchfloor/watchfloor/rules"
)

// The ways an email action talks to its server.
const (
	tlsStartTLS = "starttls"
	tlsImplicit = "tls"
	tlsNone     = "none"
)

// maxSubject bounds a subject, in characters, so that its header stays
// well inside a mail line.
const maxSubject = 200

// email mails each message over SMTP.
type email struct {
	addr     string
	mode     string
	tls      *tls.Config
	user     string
	password string
	from     *mail.Address
	to       []*mail.Address
	hello    string // the name the client gives in EHLO
}

var _ sender = (*email)(nil)

func newEmail(c *config.EmailAction, f *files) (*email, []error) {
	var errs []error
	fail := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	e := &email{addr: c.SMTP, mode: c.TLS, user: c.Username, hello: localName()}

	host, _, err := net.SplitHostPort(c.SMTP)
	switch {
	case c.SMTP == "":
		fail("smtp: missing")
	case err != nil:
		fail("smtp: %q: want host:port: %v", c.SMTP, err)
	case host == "":
		fail("smtp: %q: no host", c.SMTP)
	}
	if e.mode == "" {
		e.mode = tlsStartTLS
	}
	switch e.mode {
	case tlsStartTLS, tlsImplicit:
	case tlsNone:
		if host != "" && !loopback(host) {
			fail("tls: none is allowed only for a loopback server, not %s", host)
		}
	default:
		fail("tls: %q: want starttls, tls or none", c.TLS)
	}
	e.tls = &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
	if c.CAFile != "" {
		pool, err := f.caPool(c.CAFile)
		if err != nil {
			fail("ca_file: %v", err)
		}
		e.tls.RootCAs = pool
	}
	switch {
	case c.Username != "" && c.PasswordFile == "":
		fail("password_file: missing for username %q", c.Username)
	case c.Username == "" && c.PasswordFile != "":
		fail("username: missing for password_file")
	case c.PasswordFile != "":
		pw, err := f.secret(c.PasswordFile, false)
		if err != nil {
			fail("password_file: %v", err)
		}
		e.password = pw
	}
	if c.From == "" {
		fail("from: missing")
	} else if e.from, err = mail.ParseAddress(c.From); err != nil {
		fail("from: %q: %v", c.From, err)
	}
	if len(c.To) == 0 {
		fail("to: missing")
	}
	for _, to := range c.To {
		a, err := mail.ParseAddress(to)
		if err != nil {
			fail("to: %q: %v", to, err)
			continue
		}
		e.to = append(e.to, a)
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return e, nil
}

// loopback reports whether host is a loopback address, or localhost.
func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// localName is the host's name, for EHLO, if it is one a server takes.
func localName() string {
	name, err := os.Hostname()
	if err != nil || name == "" || strings.ContainsAny(name, " \t\r\n") {
		return "localhost"
	}
	return name
}

func (e *email) prepare(m Message, now time.Time) (func(ctx context.Context) error, error) {
	raw, err := e.compose(m, now)
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context) error { return e.send(ctx, raw) }, nil
}

func (e *email) close() {}

// send makes one delivery: connect, TLS as configured, authenticate,
// send. A 5xx from the server is permanent; anything else is retried.
func (e *email) send(ctx context.Context, raw []byte) error {
	err := e.deliver(ctx, raw)
	if err == nil {
		return nil
	}
	if ctx.Err() != nil {
		err = fmt.Errorf("%w (%w)", context.Cause(ctx), err)
	}
	err = fmt.Errorf("smtp %s: %w", e.addr, err)
	var se *smtp.SMTPError
	if errors.As(err, &se) && se.Code >= 500 {
		return permanent(err)
	}
	return err
}

func (e *email) deliver(ctx context.Context, raw []byte) error {
	var conn net.Conn
	var err error
	if e.mode == tlsImplicit {
		conn, err = (&tls.Dialer{Config: e.tls}).DialContext(ctx, "tcp", e.addr)
	} else {
		conn, err = (&net.Dialer{}).DialContext(ctx, "tcp", e.addr)
	}
	if err != nil {
		return err
	}
	// The client has timeouts of minutes; the attempt's context is the
	// one that counts.
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()

	var c *smtp.Client
	if e.mode == tlsStartTLS {
		// This refuses a server that does not offer STARTTLS.
		if c, err = smtp.NewClientStartTLS(conn, e.tls); err != nil {
			conn.Close()
			return err
		}
	} else {
		c = smtp.NewClient(conn)
	}
	defer c.Close()
	if err := c.Hello(e.hello); err != nil {
		return err
	}
	if e.user != "" {
		if !c.SupportsAuth(sasl.Plain) {
			return errors.New("server does not offer AUTH PLAIN")
		}
		if err := c.Auth(sasl.NewPlainClient("", e.user, e.password)); err != nil {
			return fmt.Errorf("auth: %w", err)
		}
	}
	to := make([]string, len(e.to))
	for i, a := range e.to {
		to[i] = a.Address
	}
	if err := c.SendMail(e.from.Address, to, bytes.NewReader(raw)); err != nil {
		return err
	}
	return c.Quit()
}

// compose writes m as a mail: plain text in UTF-8, quoted-printable.
func (e *email) compose(m Message, now time.Time) ([]byte, error) {
	subject, body, err := mailContent(m)
	if err != nil {
		return nil, err
	}
	to := make([]string, len(e.to))
	for i, a := range e.to {
		to[i] = a.String()
	}

	var b bytes.Buffer
	header := func(name, value string) { b.WriteString(name + ": " + value + "\r\n") }
	header("From", e.from.String())
	header("To", strings.Join(to, ",\r\n "))
	header("Subject", mime.QEncoding.Encode("utf-8", oneLine(subject, maxSubject)))
	header("Date", now.Format(time.RFC1123Z))
	header("Message-ID", messageID(e.from.Address))
	header("MIME-Version", "1.0")
	header("Content-Type", "text/plain; charset=utf-8")
	header("Content-Transfer-Encoding", "quoted-printable")
	header("Auto-Submitted", "auto-generated") // RFC 3834: no auto-replies
	b.WriteString("\r\n")
	qp := quotedprintable.NewWriter(&b)
	if _, err := qp.Write([]byte(body)); err != nil {
		return nil, err
	}
	if err := qp.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// mailContent is m's subject and body: a notice's own, or a summary of
// the incident.
func mailContent(m Message) (subject, body string, err error) {
	if m.Event == NoticeEvent {
		if m.Notice == nil {
			return "", "", errors.New("notice message without a notice")
		}
		return m.Notice.Subject, m.Notice.Body, nil
	}
	inc := &m.Incident
	subject = fmt.Sprintf("[%s] %s %s: %s", strings.ToUpper(severityOf(inc).String()), inc.ID, happened(m), inc.Title)

	var b strings.Builder
	line := func(label, value string) {
		if value != "" {
			fmt.Fprintf(&b, "%-12s %s\n", label+":", value)
		}
	}
	fmt.Fprintf(&b, "%s %s: %s\n\n", inc.ID, happened(m), inc.Title)
	line("Severity", fmt.Sprintf("%s (peak %s)", inc.Severity, inc.Peak))
	line("State", string(inc.State))
	line("Rule", inc.Rule)
	line("Path", inc.Path)
	line("Probe", inc.Probe)
	line("Entity", inc.Entity)
	line("Client", inc.Client)
	line("Value", inc.Value)
	line("Opened", formatTime(inc.Opened))
	line("Resolved", formatTime(inc.Resolved))
	line("Closed", formatTime(inc.Closed))
	line("Raised by", inc.RaisedBy)
	if inc.Ack != nil {
		line("Acked by", inc.Ack.By)
	}
	line("Assignee", inc.Assignee)
	if inc.Escalation.Level > 0 {
		line("Escalation", fmt.Sprintf("level %d", inc.Escalation.Level))
	}
	if m.URL != "" {
		fmt.Fprintf(&b, "\n%s\n", m.URL)
	}
	return subject, b.String(), nil
}

// happened says what the event did, for a subject.
func happened(m Message) string {
	if m.Event == Escalated && m.Level > 0 {
		return fmt.Sprintf("escalated to level %d", m.Level)
	}
	return string(m.Event)
}

// severityOf is the severity an incident is reported at: its own, or its
// peak while it has none worse than ok.
func severityOf(inc *incident.Incident) rules.Severity {
	if inc.Severity < rules.Warning && inc.State == incident.Open || inc.Severity == rules.Undefined {
		return inc.Peak
	}
	return inc.Severity
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02 15:04:05 MST")
}

// oneLine makes s fit a header: line breaks become spaces, and it is cut
// to limit characters.
func oneLine(s string, limit int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > limit {
		s = string(r[:limit-1]) + "…"
	}
	return s
}

// messageID makes a Message-ID in the sender's domain.
func messageID(from string) string {
	domain := "watchfloor"
	if i := strings.LastIndexByte(from, '@'); i >= 0 && i < len(from)-1 {
		domain = from[i+1:]
	}
	return "<" + rand.Text() + "@" + domain + ">"
}
