package config

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/watchfloor/watchfloor/gateway/access"
	"github.com/watchfloor/watchfloor/gateway/incident"
	"github.com/watchfloor/watchfloor/gateway/maintenance"
	"github.com/watchfloor/watchfloor/rules"
)

// DefaultListen is the address the gateway listens on when the
// configuration names none.
const DefaultListen = ":7039"

// SelfProbe is the name of the gateway's own probe, whose dataviews show
// the gateway's state (its history window, its remote_write targets); no
// configured probe may take it.
const SelfProbe = "watchfloor"

// Config is a gateway's configuration. Parse and Load fill in defaults, so
// every field holds what the gateway will use. A Config is not changed by
// its methods and is safe for concurrent reads.
type Config struct {
	// File is where the configuration was read from ("" if parsed from
	// bytes with no name).
	File string
	// Listen is the gateway's host:port.
	Listen string
	// TLS is nil when the gateway serves plain HTTP.
	TLS *TLS
	// AllowInsecureHTTP is the operator's explicit opt-out from the rule
	// that plain HTTP is served only on loopback.
	AllowInsecureHTTP bool
	// PublicURL is the absolute http:// or https:// URL people reach the
	// gateway at, as written; "" when the configuration gives none. It is
	// used in links, and its host is accepted as a Host header.
	PublicURL string
	// AllowedHosts are further host names and IP addresses, without ports,
	// the gateway answers browsers for, beyond the loopback names, the
	// listen host and PublicURL's host.
	AllowedHosts []string
	// Limits are what the gateway holds for each probe.
	Limits Limits
	// Probes are the netprobes allowed to connect.
	Probes []Probe
	// Samplers are the sampler instances entities may run.
	Samplers []Sampler
	// Entities are the managed entities, each on one probe.
	Entities []Entity
	// Rules are the rules as written, in file order; validation has
	// compiled them, and rules.Compile(c.Rules, prev) makes the set.
	Rules []rules.Def

	// Roles are the roles the configuration defines or redefines, in file
	// order; RoleTable merges them with access.DefaultRoles.
	Roles []Role
	// Users are the people defined in the file, in file order. More are
	// managed at run time in the gateway's database; a name is in one
	// place or the other.
	Users []User
	// Sessions say how long a login lasts.
	Sessions Sessions
	// Metrics says who may scrape /metrics.
	Metrics Metrics
	// Audit says how long the audit log keeps its entries.
	Audit Audit
	// History says how long cells keep their recent values in memory;
	// RemoteWrite where every change is sent for the long term.
	History     History
	RemoteWrite []RemoteWrite
	// Incidents say how incidents open, escalate and keep clients told;
	// Actions what the gateway does when they change, and ActionDirs the
	// directories command actions may run programs from.
	Incidents  Incidents
	Actions    []Action
	ActionDirs []string
	// Calendars are the desks' clocks, and the schedules and work cycles
	// of the systems watched.
	Calendars Calendars
	// Maintenance are the maintenance windows the configuration plans,
	// in file order, each with Source and PlannedBy "config"; more are
	// planned through the API and kept in the store.
	Maintenance []maintenance.Window
	// Dashboard is what the web UI's pages are told: how to alert people,
	// by environment.
	Dashboard Dashboard
}

// Incidents is the configuration's incidents section.
type Incidents struct {
	Policy incident.Policy
	// Retention is how long a closed incident is kept.
	Retention time.Duration
}

// DefaultIncidentRetention is how long closed incidents are kept when the
// configuration does not say.
const DefaultIncidentRetention = 90 * 24 * time.Hour

// Role defines a role, or redefines a default one, in the configuration.
type Role struct {
	Name string
	// Extends names roles whose permissions this one holds too; they
	// may be default roles or others defined here, without cycles.
	Extends []string
	// Permissions are the role's own permissions, beyond those it
	// extends.
	Permissions []access.Permission
	// RequiresScope makes holders of the role need a scope.
	RequiresScope bool
}

