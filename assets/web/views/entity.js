// The entity view ("#/entity/<probe>/<entity>"): the step between a wall
// tile and a dataview's grid. It shows the entity's attributes, its
// probe's state, its maintenance window, and its samplers with their
// dataviews, each with its severity, counts, staleness and what its rules
// found, and a link to its grid. It stays live on the tree topic: a node
// delta redraws the nodes it names, in one animation frame; a probe
// replaced redraws the view, keeping the focus.
//
// Keyboard: one dataview link is in the tab order; the arrow keys move
// between the dataviews (in reading order), Home and End to the first
// and the last, and Enter opens the grid.

import { decodeSegment, parseDataviewPath } from "../paths.js";
import { severity, severityCounts, severityIcon } from "../severity.js";
import { children, TREE_TOPIC } from "../tree-model.js";
import { formatWhen, h } from "../ui.js";
import { probeState } from "../wall-layout.js";

const STATE_TEXT = { connected: "connected", down: "down", never: "never connected" };

// entityPath returns the canonical form of an entity path typed into the
// URL ("probe/entity"), or null if it is not one: it is a dataview path's
// first two segments, and canonical as they are.
export function entityPath(path) {
  if (typeof path !== "string" || path.split("/").length !== 2) return null;
  const parsed = parseDataviewPath(path + "/s/d");
  return parsed ? parsed.segments.slice(0, 2).join("/") : null;
}

function findingText(f) {
  const what = typeof f.row === "string" && f.row !== "" ? "row " + f.row + " missing" : f.reason;
  return f.rule + ": " + what;
}

function findings(node) {
  return Array.isArray(node.findings) ? node.findings.filter((f) => f && typeof f === "object") : [];
}

export const entityView = {
  canonical(params) {
    const path = entityPath(params.path);
    return path ? { ...params, path } : params;
  },

  mount(root, params, { store }) {
    const doc = root.ownerDocument;
    const path = entityPath(params.path);
    if (!path) {
      const heading = h(doc, "h2", {}, "Not an entity");
      root.append(
        heading,
        h(doc, "p", { class: "notice", role: "alert", dataset: { kind: "invalid" } }, "Not an entity path: " + params.path),
      );
      return { title: heading.textContent };
    }
    const view = new EntityPage(root, path, params, store);
    return { title: view.title, unmount: () => view.unmount() };
  },
};

class EntityPage {
  constructor(root, path, params, store) {
    const doc = root.ownerDocument;
    this.doc = doc;
    this.path = path;
    this.probePath = path.split("/")[0];
    this.title = path.split("/").map(decodeSegment).join(" › ");
    this.query = params.kiosk === undefined ? "" : "?" + new URLSearchParams({ kiosk: params.kiosk });
    this.el = h(doc, "div", { class: "entity-view", dataset: { entity: path } });
    root.appendChild(this.el);

    this.model = null;
    this.els = new Map(); // node path -> {node kind, el, label}
    this.current = null; // the dataview link in the tab order
    this.dirty = new Set();
    this.rebuild = true;
    this.frame = 0;

    this.onKeyDown = (e) => this.keyDown(e);
    this.onFocusIn = (e) => {
      const a = e.target.closest && e.target.closest("a.entity-dv");
      if (a) this.rove(a);
    };
    this.el.addEventListener("keydown", this.onKeyDown);
    this.el.addEventListener("focusin", this.onFocusIn);
    this.unsubscribe = store.subscribe(TREE_TOPIC, (model, change) => this.update(model, change));
    this.flush();
  }

  unmount() {
    this.unsubscribe();
    if (this.frame) cancelAnimationFrame(this.frame);
    this.el.removeEventListener("keydown", this.onKeyDown);
    this.el.removeEventListener("focusin", this.onFocusIn);
    this.el.remove();
  }

