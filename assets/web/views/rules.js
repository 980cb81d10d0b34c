// The rules views: "#/rules", every rule in force with where it comes from
// and what it does, filtered by text, for engineers choosing what to
// change and for anyone asking why a cell is red; and "#/rules/<name>",
// one rule's editor (rule-editor.js), "#/rules/<name>?new=1" for a new
// one. A new rule is asked for by that query, not by a path segment, as a
// rule may be named "new".

import { editorHash, mountRuleEditor, sourceText } from "../rule-editor.js";
import { RulesApi } from "../rule-api.js";
import { can } from "../session.js";
import { field, h, messages, tableHead } from "../ui.js";

// kindOf returns what a rule's def judges, from the keys it sets (as
// rules/def.go tells the kinds apart).
export function kindOf(def) {
  if (!def || typeof def !== "object") return "";
  if (def.critical || def.warning || def.phases) return "cell";
  if (def.stale) return "staleness";
  if (Array.isArray(def.rows)) return "absence";
  if (def.probe_down !== undefined) return "probe";
  return "";
}

function levelText(sev, l) {
  if (!l) return "";
  let s = sev + " when " + l.when;
  if (l.for) s += " for " + l.for;
  if (l.clear) s += ", until " + l.clear;
  if (l.keep_firing_for) s += ", kept " + l.keep_firing_for;
  return s;
}

// levelsText summarises what severities a rule gives, and when.
export function levelsText(def) {
  if (!def) return "";
  switch (kindOf(def)) {
    case "cell": {
      const parts = [levelText("critical", def.critical), levelText("warning", def.warning)].filter((s) => s);
      if (def.phases) parts.push("other levels in " + Object.keys(def.phases).join(", "));
      return parts.join("; ");
    }
    case "staleness":
      return (def.severity || "critical") + " when not sampled for " + def.stale;
    case "absence":
      return (def.severity || "critical") + " when " + def.rows.join(", ") + " missing" + (def.for ? " for " + def.for : "");
    case "probe":
      return (def.severity || "critical") + " when down for " + def.probe_down;
  }
  return "";
}

// incidentText says whether and how a rule opens incidents.
export function incidentText(def) {
  const inc = def && def.incident;
  if (!inc) return "no";
  const parts = ["at " + (inc.open || "critical")];
  if (inc.impact) parts.push("client impact");
  if (inc.manual) parts.push("resolved by hand");
  return parts.join(", ");
}

// whereText shows a rule's attribute selectors: "region=emea|apac".
export function whereText(def) {
  const w = def && def.where;
  if (!w) return "";
  return Object.keys(w)
    .sort()
    .map((k) => k + "=" + [].concat(w[k]).join("|"))
    .join(", ");
}

// matchesFilter reports whether rule matches the filter text: every word
// of it is in the rule's name, description, match, where, levels or
// source, case aside.
export function matchesFilter(rule, text) {
  const words = String(text ?? "").toLowerCase().split(/\s+/).filter((w) => w !== "");
  if (words.length === 0) return true;
  const d = rule.def || {};
  const hay = [rule.name, d.description, d.match, whereText(d), levelsText(d), kindOf(d), rule.source, rule.updatedBy].join(" ").toLowerCase();
  return words.every((w) => hay.includes(w));
}

