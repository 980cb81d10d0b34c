import { assert, test } from "./runner.js";
import { formatTime, mountGrid } from "../grid.js";
import { cell, detached, dvDelta, dvSnapshot, liveStore, nextFrame } from "./fakes.js";

const P = "my%20probe/e/s/d";

function paths(root) {
  return [...root.querySelectorAll("[data-path]")].map((el) => el.dataset.path);
}

function td(root, path) {
  return root.querySelector(`[data-path="${path}"]`);
}

async function grid(t, { store, transport } = liveStore(), path = P) {
  const root = detached();
  const g = mountGrid(root, { store, path });
  t.cleanup(() => g.unmount());
  await nextFrame();
  return { root, g, store, transport };
}

const SNAP = dvSnapshot(P, {
  columns: ["util", "user"],
  rows: { total: [cell("12.5", "ok"), cell("3.1", "warning")], "cpu/0": [cell("7", "critical")] },
  headlines: { "load 1": cell("0.52", "undefined") },
  sampleTime: Date.UTC(2026, 11, 1, 8, 0, 0, 123),
});

test("grid: waits for data, then draws the snapshot", async (t) => {
  const { root, transport } = await grid(t);
  assert.equal(root.querySelector(".dv").dataset.state, "loading", "state before the snapshot");
  assert.equal(root.querySelector(".sample-time").textContent, "waiting for data…", "status before the snapshot");
  assert.equal(root.querySelector("table").hidden, true, "table hidden before the snapshot");

  transport.deliver(SNAP);
  await nextFrame();
  assert.equal(root.querySelector(".dv").dataset.state, "live", "state");
  assert.deepEqual(
    paths(root),
    [
      "my%20probe/e/s/d/#/load%201",
      "my%20probe/e/s/d/total/util",
      "my%20probe/e/s/d/total/user",
      "my%20probe/e/s/d/cpu%2F0/util",
      "my%20probe/e/s/d/cpu%2F0/user",
    ],
    "data-paths: headlines, then cells row by row",
  );
  assert.deepEqual(
    [...root.querySelectorAll("[data-path]")].map((el) => [el.textContent, el.dataset.severity]),
    [["0.52", "undefined"], ["12.5", "ok"], ["3.1", "warning"], ["7", "critical"], ["", "undefined"]],
    "values and severities (a missing cell is empty and undefined)",
  );
  assert.deepEqual([...root.querySelectorAll("thead th")].map((th) => th.textContent), ["name", "util", "user"], "header");
  const st = root.querySelector(".sample-time");
  assert.ok(st.textContent.startsWith("sampled "), "sample time text " + JSON.stringify(st.textContent));
  assert.equal(st.dataset.sampleTime, String(SNAP.sampleTime), "sample time");
  assert.equal(root.querySelector("table").dataset.stale, "false", "stale mark");
  assert.equal(root.querySelector(".stale-flag").hidden, true, "STALE flag hidden");
});

test("grid: a delta changes and flashes only its cells, adds and removes rows", async (t) => {
  const { root, transport } = await grid(t);
  transport.deliver(SNAP);
  await nextFrame();
  const unchanged = td(root, P + "/total/util");
  transport.deliver(
    dvDelta(P, {
      removed: ["cpu/0"],
      cells: [
        { r: "total", c: "user", v: "4.2", s: "critical", t: 2 },
        { r: "new row", c: "util", v: "1", s: "ok", t: 2 },
        { r: "new row", c: "user", v: "2", s: "ok", t: 2 },
      ],
      headlines: [{ name: "load 1", v: "0.60", s: "warning", t: 2 }],
    }),
  );
  await nextFrame();
  const changed = td(root, P + "/total/user");
  assert.equal(changed.textContent, "4.2", "changed value");
  assert.equal(changed.dataset.severity, "critical", "changed severity");
  assert.ok(changed.classList.contains("flash"), "changed cell flashes");
  assert.equal(unchanged.classList.contains("flash"), false, "unchanged cell flashes");
  assert.equal(td(root, P + "/total/util"), unchanged, "unchanged cell is the same element");
  assert.equal(td(root, P + "/cpu%2F0/util"), null, "removed row");
  assert.deepEqual([...root.querySelectorAll("tbody tr")].map((tr) => tr.dataset.row), ["total", "new row"], "rows");
  assert.equal(td(root, P + "/#/load%201").textContent, "0.60", "headline");
});

