// What the incident panel, one incident's page, the handover and the
// client's "report a problem" form share: how an incident's age, client
// update and snooze read, which actions a role allows on it, and the forms
// those actions take. The forms open in a modal dialog, so the live list
// under them can redraw while someone types.

import { decodeSegment } from "../paths.js";
import { can } from "../session.js";
import { severity, severityIcon } from "../severity.js";
import { children } from "../tree-model.js";
import { busy, field, formatWhen, h, messages } from "../ui.js";

export const INCIDENTS_PATH = "/api/v1/incidents";

// incidentPath returns the API path of incident id, and of suffix under it.
export function incidentPath(id, suffix = "") {
  return INCIDENTS_PATH + "/" + encodeURIComponent(id) + suffix;
}

// incidentHash returns the page of incident id.
export function incidentHash(id) {
  return "#/incidents/" + encodeURIComponent(id);
}

// isSet reports whether iso is a time the API gave (it leaves unset ones
// out, or sends Go's zero time).
export function isSet(iso) {
  return typeof iso === "string" && iso !== "" && !iso.startsWith("0001-01-01");
}

// ageText shows a span of ms for people: "45s", "12m 05s", "3h 12m",
// "2d 4h".
export function ageText(ms) {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return s + "s";
  const m = Math.floor(s / 60);
  if (m < 60) return m + "m " + String(s % 60).padStart(2, "0") + "s";
  const hr = Math.floor(m / 60);
  if (hr < 24) return hr + "h " + String(m % 60).padStart(2, "0") + "m";
  return Math.floor(hr / 24) + "d " + (hr % 24) + "h";
}

// dueState says when the client's next update is due at now (ms): none
// without a nextUpdate; overdue once it has passed, or when the gateway
// says it is late.
export function dueState(inc, now) {
  if (!isSet(inc.nextUpdate)) return { due: false, overdue: inc.updateLate === true, text: inc.updateLate ? "overdue" : "—" };
  const next = Date.parse(inc.nextUpdate);
  const overdue = inc.updateLate === true || now >= next;
  return { due: true, overdue, text: overdue ? "overdue " + ageText(now - next) : "in " + ageText(next - now) };
}

const RANK = { critical: 0, warning: 1 };

// worstFirst orders incidents worst first (by their severity now), then
// oldest first.
export function worstFirst(a, b) {
  return (RANK[a.severity] ?? 2) - (RANK[b.severity] ?? 2) || String(a.opened).localeCompare(String(b.opened));
}

// newestResolvedFirst orders resolved incidents by when they resolved.
export function newestResolvedFirst(a, b) {
  return String(b.resolved ?? "").localeCompare(String(a.resolved ?? ""));
}

const AT_LEAST = { warning: ["warning", "critical"], critical: ["critical"] };

// matchesFilter reports whether inc passes the panel's filter: severity
// (at least, by peak, as the list API filters), client (exactly) and q
// (text in its ID, title, path, value, rule, client or assignee).
export function matchesFilter(inc, { severity: sev = "", client = "", q = "" } = {}) {
  if (sev && AT_LEAST[sev] && !AT_LEAST[sev].includes(inc.peak || inc.severity)) return false;
  if (client && inc.client !== client) return false;
  const text = q.trim().toLowerCase();
  if (text === "") return true;
  return [inc.id, inc.title, inc.path, inc.value, inc.rule, inc.client, inc.assignee, inc.entity]
    .some((v) => typeof v === "string" && v.toLowerCase().includes(text));
}

// entityText names an incident's entity for people: "probe › entity", or
// "" for an incident about none.
export function entityText(inc) {
  const parts = [inc.probe, inc.entity].filter((p) => typeof p === "string" && p !== "");
  if (parts.length > 0) return parts.join(" › ");
  return typeof inc.path === "string" && inc.path !== "" ? inc.path.split("/").slice(0, 2).map(decodeSegment).join(" › ") : "";
}

// dataviewOf returns the dataview path of a cell's (or a dataview's) path,
// or "" when path names none.
export function dataviewOf(path) {
  const segs = typeof path === "string" ? path.split("/") : [];
  return segs.length >= 4 ? segs.slice(0, 4).join("/") : "";
}

