package gateway_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/watchfloor/watchfloor/gateway"
	gt "github.com/watchfloor/watchfloor/gateway/gatewaytest"
	"github.com/watchfloor/watchfloor/gateway/internal/browsertest"
)

// An administrator issues a wall screen's link in the Screens view; a
// second browser, nobody's session, opens it and is a kiosk watching the
// estate; the administrator sees when the link was last used and revokes
// it, and the screen's page ends on the login page, because its socket was
// closed as the session ended and the page asked who it is.
func TestBrowserWallScreenIssuedAndRevoked(t *testing.T) {
	p := probe("noc-1", "cpu")
	gw := gt.Start(t, gateway.Options{}, p)
	gt.StartProbe(t, gw.Addr, p)

	admin := browsertest.New(t)
	browsertest.FailOnJSErrors(t, admin)
	browsertest.SetSession(t, admin, gw.URL(), gw.Admin(t).Cookie)
	openAdminView(t, admin, gw.URL(), "#admin-screens-link", `form[data-form="issue-kiosk"]`)

	if err := chromedp.Do(admin, chromedp.SetValue(chromedp.CSS(`form[data-form="issue-kiosk"] input[name="label"]`), "NOC wall")); err != nil {
		t.Fatal(err)
	}
	click(t, admin, `form[data-form="issue-kiosk"] button[type="submit"]`)
	link := browsertest.WaitFor[string](t, admin, "the issued link",
		`(s => s && !s.hidden && s.querySelector("[data-issued-link]")?.textContent)(document.querySelector("[data-issued]"))`)
	if !strings.HasPrefix(link, gw.URL()+"/kiosk/") {
		t.Fatalf("the issued link is %q, want %s/kiosk/…", link, gw.URL())
	}
	row := `document.querySelector('#view tr[data-kiosk-id]')`
	id := browsertest.WaitFor[string](t, admin, "the new link in the list",
		`(r => r && r.cells[0].textContent === "NOC wall" && r.cells[3].textContent === "never" && r.dataset.kioskId)(`+row+`)`)

	// The screen is another machine: a browser of its own, which holds no
	// cookie of the administrator's. Asking starts it with screen, not
	// with beforeRevoke, whose end would close it.
	screen := browsertest.New(t)
	if got, err := chromedp.Call(screen, network.GetCookies, network.GetCookiesParams{URLs: []string{gw.URL()}}); err != nil {
		t.Fatal(err)
	} else if len(got.Cookies) != 0 {
		t.Fatalf("a fresh browser starts with the cookies %v: its profile is not its own", cookieNames(got.Cookies))
	}
	// No console error is expected on the screen until its link is revoked;
	// then the page's check of its session is answered 401, which Chromium
	// logs as one.
	beforeRevoke, revoking := context.WithCancel(screen)
	browsertest.FailOnJSErrors(t, beforeRevoke)
	recordSessionEnd(t, screen)
	if err := chromedp.Do(screen, chromedp.Navigate(link)); err != nil {
		t.Fatal(err)
	}
	badge := browsertest.WaitFor[[]string](t, screen, "the header to say this is a kiosk",
		`(b => b && b.dataset.kind && b.textContent && [b.dataset.kind, b.textContent])(document.getElementById("user-badge"))`)
	if badge[0] != "kiosk" || badge[1] != "kiosk: NOC wall" {
		t.Errorf("the screen's header shows %q (data-kind %q), want %q (kiosk)", badge[1], badge[0], "kiosk: NOC wall")
	}
	if path := browsertest.WaitFor[string](t, screen, "the dashboard", `location.pathname`); path != "/" {
		t.Errorf("the kiosk link ends on %s, want the dashboard at /", path)
	}
	dv := fmt.Sprintf(`document.querySelector('#tree a[data-dataview=%q]')`, cpuPath(p))
	browsertest.WaitFor[bool](t, screen, "the tree with the probe connected and its cpu dataview",
		fmt.Sprintf(`(p => p && p.dataset.connected === "true")(document.querySelector('#tree li[data-kind="probe"][data-node=%q]')) && %s !== null`, p.Name, dv))
	browsertest.WaitFor[bool](t, screen, "the screen's socket to be live", `document.getElementById("conn").dataset.state === "live"`)
	hidden := browsertest.WaitFor[[]bool](t, screen, "the header's session controls",
		`["admin-nav", "logout", "change-password-link"].map(id => document.getElementById(id).hidden)`)
	if slices.Contains(hidden, false) {
		t.Errorf("a kiosk's header shows [admin-nav logout change-password-link] hidden=%v, want all hidden", hidden)
	}

	// The administrator reloads the list: the screen's use is there.
	if err := chromedp.Do(admin, chromedp.Reload()); err != nil {
		t.Fatal(err)
	}
	kioskRow := fmt.Sprintf(`document.querySelector('#view tr[data-kiosk-id=%q]')`, id)
	used := browsertest.WaitFor[[]string](t, admin, "the list to show when the screen last used its link",
		`(r => r && r.cells[3].querySelector("time") && [r.cells[2].querySelector("time").dateTime, r.cells[3].querySelector("time").dateTime, r.cells[3].textContent])(`+kioskRow+`)`)
	created, err := time.Parse(time.RFC3339, used[0])
	if err != nil {
		t.Fatalf("created %q: %v", used[0], err)
	}
	lastUse, err := time.Parse(time.RFC3339, used[1])
	if err != nil {
		t.Fatalf("last used %q: %v", used[1], err)
	}
	if lastUse.Before(created) || lastUse.After(time.Now()) {
		t.Errorf("last used %s (shown %q), created %s: want a time since the link was issued", used[1], used[2], used[0])
	}

	revoking()
	click(t, admin, fmt.Sprintf(`tr[data-kiosk-id=%q] button[data-action="revoke"]`, id))
	click(t, admin, fmt.Sprintf(`button[data-action="confirm-revoke"][data-kiosk-id=%q]`, id))
	ok := browsertest.WaitFor[string](t, admin, "the revocation's message and the row gone",
		kioskRow+` === null && `+viewMessage("ok"))
	if !strings.Contains(ok, "NOC wall") {
		t.Errorf("after revoking the admin sees %q", ok)
	}

	browsertest.WaitFor[bool](t, screen, "the screen to end on the login page",
		`location.pathname === "/login" && !!document.getElementById("login-form")`)
	checkSessionEnd(t, screen)
}

