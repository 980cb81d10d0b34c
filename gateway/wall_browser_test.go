package gateway_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/performance"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/watchfloor/watchfloor/gateway"
	"github.com/watchfloor/watchfloor/gateway/config"
	gt "github.com/watchfloor/watchfloor/gateway/gatewaytest"
	"github.com/watchfloor/watchfloor/gateway/internal/browsertest"
	"github.com/watchfloor/watchfloor/netprobe/protocol"
	"github.com/watchfloor/watchfloor/samplers"
)

// wallEntity is an entity of a wall test's configuration.
type wallEntity struct {
	name, probe               string
	environment, system, user string // attributes; user is the client
}

// wallVenue is the probe a wall test feeds by hand; wallStandby never
// connects.
var (
	wallVenue   = gt.Probe{Name: "venue", Token: "venue-token-0123456789abcdef"}
	wallStandby = gt.Probe{Name: "standby", Token: "standby-token-0123456789abcdef"}
)

// wallYAML is a gateway whose entities each run an orders sampler, judged
// by a latency rule: ok up to 40, warning above, critical above 80.
func wallYAML(listen string, entities []wallEntity, users ...gt.User) string {
	var b strings.Builder
	fmt.Fprintf(&b, "listen: %q\nprobes:\n", listen)
	for _, p := range []gt.Probe{wallVenue, wallStandby} {
		fmt.Fprintf(&b, "  - name: %q\n    token_sha256: %s\n", p.Name, config.HashToken(p.Token))
	}
	b.WriteString("samplers:\n  - name: orders\n    type: cpu\n    interval: 100ms\nentities:\n")
	for _, e := range entities {
		fmt.Fprintf(&b, "  - name: %q\n    probe: %q\n    attributes: {environment: %q, system: %q, client: %q}\n    samplers: [orders]\n",
			e.name, e.probe, e.environment, e.system, e.user)
	}
	b.WriteString(`rules:
  - name: latency-high
    match: "*/*/orders/orders/*/latency"
    warning: {when: value > 40}
    critical: {when: value > 80}
`)
	return b.String() + gt.Users(append([]gt.User{gt.Admin}, users...)...)
}

// wallRig is a gateway under test whose venue probe a test drives by
// hand.
type wallRig struct {
	t        testing.TB
	gw       *gt.Gateway
	probe    *gt.RawProbe
	declared map[string]bool // entity → its orders dataview declared
}

func startWall(t testing.TB, entities []wallEntity, users ...gt.User) *wallRig {
	t.Helper()
	ln := gt.Listen(t)
	cfg, err := config.Parse("wall.yaml", []byte(wallYAML(ln.Addr().String(), entities, users...)))
	if err != nil {
		t.Fatal(err)
	}
	gw := gt.Start(t, gateway.Options{Config: cfg, Listener: ln})
	return &wallRig{t: t, gw: gw, probe: gt.DialRawProbe(t, gw.Addr, wallVenue.Name, wallVenue.Token), declared: map[string]bool{}}
}

// latencies sets the order latency of entities of the venue, in one
// batch.
func (r *wallRig) latencies(values map[string]int) {
	r.t.Helper()
	ids := map[string]uint32{}
	for _, s := range r.probe.Config.Samplers {
		ids[s.Entity] = s.ID
	}
	now := time.Now().UnixNano()
	var b protocol.Batch
	for entity, v := range values {
		id, ok := ids[entity]
		if !ok {
			r.t.Fatalf("the venue runs no sampler for %s", entity)
		}
		cell := samplers.Text(fmt.Sprint(v))
		if !r.declared[entity] {
			r.declared[entity] = true
			b.Declares = append(b.Declares, protocol.Declare{ID: id, SamplerID: id, Name: "orders", SampleTime: now,
				Columns: []string{"latency"}, Rows: []protocol.RowDecl{{Index: 0, Name: "A", Cells: []samplers.Cell{cell}}}})
			continue
		}
		b.Updates = append(b.Updates, protocol.Update{ID: id, SampleTime: now, Cells: []protocol.CellChange{{Row: 0, Col: 0, Value: cell}}})
	}
	r.probe.Send(b)
}

// tilePath is the canonical path of an entity of a probe.
func tilePath(probe, entity string) string {
	return strings.TrimSuffix(gt.DataviewPath(probe, entity, "s", "d"), "/s/d")
}

// tileOf is a JavaScript expression for the wall's tile of an entity of
// the venue.
func tileOf(entity string) string {
	return fmt.Sprintf(`document.querySelector('#view .tile[data-entity=%q]')`, tilePath(wallVenue.Name, entity))
}

