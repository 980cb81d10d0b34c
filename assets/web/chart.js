// A chart of cells' recorded history (GET /api/v1/history, docs/api.md
// "History"), drawn into the element it is given with the vendored uPlot:
// the grid opens one for a clicked cell, the incident panel one for an
// incident's cells over its life.
//
// The history API sends only changes, each value holding until the next
// point and at least until the dataview's last sample, so every series is
// drawn as a step line and the series are joined on the union of their
// times, each holding its value. The thresholds of the rule that judges a
// cell are drawn as horizontal lines (critical solid, warning dashed, so
// they differ without colour) and listed under the chart in words; the
// chart's root carries the ones it drew in data-thresholds, and its state
// ("loading", "drawn", "empty", "error") in data-state.

import uPlot from "./vendor/uplot/uPlot.esm.js";
import { decodeSegment } from "./paths.js";
import { errorText } from "./ui.js";

export const HISTORY_PATH = "/api/v1/history";

// SERIES_COLOURS are the Okabe–Ito colours, told apart with most kinds of
// colour blindness, minus the yellow and red the thresholds use.
const SERIES_COLOURS = ["#56b4e9", "#e69f00", "#009e73", "#cc79a7", "#0072b2", "#d55e00", "#ffffff"];

const THRESHOLD_STYLE = {
  critical: { colour: "#ff5c5c", dash: [] },
  warning: { colour: "#f2b705", dash: [8, 5] },
};

const MIN_HEIGHT = 120;

function isoTime(t) {
  return t instanceof Date ? t.toISOString() : String(t);
}

// historyURL returns the history request for paths between from and to
// (RFC 3339 strings, Dates, or anything else the API takes), with step if
// given.
export function historyURL(paths, from, to, step = "") {
  const q = new URLSearchParams();
  for (const p of paths) q.append("path", p);
  if (from !== undefined && from !== null && from !== "") q.set("from", isoTime(from));
  if (to !== undefined && to !== null && to !== "") q.set("to", isoTime(to));
  if (step) q.set("step", step);
  return HISTORY_PATH + "?" + q.toString();
}

// numeric returns a point's value as a number to plot, or null for none:
// a gone cell (null) and what has no place on an axis (NaN, ±Inf as text).
function numeric(v) {
  return typeof v === "number" && Number.isFinite(v) ? v : null;
}

function millis(iso) {
  const t = Date.parse(iso);
  return Number.isNaN(t) ? null : t;
}

// alignSeries joins the history answer's series on the union of their
// point times (plus each one's sampled time and fromMs), in Unix ms, and
// returns [xs, ys per series]. A series holds each value from its point on
// and until its sampled time; it has none (null) before its first point,
// after it is sampled, and after a null point (the cell went) until the
// next value. A null point still ends the held value at its own time, so
// the step before it is drawn to its full length.
export function alignSeries(series, fromMs = null) {
  const times = new Set();
  if (fromMs !== null) times.add(fromMs);
  const prepared = series.map((s) => {
    const points = (Array.isArray(s.points) ? s.points : [])
      .filter((p) => Array.isArray(p) && typeof p[0] === "number")
      .map((p) => [p[0], numeric(p[1])])
      .sort((a, b) => a[0] - b[0]);
    for (const [t] of points) times.add(t);
    const sampled = typeof s.sampled === "string" ? millis(s.sampled) : null;
    if (sampled !== null) times.add(sampled);
    return { points, sampled };
  });
  const xs = [...times].sort((a, b) => a - b);
  const ys = prepared.map(({ points, sampled }) => {
    const out = new Array(xs.length);
    let j = -1;
    for (let i = 0; i < xs.length; i++) {
      const x = xs[i];
      while (j + 1 < points.length && points[j + 1][0] <= x) j++;
      if (j < 0 || (sampled !== null && x > sampled)) {
        out[i] = null;
      } else if (points[j][1] === null) {
        out[i] = points[j][0] === x && j > 0 ? points[j - 1][1] : null;
      } else {
        out[i] = points[j][1];
      }
    }
    return out;
  });
  return [xs, ys];
}