// An administrator adds an operator in the Users view; the operator logs
// in in a browser of their own and sees no administration; the
// administrator disables them, their page goes to the login page and their
// password no longer lets them in; the audit trail, filtered to
// disablings, shows who did it to whom.
func TestBrowserAdminAddsUserAndSeesAudit(t *testing.T) {
	gw := gt.Start(t, gateway.Options{}, probe("desk-1", "cpu"))

	admin := browsertest.New(t)
	browsertest.FailOnJSErrors(t, admin)
	browsertest.SetSession(t, admin, gw.URL(), gw.Admin(t).Cookie)
	openAdminView(t, admin, gw.URL(), "#admin-users-link", `form[data-form="add-user"]`)
	browsertest.WaitFor[bool](t, admin, "the list of users", `document.querySelector('#view tr[data-user="admin"]') !== null`)

	const name, password = "night", "night-shift-2024"
	form := `form[data-form="add-user"] `
	if err := chromedp.Do(admin,
		chromedp.SetValue(chromedp.CSS(form+`input[name="name"]`), name),
		chromedp.SetValue(chromedp.CSS(form+`input[name="password"]`), password),
	); err != nil {
		t.Fatal(err)
	}
	click(t, admin, form+`input[name="role"][value="operator"]`)
	click(t, admin, form+`button[type="submit"]`)
	userRow := fmt.Sprintf(`document.querySelector('#view tr[data-user=%q]')`, name)
	got := browsertest.WaitFor[[]string](t, admin, "the new user in the list",
		`(r => r && [r.dataset.source, r.dataset.disabled, r.cells[2].textContent])(`+userRow+`)`)
	if want := []string{"database", "false", "operator"}; !slices.Equal(got, want) {
		t.Errorf("the new user's row has source, disabled, roles %q, want %q", got, want)
	}

	op := browsertest.New(t)
	// The browser starts now, with op: started with loggedIn, it would
	// close when loggedIn is cancelled.
	if err := chromedp.Do(op); err != nil {
		t.Fatal(err)
	}
	loggedIn, leaving := context.WithCancel(op)
	browsertest.FailOnJSErrors(t, loggedIn)
	recordSessionEnd(t, op)
	if err := chromedp.Do(op, chromedp.Navigate(gw.URL()+"/")); err != nil {
		t.Fatal(err)
	}
	logIn := func() {
		t.Helper()
		browsertest.WaitFor[bool](t, op, "the login page", `location.pathname === "/login" && !!document.getElementById("login-form")`)
		if err := chromedp.Do(op,
			chromedp.SetValue("#login-user", name),
			chromedp.SetValue("#login-password", password),
			chromedp.Click("#login-submit"),
		); err != nil {
			t.Fatal(err)
		}
	}
	logIn()
	badge := browsertest.WaitFor[[]string](t, op, "the operator's header",
		`(b => location.pathname === "/" && b && b.dataset.kind && b.textContent && [b.dataset.kind, b.textContent])(document.getElementById("user-badge"))`)
	if badge[0] != "person" || badge[1] != name+" · operator" {
		t.Errorf("the operator's header shows %q (data-kind %q), want %q (person)", badge[1], badge[0], name+" · operator")
	}
	browsertest.WaitFor[bool](t, op, "the operator's socket to be live", `document.getElementById("conn").dataset.state === "live"`)
	hidden := browsertest.WaitFor[[]bool](t, op, "the administration links",
		`["admin-nav", "admin-screens-link", "admin-users-link", "admin-audit-link"].map(id => document.getElementById(id).hidden)`)
	if slices.Contains(hidden, false) {
		t.Errorf("an operator's header has [admin-nav screens users audit] hidden=%v, want all hidden", hidden)
	}
	// Hidden links are not the lock: typed in, the view is refused, and
	// Chromium logs the 403 as a console error.
	leaving()
	if err := chromedp.Do(op, chromedp.Evaluate[chromedp.Void](`location.hash = "#/admin/users"`)); err != nil {
		t.Fatal(err)
	}
	refused := browsertest.WaitFor[string](t, op, "the users view refused", viewMessage("error"))
	if !strings.Contains(refused, "manage-users") {
		t.Errorf("an operator opening the users view sees %q, want a refusal naming manage-users", refused)
	}
	if n := browsertest.WaitFor[[]string](t, op, "the users view", `(e => e && [e.textContent])(document.querySelector('#view [data-list="users"]'))`); strings.Contains(n[0], "admin") || strings.Contains(n[0], "Loading") {
		t.Errorf("an operator sees the users list, or a list still loading: %q", n[0])
	}

	click(t, admin, fmt.Sprintf(`tr[data-user=%q] button[data-action="disable"]`, name))
	browsertest.WaitFor[bool](t, admin, "the user shown disabled", userRow+`?.dataset.disabled === "true" && !!`+userRow+`.querySelector('button[data-action="enable"]')`)

	browsertest.WaitFor[bool](t, op, "the operator's page to go to the login page",
		`location.pathname === "/login" && !!document.getElementById("login-form")`)
	checkSessionEnd(t, op)
	logIn()
	msg := browsertest.WaitFor[string](t, op, "the login refused", `(e => e && e.textContent.trim())(document.getElementById("login-error"))`)
	if msg != "account disabled" {
		t.Errorf("a disabled user logging in sees %q", msg)
	}

	if err := chromedp.Do(admin, chromedp.Click("#admin-audit-link")); err != nil {
		t.Fatal(err)
	}
	filter := `form[data-form="audit-filter"] `
	// The unfiltered trail is kept, to tell the filtered one from it once
	// the new hash has drawn the view again.
	browsertest.WaitFor[bool](t, admin, "the audit view",
		`document.querySelector('#view tr[data-audit-row]') !== null && !!(window.unfiltered = document.querySelector('#view form[data-form="audit-filter"]'))`)
	if err := chromedp.Do(admin, chromedp.SetValue(chromedp.CSS(filter+`input[name="action"]`), "user.disable")); err != nil {
		t.Fatal(err)
	}
	click(t, admin, filter+`button[type="submit"]`)
	rows := browsertest.WaitFor[[][]string](t, admin, "the filtered trail",
		`(status => !window.unfiltered.isConnected && status && status.textContent !== "Loading…" &&
			[...document.querySelectorAll('#view tr[data-audit-row]')].map(r => [r.cells[1].textContent, r.cells[3].textContent, r.cells[4].textContent, r.dataset.ok])
		)(document.querySelector('#view p.placeholder[role="status"]'))`)
	if hash := browsertest.WaitFor[string](t, admin, "the filter in the address", `location.hash`); hash != "#/admin/audit?action=user.disable" {
		t.Errorf("the filtered trail is at %q, want #/admin/audit?action=user.disable to link to", hash)
	}
	want := [][]string{{gt.Admin.Name, "user.disable", name, "true"}}
	if !slices.EqualFunc(rows, want, slices.Equal) {
		t.Errorf("the trail filtered by action=user.disable shows [who action target ok] %q, want %q", rows, want)
	}
}

