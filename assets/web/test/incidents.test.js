import { assert, test } from "./runner.js";
import { ApiError } from "../session.js";
import {
  actionsFor,
  ageText,
  dueState,
  matchesFilter,
  raiseRequest,
  snoozeRequest,
  tick,
  worstFirst,
} from "../views/incident-common.js";
import { handoverURL } from "../views/incident-handover.js";
import { eventText } from "../views/incident-page.js";
import { incidentsView, incidentView, panelFilter, searchURL } from "../views/incidents.js";
import { attached, errorOf, FakeApi, liveStore, probe, settled, treeSnapshot, until } from "./fakes.js";

const NOW = Date.parse("2026-12-01T10:00:00Z");

function inc(id, fields = {}) {
  return { id, title: "title of " + id, state: "open", severity: "warning", peak: "warning", opened: "2026-12-01T09:00:00Z", updated: "2026-12-01T09:00:00Z", events: 1, ...fields };
}

function snapshot(...incidents) {
  return { type: "snapshot", topic: "incidents", incidents, snoozes: [] };
}

const PERMS = {
  viewer: ["view", "read-rules"],
  operator: ["view", "read-rules", "raise-incident", "acknowledge", "comment", "snooze", "assign"],
  clientServices: ["view", "read-rules", "raise-incident", "acknowledge", "comment", "snooze", "assign", "record-client-update", "send-client-notice", "read-reports"],
  manager: ["view", "read-rules", "raise-incident", "acknowledge", "comment", "snooze", "assign", "record-client-update", "send-client-notice", "read-reports", "resolve-incidents"],
};

function who(role, user = "olu") {
  return { user, kind: "person", roles: [role], permissions: PERMS[role] };
}

// mount mounts view into the page as the router would, with a live store
// whose incidents topic then sends a snapshot of incidents.
async function mount(t, view, { api = new FakeApi(), me = who("operator"), params = {}, incidents = [] } = {}) {
  const { store, transport } = liveStore();
  const root = attached(t);
  const handle = view.mount(root, params, { store, api, me: Promise.resolve(me) }) || {};
  t.cleanup(() => handle.unmount && handle.unmount());
  transport.deliver(snapshot(...incidents));
  await settled();
  return { root, store, transport, api, handle };
}

function rowsOf(root, section) {
  return [...root.querySelectorAll(`[data-section="${section}"] tr[data-incident]`)];
}

function messageOf(root, kind = "error") {
  return [...root.querySelectorAll(`[data-message="${kind}"]`)].map((el) => el.textContent).filter((s) => s !== "").join(" ");
}

function refusal(status, message) {
  return () => {
    throw new ApiError(status, { message });
  };
}

test("incidents: ages and client-update deadlines read for people", () => {
  assert.equal(ageText(45_000), "45s", "seconds");
  assert.equal(ageText(12 * 60_000 + 5000), "12m 05s", "minutes");
  assert.equal(ageText(3 * 3600_000 + 12 * 60_000), "3h 12m", "hours");
  assert.equal(ageText(52 * 3600_000), "2d 4h", "days");
  assert.deepEqual(dueState(inc("A"), NOW), { due: false, overdue: false, text: "—" }, "nothing due");
  assert.deepEqual(dueState(inc("A", { nextUpdate: "2026-12-01T10:05:00Z" }), NOW), { due: true, overdue: false, text: "in 5m 00s" }, "due soon");
  assert.deepEqual(dueState(inc("A", { nextUpdate: "2026-12-01T09:58:00Z" }), NOW), { due: true, overdue: true, text: "overdue 2m 00s" }, "past due");
  assert.equal(dueState(inc("A", { nextUpdate: "2026-12-01T10:05:00Z", updateLate: true }), NOW).overdue, true, "the gateway says late");
});

