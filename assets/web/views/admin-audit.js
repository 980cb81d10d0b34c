// The audit view ("#/admin/audit?who=…&action=…", for read-audit): who did
// what to what, newest first, filtered by the hash's query so that a
// filtered trail can be linked to, with older entries a page at a time.

import { busy, field, h, messages, tableHead, timeCell } from "../ui.js";

export const AUDIT_PATH = "/api/v1/audit";
export const PAGE_SIZE = 100;

// FILTERS are the hash parameters the view filters by; since and until
// are RFC 3339 times, as the API takes them.
export const FILTERS = ["who", "action", "target", "since", "until"];

// auditQuery returns the query string ("?…", or "" for none) asking for
// the entries filters allow, with limit and before (the previous page's
// next) if given.
export function auditQuery(filters, { limit = 0, before = "" } = {}) {
  const q = new URLSearchParams();
  for (const k of FILTERS) {
    const v = typeof filters[k] === "string" ? filters[k].trim() : "";
    if (v !== "") q.set(k, v);
  }
  if (limit > 0) q.set("limit", String(limit));
  if (before) q.set("before", String(before));
  const s = q.toString();
  return s ? "?" + s : "";
}

function pad(n) {
  return String(n).padStart(2, "0");
}

// localToISO turns a datetime-local input's value (local time) into an
// RFC 3339 UTC time; "" stays "".
export function localToISO(value) {
  if (!value) return "";
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) throw new Error("not a date and time: " + value);
  return d.toISOString().replace(/\.000Z$/, "Z");
}

// isoToLocal turns an RFC 3339 time into a datetime-local input's value in
// local time; "" (or what is not a time) becomes "".
export function isoToLocal(iso) {
  const d = iso ? new Date(iso) : null;
  if (!d || Number.isNaN(d.getTime())) return "";
  return d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate()) + "T" + pad(d.getHours()) + ":" + pad(d.getMinutes());
}

// resultOf shows whether an action succeeded by shape and word as well
// as colour.
function resultOf(doc, ok) {
  const shape = h(doc, "span", { "aria-hidden": "true" }, ok ? "✔ " : "✖ ");
  return h(doc, "span", { class: "result", dataset: { ok: String(ok) } }, shape, ok ? "done" : "failed");
}

export const auditView = {
  // mount shows the entries params filter; navigate(hash) is how a new
  // filter is applied (by default, by changing the location's hash, which
  // mounts the view again).
  mount(root, params, { api, navigate = (hash) => (root.ownerDocument.location.hash = hash) }) {
    const doc = root.ownerDocument;
    let alive = true;
    let next = "";

    const inputs = {
      who: h(doc, "input", { name: "who", type: "text", value: params.who || "", autocomplete: "off", spellcheck: "false" }),
      action: h(doc, "input", { name: "action", type: "text", value: params.action || "", autocomplete: "off", spellcheck: "false" }),
      target: h(doc, "input", { name: "target", type: "text", value: params.target || "", autocomplete: "off", spellcheck: "false" }),
      since: h(doc, "input", { name: "since", type: "datetime-local", value: isoToLocal(params.since) }),
      until: h(doc, "input", { name: "until", type: "datetime-local", value: isoToLocal(params.until) }),
    };
    const apply = h(doc, "button", { type: "submit", class: "primary" }, "Filter");
    const clear = h(doc, "button", { type: "button", dataset: { action: "clear-filters" } }, "Clear");
    const filterMsg = messages(doc);
    const form = h(
      doc,
      "form",
      { class: "admin-form filters", dataset: { form: "audit-filter" }, role: "search", "aria-label": "Filter the audit trail" },
      h(
        doc,
        "div",
        { class: "fields" },
        field(doc, "Who", inputs.who),
        field(doc, "Action", inputs.action),
        field(doc, "Target", inputs.target),
        field(doc, "Since", inputs.since),
        field(doc, "Until", inputs.until),
      ),
      filterMsg.els,
      h(doc, "div", { class: "form-actions" }, apply, clear),
    );
    const listMsg = messages(doc);
    const tbody = h(doc, "tbody");
    const table = h(
      doc,
      "table",
      { class: "admin-table audit", hidden: true, dataset: { list: "audit" } },
      tableHead(doc, ["Time", "Who", "From", "Action", "Target", "Result", "Detail"]),
      tbody,
    );
    const status = h(doc, "p", { class: "placeholder", role: "status" }, "Loading…");
    const older = h(doc, "button", { type: "button", hidden: true, dataset: { action: "older" } }, "Older entries");
    root.append(h(doc, "h2", {}, "Audit trail"), form, ...listMsg.els, status, table, h(doc, "div", { class: "form-actions" }, older));

    form.addEventListener("submit", (e) => {
      e.preventDefault();
      const filters = {};
      try {
        for (const k of ["who", "action", "target"]) filters[k] = inputs[k].value;
        filters.since = localToISO(inputs.since.value);
        filters.until = localToISO(inputs.until.value);
      } catch (err) {
        filterMsg.error(err);
        return;
      }
      navigate("#/admin/audit" + auditQuery(filters));
    });
    clear.addEventListener("click", () => navigate("#/admin/audit"));

    const fetchPage = (before) =>
      api.get(AUDIT_PATH + auditQuery(params, { limit: PAGE_SIZE, before })).then(
        (page) => {
          if (!alive) return;
          const entries = page && Array.isArray(page.entries) ? page.entries : [];
          next = page && typeof page.next === "string" ? page.next : "";
          tbody.append(...entries.map(entryRow));
          const n = tbody.rows.length;
          table.hidden = n === 0;
          status.textContent = n === 0 ? "No entries match." : n + (n === 1 ? " entry" : " entries") + (next ? ", and older ones." : ".");
          older.hidden = next === "";
        },
        (err) => {
          if (!alive) return;
          status.textContent = "";
          listMsg.error(err);
        },
      );
    older.addEventListener("click", () => {
      const first = tbody.rows.length;
      busy(older, () => fetchPage(next)).then(() => {
        // Keep the keyboard where the new entries start.
        const row = tbody.rows[first];
        if (row) row.querySelector("th").focus();
        else if (older.hidden) status.focus();
      });
    });
    status.setAttribute("tabindex", "-1");

    function entryRow(e) {
      const ok = e.ok === true;
      const who = String(e.who ?? "");
      return h(
        doc,
        "tr",
        { dataset: { auditRow: "", ok: String(ok) } },
        h(doc, "th", { scope: "row", tabindex: -1 }, timeCell(doc, e.time)),
        h(doc, "td", {}, who, e.kind && e.kind !== "person" ? h(doc, "span", { class: "muted" }, " (" + e.kind + ")") : null),
        h(doc, "td", {}, String(e.source ?? "")),
        h(doc, "td", {}, String(e.action ?? "")),
        h(doc, "td", { class: "wrap" }, String(e.target ?? "")),
        h(doc, "td", {}, resultOf(doc, ok)),
        h(doc, "td", { class: "wrap" }, String(e.detail ?? "")),
      );
    }

    fetchPage("");
    return {
      title: "Audit trail",
      unmount() {
        alive = false;
      },
    };
  },
};
