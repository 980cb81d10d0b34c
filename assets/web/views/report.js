// "Report a problem" ("#/report"): the form a client's own people (a
// scoped viewer holding raise-incident) use to tell the support desk that
// something is wrong — a title, what happened, how bad, and which of its
// entities (the tree topic holds only the client's) — and, under it, the
// client's incidents, live from the incidents topic, which is scoped the
// same way. A filed problem is an incident like any other: the answer
// names its ID, and its page follows it.

import { INCIDENTS_TOPIC } from "../incidents-model.js";
import { can } from "../session.js";
import { TREE_TOPIC } from "../tree-model.js";
import { busy, field, h, messages, tableHead } from "../ui.js";
import {
  entityChoices,
  entitySelect,
  INCIDENT_COLUMNS,
  incidentHash,
  incidentRow,
  INCIDENTS_PATH,
  newestResolvedFirst,
  raiseRequest,
  tick,
  worstFirst,
} from "./incident-common.js";

// HOW_BAD are the severities a client chooses from, in its words.
export const HOW_BAD = [
  ["warning", "Degraded: slow, or some things fail"],
  ["critical", "Down: we cannot work"],
];

// ownIncidents returns the incidents to list under the form: the open ones
// worst and oldest first, then those resolved, newest first.
export function ownIncidents(model) {
  const all = [...model.incidents.values()];
  return [...all.filter((i) => i.state === "open").sort(worstFirst), ...all.filter((i) => i.state !== "open").sort(newestResolvedFirst)];
}

export const reportView = {
  mount(root, _params, { store, api, me: mePromise }) {
    const doc = root.ownerDocument;
    let alive = true;

    const msg = messages(doc);
    const title = h(doc, "input", { name: "title", type: "text", required: true, autocomplete: "off", placeholder: "Orders to LSE are rejected" });
    const text = h(doc, "textarea", { name: "text", rows: 5 });
    const sevs = HOW_BAD.map(([value, words], i) =>
      h(doc, "label", { class: "check" }, h(doc, "input", { type: "radio", name: "severity", value, checked: i === 0 }), " " + words));
    let entity = entitySelect(doc, [], "None in particular, or I don't know");
    const entityLabel = h(doc, "label", { class: "field-label" }, h(doc, "span", {}, "Which system"), entity.el);
    const send = h(doc, "button", { type: "submit", class: "primary" }, "Report the problem");
    const filed = h(doc, "div", { class: "notice filed", role: "status", dataset: { kind: "ok" }, hidden: true });
    const form = h(doc, "form", { class: "admin-form report-form", novalidate: true, dataset: { form: "report-problem" }, hidden: true },
      h(doc, "div", { class: "fields stacked" },
        field(doc, "Title", title),
        field(doc, "What happened", text, "What you saw, since when, what you were doing."),
        h(doc, "fieldset", { class: "how-bad" }, h(doc, "legend", {}, "How bad"), sevs),
        h(doc, "div", { class: "field" }, entityLabel)),
      msg.els, h(doc, "div", { class: "form-actions" }, send));
    const refused = h(doc, "p", { class: "notice", dataset: { kind: "warning" }, hidden: true }, "Reporting a problem needs the raise-incident permission, which your roles do not grant.");

    const listHead = h(doc, "h3", {}, "Your incidents");
    const tbody = h(doc, "tbody");
    const table = h(doc, "table", { class: "admin-table incident-table" }, tableHead(doc, INCIDENT_COLUMNS, { actions: false }), tbody);
    const none = h(doc, "p", { class: "placeholder" }, "Loading…");
    root.append(h(doc, "div", { class: "incidents-view report-view" }, h(doc, "h2", { tabindex: -1 }, "Report a problem"),
      h(doc, "p", { class: "intro" }, "Tell the support desk what is wrong. It becomes an incident they see at once; follow it below."),
      refused, filed, form, h(doc, "section", { class: "incident-section", dataset: { section: "own" } }, listHead, none, table)));

    form.addEventListener("submit", (e) => {
      e.preventDefault();
      msg.clear();
      let body;
      try {
        const checked = form.querySelector('input[name="severity"]:checked');
        body = raiseRequest({ title: title.value, text: text.value, severity: checked ? checked.value : "", entity: entity.chosen() });
      } catch (err) {
        msg.error(err);
        return;
      }
      busy(send, () => api.post(INCIDENTS_PATH, body)).then(
        (inc) => {
          if (!alive) return;
          form.reset();
          filed.replaceChildren("Reported as ", h(doc, "strong", { dataset: { incidentId: inc.id } }, inc.id), ". The desk sees it now. ", h(doc, "a", { href: incidentHash(inc.id) }, "Follow it"), ".");
          filed.hidden = false;
        },
        (err) => alive && msg.error(err),
      );
    });

    const unsubTree = store.subscribe(TREE_TOPIC, (tree) => {
      if (tree.state !== "live" || entity.el.value !== "") return;
      const fresh = entitySelect(doc, entityChoices(tree), "None in particular, or I don't know");
      entity.el.replaceWith(fresh.el);
      entity = fresh;
    });
    const unsubIncidents = store.subscribe(INCIDENTS_TOPIC, (model) => {
      if (!alive || model.state !== "live") return;
      const list = ownIncidents(model);
      const now = Date.now();
      tbody.replaceChildren(...list.map((inc) => incidentRow(doc, inc, null, now, null)));
      listHead.textContent = "Your incidents (" + list.length + ")";
      none.textContent = "None: nothing reported, and nothing wrong with your systems.";
      none.hidden = list.length > 0;
      table.hidden = list.length === 0;
    });
    Promise.resolve(mePromise).then((me) => {
      if (!alive) return;
      form.hidden = !can(me, "raise-incident");
      refused.hidden = !form.hidden;
    });
    const timer = setInterval(() => tick(root, Date.now()), 1000);

    return {
      title: "Report a problem",
      unmount() {
        alive = false;
        clearInterval(timer);
        unsubTree();
        unsubIncidents();
      },
    };
  },
};
