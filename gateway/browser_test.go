package gateway_test

import (
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/watchfloor/watchfloor/gateway"
	gt "github.com/watchfloor/watchfloor/gateway/gatewaytest"
	"github.com/watchfloor/watchfloor/gateway/internal/browsertest"
)

// On a big screen a changed cell flashes, and when its probe goes away the
// grid is marked stale, its cells are visibly greyed and the tree shows the
// probe down.
func TestBrowserFlashAndStale(t *testing.T) {
	ctx := browsertest.New(t)
	p := probe("screen-1", "cpu")
	gw := gt.Start(t, gateway.Options{}, p)
	tree := gw.Tree(t)
	stopProbe := gt.StartProbe(t, gw.Addr, p)
	path := cpuPath(p)
	waitDataview(tree, path)

	browsertest.SetSession(t, ctx, gw.URL(), gw.Admin(t).Cookie)
	if err := chromedp.Do(ctx, chromedp.Navigate(gw.URL()+"/#/view/"+path)); err != nil {
		t.Fatal(err)
	}
	grid := `document.querySelector('#view table.grid')`
	cell := browsertest.Cell(path + "/total/utilisation")
	browsertest.WaitFor[bool](t, ctx, "the grid", cell+` !== null`)
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(() => {
		window.flashes = 0;
		new MutationObserver(ms => ms.forEach(m => {
			if (m.target.tagName === 'TD' && m.target.classList.contains('flash')) window.flashes++;
		})).observe(`+grid+`, {subtree: true, attributes: true, attributeFilter: ['class']});
		return true;
	})()`)); err != nil {
		t.Fatal(err)
	}
	browsertest.WaitFor[bool](t, ctx, "a changed cell to flash", `window.flashes > 0`)
	if stale := browsertest.WaitFor[string](t, ctx, "the grid's stale mark", grid+`.dataset.stale`); stale != "false" {
		t.Fatalf("a live grid has data-stale=%q", stale)
	}

	probeItem := `document.querySelector('li.probe[data-probe="` + p.Name + `"]')`
	browsertest.WaitFor[bool](t, ctx, "the tree to show the probe connected", probeItem+` && `+probeItem+`.dataset.connected === 'true'`)

	stopProbe()
	browsertest.WaitFor[bool](t, ctx, "the grid to be marked stale and its cells greyed",
		grid+`.dataset.stale === 'true' && parseFloat(getComputedStyle(`+cell+`).opacity) < 1`)
	browsertest.WaitFor[bool](t, ctx, "the tree to show the probe down", probeItem+`.dataset.connected === 'false'`)
}

// A person at a big screen: the dashboard sends them to the login page; a
// wrong password is refused with a message; the right one shows the grid
// of the dataview they wanted; logging out ends the session, and the
// dashboard refuses them again.
func TestBrowserLoginLogout(t *testing.T) {
	ctx := browsertest.New(t)
	p := probe("desk-1", "cpu")
	gw := gt.Start(t, gateway.Options{}, p)
	tree := gw.Tree(t)
	gt.StartProbe(t, gw.Addr, p)
	path := cpuPath(p)
	waitDataview(tree, path)

	if err := chromedp.Do(ctx, chromedp.Navigate(gw.URL()+"/#/view/"+path)); err != nil {
		t.Fatal(err)
	}
	browsertest.WaitFor[bool](t, ctx, "the login page", `location.pathname === "/login" && !!document.getElementById("login-form")`)
	login := func(password string) {
		t.Helper()
		if err := chromedp.Do(ctx,
			chromedp.SetValue("#login-user", gt.Admin.Name),
			chromedp.SetValue("#login-password", password),
			chromedp.Click("#login-submit"),
		); err != nil {
			t.Fatal(err)
		}
	}
	login("not the password")
	msg := browsertest.WaitFor[string](t, ctx, "the refusal", `(e => e && !e.hidden && e.textContent.trim())(document.getElementById("login-error"))`)
	if msg != "wrong user name or password" {
		t.Errorf("a wrong password shows %q", msg)
	}
	login(gt.Password)
	cell := browsertest.Cell(dvPathCell(p))
	browsertest.WaitFor[string](t, ctx, "the grid of the dataview asked for, after logging in", cell+` && `+cell+`.textContent`)
	if user := browsertest.WaitFor[string](t, ctx, "who is logged in", `document.getElementById("user-badge").textContent`); user == "" {
		t.Error("the header does not say who is logged in")
	}

	if err := chromedp.Do(ctx, chromedp.Click("#logout")); err != nil {
		t.Fatal(err)
	}
	browsertest.WaitFor[bool](t, ctx, "the login page after logging out", `location.pathname === "/login"`)
	if err := chromedp.Do(ctx, chromedp.Navigate(gw.URL()+"/#/view/"+path)); err != nil {
		t.Fatal(err)
	}
	browsertest.WaitFor[bool](t, ctx, "the dashboard to refuse the logged-out browser", `location.pathname === "/login" && !!document.getElementById("login-form")`)
}

// dvPathCell is the path of p's total cpu utilisation cell.
func dvPathCell(p gt.Probe) string {
	return cpuPath(p) + "/total/utilisation"
}
