package gateway_test

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/watchfloor/watchfloor/gateway"
	"github.com/watchfloor/watchfloor/gateway/config"
	gt "github.com/watchfloor/watchfloor/gateway/gatewaytest"
	"github.com/watchfloor/watchfloor/gateway/incident"
	"github.com/watchfloor/watchfloor/gateway/internal/browsertest"
)

// The acceptance estate: two real netprobes sampling this machine, one
// for a production system of client acme, one for a UAT system of client
// globex, and acme's trader scoped to acme.
var (
	accAcme   = probe("desk-acme", "cpu")
	accGlobex = probe("desk-globex", "cpu")
	accTrader = gt.User{Name: "acme-trader", Roles: []string{"client"}, Scope: "client=acme"}
)

func acceptanceYAML(listen string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "listen: %q\nprobes:\n", listen)
	for _, p := range []gt.Probe{accAcme, accGlobex} {
		fmt.Fprintf(&b, "  - name: %q\n    token_sha256: %s\n", p.Name, config.HashToken(p.Token))
	}
	b.WriteString(gt.Samplers)
	fmt.Fprintf(&b, `entities:
  - name: %q
    probe: %q
    attributes: {environment: production, client: acme}
    samplers: [cpu]
  - name: %q
    probe: %q
    attributes: {environment: uat, client: globex}
    samplers: [cpu]
rules:
  - name: cpu-sane
    match: "*/*/cpu/cpu/total/utilisation"
    critical: {when: value > 1000}
`, accAcme.Entity(), accAcme.Name, accGlobex.Entity(), accGlobex.Name)
	return b.String() + gt.Users(gt.Admin, accTrader)
}

