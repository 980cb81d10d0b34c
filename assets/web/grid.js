// The live grid of one dataview, drawn into the element it is given, so
// that a page can hold several (a tile, a panel, an incident).
//
// It is built to keep up with a dataview whose every cell changes four
// times a second, on a wall screen's software-rasterised browser:
//
// - Only what can be seen is drawn. A grid of more than VIRTUAL_ROWS rows
//   scrolls in its own box and draws the rows in view plus OVERSCAN at
//   each end, between two spacer rows that stand for the rest; scrolling
//   moves the rows that left the view to the other end and fills them
//   with the rows coming in. A small grid is drawn whole.
// - The store's model takes every frame at once; the grid only notes what
//   changed, and brings the DOM up to date once per animation frame, in
//   one pass of writes that reads no layout, comparing with what it last
//   wrote (kept in JavaScript, not read back from the DOM). When more
//   cells changed than are drawn, it goes over the drawn ones instead of
//   the changes, so a frame never costs more than the cells on screen.
// - A change is highlighted by the "flash" class, a static background
//   tint that one timer per frame takes off again: no animation runs, so
//   nothing repaints while nothing changes. When most of what is drawn
//   changes at once, the cells are not flashed; the grid's status line
//   says "all changing" instead.
// - Numbers are right-aligned, with the column's unit where it has one;
//   text is left-aligned. Stale data is greyed, and the status line says
//   how long ago it was fresh.
// - A numeric cell shows its last five minutes as a sparkline
//   (sparkline.js): the values the grid has drawn, and what the history
//   API recorded before, asked for once per row as it comes into view.
//   A sparkline is drawn when its row comes into view and again when a
//   step ends, not for every value.
// - Clicking a cell, or Enter on it, calls onActivate with the cell (the
//   dataview view opens its history chart); the arrow keys, Home, End,
//   Page Up and Page Down move between cells.

import { cellPath, dataviewTitle, encodeSegment, headlinePath } from "./paths.js";
import { dataviewTopic } from "./dataview-model.js";
import { severity } from "./severity.js";
import { drawSpark, prepareCanvas, Spark, SPARK_BUCKETS, SPARK_STEP_MS } from "./sparkline.js";
import { historyURL } from "./chart.js";

const FLASH = "flash";

// VIRTUAL_ROWS is the most rows a grid draws whole.
export const VIRTUAL_ROWS = 80;
// OVERSCAN rows are drawn beyond each end of the view, so a scroll of a
// few rows shows drawn rows while the next frame catches up.
export const OVERSCAN = 8;
// FLASH_MS is how long a changed cell stays highlighted.
export const FLASH_MS = 700;
// ALL_CHANGING is the share of the drawn cells that, changing in one
// frame, is summarised rather than flashed.
export const ALL_CHANGING = 0.5;
// MIN_SUMMARY is the fewest changed cells that are ever summarised.
const MIN_SUMMARY = 50;

// Until a row is measured (a grid not laid out yet): a row's height and
// the view's, in CSS pixels.
const DEFAULT_ROW_PX = 24;
const DEFAULT_VIEW_PX = 600;

const SPARK_REDRAW_MS = 1000;
const SPARK_BUDGET = 60;
// HISTORY_ROWS bounds the rows one sparkline history request names (the
// API takes 50 paths).
const HISTORY_ROWS = 40;
const HISTORY_SERIES = 450;
const HISTORY_DELAY_MS = 400;

const NUMBER = /^[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?$/;

// SAMPLER_UNITS are the units of the columns of the samplers Watchfloor
// ships (samplers/*/README.md), by sampler type.
export const SAMPLER_UNITS = {
  cpu: { utilisation: "%", user: "%", system: "%", iowait: "%", steal: "%" },
  memory: { total: "bytes", used: "bytes", available: "bytes", usedPercent: "%" },
};

// unitOf returns the unit of a column: the one units gives, else one its
// name says ("used%", "cpuPercent", "latency_ms", "rss_bytes"), else "".
export function unitOf(column, units = {}) {
  if (units && typeof units[column] === "string") return units[column];
  if (/(%|percent|pct)$/i.test(column)) return "%";
  if (/(_ms|Ms|millis)$/.test(column)) return "ms";
  if (/(_us|Us|micros)$/.test(column)) return "µs";
  if (/(_s|_secs?|seconds)$/i.test(column)) return "s";
  if (/bytes$/i.test(column)) return "bytes";
  return "";
}

const BYTE_UNITS = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];

