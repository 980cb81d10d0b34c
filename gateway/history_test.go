package gateway_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/watchfloor/watchfloor/gateway"
	"github.com/watchfloor/watchfloor/gateway/config"
	gt "github.com/watchfloor/watchfloor/gateway/gatewaytest"
	"github.com/watchfloor/watchfloor/netprobe/protocol"
	"github.com/watchfloor/watchfloor/samplers"
)

// historyJSON is GET /api/v1/history's answer.
type historyJSON struct {
	From, To, Step string
	Series         []struct {
		Path, Start, Sampled string
		Points               [][2]any
		Steps                [][4]any
	}
}

// ordersProbe declares a dataview "orders" (columns latency, count and
// state, rows A and B) and sends its samples by hand.
type ordersProbe struct {
	rp *gt.RawProbe
	id uint32
}

var ordersColumns = []string{"latency", "count", "state"}

func dialOrders(t *testing.T, gw *gt.Gateway, p gt.Probe, at time.Time, a, b [3]string) *ordersProbe {
	t.Helper()
	rp := gt.DialRawProbe(t, gw.Addr, p.Name, p.Token)
	row := func(i uint32, name string, v [3]string) protocol.RowDecl {
		return protocol.RowDecl{Index: i, Name: name, Cells: []samplers.Cell{samplers.Text(v[0]), samplers.Text(v[1]), samplers.Text(v[2])}}
	}
	rp.Send(protocol.Batch{Flags: protocol.SnapshotStart | protocol.SnapshotEnd, Declares: []protocol.Declare{{
		ID: 1, SamplerID: rp.Config.Samplers[0].ID, Name: "orders", SampleTime: at.UnixNano(), Columns: ordersColumns,
		Headlines: []string{"total"}, HeadValues: []samplers.Cell{samplers.Text("0")},
		Rows: []protocol.RowDecl{row(0, "A", a), row(1, "B", b)},
	}}})
	return &ordersProbe{rp: rp, id: 1}
}

// sample sends one tick at `at`: each change is "row/column=value".
func (o *ordersProbe) sample(at time.Time, changes ...string) {
	u := protocol.Update{ID: o.id, SampleTime: at.UnixNano()}
	for _, c := range changes {
		cell, v, _ := strings.Cut(c, "=")
		row, col, _ := strings.Cut(cell, "/")
		if row == "#" {
			u.Headlines = append(u.Headlines, protocol.HeadlineChange{Index: 0, Value: samplers.Text(v)})
			continue
		}
		r := map[string]uint32{"A": 0, "B": 1}[row]
		u.Cells = append(u.Cells, protocol.CellChange{Row: r, Col: uint32(slices.Index(ordersColumns, col)), Value: samplers.Text(v)})
	}
	o.rp.Send(protocol.Batch{Updates: []protocol.Update{u}})
}

func historyQuery(t *testing.T, s *gt.Session, params url.Values) (int, historyJSON, string) {
	t.Helper()
	code, body := s.Do(t, http.MethodGet, "/api/v1/history?"+params.Encode(), nil)
	var h historyJSON
	if code == http.StatusOK {
		if err := json.Unmarshal(body, &h); err != nil {
			t.Fatalf("decode %s: %v", body, err)
		}
	}
	return code, h, string(body)
}

