package gateway_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/watchfloor/watchfloor/gateway"
	gt "github.com/watchfloor/watchfloor/gateway/gatewaytest"
)

// cellJSON is a cell of GET /api/v1/dataviews/….
type cellJSON struct {
	Column, Value, Severity, Rule string
}

// cpuTotal returns the total row's utilisation cell of a cpu dataview.
func cpuTotal(t *testing.T, gw *gt.Gateway, path string) cellJSON {
	t.Helper()
	var dv struct {
		Rows []struct {
			Name  string
			Cells []cellJSON
		}
	}
	getJSON(t, gw.URL()+"/api/v1/dataviews/"+path, &dv)
	for _, r := range dv.Rows {
		if r.Name != "total" {
			continue
		}
		for _, c := range r.Cells {
			if c.Column == "utilisation" {
				return c
			}
		}
	}
	t.Fatalf("%s has no total/utilisation cell", path)
	return cellJSON{}
}

func metricsText(t *testing.T, gw *gt.Gateway) string {
	t.Helper()
	code, b := gw.Admin(t).Do(t, http.MethodGet, "/metrics", nil)
	if code != http.StatusOK {
		t.Fatalf("GET /metrics: %d %s", code, b)
	}
	return string(b)
}

func reload(t *testing.T, gw *gt.Gateway) {
	t.Helper()
	if code, body := gw.Admin(t).Do(t, http.MethodPost, "/api/v1/config/reload", nil); code != http.StatusOK {
		t.Fatalf("reload: %d %s", code, body)
	}
}

const pendingRule = `
rules:
  - name: cpu-seen
    match: "*/*/cpu/cpu/total/utilisation"
    critical:
      when: value >= 0
      for: 5s
`

// A reload that leaves a rule as it was keeps its pending timer: a
// `for: 5s` rule pending for 3 s when the configuration is reloaded (with
// another rule added) fires 5 s after its condition began to hold, not 8.
// The gateway's clock is stepped by hand; the netprobe is real.
func TestReloadKeepsPendingTimers(t *testing.T) {
	p := probe("oms-1", "cpu")
	clock := gt.NewManualClock(time.Now())
	gw, write := gt.StartFile(t, gateway.Options{Clock: clock}, p)
	write(gt.Config(gw.Addr, p) + pendingRule)
	reload(t, gw)
	tree := gw.Tree(t)
	gt.StartProbe(t, gw.Addr, p)
	path := cpuPath(p)
	waitDataview(tree, path)
	gt.Eventually(t, "the rule to judge the cell (pending)", func() bool {
		c := cpuTotal(t, gw, path)
		return c.Rule == "cpu-seen" && c.Severity == "ok"
	})

	clock.Advance(3 * time.Second)
	write(gt.Config(gw.Addr, p) + pendingRule + `  - name: another
    match: "*/*/cpu/cpu/*/steal"
    warning: {when: value > 50}
`)
	reload(t, gw)
	if c := cpuTotal(t, gw, path); c.Severity != "ok" {
		t.Fatalf("3 s into a 5 s for, after a reload: %s", c.Severity)
	}
	clock.Advance(2 * time.Second)
	gt.Eventually(t, "the rule to fire 5 s after it began to hold", func() bool {
		return cpuTotal(t, gw, path).Severity == "critical"
	})
}

// A rule added by a reload judges the live cells at once, without waiting
// for their next change, and a dashboard client watching the dataview
// receives the cell's new severity and the rule that set it.
func TestNewRuleReachesDashboard(t *testing.T) {
	p := probe("sor-1", "cpu")
	gw, write := gt.StartFile(t, gateway.Options{}, p)
	d := streaming(t, gw, p)
	tree := gw.Tree(t)
	write(gt.Config(gw.Addr, p) + strings.ReplaceAll(pendingRule, "      for: 5s\n", ""))
	reload(t, gw)
	d.Next("the total cell turned critical by cpu-seen", totalCritical("cpu-seen"))
	tree.Wait("the critical cell counted up to the probe", func(tr *gt.Tree) bool {
		n, ok := tr.Node(p.Name)
		return ok && n.Severity == "critical" && n.Counts["critical"] == 1
	})
}

