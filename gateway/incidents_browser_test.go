package gateway_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/watchfloor/watchfloor/gateway"
	gt "github.com/watchfloor/watchfloor/gateway/gatewaytest"
	"github.com/watchfloor/watchfloor/gateway/incident"
	"github.com/watchfloor/watchfloor/gateway/internal/browsertest"
)

// goTo opens the dashboard at hash (such as "#/incidents") in ctx, on a
// desk's screen.
func goTo(t *testing.T, ctx context.Context, base, hash string) {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1600, 1000), chromedp.Navigate(base+"/"+hash)); err != nil {
		t.Fatal(err)
	}
}

// screenshot saves the page as name with the view scrolled back to its
// top left, where clicking may have moved it.
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](`document.getElementById("view").scrollTo(0, 0)`)); err != nil {
		t.Fatal(err)
	}
	browsertest.Screenshot(t, ctx, name)
}

// typeInto sets the value of the control css selects as typing would,
// with the input and change events a person's typing fires.
func typeInto(t *testing.T, ctx context.Context, css, value string) {
	t.Helper()
	browsertest.WaitFor[bool](t, ctx, css+" to type into", fmt.Sprintf(`(e => !!e && (e.value = %q, e.dispatchEvent(new Event("input", {bubbles: true})), e.dispatchEvent(new Event("change", {bubbles: true})), true))(document.querySelector(%q))`, value, css))
}

// incidentRowJS is a JavaScript expression for incident id's row in the
// view.
func incidentRowJS(id string) string {
	return fmt.Sprintf(`document.querySelector('#view tr[data-incident=%q]')`, id)
}

