package demo_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"go.uber.org/goleak"

	"github.com/watchfloor/watchfloor/gateway/demo"
	"github.com/watchfloor/watchfloor/gateway/internal/browsertest"
	"github.com/watchfloor/watchfloor/samplers"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

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

// A big screen opens the cpu dataview by its deep link and sees a cell's
// value change as the netprobe samples.
func TestBrowserDeepLinkShowsLiveCPU(t *testing.T) {
	ctx := browsertest.New(t)
	url := startDemo(t)
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "localhost"
	}
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
