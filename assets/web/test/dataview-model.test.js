import { assert, test } from "./runner.js";
import { DataviewModel } from "../dataview-model.js";
import { captureConsole, cell, dvDelta, dvSnapshot } from "./fakes.js";

const P = "p/e/s/d";

function rowsOf(m) {
  return [...m.rows].map(([name, cells]) => [name, Object.fromEntries([...cells].map(([c, v]) => [c, v.v]))]);
}

function live() {
  const m = new DataviewModel(P);
  m.apply(
    dvSnapshot(P, {
      columns: ["a", "b"],
      rows: { r1: [cell("1"), cell("2")], r2: [cell("3"), cell("4")] },
      headlines: { load: cell("0.5", "undefined") },
      sampleTime: 1000,
    }),
  );
  return m;
}

test("dataview model: a snapshot replaces everything", () => {
  const m = live();
  assert.equal(m.state, "live", "state");
  assert.deepEqual(m.columns, ["a", "b"], "columns");
  assert.deepEqual(rowsOf(m), [["r1", { a: "1", b: "2" }], ["r2", { a: "3", b: "4" }]], "rows");
  assert.equal(m.headlines.get("load").v, "0.5", "headline");
  const change = m.apply(dvSnapshot(P, { columns: ["x"], rows: { q: [cell("9")] }, stale: true }));
  assert.deepEqual(change, { full: true }, "change");
  assert.deepEqual(rowsOf(m), [["q", { x: "9" }]], "rows after a second snapshot");
  assert.equal(m.headlines.size, 0, "headlines after a second snapshot");
  assert.equal(m.stale, true, "stale");
});

test("dataview model: a delta before the first snapshot is ignored", () => {
  const m = new DataviewModel(P);
  assert.equal(m.apply(dvDelta(P, { cells: [{ r: "r1", c: "a", v: "1" }] })), null, "change");
  assert.equal(m.rows.size, 0, "rows");
  assert.equal(m.state, "loading", "state");
});

test("dataview model: a delta changes cells, adds rows and removes rows first", () => {
  const m = live();
  const change = m.apply(
    dvDelta(P, {
      sampleTime: 2000,
      removed: ["r1", "gone"],
      cells: [
        { r: "r2", c: "b", v: "40", s: "warning", t: 2000 },
        { r: "r1", c: "a", v: "10", s: "ok", t: 2000 },
        { r: "r1", c: "b", v: "20", s: "ok", t: 2000 },
      ],
      headlines: [{ name: "load", v: "0.7", s: "undefined", t: 2000 }, { name: "new", v: "x", s: "ok", t: 2000 }],
    }),
  );
  assert.deepEqual(rowsOf(m), [["r2", { a: "3", b: "40" }], ["r1", { a: "10", b: "20" }]], "rows: r1 removed, then back at the end");
  assert.deepEqual(
    change,
    { full: false, meta: true, removed: ["r1"], cells: [["r2", "b"], ["r1", "a"], ["r1", "b"]], headlines: ["load", "new"] },
    "change",
  );
  assert.equal(m.sampleTime, 2000, "sample time");
  assert.deepEqual([...m.headlines.keys()], ["load", "new"], "headlines");
});

test("dataview model: applying a delta twice changes nothing more", () => {
  const m = live();
  const d = dvDelta(P, { cells: [{ r: "r2", c: "a", v: "5", s: "critical", t: 3000 }], stale: true });
  m.apply(d);
  const once = JSON.stringify(rowsOf(m));
  m.apply(d);
  assert.equal(JSON.stringify(rowsOf(m)), once, "rows after the repeat");
  assert.equal(m.stale, true, "stale");
});

test("dataview model: a cell of an unknown column is skipped", (t) => {
  const warnings = captureConsole(t, "warn");
  const m = live();
  const change = m.apply(dvDelta(P, { cells: [{ r: "r1", c: "zzz", v: "1" }] }));
  assert.deepEqual(change.cells, [], "cells changed");
  assert.equal(m.rows.get("r1").has("zzz"), false, "stored");
  assert.equal(warnings.length, 1, "warnings");
});

test("dataview model: gone empties it until the next snapshot", () => {
  const m = live();
  assert.deepEqual(m.apply({ type: "gone", topic: "dataview/" + P, dataview: P }), { full: true }, "change");
  assert.equal(m.state, "gone", "state");
  assert.equal(m.rows.size, 0, "rows");
  assert.equal(m.apply(dvDelta(P, { cells: [{ r: "r1", c: "a", v: "1" }] })), null, "a delta while gone");
  m.apply(dvSnapshot(P, { columns: ["a"], rows: { r: [cell("1")] } }));
  assert.equal(m.state, "live", "state after a snapshot");
});

test("dataview model: an error is kept until the next snapshot", () => {
  const m = new DataviewModel(P);
  const change = m.apply({ type: "error", topic: "dataview/" + P, message: "at most 64 subscriptions per connection" });
  assert.equal(change.meta, true, "meta changed");
  assert.equal(m.error, "at most 64 subscriptions per connection", "error");
  m.apply(dvSnapshot(P, {}));
  assert.equal(m.error, "", "error after a snapshot");
});
