package config

import (
	"errors"
	"fmt"
	"maps"
	"net"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/watchfloor/watchfloor/samplers"
)

// validator checks the rules that span fields: names, references, the
// listen address, sampler parameters, roles and users, incidents and
// actions. It works on a decoded Config, so Parse and Validate share it;
// Parse gives it the places of the fields and the fields that failed to
// decode (already reported, and not to be judged again).
type validator struct {
	file  string
	errs  Errors
	place func(field string) (line, col int) // nil: no places
	skip  func(field string) bool            // nil: judge every field
	// text places a character inside the text of an expression or a
	// pattern (decoder.textPlace); nil: no places.
	text func(field string, line, col int) (int, int, bool)
}

func (v *validator) skipped(field string) bool {
	return v.skip != nil && v.skip(field)
}

func (v *validator) errorf(field, format string, args ...any) {
	if v.skipped(field) {
		return
	}
	e := Error{File: v.file, Field: field, Msg: fmt.Sprintf(format, args...)}
	if v.place != nil {
		e.Line, e.Column = v.place(field)
	}
	v.errs = append(v.errs, e)
}

func (v *validator) check(c *Config) {
	v.listen(c)
	if c.TLS != nil {
		v.nonEmpty("tls.cert_file", c.TLS.CertFile)
		v.nonEmpty("tls.key_file", c.TLS.KeyFile)
		if c.TLS.RequireProbeCert && c.TLS.ClientCAFile == "" && !v.skipped("tls.client_ca_file") {
			v.errorf("tls.require_probe_cert", "needs client_ca_file, the authority that signs the probes' certificates")
		}
	}
	v.publicURL(c.PublicURL)
	v.allowedHosts(c.AllowedHosts)
	v.limits(c.Limits)

	// References are checked only against complete name sets: a probe
	// whose name did not decode would make every entity on it look wrong.
	probes, probesComplete := map[string]string{}, !v.skipped("probes")
	tokens := map[string]string{}
	for i, p := range c.Probes {
		f := index("probes", i)
		probesComplete = probesComplete && !v.skipped(f+".name")
		v.unique(f+".name", "probe", p.Name, probes, f)
		if p.Name == SelfProbe {
			v.errorf(f+".name", "%q is the gateway's own probe: choose another name", SelfProbe)
		}
		v.token(f+".token_sha256", p.TokenSHA256, tokens, f)
	}

	samplerNames, samplersComplete := map[string]string{}, !v.skipped("samplers")
	for i, s := range c.Samplers {
		f := index("samplers", i)
		samplersComplete = samplersComplete && !v.skipped(f+".name")
		v.unique(f+".name", "sampler", s.Name, samplerNames, f)
		v.sampler(f, s)
	}

	entities := map[string]string{}
	for i, e := range c.Entities {
		f := index("entities", i)
		v.unique(f+".name", "entity", e.Name, entities, f)
		if v.nonEmpty(f+".probe", e.Probe) && probesComplete {
			if _, ok := probes[e.Probe]; !ok {
				v.errorf(f+".probe", "unknown probe %q", e.Probe)
			}
		}
		af := f + ".attributes"
		for _, k := range slices.Sorted(maps.Keys(e.Attributes)) {
			switch {
			case k == "":
				v.errorf(join(af, k), "attribute names must not be empty")
			case !utf8.ValidString(k) || !utf8.ValidString(e.Attributes[k]):
				v.errorf(join(af, k), "must be valid UTF-8")
			}
		}
		listed := map[string]string{}
		for j, name := range e.Samplers {
			sf := index(f+".samplers", j)
			if !v.nonEmpty(sf, name) {
				continue
			}
			if first, dup := listed[name]; dup {
				v.errorf(sf, "sampler %q is already listed (%s)", name, first)
				continue
			}
			listed[name] = sf
			if _, ok := samplerNames[name]; !ok && samplersComplete {
				v.errorf(sf, "unknown sampler %q", name)
			}
		}
	}
	v.rules(c.Rules)
	v.access(c, tokens)
	v.history(&c.History, c.RemoteWrite)
	v.incidents(c)
	v.calendars(&c.Calendars)
	v.maintenance(c.Maintenance)
	v.dashboard(&c.Dashboard)
	v.scheduleRefs(c)
	v.actionRefs(c, v.actions(c))
}

