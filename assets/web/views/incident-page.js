// One incident's page ("#/incidents/<id>"): what it is and where it
// stands, the actions the viewer's role allows, a chart of its cell over
// the incident with the rule's thresholds, its timeline, and for client
// services the client-notice drafts (edited, then sent), the record of a
// client update and the report. It reads GET /api/v1/incidents/{id} and
// reads it again whenever the "incidents" topic says the incident changed,
// keeping what someone is typing in a draft or the report.

import { mountHistoryChart } from "../chart.js";
import { INCIDENTS_TOPIC } from "../incidents-model.js";
import { can } from "../session.js";
import { busy, field, formatWhen, h, messages, tableHead, timeCell } from "../ui.js";
import {
  actionButtons,
  ageEl,
  dataviewOf,
  dueEl,
  entityText,
  incidentPath,
  isCellPath,
  isSet,
  runAction,
  severityLabel,
  snoozeText,
  tick,
} from "./incident-common.js";

// EVENTS say what each kind of timeline event records.
const EVENTS = {
  opened: "opened",
  raised: "raised",
  severity: "severity changed",
  recovered: "its cell recovered; a person resolves it",
  resolved: "resolved",
  reopened: "reopened",
  closed: "closed",
  acknowledged: "acknowledged",
  unacknowledged: "acknowledgement taken back",
  "ack-lifted": "acknowledgement lifted: it got worse",
  assigned: "assigned",
  comment: "comment",
  snoozed: "snoozed",
  unsnoozed: "snooze ended by hand",
  "snooze-ended": "snooze ended",
  impact: "client impact",
  "update-due": "client update due",
  "update-recorded": "client updated",
  "notice-drafted": "notice drafted",
  "notice-sent": "notice sent",
  "notice-failed": "notice not sent: the client was not told",
  escalated: "escalated",
  report: "report edited",
  maintenance: "in a maintenance window",
  "maintenance-ended": "maintenance window ended",
};

// eventText says what a timeline event records: its kind, the severity
// it came with and its text.
export function eventText(e) {
  let s = EVENTS[e.kind] || String(e.kind);
  if (e.severity && e.severity !== "undefined") s += " (" + e.severity + ")";
  if (e.text) s += ": " + e.text;
  return s;
}

// NOTICE_KINDS are the notices a client gets, in order.
export const NOTICE_KINDS = ["problem", "update", "resolved"];

function fact(doc, term, ...value) {
  return [h(doc, "dt", {}, term), h(doc, "dd", {}, ...value)];
}

function facts(doc, inc, me, now) {
  const out = [];
  const add = (term, ...v) => out.push(...fact(doc, term, ...v));
  add("State", inc.state, inc.manual && isSet(inc.recovered) && inc.state === "open" ? " — its cell recovered " + formatWhen(inc.recovered) + "; a person resolves it" : "");
  add("Severity", severityLabel(doc, inc.severity), inc.peak && inc.peak !== inc.severity ? " (peak " + inc.peak + ")" : "");
  add("Opened", timeCell(doc, inc.opened), " · ", ageEl(doc, inc.opened, now, "", " ago"));
  if (isSet(inc.resolved)) add("Resolved", timeCell(doc, inc.resolved));
  if (isSet(inc.closed)) add("Closed", timeCell(doc, inc.closed));
  if (inc.rule) add("Rule", can(me, "read-rules") ? h(doc, "a", { href: "#/rules/" + encodeURIComponent(inc.rule) }, inc.rule) : inc.rule);
  if (inc.path) add("Cell", dataviewOf(inc.path) ? h(doc, "a", { href: "#/view/" + dataviewOf(inc.path), class: "mono" }, inc.path) : h(doc, "span", { class: "mono" }, inc.path));
  if (entityText(inc)) add("Entity", entityText(inc));
  if (inc.value) add("Value", inc.value);
  if (inc.raisedBy) add("Raised by", inc.raisedBy);
  add("Client", inc.client || "—");
  add("Client impact", inc.impact ? "impacted" + (inc.impact.description ? ": " + inc.impact.description : "") + " (marked " + formatWhen(inc.impact.at) + (inc.impact.by ? " by " + inc.impact.by : "") + ")" : "not marked");
  if (isSet(inc.nextUpdate) || inc.updateLate) add("Client update due", dueEl(doc, inc, now));
  if (isSet(inc.lastUpdate)) add("Client last updated", timeCell(doc, inc.lastUpdate));
  add("Acknowledged", inc.ack ? inc.ack.by + ", " + formatWhen(inc.ack.at) + (inc.ack.comment ? ": " + inc.ack.comment : "") : "no");
  add("Owner", inc.assignee || "—");
  if (inc.snooze) add("Snoozed", snoozeText(inc.snooze));
  if (inc.escalation && (inc.escalation.level || isSet(inc.escalation.next))) {
    add("Escalation", "level " + (inc.escalation.level || 0) + (isSet(inc.escalation.next) ? "; the next at " + formatWhen(inc.escalation.next) : ""));
  }
  if (inc.maintenance) add("Maintenance", inc.maintenance + (isSet(inc.maintenanceUntil) ? " until " + formatWhen(inc.maintenanceUntil) : ""));
  return h(doc, "dl", { class: "incident-facts" }, out);
}