  update(model, change) {
    this.model = model;
    if (change.full || change.status || change.probes.includes(this.probePath) || change.removed.includes(this.probePath)) {
      this.rebuild = true;
    } else {
      for (const p of change.nodes) if (this.els.has(p)) this.dirty.add(p);
    }
    if (!this.frame && (this.rebuild || this.dirty.size > 0)) this.frame = requestAnimationFrame(() => this.flush());
  }

  // flush draws what is due: from the frame it asked for, or at once
  // (when mounted), which makes that frame needless.
  flush() {
    if (this.frame) cancelAnimationFrame(this.frame);
    this.frame = 0;
    if (!this.model) return;
    if (this.rebuild) {
      this.rebuild = false;
      this.draw();
    } else {
      for (const p of this.dirty) {
        const node = this.model.node(p);
        if (node) this.fill(node);
      }
    }
    this.dirty.clear();
  }

  // draw draws the whole view from the model, giving the focus back to the
  // dataview link that had it.
  draw() {
    const doc = this.doc;
    const model = this.model;
    const active = doc.activeElement;
    const focused = active && this.el.contains(active) ? active.dataset.dataview : undefined;
    this.els.clear();
    const back = h(doc, "p", { class: "entity-back" }, h(doc, "a", { href: "#/wall" + this.query }, "← Wall"));
    const entity = model.node(this.path);
    if (!entity || entity.kind !== "entity") {
      let msg = "There is no entity " + this.title + ", or it is not yours to see.";
      if (model.error) msg = "Gateway error: " + model.error;
      else if (model.state === "loading") msg = "Loading the entity…";
      this.el.replaceChildren(back, h(doc, "h2", {}, this.title), h(doc, "p", { class: "notice", role: "status", dataset: { kind: "gone" } }, msg));
      return;
    }
    const probe = model.node(this.probePath);
    const heading = h(doc, "h2", { class: "entity-title" });
    const stateLine = h(doc, "p", { class: "entity-state" });
    this.els.set(this.path, { kind: "entity", el: stateLine, label: heading });
    const probeLine = h(doc, "p", { class: "entity-probe" });
    if (probe) this.els.set(this.probePath, { kind: "probe", el: probeLine, label: probeLine });

    const attrs = entity.attributes && typeof entity.attributes === "object" ? entity.attributes : {};
    const keys = Object.keys(attrs).sort();
    const attrList = keys.length
      ? h(doc, "dl", { class: "entity-attrs" }, keys.map((k) => [h(doc, "dt", {}, k), h(doc, "dd", { dataset: { attribute: k } }, String(attrs[k]))]))
      : h(doc, "p", { class: "muted" }, "No attributes.");

    const samplers = children(entity).map((s) => {
      const head = h(doc, "h3", { class: "entity-sampler-title" });
      this.els.set(s.path, { kind: "sampler", el: head, label: head });
      const dvs = children(s).map((d) => {
        const a = h(doc, "a", { class: "entity-dv", href: "#/view/" + d.path + this.query, tabindex: "-1", dataset: { dataview: d.path } });
        this.els.set(d.path, { kind: "dataview", el: a, label: a });
        return h(doc, "li", {}, a);
      });
      const list = dvs.length ? h(doc, "ul", { class: "entity-dvs" }, dvs) : h(doc, "p", { class: "muted" }, "No dataviews yet: the probe has sent none.");
      return h(doc, "section", { class: "entity-sampler", dataset: { sampler: s.path } }, head, list);
    });

    this.el.replaceChildren(
      back,
      heading,
      stateLine,
      probeLine,
      h(doc, "h3", {}, "Attributes"),
      attrList,
      h(doc, "h3", {}, "Samplers"),
      samplers.length ? h(doc, "div", { class: "entity-samplers" }, samplers) : h(doc, "p", { class: "muted" }, "No samplers."),
    );
    for (const p of this.els.keys()) {
      const node = model.node(p);
      if (node) this.fill(node);
    }
    const links = [...this.el.querySelectorAll("a.entity-dv")];
    const again = links.find((a) => a.dataset.dataview === focused);
    const current = again || links.find((a) => a.dataset.dataview === this.current) || links[0];
    if (current) this.rove(current);
    if (again) again.focus({ preventScroll: true });
  }

