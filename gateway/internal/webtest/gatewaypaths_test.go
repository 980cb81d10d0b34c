package webtest

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/watchfloor/watchfloor/gateway"
	"github.com/watchfloor/watchfloor/gateway/config"
	gt "github.com/watchfloor/watchfloor/gateway/gatewaytest"
	"github.com/watchfloor/watchfloor/gateway/internal/browsertest"
	"github.com/watchfloor/watchfloor/netprobe/protocol"
	"github.com/watchfloor/watchfloor/samplers"
	_ "github.com/watchfloor/watchfloor/samplers/all"
)

// The names below hold what a path encoder must get right: "/" (which
// would split a segment), space, "%", "#" (the headline row), "?" and "+"
// (which URLs read specially), the dot segments "." and ".." (which URLs
// resolve) and text beyond ASCII.
const (
	awkwardProbe = "edge/α 100%#?+"
	awkwardToken = "tok-edge"
)

// awkwardEntity is one entity of the awkward probe, with its one sampler.
type awkwardEntity struct{ entity, sampler, dataview string }

var awkwardEntities = []awkwardEntity{
	{entity: "..", sampler: ".", dataview: "q/ü #1?+%"},
	{entity: "OMS #1/é?+%", sampler: "disk /var?+%#", dataview: ".."},
}

var (
	awkwardRows      = []string{"/", "a b", "100%", "#", ".", "..", "é東京😀", "?x=1&y=2", "+", `C:\data`, "-._~"}
	awkwardColumns   = []string{"/", "a b", "%", "#", ".", "..", "ü", "?", "+"}
	awkwardHeadlines = []string{"#", "load 1", "..", ".", "?+", "/var/log", "%"}
)

// quote renders s as a YAML string (JSON's quoting is YAML's).
func quote(s string) string {
	b, err := json.Marshal(s)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// awkwardConfig is a configuration for the awkward probe and entities,
// every sampler of type cpu (the raw probe never runs them).
func awkwardConfig(listen string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "listen: %s\nprobes:\n  - name: %s\n    token_sha256: %s\nsamplers:\n",
		quote(listen), quote(awkwardProbe), config.HashToken(awkwardToken))
	for _, e := range awkwardEntities {
		fmt.Fprintf(&b, "  - name: %s\n    type: cpu\n    interval: 1s\n", quote(e.sampler))
	}
	b.WriteString("entities:\n")
	for _, e := range awkwardEntities {
		fmt.Fprintf(&b, "  - name: %s\n    probe: %s\n    attributes: {region: emea}\n    samplers: [%s]\n",
			quote(e.entity), quote(awkwardProbe), quote(e.sampler))
	}
	b.WriteString(gt.Users(gt.Admin))
	return b.String()
}

// gatewayDataview is what GET /api/v1/dataviews/<path> says of the paths.
type gatewayDataview struct {
	Path string `json:"path"`
	Rows []struct {
		Name  string `json:"name"`
		Cells []struct {
			Path   string `json:"path"`
			Column string `json:"column"`
		} `json:"cells"`
	} `json:"rows"`
	Headlines []struct {
		Path string `json:"path"`
		Name string `json:"name"`
	} `json:"headlines"`
}