// User is a person defined in the configuration file.
type User struct {
	Name  string
	Roles []string
	// Scope limits what the user sees; the zero Scope is the whole
	// estate.
	Scope access.Scope
	// PasswordHash is an argon2id or bcrypt hash (see
	// access.HashPassword); "" means the user cannot log in with a
	// password (only through a one-time link).
	PasswordHash string
}

// Sessions say how long a login lasts: a session ends after IdleTimeout
// without a request or an open dashboard socket, and AbsoluteTimeout after
// the login whatever happens.
type Sessions struct {
	IdleTimeout     time.Duration
	AbsoluteTimeout time.Duration
}

// DefaultSessions are what Parse fills in: an hour idle, twelve hours (a
// long shift) in all.
func DefaultSessions() Sessions {
	return Sessions{IdleTimeout: time.Hour, AbsoluteTimeout: 12 * time.Hour}
}

// Metrics says who may scrape /metrics: a caller presenting the bearer
// token whose SHA-256 is BearerTokenSHA256, a logged-in person holding
// scrape-metrics, and, if PublicOnLoopback, anyone connecting from a
// loopback address.
type Metrics struct {
	BearerTokenSHA256 string
	PublicOnLoopback  bool
}

// Audit says how long audit entries are kept.
type Audit struct {
	Retention time.Duration
}

// DefaultAudit keeps audit entries for 400 days, a year and a margin.
func DefaultAudit() Audit { return Audit{Retention: 400 * 24 * time.Hour} }

// RoleTable returns the default roles with the configuration's roles
// merged in, extensions resolved: each role's permissions are its own and
// those of the roles it extends, once each, in the order access.All gives
// them. Validation has checked the roles, so it cannot fail on a parsed
// Config.
func (c *Config) RoleTable() access.Roles {
	defaults := access.DefaultRoles()
	rs := access.DefaultRoles()
	// A role may extend one defined after it, or a default one that the
	// configuration does not redefine. Each is resolved once, so that
	// roles extending each other in many ways cost what their extends
	// lists do; one met again while it is being resolved is in a cycle
	// (which validation refuses) and adds nothing.
	defined := make(map[string]Role, len(c.Roles))
	for _, r := range c.Roles {
		if _, dup := defined[r.Name]; !dup {
			defined[r.Name] = r
		}
	}
	resolved := map[string]access.Role{}
	active := map[string]bool{}
	var resolve func(name string) access.Role
	resolve = func(name string) access.Role {
		r, ok := defined[name]
		switch {
		case !ok:
			return defaults[name]
		case active[name]:
			return access.Role{}
		}
		if done, ok := resolved[name]; ok {
			return done
		}
		active[name] = true
		perms, scoped := slices.Clone(r.Permissions), r.RequiresScope
		for _, e := range r.Extends {
			er := resolve(e)
			perms = append(perms, er.Permissions...)
			scoped = scoped || er.RequiresScope
		}
		delete(active, name)
		done := access.Role{Name: name, Permissions: ordered(perms), RequiresScope: scoped}
		resolved[name] = done
		return done
	}
	for name := range defined {
		rs[name] = resolve(name)
	}
	return rs
}

// ordered sorts permissions into the order access.All gives them, those
// it does not know last, and drops repeats.
func ordered(perms []access.Permission) []access.Permission {
	rank := map[access.Permission]int{}
	for i, p := range access.All() {
		rank[p] = i + 1
	}
	slices.SortFunc(perms, func(a, b access.Permission) int {
		ra, rb := rank[a], rank[b]
		if ra == 0 {
			ra = len(rank) + 1
		}
		if rb == 0 {
			rb = len(rank) + 1
		}
		return cmp.Or(cmp.Compare(ra, rb), strings.Compare(string(a), string(b)))
	})
	return slices.Compact(perms)
}

// Limits are what the gateway holds for each probe; a probe whose batch
// would pass one is refused. The package documentation says what each
// counts.
type Limits struct {
	MaxDataviews int // dataviews per probe
	MaxColumns   int // columns per dataview
	MaxHeadlines int // headlines per dataview
	MaxRows      int // rows per dataview
	// MaxCells is the probe's cell budget: what all its dataviews may
	// cost together, counted as protocol.Cost says.
	MaxCells int64
}