  // fill (re)draws one node's state.
  fill(node) {
    const doc = this.doc;
    const slot = this.els.get(node.path);
    if (!slot) return;
    const sev = severity(node.severity);
    switch (slot.kind) {
      case "entity": {
        const maint = typeof node.maintenance === "string" ? node.maintenance : "";
        slot.label.replaceChildren(severityIcon(doc, sev), " ", String(node.name ?? ""));
        slot.el.dataset.severity = sev;
        const parts = [h(doc, "span", { class: "entity-sev" }, sev === "undefined" ? "no data" : sev), " ", severityCounts(doc, node.counts)];
        if (maint) parts.push(" ", h(doc, "span", { class: "entity-maint", dataset: { maintenance: maint } }, "in maintenance window " + maint));
        slot.el.replaceChildren(...parts);
        break;
      }
      case "probe": {
        const state = probeState(node);
        const since = node.since ? " since " + formatWhen(node.since) : "";
        const list = findings(node);
        slot.el.dataset.state = state;
        slot.el.replaceChildren(
          "Probe ",
          h(doc, "strong", {}, String(node.name ?? "")),
          " ",
          h(doc, "span", { class: "probe-state", dataset: { state: STATE_TEXT[state] } }, STATE_TEXT[state]),
          since,
          list.length ? h(doc, "span", { class: "entity-findings" }, " · " + list.map(findingText).join("; ")) : "",
        );
        break;
      }
      case "sampler":
        slot.el.dataset.severity = sev;
        slot.el.replaceChildren(
          severityIcon(doc, sev),
          " ",
          String(node.name ?? ""),
          node.type ? h(doc, "span", { class: "entity-sampler-type" }, " (" + node.type + ")") : "",
          " ",
          severityCounts(doc, node.counts),
        );
        break;
      case "dataview": {
        const stale = node.stale === true;
        const list = findings(node);
        slot.el.dataset.severity = sev;
        slot.el.dataset.stale = String(stale);
        slot.el.title = list.map(findingText).join("\n");
        slot.el.replaceChildren(
          severityIcon(doc, sev),
          h(doc, "span", { class: "entity-dv-name" }, String(node.name ?? "")),
          stale ? h(doc, "span", { class: "dv-stale" }, "stale") : "",
          list.length ? h(doc, "span", { class: "node-findings" }, h(doc, "span", { "aria-hidden": "true" }, "⚑ "), String(list.length), h(doc, "span", { class: "visually-hidden" }, list.length === 1 ? " finding" : " findings")) : "",
          severityCounts(doc, node.counts),
        );
        break;
      }
    }
  }

  rove(a) {
    for (const el of this.el.querySelectorAll('a.entity-dv[tabindex="0"]')) if (el !== a) el.tabIndex = -1;
    a.tabIndex = 0;
    this.current = a.dataset.dataview;
  }

  keyDown(e) {
    if (e.altKey || e.ctrlKey || e.metaKey || e.shiftKey) return;
    const a = e.target.closest && e.target.closest("a.entity-dv");
    if (!a) return;
    const links = [...this.el.querySelectorAll("a.entity-dv")];
    const i = links.indexOf(a);
    let next;
    switch (e.key) {
      case "ArrowDown":
      case "ArrowRight":
        next = links[i + 1];
        break;
      case "ArrowUp":
      case "ArrowLeft":
        next = links[i - 1];
        break;
      case "Home":
        next = links[0];
        break;
      case "End":
        next = links[links.length - 1];
        break;
      default:
        return;
    }
    e.preventDefault();
    if (!next) return;
    this.rove(next);
    next.focus();
  }
}
