// The live grid of one dataview, drawn into the element it is given, so
// that a page can hold several (a tile, a panel, an incident).
//
// The store's model of the dataview takes every frame at once; the grid
// notes what changed and brings the DOM up to date once per animation
// frame, touching only the cells that changed. A background tab therefore
// costs nothing but the model updates, and catches up in one frame when
// shown again.

import { cellPath, dataviewTitle, headlinePath } from "./paths.js";
import { dataviewTopic } from "./dataview-model.js";
import { severity } from "./severity.js";

const FLASH = "flash";
const FLASH_ANIMATION = "wf-flash";

function text(v) {
  return v === undefined || v === null ? "" : String(v);
}

function key(row, col) {
  return row + "\0" + col;
}

function pad(n, width) {
  return String(n).padStart(width, "0");
}

// formatTime renders Unix milliseconds as local HH:MM:SS.mmm.
export function formatTime(ms) {
  const d = new Date(ms);
  return (
    pad(d.getHours(), 2) + ":" + pad(d.getMinutes(), 2) + ":" +
    pad(d.getSeconds(), 2) + "." + pad(d.getMilliseconds(), 3)
  );
}

function formatAge(ms) {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return s + " s";
  if (s < 3600) return Math.floor(s / 60) + " min " + (s % 60) + " s";
  return Math.floor(s / 3600) + " h " + Math.floor((s % 3600) / 60) + " min";
}

// flash starts (or restarts) the change animation on el. The class is
// removed again on animationend.
function flash(el) {
  if (el.classList.contains(FLASH)) {
    // Still flashing from an earlier change: rewind the running animation
    // rather than forcing a style recalculation.
    let rewound = false;
    for (const a of el.getAnimations()) {
      if (a.animationName === FLASH_ANIMATION) {
        a.currentTime = 0;
        a.play();
        rewound = true;
      }
    }
    if (rewound) return;
    el.classList.remove(FLASH);
    void el.offsetWidth; // restart the animation
  }
  el.classList.add(FLASH);
}

// setCell writes a cell's value, severity and rule into el and reports
// whether any of them changed: a rule's judgement may change without the
// value.
function setCell(el, cell) {
  const v = cell ? text(cell.v) : "";
  const s = severity(cell && cell.s);
  const rule = cell && typeof cell.rule === "string" ? cell.rule : "";
  let changed = false;
  if (el.textContent !== v) {
    el.textContent = v;
    changed = true;
  }
  if (el.dataset.severity !== s) {
    el.dataset.severity = s;
    changed = true;
  }
  if ((el.dataset.rule ?? "") !== rule) {
    if (rule) el.dataset.rule = rule;
    else delete el.dataset.rule;
    changed = true;
  }
  if (cell && typeof cell.t === "number") {
    el.dataset.changed = String(cell.t);
  } else if (el.dataset.changed !== undefined) {
    delete el.dataset.changed;
  }
  return changed;
}

// tooltip returns the text shown over a cell element: the judgement
// when a rule made one, then how long the value has held.
function tooltip(el, now) {
  const parts = [];
  if (el.dataset.rule !== undefined) parts.push(el.dataset.severity + " by rule " + el.dataset.rule);
  const t = Number(el.dataset.changed);
  if (t) parts.push("value since " + formatTime(t) + " (" + formatAge(now - t) + ")");
  return parts.join(" · ");
}

function element(doc, tag, className) {
  const el = doc.createElement(tag);
  if (className) el.className = className;
  return el;
}

// mountGrid draws the dataview at path (canonical, encoded) into root and
// keeps it live from store. It returns {unmount()}.
export function mountGrid(root, { store, path }) {
  const grid = new Grid(root, store, path);
  return { unmount: () => grid.unmount() };
}