// isCellPath reports whether path names a cell (six segments), whose
// history can be charted.
export function isCellPath(path) {
  return typeof path === "string" && path.split("/").length === 6;
}

// snoozeText says how an incident is snoozed: "until …, or a severity
// change, by olu: patching".
export function snoozeText(s) {
  if (!s) return "";
  const change = s.untilChange ? ", or a severity change" : "";
  return "until " + formatWhen(s.until) + change + ", by " + (s.by || "?") + ": " + (s.reason || "");
}

// ACTIONS are the commands on an incident, with their buttons' words.
export const ACTIONS = {
  ack: "Acknowledge",
  unack: "Unacknowledge",
  comment: "Comment",
  assign: "Assign",
  snooze: "Snooze",
  unsnooze: "Unsnooze",
  impact: "Client impact",
  resolve: "Resolve",
  close: "Close",
};

// actionsFor lists the actions me may take on inc as it is now, in the
// order the buttons show.
export function actionsFor(me, inc) {
  const open = inc.state === "open";
  const closed = inc.state === "closed";
  const out = [];
  if (open && can(me, "acknowledge")) out.push(inc.ack ? "unack" : "ack");
  if (!closed && can(me, "comment")) out.push("comment");
  if (!closed && can(me, "assign")) out.push("assign");
  if (can(me, "snooze")) {
    if (inc.snooze) out.push("unsnooze");
    else if (open) out.push("snooze");
  }
  if (!closed && can(me, "record-client-update")) out.push("impact");
  if (can(me, "resolve-incidents")) {
    if (open) out.push("resolve");
    if (!closed) out.push("close");
  }
  return out;
}

// DURATION is Go's duration syntax, which the snooze's "for" takes.
const DURATION = /^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/;

// snoozeRequest returns the snooze body for what the form holds (mode
// "for" a duration, or "until" a local time), or throws saying what to fix.
export function snoozeRequest({ reason, mode, duration, until, untilChange }, now = Date.now()) {
  const body = { reason: String(reason ?? "").trim() };
  if (body.reason === "") throw new Error("Say why it is snoozed: the reason is shown to everyone.");
  if (mode === "until") {
    const t = new Date(String(until ?? ""));
    if (until === "" || Number.isNaN(t.getTime())) throw new Error("Give the time the snooze ends.");
    if (t.getTime() <= now) throw new Error("The snooze must end in the future.");
    body.until = t.toISOString().replace(/\.\d{3}Z$/, "Z");
  } else {
    const d = String(duration ?? "").trim();
    if (!DURATION.test(d)) throw new Error("Give how long, such as 30m, 2h or 1h30m.");
    body.for = d;
  }
  if (untilChange) body.untilChange = true;
  return body;
}

// raiseRequest returns the POST /api/v1/incidents body for a raise form:
// entity, if given, is {probe, entity} names.
export function raiseRequest({ title, text, severity: sev, entity, client, impact }) {
  const body = { title: String(title ?? "").trim(), text: String(text ?? "").trim() };
  if (body.title === "") throw new Error("Give the incident a title.");
  if (sev) body.severity = sev;
  if (entity) {
    body.probe = entity.probe;
    body.entity = entity.entity;
  }
  const c = String(client ?? "").trim();
  if (c) body.client = c;
  if (impact) {
    if (!c && !(entity && entity.client)) throw new Error("Name the client it impacts.");
    body.impact = true;
  }
  return body;
}

// entityChoices lists the tree's entities to raise an incident about,
// sorted by what they show: {path, probe, entity, client, label}.
export function entityChoices(tree) {
  const out = [];
  for (const p of tree.probes.values()) {
    for (const e of children(p)) {
      const attrs = e.attributes && typeof e.attributes === "object" ? e.attributes : {};
      out.push({ path: e.path, probe: p.name, entity: e.name, client: attrs.client || "", label: p.name + " › " + e.name });
    }
  }
  return out.sort((a, b) => a.label.localeCompare(b.label));
}