// First line at the panel: a rule's critical incident is listed with its
// severity in words, above one the operator raises; the operator
// acknowledges it, comments and snoozes it with a reason and an expiry from
// the panel, and the incident's page shows all of it on the timeline, and
// another desk's comment as it is made, with a chart of its cell.
func TestBrowserIncidentPanelAcknowledgeCommentSnooze(t *testing.T) {
	r := startIncidents(t, gateway.Options{}, "", "")
	r.latency("router-acme", 85)
	inc := r.waitIncident("acme's critical latency incident", "?state=open", func(i incident.Incident) bool {
		return i.Path == latencyPath("router-acme") && i.Severity.String() == "critical"
	})
	r.latency("router-acme", 92)
	r.latency("router-acme", 97)

	ctx := browsertest.New(t)
	browsertest.FailOnJSErrors(t, ctx)
	browsertest.SetSession(t, ctx, r.gw.URL(), gt.Login(t, r.gw.URL(), olu.Name).Cookie)
	goTo(t, ctx, r.gw.URL(), "#/incidents")
	row := incidentRowJS(inc.ID)
	got := browsertest.WaitFor[[]string](t, ctx, "the incident in the panel",
		`(r => r && [r.closest("[data-section]").dataset.section, r.dataset.severity, r.querySelector(".sev-word").textContent, r.dataset.acked])(`+row+`)`)
	if want := []string{"open", "critical", "critical", "false"}; !slices.Equal(got, want) {
		t.Fatalf("the incident's row shows section, severity, its word, acknowledged %q, want %q", got, want)
	}

	click(t, ctx, `#view button[data-action="raise"]`)
	typeInto(t, ctx, `#view dialog input[name="title"]`, "Fills from globex's router look late")
	browsertest.WaitFor[bool](t, ctx, "the tree's entities in the raise form", `document.querySelectorAll('#view dialog select[name="entity"] option').length > 1`)
	typeInto(t, ctx, `#view dialog select[name="entity"]`, "venue/router-globex")
	click(t, ctx, `#view dialog button[type="submit"]`)
	raised := browsertest.WaitFor[string](t, ctx, "the raised incident's message", `(m => m.startsWith("Raised ") && m.slice(7, -1))(`+viewMessage("ok")+`)`)
	order := browsertest.WaitFor[[]string](t, ctx, "the raised incident in the panel, after the worse one",
		fmt.Sprintf(`(ids => ids.includes(%q) && ids)([...document.querySelectorAll('#view [data-section="open"] tr[data-incident]')].map(r => r.dataset.incident + " " + r.dataset.severity))`, raised+" warning"))
	if want := []string{inc.ID + " critical", raised + " warning"}; !slices.Equal(order, want) {
		t.Errorf("the open incidents are listed as %q, want %q: worst first", order, want)
	}
	if got := r.get(r.gw.Admin(t), raised); got.RaisedBy != olu.Name || got.Entity != "router-globex" || got.Client != "globex" {
		t.Errorf("the gateway holds the raised incident as %+v", got.Incident)
	}

	click(t, ctx, fmt.Sprintf(`#view tr[data-incident=%q] button[data-action="ack"]`, inc.ID))
	ack := browsertest.WaitFor[string](t, ctx, "the row to show the acknowledgement",
		`(r => r.dataset.acked === "true" && r.querySelector('[data-col="ack"]').textContent)(`+row+`)`)
	if !strings.HasPrefix(ack, "olu ") {
		t.Errorf("the acknowledgement reads %q, want olu and when", ack)
	}
	if a := r.get(r.gw.Admin(t), inc.ID).Ack; a == nil || a.By != olu.Name {
		t.Fatalf("the gateway holds the acknowledgement %+v, want olu's", a)
	}

	click(t, ctx, fmt.Sprintf(`#view tr[data-incident=%q] button[data-action="comment"]`, inc.ID))
	typeInto(t, ctx, `#view dialog textarea[name="text"]`, "restarting the order router")
	click(t, ctx, `#view dialog button[type="submit"]`)
	browsertest.WaitFor[bool](t, ctx, "the comment's dialog to close", `document.querySelector("#view dialog") === null`)

	click(t, ctx, fmt.Sprintf(`#view tr[data-incident=%q] button[data-action="snooze"]`, inc.ID))
	typeInto(t, ctx, `#view dialog input[name="reason"]`, "vendor patching the venue")
	typeInto(t, ctx, `#view dialog input[name="for"]`, "30m")
	screenshot(t, ctx, "incident-snooze")
	click(t, ctx, `#view dialog button[type="submit"]`)
	snooze := browsertest.WaitFor[string](t, ctx, "the row to show the snooze",
		`(r => r.dataset.snoozed === "true" && r.querySelector('[data-col="snooze"]').textContent)(`+row+`)`)
	if !strings.Contains(snooze, "by olu: vendor patching the venue") {
		t.Errorf("the snooze reads %q", snooze)
	}
	s := r.get(r.gw.Admin(t), inc.ID).Snooze
	if s == nil || s.Reason != "vendor patching the venue" || s.By != olu.Name {
		t.Fatalf("the gateway holds the snooze %+v", s)
	}
	if left := time.Until(s.Until); left < 25*time.Minute || left > 31*time.Minute {
		t.Errorf("the snooze ends %v from now, want 30m", left)
	}
	screenshot(t, ctx, "incidents")

	click(t, ctx, fmt.Sprintf(`#view tr[data-incident=%q] a.incident-id`, inc.ID))
	timeline := browsertest.WaitFor[[][]string](t, ctx, "the timeline with the comment and the snooze",
		`(rows => rows.some(r => r.dataset.kind === "snoozed") && rows.map(r => [r.dataset.kind, r.cells[1].textContent, r.cells[2].textContent]))([...document.querySelectorAll('#view table.timeline tbody tr')])`)
	find := func(kind string) []string {
		for _, e := range timeline {
			if e[0] == kind {
				return e
			}
		}
		t.Fatalf("the timeline %q has no %s event", timeline, kind)
		return nil
	}
	if e := find("acknowledged"); e[1] != olu.Name {
		t.Errorf("the acknowledgement's event: %q", e)
	}
	if e := find("comment"); e[1] != olu.Name || e[2] != "comment: restarting the order router" {
		t.Errorf("the comment's event: %q", e)
	}
	if e := find("snoozed"); e[1] != olu.Name || !strings.Contains(e[2], "until ") || !strings.HasSuffix(e[2], ": vendor patching the venue") {
		t.Errorf("the snooze's event: %q", e)
	}
	// Someone else comments: the open page hears of it and shows it.
	if code, _ := r.post(gt.Login(t, r.gw.URL(), maria.Name), "/api/v1/incidents/"+inc.ID+"/comments", map[string]string{"text": "vendor on the phone"}); code != http.StatusOK {
		t.Fatalf("maria's comment: %d", code)
	}
	browsertest.WaitFor[bool](t, ctx, "another desk's comment on the open page",
		`[...document.querySelectorAll('#view table.timeline tr[data-kind="comment"]')].some(r => r.cells[1].textContent === "maria" && r.cells[2].textContent === "comment: vendor on the phone")`)
	browsertest.WaitFor[bool](t, ctx, "the chart of its cell drawn",
		fmt.Sprintf(`!!document.querySelector('#view [data-part="chart"] figure.history-chart[data-state="drawn"][data-paths=%q] canvas')`, inc.Path))
	screenshot(t, ctx, "incident")
}