class Grid {
  constructor(root, store, path) {
    this.root = root;
    this.path = path;
    const doc = root.ownerDocument;
    this.doc = doc;

    this.el = element(doc, "div", "dv");
    this.el.dataset.dataview = path;
    const status = element(doc, "p", "dv-status");
    this.sampleTimeEl = element(doc, "span", "sample-time");
    this.staleFlag = element(doc, "span", "stale-flag");
    this.staleFlag.textContent = "STALE";
    this.staleFlag.hidden = true;
    status.append(this.sampleTimeEl, this.staleFlag);
    this.notice = element(doc, "p", "notice");
    this.notice.setAttribute("role", "alert");
    this.notice.hidden = true;
    this.headlinesEl = element(doc, "ul", "headlines");
    this.headlinesEl.setAttribute("aria-label", "Headlines");
    this.headlinesEl.hidden = true;
    const wrap = element(doc, "div", "grid-wrap");
    this.table = element(doc, "table", "grid");
    this.table.dataset.dataview = path;
    this.table.hidden = true;
    this.caption = this.table.createCaption();
    this.caption.className = "visually-hidden";
    this.caption.textContent = "Dataview " + dataviewTitle(path);
    this.thead = this.table.createTHead();
    this.tbody = this.table.createTBody();
    wrap.appendChild(this.table);
    this.el.append(status, this.notice, this.headlinesEl, wrap);
    root.appendChild(this.el);

    this.model = null; // the store's, set by the first note
    this.frame = 0;
    this.clearDirty();
    this.resetDOMIndex();

    // One listener for every cell's end of flash.
    this.onAnimationEnd = (e) => {
      if (e.animationName === FLASH_ANIMATION) e.target.classList.remove(FLASH);
    };
    // Tooltips with the rule's judgement and the time a value last
    // changed, computed on demand.
    this.onMouseOver = (e) => {
      const el = e.target;
      if (!(el instanceof Element) || el.dataset.path === undefined) return;
      const title = tooltip(el, Date.now());
      if (title) el.title = title;
      else el.removeAttribute("title");
    };
    this.el.addEventListener("animationend", this.onAnimationEnd);
    this.el.addEventListener("mouseover", this.onMouseOver);

    this.unsubscribe = store.subscribe(dataviewTopic(path), (model, change) => this.note(model, change));
  }

  unmount() {
    this.unsubscribe();
    cancelAnimationFrame(this.frame);
    this.frame = 0;
    this.el.removeEventListener("animationend", this.onAnimationEnd);
    this.el.removeEventListener("mouseover", this.onMouseOver);
    this.el.remove();
  }

  clearDirty() {
    this.full = false; // rebuild the grid and headlines from the model
    this.metaDirty = false;
    this.dirtyRows = new Map(); // row name -> Set of columns
    this.removedRows = new Set();
    this.dirtyHeadlines = new Set();
  }

  resetDOMIndex() {
    this.tds = new Map(); // "row\0col" -> td
    this.trs = new Map(); // row name -> tr
    this.headlineEls = new Map(); // headline name -> value element
  }

  // note records a change of the model for the next frame.
  note(model, change) {
    this.model = model;
    if (change.full) {
      this.full = true;
      this.metaDirty = true;
    } else if (!this.full) {
      for (const row of change.removed) {
        this.removedRows.add(row);
        this.dirtyRows.delete(row);
      }
      for (const [row, col] of change.cells) {
        let cols = this.dirtyRows.get(row);
        if (!cols) {
          cols = new Set();
          this.dirtyRows.set(row, cols);
        }
        cols.add(col);
      }
      for (const name of change.headlines) this.dirtyHeadlines.add(name);
      this.metaDirty = this.metaDirty || change.meta;
    }
    this.schedule();
  }

