package webtest

import (
	"testing"

	"github.com/chromedp/chromedp"
	"go.uber.org/goleak"

	"github.com/watchfloor/watchfloor/gateway"
	gt "github.com/watchfloor/watchfloor/gateway/gatewaytest"
	"github.com/watchfloor/watchfloor/gateway/internal/browsertest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// jsResults is what test/run.js publishes as window.testResults.
type jsResults struct {
	Passed, Failed int
	Failures       []struct{ Name, Message string }
}

// TestJSModules runs the modules' test page, as the gateway serves it, and
// fails with each failing JavaScript test, and with any error the page
// logged.
func TestJSModules(t *testing.T) {
	gw := gt.Start(t, gateway.Options{})
	ctx := browsertest.New(t)
	browsertest.FailOnJSErrors(t, ctx)
	browsertest.SetSession(t, ctx, gw.URL(), gw.Admin(t).Cookie)
	if err := chromedp.Do(ctx, chromedp.Navigate(gw.URL()+"/test/")); err != nil {
		t.Fatal(err)
	}
	res := browsertest.WaitFor[jsResults](t, ctx, "the JavaScript tests to finish", `window.testResults && window.testResults.done && window.testResults`)
	for _, f := range res.Failures {
		t.Errorf("%s: %s", f.Name, f.Message)
	}
	if res.Passed == 0 {
		t.Error("no JavaScript test passed")
	}
	t.Logf("%d JavaScript tests passed, %d failed", res.Passed, res.Failed)
}
