// Package estate describes the simulated estates the measurement programs
// run: n probes, each with one entity running one sampler, and the names
// and tokens that address them.
package estate

import (
	"fmt"
	"strings"

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
// mapping such as "{name: load, type: load}") under the name sampler.
// Entity i has the attribute shard: "i", for rules to select by.
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
	return b.String()
}