// formatValue returns a cell's text as shown, and the unit shown after
// it: bytes are scaled to a binary multiple, everything else is the
// sampler's own text.
export function formatValue(text, unit) {
  if (unit !== "bytes") return [text, unit];
  if (!NUMBER.test(text)) return [text, ""];
  let v = Number(text);
  let i = 0;
  while (Math.abs(v) >= 1024 && i < BYTE_UNITS.length - 1) {
    v /= 1024;
    i++;
  }
  return [i === 0 ? text : v.toFixed(v >= 100 ? 0 : v >= 10 ? 1 : 2), BYTE_UNITS[i]];
}

function text(v) {
  return v === undefined || v === null ? "" : String(v);
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

// formatAge renders a duration in ms as "12 s", "3 min 4 s", "2 h 5 min".
function formatAge(ms) {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return s + " s";
  if (s < 3600) return Math.floor(s / 60) + " min " + (s % 60) + " s";
  return Math.floor(s / 3600) + " h " + Math.floor((s % 3600) / 60) + " min";
}

// SPARK_COLOURS stroke a sparkline so it reads on its cell's fill.
const SPARK_COLOURS = { undefined: "#58a6ff", ok: "rgba(255,255,255,0.85)", warning: "#111111", critical: "rgba(255,255,255,0.9)" };

function element(doc, tag, className) {
  const el = doc.createElement(tag);
  if (className) el.className = className;
  return el;
}

// mountGrid draws the dataview at path (canonical, encoded) into root and
// keeps it live from store. api, if given, is asked for the sparklines'
// history; units maps columns to units (unitOf guesses the others);
// onActivate({path, row, column, rule, numeric}) is called for a cell
// clicked or given Enter. It returns {unmount(), setUnits(units)}.
export function mountGrid(root, { store, path, api = null, units = {}, onActivate = null }) {
  const grid = new Grid(root, store, path, api, units, onActivate);
  return { unmount: () => grid.unmount(), setUnits: (u) => grid.setUnits(u) };
}

// A Slot is one drawn cell: its element and what was last written to it.
class Slot {
  constructor(td, valueNode) {
    this.td = td;
    this.valueNode = valueNode;
    this.col = -1; // the column's index; -1 for a headline
    this.canvas = null;
    this.clear();
  }

  clear() {
    this.path = "";
    this.v = null; // the cell's text as sent, null before any write
    this.s = "";
    this.rule = "";
    this.t = 0;
    this.num = NaN;
    this.flashBatch = 0;
    this.sparkDirty = false; // to be drawn at the next tick
    this.sparkDrawn = false; // drawn since it was bound
  }
}

class Grid {
  constructor(root, store, path, api, units, onActivate) {
    this.root = root;
    this.path = path;
    this.api = api;
    this.unitsGiven = units || {};
    this.onActivate = onActivate;
    const doc = root.ownerDocument;
    this.doc = doc;

    this.el = element(doc, "div", "dv");
    this.el.dataset.dataview = path;
    const status = element(doc, "p", "dv-status");
    this.sampleTimeEl = element(doc, "span", "sample-time");
    this.staleFlag = element(doc, "span", "stale-flag");
    this.staleFlag.textContent = "STALE";
    this.staleFlag.hidden = true;
    this.freshEl = element(doc, "span", "fresh-ago");
    this.freshEl.hidden = true;
    this.summaryEl = element(doc, "span", "change-summary");
    this.summaryEl.setAttribute("role", "status");
    this.summaryEl.hidden = true;
    status.append(this.sampleTimeEl, this.staleFlag, this.freshEl, this.summaryEl);
    this.notice = element(doc, "p", "notice");
    this.notice.setAttribute("role", "alert");
    this.notice.hidden = true;
    this.headlinesEl = element(doc, "ul", "headlines");
    this.headlinesEl.setAttribute("aria-label", "Headlines");
    this.headlinesEl.hidden = true;
    this.wrap = element(doc, "div", "grid-wrap");
    this.table = element(doc, "table", "grid");
    this.table.dataset.dataview = path;
    this.table.hidden = true;
    this.caption = this.table.createCaption();
    this.caption.className = "visually-hidden";
    this.caption.textContent = "Dataview " + dataviewTitle(path);
    this.thead = this.table.createTHead();
    this.tbody = this.table.createTBody();
    this.topSpacer = this.spacer();
    this.bottomSpacer = this.spacer();
    this.wrap.appendChild(this.table);
    this.el.append(status, this.notice, this.headlinesEl, this.wrap);
    root.appendChild(this.el);

    this.model = null; // the store's, set by the first note
    this.frame = 0;
    this.columns = [];
    this.units = [];
    this.rowNames = [];
    this.rowIndex = new Map(); // row name -> index in rowNames
    this.drawn = []; // {tr, th, slots, row} in DOM order
    this.byRow = new Map(); // row name -> its entry in drawn
    this.virtual = false;
    this.rowPx = DEFAULT_ROW_PX;
    this.headPx = 0;
    this.viewPx = DEFAULT_VIEW_PX;
    this.scrollTop = 0;
    this.headlineSlots = new Map(); // headline name -> Slot
    this.sparks = new Map(); // cell path -> Spark, for the drawn rows only
    this.askedRows = new Set(); // rows whose sparkline history was asked for
    // The cell in the tab order (one for the whole grid, so a big grid is
    // one stop for Tab, not thousands): the last one focused, or the
    // first drawn; [row, column].
    this.focusKey = null;
    this.tabCell = null;
    this.pendingFocus = false; // a key moved to a row not drawn yet
    this.flashSeq = 0;
    this.summaryUntil = 0;
    this.timers = new Set();
    this.clearDirty();

    this.onMouseOver = (e) => {
      const el = e.target instanceof Element ? e.target.closest("[data-path]") : null;
      if (!el) return;
      const title = this.tooltip(el, Date.now());
      if (title) el.title = title;
      else el.removeAttribute("title");
    };
    this.onScroll = () => {
      this.scrollTop = this.wrap.scrollTop;
      this.windowDirty = true;
      this.schedule();
      this.askHistoryLater();
    };
    this.onClick = (e) => {
      const td = e.target instanceof Element ? e.target.closest("td[data-path]") : null;
      if (td) this.activate(td);
    };
    this.onKeyDown = (e) => this.key(e);
    this.onFocusIn = (e) => {
      const slot = e.target && e.target.tagName === "TD" ? this.slotOf(e.target) : null;
      if (slot) this.focusKey = this.keyOf(slot);
    };

    this.el.addEventListener("mouseover", this.onMouseOver);
    this.wrap.addEventListener("scroll", this.onScroll, { passive: true });
    this.tbody.addEventListener("click", this.onClick);
    this.tbody.addEventListener("keydown", this.onKeyDown);
    this.tbody.addEventListener("focusin", this.onFocusIn);
    const view = doc.defaultView;
    if (view && "ResizeObserver" in view) {
      this.resizer = new view.ResizeObserver((entries) => {
        for (const e of entries) this.viewPx = e.contentRect.height || DEFAULT_VIEW_PX;
        this.windowDirty = true;
        this.schedule();
      });
      this.resizer.observe(this.wrap);
    }
    this.sparkTimer = setInterval(() => this.sparkTick(), SPARK_REDRAW_MS);

    this.unsubscribe = store.subscribe(dataviewTopic(path), (model, change) => this.note(model, change));
  }

  unmount() {
    this.unsubscribe();
    cancelAnimationFrame(this.frame);
    this.frame = 0;
    clearInterval(this.sparkTimer);
    clearInterval(this.freshTimer);
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    if (this.resizer) this.resizer.disconnect();
    this.el.removeEventListener("mouseover", this.onMouseOver);
    this.wrap.removeEventListener("scroll", this.onScroll);
    this.tbody.removeEventListener("click", this.onClick);
    this.tbody.removeEventListener("keydown", this.onKeyDown);
    this.tbody.removeEventListener("focusin", this.onFocusIn);
    this.el.remove();
    this.gone = true;
  }

  setUnits(units) {
    this.unitsGiven = units || {};
    this.full = true;
    this.schedule();
  }

  spacer() {
    const tr = element(this.doc, "tr", "spacer");
    tr.setAttribute("aria-hidden", "true");
    tr.appendChild(this.doc.createElement("td"));
    return tr;
  }

  clearDirty() {
    this.full = false; // rebuild everything from the model
    this.metaDirty = false;
    this.rowsDirty = false; // rows came or went
    this.windowDirty = false; // the drawn window may have moved
    this.sweep = false; // more changed than is drawn: go over the drawn cells
    this.dirty = []; // [row, column] pairs, duplicates allowed
    this.dirtyHeadlines = new Set();
  }

  // note records a change of the model for the next frame. It does no
  // more than remember what changed.
  note(model, change) {
    this.model = model;
    if (change.full) {
      this.full = true;
      this.metaDirty = true;
    } else if (!this.full) {
      if (change.removed.length > 0) this.rowsDirty = true;
      if (!this.sweep) {
        const limit = this.drawnCells() * 2 + 64;
        for (const rc of change.cells) {
          if (!this.rowIndex.has(rc[0])) this.rowsDirty = true;
          this.dirty.push(rc);
          if (this.dirty.length > limit) {
            this.sweep = true;
            this.dirty = [];
            break;
          }
        }
      }
      // Rows new to the grid show in the model's count.
      if (this.sweep && model.rows.size !== this.rowNames.length) this.rowsDirty = true;
      for (const name of change.headlines) this.dirtyHeadlines.add(name);
      this.metaDirty = this.metaDirty || change.meta;
    }
    this.schedule();
  }

  drawnCells() {
    return this.drawn.length * this.columns.length;
  }

  schedule() {
    if (this.frame || this.gone) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      try {
        this.flush();
      } catch (err) {
        console.error("watchfloor: rendering failed", err);
      }
    });
  }

  // flush brings the DOM up to date with the model, in one pass.
  flush() {
    if (!this.model) return;
    const now = Date.now();
    const batch = { changed: [], now };
    // The state first: a table shown can be measured.
    if (this.metaDirty) this.renderMeta();
    if (this.full) {
      this.renderAll();
    } else {
      if (this.rowsDirty) this.reindexRows();
      if (this.windowDirty || this.rowsDirty) this.placeWindow(false);
      if (this.sweep) this.sweepDrawn(batch);
      else this.applyDirty(batch);
      this.applyHeadlines(batch);
      this.highlight(batch);
    }
    this.clearDirty();
  }

  renderAll() {
    const doc = this.doc;
    const m = this.model;
    const live = m.state === "live";
    this.columns = m.columns.slice();
    this.units = this.columns.map((c) => unitOf(c, this.unitsGiven));
    this.topSpacer.firstChild.colSpan = this.columns.length + 1;
    this.bottomSpacer.firstChild.colSpan = this.columns.length + 1;

    const headRow = doc.createElement("tr");
    const first = element(doc, "th", "rowname-head");
    first.scope = "col";
    first.textContent = "name";
    headRow.appendChild(first);
    this.columns.forEach((col, i) => {
      const th = doc.createElement("th");
      th.scope = "col";
      th.dataset.column = col;
      if (this.units[i]) th.dataset.unit = this.units[i];
      th.textContent = col;
      headRow.appendChild(th);
    });
    this.thead.replaceChildren(...(live ? [headRow] : []));

    // Every drawn row is made again: the columns may have changed.
    for (const d of this.drawn) for (const s of d.slots) s.td.classList.remove(FLASH);
    this.drawn = [];
    this.byRow = new Map();
    this.tbody.replaceChildren();
    this.reindexRows();
    this.placeWindow(true);
    // A fresh snapshot (a resynchronisation, say) keeps the sparklines
    // of the cells still drawn, and their history is not asked for again.
    const paths = new Set();
    for (const d of this.drawn) for (const slot of d.slots) paths.add(slot.path);
    for (const p of this.sparks.keys()) if (!paths.has(p)) this.sparks.delete(p);
    for (const r of this.askedRows) if (!this.byRow.has(r)) this.askedRows.delete(r);

    const chips = doc.createDocumentFragment();
    this.headlineSlots = new Map();
    for (const [name, cell] of m.headlines) chips.appendChild(this.createHeadline(name, cell));
    this.headlinesEl.replaceChildren(chips);
    this.askHistoryLater();
  }

  reindexRows() {
    this.rowNames = [...this.model.rows.keys()];
    this.rowIndex = new Map();
    this.rowNames.forEach((r, i) => this.rowIndex.set(r, i));
    const virtual = this.rowNames.length > VIRTUAL_ROWS;
    if (virtual !== this.virtual) {
      this.virtual = virtual;
      this.table.dataset.virtual = String(virtual);
      this.wrap.classList.toggle("virtual", virtual);
      if (virtual) this.measure();
    }
    // Rows drawn that are gone are let go of by placeWindow.
    for (const r of this.askedRows) if (!this.rowIndex.has(r)) this.askedRows.delete(r);
  }

  // measure reads the height of a row and the header once, when the grid
  // turns virtual or is drawn anew, never while applying changes.
  measure() {
    const probe = this.drawn.length > 0 ? this.drawn[0].tr : null;
    const h = probe ? probe.getBoundingClientRect().height : 0;
    if (h > 0) this.rowPx = h;
    const head = this.thead.getBoundingClientRect().height;
    if (head > 0) this.headPx = head;
    const view = this.wrap.clientHeight;
    if (view > 0) this.viewPx = view;
  }

  // windowRange returns [first, last) of the rows to draw.
  windowRange() {
    const n = this.rowNames.length;
    if (!this.virtual) return [0, n];
    const top = Math.max(0, this.scrollTop - this.headPx);
    const first = Math.max(0, Math.floor(top / this.rowPx) - OVERSCAN);
    const count = Math.ceil(this.viewPx / this.rowPx) + 2 * OVERSCAN;
    return [first, Math.min(n, first + count)];
  }

  // placeWindow draws the rows of the window: rows still in it keep their
  // elements; rows that left it are given to the rows that came in. A
  // grid drawn anew (fresh) measures its rows once it has some, and
  // places the window again if they are not the height assumed.
  placeWindow(fresh) {
    const [from, to] = this.windowRange();
    const kept = new Map();
    const free = [];
    for (const d of this.drawn) {
      const i = d.row === null ? undefined : this.rowIndex.get(d.row);
      if (!fresh && i !== undefined && i >= from && i < to && !kept.has(i)) kept.set(i, d);
      else free.push(d);
    }
    const drawn = new Array(to - from);
    this.byRow = new Map();
    for (let i = from; i < to; i++) {
      let d = kept.get(i);
      if (!d) {
        d = free.pop() || this.createRow();
        this.bindRow(d, this.rowNames[i]);
      }
      drawn[i - from] = d;
      this.byRow.set(d.row, d);
    }
    for (const d of free) this.releaseRow(d);
    // Put the rows in order between the spacers; a row already in its
    // place is not moved.
    if (this.virtual) {
      if (this.tbody.firstChild !== this.topSpacer) this.tbody.prepend(this.topSpacer);
    } else {
      this.topSpacer.remove();
    }
    let cursor = this.virtual ? this.topSpacer.nextSibling : this.tbody.firstChild;
    for (const d of drawn) {
      if (cursor === d.tr) cursor = cursor.nextSibling;
      else this.tbody.insertBefore(d.tr, cursor);
    }
    if (this.virtual) {
      if (this.tbody.lastChild !== this.bottomSpacer) this.tbody.appendChild(this.bottomSpacer);
      this.topSpacer.style.height = from * this.rowPx + "px";
      this.bottomSpacer.style.height = (this.rowNames.length - to) * this.rowPx + "px";
    } else {
      this.bottomSpacer.remove();
    }
    this.drawn = drawn;
    if (fresh && this.virtual && drawn.length > 0) {
      const px = this.rowPx;
      this.measure();
      if (this.rowPx !== px) this.placeWindow(false);
    }
    this.restoreFocus();
  }

  createRow() {
    const doc = this.doc;
    const tr = doc.createElement("tr");
    const th = element(doc, "th", "rowname");
    th.scope = "row";
    tr.appendChild(th);
    const slots = this.columns.map(() => {
      const td = doc.createElement("td");
      td.tabIndex = -1;
      const node = doc.createTextNode("");
      td.appendChild(node);
      tr.appendChild(td);
      return new Slot(td, node);
    });
    slots.forEach((slot, i) => (slot.col = i));
    return { tr, th, slots, row: null };
  }

  bindRow(d, row) {
    this.releaseRow(d);
    d.row = row;
    d.tr.dataset.row = row;
    d.th.textContent = row;
    const cells = this.model.rows.get(row);
    const seg = encodeSegment(row);
    d.slots.forEach((slot, i) => {
      slot.path = this.path + "/" + seg + "/" + encodeSegment(this.columns[i]);
      slot.td.dataset.path = slot.path;
      if (this.units[i]) slot.td.dataset.unit = this.units[i];
      else delete slot.td.dataset.unit;
      this.write(slot, cells ? cells.get(this.columns[i]) : undefined, i);
    });
  }

  releaseRow(d) {
    if (d.row === null) return;
    for (const slot of d.slots) {
      this.sparks.delete(slot.path);
      if (slot.flashBatch) slot.td.classList.remove(FLASH);
      slot.clear();
    }
    this.askedRows.delete(d.row);
    d.row = null;
    d.tr.remove();
  }

  // write brings one slot up to date with cell and reports whether its
  // value, severity or rule changed. It only writes.
  write(slot, cell, col) {
    const v = cell ? text(cell.v) : "";
    const s = severity(cell && cell.s);
    const rule = cell && typeof cell.rule === "string" ? cell.rule : "";
    const t = cell && typeof cell.t === "number" ? cell.t : 0;
    const first = slot.v === null;
    let changed = false;
    const td = slot.td;
    if (slot.v !== v) {
      slot.v = v;
      const [shown, unit] = formatValue(v, col >= 0 ? this.units[col] : "");
      slot.valueNode.data = shown;
      if (col >= 0 && this.units[col] === "bytes") {
        if (unit) td.dataset.unit = unit;
        else delete td.dataset.unit;
      }
      const num = NUMBER.test(v) ? Number(v) : NaN;
      if (Number.isNaN(num) !== Number.isNaN(slot.num) || first) td.dataset.kind = Number.isNaN(num) ? "text" : "number";
      slot.num = num;
      if (col >= 0) this.recordSpark(slot, t || this.model.sampleTime || Date.now());
      changed = true;
    }
    if (slot.s !== s) {
      slot.s = s;
      td.dataset.severity = s;
      slot.sparkDirty = true;
      changed = true;
    }
    if (slot.rule !== rule) {
      slot.rule = rule;
      if (rule) td.dataset.rule = rule;
      else delete td.dataset.rule;
      changed = true;
    }
    if (slot.t !== t || first) {
      slot.t = t;
      if (t) td.dataset.changed = String(t);
      else delete td.dataset.changed;
    }
    return changed && !first;
  }

  recordSpark(slot, t) {
    if (Number.isNaN(slot.num)) {
      if (slot.canvas) slot.canvas.hidden = true;
      return;
    }
    let spark = this.sparks.get(slot.path);
    if (!spark) {
      spark = new Spark();
      this.sparks.set(slot.path, spark);
    }
    spark.record(t, slot.num);
    if (!slot.canvas) {
      slot.canvas = element(this.doc, "canvas", "spark");
      prepareCanvas(slot.canvas);
      slot.td.prepend(slot.canvas);
    }
    // A new value shows at the next step; a sparkline not drawn yet (a
    // row just drawn) at the next tick.
    if (slot.canvas.hidden || !slot.sparkDrawn) slot.sparkDirty = true;
    slot.canvas.hidden = false;
  }

  applyDirty(batch) {
    for (const [row, col] of this.dirty) {
      const d = this.byRow.get(row);
      if (!d) continue;
      const i = this.columnIndex(col);
      if (i < 0) continue;
      const cells = this.model.rows.get(row);
      const slot = d.slots[i];
      if (cells && this.write(slot, cells.get(col), i)) batch.changed.push(slot);
    }
  }

  columnIndex(col) {
    if (!this.colIndex || this.colIndexOf !== this.columns) {
      this.colIndex = new Map(this.columns.map((c, i) => [c, i]));
      this.colIndexOf = this.columns;
    }
    const i = this.colIndex.get(col);
    return i === undefined ? -1 : i;
  }

  // sweepDrawn brings every drawn cell up to date: what a frame costs
  // when more cells changed than are drawn.
  sweepDrawn(batch) {
    for (const d of this.drawn) {
      const cells = this.model.rows.get(d.row);
      if (!cells) continue;
      for (let i = 0; i < d.slots.length; i++) {
        if (this.write(d.slots[i], cells.get(this.columns[i]), i)) batch.changed.push(d.slots[i]);
      }
    }
  }

  applyHeadlines(batch) {
    for (const name of this.dirtyHeadlines) {
      const cell = this.model.headlines.get(name);
      const slot = this.headlineSlots.get(name);
      if (slot) {
        if (this.write(slot, cell, -1)) batch.changed.push(slot);
      } else if (cell) {
        this.headlinesEl.appendChild(this.createHeadline(name, cell));
      }
    }
  }

  createHeadline(name, cell) {
    const doc = this.doc;
    const li = element(doc, "li", "headline");
    li.dataset.name = name;
    const label = element(doc, "span", "headline-name");
    label.textContent = name;
    const value = element(doc, "span", "headline-value");
    const node = doc.createTextNode("");
    value.appendChild(node);
    const slot = new Slot(value, node);
    slot.path = headlinePath(this.path, name);
    value.dataset.path = slot.path;
    this.write(slot, cell, -1);
    li.append(label, value);
    this.headlineSlots.set(name, slot);
    return li;
  }

  // highlight flashes the cells a frame changed, or says "all changing"
  // when they are most of what is drawn. The flash is taken off by one
  // timer for the whole frame; a cell changed again meanwhile belongs to
  // the later frame's timer.
  highlight(batch) {
    const changed = batch.changed;
    if (changed.length === 0) return;
    const drawn = this.drawnCells();
    if (changed.length >= MIN_SUMMARY && changed.length >= drawn * ALL_CHANGING) {
      this.summarise(changed.length, drawn, batch.now);
      return;
    }
    const seq = ++this.flashSeq;
    for (const slot of changed) {
      if (!slot.flashBatch) slot.td.classList.add(FLASH);
      slot.flashBatch = seq;
    }
    this.later(FLASH_MS, () => {
      for (const slot of changed) {
        if (slot.flashBatch !== seq) continue;
        slot.flashBatch = 0;
        slot.td.classList.remove(FLASH);
      }
    });
  }

  summarise(n, drawn, now) {
    const text = n >= drawn * 0.9 ? "all changing" : "most changing (" + n + " of " + drawn + ")";
    if (this.summaryEl.textContent !== text) this.summaryEl.textContent = text;
    if (this.summaryEl.hidden) {
      this.summaryEl.hidden = false;
      this.el.dataset.changing = "all";
    }
    const armed = this.summaryUntil > now;
    this.summaryUntil = now + FLASH_MS * 2;
    if (armed) return;
    const check = () => {
      const left = this.summaryUntil - Date.now();
      if (left > 0) {
        this.later(left, check);
        return;
      }
      this.summaryEl.hidden = true;
      delete this.el.dataset.changing;
    };
    this.later(FLASH_MS * 2, check);
  }

  later(ms, f) {
    const t = setTimeout(() => {
      this.timers.delete(t);
      if (!this.gone) f();
    }, ms);
    this.timers.add(t);
  }

  // sparkTick draws, once a second, the sparklines not drawn yet and
  // those whose colour or history changed, and every one drawn when a
  // step ends (its last value is then the step's); at most SPARK_BUDGET a
  // frame, the rest in the frames after. A sparkline is five minutes of
  // 10 s steps: redrawing it for every value would cost a wall screen a
  // good part of a core and show nothing new.
  sparkTick() {
    const now = Date.now();
    const step = Math.floor(now / SPARK_STEP_MS);
    const all = step !== this.sparkStep;
    this.sparkStep = step;
    const queue = [];
    for (const d of this.drawn) {
      for (const slot of d.slots) {
        if (slot.canvas && !slot.canvas.hidden && (slot.sparkDirty || all)) queue.push(slot);
      }
    }
    const drawSome = () => {
      if (this.gone) return;
      const t = Date.now();
      for (const slot of queue.splice(0, SPARK_BUDGET)) {
        const spark = this.sparks.get(slot.path);
        if (!spark || !slot.canvas || slot.canvas.hidden) continue;
        slot.sparkDirty = false;
        slot.sparkDrawn = true;
        const points = spark.points(t);
        slot.canvas.dataset.points = String(drawSpark(slot.canvas, points, SPARK_COLOURS[slot.s] || SPARK_COLOURS.undefined));
      }
      if (queue.length > 0) requestAnimationFrame(drawSome);
    };
    if (queue.length > 0) requestAnimationFrame(drawSome);
  }

  // askHistoryLater asks, once the view has settled, for the recorded
  // history of the drawn rows not asked for yet.
  askHistoryLater() {
    if (!this.api) return;
    clearTimeout(this.historyTimer);
    this.timers.delete(this.historyTimer);
    this.historyTimer = setTimeout(() => {
      this.timers.delete(this.historyTimer);
      if (!this.gone) this.askHistory();
    }, HISTORY_DELAY_MS);
    this.timers.add(this.historyTimer);
  }

  askHistory() {
    const rows = this.drawn.map((d) => d.row).filter((r) => r !== null && !this.askedRows.has(r));
    // Each row's pattern selects its columns: keep under the API's cap
    // of series per answer.
    const per = Math.max(1, Math.min(HISTORY_ROWS, Math.floor(HISTORY_SERIES / Math.max(1, this.columns.length))));
    // Steps start at from: on a step's boundary, so that they are the
    // sparklines' own buckets.
    const from = new Date((Math.floor(Date.now() / SPARK_STEP_MS) - SPARK_BUCKETS) * SPARK_STEP_MS);
    for (let i = 0; i < rows.length; i += per) {
      const part = rows.slice(i, i + per);
      for (const r of part) this.askedRows.add(r);
      const patterns = part.map((r) => this.path + "/" + encodeSegment(r) + "/*");
      const url = historyURL(patterns, from, "", SPARK_STEP_MS + "ms");
      this.api.get(url).then(
        (answer) => this.mergeHistory(answer),
        () => {
          // Sparklines go on with the live values alone.
        },
      );
    }
  }

  // mergeHistory fills the drawn cells' sparklines from a history answer
  // with steps: [Unix ms, min, max, last]. Live values already recorded
  // are kept.
  mergeHistory(answer) {
    if (this.gone || !answer || !Array.isArray(answer.series)) return;
    const slots = new Map();
    for (const d of this.drawn) for (const s of d.slots) slots.set(s.path, s);
    for (const series of answer.series) {
      const slot = series && slots.get(series.path);
      if (!slot || Number.isNaN(slot.num) || !Array.isArray(series.steps)) continue;
      let spark = this.sparks.get(slot.path);
      if (!spark) {
        spark = new Spark();
        this.sparks.set(slot.path, spark);
      }
      for (const step of series.steps) {
        if (Array.isArray(step) && typeof step[3] === "number") spark.record(step[0], step[3], true);
      }
      slot.sparkDirty = true;
    }
  }

  slotOf(td) {
    const tr = td.parentElement;
    const d = tr ? this.byRow.get(tr.dataset.row) : null;
    if (!d) return null;
    return d.slots.find((s) => s.td === td) || null;
  }

  keyOf(slot) {
    return [slot.td.parentElement.dataset.row, this.columns[slot.col]];
  }

  activate(td) {
    const slot = this.slotOf(td);
    if (!slot || !this.onActivate) return;
    const [row, column] = this.keyOf(slot);
    this.onActivate({ path: slot.path, row, column, rule: slot.rule, numeric: !Number.isNaN(slot.num) });
  }

  // key moves between cells and activates one; in a virtual grid the
  // move scrolls, and the cell is focused once its row is drawn.
  key(e) {
    const td = e.target;
    if (!(td instanceof Element) || td.tagName !== "TD" || !td.dataset.path) return;
    if (e.key === "Enter" || e.key === " ") {
      e.preventDefault();
      this.activate(td);
      return;
    }
    const slot = this.slotOf(td);
    if (!slot) return;
    const [row, column] = this.keyOf(slot);
    let r = this.rowIndex.get(row);
    let c = this.columnIndex(column);
    const page = Math.max(1, Math.floor(this.viewPx / this.rowPx) - 1);
    switch (e.key) {
      case "ArrowUp": r--; break;
      case "ArrowDown": r++; break;
      case "ArrowLeft": c--; break;
      case "ArrowRight": c++; break;
      case "PageUp": r -= page; break;
      case "PageDown": r += page; break;
      case "Home": c = 0; if (e.ctrlKey) r = 0; break;
      case "End": c = this.columns.length - 1; if (e.ctrlKey) r = this.rowNames.length - 1; break;
      default: return;
    }
    e.preventDefault();
    r = Math.max(0, Math.min(this.rowNames.length - 1, r));
    c = Math.max(0, Math.min(this.columns.length - 1, c));
    this.focusKey = [this.rowNames[r], this.columns[c]];
    if (this.virtual && !this.byRow.has(this.rowNames[r])) {
      // Bring the row into view; placeWindow focuses the cell once drawn.
      this.pendingFocus = true;
      this.wrap.scrollTop = this.headPx + r * this.rowPx - this.viewPx / 2;
      return;
    }
    this.restoreFocus(true);
  }

  // restoreFocus keeps the one cell in the tab order, and the keyboard on
  // the cell it was on when rows are recycled, or puts it there after a
  // move.
  restoreFocus(move = false) {
    let d = this.focusKey ? this.byRow.get(this.focusKey[0]) : null;
    let i = d ? this.columnIndex(this.focusKey[1]) : -1;
    if (i < 0) {
      d = this.drawn[0];
      i = 0;
    }
    const slot = d && d.slots[i];
    if (!slot) return;
    const td = slot.td;
    if (this.tabCell !== td) {
      if (this.tabCell) this.tabCell.tabIndex = -1;
      td.tabIndex = 0;
      this.tabCell = td;
    }
    if (!this.focusKey || this.keyOf(slot)[0] !== this.focusKey[0]) return;
    const active = this.doc.activeElement;
    if (active === td) return;
    if (move || this.pendingFocus || (active && this.tbody.contains(active))) {
      this.pendingFocus = false;
      td.focus({ preventScroll: !move });
    }
  }

  // tooltip returns the text shown over a cell element: the judgement
  // when a rule made one, the exact value when it is shown scaled, then
  // how long the value has held.
  tooltip(el, now) {
    const parts = [];
    if (el.dataset.rule !== undefined) parts.push(el.dataset.severity + " by rule " + el.dataset.rule);
    const slot = el.tagName === "TD" ? this.slotOf(el) : null;
    if (slot && slot.v !== null && slot.valueNode.data !== slot.v) parts.push(slot.v + " bytes");
    const t = Number(el.dataset.changed);
    if (t) parts.push("value since " + formatTime(t) + " (" + formatAge(now - t) + ")");
    if (slot && !Number.isNaN(slot.num) && this.onActivate) parts.push("click for its history");
    return parts.join(" · ");
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
    this.showFresh(stale);

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

  // showFresh says, while the data is stale, how long ago it was last
  // sampled, counting up once a second.
  showFresh(stale) {
    clearInterval(this.freshTimer);
    this.freshTimer = 0;
    const since = this.model.sampleTime;
    this.freshEl.hidden = !stale || !(since > 0);
    if (this.freshEl.hidden) return;
    this.freshEl.dataset.since = String(since);
    const tick = () => {
      this.freshEl.textContent = "fresh " + formatAge(Date.now() - since) + " ago";
    };
    tick();
    this.freshTimer = setInterval(tick, 1000);
  }
}