// tiles is a JavaScript expression for the data-entity of every tile on
// the wall, in order.
const tiles = `[...document.querySelectorAll('#view .tile')].map(t => t.dataset.entity)`

func navigate(t *testing.T, ctx context.Context, url string) {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.Navigate(url)); err != nil {
		t.Fatal(err)
	}
}

func press(t *testing.T, ctx context.Context, key string) {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.KeyEvent(key)); err != nil {
		t.Fatal(err)
	}
}

// focused is a JavaScript expression for the data-entity of the focused
// tile ("" for none).
const focused = `(document.activeElement && document.activeElement.dataset.entity) || ""`

var wallEstate = []wallEntity{
	{name: "router-acme", probe: "venue", environment: "production", system: "oms", user: "acme"},
	{name: "pricer-acme", probe: "venue", environment: "Pre-Production", system: "pricing", user: "acme"},
	{name: "router-globex", probe: "venue", environment: "uat", system: "oms", user: "globex"},
	{name: "risk-standby", probe: "standby", environment: "prod", system: "risk", user: "initech"},
}

// The wall after logging in through the form: every entity a tile in its
// environment, coloured and counted from its cells; a rule turning a
// cell critical turns its tile critical; the probe that never connected
// says so; the keyboard moves between tiles and opens one, and the
// entity's dataview opens its grid.
func TestBrowserWallOverviewAndDrillDown(t *testing.T) {
	r := startWall(t, wallEstate)
	ctx := browsertest.New(t)
	browsertest.FailOnJSErrors(t, ctx)
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1600, 900)); err != nil {
		t.Fatal(err)
	}
	navigate(t, ctx, r.gw.URL()+"/#/wall")
	browsertest.WaitFor[bool](t, ctx, "the login page", `location.pathname === "/login" && !!document.getElementById("login-form")`)
	if err := chromedp.Do(ctx,
		chromedp.SetValue("#login-user", gt.Admin.Name),
		chromedp.SetValue("#login-password", gt.Password),
		chromedp.Click("#login-submit"),
	); err != nil {
		t.Fatal(err)
	}
	r.latencies(map[string]int{"router-acme": 10, "pricer-acme": 12, "router-globex": 50})

	acme, pricer, globex, standby := tilePath("venue", "router-acme"), tilePath("venue", "pricer-acme"), tilePath("venue", "router-globex"), tilePath("standby", "risk-standby")
	self := tilePath(config.SelfProbe, "gateway")
	got := browsertest.WaitFor[[]string](t, ctx, "the wall's tiles, judged",
		`(t => t.length === 5 && t[1].dataset.severity === "ok" && t[3].dataset.severity === "warning" && t.map(e => e.dataset.entity + " " + e.dataset.severity + " " + e.dataset.probe))([...document.querySelectorAll('#view .tile')])`)
	// The gateway's own entity has no environment: it comes last.
	want := []string{standby + " undefined never", acme + " ok connected", pricer + " ok connected", globex + " warning connected", self + " undefined connected"}
	if !slices.Equal(got, want) {
		t.Errorf("the wall shows %q, want %q (Production, Pre-Production, UAT, then no environment)", got, want)
	}
	groups := browsertest.WaitFor[[]string](t, ctx, "the groups", `[...document.querySelectorAll('#view .wall-group-name')].map(g => g.textContent)`)
	if !slices.Equal(groups, []string{"Production", "Pre-Production", "UAT", "No environment"}) {
		t.Errorf("groups %q", groups)
	}
	if route := browsertest.WaitFor[string](t, ctx, "the route", `document.body.dataset.route`); route != "wall" {
		t.Errorf("body[data-route] = %q", route)
	}
	if tree := browsertest.WaitFor[string](t, ctx, "the tree's display", `getComputedStyle(document.getElementById("tree")).display`); tree != "none" {
		t.Errorf("the tree beside the wall has display %q, want none", tree)
	}
	word := browsertest.WaitFor[string](t, ctx, "the standby's word", fmt.Sprintf(`document.querySelector('.tile[data-entity=%q] .tile-word').textContent`, standby))
	if word != "NOT CONNECTED" {
		t.Errorf("the never-connected entity's tile says %q", word)
	}

	r.latencies(map[string]int{"router-acme": 95})
	critical := fmt.Sprintf(`document.querySelector('.tile[data-entity=%q]')`, acme)
	browsertest.WaitFor[bool](t, ctx, "router-acme's tile to turn critical with its count",
		critical+`.dataset.severity === "critical" && `+critical+`.dataset.critical === "1" && `+critical+`.querySelector(".tile-word").textContent === "CRITICAL"`)
	summary := browsertest.WaitFor[[]string](t, ctx, "the summary line",
		`(s => s.length && s.map(e => e.dataset.kind + "=" + e.dataset.count))([...document.querySelectorAll('#view .wall-summary .wall-sum')])`)
	if want := []string{"critical=1", "warning=1", "ok=1", "undefined=1", "not-connected=1"}; !slices.Equal(summary, want) {
		t.Errorf("the summary says %q, want %q", summary, want)
	}
	browsertest.Screenshot(t, ctx, "wall-small")

	// The keyboard: one tile in the tab order, the arrows in reading
	// order across groups, Home and End, and Enter to open.
	if err := chromedp.Do(ctx, chromedp.Focus(`#view .tile[tabindex="0"]`)); err != nil {
		t.Fatal(err)
	}
	for _, step := range []struct{ key, want string }{
		{"", standby}, {kb.ArrowRight, acme}, {kb.ArrowRight, pricer}, {kb.ArrowLeft, acme},
		{kb.End, self}, {kb.ArrowLeft, globex}, {kb.Home, standby}, {kb.ArrowRight, acme},
	} {
		if step.key != "" {
			press(t, ctx, step.key)
		}
		if got := browsertest.WaitFor[string](t, ctx, "the focused tile", focused); got != step.want {
			t.Fatalf("after %q the focus is on %q, want %q", step.key, got, step.want)
		}
	}
	press(t, ctx, kb.Enter)
	view := `document.querySelector('#view .entity-view')`
	browsertest.WaitFor[bool](t, ctx, "Enter to open router-acme's entity", fmt.Sprintf(`location.hash === "#/entity/%s" && %s && %s.dataset.entity === %q`, acme, view, view, acme))
	dv := acme + "/orders/orders"
	link := fmt.Sprintf(`document.querySelector('#view a.entity-dv[data-dataview=%q]')`, dv)
	browsertest.WaitFor[bool](t, ctx, "the entity's dataview, critical", link+` && `+link+`.dataset.severity === "critical"`)
	attrs := browsertest.WaitFor[[]string](t, ctx, "the attributes", `[...document.querySelectorAll('#view .entity-attrs dd')].map(d => d.dataset.attribute + "=" + d.textContent)`)
	if want := []string{"client=acme", "environment=production", "system=oms"}; !slices.Equal(attrs, want) {
		t.Errorf("the entity's attributes read %q, want %q", attrs, want)
	}
	if state := browsertest.WaitFor[string](t, ctx, "the probe's state", `document.querySelector('#view .entity-probe').dataset.state`); state != "connected" {
		t.Errorf("the probe reads %q", state)
	}
	browsertest.Screenshot(t, ctx, "entity")
	click(t, ctx, fmt.Sprintf(`#view a.entity-dv[data-dataview=%q]`, dv))
	cell := browsertest.Cell(latencyPathOf("router-acme"))
	if v := browsertest.WaitFor[string](t, ctx, "the dataview's grid", cell+` && `+cell+`.textContent`); !strings.Contains(v, "95") {
		t.Errorf("the grid's latency cell reads %q, want 95", v)
	}

	// Clicking a tile opens its entity too.
	navigate(t, ctx, r.gw.URL()+"/#/wall")
	clickSteady(t, ctx, fmt.Sprintf(`#view .tile[data-entity=%q]`, globex))
	browsertest.WaitFor[bool](t, ctx, "a click to open router-globex's entity", fmt.Sprintf(`(v => v && v.dataset.entity === %q)(%s)`, globex, view))
}

