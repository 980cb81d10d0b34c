// The overview wall ("#/" and "#/wall"): every managed entity as a tile,
// the screen a support centre reads from across the room. Tiles are
// grouped by an attribute named in the URL (?group=system; by default
// the environment, when entities have one), filtered by environment
// (?environment=production,uat), coloured by the entity's worst severity
// and always saying it by a shape and a word too, with its critical and
// warning counts, its probe's state and its maintenance window.
//
// Every tile fits the screen without scrolling: the tile size is worked
// out (wall-layout.js fit) from the number of tiles and the room there
// is, again whenever the room changes. A tree delta marks the tiles whose
// nodes changed; one animation frame then redraws only those, so a wall
// of 200 entities changing every second touches 200 tiles a second, not
// the page. The layout is rebuilt only when the tiles or their groups
// change.
//
// Keyboard: one tile is in the tab order at a time; the arrow keys move
// between tiles (left and right in reading order across groups, up and
// down to the nearest tile of the row above or below), Home and End to
// the first and the last, and Enter opens the tile's entity.

import { decodeSegment } from "../paths.js";
import { TREE_TOPIC } from "../tree-model.js";
import { severity, severityShape } from "../severity.js";
import { h } from "../ui.js";
import {
  attributesOf,
  ENVIRONMENT,
  environmentsOf,
  entitiesOf,
  fit,
  GROUP_NONE,
  groupAttribute,
  parseEnvironments,
  plan,
  probeState,
  signature,
  summarise,
  tileAspect,
} from "../wall-layout.js";

// GAP and GROUP_GAP are the pixels between tiles and between groups; the
// wall hands them to wall.css, so the arithmetic and the page agree.
const GAP = 6;
const GROUP_GAP = 10;

const WORDS = { critical: "CRITICAL", warning: "WARNING", ok: "OK", undefined: "NO DATA" };
const STATE_WORDS = { down: "PROBE DOWN", never: "NOT CONNECTED" };
// NOT_CONNECTED is the shape of a tile whose probe is not connected: what
// its cells say is not live.
const NOT_CONNECTED = "⊘";

// refocus is the wall control that was clicked: the view is mounted
// again for its new URL, and gives that control the focus back.
let refocus = "";

function count(counts, sev) {
  const n = counts && counts[sev];
  return Number.isFinite(n) ? n : 0;
}

function attributesText(attrs) {
  return Object.keys(attrs)
    .sort()
    .map((k) => k + ": " + attrs[k])
    .join("\n");
}

// kioskQuery returns the query that keeps a kiosk's ?kiosk= on the links
// it follows, or "".
function kioskQuery(params) {
  return params.kiosk === undefined ? "" : "?" + new URLSearchParams({ kiosk: params.kiosk });
}

// wallHash returns the wall's location for a group attribute and a set
// of environment keys, keeping the kiosk parameter.
function wallHash(group, environments, kiosk) {
  const q = new URLSearchParams();
  if (group) q.set("group", group);
  if (environments.size > 0) q.set(ENVIRONMENT, [...environments].join(","));
  if (kiosk !== undefined) q.set("kiosk", kiosk);
  const s = q.toString();
  return "#/wall" + (s ? "?" + s : "");
}

export const wallView = {
  mount(root, params, { store }) {
    const wall = new Wall(root, params, store);
    return { title: "Wall", unmount: () => wall.unmount() };
  },
};

