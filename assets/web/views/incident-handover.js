// The shift handover ("#/incidents?view=handover"): what the shift coming
// on takes over (GET /api/v1/handover) — the open incidents, the client
// updates due during its shift, the acknowledged ones, those resolved
// since, the snoozes and which of them end during its shift, and the notes
// the outgoing shift left, with a form to leave one. It prints as it reads.

import { can } from "../session.js";
import { busy, field, formatWhen, h, messages, tableHead, timeCell } from "../ui.js";
import { INCIDENT_COLUMNS, incidentHash, incidentRow, isSet, tick, worstFirst } from "./incident-common.js";

export const HANDOVER_PATH = "/api/v1/handover";
export const NOTES_PATH = "/api/v1/handover/notes";

// SHIFTS are the lengths of the next shift to choose from.
const SHIFTS = ["4h", "6h", "8h", "10h", "12h", "24h"];

// handoverURL returns the handover's request: since a local time from a
// datetime-local input ("" for the gateway's default, 8 hours ago), for a
// next shift of shift.
export function handoverURL(since, shift) {
  const q = new URLSearchParams();
  if (since) {
    const t = new Date(since);
    if (Number.isNaN(t.getTime())) throw new Error("Give the time the outgoing shift started.");
    q.set("since", t.toISOString().replace(/\.\d{3}Z$/, "Z"));
  }
  if (shift) q.set("shift", shift);
  const s = q.toString();
  return HANDOVER_PATH + (s ? "?" + s : "");
}

function list(v) {
  return Array.isArray(v) ? v : [];
}

// incidentsPart is a titled table of incidents, or a line saying there
// are none.
function incidentsPart(doc, kind, title, incs, now, empty) {
  const body = incs.length === 0
    ? h(doc, "p", { class: "muted" }, empty)
    : h(doc, "table", { class: "admin-table incident-table" }, tableHead(doc, INCIDENT_COLUMNS, { actions: false }),
        h(doc, "tbody", {}, incs.map((inc) => incidentRow(doc, inc, null, now, null))));
  return h(doc, "section", { class: "handover-part", dataset: { part: kind, count: String(incs.length) } }, h(doc, "h3", {}, title + " (" + incs.length + ")"), body);
}

function snoozesPart(doc, snoozes) {
  const row = (s) => {
    const target = /^INC-/.test(s.target) ? h(doc, "a", { href: incidentHash(s.target) }, s.target) : h(doc, "span", { class: "mono" }, s.target);
    return h(doc, "tr", { dataset: { target: s.target, expiring: String(!!s.expiring) } },
      h(doc, "th", { scope: "row", class: "wrap" }, target), h(doc, "td", {}, s.by || ""), h(doc, "td", { class: "wrap" }, s.reason || ""),
      h(doc, "td", {}, timeCell(doc, s.until), s.untilChange ? " or a severity change" : ""), h(doc, "td", {}, s.expiring ? h(doc, "strong", {}, "ends this shift") : ""));
  };
  const body = snoozes.length === 0
    ? h(doc, "p", { class: "muted" }, "Nothing is snoozed.")
    : h(doc, "table", { class: "admin-table" }, tableHead(doc, ["Snoozed", "By", "Why", "Until", ""]), h(doc, "tbody", {}, snoozes.map(row)));
  return h(doc, "section", { class: "handover-part", dataset: { part: "snoozes", count: String(snoozes.length) } }, h(doc, "h3", {}, "Snoozes (" + snoozes.length + ")"), body);
}

function notesPart(doc, notes) {
  const body = notes.length === 0
    ? h(doc, "p", { class: "muted" }, "No notes were left.")
    : h(doc, "ul", { class: "handover-notes" }, notes.map((n) => h(doc, "li", { dataset: { note: "" } }, h(doc, "div", { class: "muted" }, timeCell(doc, n.time), " · " + (n.who || "")), h(doc, "p", {}, n.text || ""))));
  return h(doc, "section", { class: "handover-part", dataset: { part: "notes", count: String(notes.length) } }, h(doc, "h3", {}, "Notes from the outgoing shift (" + notes.length + ")"), body);
}