// clickSteady clicks the element css selects once it has stayed in one
// place between two polls: the wall sizes its tiles to the room it has,
// and a click aimed while they are being sized again would land beside.
func clickSteady(t *testing.T, ctx context.Context, css string) {
	t.Helper()
	browsertest.WaitFor[bool](t, ctx, css+" to stay in place", fmt.Sprintf(`((e, css) => {
		if (!e) return false;
		const r = css + JSON.stringify(e.getBoundingClientRect());
		const steady = window.wallLastRect === r;
		window.wallLastRect = r;
		return steady;
	})(document.querySelector(%q), %q)`, css, css))
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(css))); err != nil {
		t.Fatalf("click %s: %v", css, err)
	}
}

func latencyPathOf(entity string) string {
	return samplers.DataviewPath{Probe: "venue", Entity: entity, Sampler: "orders", Dataview: "orders"}.Cell("A", "latency").String()
}

// The URL groups the wall by any attribute; the environment toggles filter
// it; a kiosk shows no chrome, and its URL's filter still applies.
func TestBrowserWallGroupsFiltersAndKiosk(t *testing.T) {
	r := startWall(t, wallEstate)
	ctx := browsertest.New(t)
	browsertest.FailOnJSErrors(t, ctx)
	browsertest.SetSession(t, ctx, r.gw.URL(), r.gw.Admin(t).Cookie)
	acme, pricer, globex, standby := tilePath("venue", "router-acme"), tilePath("venue", "pricer-acme"), tilePath("venue", "router-globex"), tilePath("standby", "risk-standby")

	navigate(t, ctx, r.gw.URL()+"/#/wall?group=client")
	got := browsertest.WaitFor[[]string](t, ctx, "the wall grouped by client",
		`(g => g.length === 4 && g.map(s => s.dataset.group + ":" + [...s.querySelectorAll(".tile")].map(t => t.dataset.entity).join(",")))([...document.querySelectorAll('#view .wall-group')])`)
	self := tilePath(config.SelfProbe, "gateway")
	if want := []string{"acme:" + pricer + "," + acme, "globex:" + globex, "initech:" + standby, ":" + self}; !slices.Equal(got, want) {
		t.Errorf("grouped by client: %q, want %q", got, want)
	}

	clickSteady(t, ctx, `#view .wall-control[data-control="env:uat"]`)
	browsertest.WaitFor[bool](t, ctx, "the UAT toggle to filter", fmt.Sprintf(`location.hash === "#/wall?group=client&environment=uat" && JSON.stringify(%s) === %q`, tiles, `["`+globex+`"]`))
	clickSteady(t, ctx, `#view .wall-control[data-control="env:production"]`)
	browsertest.WaitFor[bool](t, ctx, "Production added to UAT", fmt.Sprintf(`location.hash === "#/wall?group=client&environment=uat%%2Cproduction" && JSON.stringify(%s) === %q`,
		tiles, jsonOf(t, []string{acme, globex, standby})))
	if f := browsertest.WaitFor[string](t, ctx, "the focus back on the toggle", `document.activeElement.dataset.control || ""`); f != "env:production" {
		t.Errorf("after the toggle the focus is on %q", f)
	}
	clickSteady(t, ctx, `#view .wall-control[data-control="env:"]`)
	browsertest.WaitFor[bool](t, ctx, "All to show every entity", tiles+`.length === 5`)

	navigate(t, ctx, r.gw.URL()+"/#/wall?environment=pre-production&kiosk=1")
	got = browsertest.WaitFor[[]string](t, ctx, "the kiosk's wall", `document.body.dataset.kiosk && `+tiles)
	if !slices.Equal(got, []string{pricer}) {
		t.Errorf("a kiosk's filtered wall shows %q", got)
	}
	hidden := browsertest.WaitFor[[]string](t, ctx, "the chrome", `["#main-nav", "#tree", ".wall-controls", "#session"].map(s => s + "=" + getComputedStyle(document.querySelector(s)).display)`)
	for _, h := range hidden {
		if !strings.HasSuffix(h, "=none") {
			t.Errorf("in kiosk mode %s", h)
		}
	}
	if href := browsertest.WaitFor[string](t, ctx, "the tile's link", tileOf("pricer-acme")+`.getAttribute("href")`); href != "#/entity/"+pricer+"?kiosk=1" {
		t.Errorf("a kiosk's tile links to %q", href)
	}
}

