package gateway_test

import (
	"encoding/json"
	"net/http"
	"reflect"
	"testing"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/watchfloor/watchfloor/gateway"
	"github.com/watchfloor/watchfloor/gateway/config"
	gt "github.com/watchfloor/watchfloor/gateway/gatewaytest"
	"github.com/watchfloor/watchfloor/gateway/internal/browsertest"
)

// gridRule judges the cpu dataview's total utilisation with two
// thresholds the chart draws.
const gridRule = `rules:
  - name: cpu-busy
    match: "*/*/cpu/cpu/total/utilisation"
    critical: {when: value > 90, clear: value < 80}
    warning: {when: 75 < value}
`

// startGridGateway starts a gateway with gridRule and a real netprobe
// sampling cpu for p, and waits for its dataview.
func startGridGateway(t *testing.T, p gt.Probe) *gt.Gateway {
	t.Helper()
	ln := gt.Listen(t)
	cfg, err := config.Parse("grid.yaml", []byte(gt.Config(ln.Addr().String(), p)+gridRule))
	if err != nil {
		t.Fatal(err)
	}
	gw := gt.Start(t, gateway.Options{Config: cfg, Listener: ln}, p)
	tree := gw.Tree(t)
	gt.StartProbe(t, gw.Addr, p)
	waitDataview(tree, cpuPath(p))
	return gw
}

// The rule API answers with the numbers a rule compares values with, for
// charts: from when and clear, each with its level, the number on the
// left turned round.
func TestRuleAPIGivesThresholds(t *testing.T) {
	p := probe("thresholds-1", "cpu")
	gw := startGridGateway(t, p)
	code, body := gw.Admin(t).Do(t, http.MethodGet, "/api/v1/rules/cpu-busy", nil)
	if code != http.StatusOK {
		t.Fatalf("GET /api/v1/rules/cpu-busy: %d %s", code, body)
	}
	var got struct {
		Thresholds []map[string]any `json:"thresholds"`
	}
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatal(err)
	}
	want := []map[string]any{
		{"level": "critical", "op": ">", "value": 90.0},
		{"level": "critical", "op": "<", "value": 80.0, "clear": true},
		{"level": "warning", "op": ">", "value": 75.0},
	}
	if !reflect.DeepEqual(got.Thresholds, want) {
		t.Fatalf("thresholds = %v, want %v", got.Thresholds, want)
	}
	code, body = gw.Admin(t).Do(t, http.MethodGet, "/api/v1/rules", nil)
	if code != http.StatusOK {
		t.Fatalf("GET /api/v1/rules: %d %s", code, body)
	}
	var list []map[string]any
	if err := json.Unmarshal(body, &list); err != nil {
		t.Fatal(err)
	}
	if _, ok := list[0]["thresholds"]; ok {
		t.Fatalf("the list carries thresholds: %s", body)
	}
}

