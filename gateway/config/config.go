package config

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/watchfloor/watchfloor/rules"
)

// DefaultListen is the address the gateway listens on when the
// configuration names none.
const DefaultListen = ":7039"

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
// checked when the gateway starts, not when the configuration is parsed.
type TLS struct {
	CertFile string
	KeyFile  string
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
// every interval must be at least samplers.MinInterval and every limit
// must be set (DefaultLimits has the defaults).
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
