// The navigation tree: probe → entity → sampler → dataview, live on the
// "tree" topic, drawn into the element it is given. Each node shows its
// worst severity and its critical and warning counts, and a probe or
// dataview the number of its rules' findings (down, not sampled, a row
// missing), each listed in the marker's tooltip. A delta redraws only the
// probes it replaces and the nodes it updates, so folding and keyboard
// focus survive it.
//
// Keyboard: Tab reaches the tree; the arrow keys move up and down the
// visible nodes, Right opens a branch (or steps into it), Left closes it
// (or steps out to its parent); Home and End jump to the ends; Enter
// follows a link or folds a branch.

import { children, TREE_TOPIC } from "./tree-model.js";
import { severity, severityCounts, severityIcon } from "./severity.js";

const collator = new Intl.Collator(undefined, { numeric: true, sensitivity: "base" });

function nameOf(node) {
  return typeof node.name === "string" ? node.name : "";
}

function byName(a, b) {
  const x = nameOf(a);
  const y = nameOf(b);
  return collator.compare(x, y) || (x < y ? -1 : x > y ? 1 : 0);
}

function attributesText(attrs) {
  if (!attrs || typeof attrs !== "object") return "";
  return Object.keys(attrs)
    .sort()
    .map((k) => k + ": " + attrs[k])
    .join("\n");
}

// findingText says one finding of a dataview or probe rule; a finding
// with a row is that row missing.
function findingText(f) {
  const what = typeof f.row === "string" && f.row !== "" ? "row " + f.row + " missing" : f.reason;
  return f.rule + ": " + what;
}

// findingsMarker returns an element with the number of a node's
// findings and each of them in its tooltip, or null when there are none.
function findingsMarker(doc, findings) {
  const list = Array.isArray(findings) ? findings.filter((f) => f && typeof f === "object") : [];
  if (list.length === 0) return null;
  const el = doc.createElement("span");
  el.className = "node-findings";
  el.dataset.count = String(list.length);
  el.title = list.map(findingText).join("\n");
  // Read aloud as "2 findings": the flag is for the eye.
  const shape = doc.createElement("span");
  shape.setAttribute("aria-hidden", "true");
  shape.textContent = "⚑ ";
  const word = doc.createElement("span");
  word.className = "visually-hidden";
  word.textContent = list.length === 1 ? " finding" : " findings";
  el.append(shape, String(list.length), word);
  return el;
}

function probeState(p) {
  if (p.connected === true) return "connected";
  return p.since ? "down" : "never connected";
}

// mountTree draws the tree into root and keeps it live from store. It
// returns {select(path), unmount()}; select marks the dataview at path
// (or none, for null) as the current page.
export function mountTree(root, { store }) {
  const tree = new Tree(root, store);
  return { select: (path) => tree.select(path), unmount: () => tree.unmount() };
}

class Tree {
  constructor(root, store) {
    const doc = root.ownerDocument;
    this.doc = doc;
    this.el = doc.createElement("div");
    this.el.className = "tree-view";
    this.status = doc.createElement("p");
    this.status.className = "tree-status";
    this.status.setAttribute("role", "status");
    this.summary = doc.createElement("p");
    this.summary.className = "tree-summary";
    this.list = doc.createElement("ul");
    this.list.className = "tree-list";
    this.el.append(this.status, this.summary, this.list);
    root.appendChild(this.el);

    this.items = new Map(); // node path -> li
    this.labels = new Map(); // node path -> its summary or link
    this.folded = new Set(); // paths of branches the user closed
    this.selected = null;

    this.onToggle = (e) => {
      const d = e.target;
      if (!(d instanceof HTMLDetailsElement) || !d.dataset.key) return;
      if (d.open) this.folded.delete(d.dataset.key);
      else this.folded.add(d.dataset.key);
    };
    this.onKeyDown = (e) => this.keyDown(e);
    this.list.addEventListener("toggle", this.onToggle, true); // toggle does not bubble
    this.list.addEventListener("keydown", this.onKeyDown);

    this.unsubscribe = store.subscribe(TREE_TOPIC, (model, change) => this.update(model, change));
  }