// nonEmpty reports whether s is non-empty, recording an error if not.
func (v *validator) nonEmpty(field, s string) bool {
	if s == "" {
		v.errorf(field, "must not be empty")
		return false
	}
	return true
}

// unique checks a name, kind says of what, against those seen so far,
// and adds it to them. Names may hold any character: paths percent-encode
// them.
func (v *validator) unique(field, kind, name string, seen map[string]string, where string) {
	switch {
	case !v.nonEmpty(field, name):
	case !utf8.ValidString(name):
		v.errorf(field, "must be valid UTF-8")
	case seen[name] != "":
		v.errorf(field, "%s %q is already defined (%s)", kind, name, seen[name])
	default:
		seen[name] = where
	}
}

// token checks a probe's token hash. Sharing a token would let one
// probe's leaked secret connect as the other.
func (v *validator) token(field, tok string, seen map[string]string, where string) {
	if !v.sha256Hex(field, tok, "the probe's token") {
		return
	}
	if first := seen[tok]; first != "" {
		v.errorf(field, "same token as %s: each probe needs its own token", first)
		return
	}
	seen[tok] = where
}

// sha256Hex reports whether s is a SHA-256 as 64 lowercase hex
// characters, recording an error if not; of says of what.
func (v *validator) sha256Hex(field, s, of string) bool {
	switch {
	case isHexSHA256(s):
		return true
	case isHexSHA256(strings.ToLower(s)):
		v.errorf(field, "must be lowercase hex")
	default:
		v.errorf(field, "must be 64 lowercase hex characters: the SHA-256 of %s", of)
	}
	return false
}

