// Package browsertest starts headless Chromium (Debian's chromium) for
// tests that drive the real dashboard. Without Chromium a test skips on a
// developer's machine and fails under CI=true.
package browsertest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/watchfloor/watchfloor/gateway/gatewaytest/chromium"
)

// New starts a fresh headless browser for t, with its own profile, and
// returns a chromedp context for one tab. Everything stops when t ends.
func New(t *testing.T) context.Context {
	t.Helper()
	chromium.Require(t)
	actx, acancel := chromedp.NewExecAllocator(context.Background(), chromium.Options(t.TempDir())...)
	ctx, cancel := chromedp.NewContext(actx)
	ctx, tcancel := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(func() {
		tcancel()
		cancel()
		acancel()
	})
	return ctx
}

// WaitFor polls a JavaScript expression until it is truthy and returns its
// value, failing the test with what after the timeout. A page that
// navigates while it waits (a redirect to the login page, say) is polled
// again once the new one has loaded.
func WaitFor[T any](t *testing.T, ctx context.Context, what, expr string) T {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		v, err := chromedp.Run(ctx, chromedp.Poll[T](expr,
			chromedp.WithPollingTimeout(time.Until(deadline)), chromedp.WithPollingInterval(50*time.Millisecond)))
		if err == nil {
			return v
		}
		// -32000: the page the expression ran in went away.
		if !strings.Contains(err.Error(), "(-32000)") || time.Now().After(deadline) {
			t.Fatalf("waiting for %s: %v", what, err)
		}
	}
}

// Cell returns a JavaScript expression for the element whose data-path is
// path.
func Cell(path string) string {
	return fmt.Sprintf(`document.querySelector('[data-path=%q]')`, path)
}

// FailOnJSErrors records the tab's uncaught exceptions, console errors
// and browser log errors from now until t ends, and fails t with each of
// them then, except those an allow function accepts: a page whose gateway
// goes away on purpose, or that is answered 422 as it means to be, logs
// network errors it handles. Call it before navigating, or the page's
// first errors are lost.
func FailOnJSErrors(t *testing.T, ctx context.Context, allow ...func(chromedp.ConsoleMessage) bool) {
	t.Helper()
	ctx, cancel := context.WithCancel(ctx)
	var (
		mu   sync.Mutex
		errs []string
	)
	messages := chromedp.Console(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for m, err := range messages {
			if err != nil {
				return
			}
			if m.Type != chromedp.ConsoleError && !m.IsException() || slices.ContainsFunc(allow, func(f func(chromedp.ConsoleMessage) bool) bool { return f(m) }) {
				continue
			}
			mu.Lock()
			errs = append(errs, fmt.Sprintf("%s (%s:%d)", m, m.URL, m.Line+1))
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		mu.Lock()
		defer mu.Unlock()
		for _, e := range errs {
			t.Errorf("JavaScript error: %s", e)
		}
	})
}

// NetworkErrors allows, for FailOnJSErrors, every error the browser logs
// about the network (a refused connection, a reset request, any HTTP
// status): for a test whose gateway goes away on purpose.
func NetworkErrors(m chromedp.ConsoleMessage) bool { return m.Source == "network" }

// Status allows, for FailOnJSErrors, the browser's log of an HTTP answer
// with the given status, which the page expects and shows.
func Status(code int) func(chromedp.ConsoleMessage) bool {
	text := fmt.Sprintf("status of %d", code)
	return func(m chromedp.ConsoleMessage) bool { return m.Source == "network" && strings.Contains(m.Text, text) }
}

// SetSession gives the browser a session cookie ("name=value", as
// gatewaytest.Session.Cookie holds it) for the gateway at base, as
// logging in would, for tests whose subject is not the login.
func SetSession(t *testing.T, ctx context.Context, base, cookie string) {
	t.Helper()
	name, value, _ := strings.Cut(cookie, "=")
	yes := true
	if _, err := chromedp.Call(ctx, network.SetCookie, network.SetCookieParams{
		Name: name, Value: value, URL: base, HTTPOnly: &yes, SameSite: network.CookieSameSiteStrict,
	}); err != nil {
		t.Fatalf("set session cookie: %v", err)
	}
}

// ArtefactsEnv names the directory screenshots go to; without it they go
// to artefacts/screenshots at the top of the module (ignored by git).
const ArtefactsEnv = "WATCHFLOOR_ARTEFACTS"

// Screenshot saves the tab's whole page as name.png among the test
// artefacts, and logs where.
func Screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	dir := os.Getenv(ArtefactsEnv)
	if dir == "" {
		root, err := moduleRoot()
		if err != nil {
			t.Fatalf("screenshot %s: %v", name, err)
		}
		dir = filepath.Join(root, "artefacts", "screenshots")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	file := filepath.Join(dir, name+".png")
	if err := os.WriteFile(file, png, 0o644); err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	t.Logf("screenshot: %s", file)
}

// moduleRoot finds the directory holding go.mod, from the test's own.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod above the test's directory")
		}
		dir = parent
	}
}