// entitySelect returns a select of choices (entityChoices), the first
// option none, and reads the chosen one back with .chosen().
export function entitySelect(doc, choices, none) {
  const el = h(doc, "select", { name: "entity" }, h(doc, "option", { value: "" }, none), choices.map((c) => h(doc, "option", { value: c.path }, c.label)));
  return { el, chosen: () => choices.find((c) => c.path === el.value) || null };
}

// severityLabel returns a severity's icon and word.
export function severityLabel(doc, s) {
  return h(doc, "span", { class: "sev-label", dataset: { severity: severity(s) } }, severityIcon(doc, s), " ", h(doc, "span", { class: "sev-word" }, severity(s)));
}

function textarea(doc, name, { required = false, rows = 3, value = "" } = {}) {
  const el = h(doc, "textarea", { name, rows, required });
  el.value = value;
  return el;
}

// formFor builds the dialog form of action on inc: its fields and the
// request it sends (or throws saying what to fix), per action.
function formFor(doc, action, inc, me) {
  switch (action) {
    case "comment": {
      const text = textarea(doc, "text", { required: true });
      return {
        fields: [field(doc, "Comment", text)],
        request: () => {
          if (text.value.trim() === "") throw new Error("Write the comment.");
          return ["/comments", { text: text.value.trim() }];
        },
      };
    }
    case "assign": {
      const to = h(doc, "input", { name: "to", type: "text", value: inc.assignee || "", autocomplete: "off", spellcheck: "false" });
      const mine = me && typeof me.user === "string" ? me.user : "";
      const quick = [];
      if (mine) quick.push(h(doc, "button", { type: "button", dataset: { action: "assign-me" }, onclick: () => (to.value = mine) }, "Me (" + mine + ")"));
      quick.push(h(doc, "button", { type: "button", dataset: { action: "assign-none" }, onclick: () => (to.value = "") }, "Nobody"));
      return {
        fields: [field(doc, "Assign to (a user name; empty unassigns)", to), h(doc, "div", { class: "form-actions" }, quick)],
        request: () => ["/assign", { to: to.value.trim() }],
      };
    }
    case "snooze": {
      const reason = h(doc, "input", { name: "reason", type: "text", required: true, autocomplete: "off" });
      const forIn = h(doc, "input", { name: "for", type: "text", value: "1h", autocomplete: "off", spellcheck: "false", size: 8 });
      const untilIn = h(doc, "input", { name: "until", type: "datetime-local" });
      const byFor = h(doc, "input", { type: "radio", name: "mode", value: "for", checked: true });
      const byUntil = h(doc, "input", { type: "radio", name: "mode", value: "until" });
      const change = h(doc, "input", { type: "checkbox", name: "untilChange" });
      // Typing an expiry chooses its kind.
      forIn.addEventListener("input", () => (byFor.checked = true));
      untilIn.addEventListener("input", () => (byUntil.checked = true));
      return {
        fields: [
          field(doc, "Reason", reason),
          h(doc, "fieldset", { class: "snooze-expiry" }, h(doc, "legend", {}, "Ends"),
            h(doc, "label", { class: "check" }, byFor, " after "), forIn,
            h(doc, "label", { class: "check" }, byUntil, " at "), untilIn,
            h(doc, "label", { class: "check" }, change, " or when its severity changes")),
        ],
        request: () => [
          "/snooze",
          snoozeRequest({ reason: reason.value, mode: byUntil.checked ? "until" : "for", duration: forIn.value, until: untilIn.value, untilChange: change.checked }),
        ],
      };
    }
    case "impact": {
      const impacted = h(doc, "input", { type: "checkbox", name: "impacted", checked: !!inc.impact });
      const description = textarea(doc, "description", { value: inc.impact ? inc.impact.description || "" : "" });
      return {
        fields: [h(doc, "label", { class: "check" }, impacted, " It impacts " + (inc.client || "the client")), field(doc, "How (optional)", description)],
        request: () => ["/impact", { impacted: impacted.checked, description: description.value.trim() }],
      };
    }
    case "resolve":
    case "close": {
      const comment = textarea(doc, "comment");
      return { fields: [field(doc, "Comment (optional)", comment)], request: () => ["/" + action, { comment: comment.value.trim() }] };
    }
    default:
      throw new Error("no form for " + action);
  }
}