class Wall {
  constructor(root, params, store) {
    const doc = root.ownerDocument;
    this.doc = doc;
    this.params = params;
    this.asked = params.group;
    this.environments = parseEnvironments(params[ENVIRONMENT]);
    this.entityQuery = kioskQuery(params);

    this.summary = h(doc, "p", { class: "wall-summary" });
    this.controls = h(doc, "div", { class: "wall-controls" });
    this.status = h(doc, "p", { class: "wall-status", role: "status", hidden: true });
    this.groupsEl = h(doc, "div", { class: "wall-groups" });
    this.el = h(doc, "div", { class: "wall" }, this.summary, this.controls, this.status, this.groupsEl);
    this.el.style.setProperty("--wall-gap", GAP + "px");
    this.el.style.setProperty("--wall-group-gap", GROUP_GAP + "px");
    root.appendChild(this.el);

    this.model = null;
    this.tiles = new Map(); // entity path -> tile
    this.sections = []; // [{group, section, counts, text}] in order
    this.groups = [];
    this.longest = 0; // the longest entity name's length
    this.sig = null;
    this.controlsSig = null;
    this.summaryText = "";
    this.current = null; // the path of the tile in the tab order
    this.dirty = new Set(); // entity paths to redraw
    this.replan = true;
    this.relayout = true;
    this.frame = 0;

    this.onKeyDown = (e) => this.keyDown(e);
    this.onFocusIn = (e) => {
      const tile = e.target.closest && e.target.closest(".tile");
      if (tile) this.rove(tile.dataset.entity);
    };
    this.onControl = (e) => {
      const a = e.target.closest && e.target.closest("a[data-control]");
      // A link to where the page is already mounts nothing again.
      if (a && a.getAttribute("href") !== doc.defaultView.location.hash) refocus = a.dataset.control;
    };
    this.groupsEl.addEventListener("keydown", this.onKeyDown);
    this.groupsEl.addEventListener("focusin", this.onFocusIn);
    this.controls.addEventListener("click", this.onControl);
    const View = doc.defaultView;
    // A new size is laid out in the next frame, as a delta is: laying out
    // inside the observer's callback could change what it observes.
    this.resize = View && View.ResizeObserver ? new View.ResizeObserver(() => this.later({ relayout: true })) : null;
    if (this.resize) this.resize.observe(this.groupsEl);

    this.unsubscribe = store.subscribe(TREE_TOPIC, (model, change) => this.update(model, change));
    this.flush();
    const again = refocus && this.controls.querySelector(`a[data-control="${CSS.escape(refocus)}"]`);
    refocus = "";
    if (again) again.focus();
  }

  unmount() {
    this.unsubscribe();
    if (this.resize) this.resize.disconnect();
    if (this.frame) cancelAnimationFrame(this.frame);
    this.groupsEl.removeEventListener("keydown", this.onKeyDown);
    this.groupsEl.removeEventListener("focusin", this.onFocusIn);
    this.controls.removeEventListener("click", this.onControl);
    this.el.remove();
  }

  // update notes what a frame changed; the next animation frame draws it.
  update(model, change) {
    this.model = model;
    if (change.full || change.status || change.probes.length > 0 || change.removed.length > 0) {
      this.replan = true;
    } else {
      for (const path of change.nodes) {
        const node = model.node(path);
        if (!node) continue;
        if (node.kind === "entity") this.dirty.add(path);
        else if (node.kind === "probe") for (const e of node.entities || []) this.dirty.add(e.path);
      }
    }
    this.later({});
  }

  // later asks for the next animation frame to draw what is due, and
  // notes a relayout if asked.
  later({ relayout = false }) {
    if (relayout) this.relayout = true;
    if (!this.frame && (this.replan || this.relayout || this.dirty.size > 0)) {
      this.frame = requestAnimationFrame(() => this.flush());
    }
  }

  // flush draws what is due: from the frame it asked for, or at once
  // (when mounted), which makes that frame needless.
  flush() {
    if (this.frame) cancelAnimationFrame(this.frame);
    this.frame = 0;
    const model = this.model;
    if (!model) return;
    if (this.replan) {
      this.replan = false;
      const entities = entitiesOf(model);
      const attribute = groupAttribute(this.asked, entities);
      this.groups = plan(entities, { attribute, environments: this.environments });
      this.el.dataset.group = attribute;
      this.drawControls(entities, attribute);
      const sig = signature(this.groups);
      if (sig !== this.sig) {
        this.sig = sig;
        this.build();
        this.relayout = true;
      }
      for (const e of entities) {
        const tile = this.tiles.get(e.path);
        if (!tile) continue;
        const title = attributesText(e.attributes);
        if (tile.el.title !== title) tile.el.title = title;
        this.fill(tile);
      }
      this.drawStatus(model, entities.length);
    } else {
      for (const path of this.dirty) {
        const tile = this.tiles.get(path);
        if (tile) this.fill(tile);
      }
    }
    this.dirty.clear();
    this.drawSummary();
    if (this.relayout) this.layout();
  }

  drawStatus(model, all) {
    let msg = "";
    if (model.error) msg = "Gateway error: " + model.error;
    else if (model.state === "loading") msg = "Loading the entities…";
    else if (all === 0) msg = "No entities are configured.";
    else if (this.tiles.size === 0) msg = "No entity is in the environments chosen.";
    this.status.textContent = msg;
    this.status.hidden = msg === "";
    this.el.dataset.state = model.state;
  }