// A client's trader sees only its own entities on the wall, and the
// "Report a problem" link.
func TestBrowserWallScopedClient(t *testing.T) {
	trader := gt.User{Name: "acme-trader", Roles: []string{"client"}, Scope: "client=acme"}
	r := startWall(t, wallEstate, trader)
	r.latencies(map[string]int{"router-acme": 90, "pricer-acme": 10, "router-globex": 90})
	ctx := browsertest.New(t)
	browsertest.FailOnJSErrors(t, ctx)
	browsertest.SetSession(t, ctx, r.gw.URL(), gt.Login(t, r.gw.URL(), trader.Name).Cookie)
	navigate(t, ctx, r.gw.URL()+"/#/wall")
	acme := tileOf("router-acme")
	browsertest.WaitFor[bool](t, ctx, "the client's critical entity", acme+` && `+acme+`.dataset.severity === "critical"`)
	got := browsertest.WaitFor[[]string](t, ctx, "the client's tiles", tiles)
	if want := []string{tilePath("venue", "router-acme"), tilePath("venue", "pricer-acme")}; !slices.Equal(got, want) {
		t.Errorf("acme's trader sees %q, want only %q", got, want)
	}
	if total := browsertest.WaitFor[string](t, ctx, "the summary", `document.querySelector('#view .wall-sum-total').textContent`); total != "2 entities" {
		t.Errorf("the summary counts %q", total)
	}
	if link := browsertest.WaitFor[string](t, ctx, "the report link", `(a => !a.hidden && getComputedStyle(a).display !== "none" && a.textContent)(document.getElementById("report-link"))`); link != "Report a problem" {
		t.Errorf("the client's nav shows %q", link)
	}
	if rules := browsertest.WaitFor[bool](t, ctx, "the rules link", `document.getElementById("user-badge").textContent !== "" && document.getElementById("rules-link").hidden`); !rules {
		t.Error("the client's nav shows the rules")
	}
}

