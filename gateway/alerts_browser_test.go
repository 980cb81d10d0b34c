package gateway_test

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/watchfloor/watchfloor/gateway"
	gt "github.com/watchfloor/watchfloor/gateway/gatewaytest"
	"github.com/watchfloor/watchfloor/gateway/incident"
	"github.com/watchfloor/watchfloor/gateway/internal/browsertest"
)

// watchAlerts runs in each page before its own scripts: it records every
// desktop notification the page makes (and whether the browser showed it)
// in window.__notes, and counts the notes the page's tones start in
// window.__notesPlayed (a tone is two).
const watchAlerts = `(() => {
	window.__notes = [];
	window.__notesPlayed = 0;
	const N = window.Notification;
	window.Notification = new Proxy(N, {
		construct(target, args) {
			const n = new target(...args);
			const rec = {title: args[0], tag: args[1] && args[1].tag, shown: false, error: false};
			window.__notes.push(rec);
			n.addEventListener("show", () => { rec.shown = true; });
			n.addEventListener("error", () => { rec.error = true; });
			return n;
		},
		get(target, p) {
			const v = target[p];
			return typeof v === "function" ? v.bind(target) : v;
		},
	});
	const start = OscillatorNode.prototype.start;
	OscillatorNode.prototype.start = function (...a) {
		window.__notesPlayed++;
		return start.apply(this, a);
	};
})()`

// alertPage opens the dashboard for s in the tab ctx, with notifications
// granted to the gateway's origin and the page watched (watchAlerts), and
// arms its sound and notifications with a click, as a person would.
func alertPage(t *testing.T, ctx context.Context, gw *gt.Gateway, cookie string) {
	t.Helper()
	if err := chromedp.Do(ctx); err != nil { // starts the tab
		t.Fatal(err)
	}
	browsertest.FailOnJSErrors(t, ctx)
	if _, err := chromedp.CallBrowser(ctx, browser.SetPermission, browser.SetPermissionParams{
		Permission: &browser.PermissionDescriptor{Name: "notifications"}, Setting: browser.PermissionSettingGranted, Origin: gw.URL(),
	}); err != nil {
		t.Fatalf("grant notifications: %v", err)
	}
	if _, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: watchAlerts}); err != nil {
		t.Fatal(err)
	}
	browsertest.SetSession(t, ctx, gw.URL(), cookie)
	if err := chromedp.Do(ctx, chromedp.Navigate(gw.URL()+"/#/wall")); err != nil {
		t.Fatal(err)
	}
	browsertest.WaitFor[bool](t, ctx, "the Arm button", `!!document.querySelector('#alerts .arm-button:not([hidden])')`)
	if err := chromedp.Do(ctx, chromedp.Click(`#alerts .arm-button`)); err != nil {
		t.Fatal(err)
	}
	armed := browsertest.WaitFor[string](t, ctx, "sound and notifications armed",
		`(a => a && a.dataset.armed === "true" && a.textContent)(document.querySelector('#alerts .alerts-arming'))`)
	if !strings.Contains(armed, "Sound on") || !strings.Contains(armed, "Notifications on") {
		t.Errorf("the armed indicator reads %q", armed)
	}
}

// alertItem is the banner's item for incident id.
func alertItem(id string) string {
	return fmt.Sprintf(`document.querySelector('#alerts li.alert[data-incident=%q]')`, id)
}