// Drill down from the wall to a live grid: its cells update, a numeric
// cell draws its sparkline, and a click opens the chart of its history,
// drawn by uPlot with the rule's thresholds as lines; Escape closes it
// and Enter on the cell opens it again. No JavaScript errors throughout.
func TestBrowserGridSparklineAndChart(t *testing.T) {
	ctx := browsertest.New(t)
	browsertest.FailOnJSErrors(t, ctx)
	p := probe("grid-1", "cpu")
	gw := startGridGateway(t, p)
	path := cpuPath(p)
	cellPath := path + "/total/utilisation"
	cell := browsertest.Cell(cellPath)

	// A screen big enough for the chart and the grid under it.
	if _, err := chromedp.Call(ctx, emulation.SetDeviceMetricsOverride, emulation.SetDeviceMetricsOverrideParams{Width: 1280, Height: 860, DeviceScaleFactor: 1}); err != nil {
		t.Fatal(err)
	}
	browsertest.SetSession(t, ctx, gw.URL(), gw.Admin(t).Cookie)
	// Drill down: the wall's tile, the entity's dataview, its grid.
	if err := chromedp.Do(ctx, chromedp.Navigate(gw.URL()+"/#/wall")); err != nil {
		t.Fatal(err)
	}
	tile := `#view a.tile[data-entity="` + p.Name + `/` + p.Entity() + `"]`
	browsertest.WaitFor[bool](t, ctx, "the entity's tile on the wall", `document.querySelector('`+tile+`') !== null`)
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(tile))); err != nil {
		t.Fatal(err)
	}
	link := `#view a.entity-dv[data-dataview="` + path + `"]`
	browsertest.WaitFor[bool](t, ctx, "the entity's dataview link", `document.querySelector('`+link+`') !== null`)
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(link))); err != nil {
		t.Fatal(err)
	}
	browsertest.WaitFor[bool](t, ctx, "the dataview's page", `location.hash === "#/view/`+path+`"`)
	first := browsertest.WaitFor[string](t, ctx, "the grid's cell with its rule", cell+` && `+cell+`.dataset.rule === "cpu-busy" && `+cell+`.dataset.changed`)
	browsertest.WaitFor[bool](t, ctx, "the cell to change", cell+`.dataset.changed !== "`+first+`"`)
	if unit := browsertest.WaitFor[string](t, ctx, "the cell's unit", cell+`.dataset.unit`); unit != "%" {
		t.Errorf("utilisation's unit = %q, want %%", unit)
	}
	browsertest.WaitFor[bool](t, ctx, "the cell's sparkline to draw", `(c => { if (!c || !(Number(c.dataset.points) > 0)) return false;
		const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
		for (let i = 3; i < d.length; i += 4) if (d[i] > 0) return true; return false; })(`+cell+`.querySelector("canvas.spark"))`)

	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`td[data-path="`+cellPath+`"]`))); err != nil {
		t.Fatal(err)
	}
	chart := `document.querySelector('#view .cell-chart .history-chart')`
	browsertest.WaitFor[bool](t, ctx, "the chart of the cell's history", chart+` && `+chart+`.dataset.state === "drawn" && `+chart+`.dataset.thresholds !== undefined`)
	got := browsertest.WaitFor[[]any](t, ctx, "the chart's series and thresholds", `(c => [c.dataset.paths, c.dataset.series,
		c.querySelectorAll(".uplot canvas").length, c.querySelectorAll(".u-legend .u-series").length, JSON.parse(c.dataset.thresholds)])(`+chart+`)`)
	want := []any{cellPath, "1", 1.0, 2.0, []any{
		map[string]any{"level": "critical", "op": ">", "value": 90.0},
		map[string]any{"level": "warning", "op": ">", "value": 75.0},
	}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("chart [paths, series, canvases, legend rows, thresholds drawn] = %v, want %v", got, want)
	}
	// The line has ink: the history drew something.
	browsertest.WaitFor[bool](t, ctx, "the series to be drawn", `(c => { const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
		for (let i = 0; i < d.length; i += 4) if (d[i] > 60 && d[i + 2] > 150 && d[i + 3] > 0) return true; return false; })(`+chart+`.querySelector(".uplot canvas"))`)
	browsertest.Screenshot(t, ctx, "grid-with-chart")

	// Escape closes the chart and gives the focus back to the cell.
	if err := chromedp.Do(ctx, chromedp.KeyEvent("\x1b")); err != nil {
		t.Fatal(err)
	}
	browsertest.WaitFor[bool](t, ctx, "the chart to close, the cell focused", `document.querySelector('#view .cell-chart').hidden && document.activeElement === `+cell)
	// Enter on the focused cell opens it again.
	if err := chromedp.Do(ctx, chromedp.KeyEvent("\r")); err != nil {
		t.Fatal(err)
	}
	browsertest.WaitFor[bool](t, ctx, "Enter to open the chart again", chart+` && `+chart+`.dataset.state === "drawn"`)
}