func isHexSHA256(s string) bool {
	if len(s) != 64 {
		return false
	}
	for _, c := range []byte(s) {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// sampler checks a sampler's type, interval and parameters. The
// parameters are checked by the type's Validate, which touches nothing:
// the sampler is built on its probe's host.
func (v *validator) sampler(f string, s Sampler) {
	if s.Interval < samplers.MinInterval {
		v.errorf(f+".interval", "%v is below the minimum interval %v", s.Interval, samplers.MinInterval)
	}
	if !v.nonEmpty(f+".type", s.Type) {
		return
	}
	if _, ok := samplers.Lookup(s.Type); !ok {
		known := "none are registered"
		if names := samplers.TypeNames(); len(names) > 0 {
			known = "known: " + strings.Join(names, ", ")
		}
		v.errorf(f+".type", "unknown sampler type %q (%s)", s.Type, known)
		return
	}
	if v.skipped(f+".type") || v.skipped(f+".params") {
		return
	}
	if err := samplers.Validate(s.Type, s.Params); err != nil {
		v.errorf(f+".params", "%v", err)
	}
}

// listen checks the listen address, and that plain HTTP is served on
// loopback only unless the operator has opted out.
func (v *validator) listen(c *Config) {
	const field = "listen"
	host, port, err := net.SplitHostPort(c.Listen)
	if err != nil {
		v.errorf(field, "%q is not host:port (like %q or %q)", c.Listen, DefaultListen, "127.0.0.1:7039")
		return
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		v.errorf(field, "port %q must be a number from 0 to 65535", port)
		return
	}
	loopback, ok := hostKind(host)
	if !ok {
		v.errorf(field, "host %q is neither an IP address nor a host name", host)
		return
	}
	if loopback || c.TLS != nil || c.AllowInsecureHTTP || v.skipped("allow_insecure_http") {
		return
	}
	where := fmt.Sprintf("%q is not a loopback address", c.Listen)
	if a, err := netip.ParseAddr(host); host == "" || err == nil && a.IsUnspecified() {
		where = fmt.Sprintf("%q listens on every interface", c.Listen)
	}
	v.errorf(field, "%s, and plain HTTP is served only on loopback: set tls (cert_file and key_file), "+
		"or set allow_insecure_http: true to accept unencrypted traffic", where)
}

// hostKind reports whether host is a loopback address, and whether it is
// a valid host at all: empty (every interface), an IP address or a host
// name. Host names other than localhost count as not loopback: what they
// resolve to is not known here.
func hostKind(host string) (loopback, ok bool) {
	if host == "" {
		return false, true
	}
	if strings.EqualFold(host, "localhost") {
		return true, true
	}
	if a, err := netip.ParseAddr(host); err == nil {
		return a.Unmap().IsLoopback(), true
	}
	return false, isHostName(host)
}

// isHostName reports whether s is a DNS name: dot-separated labels of
// letters, digits, hyphens and underscores.
func isHostName(s string) bool {
	s = strings.TrimSuffix(s, ".")
	if s == "" || len(s) > 253 {
		return false
	}
	for label := range strings.SplitSeq(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, c := range []byte(label) {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}

// The largest limits the configuration may set: far beyond what one probe
// should need, and low enough that a typo does not let a probe hold
// gigabytes.
const (
	maxDataviews = 1_000_000
	maxColumns   = 65_536
	maxHeadlines = 65_536
	maxRows      = 10_000_000
	maxCells     = 1_000_000_000
)

// limits checks that every limit is from 1 to its largest.
func (v *validator) limits(l Limits) {
	for _, lim := range []struct {
		field  string
		n, max int64
	}{
		{"limits.max_dataviews", int64(l.MaxDataviews), maxDataviews},
		{"limits.max_columns", int64(l.MaxColumns), maxColumns},
		{"limits.max_headlines", int64(l.MaxHeadlines), maxHeadlines},
		{"limits.max_rows", int64(l.MaxRows), maxRows},
		{"limits.max_cells", l.MaxCells, maxCells},
	} {
		if lim.n < 1 || lim.n > lim.max {
			v.errorf(lim.field, "must be from 1 to %d, not %d", lim.max, lim.n)
		}
	}
}

// publicURL checks the URL people reach the gateway at: absolute, http or
// https, with a valid host and no credentials, query or fragment, so that
// links can be made by appending paths to it.
func (v *validator) publicURL(s string) {
	const field = "public_url"
	if s == "" {
		return
	}
	// The URL is not quoted back when it may hold a password.
	u, err := url.Parse(s)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		v.errorf(field, "not a URL: %v", err)
		return
	}
	switch {
	case u.User != nil:
		v.errorf(field, "must not hold a user name or password")
	case u.Scheme != "http" && u.Scheme != "https":
		v.errorf(field, "%q must be an absolute http:// or https:// URL, like \"https://watchfloor.example.com\"", s)
	case u.Host == "" || u.Hostname() == "":
		v.errorf(field, "%q has no host", s)
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.HasSuffix(s, "#"):
		v.errorf(field, "%q must not have a query or a fragment", s)
	default:
		if _, ok := hostKind(u.Hostname()); !ok {
			v.errorf(field, "host %q is neither an IP address nor a host name", u.Hostname())
		} else if p := u.Port(); p != "" {
			if n, err := strconv.ParseUint(p, 10, 16); err != nil || n == 0 {
				v.errorf(field, "port %q must be a number from 1 to 65535", p)
			}
		}
	}
}

// allowedHosts checks the further host names the gateway answers browsers
// for: each a host name or an IP address alone, listed once.
func (v *validator) allowedHosts(hosts []string) {
	seen := map[string]string{}
	for i, h := range hosts {
		f := index("allowed_hosts", i)
		if !v.nonEmpty(f, h) {
			continue
		}
		_, _, portErr := net.SplitHostPort(h)
		_, valid := hostKind(h)
		switch key := strings.ToLower(h); {
		case strings.Contains(h, "/"):
			v.errorf(f, "%q must be a host name or an IP address, not a URL or a path", h)
		case strings.HasPrefix(h, "["):
			v.errorf(f, "%q: write an IPv6 address without brackets", h)
		case portErr == nil:
			v.errorf(f, "%q must be a host name or an IP address without a port", h)
		case strings.Contains(h, "*"):
			v.errorf(f, "%q: wildcards are not supported, list each host name", h)
		case !valid:
			v.errorf(f, "%q is neither an IP address nor a host name", h)
		case seen[key] != "":
			v.errorf(f, "%q is already listed (%s)", h, seen[key])
		default:
			seen[key] = f
		}
	}
}