test("incidents: worst first, then oldest; filters by peak, client and text", () => {
  const list = [
    inc("W-old", { opened: "2026-12-01T08:00:00Z" }),
    inc("C-new", { severity: "critical", opened: "2026-12-01T09:30:00Z" }),
    inc("C-old", { severity: "critical", opened: "2026-12-01T09:10:00Z" }),
    inc("OK", { severity: "ok", opened: "2026-12-01T07:00:00Z" }),
  ];
  assert.deepEqual(list.sort(worstFirst).map((i) => i.id), ["C-old", "C-new", "W-old", "OK"], "order");
  const eased = inc("E", { severity: "warning", peak: "critical", client: "acme", assignee: "maria", path: "venue/router-acme/orders/orders/A/latency" });
  assert.ok(matchesFilter(eased, { severity: "critical" }), "by peak");
  assert.ok(!matchesFilter(inc("W"), { severity: "critical" }), "a warning is not critical");
  assert.ok(matchesFilter(eased, { client: "acme" }) && !matchesFilter(eased, { client: "globex" }), "client");
  assert.ok(matchesFilter(eased, { q: "MARIA" }) && matchesFilter(eased, { q: "router-acme" }) && !matchesFilter(eased, { q: "nope" }), "text");
});

test("incidents: the actions each role may take", () => {
  const open = inc("A");
  assert.deepEqual(actionsFor(who("viewer"), open), [], "a viewer");
  assert.deepEqual(actionsFor(who("operator"), open), ["ack", "comment", "assign", "snooze"], "first line");
  assert.deepEqual(actionsFor(who("operator"), inc("A", { ack: { by: "olu" }, snooze: { by: "olu" } })), ["unack", "comment", "assign", "unsnooze"], "acknowledged and snoozed");
  assert.deepEqual(actionsFor(who("clientServices"), open), ["ack", "comment", "assign", "snooze", "impact"], "client services");
  assert.deepEqual(actionsFor(who("manager"), open), ["ack", "comment", "assign", "snooze", "impact", "resolve", "close"], "a manager");
  assert.deepEqual(actionsFor(who("manager"), inc("A", { state: "resolved" })), ["comment", "assign", "impact", "close"], "a manager, resolved");
  assert.deepEqual(actionsFor(who("manager"), inc("A", { state: "closed" })), [], "closed");
  assert.deepEqual(actionsFor(null, open), [], "nobody known");
});

test("incidents: a snooze and a raise ask for what they need", () => {
  assert.ok(/why/.test(errorOf(() => snoozeRequest({ reason: " ", mode: "for", duration: "1h" }))), "no reason");
  assert.ok(/how long/.test(errorOf(() => snoozeRequest({ reason: "patching", mode: "for", duration: "an hour" }))), "a bad duration");
  assert.deepEqual(snoozeRequest({ reason: " patching ", mode: "for", duration: "1h30m", untilChange: true }), { reason: "patching", for: "1h30m", untilChange: true }, "for");
  assert.ok(/future/.test(errorOf(() => snoozeRequest({ reason: "x", mode: "until", until: "2026-12-01T09:00" }, Date.parse("2026-12-01T09:00:00") + 1))), "in the past");
  assert.deepEqual(snoozeRequest({ reason: "x", mode: "until", until: "2026-12-01T11:00" }, Date.parse("2026-12-01T10:00:00")), { reason: "x", until: new Date("2026-12-01T11:00").toISOString().replace(".000Z", "Z") }, "until");
  assert.ok(/title/.test(errorOf(() => raiseRequest({ title: "", text: "x" }))), "no title");
  assert.ok(/client/.test(errorOf(() => raiseRequest({ title: "t", impact: true }))), "impact without a client");
  assert.deepEqual(
    raiseRequest({ title: " Slow ", text: "fills late", severity: "critical", entity: { probe: "venue", entity: "router-acme", client: "acme" }, client: "", impact: true }),
    { title: "Slow", text: "fills late", severity: "critical", probe: "venue", entity: "router-acme", impact: true },
    "about an entity",
  );
});

