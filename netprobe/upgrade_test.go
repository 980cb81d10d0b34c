package netprobe

import (
	"net/http"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/coder/websocket"

	"github.com/watchfloor/watchfloor/netprobe/protocol"
)

// A rolling upgrade: an old gateway refuses the range Hello, the probe
// offers version 1 alone once, and the gateway goes down to be upgraded;
// the first Hello to reach the upgraded gateway offers the range again.
func TestUpgradedGatewayMetAtItsBest(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var (
			mu       sync.Mutex
			upgraded bool
			seen     []uint32 // max_version of each hello the upgraded gateway reads
		)
		var n *memNet
		n = startMemNet(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			c, h, ok := acceptHello(t, w, r)
			if !ok {
				return
			}
			defer c.CloseNow()
			mu.Lock()
			up := upgraded
			if up {
				seen = append(seen, h.MaxVersion)
			}
			mu.Unlock()
			if !up {
				// The old gateway refuses the range, then stops for its upgrade.
				c.Close(websocket.StatusPolicyViolation, "decode hello: at byte 9: 1 bytes of trailing data")
				n.setDown(true)
				return
			}
			c.Close(websocket.StatusGoingAway, "test over")
		}))
		runMemProbe(t, n)
		time.Sleep(5 * time.Second) // the upgrade's outage
		mu.Lock()
		upgraded = true
		mu.Unlock()
		n.setDown(false)
		time.Sleep(5 * time.Second)
		synctest.Wait()
		mu.Lock()
		defer mu.Unlock()
		if len(seen) == 0 {
			t.Fatal("the probe never reached the upgraded gateway")
		}
		if seen[0] != protocol.MaxVersion {
			t.Errorf("the first hello to reach the upgraded gateway offers versions up to %d, want the range up to %d (hellos seen: %v)",
				seen[0], protocol.MaxVersion, seen)
		}
	})
}