// wallOf200 is 200 entities in three environments, ten of them on the
// probe that never connects.
func wallOf200() []wallEntity {
	systems := []string{"oms", "pricer", "risk", "fix-gw", "md-feed", "settle"}
	envs := []struct{ name, short string }{{"production", "prd"}, {"pre-production", "ppd"}, {"uat", "uat"}}
	var out []wallEntity
	for i := range 200 {
		env := envs[0]
		switch {
		case i >= 150:
			env = envs[2]
		case i >= 90:
			env = envs[1]
		}
		sys := systems[i%len(systems)]
		p := "venue"
		if i%20 == 19 {
			p = "standby"
		}
		out = append(out, wallEntity{name: fmt.Sprintf("%s-%s-%03d", sys, env.short, i), probe: p, environment: env.name, system: sys, user: "acme"})
	}
	return out
}

// latencyFor is entity i's latency at step: mostly ok, some warning, a
// few critical, changing with the step.
func latencyFor(i, step int) int {
	switch (i + step) % 23 {
	case 0, 11:
		return 95
	case 3, 7, 17:
		return 55
	}
	return 10 + (i+step)%20
}

func (r *wallRig) feed200(entities []wallEntity, step int) {
	r.t.Helper()
	values := map[string]int{}
	for i, e := range entities {
		if e.probe == "venue" {
			values[e.name] = latencyFor(i, step)
		}
	}
	r.latencies(values)
}

// open4KWall starts a wall of entities showing their first values and
// opens it in kiosk mode on a 3840×2160 screen, logged in as the admin.
func open4KWall(t *testing.T, entities []wallEntity) (*wallRig, context.Context) {
	t.Helper()
	r := startWall(t, entities)
	r.feed200(entities, 0)
	ctx := browsertest.New(t)
	browsertest.FailOnJSErrors(t, ctx)
	browsertest.SetSession(t, ctx, r.gw.URL(), r.gw.Admin(t).Cookie)
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(3840, 2160)); err != nil {
		t.Fatal(err)
	}
	navigate(t, ctx, r.gw.URL()+"/?kiosk=1#/wall")
	return r, ctx
}

// A 4K wall screen shows 200 entities (and the gateway's own) at once, every tile inside the
// screen, nothing to scroll, and names big enough to read across a room.
func TestBrowserWall4KFits200Entities(t *testing.T) {
	entities := wallOf200()
	_, ctx := open4KWall(t, entities)
	browsertest.WaitFor[bool](t, ctx, "201 tiles, judged",
		`(t => t.length === 201 && t.filter(e => e.dataset.severity === "critical").length > 0)([...document.querySelectorAll('#view .tile')])`)
	type fitting struct {
		Tiles, Outside, ScrollHeight, InnerHeight int
		NameFont, CountFont                       float64
	}
	f := browsertest.WaitFor[fitting](t, ctx, "the wall laid out", `(() => {
		const tiles = [...document.querySelectorAll('#view .tile')];
		const outside = tiles.filter(el => {
			const r = el.getBoundingClientRect();
			return r.top < 0 || r.left < 0 || r.bottom > innerHeight || r.right > innerWidth || r.width === 0;
		}).length;
		const px = (sel) => parseFloat(getComputedStyle(document.querySelector(sel)).fontSize);
		return document.querySelector('#view .wall').dataset.cols && {tiles: tiles.length, outside, scrollHeight: document.scrollingElement.scrollHeight,
			innerHeight, nameFont: px('#view .tile-name'), countFont: px('#view .tile-counts')};
	})()`)
	if f.Tiles != 201 || f.Outside != 0 {
		t.Errorf("%d of %d tiles are outside the 3840×2160 screen", f.Outside, f.Tiles)
	}
	if f.ScrollHeight > f.InnerHeight {
		t.Errorf("the page scrolls: %d px high in a %d px window", f.ScrollHeight, f.InnerHeight)
	}
	// From across a room: names at 24 px or more, counts (coloured
	// chips with their shape) at 18 px or more, on a 4K screen.
	if f.NameFont < 24 || f.CountFont < 18 {
		t.Errorf("names at %.0f px and counts at %.0f px: too small to read across a room", f.NameFont, f.CountFont)
	}
	t.Logf("%d tiles at 3840×2160: names %.0f px, counts %.0f px", f.Tiles, f.NameFont, f.CountFont)
	browsertest.Screenshot(t, ctx, "wall")
}