// The history API answers with the values a probe sent, at the times it
// sampled them, only the changes, and folded into steps that keep a
// spike.
func TestHistoryQuery(t *testing.T) {
	p := probe("oms-h", "cpu")
	gw := gt.Start(t, gateway.Options{}, p)
	base := time.Now().Add(-time.Minute).Truncate(time.Second)
	o := dialOrders(t, gw, p, base, [3]string{"10", "1", "up"}, [3]string{"20", "1", "up"})
	o.sample(base.Add(1*time.Second), "A/latency=10")   // unchanged: costs nothing
	o.sample(base.Add(2*time.Second), "A/latency=95.5") // a spike
	o.sample(base.Add(3*time.Second), "A/latency=12", "A/state=down")
	o.sample(base.Add(4 * time.Second))
	path := dvPath(p, "cpu", "orders")
	admin := gw.Admin(t)
	params := url.Values{"path": {path + "/A/latency"}, "from": {rfc(base.Add(-time.Second))}, "to": {rfc(base.Add(10 * time.Second))}}
	var h historyJSON
	gt.Eventually(t, "the last sample in the history", func() bool {
		code, got, body := historyQuery(t, admin, params)
		if code != http.StatusOK {
			t.Fatalf("GET history: %d %s", code, body)
		}
		h = got
		return len(h.Series) == 1 && h.Series[0].Sampled == rfc(base.Add(4*time.Second))
	})
	want := [][2]any{{ms(base), 10.0}, {ms(base.Add(2 * time.Second)), 95.5}, {ms(base.Add(3 * time.Second)), 12.0}}
	if s := h.Series[0]; s.Path != path+"/A/latency" || fmt.Sprint(s.Points) != fmt.Sprint(want) {
		t.Errorf("series %s points %v, want %v", s.Path, s.Points, want)
	}

	// A pattern selects many (* takes the headlines' row too); text cells
	// have no history.
	params.Set("path", path+"/*/*")
	_, h, _ = historyQuery(t, admin, params)
	var paths []string
	for _, s := range h.Series {
		paths = append(paths, strings.TrimPrefix(s.Path, path+"/"))
	}
	if want := []string{"#/total", "A/count", "A/latency", "B/count", "B/latency"}; !slices.Equal(paths, want) {
		t.Errorf("pattern */* gave %v, want %v", paths, want)
	}

	// Steps of 2 s: min, max and last of each, the spike kept.
	params.Set("path", path+"/A/latency")
	params.Set("from", rfc(base))
	params.Set("step", "2s")
	_, h, _ = historyQuery(t, admin, params)
	steps := fmt.Sprint(h.Series[0].Steps)
	if want := fmt.Sprint([][4]any{{ms(base), 10.0, 10.0, 10.0}, {ms(base.Add(2 * time.Second)), 12.0, 95.5, 12.0}, {ms(base.Add(4 * time.Second)), 12.0, 12.0, 12.0}}); steps != want {
		t.Errorf("steps %s, want %s", steps, want)
	}
}

func rfc(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }
func ms(t time.Time) float64 { return float64(t.UnixMilli()) }

// Bad history queries get 400 and the reason.
func TestHistoryBadQueries(t *testing.T) {
	p := probe("oms-bad", "cpu")
	ln := gt.Listen(t)
	cfg, err := config.Parse("h.yaml", []byte(gt.Config(ln.Addr().String(), p)+"history: {window: 10m, max_series: 2}\n"))
	if err != nil {
		t.Fatal(err)
	}
	gw := gt.Start(t, gateway.Options{Config: cfg, Listener: ln}, p)
	base := time.Now().Add(-time.Minute)
	o := dialOrders(t, gw, p, base, [3]string{"1", "2", "x"}, [3]string{"3", "4", "y"})
	o.sample(base.Add(time.Second))
	tree := gw.Tree(t)
	waitDataview(tree, dvPath(p, "cpu", "orders"))
	admin := gw.Admin(t)
	for _, c := range []struct {
		name   string
		params url.Values
		want   string
	}{
		{"no path", url.Values{}, "give at least one cell path"},
		{"a malformed pattern", url.Values{"path": {"a//b"}}, "column"},
		{"an inverted range", url.Values{"path": {"**"}, "from": {"-1m"}, "to": {"-2m"}}, "inverted"},
		{"a range past the window", url.Values{"path": {"**"}, "from": {"-3h"}, "to": {"-2h"}}, "before the history window"},
		{"a range in the future", url.Values{"path": {"**"}, "from": {"+1h"}, "to": {"+2h"}}, "in the future"},
		{"not a time", url.Values{"path": {"**"}, "from": {"yesterday"}}, "is not a time"},
		{"a step too fine", url.Values{"path": {"**"}, "from": {"-10m"}, "step": {"1ms"}}, "take a longer step"},
		{"too many series", url.Values{"path": {"**"}, "from": {"-5m"}}, "more than 2 series"},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, _, body := historyQuery(t, admin, c.params)
			if code != http.StatusBadRequest || !strings.Contains(body, c.want) {
				t.Errorf("%d %s, want 400 saying %q", code, body, c.want)
			}
		})
	}
	if code, _, body := historyQuery(t, admin, url.Values{"path": {dvPath(p, "cpu", "orders") + "/A/*"}, "from": {"-5m"}}); code != http.StatusOK {
		t.Errorf("a query within the cap: %d %s", code, body)
	}
}