  unmount() {
    this.unsubscribe();
    this.list.removeEventListener("toggle", this.onToggle, true);
    this.list.removeEventListener("keydown", this.onKeyDown);
    this.el.remove();
  }

  update(model, change) {
    if (change.full) {
      this.renderAll(model);
      return;
    }
    if (change.status) this.renderStatus(model);
    if (change.summary) this.renderSummary(model);
    for (const path of change.removed) {
      const li = this.items.get(path);
      if (!li) continue;
      this.forget(li);
      li.remove();
    }
    for (const path of change.probes) this.replaceProbe(model, path);
    for (const path of change.nodes) {
      const node = model.node(path);
      if (node && this.items.has(path)) this.fill(node);
    }
    if (change.removed.length || change.probes.length) this.renderEmpty(model);
  }

  renderAll(model) {
    this.items.clear();
    this.labels.clear();
    const frag = this.doc.createDocumentFragment();
    for (const p of [...model.probes.values()].sort(byName)) frag.appendChild(this.renderNode(p));
    this.list.replaceChildren(frag);
    this.el.dataset.state = model.state;
    this.renderEmpty(model);
    this.renderStatus(model);
    this.renderSummary(model);
  }

  renderStatus(model) {
    let msg = "";
    if (model.error) msg = "Gateway error: " + model.error;
    else if (model.state === "loading") msg = "Loading the tree…";
    this.status.textContent = msg;
    this.status.hidden = msg === "";
  }

  renderSummary(model) {
    this.summary.hidden = model.state !== "live";
    this.summary.dataset.severity = severity(model.severity);
    this.summary.replaceChildren(severityIcon(this.doc, model.severity), " All probes ", severityCounts(this.doc, model.counts));
  }

  renderEmpty(model) {
    const empty = this.list.querySelector(":scope > .tree-empty");
    const want = model.state === "live" && model.probes.size === 0;
    if (want && !empty) {
      const li = this.doc.createElement("li");
      li.className = "tree-empty";
      li.textContent = "No probes yet.";
      this.list.appendChild(li);
    } else if (!want && empty) {
      empty.remove();
    }
  }

  // replaceProbe redraws one probe from the model, in its sorted place,
  // and gives keyboard focus back to the node that had it.
  replaceProbe(model, path) {
    const node = model.probes.get(path);
    if (!node) return;
    const active = this.doc.activeElement;
    const focused = active && this.list.contains(active) ? active.closest("[data-node]")?.dataset.node : undefined;
    const old = this.items.get(path);
    if (old) this.forget(old);
    const li = this.renderNode(node);
    if (old) {
      old.replaceWith(li);
    } else {
      const after = [...this.list.children].find((el) => el.dataset.kind === "probe" && byName({ name: el.dataset.probe }, node) > 0);
      this.list.insertBefore(li, after || null);
    }
    if (focused !== undefined && !this.list.contains(active)) this.labels.get(focused)?.focus();
  }

  // forget drops li's subtree from the indexes.
  forget(li) {
    for (const el of [li, ...li.querySelectorAll("[data-node]")]) {
      this.items.delete(el.dataset.node);
      this.labels.delete(el.dataset.node);
    }
  }