// mountHandover draws the handover into root under tabs, and returns the
// view's handle.
export function mountHandover(root, { api, me: mePromise }, tabs) {
  const doc = root.ownerDocument;
  let alive = true;
  const msg = messages(doc);
  const sinceIn = h(doc, "input", { name: "since", type: "datetime-local" });
  const shiftIn = h(doc, "select", { name: "shift" }, SHIFTS.map((s) => h(doc, "option", { value: s }, s)));
  shiftIn.value = "8h";
  const show = h(doc, "button", { type: "submit" }, "Show");
  const print = h(doc, "button", { type: "button", dataset: { action: "print" } }, "Print");
  const form = h(doc, "form", { class: "incident-filters", dataset: { form: "handover" } },
    field(doc, "Since", sinceIn, "Empty: 8 hours ago."), field(doc, "Next shift", shiftIn), h(doc, "div", { class: "form-actions" }, show, print));
  const span = h(doc, "p", { class: "muted handover-span" });
  const report = h(doc, "div", { class: "handover", dataset: { state: "loading" } }, h(doc, "p", { class: "placeholder" }, "Loading…"));

  const noteMsg = messages(doc);
  const noteText = h(doc, "textarea", { name: "text", rows: 3, required: true });
  const noteSend = h(doc, "button", { type: "submit", class: "primary" }, "Leave the note");
  const noteForm = h(doc, "form", { class: "admin-form handover-note", novalidate: true, hidden: true, dataset: { form: "handover-note" } },
    h(doc, "h3", {}, "A note for the next shift"), field(doc, "Note", noteText), noteMsg.els, h(doc, "div", { class: "form-actions" }, noteSend));

  root.append(h(doc, "div", { class: "incidents-view handover-view" },
    h(doc, "div", { class: "incident-head" }, h(doc, "h2", { tabindex: -1 }, "Shift handover"), tabs), form, ...msg.els, span, report, noteForm));

  const load = () => {
    let url;
    try {
      url = handoverURL(sinceIn.value, shiftIn.value);
    } catch (err) {
      msg.error(err);
      return Promise.resolve();
    }
    msg.clear();
    return busy(show, () => api.get(url)).then(
      (ho) => alive && draw(ho || {}),
      (err) => {
        if (!alive) return;
        report.dataset.state = "error";
        report.replaceChildren();
        msg.error(err);
      },
    );
  };

  function draw(ho) {
    const now = Date.now();
    span.textContent = "From " + formatWhen(ho.since) + " to " + formatWhen(ho.now) + "; the next shift ends " + formatWhen(ho.nextShiftEnds) + ".";
    const resolved = incidentsPart(doc, "resolved", "Resolved since", list(ho.resolved), now, "None was resolved.");
    if (ho.moreResolved) {
      resolved.append(h(doc, "p", { class: "notice", dataset: { kind: "warning" } }, "More were resolved than a handover lists: ", h(doc, "a", { href: "#/incidents?state=resolved" }, "search them"), "."));
    }
    report.replaceChildren(
      notesPart(doc, list(ho.notes)),
      incidentsPart(doc, "open", "Open", list(ho.open).sort(worstFirst), now, "No incident is open."),
      incidentsPart(doc, "updates-due", "Client updates due during the next shift", list(ho.clientUpdatesDue).sort((a, b) => String(a.nextUpdate).localeCompare(String(b.nextUpdate))), now, "No client update falls due."),
      incidentsPart(doc, "acknowledged", "Acknowledged", list(ho.acknowledged).sort(worstFirst), now, "None is acknowledged."),
      resolved,
      snoozesPart(doc, list(ho.snoozes)),
    );
    report.dataset.state = "drawn";
    report.dataset.since = isSet(ho.since) ? ho.since : "";
  }

  form.addEventListener("submit", (e) => {
    e.preventDefault();
    load();
  });
  print.addEventListener("click", () => doc.defaultView.print());
  noteForm.addEventListener("submit", (e) => {
    e.preventDefault();
    noteMsg.clear();
    const text = noteText.value.trim();
    if (text === "") {
      noteMsg.error("Write the note.");
      return;
    }
    busy(noteSend, () => api.post(NOTES_PATH, { text })).then(
      () => {
        if (!alive) return;
        noteText.value = "";
        noteMsg.ok("Left the note for the next shift.");
        load();
      },
      (err) => alive && noteMsg.error(err),
    );
  });
  Promise.resolve(mePromise).then((me) => {
    if (alive) noteForm.hidden = !can(me, "comment");
  });
  load();
  const timer = setInterval(() => tick(report, Date.now()), 1000);
  return {
    title: "Shift handover",
    unmount() {
      alive = false;
      clearInterval(timer);
    },
  };
}