test("incidents: the panel lists open ones worst and oldest first, and resolved ones apart", async (t) => {
  const { root } = await mount(t, incidentsView, {
    incidents: [
      inc("INC-W", { opened: "2026-12-01T08:00:00Z", client: "acme", assignee: "maria" }),
      inc("INC-C", { severity: "critical", peak: "critical", ack: { by: "olu", at: "2026-12-01T09:01:10Z", severity: "critical" }, escalation: { level: 2 } }),
      inc("INC-R", { state: "resolved", severity: "ok", peak: "critical", resolved: "2026-12-01T09:30:00Z" }),
    ],
  });
  const open = rowsOf(root, "open");
  assert.deepEqual(open.map((r) => r.dataset.incident), ["INC-C", "INC-W"], "open, worst first");
  assert.deepEqual(rowsOf(root, "resolved").map((r) => r.dataset.incident), ["INC-R"], "resolved apart");
  assert.equal(open[0].querySelector(".sev-icon").dataset.severity, "critical", "severity icon");
  assert.equal(open[0].querySelector(".sev-word").textContent, "critical", "severity in words");
  assert.equal(open[0].dataset.acked, "true", "acknowledged");
  assert.ok(open[0].querySelector('[data-col="ack"]').textContent.startsWith("olu "), "who acknowledged");
  assert.equal(open[0].querySelector('[data-col="escalation"]').textContent, "level 2", "escalation");
  assert.equal(open[1].querySelector('[data-col="ack"]').textContent, "no", "not acknowledged");
  assert.equal(open[1].querySelector('[data-col="owner"]').textContent, "maria", "owner");
  assert.equal(open[1].querySelector("a.incident-id").getAttribute("href"), "#/incidents/INC-W", "link to its page");
  assert.ok(/^(\d+[dhm] )?\d+[hms]/.test(open[1].querySelector('[data-col="age"]').textContent), "age");
  assert.ok(root.querySelector('[data-section="open"] h3').textContent.includes("(2)"), "count");
});

test("incidents: an overdue client update is highlighted, and becomes so as time passes", async (t) => {
  const soon = new Date(Date.now() + 1500).toISOString();
  const { root } = await mount(t, incidentsView, {
    incidents: [
      inc("INC-LATE", { client: "acme", impact: { by: "olu", at: "2026-12-01T09:00:00Z" }, nextUpdate: "2026-12-01T09:15:00Z", updateLate: true }),
      inc("INC-SOON", { client: "acme", nextUpdate: soon }),
      inc("INC-NONE"),
    ],
  });
  const row = (id) => root.querySelector(`tr[data-incident="${id}"]`);
  assert.equal(row("INC-LATE").dataset.overdue, "true", "late");
  assert.ok(row("INC-LATE").querySelector(".due").textContent.startsWith("overdue"), "says overdue");
  assert.ok(row("INC-LATE").querySelector(".badge.impact"), "client impact shown");
  assert.equal(row("INC-SOON").dataset.overdue, "false", "not yet");
  assert.equal(row("INC-NONE").querySelector('[data-col="due"]').textContent, "—", "nothing due");
  tick(root, Date.parse(soon) + 1000);
  assert.equal(row("INC-SOON").dataset.overdue, "true", "overdue once past due");
  assert.ok(row("INC-SOON").querySelector(".due").textContent.startsWith("overdue"), "says so");
});

test("incidents: the panel shows each role its actions only", async (t) => {
  const incidents = [inc("INC-1")];
  const buttons = (root) => [...root.querySelectorAll('tr[data-incident="INC-1"] button[data-action]')].map((b) => b.dataset.action);
  const viewer = await mount(t, incidentsView, { me: who("viewer"), incidents });
  assert.deepEqual(buttons(viewer.root), [], "viewer");
  assert.ok(viewer.root.querySelector('button[data-action="raise"]').hidden, "a viewer raises nothing");
  const manager = await mount(t, incidentsView, { me: who("manager"), incidents });
  assert.deepEqual(buttons(manager.root), ["ack", "comment", "assign", "snooze", "impact", "resolve", "close"], "manager");
  assert.ok(!manager.root.querySelector('button[data-action="raise"]').hidden, "a manager raises");
});