// A scoped caller sees the history of its scope's entities only.
func TestHistoryScoped(t *testing.T) {
	gw := startClients(t, gateway.Options{})
	base := time.Now().Add(-30 * time.Second)
	for _, p := range []gt.Probe{acmeProbe, betaProbe} {
		o := dialOrders(t, gw, p, base, [3]string{"1", "2", "x"}, [3]string{"3", "4", "y"})
		o.sample(base.Add(time.Second), "A/latency=5")
	}
	admin := gw.Admin(t)
	all := url.Values{"path": {"*-srv/**"}, "from": {"-1m"}}
	gt.Eventually(t, "both probes' history", func() bool {
		_, h, _ := historyQuery(t, admin, all)
		return len(h.Series) == 10
	})
	acme := gt.Login(t, gw.URL(), "acme-viewer")
	code, h, body := historyQuery(t, acme, all)
	if code != http.StatusOK {
		t.Fatalf("%d %s", code, body)
	}
	for _, s := range h.Series {
		if !strings.HasPrefix(s.Path, acmeProbe.Name+"/") {
			t.Errorf("acme's viewer sees %s", s.Path)
		}
	}
	if len(h.Series) != 5 {
		t.Errorf("acme's viewer sees %d series, want its 5", len(h.Series))
	}
}

// liveTransitions records every change of a cell's severity or rule as
// the gateway's consumers see it, with the event's time.
type liveTransitions struct {
	mu   sync.Mutex
	last map[string]string // path → "severity rule"
	list []string
	seen int64 // the latest sample time consumed, Unix ns
}

func (l *liveTransitions) Consume(ch *gateway.Changes) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i := range ch.Dataviews {
		d := &ch.Dataviews[i]
		l.seen = max(l.seen, d.SampleTime())
		for c := range ch.Cells(d) {
			if c.Headline || c.Column == "state" {
				continue
			}
			path := d.Path().Cell(c.Row, c.Column).String()
			now := c.Severity.String() + " " + c.Rule
			old, ok := l.last[path]
			if !ok {
				old = "undefined "
			}
			if old != now {
				l.list = append(l.list, fmt.Sprintf("%s %s %s->%s", path, ch.Now.UTC().Format(time.RFC3339Nano), strings.TrimSpace(old), strings.TrimSpace(now)))
				l.last[path] = now
			}
		}
	}
}

func (l *liveTransitions) sampled() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.seen
}

const backtestRules = `
rules:
  - name: latency
    match: "*/*/cpu/orders/*/latency"
    warning: {when: value > 40}
    critical: {when: value > 50, for: 1s, clear: value < 30}
  - name: order-rate
    match: "*/*/cpu/orders/*/count"
    warning: {when: rate > 5}
    critical: {when: rate > 20, for: 1s}
`

