// Package estate describes the simulated estates the measurement programs
// run: n probes, each with one entity running one sampler, and the names
// and tokens that address them; and the people who watch them: a viewer
// for the dashboards, logged in as a real one would be.
package estate

import (
	"fmt"
	"strings"
	"sync"

	"github.com/watchfloor/watchfloor/gateway/access"
	"github.com/watchfloor/watchfloor/gateway/config"
)

// Probe returns the name of probe i.
func Probe(i int) string { return fmt.Sprintf("probe%04d", i) }

// Entity returns the name of probe i's one entity.
func Entity(i int) string { return fmt.Sprintf("e%04d", i) }

// Token returns probe i's token; prefix keeps one program's tokens apart
// from another's.
func Token(prefix string, i int) string { return fmt.Sprintf("%s-probe-token-%06d", prefix, i) }

// Config renders a gateway configuration listening on addr, for n probes
// whose entities each run the one sampler that samplerYAML defines (a flow
// mapping such as "{name: load, type: load}") under the name sampler, with
// the people of Access. Entity i has the attribute shard: "i", for rules
// to select by.
func Config(addr string, n int, prefix, samplerYAML, sampler string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "listen: %q\nsamplers:\n  - %s\nprobes:\n", addr, samplerYAML)
	for i := range n {
		fmt.Fprintf(&b, "  - {name: %s, token_sha256: %s}\n", Probe(i), config.HashToken(Token(prefix, i)))
	}
	b.WriteString("entities:\n")
	for i := range n {
		fmt.Fprintf(&b, "  - {name: %s, probe: %s, attributes: {shard: \"%d\"}, samplers: [%s]}\n", Entity(i), Probe(i), i, sampler)
	}
	b.WriteString(Access())
	return b.String()
}

// The people of every simulated estate, all with Password.
const (
	// Viewer is who the dashboards log in as: a viewer of the whole
	// estate, as a wall screen's account is.
	Viewer = "bench"
	// Profiler may take the gateway's profiles (permission debug) and
	// nothing else; the load harness logs in as it for -cpuprofile and
	// -memprofile.
	Profiler = "bench-profiler"
	// Password is every bench user's password.
	Password = "watchfloor-bench-password"
)

// passwordHash is Password's argon2id hash at a nominal cost (64 KiB,
// one pass, about 0.1 ms) rather than access.DefaultPasswordParams
// (19 MiB, two passes, about 20 ms a login): this is a benchmark, and its
// harnesses log dashboards in before they measure. The gateway verifies a
// hash at the parameters the hash carries, so the login is the real one,
// only cheaper. It is made once per process.
var passwordHash = sync.OnceValue(func() string {
	h, err := access.HashPasswordWith(Password, access.PasswordParams{Memory: 64, Time: 1, Threads: 1})
	if err != nil {
		panic(err) // Password is a constant that CheckPassword accepts
	}
	return h
})

// Access renders the configuration's access control as a deployment
// would have it: the Viewer and Profiler users, and /metrics open to
// loopback callers, since the harnesses scrape their own gateway there as
// a Prometheus on the same host would.
func Access() string {
	return fmt.Sprintf(`roles:
  %s: {permissions: [debug]}
users:
  - {name: %s, roles: [viewer], password_hash: %q}
  - {name: %s, roles: [%s], password_hash: %q}
metrics: {public_on_loopback: true}
`, Profiler, Viewer, passwordHash(), Profiler, Profiler, passwordHash())
}