// seriesLabel names a cell path for the legend: entity › sampler ›
// dataview › row › column (the probe left out; the tooltip has it all).
export function seriesLabel(path) {
  const segs = String(path).split("/").map(decodeSegment);
  return segs.length > 1 ? segs.slice(1).join(" › ") : segs.join("");
}

// usableThresholds keeps the thresholds with a level the chart knows and
// a finite value.
function usableThresholds(list) {
  return (Array.isArray(list) ? list : []).filter(
    (t) => t && THRESHOLD_STYLE[t.level] && typeof t.value === "number" && Number.isFinite(t.value),
  );
}

function thresholdText(t) {
  return t.level + (typeof t.op === "string" && t.op ? " " + t.op + " " : " at ") + t.value;
}

function cssVar(el, name, fallback) {
  const view = el.ownerDocument.defaultView;
  const v = view && el.isConnected ? view.getComputedStyle(el).getPropertyValue(name).trim() : "";
  return v || fallback;
}

// mountHistoryChart draws the history of the cells at paths (canonical,
// encoded) from from to to (RFC 3339 strings or Dates; the API's
// defaults, the last 15 minutes, when left out) into root, sized to it,
// with thresholds ([{level: "critical"|"warning", value, op?}]) as
// horizontal lines. It returns {unmount()}.
export function mountHistoryChart(root, { api, paths, from, to, thresholds = [] }) {
  const chart = new HistoryChart(root, api, [].concat(paths), from, to, usableThresholds(thresholds));
  return { unmount: () => chart.unmount() };
}

class HistoryChart {
  constructor(root, api, paths, from, to, thresholds) {
    this.root = root;
    this.thresholds = thresholds;
    this.plot = null;
    this.gone = false;
    const doc = root.ownerDocument;
    this.doc = doc;

    this.el = doc.createElement("figure");
    this.el.className = "history-chart";
    this.el.dataset.state = "loading";
    this.el.dataset.paths = paths.join(" ");
    this.status = doc.createElement("p");
    this.status.className = "chart-status";
    this.status.textContent = "loading history…";
    this.plotEl = doc.createElement("div");
    this.plotEl.className = "chart-plot";
    this.legendEl = doc.createElement("figcaption");
    this.legendEl.className = "chart-legend";
    this.thresholdsEl = doc.createElement("ul");
    this.thresholdsEl.className = "chart-thresholds";
    for (const t of thresholds) {
      const li = doc.createElement("li");
      li.dataset.level = t.level;
      li.textContent = thresholdText(t);
      this.thresholdsEl.appendChild(li);
    }
    this.thresholdsEl.hidden = thresholds.length === 0;
    this.el.append(this.status, this.plotEl, this.legendEl);
    this.legendEl.appendChild(this.thresholdsEl);
    root.appendChild(this.el);

    if (paths.length === 0) {
      this.say("empty", "no cells to chart");
      return;
    }
    api.get(historyURL(paths, from, to)).then(
      (answer) => {
        if (!this.gone) this.draw(answer || {});
      },
      (err) => {
        if (!this.gone) this.say("error", "History unavailable: " + errorText(err));
      },
    );
  }

  say(state, text) {
    this.el.dataset.state = state;
    this.status.textContent = text;
    this.status.hidden = text === "";
  }

  size() {
    const width = Math.max(200, Math.floor(this.plotEl.clientWidth || this.root.clientWidth || 600));
    const height = Math.max(MIN_HEIGHT, Math.floor(this.plotEl.clientHeight || 240));
    return { width, height };
  }