// A backtest of a rule over the history gives the transitions the same
// rule made live on the same series: one evaluation path, fed live by a
// probe through a real gateway and replayed from the recorded points.
// The rules use for, clear (hysteresis) and rate. Ticks are 400 ms and
// each for is 1 s, so a deadline falls 200 ms from any sample: the live
// gateway judges a deadline when its timer fires, a little after it,
// and a sample when it arrives, a little after it was taken.
func TestBacktestEqualsLive(t *testing.T) {
	t.Parallel()
	p := probe("oms-bt", "cpu")
	ln := gt.Listen(t)
	cfg, err := config.Parse("bt.yaml", []byte(gt.Config(ln.Addr().String(), p)+backtestRules))
	if err != nil {
		t.Fatal(err)
	}
	live := &liveTransitions{last: map[string]string{}}
	gw := gt.Start(t, gateway.Options{Config: cfg, Listener: ln, Consumers: []gateway.Consumer{live}}, p)
	const tick = 400 * time.Millisecond
	latency := []float64{10, 45, 55, 60, 58, 35, 33, 20, 52, 49, 70, 72, 75, 10, 10, 41, 41, 60, 61, 62, 29, 15}
	count := []float64{0, 1, 2, 5, 12, 30, 31, 32, 3, 4, 40, 80, 120, 160, 161, 162, 163, 200, 260, 300, 0, 1}
	start := time.Now().Truncate(time.Millisecond)
	at := func(i int) time.Time { return start.Add(time.Duration(i) * tick) }
	num := func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
	o := dialOrders(t, gw, p, at(0), [3]string{num(latency[0]), num(count[0]), "up"}, [3]string{"1", "1", "up"})
	for i := 1; i < len(latency); i++ {
		time.Sleep(time.Until(at(i))) // a probe's tick: real time is what the live rules read
		o.sample(at(i), "A/latency="+num(latency[i]), "A/count="+num(count[i]))
	}
	last := at(len(latency) - 1)
	gt.Eventually(t, "the last sample consumed", func() bool { return live.sampled() == last.UnixNano() })
	time.Sleep(time.Until(last.Add(2 * time.Second))) // every deadline after the last sample falls due live
	live.mu.Lock()
	want := slices.Clone(live.list)
	live.mu.Unlock()
	if len(want) < 10 {
		t.Fatalf("only %d live transitions: %v", len(want), want)
	}

	var got []string
	for _, rule := range []string{"latency", "order-rate"} {
		def := ruleDef(t, backtestRules, rule)
		params := url.Values{"from": {rfc(start.Add(-time.Second))}, "to": {rfc(last.Add(2 * time.Second))}}
		code, body := gw.Admin(t).Send(t, http.MethodPost, "/api/v1/rules/backtest?"+params.Encode(), "application/yaml", def)
		if code != http.StatusOK {
			t.Fatalf("backtest %s: %d %s", rule, code, body)
		}
		var res struct {
			Transitions, WouldOpen, Critical int
			ByCell                           []struct {
				Path        string
				Transitions []struct{ Time, Old, New, Rule, Value string }
			}
		}
		if err := json.Unmarshal(body, &res); err != nil {
			t.Fatal(err)
		}
		n, opened, crit := 0, 0, 0
		for _, c := range res.ByCell {
			for _, tr := range c.Transitions {
				got = append(got, fmt.Sprintf("%s %s %s->%s", c.Path, tr.Time, strings.TrimSpace(tr.Old+" "+ruleIf(tr.Old, tr.Rule)), strings.TrimSpace(tr.New+" "+tr.Rule)))
				n++
				if sevRank(tr.Old) < 2 && sevRank(tr.New) >= 2 {
					opened++
				}
				if sevRank(tr.Old) < 3 && sevRank(tr.New) == 3 {
					crit++
				}
			}
		}
		if n != res.Transitions || opened != res.WouldOpen || crit != res.Critical {
			t.Errorf("%s: counted %d transitions, %d opening, %d critical; the answer says %d, %d, %d", rule, n, opened, crit, res.Transitions, res.WouldOpen, res.Critical)
		}
	}
	t.Logf("%d transitions live, %d backtested", len(want), len(got))
	compareTransitions(t, want, got, 150*time.Millisecond)
}

func sevRank(s string) int {
	return slices.Index([]string{"undefined", "ok", "warning", "critical"}, s)
}

// ruleIf is the rule a transition's old severity came from: the same
// rule, since each backtest judges by one rule, unless it was undefined.
func ruleIf(old, rule string) string {
	if old == "undefined" {
		return ""
	}
	return rule
}

