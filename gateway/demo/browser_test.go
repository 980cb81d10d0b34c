package demo_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"go.uber.org/goleak"

	"github.com/watchfloor/watchfloor/gateway/demo"
	"github.com/watchfloor/watchfloor/samplers"
)

const chromiumPath = "/usr/lib/chromium/chromium"

// startDemo runs the demo on a free loopback port until the test ends and
// returns its URL.
func startDemo(t *testing.T) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	urls := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- demo.Run(ctx, demo.Options{
			Listen: "127.0.0.1:0",
			Logger: slog.New(slog.DiscardHandler),
			Ready:  func(url string) { urls <- url },
		})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("demo: %v", err)
		}
	})
	select {
	case u := <-urls:
		return u
	case err := <-done:
		t.Fatalf("demo did not start: %v", err)
	}
	return ""
}

// browser starts headless Chromium for one test. Without Chromium the test
// skips on a developer's machine and fails under CI=true.
func browser(t *testing.T) context.Context {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("Chromium is required under CI=true and is missing at %s (apt-get install chromium)", chromiumPath)
		}
		t.Skipf("Chromium not installed at %s (apt-get install chromium); skipping the browser test", chromiumPath)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
	}
	actx, acancel := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	ctx, tcancel := context.WithTimeout(ctx, 60*time.Second)
	t.Cleanup(func() {
		tcancel()
		cancel()
		acancel()
	})
	return ctx
}

// A big screen opens the cpu dataview by its deep link and sees a cell's
// value change as the netprobe samples.
func TestBrowserDeepLinkShowsLiveCPU(t *testing.T) {
	ctx := browser(t)
	url := startDemo(t)
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "localhost"
	}
	dv := samplers.DataviewPath{Probe: host, Entity: host, Sampler: "cpu", Dataview: "cpu"}
	cell := dv.Cell("total", "utilisation").String()
	if err := chromedp.Do(ctx, chromedp.Navigate(url+"#/view/"+dv.String())); err != nil {
		t.Fatal(err)
	}
	sel := fmt.Sprintf(`document.querySelector('[data-path=%q]')`, cell)
	first, err := chromedp.Run(ctx, chromedp.Poll[string](
		sel+` && `+sel+`.dataset.severity !== undefined && `+sel+`.textContent`,
		chromedp.WithPollingTimeout(30*time.Second), chromedp.WithPollingInterval(50*time.Millisecond)))
	if err != nil {
		t.Fatalf("cell %s never appeared with a value and a severity: %v", cell, err)
	}
	if !strings.Contains(first, ".") {
		t.Fatalf("cell %s shows %q, want a percentage such as 12.34", cell, first)
	}
	changed, err := chromedp.Run(ctx, chromedp.Poll[string](
		fmt.Sprintf(`%s.textContent !== %q && %s.textContent`, sel, first, sel),
		chromedp.WithPollingTimeout(30*time.Second), chromedp.WithPollingInterval(50*time.Millisecond)))
	if err != nil {
		t.Fatalf("cell %s stayed at %q: %v", cell, first, err)
	}
	t.Logf("%s changed from %s to %s", cell, first, changed)
}

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