// hover moves the mouse over el and returns its tooltip.
function hover(el) {
  el.dispatchEvent(new MouseEvent("mouseover", { bubbles: true }));
  return el.title;
}

test("grid: a cell's rule is its data-rule and leads its tooltip", async (t) => {
  const { root, transport } = await grid(t);
  const since = Date.now() - 5000;
  transport.deliver(
    dvSnapshot(P, {
      columns: ["util", "user"],
      rows: { total: [cell("97", "critical", since, "cpu-busy"), cell("3.1", "ok", since)] },
      headlines: { "load 1": cell("9", "warning", since, "load-per-core") },
    }),
  );
  await nextFrame();
  const judged = td(root, P + "/total/util");
  assert.equal(judged.dataset.rule, "cpu-busy", "data-rule of a judged cell");
  assert.equal(td(root, P + "/total/user").hasAttribute("data-rule"), false, "data-rule of a cell no rule judged");
  assert.equal(td(root, P + "/#/load%201").dataset.rule, "load-per-core", "data-rule of a headline");
  const tip = hover(judged);
  const want = "critical by rule cpu-busy · value since " + formatTime(since) + " (";
  assert.ok(tip.startsWith(want) && tip.endsWith(" s)"), "tooltip " + JSON.stringify(tip) + " starts with " + JSON.stringify(want));
  const plain = hover(td(root, P + "/total/user"));
  assert.ok(plain.startsWith("value since " + formatTime(since) + " ("), "tooltip without a rule " + JSON.stringify(plain));
  assert.ok(hover(td(root, P + "/#/load%201")).startsWith("warning by rule load-per-core · "), "headline tooltip");
});

test("grid: a delta that changes only a cell's judgement updates it", async (t) => {
  const { root, transport } = await grid(t);
  transport.deliver(
    dvSnapshot(P, {
      columns: ["a", "b", "c"],
      rows: { r: [cell("5", "ok", 7), cell("6", "warning", 7, "rule-b"), cell("7", "ok", 7, "old-rule")] },
    }),
  );
  await nextFrame();
  transport.deliver(
    dvDelta(P, {
      cells: [
        { r: "r", c: "a", v: "5", s: "critical", t: 7, rule: "rule-a" },
        { r: "r", c: "b", v: "6", s: "undefined", t: 7 },
        { r: "r", c: "c", v: "7", s: "ok", t: 7, rule: "new-rule" },
      ],
    }),
  );
  await nextFrame();
  const [a, b, c] = ["a", "b", "c"].map((col) => td(root, P + "/r/" + col));
  assert.deepEqual([a.textContent, a.dataset.severity, a.dataset.rule], ["5", "critical", "rule-a"], "a newly judged cell");
  assert.deepEqual([b.dataset.severity, b.hasAttribute("data-rule")], ["undefined", false], "a cell no rule judges any more");
  assert.deepEqual([c.dataset.severity, c.dataset.rule], ["ok", "new-rule"], "a cell judged by another rule");
  assert.ok(a.classList.contains("flash"), "a changed severity flashes");
  assert.ok(c.classList.contains("flash"), "a changed rule flashes");
  assert.ok(hover(a).startsWith("critical by rule rule-a · "), "tooltip after the change " + JSON.stringify(a.title));
  assert.ok(hover(b).startsWith("value since "), "tooltip without the rule " + JSON.stringify(b.title));
});

