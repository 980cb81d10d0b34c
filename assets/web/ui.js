// Small builders for the pages that are forms and tables rather than live
// grids (the administration views, the password form): elements, message
// lines, busy buttons and times. Like every component they draw into what
// they are given and look nothing up by id.

import { ApiError } from "./session.js";

// h returns a new element of doc: props are attributes (true for an empty
// one; false, null and undefined for none), except "class", "dataset" (an
// object) and "on<event>" (a listener); children are nodes or text, nested
// arrays flattened and null skipped.
export function h(doc, tag, props = {}, ...children) {
  const el = doc.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") el.className = v;
    else if (k === "dataset") Object.assign(el.dataset, v);
    else if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  el.append(...children.flat(Infinity).filter((c) => c !== null && c !== undefined && c !== false));
  return el;
}

// errorText is what to show for a failed request or a refused input.
export function errorText(err) {
  if (err instanceof ApiError) return err.message;
  if (err instanceof Error) return err.message;
  return String(err);
}

// messages returns the two message lines of a form or page, in els:
// error(text) says what failed (role=alert, data-message="error"),
// ok(text) what was done (role=status, data-message="ok"); each clears
// the other, and an empty line takes no room.
export function messages(doc) {
  const errorEl = h(doc, "p", { class: "notice form-message", role: "alert", dataset: { kind: "error", message: "error" } });
  const okEl = h(doc, "p", { class: "notice form-message", role: "status", dataset: { kind: "ok", message: "ok" } });
  return {
    els: [errorEl, okEl],
    error(err) {
      okEl.textContent = "";
      errorEl.textContent = typeof err === "string" ? err : errorText(err);
    },
    ok(text) {
      errorEl.textContent = "";
      okEl.textContent = text;
    },
    clear() {
      errorEl.textContent = "";
      okEl.textContent = "";
    },
  };
}

// busy disables buttons while the promise work() returns is pending, so a
// request is not sent twice, and returns that promise.
export async function busy(buttons, work) {
  const list = [].concat(buttons);
  for (const b of list) {
    b.disabled = true;
    b.setAttribute("aria-busy", "true");
  }
  try {
    return await work();
  } finally {
    for (const b of list) {
      b.disabled = false;
      b.removeAttribute("aria-busy");
    }
  }
}

function pad(n) {
  return String(n).padStart(2, "0");
}

// formatWhen shows an RFC 3339 time as local "YYYY-MM-DD HH:MM:SS", or
// none when there is no time.
export function formatWhen(iso, none = "—") {
  if (typeof iso !== "string" || iso === "" || iso.startsWith("0001-01-01")) return none;
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return (
    d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate()) + " " +
    pad(d.getHours()) + ":" + pad(d.getMinutes()) + ":" + pad(d.getSeconds())
  );
}

// timeCell returns a <time> showing iso (as formatWhen does) with the
// exact UTC time as its datetime and tooltip.
export function timeCell(doc, iso, none = "—") {
  const text = formatWhen(iso, none);
  if (text === none) return doc.createTextNode(none);
  return h(doc, "time", { datetime: iso, title: iso }, text);
}

// tableHead returns a table head of columns, and of an actions column
// named for screen readers only if actions.
export function tableHead(doc, columns, { actions = false } = {}) {
  const cells = columns.map((c) => h(doc, "th", { scope: "col" }, c));
  if (actions) cells.push(h(doc, "th", { scope: "col" }, h(doc, "span", { class: "visually-hidden" }, "Actions")));
  return h(doc, "thead", {}, h(doc, "tr", {}, cells));
}

let hints = 0;

// field returns a control with its label around it (so no fixed ids tie
// them) and, if given, a hint under it that the control is described by.
export function field(doc, text, control, hint = "") {
  const label = h(doc, "label", { class: "field-label" }, h(doc, "span", {}, text), control);
  if (!hint) return h(doc, "div", { class: "field" }, label);
  const id = "wf-hint-" + ++hints;
  control.setAttribute("aria-describedby", id);
  return h(doc, "div", { class: "field" }, label, h(doc, "span", { class: "field-hint", id }, hint));
}
