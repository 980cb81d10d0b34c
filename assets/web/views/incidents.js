// The incident panel ("#/incidents"): the open incidents, worst and oldest
// first, and the recently resolved ones, live from the "incidents" topic,
// with the actions the viewer's role allows on each; a search of older and
// closed ones through the list API; raising an incident; and, as its
// second tab ("#/incidents?view=handover"), the shift handover. One
// incident's page is incident-page.js.

import { INCIDENTS_TOPIC } from "../incidents-model.js";
import { can } from "../session.js";
import { TREE_TOPIC } from "../tree-model.js";
import { busy, field, h, messages, tableHead } from "../ui.js";
import {
  entityChoices,
  entitySelect,
  INCIDENT_COLUMNS,
  incidentRow,
  INCIDENTS_PATH,
  matchesFilter,
  newestResolvedFirst,
  raiseRequest,
  runAction,
  tick,
  worstFirst,
} from "./incident-common.js";
import { mountHandover } from "./incident-handover.js";

export { incidentView } from "./incident-page.js";

// STATES are the panel's state filter: the first two are live from the
// topic, the others searches of the list API.
export const STATES = [
  ["live", "Open and recently resolved"],
  ["open", "Open"],
  ["resolved", "Resolved"],
  ["closed", "Closed"],
  ["all", "Any state"],
];

const SEVERITIES = [
  ["", "Any severity"],
  ["warning", "Warning or worse"],
  ["critical", "Critical"],
];

// SEARCH_LIMIT is a search's page.
const SEARCH_LIMIT = 100;

// panelFilter reads the filter from the route's query (a link may carry
// one: "#/incidents?client=acme&severity=critical").
export function panelFilter(params) {
  return {
    state: STATES.some(([v]) => v === params.state) ? params.state : "live",
    severity: params.severity === "warning" || params.severity === "critical" ? params.severity : "",
    client: typeof params.client === "string" ? params.client : "",
    q: typeof params.q === "string" ? params.q : "",
  };
}

// searchURL returns the list API's request for a filter that searches.
export function searchURL(filter, cursor = "") {
  const q = new URLSearchParams();
  if (filter.state !== "all") q.set("state", filter.state);
  if (filter.severity) q.set("severity", filter.severity);
  if (filter.client.trim()) q.set("client", filter.client.trim());
  if (filter.q.trim()) q.set("q", filter.q.trim());
  q.set("limit", String(SEARCH_LIMIT));
  if (cursor) q.set("cursor", cursor);
  return INCIDENTS_PATH + "?" + q.toString();
}

function tabs(doc, current) {
  const tab = (href, text, name) => h(doc, "a", { href, class: "tab", "aria-current": current === name ? "page" : null }, text);
  return h(doc, "nav", { class: "incident-tabs", "aria-label": "Incident views" }, tab("#/incidents", "Incidents", "panel"), tab("#/incidents?view=handover", "Shift handover", "handover"));
}

function select(doc, name, options, value) {
  const el = h(doc, "select", { name }, options.map(([v, text]) => h(doc, "option", { value: v }, text)));
  el.value = value;
  return el;
}

let lists = 0;

// section is a titled incident table whose rows are kept by incident, so
// a change redraws only the rows of the incidents that changed.
function section(doc, title, kind, empty) {
  const heading = h(doc, "h3", {}, title);
  const tbody = h(doc, "tbody");
  const table = h(doc, "table", { class: "admin-table incident-table" }, tableHead(doc, INCIDENT_COLUMNS, { actions: true }), tbody);
  const none = h(doc, "p", { class: "placeholder" }, empty);
  const el = h(doc, "section", { class: "incident-section", dataset: { section: kind } }, heading, none, table);
  return { el, heading, tbody, table, none, title, rows: new Map() };
}

// place shows incs in sec, in order: a row is rebuilt only when its
// incident (the model's object) or the viewer changed, and focus in a
// rebuilt row goes to the same button in the new one.
function place(sec, incs, build) {
  const doc = sec.el.ownerDocument;
  const seen = new Set();
  incs.forEach((inc, i) => {
    seen.add(inc.id);
    let entry = sec.rows.get(inc.id);
    if (!entry || entry.inc !== inc || entry.stale) {
      const row = build(inc);
      if (entry) {
        const focused = entry.row.contains(doc.activeElement) ? doc.activeElement.dataset.action : "";
        entry.row.replaceWith(row);
        const again = focused && row.querySelector(`button[data-action="${focused}"]`);
        if (again) again.focus();
      }
      entry = { inc, row, stale: false };
      sec.rows.set(inc.id, entry);
    }
    if (sec.tbody.children[i] !== entry.row) sec.tbody.insertBefore(entry.row, sec.tbody.children[i] || null);
  });
  for (const [id, entry] of sec.rows) {
    if (seen.has(id)) continue;
    entry.row.remove();
    sec.rows.delete(id);
  }
  sec.heading.textContent = sec.title + " (" + incs.length + ")";
  sec.none.hidden = incs.length > 0;
  sec.table.hidden = incs.length === 0;
}

