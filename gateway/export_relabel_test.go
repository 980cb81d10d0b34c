package gateway_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/watchfloor/watchfloor/gateway"
	"github.com/watchfloor/watchfloor/gateway/config"
	gt "github.com/watchfloor/watchfloor/gateway/gatewaytest"
	"github.com/watchfloor/watchfloor/gateway/internal/tsdbtest"
)

// holdProbe is a consumer that, once armed, holds the actor of one probe
// in its next event until released.
type holdProbe struct {
	probe   string
	mu      sync.Mutex
	armed   bool
	held    chan struct{} // closed when it holds the actor
	release chan struct{}
}

func (h *holdProbe) Consume(ch *gateway.Changes) {
	h.mu.Lock()
	hold := h.armed && len(ch.Dataviews) > 0 && ch.Dataviews[0].Path().Probe == h.probe
	if hold {
		h.armed = false
	}
	h.mu.Unlock()
	if hold {
		close(h.held)
		<-h.release
	}
}

// A reload that changes an entity's attributes relabels its cells'
// series, even when its probe's actor handles an event between the
// reload installing the targets and giving it the new configuration
// (here, while the reload waits for another probe's actor).
func TestExportRelabelledWhenAnEventFallsInTheReload(t *testing.T) {
	vm := tsdbtest.StartVictoria(t)
	p1, p2 := probe("oms-first"), probe("oms-second")
	h := &holdProbe{probe: p1.Name, held: make(chan struct{}), release: make(chan struct{})}
	released := sync.OnceFunc(func() { close(h.release) })
	t.Cleanup(released)
	gw, write := gt.StartFile(t, gateway.Options{Consumers: []gateway.Consumer{h}}, p1, p2)
	yaml := func(region string, targets ...string) string {
		s := fmt.Sprintf("listen: %q\nprobes:\n", gw.Addr)
		for _, p := range []gt.Probe{p1, p2} {
			s += fmt.Sprintf("  - name: %q\n    token_sha256: %s\n", p.Name, config.HashToken(p.Token))
		}
		s += "samplers:\n  - name: busy\n    type: cpu\n    interval: 1m\nentities:\n"
		for _, p := range []gt.Probe{p1, p2} {
			s += fmt.Sprintf("  - name: %q\n    probe: %q\n    attributes: {region: %s}\n    samplers: [busy]\n", p.Entity(), p.Name, region)
		}
		s += gt.Users(gt.Admin) + "remote_write:\n"
		for _, name := range targets {
			s += fmt.Sprintf("  - name: %s\n    url: %s\n    resend: 0s\n", name, vm.WriteURL())
		}
		return s
	}
	reload := func() (int, string) {
		code, body := gw.Admin(t).Do(t, http.MethodPost, "/api/v1/config/reload", nil)
		return code, string(body)
	}
	write(yaml("emea", "vm"))
	if code, body := reload(); code != http.StatusOK {
		t.Fatalf("reload: %d %s", code, body)
	}
	base := time.Now().Add(-time.Minute).Truncate(time.Millisecond)
	o1 := dialOrders(t, gw, p1, base, [3]string{"10", "1", "up"}, [3]string{"20", "2", "up"})
	o2 := dialOrders(t, gw, p2, base, [3]string{"10", "1", "up"}, [3]string{"20", "2", "up"})
	read := func() map[string][]tsdbtest.Point {
		return vm.Export(t, fmt.Sprintf(`watchfloor_cpu_latency{probe=%q,row="A"}`, p2.Name))
	}
	tsdbtest.WaitFor(t, "the second probe's latency in VictoriaMetrics", func() bool { return len(read()) > 0 })

	// The first probe's actor held, the reload waits for it once it has
	// installed the targets (a second one shows it).
	h.mu.Lock()
	h.armed = true
	h.mu.Unlock()
	o1.sample(base.Add(time.Second), "A/latency=11")
	<-h.held
	write(yaml("apac", "vm", "vm2"))
	reloaded := make(chan string, 1)
	go func() {
		code, body := reload()
		reloaded <- fmt.Sprint(code, " ", body)
	}()
	gt.Eventually(t, "the second target installed", func() bool {
		code, body := gw.Admin(t).Do(t, http.MethodGet, "/api/v1/dataviews/watchfloor/gateway/self/remote-write", nil)
		return code == http.StatusOK && strings.Contains(string(body), `"vm2"`)
	})
	// An event of the second probe, in between.
	o2.sample(base.Add(2*time.Second), "A/latency=11")
	path := gt.DataviewPath(p2.Name, p2.Entity(), "busy", "orders") + "/A/latency"
	sampled := func(at time.Time) func() bool {
		return func() bool {
			_, hj, _ := historyQuery(t, gw.Admin(t), url.Values{"path": {path}, "from": {"-2m"}, "to": {"now"}})
			return len(hj.Series) == 1 && hj.Series[0].Sampled == rfc(at)
		}
	}
	gt.Eventually(t, "the second probe's sample in the history", sampled(base.Add(2*time.Second)))
	released()
	if r := <-reloaded; !strings.HasPrefix(r, "200 ") {
		t.Fatalf("reload: %s", r)
	}

	o2.sample(base.Add(3*time.Second), "A/latency=12")
	tsdbtest.WaitFor(t, "the latency of 12 in VictoriaMetrics", func() bool {
		for _, pts := range read() {
			if len(pts) > 0 && pts[len(pts)-1].V == 12 {
				return true
			}
		}
		return false
	})
	for key, pts := range read() {
		if n := len(pts); n > 0 && pts[n-1].V == 12 && !strings.Contains(key, `"region":"apac"`) {
			t.Errorf("after the entity moved to apac, its latency of 12 went to %s", key)
		}
	}
}