test("incidents: acknowledging from the panel, and a refusal shown as the gateway says", async (t) => {
  let refuse = false;
  const api = new FakeApi({
    "POST /api/v1/incidents/INC-1/ack": () => {
      if (refuse) throw new ApiError(409, { message: "not in a state for that: INC-1 is closed; only an open incident can be acknowledged" });
      return inc("INC-1", { ack: { by: "olu" } });
    },
  });
  const { root, transport } = await mount(t, incidentsView, { api, incidents: [inc("INC-1")] });
  root.querySelector('tr[data-incident="INC-1"] button[data-action="ack"]').click();
  await settled();
  assert.deepEqual(api.take(), [["POST", "/api/v1/incidents/INC-1/ack", {}]], "request");
  assert.equal(messageOf(root, "ok"), "Acknowledged INC-1.", "said");
  transport.deliver({ type: "delta", topic: "incidents", incidents: [inc("INC-1", { ack: { by: "olu", at: "2026-12-01T09:01:00Z" }, events: 2 })] });
  const row = root.querySelector('tr[data-incident="INC-1"]');
  assert.equal(row.dataset.acked, "true", "the topic's change shows");
  assert.ok(row.querySelector('button[data-action="unack"]'), "it can be taken back");
  refuse = true;
  transport.deliver({ type: "delta", topic: "incidents", incidents: [inc("INC-1", { events: 3 })] });
  root.querySelector('tr[data-incident="INC-1"] button[data-action="ack"]').click();
  await settled();
  assert.ok(messageOf(root).includes("only an open incident can be acknowledged"), "the gateway's message: " + messageOf(root));
});

test("incidents: a change redraws only its own row", async (t) => {
  const { root, transport } = await mount(t, incidentsView, { incidents: [inc("INC-1"), inc("INC-2", { opened: "2026-12-01T09:05:00Z" })] });
  const before = rowsOf(root, "open");
  transport.deliver({ type: "delta", topic: "incidents", incidents: [inc("INC-2", { severity: "critical", peak: "critical", events: 2 })] });
  const after = rowsOf(root, "open");
  assert.deepEqual(after.map((r) => r.dataset.incident), ["INC-2", "INC-1"], "resorted: the critical first");
  assert.ok(after[1] === before[0], "the unchanged row is the same element");
  assert.ok(after[0] !== before[1], "the changed one is new");
  transport.deliver({ type: "delta", topic: "incidents", removed: ["INC-2"] });
  assert.deepEqual(rowsOf(root, "open").map((r) => r.dataset.incident), ["INC-1"], "removed");
});

test("incidents: a snooze from the panel needs a reason, then sends reason and expiry", async (t) => {
  const api = new FakeApi({ "POST /api/v1/incidents/INC-1/snooze": (body) => inc("INC-1", { snooze: { by: "olu", ...body } }) });
  const { root } = await mount(t, incidentsView, { api, incidents: [inc("INC-1")] });
  root.querySelector('tr[data-incident="INC-1"] button[data-action="snooze"]').click();
  const dialog = root.querySelector("dialog");
  assert.ok(dialog && dialog.open, "a dialog opens");
  const form = dialog.querySelector('form[data-form="snooze"]');
  form.elements.namedItem("for").value = "2h";
  form.querySelector('button[type="submit"]').click();
  await settled();
  assert.deepEqual(api.take(), [], "nothing sent without a reason");
  assert.ok(/why/.test(messageOf(dialog)), "says what is missing: " + messageOf(dialog));
  form.elements.namedItem("reason").value = "vendor patching";
  form.elements.namedItem("untilChange").checked = true;
  form.querySelector('button[type="submit"]').click();
  await until("the dialog to close", () => !dialog.open);
  assert.deepEqual(api.take(), [["POST", "/api/v1/incidents/INC-1/snooze", { reason: "vendor patching", for: "2h", untilChange: true }]], "request");
  assert.equal(messageOf(root, "ok"), "Snoozed INC-1.", "said");
});

