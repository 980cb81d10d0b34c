package config

import (
	"fmt"
	"net/url"
	"time"

	"github.com/watchfloor/watchfloor/rules"
)

// History says how long numeric cells keep their recent values in the
// gateway's memory. A zero Window or MaxSeries is the default.
type History struct {
	// Window is how long a cell no Windows entry matches keeps its
	// values.
	Window time.Duration
	// Windows give longer (or shorter) windows to the cells their
	// patterns match; the first that matches a cell wins.
	Windows []HistoryWindow
	// MaxSeries is the most series one history query may return.
	MaxSeries int
}

// HistoryWindow is a window for the cells a pattern matches.
type HistoryWindow struct {
	// Match is the pattern as written; Pattern its compiled form.
	Match   string
	Pattern *rules.Pattern
	Window  time.Duration
}

// History bounds: a window longer than MaxHistoryWindow would hold more
// than memory is for; long-term history belongs in a time-series store
// (remote_write).
const (
	DefaultHistoryWindow = 15 * time.Minute
	MaxHistoryWindow     = 24 * time.Hour
	DefaultMaxSeries     = 500
)

// DefaultHistory is the history section's defaults.
func DefaultHistory() History {
	return History{Window: DefaultHistoryWindow, MaxSeries: DefaultMaxSeries}
}

// RemoteWrite is a time-series store that receives every change of every
// numeric cell, and each cell's severity, by Prometheus remote write.
type RemoteWrite struct {
	// Name names the target in metrics and logs; by default its URL's
	// host.
	Name string
	URL  string
	// Username and PasswordFile give basic auth; BearerTokenFile a bearer
	// token. Secrets are read from files, so the configuration can be
	// shared.
	Username, PasswordFile string
	BearerTokenFile        string
	// CAFile verifies an https target; CertFile and KeyFile are a client
	// certificate for it.
	CAFile, CertFile, KeyFile string
	Timeout                   time.Duration
	// BatchSize is the most samples per request; Buffer the most held
	// while the store is down or slow, beyond which new ones are dropped
	// and counted.
	BatchSize, Buffer int
	// Resend sends a series' value again when it has not changed for this
	// long, so the store's lookback keeps it live.
	Resend time.Duration
}

// Remote-write defaults.
const (
	DefaultRemoteTimeout = 10 * time.Second
	DefaultRemoteBatch   = 5000
	DefaultRemoteBuffer  = 1_000_000
	DefaultRemoteResend  = time.Minute
)

func history(v value, h *History) {
	v.object(
		optional("window", positive(&h.Window, "15m or 1h")),
		optional("windows", func(v value) {
			for _, w := range v.items() {
				var hw HistoryWindow
				w.object(
					required("match", setText(&hw.Match)),
					required("window", positive(&hw.Window, "2h")),
				)
				h.Windows = append(h.Windows, hw)
			}
		}),
		optional("max_series", func(v value) {
			setInt(&h.MaxSeries)(v)
			if h.MaxSeries < 1 {
				v.fail("must be at least 1")
			}
		}),
	)
}

// positive is setTimeout for a duration that must be more than zero.
func positive(dst *time.Duration, like string) func(value) {
	return func(v value) {
		if d, ok := durationLike(v, like); ok {
			if d <= 0 {
				v.fail("must be more than 0s")
				return
			}
			*dst = d
		}
	}
}

func remoteWrite(v value) RemoteWrite {
	r := RemoteWrite{Timeout: DefaultRemoteTimeout, BatchSize: DefaultRemoteBatch, Buffer: DefaultRemoteBuffer, Resend: DefaultRemoteResend}
	v.object(
		optional("name", setStr(&r.Name)),
		required("url", setStr(&r.URL)),
		optional("basic_auth", func(v value) {
			v.object(
				required("username", setStr(&r.Username)),
				required("password_file", setStr(&r.PasswordFile)),
			)
		}),
		optional("bearer_token_file", setStr(&r.BearerTokenFile)),
		optional("tls", func(v value) {
			v.object(
				optional("ca_file", setStr(&r.CAFile)),
				optional("cert_file", setStr(&r.CertFile)),
				optional("key_file", setStr(&r.KeyFile)),
			)
		}),
		optional("timeout", setTimeout(&r.Timeout, "10s")),
		optional("batch_size", setInt(&r.BatchSize)),
		optional("buffer", setInt(&r.Buffer)),
		optional("resend", setTimeout(&r.Resend, "1m, or 0s for never")),
	)
	return r
}

func (v *validator) history(h *History, targets []RemoteWrite) {
	// Zero, in a configuration built in code, is the default.
	if h.Window < 0 || h.Window > MaxHistoryWindow {
		v.errorf("history.window", "must be more than 0s and at most 24h")
	}
	if h.MaxSeries < 0 {
		v.errorf("history.max_series", "must be at least 1")
	}
	for i := range h.Windows {
		w := &h.Windows[i]
		f := index("history.windows", i)
		if w.Window < 0 || w.Window > MaxHistoryWindow {
			v.errorf(f+".window", "must be more than 0s and at most 24h")
		}
		if v.skipped(f + ".match") {
			continue
		}
		p, err := rules.ParsePattern(w.Match)
		if err != nil {
			v.ruleError(f+".match", err)
			continue
		}
		w.Pattern = p
	}
	names := map[string]string{}
	for i := range targets {
		t := &targets[i]
		f := index("remote_write", i)
		if !v.skipped(f + ".url") {
			u, err := url.Parse(t.URL)
			switch {
			case err != nil:
				v.errorf(f+".url", "%v", err)
			case u.Scheme != "http" && u.Scheme != "https" || u.Host == "":
				v.errorf(f+".url", "must be an http:// or https:// URL, like http://127.0.0.1:8428/api/v1/write")
			case u.User != nil:
				v.errorf(f+".url", "must not hold credentials: use basic_auth with a password_file")
			case t.Name == "":
				t.Name = u.Host
			}
		}
		if t.Name != "" {
			v.unique(f+".name", "remote_write target", t.Name, names, f)
		}
		if t.Username != "" && t.BearerTokenFile != "" {
			v.errorf(f+".bearer_token_file", "give basic_auth or bearer_token_file, not both")
		}
		if (t.CertFile == "") != (t.KeyFile == "") {
			v.errorf(f+".tls", "cert_file and key_file go together")
		}
		if t.Timeout <= 0 {
			v.errorf(f+".timeout", "must be more than 0s")
		}
		if t.BatchSize < 1 || t.BatchSize > 100_000 {
			v.errorf(f+".batch_size", "must be from 1 to 100000")
		}
		if t.Buffer < t.BatchSize {
			v.errorf(f+".buffer", "must be at least batch_size (%d)", t.BatchSize)
		}
		if t.Resend < 0 {
			v.errorf(f+".resend", "must not be negative")
		}
	}
}

// String names the target for messages.
func (r RemoteWrite) String() string { return fmt.Sprintf("remote_write %s (%s)", r.Name, r.URL) }