  schedule() {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      try {
        this.flush();
      } catch (err) {
        console.error("watchfloor: rendering failed", err);
      }
    });
  }

  // flush brings the DOM up to date with the model.
  flush() {
    if (this.full) {
      this.renderAll();
    } else {
      this.renderChanges();
    }
    if (this.metaDirty) this.renderMeta();
    this.clearDirty();
  }

  renderAll() {
    this.resetDOMIndex();
    const doc = this.doc;
    const live = this.model.state === "live";

    const headRow = doc.createElement("tr");
    const first = element(doc, "th", "rowname-head");
    first.scope = "col";
    first.textContent = "name";
    headRow.appendChild(first);
    for (const col of this.model.columns) {
      const th = doc.createElement("th");
      th.scope = "col";
      th.dataset.column = col;
      th.textContent = col;
      headRow.appendChild(th);
    }
    this.thead.replaceChildren(...(live ? [headRow] : []));

    const body = doc.createDocumentFragment();
    for (const [row, cells] of this.model.rows) body.appendChild(this.createRow(row, cells));
    this.tbody.replaceChildren(body);

    const chips = doc.createDocumentFragment();
    for (const [name, cell] of this.model.headlines) chips.appendChild(this.createHeadline(name, cell));
    this.headlinesEl.replaceChildren(chips);
  }

  createRow(row, cells) {
    const doc = this.doc;
    const tr = doc.createElement("tr");
    tr.dataset.row = row;
    const th = element(doc, "th", "rowname");
    th.scope = "row";
    th.textContent = row;
    tr.appendChild(th);
    for (const col of this.model.columns) {
      const td = doc.createElement("td");
      td.dataset.path = cellPath(this.path, row, col);
      setCell(td, cells.get(col));
      tr.appendChild(td);
      this.tds.set(key(row, col), td);
    }
    this.trs.set(row, tr);
    return tr;
  }

  createHeadline(name, cell) {
    const doc = this.doc;
    const li = element(doc, "li", "headline");
    li.dataset.name = name;
    const label = element(doc, "span", "headline-name");
    label.textContent = name;
    const value = element(doc, "span", "headline-value");
    value.dataset.path = headlinePath(this.path, name);
    setCell(value, cell);
    li.append(label, value);
    this.headlineEls.set(name, value);
    return li;
  }

  renderChanges() {
    for (const row of this.removedRows) {
      const tr = this.trs.get(row);
      if (!tr) continue;
      tr.remove();
      this.trs.delete(row);
      for (const col of this.model.columns) this.tds.delete(key(row, col));
    }
    let added = null;
    for (const [row, cols] of this.dirtyRows) {
      const cells = this.model.rows.get(row);
      if (!cells) continue;
      if (!this.trs.has(row)) {
        // A new row arrives with all its cells; no flash for it.
        if (!added) added = this.doc.createDocumentFragment();
        added.appendChild(this.createRow(row, cells));
        continue;
      }
      for (const col of cols) {
        const td = this.tds.get(key(row, col));
        if (td && setCell(td, cells.get(col))) flash(td);
      }
    }
    if (added) this.tbody.appendChild(added);
    for (const name of this.dirtyHeadlines) {
      const cell = this.model.headlines.get(name);
      const el = this.headlineEls.get(name);
      if (el) {
        if (setCell(el, cell)) flash(el);
      } else {
        this.headlinesEl.appendChild(this.createHeadline(name, cell));
      }
    }
  }

  renderMeta() {
    const m = this.model;
    const live = m.state === "live";
    this.el.dataset.state = m.state;
    this.table.hidden = !live;
    this.headlinesEl.hidden = m.headlines.size === 0;

    const stale = live && m.stale;
    this.table.classList.toggle("stale", stale);
    this.table.dataset.stale = stale ? "true" : "false";
    this.headlinesEl.classList.toggle("stale", stale);
    this.staleFlag.hidden = !stale;

    if (live && m.sampleTime > 0) {
      this.sampleTimeEl.textContent = "sampled " + formatTime(m.sampleTime);
      this.sampleTimeEl.dataset.sampleTime = String(m.sampleTime);
      this.sampleTimeEl.title = new Date(m.sampleTime).toISOString();
    } else {
      this.sampleTimeEl.textContent = m.state === "loading" ? "waiting for data…" : live ? "not sampled yet" : "";
      delete this.sampleTimeEl.dataset.sampleTime;
      this.sampleTimeEl.removeAttribute("title");
    }
    this.table.dataset.sampleTime = String(live ? m.sampleTime : 0);

    const [kind, message] = m.error
      ? ["error", "Gateway error: " + m.error]
      : m.state === "gone"
        ? ["gone", "This dataview no longer exists."]
        : ["", ""];
    this.notice.hidden = !kind;
    this.notice.dataset.kind = kind;
    this.notice.textContent = message;
  }
}