test("incidents: a refused comment keeps its dialog open with the gateway's message", async (t) => {
  const api = new FakeApi({ "POST /api/v1/incidents/INC-1/comments": refusal(422, "invalid: the comment is over 4096 bytes") });
  const { root } = await mount(t, incidentsView, { api, incidents: [inc("INC-1")] });
  root.querySelector('button[data-action="comment"]').click();
  const dialog = root.querySelector("dialog");
  dialog.querySelector("textarea").value = "a long one";
  dialog.querySelector('button[type="submit"]').click();
  await until("the gateway's message", () => messageOf(dialog) !== "");
  assert.ok(dialog.open, "still open");
  assert.equal(messageOf(dialog), "invalid: the comment is over 4096 bytes", "message");
  dialog.querySelector('button[data-action="cancel"]').click();
  assert.ok(!dialog.open, "cancelled");
});

test("incidents: assigning to me, and unassigning", async (t) => {
  const api = new FakeApi({ "POST /api/v1/incidents/INC-1/assign": (body) => inc("INC-1", { assignee: body.to }) });
  const { root } = await mount(t, incidentsView, { api, incidents: [inc("INC-1", { assignee: "maria" })] });
  root.querySelector('button[data-action="assign"]').click();
  let dialog = root.querySelector("dialog");
  assert.equal(dialog.querySelector('input[name="to"]').value, "maria", "the owner now");
  dialog.querySelector('button[data-action="assign-me"]').click();
  dialog.querySelector('button[type="submit"]').click();
  await settled();
  root.querySelector('button[data-action="assign"]').click();
  dialog = root.querySelector("dialog");
  dialog.querySelector('button[data-action="assign-none"]').click();
  dialog.querySelector('button[type="submit"]').click();
  await settled();
  assert.deepEqual(api.take(), [["POST", "/api/v1/incidents/INC-1/assign", { to: "olu" }], ["POST", "/api/v1/incidents/INC-1/assign", { to: "" }]], "requests");
});

test("incidents: the filter narrows the live list, and searches closed ones through the API", async (t) => {
  const api = new FakeApi({
    "GET /api/v1/incidents?state=closed&client=acme&limit=100": () => ({ incidents: [inc("INC-OLD", { state: "closed", client: "acme" })], next: "INC-OLD" }),
    "GET /api/v1/incidents?state=closed&client=acme&limit=100&cursor=INC-OLD": () => ({ incidents: [inc("INC-OLDER", { state: "closed", client: "acme" })] }),
  });
  const { root } = await mount(t, incidentsView, {
    api,
    params: { client: "acme" },
    incidents: [inc("INC-A", { client: "acme" }), inc("INC-G", { client: "globex" })],
  });
  assert.deepEqual(rowsOf(root, "open").map((r) => r.dataset.incident), ["INC-A"], "by the link's client");
  const form = root.querySelector('form[data-form="filter"]');
  form.elements.namedItem("state").value = "closed";
  form.elements.namedItem("state").dispatchEvent(new Event("change"));
  await settled();
  assert.deepEqual(api.take(), [["GET", "/api/v1/incidents?state=closed&client=acme&limit=100"]], "the search");
  assert.ok(root.querySelector('[data-section="open"]').hidden, "the live list is hidden");
  assert.deepEqual(rowsOf(root, "search").map((r) => r.dataset.incident), ["INC-OLD"], "found");
  root.querySelector('button[data-action="more"]').click();
  await settled();
  assert.deepEqual(rowsOf(root, "search").map((r) => r.dataset.incident), ["INC-OLD", "INC-OLDER"], "the next page added");
  assert.ok(root.querySelector('button[data-action="more"]').hidden, "no more");
});

test("incidents: the filter from a link, and the search's request", () => {
  assert.deepEqual(panelFilter({}), { state: "live", severity: "", client: "", q: "" }, "none");
  assert.deepEqual(panelFilter({ state: "bogus", severity: "ok", client: "acme", q: "x" }), { state: "live", severity: "", client: "acme", q: "x" }, "bad values");
  assert.equal(searchURL({ state: "all", severity: "critical", client: "", q: " fix " }), "/api/v1/incidents?severity=critical&q=fix&limit=100", "any state");
});

