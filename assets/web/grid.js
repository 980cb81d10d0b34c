// The live grid of one dataview.
//
// Messages update a small model at once (cheap, and bounded by the size of
// the dataview); the DOM follows once per animation frame, touching only
// the cells that changed. A background tab therefore costs nothing but the
// model updates, and catches up in one frame when shown again.

import { cellPath, headlinePath, decodeSegment, parseDataviewPath } from "./paths.js";

const SEVERITIES = new Set(["undefined", "ok", "warning", "critical"]);
const FLASH = "flash";
const FLASH_ANIMATION = "wf-flash";

function severity(s) {
  return SEVERITIES.has(s) ? s : "undefined";
}

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
// removed again on animationend (see GridView's constructor).
function flash(el) {
  if (el.classList.contains(FLASH)) {
    // Still flashing from an earlier change: rewind the running animation
    // rather than forcing a style recalculation.
    let rewound = false;
    if (el.getAnimations) {
      for (const a of el.getAnimations()) {
        if (a.animationName === FLASH_ANIMATION) {
          a.currentTime = 0;
          a.play();
          rewound = true;
        }
      }
    }
    if (rewound) return;
    el.classList.remove(FLASH);
    void el.offsetWidth; // restart the animation
  }
  el.classList.add(FLASH);
}

// setCell writes a cell's value and severity into el and reports whether
// either changed.
function setCell(el, cell) {
  const v = cell ? text(cell.v) : "";
  const s = cell ? severity(cell.s) : "undefined";
  let changed = false;
  if (el.textContent !== v) {
    el.textContent = v;
    changed = true;
  }
  if (el.dataset.severity !== s) {
    el.dataset.severity = s;
    changed = true;
  }
  if (cell && typeof cell.t === "number") {
    el.dataset.changed = String(cell.t);
  } else if (el.dataset.changed !== undefined) {
    delete el.dataset.changed;
  }
  return changed;
}

// GridView renders the chosen dataview into the page's #view.
export class GridView {
  constructor(doc = document) {
    this.doc = doc;
    this.view = doc.getElementById("view");
    this.title = doc.getElementById("view-title");
    this.sampleTimeEl = doc.getElementById("sample-time");
    this.staleFlag = doc.getElementById("stale-flag");
    this.notice = doc.getElementById("notice");
    this.headlinesEl = doc.getElementById("headlines");
    this.table = doc.getElementById("grid");
    this.thead = this.table.tHead || this.table.createTHead();
    this.tbody = this.table.tBodies[0] || this.table.createTBody();
    this.caption = this.table.caption || this.table.createCaption();

    this.path = null;
    this.state = "empty";
    this.noticeKind = "";
    this.noticeText = "";
    this.resetModel();
    this.resetDOMIndex();
    this.frame = 0;

    // One listener for every cell's end of flash.
    this.view.addEventListener("animationend", (e) => {
      if (e.animationName === FLASH_ANIMATION) e.target.classList.remove(FLASH);
    });
    // Tooltips with the time a value last changed, computed on demand.
    this.view.addEventListener("mouseover", (e) => {
      const el = e.target;
      if (!(el instanceof Element) || el.dataset.changed === undefined) return;
      const t = Number(el.dataset.changed);
      if (!t) return;
      el.title = "value since " + formatTime(t) + " (" + formatAge(Date.now() - t) + ")";
    });
  }

  resetModel() {
    this.haveSnapshot = false;
    this.columns = [];
    this.columnSet = new Set();
    this.rows = new Map(); // row name -> Map(column -> cell)
    this.headlines = new Map(); // headline name -> cell
    this.sampleTime = 0;
    this.stale = false;
    // What the next frame must do.
    this.full = true; // rebuild the grid and headlines from the model
    this.dirtyRows = new Map(); // row name -> Set of columns
    this.removedRows = new Set();
    this.dirtyHeadlines = new Set();
    this.metaDirty = true;
  }