export const rulesView = {
  mount(root, params, { api, me }) {
    const doc = root.ownerDocument;
    const rapi = new RulesApi(api);
    let alive = true;
    let rules = [];

    const filter = h(doc, "input", { type: "search", name: "filter", placeholder: "name, pattern, condition…", autocomplete: "off", spellcheck: "false" });
    filter.value = params.q || "";
    const count = h(doc, "span", { class: "muted", role: "status", dataset: { count: "" } });
    const msg = messages(doc);
    const list = h(doc, "div", { class: "admin-list", dataset: { list: "rules" } }, h(doc, "p", { class: "placeholder" }, "Loading…"));
    const newBox = h(doc, "div", { class: "rule-new" });
    root.append(
      h(doc, "h2", {}, "Rules"),
      h(doc, "p", { class: "intro" }, "Every rule in force. The configuration file's are changed in the file (copy one to edit it here); the API's are edited here, and a save is in force at once."),
      h(doc, "div", { class: "fields rule-filter" }, field(doc, "Filter", filter), count),
      newBox,
      ...msg.els,
      list,
    );

    Promise.resolve(me)
      .catch(() => null)
      .then((m) => alive && can(m, "edit-rules") && drawNew());

    function drawNew() {
      const name = h(doc, "input", { name: "name", type: "text", required: true, autocomplete: "off", spellcheck: "false", pattern: "[A-Za-z0-9][A-Za-z0-9._\\-]*" });
      const go = h(doc, "button", { type: "submit", class: "primary" }, "New rule");
      const form = h(doc, "form", { class: "rule-new-form", dataset: { form: "new-rule" } }, field(doc, "New rule's name", name), go);
      form.addEventListener("submit", (e) => {
        e.preventDefault();
        const n = name.value.trim();
        if (n === "") {
          name.focus();
          return;
        }
        doc.defaultView.location.hash = editorHash(n, true);
      });
      newBox.replaceChildren(form);
    }

    function drawList() {
      const shown = rules.filter((r) => matchesFilter(r, filter.value));
      count.textContent = shown.length === rules.length ? rules.length + " rules" : shown.length + " of " + rules.length + " rules";
      if (rules.length === 0) {
        list.replaceChildren(h(doc, "p", { class: "placeholder" }, "No rules yet."));
        return;
      }
      const rows = shown.map((r) => {
        const d = r.def || {};
        return h(
          doc,
          "tr",
          { dataset: { rule: r.name, source: r.source, kind: kindOf(d) } },
          h(doc, "th", { scope: "row" }, h(doc, "a", { href: editorHash(r.name) }, r.name), d.description ? h(doc, "div", { class: "muted rule-desc" }, d.description) : null),
          h(doc, "td", {}, sourceText(r)),
          h(doc, "td", {}, kindOf(d)),
          h(doc, "td", { class: "wrap mono" }, d.match ?? "", d.where ? h(doc, "div", { class: "muted" }, whereText(d)) : null),
          h(doc, "td", { class: "wrap mono" }, levelsText(d)),
          h(doc, "td", {}, incidentText(d)),
        );
      });
      list.replaceChildren(
        h(doc, "table", { class: "admin-table rule-list" }, tableHead(doc, ["Rule", "Source", "Kind", "Match", "Severities", "Incident"]), h(doc, "tbody", {}, rows)),
      );
    }

    filter.addEventListener("input", () => {
      drawList();
      // The filter goes in the address, so a filtered list can be linked
      // to, without a history entry per key.
      const q = filter.value.trim();
      doc.defaultView.history.replaceState(doc.defaultView.history.state, "", "#/rules" + (q ? "?q=" + encodeURIComponent(q) : ""));
    });

    rapi.list().then(
      (got) => {
        if (!alive) return;
        rules = Array.isArray(got) ? got : [];
        drawList();
      },
      (err) => {
        if (!alive) return;
        list.replaceChildren();
        msg.error(err);
      },
    );

    return {
      title: "Rules",
      unmount() {
        alive = false;
      },
    };
  },
};

// decodeName returns a rule's name from the route's (still encoded)
// parameter.
function decodeName(s) {
  try {
    return decodeURIComponent(s || "");
  } catch {
    return s || "";
  }
}

export const ruleEditView = {
  mount(root, params, { api, me }) {
    const name = decodeName(params.name);
    return mountRuleEditor(root, { api, me, name, isNew: params.new === "1" || name === "", copyOf: params.new === "1" && params.from ? params.from : "" });
  },
};