test("grid: stale data is marked and greyed", async (t) => {
  const { root, transport } = await grid(t);
  transport.deliver(SNAP);
  transport.deliver(dvDelta(P, { stale: true }));
  await nextFrame();
  const table = root.querySelector("table");
  assert.equal(table.dataset.stale, "true", "data-stale");
  assert.ok(table.classList.contains("stale"), "stale class");
  assert.equal(root.querySelector(".stale-flag").hidden, false, "STALE flag shown");
  assert.ok(root.querySelector(".headlines").classList.contains("stale"), "headlines greyed");
});

test("grid: gone and errors are said", async (t) => {
  const { root, transport } = await grid(t);
  transport.deliver(SNAP);
  transport.deliver({ type: "gone", topic: "dataview/" + P, dataview: P });
  await nextFrame();
  const notice = root.querySelector(".notice");
  assert.equal(notice.dataset.kind, "gone", "notice kind");
  assert.equal(notice.hidden, false, "notice shown");
  assert.equal(paths(root).length, 0, "cells left");
  transport.deliver({ type: "error", topic: "dataview/" + P, message: "not allowed" });
  await nextFrame();
  assert.equal(notice.textContent, "Gateway error: not allowed", "error notice");
  transport.deliver(SNAP);
  await nextFrame();
  assert.equal(notice.hidden, true, "notice after a snapshot");
});

test("grid: two grids of different dataviews on one page keep to their own", async (t) => {
  const env = liveStore();
  const Q = "q/e/s/d";
  const a = await grid(t, env, P);
  const b = await grid(t, env, Q);
  const page = detached();
  page.append(a.root, b.root);
  env.transport.deliver(SNAP);
  env.transport.deliver(dvSnapshot(Q, { columns: ["c"], rows: { r: [cell("x")] } }));
  await nextFrame();
  assert.equal(paths(a.root).length, 5, "cells in the first");
  assert.deepEqual(paths(b.root), ["q/e/s/d/r/c"], "cells in the second");
  env.transport.deliver(dvDelta(Q, { cells: [{ r: "r", c: "c", v: "y", s: "critical", t: 3 }] }));
  await nextFrame();
  assert.equal(td(b.root, "q/e/s/d/r/c").textContent, "y", "second grid's cell");
  assert.equal(a.root.querySelectorAll(".flash").length, 0, "flashes in the first grid");
  assert.equal(page.querySelectorAll("table").length, 2, "tables on the page");
});

test("grid: a second grid of the same dataview shows it at once, on one subscription", async (t) => {
  const env = liveStore();
  const a = await grid(t, env);
  env.transport.deliver(SNAP);
  env.transport.deliver(dvDelta(P, { cells: [{ r: "total", c: "util", v: "99", s: "critical", t: 5 }] }));
  const b = await grid(t, env);
  assert.deepEqual(paths(b.root), paths(a.root), "same cells");
  assert.equal(td(b.root, P + "/total/util").textContent, "99", "current value in the late grid");
  assert.deepEqual(env.transport.take(), [{ op: "subscribe", topic: "dataview/" + P }], "requests");
});

test("grid: unmounting releases the subscription and the element", async (t) => {
  const env = liveStore();
  const a = await grid(t, env);
  const b = await grid(t, env);
  env.transport.take();
  env.transport.deliver(SNAP);
  a.g.unmount();
  assert.equal(a.root.childNodes.length, 0, "first root emptied");
  assert.deepEqual(env.transport.take(), [], "requests while the second grid stays");
  b.g.unmount();
  assert.deepEqual(env.transport.take(), [{ op: "unsubscribe", topic: "dataview/" + P }], "requests after the last grid");
  env.transport.deliver(dvDelta(P, { cells: [{ r: "total", c: "util", v: "1", s: "ok", t: 6 }] }));
  await nextFrame();
  assert.equal(b.root.childNodes.length, 0, "second root after a late frame");
});
