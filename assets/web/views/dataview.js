// The dataview view ("#/view/<dataview path>"): one dataview's live grid,
// the page big screens deep-link to, and the history chart of the cell
// last clicked (or given Enter), with the thresholds of the rule that
// judges it. A path typed by hand is shown in its canonical form.
//
// The chart covers the cell's whole history window (the API clips the
// range to what it holds); the thresholds come from GET
// /api/v1/rules/{name}, which needs the read-rules permission: without it
// the chart is drawn without them, and says so. Escape or Close closes
// the chart and gives the focus back to the cell.

import { mountHistoryChart } from "../chart.js";
import { mountGrid, SAMPLER_UNITS } from "../grid.js";
import { dataviewTitle, decodeSegment, parseDataviewPath } from "../paths.js";
import { can } from "../session.js";
import { TREE_TOPIC } from "../tree-model.js";
import { errorText, h } from "../ui.js";

// CHART_FROM asks for the most the history window can hold (24 h).
const CHART_FROM = "-24h";

// chartThresholds keeps the thresholds a chart draws: the rule's own
// levels' conditions (not their clear, nor a phase's own levels).
export function chartThresholds(rule) {
  const list = rule && Array.isArray(rule.thresholds) ? rule.thresholds : [];
  return list.filter((t) => t && !t.clear && !t.phase);
}

export const dataviewView = {
  canonical(params) {
    const parsed = parseDataviewPath(params.path);
    return parsed ? { ...params, path: parsed.path } : params;
  },

  mount(root, { path }, { store, api, me }) {
    const doc = root.ownerDocument;
    const heading = doc.createElement("h2");
    root.appendChild(heading);
    const parsed = parseDataviewPath(path);
    if (!parsed) {
      heading.textContent = "Not a dataview";
      const notice = doc.createElement("p");
      notice.className = "notice";
      notice.dataset.kind = "invalid";
      notice.setAttribute("role", "alert");
      notice.textContent = "Not a dataview path: " + path;
      root.appendChild(notice);
      return { title: heading.textContent };
    }
    heading.textContent = dataviewTitle(path);
    const panel = new ChartPanel(doc, api, me);
    const body = doc.createElement("div");
    root.append(panel.el, body);
    const grid = mountGrid(body, { store, path, api, onActivate: (cell) => panel.open(cell) });
    panel.el.addEventListener("keydown", panel.onKeyDown);
    body.addEventListener("keydown", panel.onKeyDown);

    // The sampler's type gives its columns' units, once the tree has it.
    const samplerPath = parsed.segments.slice(0, 3).join("/");
    let type = null;
    const stopTree = store.subscribe(TREE_TOPIC, (model) => {
      const node = typeof model.node === "function" ? model.node(samplerPath) : null;
      const t = node && typeof node.type === "string" ? node.type : null;
      if (t === type) return;
      type = t;
      grid.setUnits(SAMPLER_UNITS[t] || {});
    });
    return {
      title: heading.textContent,
      unmount: () => {
        stopTree();
        panel.close(false);
        grid.unmount();
      },
    };
  },
};

// ChartPanel is the history chart over the grid: one cell at a time.
class ChartPanel {
  constructor(doc, api, me) {
    this.doc = doc;
    this.api = api;
    this.me = me;
    this.chart = null;
    this.cell = null;
    this.seq = 0;
    this.title = h(doc, "h3", { class: "cell-chart-title" });
    this.note = h(doc, "p", { class: "cell-chart-note" });
    this.body = h(doc, "div", { class: "cell-chart-body" });
    this.closeButton = h(doc, "button", { type: "button", class: "quiet", onclick: () => this.close(true) }, "Close");
    this.el = h(
      doc,
      "section",
      { class: "cell-chart", "aria-label": "History of a cell", hidden: true },
      h(doc, "div", { class: "cell-chart-head" }, this.title, this.closeButton),
      this.body,
      this.note,
    );
    this.onKeyDown = (e) => {
      if (e.key === "Escape" && this.cell) this.close(true);
    };
  }

  // open shows the history of cell ({path, row, column, rule, numeric},
  // as the grid gives it); a cell without a number has no chart.
  async open(cell) {
    if (!cell.numeric) return;
    this.close(false);
    const seq = ++this.seq;
    this.cell = cell;
    this.el.hidden = false;
    this.el.dataset.path = cell.path;
    this.title.textContent = "History of " + decodeSegment(cell.row) + " › " + decodeSegment(cell.column);
    this.note.textContent = cell.rule ? "Loading the thresholds of rule " + cell.rule + "…" : "No rule judges this cell.";
    const thresholds = await this.thresholds(cell.rule);
    if (seq !== this.seq) return;
    this.chart = mountHistoryChart(this.body, { api: this.api, paths: [cell.path], from: CHART_FROM, thresholds: thresholds.list });
    this.note.textContent = thresholds.note;
    this.el.scrollIntoView({ block: "nearest" });
    this.closeButton.focus({ preventScroll: true });
  }

  async thresholds(rule) {
    if (!rule) return { list: [], note: "No rule judges this cell." };
    const me = await this.me;
    if (!can(me, "read-rules")) return { list: [], note: "Judged by rule " + rule + "; its thresholds are shown to those who may read rules." };
    try {
      const def = await this.api.get("/api/v1/rules/" + encodeURIComponent(rule));
      const list = chartThresholds(def);
      return { list, note: list.length ? "Thresholds of rule " + rule + "." : "Rule " + rule + " compares the value with no fixed number." };
    } catch (err) {
      return { list: [], note: "Thresholds of rule " + rule + " unavailable: " + errorText(err) };
    }
  }

  // close takes the chart down; with refocus, the focus goes back to the
  // cell it was opened from.
  close(refocus) {
    this.seq++;
    if (this.chart) this.chart.unmount();
    this.chart = null;
    const cell = this.cell;
    this.cell = null;
    this.el.hidden = true;
    delete this.el.dataset.path;
    if (refocus && cell) {
      const td = this.el.parentElement && this.el.parentElement.querySelector(`td[data-path="${CSS.escape(cell.path)}"]`);
      if (td) td.focus();
    }
  }
}