  draw(answer) {
    const series = (Array.isArray(answer.series) ? answer.series : []).filter((s) => s && typeof s.path === "string");
    // The range asked for may start before the history window: the
    // chart starts where the oldest series can answer from.
    const starts = series.map((s) => (typeof s.start === "string" ? millis(s.start) : null)).filter((t) => t !== null);
    const asked = typeof answer.from === "string" ? millis(answer.from) : null;
    const fromMs = asked !== null && starts.length > 0 ? Math.max(asked, Math.min(...starts)) : asked;
    const toMs = typeof answer.to === "string" ? millis(answer.to) : null;
    if (series.length === 0) {
      this.say("empty", "no history in this range");
      return;
    }
    const [xs, ys] = alignSeries(series, fromMs);
    this.el.dataset.series = String(series.length);
    this.say("drawn", "");

    const muted = cssVar(this.el, "--muted", "#8b98a7");
    const line = cssVar(this.el, "--line", "#263241");
    const thresholds = this.thresholds;
    const axis = { stroke: muted, grid: { stroke: line, width: 1 }, ticks: { stroke: line, width: 1 } };
    const opts = {
      ...this.size(),
      ms: 1,
      cursor: { drag: { x: false, y: false } },
      legend: { mount: (_, table) => this.legendEl.prepend(table) },
      scales: {
        x: { time: true, range: (_, lo, hi) => [fromMs ?? lo, toMs ?? hi] },
        y: {
          range: (_, lo, hi) => {
            const vals = thresholds.map((t) => t.value);
            if (lo !== null) vals.push(lo, hi);
            if (vals.length === 0) return [0, 1];
            return uPlot.rangeNum(Math.min(...vals), Math.max(...vals), 0.1, true);
          },
        },
      },
      axes: [axis, { ...axis, size: 60 }],
      series: [
        {},
        ...series.map((s, i) => ({
          label: seriesLabel(s.path),
          stroke: SERIES_COLOURS[i % SERIES_COLOURS.length],
          width: 2,
          paths: uPlot.paths.stepped({ align: 1 }),
          points: { show: false },
          value: (_, v) => (v === null || v === undefined ? "—" : String(v)),
        })),
      ],
      hooks: { draw: [(u) => this.drawThresholds(u)] },
    };
    this.plot = new uPlot(opts, [xs, ...ys], this.plotEl);
    const view = this.doc.defaultView;
    if (view && "ResizeObserver" in view) {
      this.resizer = new view.ResizeObserver(() => {
        if (this.plot) this.plot.setSize(this.size());
      });
      this.resizer.observe(this.plotEl);
    }
  }

  // drawThresholds draws each threshold across the plot and notes on the
  // chart's root the ones it drew.
  drawThresholds(u) {
    const ctx = u.ctx;
    const { left, top, width, height } = u.bbox;
    const ratio = this.doc.defaultView ? this.doc.defaultView.devicePixelRatio || 1 : 1;
    const drawn = [];
    ctx.save();
    for (const t of this.thresholds) {
      const y = Math.round(u.valToPos(t.value, "y", true));
      if (!(y >= top && y <= top + height)) continue;
      const style = THRESHOLD_STYLE[t.level];
      ctx.strokeStyle = style.colour;
      ctx.lineWidth = 2 * ratio;
      ctx.setLineDash(style.dash.map((d) => d * ratio));
      ctx.beginPath();
      ctx.moveTo(left, y);
      ctx.lineTo(left + width, y);
      ctx.stroke();
      ctx.fillStyle = style.colour;
      ctx.font = 11 * ratio + "px sans-serif";
      ctx.textAlign = "right";
      ctx.textBaseline = "bottom";
      ctx.fillText(thresholdText(t), left + width - 4 * ratio, y - 2 * ratio);
      drawn.push({ level: t.level, op: t.op ?? "", value: t.value });
    }
    ctx.restore();
    this.el.dataset.thresholds = JSON.stringify(drawn);
  }

  unmount() {
    this.gone = true;
    if (this.resizer) this.resizer.disconnect();
    if (this.plot) this.plot.destroy();
    this.plot = null;
    this.el.remove();
  }
}