// compareTransitions compares "path time old->new" lines: the same
// transitions of each cell, in order, at times within tol.
func compareTransitions(t *testing.T, want, got []string, tol time.Duration) {
	t.Helper()
	byCell := func(lines []string) map[string][][2]string {
		m := map[string][][2]string{}
		for _, l := range lines {
			f := strings.SplitN(l, " ", 3)
			m[f[0]] = append(m[f[0]], [2]string{f[1], f[2]})
		}
		return m
	}
	w, g := byCell(want), byCell(got)
	for cell, wl := range w {
		gl := g[cell]
		if len(gl) != len(wl) {
			t.Errorf("%s: %d transitions backtested, %d live\nlive:     %v\nbacktest: %v", cell, len(gl), len(wl), wl, gl)
			continue
		}
		for i := range wl {
			wt, _ := time.Parse(time.RFC3339Nano, wl[i][0])
			gtm, _ := time.Parse(time.RFC3339Nano, gl[i][0])
			if wl[i][1] != gl[i][1] || (wt.Sub(gtm)).Abs() > tol {
				t.Errorf("%s transition %d: backtest %v, live %v", cell, i, gl[i], wl[i])
			}
		}
	}
	for cell := range g {
		if _, ok := w[cell]; !ok {
			t.Errorf("%s: backtested transitions %v, none live", cell, g[cell])
		}
	}
}

// ruleDef returns one rule of a rules: section as a YAML body.
func ruleDef(t *testing.T, section, name string) []byte {
	t.Helper()
	i := strings.Index(section, "  - name: "+name+"\n")
	if i < 0 {
		t.Fatalf("no rule %s", name)
	}
	rest := section[i+4:]
	if j := strings.Index(rest, "\n  - name: "); j >= 0 {
		rest = rest[:j+1]
	}
	var b strings.Builder
	for line := range strings.SplitSeq(strings.TrimRight(rest, "\n"), "\n") {
		b.WriteString(strings.TrimPrefix(line, "    ") + "\n")
	}
	return []byte(b.String())
}

// A backtest of an invalid rule gets validate's errors; one of a rule
// that judges no cell is refused with the reason.
func TestBacktestBadRules(t *testing.T) {
	p := probe("oms-btbad", "cpu")
	gw := gt.Start(t, gateway.Options{}, p)
	admin := gw.Admin(t)
	code, body := admin.Send(t, http.MethodPost, "/api/v1/rules/backtest", "application/yaml", []byte("name: x\nmatch: \"*/*/cpu/cpu/*/u\"\ncritical: {when: value >}\n"))
	if code != http.StatusUnprocessableEntity || !strings.Contains(string(body), `"line"`) {
		t.Errorf("an invalid rule: %d %s, want 422 with its errors placed", code, body)
	}
	code, body = admin.Send(t, http.MethodPost, "/api/v1/rules/backtest", "application/yaml", []byte("name: down\nmatch: \"*\"\nprobe_down: 10s\nseverity: critical\n"))
	if code != http.StatusBadRequest || !strings.Contains(string(body), "backtest replays cells") {
		t.Errorf("a probe rule: %d %s, want 400 with the reason", code, body)
	}
}

// The gateway's own probe shows the history window, and a rule added by
// a reload judges its cells.
func TestSelfProbeTakesReloadedRules(t *testing.T) {
	p := probe("oms-self", "cpu")
	gw, write := gt.StartFile(t, gateway.Options{}, p)
	write(gt.Config(gw.Addr, p) + `
rules:
  - name: history-series-seen
    match: "watchfloor/gateway/self/history/#/series"
    warning: {when: value < 0}
`)
	reload(t, gw)
	path := gt.DataviewPath(config.SelfProbe, "gateway", "self", "history")
	gt.Eventually(t, "the rule judging the gateway's own history dataview", func() bool {
		var dv struct {
			Headlines []struct{ Name, Severity, Rule string }
		}
		code, body := gw.Admin(t).Do(t, http.MethodGet, "/api/v1/dataviews/"+path, nil)
		if code != http.StatusOK || json.Unmarshal(body, &dv) != nil {
			return false
		}
		for _, h := range dv.Headlines {
			if h.Name == "series" {
				return h.Rule == "history-series-seen" && h.Severity == "ok"
			}
		}
		return false
	})
}