test("incidents: raising one about an entity of the tree", async (t) => {
  const api = new FakeApi({ "POST /api/v1/incidents": (body) => inc("INC-NEW", { title: body.title }) });
  const { root, transport } = await mount(t, incidentsView, { api, incidents: [] });
  root.querySelector('button[data-action="raise"]').click();
  transport.deliver(treeSnapshot([probe("venue", { entities: { "router-acme": { attributes: { client: "acme" } } } })]));
  const dialog = root.querySelector("dialog");
  const form = dialog.querySelector('form[data-form="raise"]');
  form.querySelector('button[type="submit"]').click();
  await settled();
  assert.ok(/title/.test(messageOf(dialog)), "a title is needed");
  form.elements.namedItem("title").value = "Fills late";
  form.elements.namedItem("severity").value = "critical";
  form.elements.namedItem("entity").value = "venue/router-acme";
  form.querySelector('button[type="submit"]').click();
  await settled();
  assert.deepEqual(api.take(), [["POST", "/api/v1/incidents", { title: "Fills late", text: "", severity: "critical", probe: "venue", entity: "router-acme" }]], "request");
  assert.equal(messageOf(root, "ok"), "Raised INC-NEW.", "said");
});

const TIMELINE = [
  { incident: "INC-1", seq: 1, time: "2026-12-01T09:00:00Z", kind: "opened", severity: "warning", value: "50" },
  { incident: "INC-1", seq: 2, time: "2026-12-01T09:00:00Z", kind: "notice-drafted", text: "problem" },
  { incident: "INC-1", seq: 3, time: "2026-12-01T09:01:00Z", who: "olu", kind: "comment", text: "restarting the router" },
];

function detailed(fields = {}) {
  return {
    ...inc("INC-1", {
      rule: "latency-high",
      path: "venue/router-acme/orders/orders/A/latency",
      probe: "venue",
      entity: "router-acme",
      client: "acme",
      events: 3,
      drafts: { problem: { kind: "problem", subject: "Problem: latency", body: "We see latency.", drafted: "2026-12-01T09:00:00Z" } },
    }),
    timeline: TIMELINE,
    ...fields,
  };
}

test("incident page: the timeline says when, who and what", async (t) => {
  const api = new FakeApi({ "GET /api/v1/incidents/INC-1": () => detailed() });
  const { root } = await mount(t, incidentView, { api, params: { id: "INC-1" }, me: who("viewer") });
  const rows = [...root.querySelectorAll("table.timeline tbody tr")];
  assert.deepEqual(rows.map((r) => r.dataset.kind), ["opened", "notice-drafted", "comment"], "events");
  assert.deepEqual([...rows[2].cells].slice(1).map((c) => c.textContent), ["olu", "comment: restarting the router"], "who and what");
  assert.equal(rows[0].cells[1].textContent, "gateway", "the gateway's own");
  assert.equal(rows[0].cells[0].querySelector("time").getAttribute("datetime"), "2026-12-01T09:00:00Z", "when");
  assert.equal(eventText({ kind: "ack-lifted", severity: "critical" }), "acknowledgement lifted: it got worse (critical)", "an event in words");
  assert.equal(root.querySelectorAll("[data-action]").length, 0, "a viewer has no actions");
  assert.ok(root.querySelector('[data-part="notices"]').hidden, "nor notices");
});

test("incident page: it reads the incident again when the topic says it changed", async (t) => {
  let answer = detailed();
  const api = new FakeApi({ "GET /api/v1/incidents/INC-1": () => answer });
  const { root, transport } = await mount(t, incidentView, { api, params: { id: "INC-1" }, me: who("viewer"), incidents: [inc("INC-1", { events: 3 })] });
  api.take();
  transport.deliver({ type: "delta", topic: "incidents", incidents: [inc("INC-2", { events: 9 })] });
  await settled();
  assert.deepEqual(api.take(), [], "another incident's change");
  answer = detailed({ events: 4, ack: { by: "maria", at: "2026-12-01T09:02:00Z" }, timeline: [...TIMELINE, { incident: "INC-1", seq: 4, time: "2026-12-01T09:02:00Z", who: "maria", kind: "acknowledged" }] });
  transport.deliver({ type: "delta", topic: "incidents", incidents: [inc("INC-1", { events: 4 })] });
  await settled();
  assert.deepEqual(api.take(), [["GET", "/api/v1/incidents/INC-1"]], "read again");
  assert.equal(root.querySelectorAll("table.timeline tbody tr").length, 4, "the new event");
});