  resetDOMIndex() {
    this.tds = new Map(); // "row\0col" -> td
    this.trs = new Map(); // row name -> tr
    this.headlineEls = new Map(); // headline name -> value element
  }

  // select shows dataview path (canonical, encoded), or nothing for null.
  // invalid is set when the location named something that is not a
  // dataview path.
  select(path, invalid) {
    this.path = path;
    this.resetModel();
    this.setNotice("", "");
    if (invalid !== undefined) {
      this.state = "invalid";
      this.setNotice("invalid", "Not a dataview path: " + invalid);
    } else {
      this.state = path ? "loading" : "empty";
    }
    this.schedule();
  }

  setNotice(kind, message) {
    this.noticeKind = kind;
    this.noticeText = message;
    this.metaDirty = true;
  }

  // handle applies one server message; it returns false for messages
  // about another dataview (late frames of an old subscription).
  handle(msg) {
    switch (msg.type) {
      case "snapshot":
        if (msg.dataview !== this.path) return false;
        this.applySnapshot(msg);
        break;
      case "delta":
        if (msg.dataview !== this.path) return false;
        if (!this.haveSnapshot) return false; // a snapshot is on its way
        this.applyDelta(msg);
        break;
      case "gone":
        if (msg.dataview !== this.path) return false;
        this.resetModel();
        this.state = "gone";
        this.setNotice("gone", "This dataview no longer exists.");
        break;
      case "error":
        this.setNotice("error", "Gateway error: " + text(msg.message));
        break;
      default:
        return false;
    }
    this.schedule();
    return true;
  }

  applySnapshot(msg) {
    this.resetModel();
    this.haveSnapshot = true;
    this.state = "live";
    if (this.noticeKind === "gone" || this.noticeKind === "error") this.setNotice("", "");
    this.columns = Array.isArray(msg.columns) ? msg.columns.map(text) : [];
    this.columnSet = new Set(this.columns);
    for (const r of Array.isArray(msg.rows) ? msg.rows : []) {
      if (!r || r.name === undefined) continue;
      const cells = new Map();
      const list = Array.isArray(r.cells) ? r.cells : [];
      this.columns.forEach((c, i) => {
        if (list[i]) cells.set(c, list[i]);
      });
      this.rows.set(text(r.name), cells);
    }
    for (const h of Array.isArray(msg.headlines) ? msg.headlines : []) {
      if (h && h.name !== undefined) this.headlines.set(text(h.name), h);
    }
    this.sampleTime = typeof msg.sampleTime === "number" ? msg.sampleTime : 0;
    this.stale = msg.stale === true;
  }

  applyDelta(msg) {
    if (typeof msg.sampleTime === "number") {
      this.sampleTime = msg.sampleTime;
      this.metaDirty = true;
    }
    if (typeof msg.stale === "boolean") {
      this.stale = msg.stale;
      this.metaDirty = true;
    }
    // Removals first: a row removed and added again within one frame comes
    // back as a new row at the end.
    if (Array.isArray(msg.removed)) {
      for (const name of msg.removed) {
        const row = text(name);
        this.rows.delete(row);
        this.dirtyRows.delete(row);
        this.removedRows.add(row);
      }
    }
    if (Array.isArray(msg.cells)) {
      for (const c of msg.cells) {
        if (!c) continue;
        const row = text(c.r);
        const col = text(c.c);
        if (!this.columnSet.has(col)) {
          console.warn("watchfloor: delta for unknown column", col, "in", this.path);
          continue;
        }
        let cells = this.rows.get(row);
        if (!cells) {
          cells = new Map();
          this.rows.set(row, cells);
        }
        cells.set(col, c);
        let dirty = this.dirtyRows.get(row);
        if (!dirty) {
          dirty = new Set();
          this.dirtyRows.set(row, dirty);
        }
        dirty.add(col);
      }
    }
    if (Array.isArray(msg.headlines)) {
      for (const h of msg.headlines) {
        if (!h || h.name === undefined) continue;
        const name = text(h.name);
        this.headlines.set(name, h);
        this.dirtyHeadlines.add(name);
      }
    }
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
    this.full = false;
    this.dirtyRows.clear();
    this.removedRows.clear();
    this.dirtyHeadlines.clear();
    if (this.metaDirty) this.renderMeta();
    this.metaDirty = false;
  }

