package access

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"

	"github.com/labstack/echo/v5"
)

// GuardOptions say which host names a gateway answers to and which paths
// answer to any.
type GuardOptions struct {
	// Listen is the address the gateway listens on (host:port). Its host
	// is allowed unless it is unspecified ("", 0.0.0.0, ::), which names
	// no host a browser should use.
	Listen string
	// PublicURL, if set, is the http or https URL people use to reach the
	// gateway (through a proxy, say); its host is allowed.
	PublicURL string
	// Hosts are further host names or IP addresses to allow, without
	// ports; international names in their ASCII (xn--) form.
	Hosts []string
	// Exempt are paths served whatever the Host: the netprobe socket
	// (probes dial whatever name their operator gave them and prove
	// themselves with a token) and health checks (load balancers use
	// IPs). A path matches exactly, as the router sees it. Exempt paths
	// skip the Host check only; cross-site writes are refused on them too.
	Exempt []string
}

// Guard keeps out requests that a web page on another site makes the
// browser send: after DNS rebinding (a name the attacker controls now
// resolves to the gateway, so the Host header carries that name), and
// cross-site writes (a form or fetch that needs no CORS preflight, such as
// a text/plain POST). Loopback names are always allowed, so a guard for
// the demo needs no options. A Guard never changes once made and is safe
// for concurrent use.
type Guard struct {
	hosts  map[string]struct{} // normalised by hostname
	exempt map[string]struct{}
}

// NewGuard returns a guard allowing loopback names and those opts give.
// It reports every malformed option at once, each naming its field.
func NewGuard(opts GuardOptions) (*Guard, error) {
	g := &Guard{hosts: map[string]struct{}{"localhost": {}}, exempt: make(map[string]struct{}, len(opts.Exempt))}
	var errs []error
	allow := func(field, value, host string) {
		name, err := configHost(host)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s %q: %w", field, value, err))
			return
		}
		g.hosts[name] = struct{}{}
	}
	host, _, err := net.SplitHostPort(opts.Listen)
	switch {
	case err != nil:
		errs = append(errs, fmt.Errorf("listen %q: %w", opts.Listen, err))
	case !unspecified(host):
		allow("listen", opts.Listen, host)
	}
	if opts.PublicURL != "" {
		u, err := url.Parse(opts.PublicURL)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("public URL: %w", err))
		case u.Scheme != "http" && u.Scheme != "https":
			errs = append(errs, fmt.Errorf("public URL %q: want an http or https URL", opts.PublicURL))
		case u.Host == "":
			errs = append(errs, fmt.Errorf("public URL %q: no host", opts.PublicURL))
		default:
			allow("public URL", opts.PublicURL, u.Hostname())
		}
	}
	for i, h := range opts.Hosts {
		allow(fmt.Sprintf("hosts[%d]", i), h, h)
	}
	for i, p := range opts.Exempt {
		if !strings.HasPrefix(p, "/") {
			errs = append(errs, fmt.Errorf("exempt[%d] %q: want a path starting with /", i, p))
		}
		g.exempt[p] = struct{}{}
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("access guard: %w", errors.Join(errs...))
	}
	return g, nil
}

// configHost normalises a configured host name or IP address (no port, no
// brackets) the way hostname normalises a Host header.
func configHost(h string) (string, error) {
	if ip, err := netip.ParseAddr(h); err == nil {
		return canonicalIP(ip), nil
	}
	name := strings.ToLower(strings.TrimSuffix(h, "."))
	if !validName(name) {
		return "", errors.New("want a host name or IP address, without a port")
	}
	return name, nil
}

// unspecified reports whether a listen host means every address: "",
// 0.0.0.0, ::.
func unspecified(host string) bool {
	if host == "" {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsUnspecified()
}

func canonicalIP(ip netip.Addr) string { return ip.Unmap().WithZone("").String() }

// Middleware refuses, before routing, a request whose Host the gateway
// does not answer to (421 Misdirected Request; exempt paths excepted) and
// a state-changing request sent cross-site (403). Install it with e.Pre,
// so it also runs for paths no route matches.
func (g *Guard) Middleware(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c *echo.Context) error {
		r := c.Request()
		if !g.isExempt(r) && !g.allowedHost(r.Host) {
			return echo.NewHTTPError(http.StatusMisdirectedRequest,
				fmt.Sprintf("this gateway does not answer to host %q; use a name it is configured with", r.Host))
		}
		if !safeMethod(r.Method) && !fromSameOrigin(r) {
			return echo.NewHTTPError(http.StatusForbidden, "cross-site request refused")
		}
		return next(c)
	}
}