// DefaultLimits returns the limits Parse fills in for those the
// configuration leaves out. Validate fills in nothing, so a Config built in
// code starts from these.
func DefaultLimits() Limits {
	return Limits{MaxDataviews: 10_000, MaxColumns: 512, MaxHeadlines: 256, MaxRows: 100_000, MaxCells: 1_000_000}
}

// TLS names the gateway's certificate and key files. Whether they exist is
// checked when the gateway starts (and at each reload, which rereads
// them), not when the configuration is parsed.
type TLS struct {
	CertFile string
	KeyFile  string
	// ClientCAFile, if set, holds the PEM certificates of the authority
	// that signs probes' client certificates: a probe that presents one
	// must present one it signed, whose common name or a DNS name is the
	// probe's name.
	ClientCAFile string
	// RequireProbeCert refuses probes that present no such certificate,
	// whatever their token (mutual TLS); it needs ClientCAFile.
	RequireProbeCert bool
}

// Probe is a netprobe allowed to connect, identified by its name and the
// SHA-256 of its token.
type Probe struct {
	Name string
	// TokenSHA256 is the lowercase hex SHA-256 of the probe's token (see
	// HashToken); the token itself is never stored.
	TokenSHA256 string
}

// Sampler is one configured sampler instance: a type from the samplers
// registry, its interval and its parameters.
type Sampler struct {
	Name     string
	Type     string
	Interval time.Duration
	// Params is a JSON object, or nil when the configuration gives none.
	Params json.RawMessage
}

// Entity is a managed entity: a logical component on one probe, with its
// attributes and the samplers it runs.
type Entity struct {
	Name       string
	Probe      string
	Attributes map[string]string
	// Samplers are names of Config.Samplers.
	Samplers []string
}

// Load reads and parses the configuration in file. A file that cannot be
// read gives an ordinary error; a file that is not a valid configuration
// gives Errors.
func Load(file string) (*Config, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("load config: %w", err)
	}
	return Parse(file, data)
}

// Parse parses and validates a configuration. file is used in error
// messages and kept in Config.File. On failure it returns a nil Config and
// Errors holding every problem found, in file order.
func Parse(file string, data []byte) (*Config, error) {
	d := newDecoder(file, "the configuration")
	root, ok := d.parse(data)
	if !ok {
		return nil, d.errs.err()
	}
	c := decodeConfig(root)
	v := &validator{file: file, place: d.place, skip: d.skip, text: d.textPlace}
	v.check(c)
	errs := append(d.errs, v.errs...)
	if err := errs.err(); err != nil {
		return nil, err
	}
	return c, nil
}

// Validate checks c as Parse would after decoding it, for configurations
// built in code. Its errors name fields but have no lines. Parse fills in
// defaults before validating; Validate does not, so c.Listen must be set,
// every interval must be at least samplers.MinInterval, and every limit,
// the sessions' timeouts, the audit log's retention, the history window
// and each action's timeout, backoffs (and an email's tls, an
// Alertmanager's resend) must be set (DefaultLimits, DefaultSessions,
// DefaultAudit, DefaultHistory and the Default constants of actions have
// the defaults). The incidents section's zero durations are its defaults.
func (c *Config) Validate() error {
	v := &validator{file: c.File}
	v.check(c)
	return v.errs.err()
}

// HashToken returns the lowercase hex SHA-256 of a probe token, the form
// the configuration's token_sha256 holds.
func HashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// Probe returns the probe with the given name.
func (c *Config) Probe(name string) (Probe, bool) {
	for _, p := range c.Probes {
		if p.Name == name {
			return p, true
		}
	}
	return Probe{}, false
}

// Sampler returns the sampler with the given name.
func (c *Config) Sampler(name string) (Sampler, bool) {
	for _, s := range c.Samplers {
		if s.Name == name {
			return s, true
		}
	}
	return Sampler{}, false
}

// EntitiesOf returns the entities on the named probe, in configuration
// order.
func (c *Config) EntitiesOf(probe string) []Entity {
	var es []Entity
	for _, e := range c.Entities {
		if e.Probe == probe {
			es = append(es, e)
		}
	}
	return es
}