const ONE_CLICK = { ack: "/ack", unack: "/unack", unsnooze: "/unsnooze" };

// runAction takes action on inc for whoever me is: at once for the
// one-click ones (button is busy meanwhile), else through a dialog opened
// over host. Once it is done, if the view that asked is still alive(), msg
// says what was done and after() runs; msg says why a one-click action was
// refused (a dialog shows its own errors).
export function runAction(host, { api, me, inc, action, button, msg, alive, after }) {
  const done = () => {
    if (!alive()) return;
    msg.ok(DONE[action] + " " + inc.id + ".");
    after();
  };
  if (ONE_CLICK[action]) {
    return busy(button, () => api.post(incidentPath(inc.id, ONE_CLICK[action]), {})).then(done, (err) => alive() && msg.error(err));
  }
  openDialog(host, { api, me, inc, action, done });
  return Promise.resolve();
}

// openDialog opens the modal form of action on inc over host; it closes
// when sent, cancelled or on Escape, giving focus back to what had it.
export function openDialog(host, { api, me, inc, action, done }) {
  const doc = host.ownerDocument;
  const back = doc.activeElement;
  const { fields, request } = formFor(doc, action, inc, me);
  const msg = messages(doc);
  const send = h(doc, "button", { type: "submit", class: "primary" }, ACTIONS[action]);
  const cancel = h(doc, "button", { type: "button", dataset: { action: "cancel" } }, "Cancel");
  const form = h(doc, "form", { class: "admin-form incident-form", novalidate: true, dataset: { form: action, incident: inc.id } },
    h(doc, "h3", {}, ACTIONS[action] + " " + inc.id), h(doc, "p", { class: "muted" }, inc.title || ""), fields, msg.els,
    h(doc, "div", { class: "form-actions" }, send, cancel));
  const dialog = h(doc, "dialog", { class: "incident-dialog", "aria-label": ACTIONS[action] + " " + inc.id }, form);
  const close = () => {
    if (dialog.open) dialog.close();
  };
  dialog.addEventListener("close", () => {
    dialog.remove();
    if (back && back.isConnected && typeof back.focus === "function") back.focus();
  });
  cancel.addEventListener("click", close);
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    msg.clear();
    let req;
    try {
      req = request();
    } catch (err) {
      msg.error(err);
      return;
    }
    busy([send, cancel], () => api.post(incidentPath(inc.id, req[0]), req[1])).then(
      (answer) => {
        close();
        done(answer);
      },
      (err) => msg.error(err),
    );
  });
  host.appendChild(dialog);
  dialog.showModal();
  const first = form.querySelector("textarea, input[type=text]");
  if (first) first.focus();
  return dialog;
}

// actionButtons returns the buttons of the actions me may take on inc;
// each carries data-action and says which incident it acts on.
export function actionButtons(doc, me, inc, onAction) {
  return actionsFor(me, inc).map((action) => {
    const b = h(doc, "button", { type: "button", class: action === "ack" ? "primary" : action === "close" ? "danger" : null, dataset: { action }, "aria-label": ACTIONS[action] + " " + inc.id }, ACTIONS[action]);
    b.addEventListener("click", () => onAction(action, b));
    return b;
  });
}

// DONE says what an action did, before the incident's ID.
export const DONE = {
  ack: "Acknowledged",
  unack: "Took back the acknowledgement of",
  comment: "Commented on",
  assign: "Changed the owner of",
  snooze: "Snoozed",
  unsnooze: "Ended the snooze of",
  impact: "Recorded the client impact of",
  resolve: "Resolved",
  close: "Closed",
};

// ageEl returns an element showing how long ago since was, which tick
// keeps current: prefix and suffix around the age.
export function ageEl(doc, since, now, prefix = "", suffix = "") {
  if (!isSet(since)) return doc.createTextNode("—");
  return h(doc, "span", { class: "age", title: formatWhen(since), dataset: { since, prefix, suffix } }, prefix + ageText(now - Date.parse(since)) + suffix);
}

