package gateway_test

import (
	"testing"
	"time"

	"github.com/watchfloor/watchfloor/gateway"
	gt "github.com/watchfloor/watchfloor/gateway/gatewaytest"
)

const probeDownRule = `rules:
  - name: probe-down
    match: "*"
    probe_down: 30s
    severity: critical
`

// Probe down is judged by the probe's own actor, which outlives the
// connection, and by its down time across a reload that changes its token
// (a routine rotation) and so restarts its actor: a probe down for 35 s
// under a 30 s probe-down rule is critical after the rotation.
func TestTokenRotationKeepsProbeDown(t *testing.T) {
	p := probe("oms-1", "cpu")
	clock := gt.NewManualClock(time.Now())
	gw, write := gt.StartFile(t, gateway.Options{Clock: clock}, p)
	write(gt.Config(gw.Addr, p) + probeDownRule)
	reload(t, gw) // the probe never connects
	clock.Advance(20 * time.Second)
	rotated := p
	rotated.Token = "rotated-" + p.Token
	write(gt.Config(gw.Addr, rotated) + probeDownRule)
	reload(t, gw)
	clock.Advance(15 * time.Second) // down 35 s
	critical := func() bool {
		var tree struct {
			Probes []struct {
				Name     string
				Severity string
				Findings []struct{ Rule string }
			}
		}
		getJSON(t, gw.URL()+"/api/v1/tree", &tree)
		for _, pr := range tree.Probes {
			if pr.Name == p.Name {
				return pr.Severity == "critical" && len(pr.Findings) == 1
			}
		}
		return false
	}
	gt.Eventually(t, "the probe, down 35 s under a 30 s probe-down rule, to be critical after its token was rotated", critical)
}
