// Package chromium is how this project runs Debian's headless Chromium,
// for the browser tests (gateway/internal/browsertest) and the dashboard
// benchmark (bench/dashperf) alike: where the browser is and the flags it
// starts with.
package chromium

import (
	"os"
	"testing"

	"github.com/chromedp/chromedp"
)

// Path is where Debian's chromium package puts the browser itself (the
// /usr/bin/chromium wrapper prints shell noise).
const Path = "/usr/lib/chromium/chromium"

// Options returns the allocator options for a fresh headless Chromium at
// Path with its profile in dir: no sandbox or GPU, and none of the
// background networking, component updates or sync that would reach for
// hosts this machine cannot reach.
func Options(dir string) []chromedp.ExecAllocatorOption {
	return []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(Path),
		chromedp.UserDataDir(dir),
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
}

// Require skips t when Chromium is not installed at Path, on a
// developer's machine, and fails it under CI=true, where a missing tool
// is a failure.
func Require(t testing.TB) {
	t.Helper()
	if _, err := os.Stat(Path); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("Chromium is required under CI=true and is missing at %s (apt-get install chromium)", Path)
		}
		t.Skipf("Chromium not installed at %s (apt-get install chromium); skipping the browser test", Path)
	}
}