// dueEl returns an element saying when inc's client update is due, which
// tick keeps current.
export function dueEl(doc, inc, now) {
  const d = dueState(inc, now);
  if (!d.due && !d.overdue) return doc.createTextNode("—");
  return h(doc, "span", { class: "due", title: formatWhen(inc.nextUpdate), dataset: { due: inc.nextUpdate || "", late: String(inc.updateLate === true), overdue: String(d.overdue) } }, d.text);
}

// tick brings the ages and client-update deadlines under root up to now
// (ms); an incident's row (data-incident) is marked overdue with its
// deadline.
export function tick(root, now) {
  for (const el of root.querySelectorAll("[data-since]")) {
    el.textContent = el.dataset.prefix + ageText(now - Date.parse(el.dataset.since)) + el.dataset.suffix;
  }
  for (const el of root.querySelectorAll("[data-due]")) {
    const d = dueState({ nextUpdate: el.dataset.due, updateLate: el.dataset.late === "true" }, now);
    el.textContent = d.text;
    el.dataset.overdue = String(d.overdue);
    const row = el.closest("[data-incident]");
    if (row) row.dataset.overdue = String(d.overdue);
  }
}

// INCIDENT_COLUMNS head the incident tables.
export const INCIDENT_COLUMNS = ["Severity", "Incident", "Age", "Acknowledged", "Owner", "Client", "Update due", "Snoozed", "Escalation"];

// incidentRow returns inc's row of an incident table at now (ms); with
// onAction, its last cell holds the buttons of the actions me may take,
// which call onAction(action, button, inc).
export function incidentRow(doc, inc, me, now, onAction) {
  const due = dueState(inc, now);
  const peak = inc.peak && inc.peak !== inc.severity ? h(doc, "span", { class: "muted peak" }, " peak " + inc.peak) : null;
  const entity = entityText(inc);
  const age = inc.state === "open" ? ageEl(doc, inc.opened, now) : isSet(inc.resolved) ? ageEl(doc, inc.resolved, now, inc.state + " ", " ago") : doc.createTextNode(inc.state);
  return h(
    doc,
    "tr",
    {
      dataset: {
        incident: inc.id,
        severity: severity(inc.severity),
        state: inc.state,
        acked: String(!!inc.ack),
        snoozed: String(!!inc.snooze),
        impacted: String(!!inc.impact),
        overdue: String(due.overdue),
      },
    },
    h(doc, "td", { class: "sev" }, severityLabel(doc, inc.severity), peak),
    h(doc, "th", { scope: "row", class: "wrap" },
      h(doc, "a", { href: incidentHash(inc.id), class: "incident-id" }, inc.id),
      h(doc, "div", { class: "incident-title" }, inc.title || ""),
      entity ? h(doc, "div", { class: "muted" }, entity) : null),
    h(doc, "td", { dataset: { col: "age" } }, age),
    h(doc, "td", { dataset: { col: "ack" } }, inc.ack ? [inc.ack.by + " ", timeCellShort(doc, inc.ack.at)] : inc.state === "open" ? h(doc, "span", { class: "unacked" }, "no") : "—"),
    h(doc, "td", { dataset: { col: "owner" } }, inc.assignee || "—"),
    h(doc, "td", { dataset: { col: "client" } }, inc.client || "—", inc.impact ? [" ", h(doc, "span", { class: "badge impact", title: inc.impact.description || "" }, "impacted")] : null),
    h(doc, "td", { dataset: { col: "due" } }, dueEl(doc, inc, now)),
    h(doc, "td", { class: "wrap", dataset: { col: "snooze" } }, inc.snooze ? snoozeText(inc.snooze) : "—"),
    h(doc, "td", { dataset: { col: "escalation" } }, inc.escalation && inc.escalation.level ? "level " + inc.escalation.level : "—"),
    onAction ? h(doc, "td", { class: "actions" }, actionButtons(doc, me, inc, (action, b) => onAction(action, b, inc))) : null,
  );
}

// timeCellShort shows a time as formatWhen does, the date left out when
// it is today's.
function timeCellShort(doc, iso) {
  const text = formatWhen(iso);
  const today = formatWhen(new Date().toISOString()).slice(0, 10);
  return h(doc, "time", { datetime: iso, title: text }, text.startsWith(today) ? text.slice(11) : text);
}