test("incident page: a draft edited and sent, keeping edits through a change", async (t) => {
  let answer = detailed();
  const api = new FakeApi({
    "GET /api/v1/incidents/INC-1": () => answer,
    "POST /api/v1/incidents/INC-1/notices": () => inc("INC-1"),
    "POST /api/v1/incidents/INC-1/drafts/update": () => inc("INC-1"),
  });
  const { root, transport } = await mount(t, incidentView, { api, params: { id: "INC-1" }, me: who("clientServices"), incidents: [inc("INC-1", { events: 3 })] });
  api.take();
  const form = root.querySelector('form[data-form="notice"][data-kind="problem"]');
  assert.equal(form.elements.namedItem("subject").value, "Problem: latency", "the draft's subject");
  form.elements.namedItem("body").value = "We see latency on your router; we are on it.";
  form.elements.namedItem("body").dispatchEvent(new Event("input"));
  answer = detailed({ events: 4, drafts: { problem: { kind: "problem", subject: "Problem: latency", body: "Redrafted.", drafted: "2026-12-01T09:03:00Z" } } });
  transport.deliver({ type: "delta", topic: "incidents", incidents: [inc("INC-1", { events: 4 })] });
  await settled();
  assert.equal(form.elements.namedItem("body").value, "We see latency on your router; we are on it.", "the edit kept");
  form.querySelector('button[type="submit"]').click();
  await settled();
  assert.deepEqual(api.take().slice(0, 2), [
    ["GET", "/api/v1/incidents/INC-1"],
    ["POST", "/api/v1/incidents/INC-1/notices", { kind: "problem", subject: "Problem: latency", body: "We see latency on your router; we are on it." }],
  ], "sent as edited");
  assert.equal(messageOf(root.querySelector('[data-part="notices"]'), "ok"), "Sent the problem notice.", "said");
  root.querySelector('button[data-action="draft"][data-kind="update"]').click();
  await settled();
  assert.ok(api.take().some(([m, p]) => m === "POST" && p === "/api/v1/incidents/INC-1/drafts/update"), "drafts the update notice");
});

test("incident page: a refused notice shows the gateway's message", async (t) => {
  const api = new FakeApi({
    "GET /api/v1/incidents/INC-1": () => detailed(),
    "POST /api/v1/incidents/INC-1/notices": refusal(422, 'invalid: no action "mail-acme" sends notices'),
  });
  const { root } = await mount(t, incidentView, { api, params: { id: "INC-1" }, me: who("clientServices") });
  root.querySelector('form[data-form="notice"] button[type="submit"]').click();
  await settled();
  assert.equal(messageOf(root.querySelector('[data-part="notices"]')), 'invalid: no action "mail-acme" sends notices', "message");
});

test("incident page: a chart of its cell over the incident, with the rule's thresholds", async (t) => {
  const api = new FakeApi({
    "GET /api/v1/incidents/INC-1": () => detailed(),
    "GET /api/v1/rules/latency-high": () => ({ name: "latency-high", thresholds: [{ level: "critical", value: 80, op: ">" }, { level: "warning", value: 40, op: ">" }] }),
  });
  const { root } = await mount(t, incidentView, { api, params: { id: "INC-1" }, me: who("operator") });
  await settled();
  const fig = root.querySelector('[data-part="chart"] figure.history-chart');
  assert.ok(fig, "a chart");
  assert.equal(fig.dataset.paths, "venue/router-acme/orders/orders/A/latency", "of its cell");
  assert.equal(fig.querySelectorAll(".chart-thresholds li").length, 2, "with the thresholds");
  const history = api.calls.find(([, p]) => p.startsWith("/api/v1/history?"));
  assert.ok(history && new URLSearchParams(history[1].split("?")[1]).get("from") === "2026-12-01T09:00:00Z", "from its opening: " + (history && history[1]));
});