  // drawControls draws the filter bar: the environments to show and the
  // attribute to group by, as links to the wall's URL for each.
  drawControls(entities, attribute) {
    const envs = environmentsOf(entities);
    const attrs = attributesOf(entities);
    const sig = JSON.stringify([envs, attrs, attribute]);
    if (sig === this.controlsSig) return;
    this.controlsSig = sig;
    const doc = this.doc;
    const group = this.asked ? attribute : "";
    const link = (control, text, href, on) =>
      h(doc, "a", { class: "wall-control", href, "aria-current": on ? "true" : null, dataset: { control } }, text);
    const parts = [];
    if (envs.length > 0 || this.environments.size > 0) {
      const shown = new Map(envs.map((e) => [e.key, e.label]));
      for (const key of this.environments) if (!shown.has(key)) shown.set(key, key);
      const toggles = [...shown].map(([key, label]) => {
        const next = new Set(this.environments);
        if (next.has(key)) next.delete(key);
        else next.add(key);
        return link("env:" + key, label, wallHash(group, next, this.params.kiosk), this.environments.has(key));
      });
      parts.push(
        h(doc, "span", { class: "wall-control-set", role: "group", "aria-label": "Environments" },
          h(doc, "span", { class: "wall-control-label" }, "Environment:"),
          link("env:", "All", wallHash(group, new Set(), this.params.kiosk), this.environments.size === 0),
          toggles),
      );
    }
    const choices = [...attrs, GROUP_NONE].map((a) =>
      link("group:" + a, a === GROUP_NONE ? "nothing" : a, wallHash(a, this.environments, this.params.kiosk), a === attribute),
    );
    parts.push(
      h(doc, "span", { class: "wall-control-set", role: "group", "aria-label": "Group by" },
        h(doc, "span", { class: "wall-control-label" }, "Group by:"), choices),
    );
    this.controls.replaceChildren(...parts);
  }

  // build lays the groups and their tiles out again, keeping the tiles
  // that stay (and the focus, if a tile had it).
  build() {
    const doc = this.doc;
    const active = doc.activeElement;
    const focused = active && this.groupsEl.contains(active) && active.closest(".tile") ? active.dataset.entity : null;
    const keep = new Map();
    this.sections = [];
    const frag = doc.createDocumentFragment();
    for (const g of this.groups) {
      const grid = h(doc, "div", { class: "wall-tiles" });
      for (const e of g.entities) {
        const tile = this.tiles.get(e.path) || this.makeTile(e);
        keep.set(e.path, tile);
        grid.appendChild(tile.el);
      }
      const counts = h(doc, "span", { class: "wall-group-counts" });
      const title = h(doc, "h3", { class: "wall-group-title" }, h(doc, "span", { class: "wall-group-name" }, g.label), counts);
      const section = h(doc, "section", { class: "wall-group", dataset: { group: g.key ?? "" }, "aria-label": g.label }, title, grid);
      frag.appendChild(section);
      this.sections.push({ group: g, section, counts, text: "" });
    }
    this.tiles = keep;
    this.longest = Math.max(0, ...this.groups.flatMap((g) => g.entities.map((e) => e.name.length)));
    this.groupsEl.replaceChildren(frag);
    if (!this.tiles.has(this.current)) this.current = null;
    const first = this.tiles.keys().next();
    this.rove(this.current ?? (first.done ? null : first.value));
    if (focused && this.tiles.has(focused)) this.tiles.get(focused).el.focus({ preventScroll: true });
  }

  makeTile(e) {
    const doc = this.doc;
    const icon = h(doc, "span", { class: "tile-icon", "aria-hidden": "true" });
    const word = h(doc, "span", { class: "tile-word" });
    const maint = h(doc, "span", { class: "tile-maint", hidden: true });
    const name = h(doc, "span", { class: "tile-name" }, e.name);
    const crit = h(doc, "span", { class: "tile-count", dataset: { severity: "critical" } });
    const warn = h(doc, "span", { class: "tile-count", dataset: { severity: "warning" } });
    const foot = h(doc, "span", { class: "tile-probe" });
    // The head says the severity and the counts, the name is the
    // biggest, the foot holds the probe and any maintenance window.
    const el = h(
      doc,
      "a",
      { class: "tile", href: "#/entity/" + e.path + this.entityQuery, tabindex: "-1", dataset: { entity: e.path } },
      h(doc, "span", { class: "tile-head" }, icon, word, h(doc, "span", { class: "tile-counts" }, crit, warn)),
      name,
      h(doc, "span", { class: "tile-foot" }, foot, maint),
    );
    return { el, path: e.path, probe: e.probe, name: e.name, icon, word, maint, crit, warn, foot, key: "" };
  }