// What the "Tests it must have" asks, in one walk against a real
// gateway and real netprobes (no hand-fed values): log in through the
// form; the wall shows both entities' tiles with their severities; drill
// down to a grid that updates and a chart that draws its history; a rule
// typed in the editor with a mistake is shown at its line, then saved
// valid, and in force at once it makes the cells critical: the production
// incident raises the banner, a tone and a desktop notification on two
// armed pages, and the UAT one never shows or sounds; Acknowledge on one
// page clears the alert on the other within a second; a scoped client
// sees only its own entity; the gateway restarts and the page reconnects
// by itself and shows fresh samples. No page logs a JavaScript error,
// except the network errors of a gateway that is away on purpose (only
// while it is) and the editor's 422 for the text it checks.
func TestBrowserAcceptanceRealGatewayAndNetprobes(t *testing.T) {
	file := filepath.Join(t.TempDir(), "watchfloor.db")
	st := gt.OpenStore(t, file)
	ln := gt.Listen(t)
	addr := ln.Addr().String()
	cfg, err := config.Parse("acceptance.yaml", []byte(acceptanceYAML(addr)))
	if err != nil {
		t.Fatal(err)
	}
	gw := gt.Start(t, gateway.Options{Config: cfg, Listener: ln, Store: st})
	tree := gw.Tree(t)
	gt.StartProbe(t, addr, accAcme)
	gt.StartProbe(t, addr, accGlobex)
	acmeDV, globexDV := cpuPath(accAcme), cpuPath(accGlobex)
	waitDataview(tree, acmeDV)
	waitDataview(tree, globexDV)
	acmeCell, globexCell := acmeDV+"/total/utilisation", globexDV+"/total/utilisation"
	acmeTile, globexTile := strings.TrimSuffix(acmeDV, "/cpu/cpu"), strings.TrimSuffix(globexDV, "/cpu/cpu")

	// The gateway is away on purpose from awayFrom until the page is live
	// again (awayUntil, 0 until then), and once the test is over (from
	// overAt), when it stops before the pages close: the browser's network
	// errors then are the pages trying to reconnect.
	var awayFrom, awayUntil, overAt atomic.Int64
	whileAway := func(m chromedp.ConsoleMessage) bool {
		from, until, over := awayFrom.Load(), awayUntil.Load(), overAt.Load()
		at := m.Time.UnixNano()
		away := from != 0 && at >= from && (until == 0 || at <= until)
		return browsertest.NetworkErrors(m) && (away || over != 0 && at >= over)
	}
	defer func() { overAt.Store(time.Now().UnixNano()) }()

	// Log in as a person does, on a desk's screen.
	desk := browsertest.New(t)
	browsertest.FailOnJSErrors(t, desk, browsertest.Status(422), whileAway)
	if err := chromedp.Do(desk, chromedp.EmulateViewport(1600, 1000)); err != nil {
		t.Fatal(err)
	}
	navigate(t, desk, gw.URL()+"/#/wall")
	browsertest.WaitFor[bool](t, desk, "the login page", `location.pathname === "/login" && !!document.getElementById("login-form")`)
	if err := chromedp.Do(desk,
		chromedp.SetValue("#login-user", gt.Admin.Name),
		chromedp.SetValue("#login-password", gt.Password),
		chromedp.Click("#login-submit"),
	); err != nil {
		t.Fatal(err)
	}

	// The wall: a tile per entity, judged ok by the configuration's rule,
	// Production before UAT.
	tileSeverities := `[...document.querySelectorAll('#view .tile')].filter(e => e.dataset.probe !== "never").map(e => e.dataset.entity + " " + e.dataset.severity)`
	want := []string{acmeTile + " ok", globexTile + " ok"}
	got := browsertest.WaitFor[[]string](t, desk, "the wall's tiles judged ok",
		fmt.Sprintf(`(t => t.includes(%q) && t.includes(%q) && t)(%s)`, want[0], want[1], tileSeverities))
	if i, j := slices.Index(got, want[0]), slices.Index(got, want[1]); i < 0 || j < 0 || i > j {
		t.Errorf("the wall shows %q, want %q in that order", got, want)
	}
	browsertest.Screenshot(t, desk, "acceptance-wall")

	// Drill down: tile, entity, dataview, a grid whose cell the probe
	// changes, and the cell's chart with its history drawn.
	clickSteady(t, desk, fmt.Sprintf(`#view .tile[data-entity=%q]`, acmeTile))
	link := fmt.Sprintf(`#view a.entity-dv[data-dataview=%q]`, acmeDV)
	browsertest.WaitFor[bool](t, desk, "the entity's dataview link", fmt.Sprintf(`document.querySelector(%q) !== null`, link))
	click(t, desk, link)
	cell := browsertest.Cell(acmeCell)
	first := browsertest.WaitFor[string](t, desk, "the grid's cell, judged", cell+` && `+cell+`.dataset.severity === "ok" && `+cell+`.dataset.changed`)
	browsertest.WaitFor[bool](t, desk, "the cell to change as the probe samples", cell+`.dataset.changed !== `+jsString(first))
	click(t, desk, fmt.Sprintf(`td[data-path=%q]`, acmeCell))
	chart := `document.querySelector('#view .cell-chart .history-chart')`
	browsertest.WaitFor[bool](t, desk, "the chart of the cell's history, drawn", chart+` && `+chart+`.dataset.state === "drawn" && `+chart+`.dataset.paths === `+jsString(acmeCell))
	browsertest.WaitFor[bool](t, desk, "ink on the chart", `(c => { const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
		for (let i = 0; i < d.length; i += 4) if (d[i] > 60 && d[i + 2] > 150 && d[i + 3] > 0) return true; return false; })(`+chart+`.querySelector(".uplot canvas"))`)
	browsertest.Screenshot(t, desk, "acceptance-grid-chart")

	// Two wall screens, tabs of another browser, armed, with
	// notifications granted; they close before the gateway restarts.
	admin := gw.Admin(t)
	walls := browsertest.New(t)
	if err := chromedp.Do(walls); err != nil {
		t.Fatal(err)
	}
	wallA, closeA := chromedp.NewContext(walls)
	alertPage(t, wallA, gw, admin.Cookie)
	wallB, closeB := chromedp.NewContext(walls)
	alertPage(t, wallB, gw, admin.Cookie)

	// The editor: a rule with a mistake, shown at its line; then valid,
	// saved, and in force at once.
	navigate(t, desk, gw.URL()+"/#/rules/cpu-critical?new=1")
	text := `document.querySelector('#view textarea')`
	browsertest.WaitFor[bool](t, desk, "the editor of a new rule", text+` !== null && !`+text+`.readOnly`)
	const head = "name: cpu-critical\nmatch: \"*/*/cpu/cpu/total/utilisation\"\nincident: {open: critical}\ncritical:\n"
	setText(t, desk, head+"  when: value >= 0 and bogus\n")
	problem := browsertest.WaitFor[[]string](t, desk, "the problem at line 5",
		`(b => b && [b.dataset.line, b.textContent])(document.querySelector('#view button.problem'))`)
	if problem[0] != "5" || !strings.Contains(problem[1], "bogus") {
		t.Errorf("the problem is at line %s, %q; want line 5 naming bogus", problem[0], problem[1])
	}
	setText(t, desk, head+"  when: value >= 0\n")
	browsertest.WaitFor[bool](t, desk, "the fixed rule checked valid", `document.querySelector('#view [data-check]').dataset.check === "valid"`)
	browsertest.Screenshot(t, desk, "acceptance-rule-editor")
	click(t, desk, `#view [data-action="save"]`)
	browsertest.WaitFor[bool](t, desk, "the rule saved", `(s => s && s.dataset.source === "api")(document.querySelector('#view [data-source]'))`)

	// In force: production's incident alerts on both screens; UAT's opens
	// and stays silent.
	open := func(path string) incident.Incident {
		t.Helper()
		var found incident.Incident
		gt.Eventually(t, "an open incident for "+path, func() bool {
			var l incidentList
			admin.Get(t, "/api/v1/incidents?state=open", &l)
			for _, inc := range l.Incidents {
				if inc.Path == path && inc.Rule == "cpu-critical" {
					found = inc
					return true
				}
			}
			return false
		})
		return found
	}
	prod, uat := open(acmeCell), open(globexCell)
	item := alertItem(prod.ID)
	for _, tab := range []context.Context{wallA, wallB} {
		browsertest.WaitFor[bool](t, tab, "the production alert in the banner", item+` && `+item+`.dataset.severity === "critical"`)
		note := browsertest.WaitFor[map[string]any](t, tab, "its desktop notification",
			`window.__notes.find(n => n.tag === `+jsString(prod.ID)+` && (n.shown || n.error))`)
		if note["shown"] != true {
			t.Errorf("the notification was not shown: %v", note)
		}
		browsertest.WaitFor[bool](t, tab, "the tone", `window.__notesPlayed >= 2`)
		browsertest.WaitFor[bool](t, tab, "the UAT tile critical", fmt.Sprintf(`(e => e && e.dataset.severity === "critical")(document.querySelector('#view .tile[data-entity=%q]'))`, globexTile))
		silent, err := chromedp.Run(tab, chromedp.Evaluate[[]int](`[+!!`+alertItem(uat.ID)+`, window.__notes.filter(n => n.tag === `+jsString(uat.ID)+`).length]`))
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(silent, []int{0, 0}) {
			t.Errorf("UAT's incident: [in the banner, notifications] = %v, want silent", silent)
		}
	}
	browsertest.Screenshot(t, wallA, "acceptance-alert")

	// Acknowledge on one screen; the other clears within a second.
	if _, err := chromedp.Run(wallB, chromedp.Evaluate[bool](`(() => {
		new MutationObserver(() => { if (!`+item+` && !window.__clearedAt) window.__clearedAt = Date.now(); })
			.observe(document.querySelector('#alerts'), {subtree: true, childList: true});
		return true;
	})()`)); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Run(wallA, chromedp.Evaluate[bool](item+`.querySelector('.alert-ack').addEventListener('click', () => { window.__clickedAt = Date.now(); }, true) || true`)); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(wallA, chromedp.Click(chromedp.CSS(`#alerts li.alert[data-incident="`+prod.ID+`"] .alert-ack`))); err != nil {
		t.Fatal(err)
	}
	cleared := browsertest.WaitFor[float64](t, wallB, "the alert to clear on the other screen", `window.__clearedAt || 0`)
	clicked := browsertest.WaitFor[float64](t, wallA, "the click's time", `window.__clickedAt || 0`)
	if took := time.Duration(cleared-clicked) * time.Millisecond; took >= time.Second {
		t.Errorf("the alert cleared on the other screen %v after the click, want under 1s", took)
	}
	var acked incident.Incident
	admin.Get(t, "/api/v1/incidents/"+prod.ID, &acked)
	if acked.Ack == nil || acked.Ack.By != gt.Admin.Name {
		t.Errorf("the incident's acknowledgement: %+v", acked.Ack)
	}
	closeA()
	closeB()

	// A scoped client sees its own entity only.
	client := browsertest.New(t)
	browsertest.FailOnJSErrors(t, client, whileAway)
	browsertest.SetSession(t, client, gw.URL(), gt.Login(t, gw.URL(), accTrader.Name).Cookie)
	navigate(t, client, gw.URL()+"/#/wall")
	browsertest.WaitFor[bool](t, client, "the client's tile, critical", fmt.Sprintf(`(e => e && e.dataset.severity === "critical")(document.querySelector('#view .tile[data-entity=%q]'))`, acmeTile))
	if seen := browsertest.WaitFor[[]string](t, client, "the client's tiles", tiles); !slices.Equal(seen, []string{acmeTile}) {
		t.Errorf("acme's trader sees %q, want only %q", seen, acmeTile)
	}

	// The gateway restarts on the same address and store; the netprobes
	// and the desk's grid reconnect by themselves, and the grid shows
	// samples taken after the restart.
	navigate(t, desk, gw.URL()+"/#/view/"+acmeDV)
	browsertest.WaitFor[bool](t, desk, "the grid, live", cell+` && `+connState+` === "live"`)
	awayFrom.Store(time.Now().UnixNano())
	gw.Stop(t)
	browsertest.WaitFor[bool](t, desk, "the page to say it is cut off", connState+` === "reconnecting"`)
	cutAt := time.Now()
	gt.CloseStore(t, st)
	st2 := gt.OpenStore(t, file)
	ln2, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	gw2 := gt.Start(t, gateway.Options{Config: cfg, Listener: ln2, Store: st2})
	browsertest.WaitFor[bool](t, desk, "the page to reconnect by itself with a sample taken after the restart",
		fmt.Sprintf(`%s === "live" && (c => c && Number(c.dataset.changed) > %d)(%s)`, connState, cutAt.UnixMilli(), cell))
	awayUntil.Store(time.Now().UnixNano())
	if sev := browsertest.WaitFor[string](t, desk, "the cell judged after the restart", cell+`.dataset.severity`); sev != "critical" {
		t.Errorf("after the restart the cell is %q, want critical by the saved rule", sev)
	}
	_ = gw2
}