test("incident page: the report is saved, and offered as Markdown", async (t) => {
  const api = new FakeApi({
    "GET /api/v1/incidents/INC-1": () => detailed({ report: { cause: "a full queue" } }),
    "PUT /api/v1/incidents/INC-1/report": () => inc("INC-1"),
  });
  const { root } = await mount(t, incidentView, { api, params: { id: "INC-1" }, me: who("manager") });
  const form = root.querySelector('form[data-form="report"]');
  assert.equal(form.elements.namedItem("cause").value, "a full queue", "what is written");
  form.elements.namedItem("remedy").value = "restarted";
  form.querySelector('button[type="submit"]').click();
  await settled();
  assert.ok(api.calls.some(([m, p, b]) => m === "PUT" && p === "/api/v1/incidents/INC-1/report" && b.remedy === "restarted" && b.cause === "a full queue"), "saved");
  assert.equal(form.querySelector('a[data-link="report-md"]').getAttribute("href"), "/api/v1/incidents/INC-1/report?format=md", "the Markdown");
});

test("handover: its request, and what it lists", async (t) => {
  assert.equal(handoverURL("", "8h"), "/api/v1/handover?shift=8h", "the defaults");
  assert.ok(handoverURL("2026-12-01T06:00", "12h").startsWith("/api/v1/handover?since=2026-12-01T"), "since");
  const api = new FakeApi({
    "GET /api/v1/handover?shift=8h": () => ({
      since: "2026-12-01T02:00:00Z",
      now: "2026-12-01T10:00:00Z",
      nextShiftEnds: "2026-12-01T18:00:00Z",
      open: [inc("INC-1", { ack: { by: "olu", at: "2026-12-01T09:01:00Z" } })],
      acknowledged: [inc("INC-1", { ack: { by: "olu", at: "2026-12-01T09:01:00Z" } })],
      resolved: [],
      moreResolved: true,
      clientUpdatesDue: [],
      snoozes: [{ target: "INC-1", by: "olu", reason: "patching", until: "2026-12-01T11:00:00Z", expiring: true }],
      notes: [{ time: "2026-12-01T09:50:00Z", who: "maria", text: "watch the LSE gateway" }],
    }),
    "POST /api/v1/handover/notes": (body) => ({ time: "2026-12-01T10:00:00Z", who: "olu", ...body }),
  });
  const { root } = await mount(t, incidentsView, { api, params: { view: "handover" } });
  const part = (p) => root.querySelector(`[data-part="${p}"]`);
  assert.equal(part("open").dataset.count, "1", "open");
  assert.ok(part("open").querySelector('tr[data-incident="INC-1"]'), "the incident");
  assert.equal(part("acknowledged").dataset.count, "1", "acknowledged");
  assert.ok(part("resolved").querySelector('a[href="#/incidents?state=resolved"]'), "more resolved than listed");
  assert.equal(part("snoozes").querySelector('tr[data-target="INC-1"]').dataset.expiring, "true", "expiring snooze");
  assert.ok(part("notes").textContent.includes("watch the LSE gateway"), "the notes");
  const form = root.querySelector('form[data-form="handover-note"]');
  assert.ok(!form.hidden, "an operator leaves notes");
  form.querySelector('button[type="submit"]').click();
  assert.ok(/Write/.test(messageOf(form)), "an empty note");
  form.elements.namedItem("text").value = "INC-1 is with the vendor";
  form.querySelector('button[type="submit"]').click();
  await settled();
  await settled();
  const calls = api.take();
  assert.ok(calls.some(([m, p, b]) => m === "POST" && p === "/api/v1/handover/notes" && b.text === "INC-1 is with the vendor"), "posted");
  assert.equal(calls.filter(([m, p]) => m === "GET" && p === "/api/v1/handover?shift=8h").length, 2, "and read again");
});
