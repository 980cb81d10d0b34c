package demo_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"go.uber.org/goleak"

	"github.com/watchfloor/watchfloor/gateway/demo"
	"github.com/watchfloor/watchfloor/gateway/internal/browsertest"
	"github.com/watchfloor/watchfloor/samplers"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// startDemo runs the demo on a free loopback port until the test ends and
// returns the one-time login link it prints.
func startDemo(t *testing.T) string {
	t.Helper()
	s, _ := runDemo(t, demo.Options{})
	return s.Link
}

// runDemo runs the demo with opts on a free loopback port until the test
// ends, or until stop, which returns once Run has; it returns what the
// demo told Ready.
func runDemo(t *testing.T, opts demo.Options) (_ demo.Started, stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	started := make(chan demo.Started, 1)
	done := make(chan error, 1)
	opts.Listen = "127.0.0.1:0"
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	opts.Ready = func(s demo.Started) { started <- s }
	go func() { done <- demo.Run(ctx, opts) }()
	stop = sync.OnceFunc(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("demo: %v", err)
		}
	})
	t.Cleanup(stop)
	select {
	case s := <-started:
		return s, stop
	case err := <-done:
		done <- err // for stop
		t.Fatalf("demo did not start: %v", err)
	}
	return demo.Started{}, stop
}

// demoHost is the name the demo gives its probe and entity.
func demoHost() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		return "localhost"
	}
	return host
}

// logIn opens the demo's one-time link, which logs the browser in and
// goes to the dashboard, and returns the dashboard's URL.
func logIn(t *testing.T, ctx context.Context, link string) string {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.Navigate(link)); err != nil {
		t.Fatal(err)
	}
	user := browsertest.WaitFor[string](t, ctx, "the header to show who is logged in",
		`(b => b && b.textContent.includes("admin") && b.textContent)(document.getElementById("user-badge"))`)
	t.Logf("logged in: %s", user)
	base, _, _ := strings.Cut(link, "/login?")
	return base + "/"
}

// The demo's link logs a newcomer straight in, once: opened again, it
// leads to the login page saying it was used.
func TestBrowserDemoLinkWorksOnce(t *testing.T) {
	ctx := browsertest.New(t)
	browsertest.FailOnJSErrors(t, ctx)
	link := startDemo(t)
	if !strings.Contains(link, "/login?once=") {
		t.Fatalf("the demo prints %q, want a one-time login link", link)
	}
	url := logIn(t, ctx, link)
	if err := chromedp.Do(ctx, chromedp.Click("#logout")); err != nil {
		t.Fatal(err)
	}
	browsertest.WaitFor[bool](t, ctx, "the login page after logging out", `location.pathname === "/login" && !!document.getElementById("login-form")`)
	if err := chromedp.Do(ctx, chromedp.Navigate(url)); err != nil {
		t.Fatal(err)
	}
	browsertest.WaitFor[bool](t, ctx, "the dashboard to refuse a logged-out browser", `location.pathname === "/login"`)
	if err := chromedp.Do(ctx, chromedp.Navigate(link)); err != nil {
		t.Fatal(err)
	}
	msg := browsertest.WaitFor[string](t, ctx, "the used link's message",
		`(e => e && e.textContent.trim() !== "" && !e.hidden && e.textContent)(document.getElementById("login-error"))`)
	if !strings.Contains(msg, "used or has expired") {
		t.Errorf("a used link shows %q", msg)
	}
}

// A big screen opens the cpu dataview by its deep link and sees a cell's
// value change as the netprobe samples.
func TestBrowserDeepLinkShowsLiveCPU(t *testing.T) {
	ctx := browsertest.New(t)
	browsertest.FailOnJSErrors(t, ctx)
	url := logIn(t, ctx, startDemo(t))
	host := demoHost()
	dv := samplers.DataviewPath{Probe: host, Entity: host, Sampler: "cpu", Dataview: "cpu"}
	cell := browsertest.Cell(dv.Cell("total", "utilisation").String())
	if err := chromedp.Do(ctx, chromedp.Navigate(url+"#/view/"+dv.String())); err != nil {
		t.Fatal(err)
	}
	first := browsertest.WaitFor[string](t, ctx, "the utilisation cell with a value and a severity",
		cell+` && `+cell+`.dataset.severity !== undefined && `+cell+`.textContent`)
	if !strings.Contains(first, ".") {
		t.Fatalf("utilisation shows %q, want a percentage such as 12.34", first)
	}
	changed := browsertest.WaitFor[string](t, ctx, "the utilisation cell to change",
		fmt.Sprintf(`%s.textContent !== %q && %s.textContent`, cell, first, cell))
	t.Logf("utilisation changed from %s to %s", first, changed)
}

// The demo's default rules judge a machine's memory at once: the used
// percentage cell turns critical by demo-memory-over-1-percent, its
// tooltip says so, and the tree shows the probe critical above it.
func TestBrowserDemoRuleMakesMemoryCritical(t *testing.T) {
	ctx := browsertest.New(t)
	browsertest.FailOnJSErrors(t, ctx)
	url := logIn(t, ctx, startDemo(t))
	host := demoHost()
	dv := samplers.DataviewPath{Probe: host, Entity: host, Sampler: "memory", Dataview: "memory"}
	cell := browsertest.Cell(dv.Cell("physical", "usedPercent").String())
	start := time.Now()
	if err := chromedp.Do(ctx, chromedp.Navigate(url+"#/view/"+dv.String())); err != nil {
		t.Fatal(err)
	}
	const rule = "demo-memory-over-1-percent"
	got := browsertest.WaitFor[[]string](t, ctx, "the physical usedPercent cell judged critical by "+rule,
		fmt.Sprintf(`(c => c && c.dataset.severity === "critical" && c.dataset.rule === %q && [c.textContent, c.dataset.severity, c.dataset.rule])(%s)`, rule, cell))
	t.Logf("usedPercent %s is %s by rule %s %v after the page opened", got[0], got[1], got[2], time.Since(start).Round(time.Millisecond))

	tip := browsertest.WaitFor[string](t, ctx, "the cell's tooltip",
		fmt.Sprintf(`(c => (c.dispatchEvent(new MouseEvent("mouseover", {bubbles: true})), c.title))(%s)`, cell))
	if want := "critical by rule " + rule + " · value since "; !strings.HasPrefix(tip, want) {
		t.Errorf("tooltip %q, want it to start with %q", tip, want)
	}

	probe := fmt.Sprintf(`document.querySelector('#tree li[data-kind="probe"][data-node=%q]')`, samplers.EscapeSegment(host))
	sev := browsertest.WaitFor[[]string](t, ctx, "the tree's probe node critical",
		fmt.Sprintf(`(p => p && p.dataset.severity === "critical" && [p.dataset.severity, p.querySelector(":scope > details > summary > .sev-icon").getAttribute("aria-label")])(%s)`, probe))
	if sev[1] != "critical" {
		t.Errorf("the probe's severity icon says %q, want critical", sev[1])
	}
}