function timelineTable(doc, events) {
  const row = (e) =>
    h(doc, "tr", { dataset: { kind: String(e.kind), seq: String(e.seq ?? "") } },
      h(doc, "td", {}, timeCell(doc, e.time)),
      h(doc, "td", {}, e.who || "gateway"),
      h(doc, "td", { class: "wrap" }, eventText(e),
        e.notice ? h(doc, "details", { class: "notice-sent" }, h(doc, "summary", {}, e.notice.subject || "(no subject)"), h(doc, "pre", {}, e.notice.body || "")) : null));
  return h(doc, "table", { class: "admin-table timeline" }, tableHead(doc, ["When", "Who", "What"]), h(doc, "tbody", {}, events.map(row)));
}

// idOf returns the incident ID in the route, which arrives encoded.
function idOf(seg) {
  try {
    return decodeURIComponent(seg);
  } catch {
    return seg;
  }
}

function mountPage(root, params, { store, api, me: mePromise }) {
  const doc = root.ownerDocument;
  const id = idOf(params.id);
  let alive = true;
  let me = null;
  let inc = null;
  let fetching = false;
  let again = false;
  let chart = null;
  let chartTo = null;
  let thresholds = null;

  const msg = messages(doc);
  const heading = h(doc, "h2", { tabindex: -1 }, id);
  const stateBadge = h(doc, "span", { class: "state-badge" });
  const actions = h(doc, "div", { class: "incident-actions form-actions" });
  const factsEl = h(doc, "div", { class: "incident-facts-wrap" }, h(doc, "p", { class: "placeholder" }, "Loading…"));
  const chartEl = h(doc, "div", { class: "incident-chart" });
  const chartSec = h(doc, "section", { class: "incident-part", dataset: { part: "chart" }, hidden: true }, h(doc, "h3", {}, "Its cell over the incident"), chartEl);
  const timelineHead = h(doc, "h3", {}, "Timeline");
  const timelineEl = h(doc, "div");
  const timelineSec = h(doc, "section", { class: "incident-part", dataset: { part: "timeline" }, hidden: true }, timelineHead, timelineEl);
  const noticesEl = h(doc, "div", { class: "notice-drafts" });
  const draftButtons = h(doc, "div", { class: "form-actions" });
  const noticeMsg = messages(doc);
  const noticesSec = h(doc, "section", { class: "incident-part", dataset: { part: "notices" }, hidden: true },
    h(doc, "h3", {}, "Client notices"), h(doc, "p", { class: "muted" }, "Drafted from the templates; edit them, then send. Sending a problem or update notice counts as the client's update."),
    noticeMsg.els, noticesEl, draftButtons);
  const updateSec = h(doc, "section", { class: "incident-part", dataset: { part: "update" }, hidden: true });
  const reportSec = h(doc, "section", { class: "incident-part", dataset: { part: "report" }, hidden: true });

  const page = h(doc, "div", { class: "incidents-view incident-page" },
    h(doc, "p", { class: "back" }, h(doc, "a", { href: "#/incidents" }, "← Incidents")),
    h(doc, "div", { class: "incident-head" }, heading, stateBadge),
    ...msg.els, actions, factsEl, chartSec, timelineSec, noticesSec, updateSec, reportSec,
  );
  root.append(page);

  const drafts = new Map(); // kind -> {el, subject, body, drafted, dirty}

  // refetch reads the incident again; asked while a read is on its way,
  // it reads once more after it.
  function refetch() {
    if (fetching) {
      again = true;
      return;
    }
    fetching = true;
    api.get(incidentPath(id)).then(
      (got) => {
        fetching = false;
        if (!alive) return;
        draw(got);
        if (again) {
          again = false;
          refetch();
        }
      },
      (err) => {
        fetching = false;
        if (!alive) return;
        msg.error(err);
        if (!inc) factsEl.replaceChildren();
      },
    );
  }

  const onAction = (action, button) => runAction(page, { api, me, inc, action, button, msg, alive: () => alive, after: refetch });

  function draw(got) {
    inc = got;
    const now = Date.now();
    page.dataset.incident = inc.id;
    page.dataset.state = inc.state;
    page.dataset.events = String(inc.events ?? 0);
    heading.replaceChildren(severityLabel(doc, inc.severity), " ", h(doc, "span", { class: "incident-id" }, inc.id), " ", inc.title || "");
    stateBadge.textContent = inc.state;
    stateBadge.dataset.state = inc.state;
    actions.replaceChildren(...actionButtons(doc, me, inc, onAction));
    factsEl.replaceChildren(facts(doc, inc, me, now));
    const events = Array.isArray(inc.timeline) ? inc.timeline : [];
    timelineHead.textContent = "Timeline (" + events.length + ")";
    timelineEl.replaceChildren(timelineTable(doc, events));
    timelineSec.hidden = false;
    drawChart();
    drawNotices();
    drawUpdate();
    drawReport();
  }

  function drawChart() {
    if (!isCellPath(inc.path)) return;
    chartSec.hidden = false;
    const to = isSet(inc.resolved) ? inc.resolved : null;
    if (chart && chartTo === to) return;
    if (thresholds === null) {
      thresholds = inc.rule && can(me, "read-rules")
        ? api.get("/api/v1/rules/" + encodeURIComponent(inc.rule)).then((r) => (r && Array.isArray(r.thresholds) ? r.thresholds : []), () => [])
        : Promise.resolve([]);
    }
    chartTo = to;
    const path = inc.path;
    const from = inc.opened;
    thresholds.then((th) => {
      if (!alive || chartTo !== to) return;
      if (chart) chart.unmount();
      chartEl.replaceChildren();
      chart = mountHistoryChart(chartEl, { api, paths: [path], from, to: to || new Date().toISOString(), thresholds: th });
    });
  }

  function drawNotices() {
    noticesSec.hidden = !can(me, "send-client-notice");
    if (noticesSec.hidden) return;
    const current = inc.drafts && typeof inc.drafts === "object" ? inc.drafts : {};
    for (const [kind, d] of drafts) {
      if (!current[kind]) {
        d.el.remove();
        drafts.delete(kind);
      }
    }
    for (const kind of NOTICE_KINDS) {
      const n = current[kind];
      if (!n) continue;
      const d = drafts.get(kind);
      if (!d) {
        const editor = draftEditor(kind, n);
        drafts.set(kind, editor);
        noticesEl.append(editor.el);
      } else if (!d.dirty && d.drafted !== n.drafted) {
        d.subject.value = n.subject || "";
        d.body.value = n.body || "";
        d.drafted = n.drafted;
      }
    }
    const order = NOTICE_KINDS.filter((k) => drafts.has(k)).map((k) => drafts.get(k).el);
    noticesEl.append(...order);
    draftButtons.replaceChildren(
      ...NOTICE_KINDS.filter((k) => !drafts.has(k)).map((kind) => {
        const b = h(doc, "button", { type: "button", dataset: { action: "draft", kind } }, "Draft the " + kind + " notice");
        b.addEventListener("click", () => redraft(kind, b));
        return b;
      }),
    );
  }

  function redraft(kind, button) {
    noticeMsg.clear();
    const d = drafts.get(kind);
    busy(button, () => api.post(incidentPath(id, "/drafts/" + encodeURIComponent(kind)), {})).then(
      () => {
        if (!alive) return;
        if (d) d.dirty = false;
        noticeMsg.ok("Drafted the " + kind + " notice from its template.");
        refetch();
      },
      (err) => alive && noticeMsg.error(err),
    );
  }

  function draftEditor(kind, n) {
    const subject = h(doc, "input", { name: "subject", type: "text", autocomplete: "off" });
    subject.value = n.subject || "";
    const body = h(doc, "textarea", { name: "body", rows: 8 });
    body.value = n.body || "";
    const send = h(doc, "button", { type: "submit", class: "primary" }, "Send the " + kind + " notice");
    const redo = h(doc, "button", { type: "button", dataset: { action: "redraft" } }, "Draft again");
    const via = n.via ? "Sent through " + n.via + "." : "No action sends it: send it yourself, then this records it as sent.";
    const el = h(doc, "form", { class: "admin-form notice-draft", novalidate: true, dataset: { form: "notice", kind } },
      h(doc, "h3", {}, kind[0].toUpperCase() + kind.slice(1) + " notice"), h(doc, "p", { class: "muted" }, "Drafted " + formatWhen(n.drafted) + ". " + via),
      h(doc, "div", { class: "fields stacked" }, field(doc, "Subject", subject), field(doc, "Body", body)),
      h(doc, "div", { class: "form-actions" }, send, redo));
    const editor = { el, subject, body, drafted: n.drafted, dirty: false };
    const touched = () => (editor.dirty = true);
    subject.addEventListener("input", touched);
    body.addEventListener("input", touched);
    redo.addEventListener("click", () => redraft(kind, redo));
    el.addEventListener("submit", (e) => {
      e.preventDefault();
      noticeMsg.clear();
      if (subject.value.trim() === "" || body.value.trim() === "") {
        noticeMsg.error("A notice has a subject and a body.");
        return;
      }
      busy([send, redo], () => api.post(incidentPath(id, "/notices"), { kind, subject: subject.value.trim(), body: body.value })).then(
        () => {
          if (!alive) return;
          editor.dirty = false;
          noticeMsg.ok("Sent the " + kind + " notice.");
          refetch();
        },
        (err) => alive && noticeMsg.error(err),
      );
    });
    return editor;
  }

  let updateForm = null;
  function drawUpdate() {
    updateSec.hidden = !can(me, "record-client-update") || inc.state === "closed";
    if (updateSec.hidden || updateForm) return;
    const text = h(doc, "textarea", { name: "text", rows: 2, required: true });
    const send = h(doc, "button", { type: "submit" }, "Record the update");
    const m = messages(doc);
    updateForm = h(doc, "form", { class: "admin-form", novalidate: true, dataset: { form: "client-update" } },
      h(doc, "h3", {}, "Record a client update"), field(doc, "What the client was told, and how", text, "Such as: phoned their desk, said the fix is in test."),
      m.els, h(doc, "div", { class: "form-actions" }, send));
    updateForm.addEventListener("submit", (e) => {
      e.preventDefault();
      m.clear();
      if (text.value.trim() === "") {
        m.error("Say what the client was told.");
        return;
      }
      busy(send, () => api.post(incidentPath(id, "/updates"), { text: text.value.trim() })).then(
        () => {
          if (!alive) return;
          text.value = "";
          m.ok("Recorded the client update; the next is due in a period.");
          refetch();
        },
        (err) => alive && m.error(err),
      );
    });
    updateSec.append(updateForm);
  }

  let report = null;
  function drawReport() {
    reportSec.hidden = !can(me, "read-reports");
    if (reportSec.hidden) return;
    const r = inc.report && typeof inc.report === "object" ? inc.report : {};
    if (report) {
      if (!report.dirty) for (const k of ["cause", "remedy", "preventive"]) report.fields[k].value = r[k] || "";
      return;
    }
    const fields = {};
    for (const k of ["cause", "remedy", "preventive"]) {
      fields[k] = h(doc, "textarea", { name: k, rows: 4 });
      fields[k].value = r[k] || "";
    }
    const save = h(doc, "button", { type: "submit", class: "primary" }, "Save the report");
    const m = messages(doc);
    const download = h(doc, "a", { href: incidentPath(id, "/report?format=md"), download: id + ".md", dataset: { link: "report-md" } }, "Download the report (Markdown)");
    const form = h(doc, "form", { class: "admin-form", novalidate: true, dataset: { form: "report" } },
      h(doc, "h3", {}, "Report for the client"),
      h(doc, "div", { class: "fields stacked" }, field(doc, "Cause", fields.cause), field(doc, "Remedy", fields.remedy), field(doc, "Preventive actions", fields.preventive)),
      m.els, h(doc, "div", { class: "form-actions" }, save, download));
    report = { fields, dirty: false };
    for (const el of Object.values(fields)) el.addEventListener("input", () => (report.dirty = true));
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      m.clear();
      const body = { cause: fields.cause.value.trim(), remedy: fields.remedy.value.trim(), preventive: fields.preventive.value.trim() };
      busy(save, () => api.put(incidentPath(id, "/report"), body)).then(
        () => {
          if (!alive) return;
          report.dirty = false;
          m.ok("Saved the report.");
          refetch();
        },
        (err) => alive && m.error(err),
      );
    });
    reportSec.append(form);
  }

  const unsubscribe = store.subscribe(INCIDENTS_TOPIC, (model, change) => {
    if (!inc || model.state !== "live") return;
    const live = model.incidents.get(id);
    const gone = change.full ? !live && inc.state !== "closed" : change.removed && change.removed.includes(id);
    if (gone || (live && (live.events !== inc.events || live.updated !== inc.updated))) refetch();
  });
  Promise.resolve(mePromise).then((m) => {
    if (!alive) return;
    me = m || null;
    refetch();
  });
  const timer = setInterval(() => tick(page, Date.now()), 1000);

  return {
    title: id,
    unmount() {
      alive = false;
      clearInterval(timer);
      unsubscribe();
      if (chart) chart.unmount();
      for (const d of page.querySelectorAll("dialog")) d.close();
    },
  };
}

export const incidentView = { mount: mountPage };