// openAdminView opens the dashboard at base with the session the browser
// holds and follows the header's link to an administration view, waiting
// until ready (a selector) is drawn in it.
func openAdminView(t *testing.T, ctx context.Context, base, link, ready string) {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.Navigate(base+"/")); err != nil {
		t.Fatal(err)
	}
	browsertest.WaitFor[bool](t, ctx, "the header's link "+link, fmt.Sprintf(`(a => a && !a.hidden)(document.querySelector(%q))`, link))
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(link))); err != nil {
		t.Fatal(err)
	}
	browsertest.WaitFor[bool](t, ctx, "the view behind "+link, fmt.Sprintf(`document.querySelector('#view %s') !== null`, ready))
}

// click clicks the element css selects in the view as a person would:
// scrolled to the middle of the view first, since the view scrolls and a
// table's sticky head covers the rows at its top edge, where a click would
// land on the head.
func click(t *testing.T, ctx context.Context, css string) {
	t.Helper()
	browsertest.WaitFor[bool](t, ctx, css+" to click",
		fmt.Sprintf(`(e => !!e && (e.scrollIntoView({block: "center", inline: "center"}), true))(document.querySelector(%q))`, css))
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(css))); err != nil {
		t.Fatalf("click %s: %v", css, err)
	}
}

// viewMessage is a JavaScript expression for what the view's message
// lines of kind ("ok" or "error") say, "" when they say nothing: a view
// has one pair per form and one for its list.
func viewMessage(kind string) string {
	return fmt.Sprintf(`[...document.querySelectorAll('#view [data-message=%q]')].map(m => m.textContent).join(" ").trim()`, kind)
}