// startAwkwardGateway runs a gateway for the awkward probe, connects the
// probe by hand and declares one dataview per entity with the awkward
// rows, columns and headlines. It returns the gateway and the canonical
// path of each entity's dataview, as the gateway's encoder makes it.
func startAwkwardGateway(t *testing.T) (*gt.Gateway, []string) {
	t.Helper()
	ln := gt.Listen(t)
	cfg, err := config.Parse("awkward.yaml", []byte(awkwardConfig(ln.Addr().String())))
	if err != nil {
		t.Fatal(err)
	}
	gw := gt.Start(t, gateway.Options{Config: cfg, Listener: ln})
	tree := gw.Tree(t)
	raw := gt.DialRawProbe(t, gw.Addr, awkwardProbe, awkwardToken)

	batch := protocol.Batch{Flags: protocol.SnapshotStart | protocol.SnapshotEnd}
	var paths []string
	for i, e := range awkwardEntities {
		id := samplerID(t, raw.Config, e)
		decl := protocol.Declare{
			ID: uint32(i + 1), SamplerID: id, Name: e.dataview, SampleTime: time.Now().UnixNano(),
			Columns: awkwardColumns, Headlines: awkwardHeadlines,
		}
		for j := range awkwardHeadlines {
			decl.HeadValues = append(decl.HeadValues, samplers.Text(fmt.Sprint("h", j)))
		}
		for j, row := range awkwardRows {
			r := protocol.RowDecl{Index: uint32(j), Name: row}
			for k := range awkwardColumns {
				r.Cells = append(r.Cells, samplers.Text(fmt.Sprint(j, ".", k)))
			}
			decl.Rows = append(decl.Rows, r)
		}
		batch.Declares = append(batch.Declares, decl)
		paths = append(paths, gt.DataviewPath(awkwardProbe, e.entity, e.sampler, e.dataview))
	}
	raw.Send(batch)
	for _, p := range paths {
		tree.Wait("dataview "+p+" in the tree", func(tr *gt.Tree) bool { _, ok := tr.Node(p); return ok })
	}
	return gw, paths
}

func samplerID(t *testing.T, cfg protocol.Config, e awkwardEntity) uint32 {
	t.Helper()
	for _, s := range cfg.Samplers {
		if s.Entity == e.entity && s.Name == e.sampler {
			return s.ID
		}
	}
	t.Fatalf("the gateway sent no sampler %q for entity %q: %+v", e.sampler, e.entity, cfg.Samplers)
	return 0
}

func getDataview(t *testing.T, gw *gt.Gateway, path string) gatewayDataview {
	t.Helper()
	var dv gatewayDataview
	gw.Admin(t).Get(t, "/api/v1/dataviews/"+path, &dv)
	return dv
}

// cellPaths returns a dataview's cell paths, headlines first, then row by
// row, as the grid lays them out.
func (dv gatewayDataview) cellPaths() []string {
	var out []string
	for _, h := range dv.Headlines {
		out = append(out, h.Path)
	}
	for _, r := range dv.Rows {
		for _, c := range r.Cells {
			out = append(out, c.Path)
		}
	}
	return out
}

// jsPaths is what paths.js makes of a dataview's names.
type jsPaths struct {
	Dataview  string
	Cells     [][]string // per row, per column
	Headlines []string
}