// A probe rule gives a probe that never connected its severity, shown on
// the probe's node with the finding; a connection clears it.
func TestProbeDownRuleOnTheTree(t *testing.T) {
	p := probe("md-1", "cpu")
	gw, write := gt.StartFile(t, gateway.Options{}, p)
	write(gt.Config(gw.Addr, p) + `
rules:
  - name: probe-down
    match: "*"
    probe_down: 0s
    severity: critical
`)
	reload(t, gw)
	tree := gw.Tree(t)
	tree.Wait("the probe down", func(tr *gt.Tree) bool {
		n, ok := tr.Node(p.Name)
		return ok && n.Severity == "critical" && len(n.Findings) == 1 && n.Findings[0].Rule == "probe-down"
	})
	gt.StartProbe(t, gw.Addr, p)
	tree.Wait("the probe up", func(tr *gt.Tree) bool {
		n, ok := tr.Node(p.Name)
		return ok && n.Connected != nil && *n.Connected && len(n.Findings) == 0 && n.Counts["critical"] == 0
	})
}

// A rule authored through the API judges the live cells before the API
// answers, not at their next change: the REST API shows the cell critical
// at once, and a dashboard client watching it receives the new severity
// and the rule that set it.
func TestAPIRuleTurnsLiveCellCritical(t *testing.T) {
	p := probe("oms-2", "cpu")
	gw := gt.Start(t, gateway.Options{}, p)
	d := streaming(t, gw, p)

	rule := `{"name": "oms-cpu-seen", "match": "*/*/cpu/cpu/total/utilisation", "critical": {"when": "value >= 0"}}`
	resp, err := gw.Admin(t).Client.Post(gw.URL()+"/api/v1/rules", "application/json", strings.NewReader(rule))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST /api/v1/rules: %s", resp.Status)
	}
	if c := cpuTotal(t, gw, cpuPath(p)); c.Severity != "critical" || c.Rule != "oms-cpu-seen" {
		t.Fatalf("as the API answered, total/utilisation is %s by %q", c.Severity, c.Rule)
	}
	d.Next("the total cell critical by oms-cpu-seen", totalCritical("oms-cpu-seen"))
}

// totalCritical matches a frame that brings the cpu dataview's
// total/utilisation cell critical by rule.
func totalCritical(rule string) func(gt.Frame) bool {
	return func(f gt.Frame) bool {
		for _, c := range f.Cells {
			if c.R == "total" && c.C == "utilisation" && c.S == "critical" && c.Rule == rule {
				return true
			}
		}
		return false
	}
}

// /metrics counts what the rules do: evaluations, transitions, and each
// rule's evaluation errors under its own name.
func TestRuleMetricsCount(t *testing.T) {
	p := probe("m-rules", "cpu")
	gw, write := gt.StartFile(t, gateway.Options{}, p)
	write(gt.Config(gw.Addr, p) + `
rules:
  - name: cpu-seen
    match: "*/*/cpu/cpu/total/utilisation"
    critical: {when: value >= 0}
  - name: number-as-text
    match: "*/*/cpu/cpu/total/user"
    warning: {when: 'value matches "^9"'}
`)
	reload(t, gw)
	streaming(t, gw, p)
	gt.Eventually(t, "the rules' metrics to count", func() bool {
		return metric(t, gw, "watchfloor_rule_evaluations_total") > 0 &&
			metric(t, gw, "watchfloor_severity_transitions_total") > 0 &&
			metric(t, gw, `watchfloor_rule_evaluation_errors_total{rule="number-as-text"}`) > 0
	})
	if n := metric(t, gw, "watchfloor_rules"); n != 2 {
		t.Fatalf("watchfloor_rules = %v, want 2", n)
	}
	if c := cpuTotal(t, gw, cpuPath(p)); c.Severity != "critical" {
		t.Fatalf("the erring rule's neighbour: %+v", c)
	}
	// A rule that goes takes its error counter with it.
	write(gt.Config(gw.Addr, p) + "\nrules: []\n")
	reload(t, gw)
	if strings.Contains(metricsText(t, gw), "number-as-text") {
		t.Fatal("the removed rule's error counter is still on /metrics")
	}
}