// A rule made critical raises the banner on every open page, with a tone
// and a desktop notification; Acknowledge on one page clears the alert on
// the other within a second of the click.
func TestBrowserAlertAcknowledgedOnOnePageClearsOnAnother(t *testing.T) {
	first := browsertest.New(t)
	r := startIncidents(t, gateway.Options{}, "", "")
	admin := r.gw.Admin(t)
	alertPage(t, first, r.gw, admin.Cookie)
	// Another tab of the same browser, which the first tab started.
	second, cancel := chromedp.NewContext(first)
	t.Cleanup(cancel)
	alertPage(t, second, r.gw, admin.Cookie)

	r.latency("router-acme", 95)
	inc := r.waitIncident("the critical incident", "?state=open", func(inc incident.Incident) bool {
		return inc.Path == latencyPath("router-acme")
	})
	item := alertItem(inc.ID)
	for _, tab := range []context.Context{first, second} {
		text := browsertest.WaitFor[string](t, tab, "the alert in the banner", item+` && `+item+`.textContent`)
		for _, want := range []string{"critical", inc.Title, "router-acme on venue", "Acknowledge"} {
			if !strings.Contains(text, want) {
				t.Errorf("the alert reads %q, without %q", text, want)
			}
		}
		note := browsertest.WaitFor[map[string]any](t, tab, "the desktop notification shown",
			`window.__notes.find(n => n.tag === `+fmt.Sprintf("%q", inc.ID)+` && (n.shown || n.error))`)
		if note["shown"] != true || !strings.HasPrefix(note["title"].(string), "CRITICAL: ") {
			t.Errorf("the notification: %v", note)
		}
		browsertest.WaitFor[bool](t, tab, "the tone", `window.__notesPlayed >= 2`)
	}
	browsertest.Screenshot(t, first, "alert")

	// The second page notes when the alert leaves it; the first, when the
	// click happens. Both tabs read the one machine's clock.
	if _, err := chromedp.Run(second, chromedp.Evaluate[bool](`(() => {
		new MutationObserver(() => {
			if (!`+item+` && !window.__clearedAt) window.__clearedAt = Date.now();
		}).observe(document.querySelector('#alerts'), {subtree: true, childList: true});
		return true;
	})()`)); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Run(first, chromedp.Evaluate[bool](item+`.querySelector('.alert-ack').addEventListener('click', () => { window.__clickedAt = Date.now(); }, true) || true`)); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(first, chromedp.Click(`#alerts li.alert[data-incident="`+inc.ID+`"] .alert-ack`)); err != nil {
		t.Fatal(err)
	}
	cleared := browsertest.WaitFor[float64](t, second, "the alert to clear on the second page", `window.__clearedAt || 0`)
	clicked := browsertest.WaitFor[float64](t, first, "the click's time", `window.__clickedAt || 0`)
	took := time.Duration(cleared-clicked) * time.Millisecond
	t.Logf("acknowledged on one page, cleared on the other %v after the click", took)
	if took >= time.Second {
		t.Errorf("the alert cleared on the second page %v after the click on the first, want under 1s", took)
	}
	browsertest.WaitFor[bool](t, first, "the alert to clear on the first page", `!`+item)
	if got := r.get(admin, inc.ID); got.Ack == nil || got.Ack.By != gt.Admin.Name {
		t.Errorf("the incident's acknowledgement: %+v", got.Ack)
	}
}