  renderNode(node) {
    const doc = this.doc;
    const li = doc.createElement("li");
    li.className = "node " + node.kind;
    li.dataset.node = node.path;
    li.dataset.kind = node.kind;
    this.items.set(node.path, li);
    if (node.kind === "dataview") {
      const a = doc.createElement("a");
      a.className = "dv-link";
      a.href = "#/view/" + node.path;
      a.dataset.dataview = node.path;
      if (node.path === this.selected) a.setAttribute("aria-current", "page");
      li.appendChild(a);
      this.labels.set(node.path, a);
    } else {
      const details = doc.createElement("details");
      details.dataset.key = node.path;
      details.open = !this.folded.has(node.path);
      const summary = doc.createElement("summary");
      const list = doc.createElement("ul");
      for (const c of children(node).sort(byName)) list.appendChild(this.renderNode(c));
      details.append(summary, list);
      li.appendChild(details);
      this.labels.set(node.path, summary);
    }
    this.fill(node);
    return li;
  }

  // fill (re)draws a node's label and state from the model's node.
  fill(node) {
    const doc = this.doc;
    const li = this.items.get(node.path);
    const label = this.labels.get(node.path);
    const sev = severity(node.severity);
    li.dataset.severity = sev;
    const name = doc.createElement("span");
    name.className = "node-name";
    name.textContent = nameOf(node);
    const parts = [severityIcon(doc, sev), name];
    switch (node.kind) {
      case "probe": {
        const state = probeState(node);
        li.dataset.probe = nameOf(node);
        li.dataset.connected = String(node.connected === true);
        const marker = doc.createElement("span");
        marker.className = "probe-state";
        marker.dataset.state = state;
        marker.textContent = state;
        parts.push(marker);
        const found = findingsMarker(doc, node.findings);
        if (found) parts.push(found);
        label.title = node.since ? state + " since " + new Date(node.since).toLocaleString() : state;
        break;
      }
      case "entity":
        li.dataset.entity = nameOf(node);
        label.title = attributesText(node.attributes);
        break;
      case "sampler":
        label.title = node.type ? node.type + " sampler" : "";
        break;
      case "dataview": {
        const stale = node.stale === true;
        li.dataset.stale = String(stale);
        li.classList.toggle("stale", stale);
        if (stale) {
          const flag = doc.createElement("span");
          flag.className = "dv-stale";
          flag.textContent = "stale";
          parts.push(flag);
        }
        const found = findingsMarker(doc, node.findings);
        if (found) parts.push(found);
        break;
      }
    }
    parts.push(severityCounts(doc, node.counts));
    label.replaceChildren(...parts);
  }

  select(path) {
    this.selected = path;
    for (const a of this.list.querySelectorAll("a.dv-link[aria-current]")) a.removeAttribute("aria-current");
    if (path !== null) this.labels.get(path)?.setAttribute("aria-current", "page");
  }

  // visible reports whether el (a summary or a link) is shown: no closed
  // branch holds it.
  visible(el) {
    const own = el.tagName === "SUMMARY" ? el.parentElement : el;
    for (let d = own.parentElement.closest("details"); d && this.list.contains(d); d = d.parentElement.closest("details")) {
      if (!d.open) return false;
    }
    return true;
  }

  keyDown(e) {
    if (e.altKey || e.ctrlKey || e.metaKey || e.shiftKey) return;
    const items = [...this.list.querySelectorAll("summary, a.dv-link")].filter((el) => this.visible(el));
    const i = items.indexOf(e.target);
    if (i < 0) return;
    const details = e.target.tagName === "SUMMARY" ? e.target.parentElement : null;
    let next = null;
    switch (e.key) {
      case "ArrowDown":
        next = items[i + 1];
        break;
      case "ArrowUp":
        next = items[i - 1];
        break;
      case "Home":
        next = items[0];
        break;
      case "End":
        next = items[items.length - 1];
        break;
      case "ArrowRight":
        if (details && !details.open) details.open = true;
        else if (details) next = items[i + 1];
        break;
      case "ArrowLeft": {
        const parent = e.target.closest("li").parentElement.closest("details");
        if (details && details.open) details.open = false;
        else if (parent && this.list.contains(parent)) next = parent.querySelector(":scope > summary");
        break;
      }
      default:
        return;
    }
    e.preventDefault();
    if (next) next.focus();
  }
}