// recordSessionEnd makes every page the browser opens note, in its tab's
// session storage (which outlives a move to the login page), each
// WebSocket close code and each API answer, in order, for
// checkSessionEnd. Call it before navigating.
func recordSessionEnd(t *testing.T, ctx context.Context) {
	t.Helper()
	const script = `(() => {
		const note = (e) => {
			const log = JSON.parse(sessionStorage.getItem("watchfloor-test-log") || "[]");
			log.push(e);
			sessionStorage.setItem("watchfloor-test-log", JSON.stringify(log));
		};
		const WS = window.WebSocket;
		window.WebSocket = class extends WS {
			constructor(...args) {
				super(...args);
				this.addEventListener("close", (e) => note("close " + e.code));
			}
		};
		const fetch = window.fetch;
		window.fetch = (url, init) => fetch(url, init).then((r) => {
			note(((init && init.method) || "GET") + " " + new URL(r.url).pathname + " " + r.status);
			return r;
		});
	})()`
	if _, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: script}); err != nil {
		t.Fatalf("record the session's end: %v", err)
	}
}

// checkSessionEnd checks, on the login page, that the page got there
// because its dashboard socket was closed for the session's end (4001)
// and the session check that followed was answered 401.
func checkSessionEnd(t *testing.T, ctx context.Context) {
	t.Helper()
	log, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`JSON.parse(sessionStorage.getItem("watchfloor-test-log") || "[]")`))
	if err != nil {
		t.Fatal(err)
	}
	closed := slices.Index(log, "close 4001")
	if closed < 0 || !slices.Contains(log[closed:], "GET /api/v1/me 401") {
		t.Errorf("the page went to log in after %q; want a socket closed with 4001, then GET /api/v1/me answered 401", log)
	}
}

func cookieNames(cs []*network.Cookie) []string {
	var names []string
	for _, c := range cs {
		names = append(names, c.Name)
	}
	return names
}
