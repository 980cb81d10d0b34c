package gateway_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/watchfloor/watchfloor/gateway"
	"github.com/watchfloor/watchfloor/gateway/config"
	gt "github.com/watchfloor/watchfloor/gateway/gatewaytest"
	"github.com/watchfloor/watchfloor/gateway/internal/browsertest"
)

// ruleEditorConfig is the configuration file's rule of the rule editor's
// test: it judges the cpu total, ok for any utilisation, so that the cell
// is ok until an API rule says otherwise.
const ruleEditorConfig = `rules:
  - name: cfg-cpu-sane
    match: "*/*/cpu/cpu/total/utilisation"
    critical:
      when: value > 1000
`

// An engineer opens the editor of a new rule and types one with a mistake
// in a condition: the problem is shown at its line and column, marked in
// the gutter, and a click on it puts the caret there. Fixed, the preview
// lists the cell it matches as critical; saved, the rule is in force at
// once and a grid open in another tab turns the cell critical. A second
// version makes it warning; the history shows both versions, with the
// first's diff against the text, and reverting to it makes the cell
// critical again. A viewer sees the rule read-only. No page logs a
// JavaScript error through all of it.
func TestBrowserRuleEditor(t *testing.T) {
	p := probe("rules-1", "cpu")
	ln := gt.Listen(t)
	users := gt.Users(gt.Admin, gt.User{Name: "erin", Roles: []string{"engineer"}}, gt.User{Name: "vic", Roles: []string{"viewer"}})
	cfg, err := config.Parse("test.yaml", []byte(gt.Entities(ln.Addr().String(), p)+users+ruleEditorConfig))
	if err != nil {
		t.Fatal(err)
	}
	gw := gt.Start(t, gateway.Options{Config: cfg, Listener: ln})
	tree := gw.Tree(t)
	gt.StartProbe(t, gw.Addr, p)
	dv := cpuPath(p)
	waitDataview(tree, dv)
	cellPath := dv + "/total/utilisation"

	ctx := browsertest.New(t)
	browsertest.FailOnJSErrors(t, ctx, browsertest.Status(422))
	browsertest.SetSession(t, ctx, gw.URL(), gt.Login(t, gw.URL(), "erin").Cookie)

	// The grid, in a tab of its own, shows the cell as the configuration's
	// rule judges it.
	grid, closeGrid := chromedp.NewContext(ctx)
	defer closeGrid()
	browsertest.FailOnJSErrors(t, grid, browsertest.Status(422))
	if err := chromedp.Do(grid, chromedp.Navigate(gw.URL()+"/#/view/"+dv)); err != nil {
		t.Fatal(err)
	}
	cell := browsertest.Cell(cellPath)
	gridSeverity := func(what, want string) {
		t.Helper()
		browsertest.WaitFor[bool](t, grid, what, fmt.Sprintf(`(c => c !== null && c.dataset.severity === %q)(%s)`, want, cell))
	}
	gridSeverity("the grid's cell ok by the configuration's rule", "ok")

	editor, closeEditor := chromedp.NewContext(ctx)
	defer closeEditor()
	browsertest.FailOnJSErrors(t, editor, browsertest.Status(422))
	// A desk's screen: wide enough for the editor and its panels side by
	// side, in the screenshot too.
	if err := chromedp.Do(editor, chromedp.EmulateViewport(1600, 1100)); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(editor, chromedp.Navigate(gw.URL()+"/#/rules/cpu-any?new=1")); err != nil {
		t.Fatal(err)
	}
	text := `document.querySelector('#view textarea')`
	browsertest.WaitFor[bool](t, editor, "the editor of a new rule", text+` !== null && !`+text+`.readOnly && document.querySelector('#view [data-check]').dataset.check === "valid"`)
	if src := browsertest.WaitFor[string](t, editor, "the rule's source line", `document.querySelector('#view [data-source]').dataset.source`); src != "new" {
		t.Errorf("a new rule's source is %q, want new", src)
	}

	// Typed, with a name the gateway does not know in the condition.
	badLine := "  when: value >= 0 and bogus"
	bad := "name: cpu-any\nmatch: \"*/*/cpu/cpu/total/utilisation\"\ncritical:\n" + badLine + "\n"
	setText(t, editor, "")
	if err := chromedp.Do(editor, chromedp.SendKeys(chromedp.CSS(`#view textarea`), bad)); err != nil {
		t.Fatal(err)
	}
	col := strings.Index(badLine, "bogus") + 1
	problem := browsertest.WaitFor[[]string](t, editor, "the problem at line 4",
		`(b => b && document.querySelector('#view .code-gutter [data-error-line="4"]') && [b.dataset.line, b.dataset.column, b.textContent])(document.querySelector('#view button.problem'))`)
	if problem[0] != "4" || problem[1] != fmt.Sprint(col) || !strings.Contains(problem[2], "bogus") {
		t.Errorf("the problem is at %s:%s, %q; want 4:%d naming bogus", problem[0], problem[1], problem[2], col)
	}
	if got := browsertest.WaitFor[string](t, editor, "the validity", `document.querySelector('#view [data-check]').dataset.check`); got != "invalid" {
		t.Errorf("the check says %q, want invalid", got)
	}
	browsertest.Screenshot(t, editor, "rule-editor-problem")
	click(t, editor, `#view button.problem`)
	caret := browsertest.WaitFor[string](t, editor, "the caret moved to the problem",
		`document.activeElement === `+text+` && `+text+`.value.slice(`+text+`.selectionStart, `+text+`.selectionStart + 5)`)
	if caret != "bogus" {
		t.Errorf("after clicking the problem the caret is before %q, want bogus", caret)
	}

	// Fixed: valid, and the preview lists the cell as critical.
	critical := "name: cpu-any\nmatch: \"*/*/cpu/cpu/total/utilisation\"\ncritical:\n  when: value >= 0\n"
	setText(t, editor, critical)
	// As the gateway gives it back (as JSON), the editor writes it with
	// its pattern in single quotes.
	criticalAsStored := strings.Replace(critical, `"*/*/cpu/cpu/total/utilisation"`, `'*/*/cpu/cpu/total/utilisation'`, 1)
	preview := fmt.Sprintf(`document.querySelector('#view [data-panel="preview"] tr[data-path=%q]')`, cellPath)
	browsertest.WaitFor[bool](t, editor, "the preview to list the cell as critical",
		`document.querySelector('#view [data-check]').dataset.check === "valid" && document.querySelectorAll('#view [data-error-line]').length === 0 && `+
			preview+` !== null && `+preview+`.dataset.severity === "critical"`)
	gridSeverity("the grid's cell still ok: a preview puts nothing in force", "ok")

	click(t, editor, `#view [data-action="save"]`)
	saved := browsertest.WaitFor[string](t, editor, "the saved rule's version",
		`(s => s.dataset.source === "api" && s.textContent)(document.querySelector('#view [data-source]'))`)
	if !strings.HasPrefix(saved, "API · version 1 · by erin") {
		t.Errorf("after saving the source line reads %q", saved)
	}
	if hash := browsertest.WaitFor[string](t, editor, "the address", `location.hash`); hash != "#/rules/cpu-any" {
		t.Errorf("after creating the rule the address is %s, want #/rules/cpu-any", hash)
	}
	gridSeverity("the grid's cell critical by the saved rule, live", "critical")

	// Over the history window, a rule critical at any value fired when
	// the cell was first judged.
	click(t, editor, `#view [data-action="backtest"]`)
	fired := browsertest.WaitFor[[]string](t, editor, "the backtest's result",
		`(r => r && r.dataset.fired && [r.dataset.fired, r.querySelector(".backtest-summary").textContent, r.querySelector(".backtest-firings tbody tr")?.dataset.path ?? ""])(document.querySelector('#view [data-backtest]'))`)
	if fired[0] == "0" || !strings.HasPrefix(fired[1], "Would have fired "+fired[0]+" time") || fired[2] != cellPath {
		t.Errorf("the backtest shows %q firings, %q, first of %q; want some, of %s", fired[0], fired[1], fired[2], cellPath)
	}

	// A second version: warning instead.
	setText(t, editor, "name: cpu-any\nmatch: \"*/*/cpu/cpu/total/utilisation\"\nwarning:\n  when: value >= 0\n")
	browsertest.WaitFor[bool](t, editor, "the change checked", `document.querySelector('#view [data-check]').dataset.check === "valid"`)
	click(t, editor, `#view [data-action="save"]`)
	browsertest.WaitFor[bool](t, editor, "version 2", `document.querySelector('#view [data-source]').textContent.startsWith("API · version 2")`)
	gridSeverity("the grid's cell warning by version 2", "warning")

	// History: both versions; the first's diff against the text; revert.
	versions := browsertest.WaitFor[[]string](t, editor, "the history's two versions",
		`(rs => rs.length === 2 && rs.map(r => r.dataset.version + " " + r.dataset.versionAction))([...document.querySelectorAll('#view [data-panel="history"] tr[data-version]')])`)
	if strings.Join(versions, ", ") != "2 update, 1 create" {
		t.Errorf("the history lists %q, want [2 update, 1 create]", versions)
	}
	click(t, editor, `#view [data-action="compare"][data-version="1"]`)
	diff := browsertest.WaitFor[[]string](t, editor, "the first version's diff",
		`(ls => ls.length > 0 && ls)([...document.querySelectorAll('#view [data-diff] .diff-line:not([data-op="same"])')].map(l => l.dataset.op + " " + l.querySelector(".diff-text").textContent))`)
	if strings.Join(diff, "|") != "del warning:|add critical:" {
		t.Errorf("version 1 against the text differs by %q, want [del warning: | add critical:]", diff)
	}
	if err := chromedp.Do(editor, chromedp.Evaluate[chromedp.Void](`document.getElementById("view").scrollTo(0, 0)`)); err != nil {
		t.Fatal(err)
	}
	browsertest.Screenshot(t, editor, "rule-editor")
	click(t, editor, `#view [data-action="revert"][data-version="1"]`)
	browsertest.WaitFor[bool](t, editor, "the revert, as version 3 with version 1's text",
		`document.querySelector('#view [data-source]').textContent.startsWith("API · version 3") && `+text+`.value === `+jsString(criticalAsStored))
	gridSeverity("the grid's cell critical again after the revert", "critical")
	browsertest.WaitFor[bool](t, editor, "the history's three versions",
		`document.querySelectorAll('#view [data-panel="history"] tr[data-version]').length === 3 && document.querySelector('#view [data-panel="history"] tr[data-version="3"]').dataset.versionAction === "revert"`)

	// A viewer sees the rule, read-only, and is offered nothing to change.
	viewer := browsertest.New(t)
	browsertest.FailOnJSErrors(t, viewer, browsertest.Status(422))
	browsertest.SetSession(t, viewer, gw.URL(), gt.Login(t, gw.URL(), "vic").Cookie)
	if err := chromedp.Do(viewer, chromedp.EmulateViewport(1600, 700)); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(viewer, chromedp.Navigate(gw.URL()+"/#/rules")); err != nil {
		t.Fatal(err)
	}
	listed := browsertest.WaitFor[[]string](t, viewer, "the rules list",
		`(rs => rs.length === 2 && rs.map(r => r.dataset.rule + " " + r.dataset.source))([...document.querySelectorAll('#view tr[data-rule]')])`)
	if strings.Join(listed, ", ") != "cfg-cpu-sane config, cpu-any api" {
		t.Errorf("the viewer's list is %q", listed)
	}
	browsertest.Screenshot(t, viewer, "rules-list")
	if err := chromedp.Do(viewer, chromedp.Evaluate[chromedp.Void](`location.hash = "#/rules/cpu-any"`)); err != nil {
		t.Fatal(err)
	}
	offered := browsertest.WaitFor[[]bool](t, viewer, "the viewer's editor",
		`(ta => ta && document.querySelector('#view [data-panel="history"] tr[data-version]') && [ta.readOnly, ...["save", "delete", "copy", "backtest"].map(a => document.querySelector('#view [data-action="' + a + '"]') !== null)])(document.querySelector('#view textarea'))`)
	if fmt.Sprint(offered) != "[true false false false false]" {
		t.Errorf("a viewer's editor has read-only text, save, delete, copy, backtest = %v, want [true false false false false]", offered)
	}
	click(t, viewer, `#view [data-action="compare"][data-version="1"]`)
	if revert := browsertest.WaitFor[[]bool](t, viewer, "the viewer's diff",
		`document.querySelector('#view [data-diff] .diff-line') && [document.querySelector('#view [data-action="revert"]') !== null]`); revert[0] {
		t.Error("a viewer is offered a revert")
	}
}

// setText replaces the editor's text as typing does: the text area gets
// an input event.
func setText(t *testing.T, ctx context.Context, text string) {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](`(ta => { ta.value = `+jsString(text)+`; ta.dispatchEvent(new Event("input", {bubbles: true})); })(document.querySelector('#view textarea'))`)); err != nil {
		t.Fatal(err)
	}
}

// jsString is s as a JavaScript string literal.
func jsString(s string) string {
	return fmt.Sprintf("%q", s)
}