// An acknowledged incident that worsens alerts again, with the tone and a
// notification; a UAT entity's critical incident never shows, sounds or
// notifies, as the default policy for UAT says.
func TestBrowserAlertWorsenedAlertsAgainAndUATStaysSilent(t *testing.T) {
	ctx := browsertest.New(t)
	uat := func(yaml string) string {
		return strings.Replace(yaml, "attributes: {client: globex, region: emea}", "attributes: {client: globex, region: emea, environment: uat}", 1)
	}
	policy := `dashboard:
  alerts:
    policies:
      - {environment: production, banner: warning, sound: critical, notify: critical}
      - {environment: uat}
`
	r := startRig(t, gateway.Options{}, uat, policy, "")
	alertPage(t, ctx, r.gw, r.gw.Admin(t).Cookie)

	r.latency("router-globex", 95)
	silent := r.waitIncident("UAT's critical incident", "?state=open", func(inc incident.Incident) bool {
		return inc.Path == latencyPath("router-globex") && inc.Severity.String() == "critical"
	})
	// The topic delivers in order: once acme's alert is in the banner, the
	// page has had UAT's incident too.
	r.latency("router-acme", 50)
	inc := r.waitIncident("production's warning incident", "?state=open", func(inc incident.Incident) bool {
		return inc.Path == latencyPath("router-acme")
	})
	item := alertItem(inc.ID)
	browsertest.WaitFor[bool](t, ctx, "the warning in the banner", item+` && `+item+`.dataset.severity === "warning"`)
	quiet := func(when string, notes, played int) {
		t.Helper()
		got, err := chromedp.Run(ctx, chromedp.Evaluate[map[string]any](`({
			uatShown: !!`+alertItem(silent.ID)+`,
			uatNotes: window.__notes.filter(n => n.tag === `+fmt.Sprintf("%q", silent.ID)+`).length,
			notes: window.__notes.length,
			played: window.__notesPlayed,
		})`))
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]any{"uatShown": false, "uatNotes": 0.0, "notes": float64(notes), "played": float64(played)}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: %v, want %v (UAT silent; a production warning in the banner without sound)", when, got, want)
		}
	}
	quiet("with UAT critical and a production warning", 0, 0)

	// The settings panel says each environment's policy from the
	// gateway, and offers UAT, which the policy keeps silent.
	if err := chromedp.Do(ctx, chromedp.Click(`#alerts .alerts-settings-toggle`)); err != nil {
		t.Fatal(err)
	}
	uatText := browsertest.WaitFor[string](t, ctx, "the settings panel",
		`(li => li && li.offsetParent !== null && li.textContent)(document.querySelector('#alerts .alerts-settings li[data-environment="uat"]'))`)
	if !strings.Contains(uatText, "silent") || !strings.Contains(uatText, "Alert me for uat too") {
		t.Errorf("the panel's UAT line reads %q", uatText)
	}
	browsertest.Screenshot(t, ctx, "alert-settings")
	if err := chromedp.Do(ctx, chromedp.KeyEvent("\x1b")); err != nil {
		t.Fatal(err)
	}
	browsertest.WaitFor[bool](t, ctx, "the panel to close with Escape", `document.querySelector('#alerts .alerts-settings').hidden`)

	if err := chromedp.Do(ctx, chromedp.Click(`#alerts li.alert[data-incident="`+inc.ID+`"] .alert-ack`)); err != nil {
		t.Fatal(err)
	}
	browsertest.WaitFor[bool](t, ctx, "the acknowledged warning to leave the banner", `!`+item)

	r.latency("router-acme", 95)
	browsertest.WaitFor[bool](t, ctx, "the worsened incident back in the banner", item+` && `+item+`.dataset.severity === "critical"`)
	note := browsertest.WaitFor[map[string]any](t, ctx, "its desktop notification",
		`window.__notes.find(n => n.tag === `+fmt.Sprintf("%q", inc.ID)+` && (n.shown || n.error))`)
	if note["shown"] != true {
		t.Errorf("the notification: %v", note)
	}
	browsertest.WaitFor[bool](t, ctx, "the tone", `window.__notesPlayed >= 2`)
	quiet("after production's incident worsened", 1, 2)

	// A reload shows the alert again without announcing it again, and
	// remembers the arming: notifications stay on, and the sound waits
	// for a click, as the browser requires.
	if err := chromedp.Do(ctx, chromedp.Reload()); err != nil {
		t.Fatal(err)
	}
	browsertest.WaitFor[bool](t, ctx, "the alert in the banner after a reload", item+` && `+item+`.dataset.severity === "critical"`)
	states := browsertest.WaitFor[string](t, ctx, "the remembered arming",
		`(a => a && a.dataset.notify === "on" && a.dataset.sound + " " + a.dataset.notify)(document.querySelector('#alerts .alerts-arming'))`)
	if states != "blocked on" {
		t.Errorf("after a reload, sound and notifications are %q, want blocked (waiting for a click) and on", states)
	}
	quiet("after a reload", 0, 0)
}