// A wall of 200 entities whose severities all change every second keeps
// up: after the last change every tile shows it, and the page's frames
// and CPU are logged for docs/dashboard.md.
func TestBrowserWall200EntitiesChangingEverySecond(t *testing.T) {
	if testing.Short() {
		t.Skip("a ten-second measurement")
	}
	entities := wallOf200()
	r, ctx := open4KWall(t, entities)
	browsertest.WaitFor[bool](t, ctx, "200 tiles", `document.querySelectorAll('#view .tile[data-severity="critical"]').length > 0`)
	if _, err := chromedp.Call(ctx, performance.Enable, performance.EnableParams{}); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(() => {
		window.wallFrames = [];
		window.wallLongTasks = 0;
		new PerformanceObserver(l => { window.wallLongTasks += l.getEntries().length; }).observe({type: "longtask"});
		let last = performance.now();
		const tick = (now) => { window.wallFrames.push(now - last); last = now; requestAnimationFrame(tick); };
		requestAnimationFrame(tick);
		return true;
	})()`)); err != nil {
		t.Fatal(err)
	}
	before := taskSeconds(t, ctx)
	start := time.Now()
	const steps = 10
	pace := time.NewTicker(time.Second)
	defer pace.Stop()
	for step := 1; step <= steps; step++ {
		<-pace.C
		r.feed200(entities, step)
	}
	elapsed := time.Since(start)
	busy := taskSeconds(t, ctx) - before
	// The last step's severities, as the page must show them.
	want := map[string]string{}
	for i, e := range entities {
		if e.probe != "venue" {
			continue
		}
		sev := "ok"
		switch v := latencyFor(i, steps); {
		case v > 80:
			sev = "critical"
		case v > 40:
			sev = "warning"
		}
		want[tilePath("venue", e.name)] = sev
	}
	browsertest.WaitFor[bool](t, ctx, "every tile to show the last change", fmt.Sprintf(`(() => {
		const want = %s;
		return Object.entries(want).every(([p, s]) => document.querySelector('#view .tile[data-entity="' + p + '"]').dataset.severity === s);
	})()`, jsonOf(t, want)))
	type frames struct {
		Frames    []float64
		LongTasks int
	}
	res, err := chromedp.Run(ctx, chromedp.Evaluate[frames](`({frames: window.wallFrames, longTasks: window.wallLongTasks})`))
	if err != nil {
		t.Fatal(err)
	}
	sort.Float64s(res.Frames)
	if len(res.Frames) == 0 {
		t.Fatal("no frame was drawn")
	}
	pct := func(p float64) float64 { return res.Frames[int(p*float64(len(res.Frames)-1))] }
	t.Logf("%d entities changing every second for %v: %d frames, p50 %.1f ms, p99 %.1f ms, max %.1f ms; %d long tasks; renderer main thread busy %.0f%% of the time",
		len(want), elapsed.Round(time.Millisecond), len(res.Frames), pct(0.5), pct(0.99), res.Frames[len(res.Frames)-1], res.LongTasks, 100*busy/elapsed.Seconds())
}

func jsonOf(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// taskSeconds is the renderer's main-thread busy time so far, in seconds.
func taskSeconds(t *testing.T, ctx context.Context) float64 {
	t.Helper()
	m, err := chromedp.Call(ctx, performance.GetMetrics, cdp.Empty{})
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range m.Metrics {
		if x.Name == "TaskDuration" {
			return x.Value
		}
	}
	t.Fatal("no TaskDuration metric")
	return 0
}