  // fill draws a tile's state from the model, touching the page only when
  // something the tile shows changed.
  fill(tile) {
    const node = this.model.node(tile.path);
    const probe = this.model.node(tile.probe);
    const sev = severity(node && node.severity);
    const crit = count(node && node.counts, "critical");
    const warn = count(node && node.counts, "warning");
    const state = probeState(probe);
    const maint = node && typeof node.maintenance === "string" ? node.maintenance : "";
    const probeName = probe && typeof probe.name === "string" ? probe.name : decodeSegment(tile.probe);
    const key = [sev, crit, warn, state, maint, probeName].join("\u0001");
    if (key === tile.key) return;
    tile.key = key;
    const { el } = tile;
    el.dataset.severity = sev;
    el.dataset.probe = state;
    el.dataset.critical = String(crit);
    el.dataset.warning = String(warn);
    if (maint) el.dataset.maintenance = maint;
    else delete el.dataset.maintenance;
    const live = state === "connected";
    tile.icon.textContent = live ? severityShape(sev) : NOT_CONNECTED;
    tile.word.textContent = live ? WORDS[sev] : STATE_WORDS[state];
    tile.maint.hidden = !maint;
    tile.maint.textContent = maint ? "MAINTENANCE" : "";
    tile.maint.title = maint ? "In maintenance window " + maint : "";
    setCount(tile.crit, crit, "critical");
    setCount(tile.warn, warn, "warning");
    tile.foot.textContent = probeName;
    const said = [tile.name, live ? sev : STATE_WORDS[state].toLowerCase()];
    if (crit) said.push(crit + " critical");
    if (warn) said.push(warn + " warning");
    if (maint) said.push("in maintenance " + maint);
    el.setAttribute("aria-label", said.join(", "));
  }

  drawSummary() {
    const node = (path) => this.model.node(path);
    const s = summarise(this.groups, node);
    const text = [s.total, s.critical, s.warning, s.ok, s.undefined, s.notConnected, s.maintenance].join(",");
    if (text !== this.summaryText) {
      this.summaryText = text;
      const doc = this.doc;
      const part = (kind, n, shape, word) =>
        h(doc, "span", { class: "wall-sum", dataset: { kind, count: String(n) } }, h(doc, "span", { "aria-hidden": "true" }, shape + " "), n + " " + word);
      const parts = [
        h(doc, "span", { class: "wall-sum-total" }, s.total + (s.total === 1 ? " entity" : " entities")),
        part("critical", s.critical, severityShape("critical"), "critical"),
        part("warning", s.warning, severityShape("warning"), "warning"),
        part("ok", s.ok, severityShape("ok"), "ok"),
        part("undefined", s.undefined, severityShape("undefined"), "no data"),
        part("not-connected", s.notConnected, NOT_CONNECTED, "not connected"),
      ];
      if (s.maintenance > 0) parts.push(part("maintenance", s.maintenance, "⚒", "in maintenance"));
      this.summary.replaceChildren(...parts);
    }
    for (const sec of this.sections) {
      const g = summarise([sec.group], node);
      const t = g.total + "," + g.critical + "," + g.warning + "," + g.notConnected;
      if (t === sec.text) continue;
      sec.text = t;
      const doc = this.doc;
      const bits = [h(doc, "span", { class: "wall-group-total" }, String(g.total))];
      if (g.critical) bits.push(h(doc, "span", { class: "wall-group-sev", dataset: { severity: "critical" } }, severityShape("critical") + " " + g.critical));
      if (g.warning) bits.push(h(doc, "span", { class: "wall-group-sev", dataset: { severity: "warning" } }, severityShape("warning") + " " + g.warning));
      if (g.notConnected) bits.push(h(doc, "span", { class: "wall-group-sev", dataset: { severity: "not-connected" } }, NOT_CONNECTED + " " + g.notConnected));
      sec.counts.replaceChildren(...bits);
    }
  }