// TestPathsMatchGateway checks paths.js against the gateway's own
// encoder: for awkward probe, entity, sampler, dataview, row, column and
// headline names, paths.js must make exactly the paths the gateway serves.
func TestPathsMatchGateway(t *testing.T) {
	gw, paths := startAwkwardGateway(t)
	ctx := browsertest.New(t)
	browsertest.FailOnJSErrors(t, ctx)
	browsertest.SetSession(t, ctx, gw.URL(), gw.Admin(t).Cookie)
	if err := chromedp.Do(ctx, chromedp.Navigate(gw.URL()+"/")); err != nil {
		t.Fatal(err)
	}

	names := make([][]string, len(awkwardEntities))
	for i, e := range awkwardEntities {
		names[i] = []string{awkwardProbe, e.entity, e.sampler, e.dataview}
	}
	in, err := json.Marshal(map[string]any{"dataviews": names, "rows": awkwardRows, "columns": awkwardColumns, "headlines": awkwardHeadlines})
	if err != nil {
		t.Fatal(err)
	}
	got, err := chromedp.Run(ctx, chromedp.Evaluate[[]jsPaths](`import("/paths.js").then((p) => {
		const given = `+string(in)+`;
		return given.dataviews.map((names) => {
			const dataview = names.map(p.encodeSegment).join("/");
			return {
				dataview,
				cells: given.rows.map((r) => given.columns.map((c) => p.cellPath(dataview, r, c))),
				headlines: given.headlines.map((h) => p.headlinePath(dataview, h)),
			};
		});
	})`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatal(err)
	}

	for i, path := range paths {
		dv := getDataview(t, gw, path)
		js := got[i]
		if js.Dataview != dv.Path {
			t.Errorf("dataview %q: paths.js makes %q, the gateway %q", names[i], js.Dataview, dv.Path)
		}
		if len(dv.Rows) != len(awkwardRows) || len(dv.Headlines) != len(awkwardHeadlines) {
			t.Fatalf("the gateway serves %d rows and %d headlines of %s, want %d and %d",
				len(dv.Rows), len(dv.Headlines), path, len(awkwardRows), len(awkwardHeadlines))
		}
		for j, h := range dv.Headlines {
			if h.Name != awkwardHeadlines[j] {
				t.Errorf("%s: headline %d is %q, declared %q", path, j, h.Name, awkwardHeadlines[j])
			}
			if js.Headlines[j] != h.Path {
				t.Errorf("headline %q of %s: paths.js makes %q, the gateway %q", h.Name, path, js.Headlines[j], h.Path)
			}
		}
		for j, r := range dv.Rows {
			if r.Name != awkwardRows[j] || len(r.Cells) != len(awkwardColumns) {
				t.Fatalf("%s: row %d is %q with %d cells, declared %q with %d", path, j, r.Name, len(r.Cells), awkwardRows[j], len(awkwardColumns))
			}
			for k, c := range r.Cells {
				if js.Cells[j][k] != c.Path {
					t.Errorf("cell (%q, %q) of %s: paths.js makes %q, the gateway %q", r.Name, c.Column, path, js.Cells[j][k], c.Path)
				}
			}
		}
	}
}

// typed writes names as someone might type a deep link by hand: only what
// would break the link escaped, in lower-case hex, and the rest (spaces,
// "+", dots, non-ASCII) as it is.
func typed(names ...string) string {
	esc := strings.NewReplacer("%", "%25", "/", "%2f", "#", "%23", "?", "%3f")
	segs := make([]string, len(names))
	for i, n := range names {
		segs[i] = esc.Replace(n)
	}
	return strings.Join(segs, "/")
}

// TestDeepLinksShowGatewayPaths opens awkward dataviews by deep link, one
// typed by hand and one canonical, and checks the grid's data-path
// attributes against the paths the gateway serves.
func TestDeepLinksShowGatewayPaths(t *testing.T) {
	gw, paths := startAwkwardGateway(t)
	ctx := browsertest.New(t)
	browsertest.FailOnJSErrors(t, ctx)

	// shownPaths waits for the grid of the dataview at path to show n
	// cells and returns their data-path attributes.
	shownPaths := func(path string, n int) []string {
		t.Helper()
		return browsertest.WaitFor[[]string](t, ctx, "the grid of "+path, fmt.Sprintf(`(() => {
			const grid = document.querySelector('#view .dv[data-dataview="' + %q + '"]');
			const got = grid ? [...grid.querySelectorAll('[data-path]')].map((el) => el.dataset.path) : [];
			return got.length === %d && got;
		})()`, path, n))
	}

	e := awkwardEntities[0]
	link := gw.URL() + "/#/view/" + typed(awkwardProbe, e.entity, e.sampler, e.dataview)
	browsertest.SetSession(t, ctx, gw.URL(), gw.Admin(t).Cookie)
	if err := chromedp.Do(ctx, chromedp.Navigate(link)); err != nil {
		t.Fatal(err)
	}
	// The router canonicalises the link once the page has started.
	browsertest.WaitFor[bool](t, ctx, "the hand-typed link "+link+" to become the canonical #/view/"+paths[0],
		fmt.Sprintf(`location.hash === %q`, "#/view/"+paths[0]))
	want := getDataview(t, gw, paths[0]).cellPaths()
	if got := shownPaths(paths[0], len(want)); !slices.Equal(got, want) {
		t.Errorf("hand-typed link %s shows data-paths\n%q\nwant the gateway's\n%q", link, got, want)
	}

	// Following a canonical link from the page.
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](fmt.Sprintf(`location.hash = %q, true`, "#/view/"+paths[1]))); err != nil {
		t.Fatal(err)
	}
	want = getDataview(t, gw, paths[1]).cellPaths()
	if got := shownPaths(paths[1], len(want)); !slices.Equal(got, want) {
		t.Errorf("#/view/%s shows data-paths\n%q\nwant the gateway's\n%q", paths[1], got, want)
	}
}