function mountPanel(root, params, { store, api, me: mePromise }) {
  const doc = root.ownerDocument;
  let alive = true;
  let me = null;
  let model = null;
  let searchTimer = 0;
  let searchGen = 0;
  const filter = panelFilter(params);

  const msg = messages(doc);
  const heading = h(doc, "h2", { tabindex: -1 }, "Incidents");
  const clientsId = "wf-clients-" + ++lists;
  const clientList = h(doc, "datalist", { id: clientsId });
  const stateIn = select(doc, "state", STATES, filter.state);
  const sevIn = select(doc, "severity", SEVERITIES, filter.severity);
  const clientIn = h(doc, "input", { name: "client", type: "text", list: clientsId, value: filter.client, autocomplete: "off", spellcheck: "false", size: 12 });
  const qIn = h(doc, "input", { name: "q", type: "search", value: filter.q, placeholder: "ID, title, cell, rule, owner…", autocomplete: "off", spellcheck: "false" });
  const filters = h(doc, "form", { class: "incident-filters", role: "search", dataset: { form: "filter" } },
    field(doc, "State", stateIn), field(doc, "Severity", sevIn), field(doc, "Client", clientIn), field(doc, "Text", qIn), clientList);
  const raiseButton = h(doc, "button", { type: "button", class: "primary", dataset: { action: "raise" }, hidden: true }, "Raise an incident");
  const status = h(doc, "p", { class: "muted incident-status" }, "Loading…");

  const openSec = section(doc, "Open", "open", "No open incidents.");
  const resolvedSec = section(doc, "Recently resolved", "resolved", "None resolved recently.");
  const found = section(doc, "Found", "search", "No incidents match.");
  const more = h(doc, "button", { type: "button", dataset: { action: "more" }, hidden: true }, "More");
  found.el.append(more);
  const panel = h(doc, "div", { class: "incidents-view" },
    h(doc, "div", { class: "incident-head" }, heading, tabs(doc, "panel"), raiseButton), filters, ...msg.els, status, openSec.el, resolvedSec.el, found.el);
  root.append(panel);

  const onAction = (action, button, inc) =>
    runAction(panel, { api, me, inc, action, button, msg, alive: () => alive, after: () => searching() && search() });
  const build = (inc) => incidentRow(doc, inc, me, Date.now(), onAction);

  const searching = () => filter.state !== "live" && filter.state !== "open";

  function drawLive() {
    if (!model || searching()) return;
    if (model.state !== "live") {
      status.textContent = model.error ? "The gateway refused the incidents: " + model.error : "Loading…";
      status.hidden = false;
      return;
    }
    status.hidden = true;
    const all = [...model.incidents.values()];
    const clients = [...new Set(all.map((i) => i.client).filter((c) => typeof c === "string" && c !== ""))].sort();
    clientList.replaceChildren(...clients.map((c) => h(doc, "option", { value: c })));
    const shown = all.filter((inc) => matchesFilter(inc, filter));
    place(openSec, shown.filter((i) => i.state === "open").sort(worstFirst), build);
    place(resolvedSec, filter.state === "live" ? shown.filter((i) => i.state !== "open").sort(newestResolvedFirst) : [], build);
  }

  // search asks the list API for the filter's incidents; a later search
  // supersedes one still pending. With cursor it adds the next page.
  function search(cursor = "") {
    const gen = ++searchGen;
    status.textContent = "Searching…";
    status.hidden = false;
    const previous = cursor ? [...found.rows.values()].map((e) => e.inc) : [];
    api.get(searchURL(filter, cursor)).then(
      (answer) => {
        if (!alive || gen !== searchGen) return;
        status.hidden = true;
        const list = answer && Array.isArray(answer.incidents) ? answer.incidents : [];
        place(found, [...previous, ...list], build);
        more.hidden = !(answer && answer.next);
        more.onclick = () => search(answer.next);
      },
      (err) => {
        if (!alive || gen !== searchGen) return;
        status.hidden = true;
        msg.error(err);
      },
    );
  }

  function showMode() {
    const s = searching();
    openSec.el.hidden = s;
    resolvedSec.el.hidden = s || filter.state !== "live";
    found.el.hidden = !s;
    if (s) search();
    else drawLive();
  }

  const readFilter = (debounce) => {
    Object.assign(filter, { state: stateIn.value, severity: sevIn.value, client: clientIn.value.trim(), q: qIn.value });
    clearTimeout(searchTimer);
    if (debounce && searching()) searchTimer = setTimeout(showMode, 300);
    else showMode();
  };
  stateIn.addEventListener("change", () => readFilter(false));
  sevIn.addEventListener("change", () => readFilter(false));
  clientIn.addEventListener("input", () => readFilter(true));
  qIn.addEventListener("input", () => readFilter(true));
  filters.addEventListener("submit", (e) => {
    e.preventDefault();
    readFilter(false);
  });

  raiseButton.addEventListener("click", () =>
    openRaise(panel, {
      store,
      api,
      done: (inc) => {
        if (!alive) return;
        msg.ok("Raised " + inc.id + ".");
      },
    }),
  );

  const unsubscribe = store.subscribe(INCIDENTS_TOPIC, (m) => {
    model = m;
    if (alive) drawLive();
  });
  Promise.resolve(mePromise).then((m) => {
    if (!alive) return;
    me = m || null;
    raiseButton.hidden = !can(me, "raise-incident");
    for (const sec of [openSec, resolvedSec, found]) for (const entry of sec.rows.values()) entry.stale = true;
    showMode();
  });
  showMode();
  const timer = setInterval(() => tick(panel, Date.now()), 1000);

  return {
    title: "Incidents",
    unmount() {
      alive = false;
      clearInterval(timer);
      clearTimeout(searchTimer);
      unsubscribe();
      for (const d of panel.querySelectorAll("dialog")) d.close();
    },
  };
}