// A manager at one incident's page: the problem notice drafted when the
// rule marked the client impacted is edited and sent, and the timeline
// records what was sent; the report's cause is saved and its Markdown
// download holds it; the shift handover lists the incident as open and
// owing its client an update, and takes a note for the next shift; and the
// manager resolves it from the panel.
func TestBrowserIncidentNoticeAndHandover(t *testing.T) {
	r := startIncidents(t, gateway.Options{}, "", "")
	r.latency("router-acme", 50)
	inc := r.waitIncident("acme's incident with its problem notice drafted", "?state=open", func(i incident.Incident) bool {
		return i.Path == latencyPath("router-acme") && i.Drafts[incident.ProblemNotice].Subject != ""
	})

	ctx := browsertest.New(t)
	browsertest.FailOnJSErrors(t, ctx)
	browsertest.SetSession(t, ctx, r.gw.URL(), gt.Login(t, r.gw.URL(), maria.Name).Cookie)
	goTo(t, ctx, r.gw.URL(), "#/incidents/"+inc.ID)
	draft := `#view form[data-form="notice"][data-kind="problem"] `
	drafted := browsertest.WaitFor[string](t, ctx, "the problem notice's draft", `(e => e && e.value)(document.querySelector('`+draft+`input[name="subject"]'))`)
	if drafted != inc.Drafts[incident.ProblemNotice].Subject {
		t.Errorf("the draft's subject reads %q, want the gateway's %q", drafted, inc.Drafts[incident.ProblemNotice].Subject)
	}
	const subject, body = "Latency on your order router", "We see slow fills on your order router and are on it. Next update within 15 minutes."
	typeInto(t, ctx, draft+`input[name="subject"]`, subject)
	typeInto(t, ctx, draft+`textarea[name="body"]`, body)
	if err := chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](`document.querySelector('#view [data-part="notices"]').scrollIntoView()`)); err != nil {
		t.Fatal(err)
	}
	browsertest.Screenshot(t, ctx, "incident-notice")
	click(t, ctx, draft+`button[type="submit"]`)
	sent := browsertest.WaitFor[string](t, ctx, "the sent notice on the timeline",
		`(r => r && r.querySelector("summary").textContent)(document.querySelector('#view table.timeline tr[data-kind="notice-sent"]'))`)
	if sent != subject {
		t.Errorf("the timeline's sent notice is %q, want %q", sent, subject)
	}
	var notice *incident.Notice
	for _, e := range r.get(r.gw.Admin(t), inc.ID).Timeline {
		if e.Kind == incident.EvNoticeSent {
			notice = e.Notice
		}
	}
	if notice == nil || notice.Subject != subject || notice.Body != body || notice.By != maria.Name {
		t.Fatalf("the gateway recorded the notice %+v, want maria's as edited", notice)
	}
	browsertest.WaitFor[bool](t, ctx, "the sent draft to leave the page",
		`document.querySelector('`+draft+`') === null && !!document.querySelector('#view button[data-action="draft"][data-kind="problem"]')`)

	typeInto(t, ctx, `#view form[data-form="report"] textarea[name="cause"]`, "The venue's order gateway queued every order behind a stuck one.")
	click(t, ctx, `#view form[data-form="report"] button[type="submit"]`)
	browsertest.WaitFor[bool](t, ctx, "the report saved", viewMessage("ok")+`.includes("Saved the report.")`)
	md, err := chromedp.Run(ctx, chromedp.Evaluate[string](`fetch(document.querySelector('#view a[data-link="report-md"]').href).then(r => r.text())`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(md, "# "+inc.ID+": ") || !strings.Contains(md, "## Cause\n\nThe venue's order gateway queued every order behind a stuck one.\n") {
		t.Errorf("the report's Markdown link gives:\n%s", md)
	}

	goTo(t, ctx, r.gw.URL(), "#/incidents?view=handover")
	parts := browsertest.WaitFor[[]string](t, ctx, "the handover with the incident",
		fmt.Sprintf(`(["open", "updates-due"].every(p => document.querySelector('#view [data-part="' + p + '"] tr[data-incident=%q]')) && [...document.querySelectorAll('#view [data-part]')].map(p => p.dataset.part + " " + p.dataset.count))`, inc.ID))
	for _, want := range []string{"open 1", "updates-due 1", "acknowledged 0", "resolved 0"} {
		if !slices.Contains(parts, want) {
			t.Errorf("the handover's parts are %q, want %q among them", parts, want)
		}
	}
	screenshot(t, ctx, "incident-handover")
	const note = "INC is with the venue's vendor; call them at 14:00"
	typeInto(t, ctx, `#view form[data-form="handover-note"] textarea[name="text"]`, note)
	click(t, ctx, `#view form[data-form="handover-note"] button[type="submit"]`)
	browsertest.WaitFor[bool](t, ctx, "the note in the handover",
		fmt.Sprintf(`(p => !!p && p.dataset.count === "1" && p.textContent.includes(%q) && p.textContent.includes("maria"))(document.querySelector('#view [data-part="notes"]'))`, note))

	// A manager resolves it from the panel, whatever its cell says.
	goTo(t, ctx, r.gw.URL(), "#/incidents")
	click(t, ctx, fmt.Sprintf(`#view tr[data-incident=%q] button[data-action="resolve"]`, inc.ID))
	typeInto(t, ctx, `#view dialog textarea[name="comment"]`, "the vendor restarted the gateway")
	click(t, ctx, `#view dialog button[type="submit"]`)
	browsertest.WaitFor[bool](t, ctx, "the incident among the recently resolved",
		fmt.Sprintf(`(r => !!r && r.dataset.state === "resolved")(document.querySelector('#view [data-section="resolved"] tr[data-incident=%q]')) && !document.querySelector('#view [data-section="open"] tr[data-incident=%q]')`, inc.ID, inc.ID))
	got := r.get(r.gw.Admin(t), inc.ID)
	resolved := slices.IndexFunc(got.Timeline, func(e incident.Event) bool {
		return e.Kind == incident.EvResolved && e.Who == maria.Name && e.Text == "the vendor restarted the gateway"
	})
	if got.State != incident.Resolved || resolved < 0 {
		t.Errorf("after maria resolved it the gateway holds it %s, with the timeline %v", got.State, kindsOf(got.Timeline))
	}
}

// A client's trader (role client, scope client=acme) files a problem
// through "Report a problem" about one of its own entities — the only ones
// it is offered — sees the new incident's ID with a link to follow it, and
// lists only its own client's incidents.
func TestBrowserClientReportsAProblem(t *testing.T) {
	r := startIncidents(t, gateway.Options{}, "", "")
	r.latency("router-acme", 90)
	r.latency("router-globex", 90)
	own := r.waitIncident("acme's incident", "?state=open", func(i incident.Incident) bool { return i.Client == "acme" })
	other := r.waitIncident("globex's incident", "?state=open", func(i incident.Incident) bool { return i.Client == "globex" })

	ctx := browsertest.New(t)
	browsertest.FailOnJSErrors(t, ctx)
	browsertest.SetSession(t, ctx, r.gw.URL(), gt.Login(t, r.gw.URL(), acme.Name).Cookie)
	goTo(t, ctx, r.gw.URL(), "#/report")
	form := `#view form[data-form="report-problem"] `
	entities := browsertest.WaitFor[[]string](t, ctx, "the client's entities to choose from",
		`(s => s && !s.closest("form").hidden && s.options.length > 1 && [...s.options].slice(1).map(o => o.value))(document.querySelector('`+form+`select[name="entity"]'))`)
	if want := []string{"venue/router-acme"}; !slices.Equal(entities, want) {
		t.Errorf("the client is offered the entities %q, want only its own %q", entities, want)
	}
	browsertest.WaitFor[bool](t, ctx, "the header to offer the client Report a problem", `document.getElementById("report-link").hidden === false`)

	typeInto(t, ctx, form+`input[name="title"]`, "Orders to LSE rejected")
	typeInto(t, ctx, form+`textarea[name="text"]`, "Since 09:00 every order comes back rejected.")
	click(t, ctx, form+`input[name="severity"][value="critical"]`)
	typeInto(t, ctx, form+`select[name="entity"]`, "venue/router-acme")
	click(t, ctx, form+`button[type="submit"]`)
	id := browsertest.WaitFor[string](t, ctx, "the filed problem's ID", `(e => e && e.textContent)(document.querySelector('#view .filed [data-incident-id]'))`)
	filed := r.get(r.gw.Admin(t), id)
	if filed.Client != "acme" || filed.Entity != "router-acme" || filed.RaisedBy != acme.Name || filed.Severity.String() != "critical" || filed.Title != "Orders to LSE rejected" {
		t.Fatalf("the gateway holds the filed problem as %+v", filed.Incident)
	}

	listed := browsertest.WaitFor[[]string](t, ctx, "the client's incidents with the new one",
		fmt.Sprintf(`(ids => ids.includes(%q) && ids)([...document.querySelectorAll('#view [data-section="own"] tr[data-incident]')].map(r => r.dataset.incident))`, id))
	if !slices.Contains(listed, own.ID) || slices.Contains(listed, other.ID) || len(listed) != 2 {
		t.Errorf("the client lists %q, want its own %s and %s and not globex's %s", listed, own.ID, id, other.ID)
	}

	screenshot(t, ctx, "incident-report-a-problem")
	click(t, ctx, `#view .filed a`)
	title := browsertest.WaitFor[string](t, ctx, "the filed problem's page",
		fmt.Sprintf(`(r => r && r.dataset.incident === %q && r.querySelector("h2").textContent)(document.querySelector('#view .incident-page'))`, id))
	if !strings.HasSuffix(title, "Orders to LSE rejected") {
		t.Errorf("the page's heading reads %q", title)
	}
	if n := browsertest.WaitFor[[]int](t, ctx, "the page's actions", `[document.querySelectorAll('#view [data-action]').length]`); n[0] != 0 {
		t.Errorf("a client is offered %d actions on its incident's page, want none", n[0])
	}
}
