// Sparklines: a numeric cell's recent history, small enough to sit in
// the cell beside its value.
//
// A Spark keeps a fixed number of time buckets (SPARK_BUCKETS of
// SPARK_STEP_MS each: the last five minutes), each holding the last value
// seen in it, so a cell changing four times a second costs one array
// write per change and its memory never grows. The values come from the
// grid's frames and, for what happened before the page looked, from the
// history API's steps (which the grid asks for with SPARK_STEP_MS as the
// step). Only changes are recorded, so a bucket with nothing in it holds
// the value before it, as the history API's points do.

export const SPARK_BUCKETS = 30;
export const SPARK_STEP_MS = 10_000;

// The canvas's size in CSS pixels (style.css gives .spark the same).
export const SPARK_WIDTH = 40;
export const SPARK_HEIGHT = 14;

export class Spark {
  constructor() {
    this.vals = new Float64Array(SPARK_BUCKETS).fill(NaN);
    this.end = -Infinity; // the bucket number of vals' last slot
  }

  // advance makes the bucket of time t (Unix ms) the last slot, if it is
  // later than the last one.
  advance(t) {
    const b = Math.floor(t / SPARK_STEP_MS);
    if (b <= this.end) return;
    const shift = b - this.end;
    if (shift >= SPARK_BUCKETS) {
      // Carry the latest value over a long quiet spell: it still holds.
      const last = this.latest();
      this.vals.fill(NaN);
      if (!Number.isNaN(last)) this.vals[0] = last;
    } else {
      this.vals.copyWithin(0, shift);
      this.vals.fill(NaN, SPARK_BUCKETS - shift);
    }
    this.end = b;
  }

  // latest returns the last value recorded, or NaN.
  latest() {
    for (let i = SPARK_BUCKETS - 1; i >= 0; i--) if (!Number.isNaN(this.vals[i])) return this.vals[i];
    return NaN;
  }

  // record notes value v at time t; a time older than the buckets is
  // dropped. With keep, a bucket that already holds a value keeps it (a
  // history step never overwrites what a live frame said).
  record(t, v, keep = false) {
    if (!Number.isFinite(v) || !Number.isFinite(t)) return;
    this.advance(t);
    const i = SPARK_BUCKETS - 1 - (this.end - Math.floor(t / SPARK_STEP_MS));
    if (i < 0) return;
    if (keep && !Number.isNaN(this.vals[i])) return;
    this.vals[i] = v;
  }

  // points returns the buckets' values as of now with each gap after a
  // value holding that value, NaN before the first.
  points(now) {
    this.advance(now);
    const out = new Float64Array(SPARK_BUCKETS);
    let held = NaN;
    for (let i = 0; i < SPARK_BUCKETS; i++) {
      if (!Number.isNaN(this.vals[i])) held = this.vals[i];
      out[i] = held;
    }
    return out;
  }
}

// prepareCanvas sizes a sparkline's canvas for the screen's pixel ratio
// once, when it is made.
export function prepareCanvas(canvas) {
  const ratio = (canvas.ownerDocument.defaultView && canvas.ownerDocument.defaultView.devicePixelRatio) || 1;
  canvas.width = Math.round(SPARK_WIDTH * ratio);
  canvas.height = Math.round(SPARK_HEIGHT * ratio);
  canvas.setAttribute("aria-hidden", "true");
}

// drawSpark draws values (as Spark.points gives them) into canvas as a
// line scaled to their range, from the first value across the whole
// width, in colour; a flat or single value is a line across the middle.
// It returns how many values it drew.
export function drawSpark(canvas, values, colour) {
  const ctx = canvas.getContext("2d");
  const w = canvas.width;
  const h = canvas.height;
  ctx.clearRect(0, 0, w, h);
  let lo = Infinity;
  let hi = -Infinity;
  let first = -1;
  values.forEach((v, i) => {
    if (Number.isNaN(v)) return;
    if (first < 0) first = i;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  });
  if (first < 0) return 0;
  const n = values.length - first;
  const pad = Math.max(1, h * 0.12);
  const span = hi - lo;
  const y = (v) => (span > 0 ? h - pad - ((v - lo) / span) * (h - 2 * pad) : h / 2);
  const dx = n > 1 ? w / (n - 1) : w;
  ctx.strokeStyle = colour;
  ctx.lineWidth = Math.max(1, h / 10);
  ctx.lineJoin = "round";
  ctx.beginPath();
  ctx.moveTo(0, y(values[first]));
  if (n === 1) ctx.lineTo(w, y(values[first]));
  for (let i = first + 1; i < values.length; i++) ctx.lineTo((i - first) * dx, y(values[i]));
  ctx.stroke();
  return n;
}