// openRaise opens the form that raises an incident, over host: about an
// entity of the tree (or none), for a client (or none).
function openRaise(host, { store, api, done }) {
  const doc = host.ownerDocument;
  const back = doc.activeElement;
  const msg = messages(doc);
  const title = h(doc, "input", { name: "title", type: "text", required: true, autocomplete: "off" });
  const text = h(doc, "textarea", { name: "text", rows: 4 });
  const sev = select(doc, "severity", [["warning", "warning"], ["critical", "critical"]], "warning");
  const client = h(doc, "input", { name: "client", type: "text", autocomplete: "off", spellcheck: "false" });
  const impact = h(doc, "input", { type: "checkbox", name: "impact" });
  let entity = entitySelect(doc, [], "None in particular");
  const entityField = h(doc, "div", { class: "field" }, h(doc, "label", { class: "field-label" }, h(doc, "span", {}, "Entity (optional)"), entity.el));
  const send = h(doc, "button", { type: "submit", class: "primary" }, "Raise");
  const cancel = h(doc, "button", { type: "button", dataset: { action: "cancel" } }, "Cancel");
  const form = h(doc, "form", { class: "admin-form incident-form", novalidate: true, dataset: { form: "raise" } },
    h(doc, "h3", {}, "Raise an incident"),
    h(doc, "div", { class: "fields stacked" }, field(doc, "Title", title), field(doc, "What is wrong", text), field(doc, "Severity", sev), entityField,
      field(doc, "Client (optional)", client, "Left empty, the entity's client."), h(doc, "label", { class: "check" }, impact, " It impacts the client: updates fall due at once")),
    msg.els, h(doc, "div", { class: "form-actions" }, send, cancel));
  const dialog = h(doc, "dialog", { class: "incident-dialog", "aria-label": "Raise an incident" }, form);
  const unsubscribe = store.subscribe(TREE_TOPIC, (tree) => {
    if (tree.state !== "live" || entity.el.value !== "") return;
    const fresh = entitySelect(doc, entityChoices(tree), "None in particular");
    entity.el.replaceWith(fresh.el);
    entity = fresh;
  });
  dialog.addEventListener("close", () => {
    unsubscribe();
    dialog.remove();
    if (back && back.isConnected) back.focus();
  });
  cancel.addEventListener("click", () => dialog.close());
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    msg.clear();
    let body;
    try {
      body = raiseRequest({ title: title.value, text: text.value, severity: sev.value, entity: entity.chosen(), client: client.value, impact: impact.checked });
    } catch (err) {
      msg.error(err);
      return;
    }
    busy([send, cancel], () => api.post(INCIDENTS_PATH, body)).then(
      (inc) => {
        dialog.close();
        done(inc);
      },
      (err) => msg.error(err),
    );
  });
  host.appendChild(dialog);
  dialog.showModal();
  title.focus();
}

export const incidentsView = {
  mount(root, params, context) {
    if (params.view === "handover") return mountHandover(root, context, tabs(root.ownerDocument, "handover"));
    return mountPanel(root, params, context);
  },
};