  // layout sizes the tiles for all of them to fit the room the wall has.
  layout() {
    this.relayout = false;
    const box = this.groupsEl;
    const width = box.clientWidth;
    const height = box.clientHeight;
    if (width === 0 || height === 0 || this.groups.length === 0) return;
    // A group's head is what stands above its first row of tiles.
    const grid = box.querySelector(".wall-tiles");
    const head = grid ? grid.getBoundingClientRect().top - grid.parentElement.getBoundingClientRect().top : 0;
    const rem = parseFloat(getComputedStyle(this.doc.documentElement).fontSize) || 16;
    const f = fit(
      this.groups.map((g) => g.entities.length),
      // A pixel to spare, so that rounding never makes the wall scroll.
      {
        width: width - 1,
        height: height - 2,
        head,
        gap: GAP,
        groupGap: GROUP_GAP,
        minHeight: 3.5 * rem,
        maxHeight: 14 * rem,
        aspect: tileAspect(this.longest),
      },
    );
    const style = this.el.style;
    style.setProperty("--wall-cols", String(f.cols));
    style.setProperty("--tile-w", f.width + "px");
    style.setProperty("--tile-h", f.height + "px");
    style.setProperty("--tile-font", Math.max(9, Math.floor(f.height / 4.4)) + "px");
    // A group narrower than the wall takes only its tiles' width, so the
    // next one can sit beside it.
    for (const sec of this.sections) {
      const cols = Math.min(sec.group.entities.length, f.cols);
      sec.section.style.setProperty("--group-cols", String(cols));
      sec.section.style.width = cols * f.width + (cols - 1) * GAP + "px";
    }
    this.el.dataset.cols = String(f.cols);
    this.el.dataset.fits = String(f.fits);
  }

  // rove puts the tile of path (or none) in the tab order, alone.
  rove(path) {
    if (this.current === path) {
      const t = this.tiles.get(path);
      if (t) t.el.tabIndex = 0;
      return;
    }
    const old = this.tiles.get(this.current);
    if (old) old.el.tabIndex = -1;
    this.current = path;
    const t = this.tiles.get(path);
    if (t) t.el.tabIndex = 0;
  }

  keyDown(e) {
    if (e.altKey || e.ctrlKey || e.metaKey || e.shiftKey) return;
    const tile = e.target.closest && e.target.closest(".tile");
    if (!tile) return;
    const list = [...this.groupsEl.querySelectorAll(".tile")];
    const i = list.indexOf(tile);
    let next;
    switch (e.key) {
      case "ArrowRight":
        next = list[i + 1];
        break;
      case "ArrowLeft":
        next = list[i - 1];
        break;
      case "ArrowDown":
        next = vertical(list, tile, 1);
        break;
      case "ArrowUp":
        next = vertical(list, tile, -1);
        break;
      case "Home":
        next = list[0];
        break;
      case "End":
        next = list[list.length - 1];
        break;
      default:
        return;
    }
    e.preventDefault();
    if (!next) return;
    this.rove(next.dataset.entity);
    next.focus();
  }
}

function setCount(el, n, sev) {
  el.hidden = n === 0;
  el.textContent = n === 0 ? "" : severityShape(sev) + " " + n;
  el.title = n === 0 ? "" : n + " " + sev + (n === 1 ? " cell" : " cells");
}

// vertical returns the tile of the row below (dir 1) or above (-1) from
// tile whose middle is nearest tile's, across groups, or undefined.
function vertical(list, tile, dir) {
  const r = tile.getBoundingClientRect();
  const mid = r.left + r.width / 2;
  let row = null;
  let best;
  let bestDist = Infinity;
  for (const el of list) {
    const q = el.getBoundingClientRect();
    const edge = dir > 0 ? q.top : q.bottom;
    if (dir > 0 ? edge < r.bottom - 1 : edge > r.top + 1) continue;
    if (row === null || (dir > 0 ? edge < row - 1 : edge > row + 1)) {
      row = edge;
      best = undefined;
      bestDist = Infinity;
    } else if (Math.abs(edge - row) > 1) {
      continue;
    }
    const d = Math.abs(q.left + q.width / 2 - mid);
    if (d < bestDist) {
      best = el;
      bestDist = d;
    }
  }
  return best;
}
