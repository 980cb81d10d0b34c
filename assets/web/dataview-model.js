// The state of one dataview topic, as the gateway's frames describe it
// (docs/dashboard-protocol.md, "dataview/<path>"). The store keeps one per
// subscribed dataview and every grid of that dataview draws from it.

// DATAVIEW_TOPIC_PREFIX starts every dataview's topic.
export const DATAVIEW_TOPIC_PREFIX = "dataview/";

// dataviewTopic returns the topic of the dataview at path (canonical,
// encoded).
export function dataviewTopic(path) {
  return DATAVIEW_TOPIC_PREFIX + path;
}

function text(v) {
  return v === undefined || v === null ? "" : String(v);
}

function list(v) {
  return Array.isArray(v) ? v : [];
}

// DataviewModel holds a dataview's columns, rows (in arrival order),
// headlines, sample time and staleness. A cell is the frame's
// {v, s, t, rule}.
export class DataviewModel {
  constructor(path) {
    this.path = path;
    // "loading" until the first snapshot, then "live", or "gone" while
    // the dataview does not exist.
    this.state = "loading";
    this.error = ""; // the gateway's last error about this topic
    this.clear();
  }

  clear() {
    this.columns = [];
    this.columnSet = new Set();
    this.rows = new Map(); // row name -> Map(column -> cell)
    this.headlines = new Map(); // headline name -> cell
    this.sampleTime = 0;
    this.stale = false;
  }

  // apply takes one frame of this topic and returns what changed, for
  // views: {full: true} when everything may have, else
  // {meta, removed: [row], cells: [[row, column]], headlines: [name]}
  // (meta: sample time, staleness, state or error). It returns null when
  // the frame changes nothing.
  apply(frame) {
    switch (frame.type) {
      case "snapshot":
        this.applySnapshot(frame);
        return { full: true };
      case "delta":
        // Before the first snapshot (or after "gone") a delta has nothing
        // to apply to; a snapshot is on its way.
        if (this.state !== "live") return null;
        return this.applyDelta(frame);
      case "gone":
        this.clear();
        this.state = "gone";
        return { full: true };
      case "error":
        this.error = text(frame.message);
        return { full: false, meta: true, removed: [], cells: [], headlines: [] };
      default:
        return null;
    }
  }

  applySnapshot(frame) {
    this.clear();
    this.state = "live";
    this.error = "";
    this.columns = list(frame.columns).map(text);
    this.columnSet = new Set(this.columns);
    for (const r of list(frame.rows)) {
      if (!r || r.name === undefined) continue;
      const cells = new Map();
      const given = list(r.cells);
      this.columns.forEach((c, i) => {
        if (given[i]) cells.set(c, given[i]);
      });
      this.rows.set(text(r.name), cells);
    }
    for (const h of list(frame.headlines)) {
      if (h && h.name !== undefined) this.headlines.set(text(h.name), h);
    }
    this.sampleTime = typeof frame.sampleTime === "number" ? frame.sampleTime : 0;
    this.stale = frame.stale === true;
  }

  applyDelta(frame) {
    const change = { full: false, meta: false, removed: [], cells: [], headlines: [] };
    if (typeof frame.sampleTime === "number") {
      this.sampleTime = frame.sampleTime;
      change.meta = true;
    }
    if (typeof frame.stale === "boolean") {
      this.stale = frame.stale;
      change.meta = true;
    }
    // Removals go first: a row removed and sent again comes back new.
    for (const name of list(frame.removed)) {
      const row = text(name);
      if (this.rows.delete(row)) change.removed.push(row);
    }
    for (const c of list(frame.cells)) {
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
      change.cells.push([row, col]);
    }
    for (const h of list(frame.headlines)) {
      if (!h || h.name === undefined) continue;
      const name = text(h.name);
      this.headlines.set(name, h);
      change.headlines.push(name);
    }
    return change;
  }
}
