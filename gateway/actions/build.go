package actions

import (
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"fmt"
	"hash"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"time"

	"github.com/watchfloor/watchfloor/gateway/config"
)

// spec is an action as validated and built: its configuration with the
// defaults filled in, the sender that delivers its messages, and a digest
// of what building it read from disk, so that a reload can tell an
// unchanged action from one whose token, CA or program changed.
type spec struct {
	act    config.Action
	kind   string
	send   sender
	digest [sha256.Size]byte
}

// same reports whether o is the same action as s, so that a reload leaves
// it running.
func (s *spec) same(o *spec) bool {
	return s.kind == o.kind && s.digest == o.digest && reflect.DeepEqual(s.act, o.act)
}

// builder is what building a sender needs besides the action.
type builder struct {
	now  func() time.Time
	dirs []string // AllowExec, symlinks resolved
}

// buildAll validates and builds every action, and returns every error,
// each naming its action.
func buildAll(acts []config.Action, allowExec []string, b builder) ([]*spec, error) {
	var errs []error
	for _, a := range acts {
		if a.Command == nil {
			continue
		}
		for _, dir := range allowExec {
			real, err := filepath.EvalSymlinks(dir)
			if err == nil {
				real, err = filepath.Abs(real)
			}
			if err != nil {
				errs = append(errs, fmt.Errorf("action_dirs: %w", err))
				continue
			}
			b.dirs = append(b.dirs, real)
		}
		break
	}

	specs := make([]*spec, 0, len(acts))
	seen := map[string]bool{}
	for i, a := range acts {
		name := a.Name
		if name == "" {
			name = fmt.Sprintf("#%d", i+1)
			errs = append(errs, fmt.Errorf("action %s: no name", name))
		} else if seen[name] {
			errs = append(errs, fmt.Errorf("action %q: defined twice", name))
			continue
		}
		seen[name] = true
		s, es := b.build(a)
		for _, err := range es {
			errs = append(errs, fmt.Errorf("action %q: %w", name, err))
		}
		if len(es) == 0 && a.Name != "" {
			specs = append(specs, s)
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return specs, nil
}

// build validates one action and builds its sender.
func (b builder) build(a config.Action) (*spec, []error) {
	var errs []error
	fail := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	// Zero durations take the defaults. Retries does not: the
	// configuration fills in its default, so a zero there is "retries: 0".
	if a.Timeout == 0 {
		a.Timeout = config.DefaultActionTimeout
	}
	if a.MinBackoff == 0 {
		a.MinBackoff = config.DefaultActionMinBackoff
	}
	if a.MaxBackoff == 0 {
		a.MaxBackoff = config.DefaultActionMaxBackoff
	}
	switch {
	case a.Timeout < 0:
		fail("timeout: %v is negative", a.Timeout)
	case a.Retries < 0:
		fail("retries: %d is negative", a.Retries)
	case a.MinBackoff < 0:
		fail("min_backoff: %v is negative", a.MinBackoff)
	case a.MaxBackoff < a.MinBackoff:
		fail("max_backoff: %v is less than min_backoff %v", a.MaxBackoff, a.MinBackoff)
	}
	switch {
	case a.RateLimit < 0:
		fail("rate_limit: count %d is negative", a.RateLimit)
	case a.RateLimit > 0 && a.RatePer <= 0:
		fail("rate_limit: count %d needs a positive per", a.RateLimit)
	case a.RateLimit == 0 && a.RatePer != 0:
		fail("rate_limit: per %v needs a count", a.RatePer)
	}

	f := &files{h: sha256.New()}
	s := &spec{act: a}
	var es []error
	n := 0
	if a.Webhook != nil {
		n++
		s.kind = "webhook"
		s.send, es = newWebhook(a.Webhook, f)
	}
	if a.Email != nil {
		n++
		s.kind = "email"
		s.send, es = newEmail(a.Email, f)
	}
	if a.Alertmanager != nil {
		n++
		s.kind = "alertmanager"
		s.send, es = newAlertmanager(a.Alertmanager, f, b.now)
	}
	if a.Command != nil {
		n++
		s.kind = "command"
		s.send, es = newCommand(a.Command, f, b.dirs)
	}
	switch n {
	case 0:
		fail("no type: want one of webhook, email, alertmanager and command")
	case 1:
		for _, err := range es {
			errs = append(errs, fmt.Errorf("%s: %w", s.kind, err))
		}
	default:
		fail("more than one type: want one of webhook, email, alertmanager and command")
	}
	if len(errs) > 0 {
		return nil, errs
	}
	f.h.Sum(s.digest[:0])
	return s, nil
}

// files reads what actions name on disk, and digests what it read.
type files struct{ h hash.Hash }

func (f *files) read(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	f.note(path)
	f.note(string(b))
	return b, nil
}

// note adds s to the digest.
func (f *files) note(s string) {
	fmt.Fprintf(f.h, "%d:%s", len(s), s)
}

// secret reads a token or password: the file's content without its final
// line break (and, if trim, without surrounding white space).
func (f *files) secret(path string, trim bool) (string, error) {
	b, err := f.read(path)
	if err != nil {
		return "", err
	}
	s := strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r")
	if trim {
		s = strings.TrimSpace(s)
	}
	if s == "" {
		return "", fmt.Errorf("%s is empty", path)
	}
	return s, nil
}

// caPool reads a PEM file of certificate authorities, which replace the
// system's.
func (f *files) caPool(path string) (*x509.CertPool, error) {
	b, err := f.read(path)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		return nil, fmt.Errorf("%s: no PEM certificate", path)
	}
	return pool, nil
}