// CheckOrigin reports whether a browser's WebSocket upgrade may proceed,
// for gorilla's Upgrader.CheckOrigin: the Host must be allowed (exempt
// paths do not apply: they are for clients that are not browsers), an
// Origin, when present, must be the request's own, and Sec-Fetch-Site,
// when present, must say same-origin or none. Upgrades are GETs, which
// the Middleware lets through, and the same-origin policy does not stop a
// page on another site from opening a socket, so this is the check that
// does.
func (g *Guard) CheckOrigin(r *http.Request) bool {
	if !g.allowedHost(r.Host) {
		return false
	}
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" && !sameOriginSite(site) {
		return false
	}
	origin := r.Header.Get("Origin")
	return origin == "" || sameOrigin(origin, r.Host)
}

func (g *Guard) isExempt(r *http.Request) bool {
	// The router matches RawPath when it is set, so a path spelled with
	// needless escapes is not the exempt path.
	if r.URL.RawPath != "" {
		return false
	}
	_, ok := g.exempt[r.URL.Path]
	return ok
}

func (g *Guard) allowedHost(hostport string) bool {
	name, ok := hostname(hostport)
	if !ok {
		return false
	}
	if _, ok := g.hosts[name]; ok {
		return true
	}
	ip, err := netip.ParseAddr(name)
	return err == nil && ip.IsLoopback()
}

// hostname returns the host in a Host header: the port and an IPv6
// address's brackets removed, lower case, without a trailing dot, an IP
// address in its canonical form. It reports false for anything malformed,
// such as an IPv6 address without brackets or a port that is not a number.
func hostname(hostport string) (string, bool) {
	if rest, ok := strings.CutPrefix(hostport, "["); ok {
		end := strings.IndexByte(rest, ']')
		if end < 0 || !validPort(rest[end+1:]) {
			return "", false
		}
		ip, err := netip.ParseAddr(rest[:end])
		if err != nil || !ip.Is6() {
			return "", false
		}
		return canonicalIP(ip), true
	}
	host, port := hostport, ""
	if i := strings.LastIndexByte(hostport, ':'); i >= 0 {
		host, port = hostport[:i], hostport[i:]
	}
	if !validPort(port) {
		return "", false
	}
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	if ip, err := netip.ParseAddr(host); err == nil {
		return canonicalIP(ip), ip.Is4() // IPv6 comes in brackets
	}
	if !validName(host) {
		return "", false
	}
	return host, true
}

// validPort reports whether s is empty or a colon and digits (possibly
// none, as URLs allow).
func validPort(s string) bool {
	if s == "" {
		return true
	}
	if s[0] != ':' {
		return false
	}
	for _, c := range s[1:] {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// validName reports whether s looks like a DNS name: ASCII letters,
// digits, hyphens and underscores in non-empty labels.
func validName(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for label := range strings.SplitSeq(s, ".") {
		if label == "" {
			return false
		}
		for _, c := range label {
			if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// fromSameOrigin reports whether a request is not a browser's cross-site
// one. Sec-Fetch-Site, which every current browser sends, decides when
// present; otherwise an Origin must be the request's own; a request with
// neither comes from no browser (curl, scripts, probes) and passes.
func fromSameOrigin(r *http.Request) bool {
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" {
		return sameOriginSite(site)
	}
	if origin := r.Header.Get("Origin"); origin != "" {
		return sameOrigin(origin, r.Host)
	}
	return true
}

func sameOriginSite(site string) bool { return site == "same-origin" || site == "none" }

// sameOrigin reports whether origin (an Origin header) is an http or https
// origin whose host and port are those of the request's Host. The scheme
// is not compared with the request's: behind a TLS-terminating proxy the
// gateway cannot know it, and a page served from the same host and port
// is the gateway's own whatever its scheme.
func sameOrigin(origin, host string) bool {
	u, err := url.Parse(origin)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return false
	}
	if u.Host == "" || u.User != nil || u.Path != "" || u.RawQuery != "" || u.Fragment != "" {
		return false
	}
	return strings.EqualFold(u.Host, host)
}