  renderAll() {
    this.resetDOMIndex();
    const doc = this.doc;

    const headRow = doc.createElement("tr");
    if (this.haveSnapshot) {
      const first = doc.createElement("th");
      first.scope = "col";
      first.className = "rowname-head";
      first.textContent = "name";
      headRow.appendChild(first);
      for (const col of this.columns) {
        const th = doc.createElement("th");
        th.scope = "col";
        th.dataset.column = col;
        th.textContent = col;
        headRow.appendChild(th);
      }
    }
    this.thead.replaceChildren(...(this.haveSnapshot ? [headRow] : []));

    const body = doc.createDocumentFragment();
    for (const [row, cells] of this.rows) body.appendChild(this.createRow(row, cells));
    this.tbody.replaceChildren(body);

    const chips = doc.createDocumentFragment();
    for (const [name, cell] of this.headlines) chips.appendChild(this.createHeadline(name, cell));
    this.headlinesEl.replaceChildren(chips);
  }

  createRow(row, cells) {
    const doc = this.doc;
    const tr = doc.createElement("tr");
    tr.dataset.row = row;
    const th = doc.createElement("th");
    th.scope = "row";
    th.className = "rowname";
    th.textContent = row;
    tr.appendChild(th);
    for (const col of this.columns) {
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
    const li = doc.createElement("li");
    li.className = "headline";
    li.dataset.name = name;
    const label = doc.createElement("span");
    label.className = "headline-name";
    label.textContent = name;
    const value = doc.createElement("span");
    value.className = "headline-value";
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
      for (const col of this.columns) this.tds.delete(key(row, col));
    }
    let added = null;
    for (const [row, cols] of this.dirtyRows) {
      const cells = this.rows.get(row);
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
      const cell = this.headlines.get(name);
      const el = this.headlineEls.get(name);
      if (el) {
        if (setCell(el, cell)) flash(el);
      } else {
        this.headlinesEl.appendChild(this.createHeadline(name, cell));
      }
    }
  }

  renderMeta() {
    const view = this.view;
    view.dataset.state = this.state;
    view.dataset.dataview = this.path || "";
    this.table.dataset.dataview = this.path || "";
    this.table.hidden = !this.haveSnapshot;
    this.headlinesEl.hidden = this.headlines.size === 0;

    let title = "No dataview selected";
    if (this.path) {
      const parsed = parseDataviewPath(this.path);
      if (parsed) title = parsed.segments.map(decodeSegment).join(" › ");
    }
    this.title.textContent = title;
    this.caption.textContent = this.path ? "Dataview " + title : "";

    const stale = this.haveSnapshot && this.stale;
    this.table.classList.toggle("stale", stale);
    this.table.dataset.stale = stale ? "true" : "false";
    this.headlinesEl.classList.toggle("stale", stale);
    this.staleFlag.hidden = !stale;

    if (this.haveSnapshot && this.sampleTime > 0) {
      this.sampleTimeEl.textContent = "sampled " + formatTime(this.sampleTime);
      this.sampleTimeEl.dataset.sampleTime = String(this.sampleTime);
      this.sampleTimeEl.title = new Date(this.sampleTime).toISOString();
    } else {
      this.sampleTimeEl.textContent =
        this.state === "loading" ? "waiting for data…" : this.haveSnapshot ? "not sampled yet" : "";
      delete this.sampleTimeEl.dataset.sampleTime;
      this.sampleTimeEl.removeAttribute("title");
    }
    this.table.dataset.sampleTime = String(this.haveSnapshot ? this.sampleTime : 0);

    this.notice.hidden = !this.noticeKind;
    this.notice.dataset.kind = this.noticeKind;
    this.notice.textContent = this.noticeText;
  }
}
