import { assert, test } from "./runner.js";
import { FLASH_MS, formatTime, formatValue, mountGrid, SAMPLER_UNITS, unitOf, VIRTUAL_ROWS } from "../grid.js";
import { Spark, SPARK_BUCKETS, SPARK_STEP_MS } from "../sparkline.js";
import { attached, cell, detached, dvDelta, dvSnapshot, FakeApi, liveStore, nextFrame } from "./fakes.js";

const P = "my%20probe/e/s/d";

function paths(root) {
  return [...root.querySelectorAll("[data-path]")].map((el) => el.dataset.path);
}

// subscriptions returns the subscribe and unsubscribe requests sent since
// the last take (the store sends others, such as its pace).
function subscriptions(transport) {
  return transport.take().filter((m) => m.op === "subscribe" || m.op === "unsubscribe");
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
  assert.deepEqual(subscriptions(env.transport), [{ op: "subscribe", topic: "dataview/" + P }], "requests");
});

test("grid: unmounting releases the subscription and the element", async (t) => {
  const env = liveStore();
  const a = await grid(t, env);
  const b = await grid(t, env);
  env.transport.take();
  env.transport.deliver(SNAP);
  a.g.unmount();
  assert.equal(a.root.childNodes.length, 0, "first root emptied");
  assert.deepEqual(subscriptions(env.transport), [], "requests while the second grid stays");
  b.g.unmount();
  assert.deepEqual(subscriptions(env.transport), [{ op: "unsubscribe", topic: "dataview/" + P }], "requests after the last grid");
  env.transport.deliver(dvDelta(P, { cells: [{ r: "total", c: "util", v: "1", s: "ok", t: 6 }] }));
  await nextFrame();
  assert.equal(b.root.childNodes.length, 0, "second root after a late frame");
});

// bigSnapshot builds a snapshot of rows × cols numeric cells named r0…,
// c0….
function bigSnapshot(path, rows, cols, v = "1") {
  const columns = Array.from({ length: cols }, (_, i) => "c" + i);
  const r = {};
  for (let i = 0; i < rows; i++) r["r" + i] = columns.map(() => cell(v, "ok", 1000));
  return dvSnapshot(path, { columns, rows: r });
}

// allCells builds a delta giving every cell of a rows × cols grid value v.
function allCells(path, rows, cols, v) {
  const cells = [];
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) cells.push({ r: "r" + i, c: "c" + j, v, s: "ok", t: 2000 });
  return dvDelta(path, { cells });
}

// mounted mounts a grid in the page, for what needs layout (scrolling).
async function mounted(t, opts = {}) {
  const env = liveStore();
  const root = attached(t);
  const g = mountGrid(root, { store: env.store, path: P, ...opts });
  t.cleanup(() => g.unmount());
  await nextFrame();
  return { root, g, ...env };
}

function rowsDrawn(root) {
  return [...root.querySelectorAll("tbody tr[data-row]")].map((tr) => tr.dataset.row);
}

// frames waits for n animation frames.
async function frames(n) {
  for (let i = 0; i < n; i++) await nextFrame();
}

test("grid: a small grid is drawn whole, a big one only around the view", async (t) => {
  const small = await grid(t);
  small.transport.deliver(bigSnapshot(P, VIRTUAL_ROWS, 3));
  await nextFrame();
  assert.equal(rowsDrawn(small.root).length, VIRTUAL_ROWS, "rows of a grid of " + VIRTUAL_ROWS);
  assert.equal(small.root.querySelector("table").dataset.virtual, undefined, "a small grid is not virtual");

  const { root, transport } = await mounted(t);
  transport.deliver(bigSnapshot(P, 1000, 10));
  await nextFrame();
  const table = root.querySelector("table.grid[data-dataview]");
  assert.equal(table.dataset.virtual, "true", "data-virtual");
  const drawn = rowsDrawn(root);
  assert.ok(drawn.length > 10 && drawn.length < 120, "rows drawn of 1000: " + drawn.length);
  assert.equal(drawn[0], "r0", "the first row drawn");
  assert.deepEqual(drawn, drawn.map((_, i) => "r" + i), "rows in order");
  assert.ok(td(root, P + "/r0/c0"), "a cell in view has its data-path");
  assert.equal(td(root, P + "/r999/c9"), null, "a cell far out of view is not drawn");
  const [top, bottom] = root.querySelectorAll("tbody tr.spacer");
  assert.equal(top.style.height, "0px", "nothing above");
  const rowPx = root.querySelector("tbody tr[data-row]").getBoundingClientRect().height;
  assert.ok(Math.abs(parseFloat(bottom.style.height) - (1000 - drawn.length) * rowPx) < 1, "the bottom spacer stands for the rows below: " + bottom.style.height);
  const wrap = root.querySelector(".grid-wrap");
  assert.ok(wrap.scrollHeight > 900 * rowPx, "the box scrolls over every row: " + wrap.scrollHeight);
});

test("grid: scrolling recycles the rows that left the view for those that came in", async (t) => {
  const { root, transport } = await mounted(t);
  transport.deliver(bigSnapshot(P, 1000, 4));
  await nextFrame();
  const before = new Set(root.querySelectorAll("tbody tr[data-row]"));
  const count = before.size;
  const wrap = root.querySelector(".grid-wrap");
  const rowPx = root.querySelector("tbody tr[data-row]").getBoundingClientRect().height;
  wrap.scrollTop = 500 * rowPx;
  wrap.dispatchEvent(new Event("scroll"));
  await frames(2);
  const drawn = rowsDrawn(root);
  assert.ok(drawn.includes("r500"), "the row scrolled to is drawn: " + drawn[0] + "…" + drawn[drawn.length - 1]);
  assert.equal(drawn.includes("r0"), false, "the first row left");
  const after = [...root.querySelectorAll("tbody tr[data-row]")];
  assert.ok(Math.abs(after.length - count) <= 1, "as many rows drawn: " + after.length + " for " + count);
  assert.ok(after.filter((tr) => before.has(tr)).length >= count - 1, "the same elements, rebound");
  const c = td(root, P + "/r500/c2");
  assert.deepEqual([c.textContent, c.dataset.severity], ["1", "ok"], "a rebound cell shows its row's value");
  // A row a little further on keeps the rows both windows share.
  const mid = td(root, P + "/r505/c0").parentElement;
  wrap.scrollTop = 503 * rowPx;
  wrap.dispatchEvent(new Event("scroll"));
  await frames(2);
  assert.equal(td(root, P + "/r505/c0").parentElement, mid, "a row in both windows keeps its element");
  assert.deepEqual(rowsDrawn(root), rowsDrawn(root).slice().sort((a, b) => a.slice(1) - b.slice(1)), "rows in order after the scroll");
});

// mutations records what the DOM under el goes through until the next
// frame has drawn.
async function mutations(el, act) {
  const seen = [];
  const obs = new MutationObserver((ms) => seen.push(...ms));
  obs.observe(el, { subtree: true, childList: true, attributes: true, characterData: true });
  act();
  await nextFrame();
  seen.push(...obs.takeRecords());
  obs.disconnect();
  return seen;
}

function cellOf(node) {
  const el = node.nodeType === Node.TEXT_NODE ? node.parentElement : node;
  return el.closest("[data-path]");
}

test("grid: a frame touches only the cells it changed, and no more than are drawn", async (t) => {
  const { root, transport } = await mounted(t);
  transport.deliver(bigSnapshot(P, 1000, 10));
  await frames(2);
  const table = root.querySelector("table");
  const one = await mutations(table, () => transport.deliver(dvDelta(P, { cells: [{ r: "r3", c: "c4", v: "7", s: "ok", t: 2000 }] })));
  assert.ok(one.length > 0, "the change was drawn");
  assert.deepEqual([...new Set(one.map((m) => cellOf(m.target).dataset.path))], [P + "/r3/c4"], "elements touched by a one-cell change");
  assert.equal(td(root, P + "/r3/c4").textContent, "7", "the changed value");

  const off = await mutations(table, () => transport.deliver(dvDelta(P, { cells: [{ r: "r900", c: "c1", v: "7", s: "critical", t: 2000 }] })));
  assert.equal(off.length, 0, "mutations for a change out of view");

  const drawn = root.querySelectorAll("td[data-path]").length;
  const all = await mutations(table, () => transport.deliver(allCells(P, 1000, 10, "9")));
  const touched = new Set(all.map((m) => cellOf(m.target)).filter(Boolean));
  assert.ok(touched.size <= drawn && touched.size > 0, "cells touched by a change of all 10,000: " + touched.size + " (" + drawn + " drawn)");
  assert.equal(td(root, P + "/r0/c0").textContent, "9", "a drawn cell's new value");
  const wrap = root.querySelector(".grid-wrap");
  const rowPx = root.querySelector("tbody tr[data-row]").getBoundingClientRect().height;
  wrap.scrollTop = 899 * rowPx;
  wrap.dispatchEvent(new Event("scroll"));
  await frames(2);
  assert.deepEqual([td(root, P + "/r900/c1").textContent, td(root, P + "/r900/c1").dataset.severity], ["9", "ok"], "a cell drawn later shows the latest value");
});

test("grid: many frames before one draw are applied in that one draw", async (t) => {
  const { root, transport } = await grid(t);
  transport.deliver(bigSnapshot(P, 10, 2));
  await nextFrame();
  for (let i = 0; i < 50; i++) transport.deliver(dvDelta(P, { cells: [{ r: "r1", c: "c1", v: String(i), s: "ok", t: 2000 + i }] }));
  const seen = await mutations(root, () => {});
  assert.equal(td(root, P + "/r1/c1").textContent, "49", "the last value");
  assert.equal(seen.filter((m) => m.type === "characterData").length, 1, "text writes for 50 frames");
});

test("grid: a change flashes for a moment; most of the grid changing at once is said, not flashed", async (t) => {
  const { root, transport } = await grid(t);
  transport.deliver(bigSnapshot(P, 20, 10));
  await nextFrame();
  transport.deliver(dvDelta(P, { cells: [{ r: "r2", c: "c2", v: "5", s: "ok", t: 2000 }] }));
  await nextFrame();
  const c = td(root, P + "/r2/c2");
  assert.ok(c.classList.contains("flash"), "a changed cell flashes");
  assert.equal(root.querySelector(".change-summary").hidden, true, "no summary for one change");
  await new Promise((resolve) => setTimeout(resolve, FLASH_MS + 100));
  assert.equal(c.classList.contains("flash"), false, "the flash is over after " + FLASH_MS + " ms");

  transport.deliver(allCells(P, 20, 10, "6"));
  await nextFrame();
  assert.equal(root.querySelectorAll("td.flash").length, 0, "cells flashing when all change");
  const summary = root.querySelector(".change-summary");
  assert.deepEqual([summary.hidden, summary.textContent], [false, "all changing"], "the summary");
  assert.equal(root.querySelector(".dv").dataset.changing, "all", "data-changing");
  assert.equal(td(root, P + "/r19/c9").textContent, "6", "values still drawn");
  await new Promise((resolve) => setTimeout(resolve, FLASH_MS * 2 + 150));
  assert.equal(summary.hidden, true, "the summary goes once the changes stop");
  assert.equal(root.querySelector(".dv").dataset.changing, undefined, "data-changing once the changes stop");
});

test("grid: units, numbers right and text left", async (t) => {
  assert.equal(unitOf("used%"), "%", "a % column");
  assert.equal(unitOf("usedPercent"), "%", "a Percent column");
  assert.equal(unitOf("latency_ms"), "ms", "a _ms column");
  assert.equal(unitOf("rss_bytes"), "bytes", "a bytes column");
  assert.equal(unitOf("utilisation", SAMPLER_UNITS.cpu), "%", "a cpu column");
  assert.equal(unitOf("name"), "", "a column without a unit");
  assert.deepEqual(formatValue("1536", "bytes"), ["1.50", "KiB"], "bytes scaled");
  assert.deepEqual(formatValue("8589934592", "bytes"), ["8.00", "GiB"], "GiB");
  assert.deepEqual(formatValue("12", "bytes"), ["12", "B"], "a few bytes");
  assert.deepEqual(formatValue("12.5", "%"), ["12.5", "%"], "other units keep the text");

  const { root, transport } = await mounted(t);
  transport.deliver(dvSnapshot(P, { columns: ["used%", "rss_bytes", "state"], rows: { a: [cell("12.5"), cell("2097152"), cell("running")] } }));
  await nextFrame();
  const [pct, bytes, state] = ["used%25", "rss_bytes", "state"].map((c) => td(root, P + "/a/" + c));
  assert.deepEqual([pct.textContent, pct.dataset.unit, pct.dataset.kind], ["12.5", "%", "number"], "a percentage");
  assert.deepEqual([bytes.textContent, bytes.dataset.unit], ["2.00", "MiB"], "bytes");
  assert.equal(getComputedStyle(pct, "::after").content, '"%"', "the unit is shown after the number");
  assert.equal(getComputedStyle(pct).textAlign, "right", "numbers right-aligned");
  assert.deepEqual([state.dataset.kind, state.dataset.unit, getComputedStyle(state).textAlign], ["text", undefined, "left"], "text left-aligned");
  assert.equal(root.querySelector('th[data-column="used%"]').dataset.unit, "%", "the unit in the header");
  assert.ok(hover(bytes).startsWith("2097152 bytes"), "the exact bytes in the tooltip: " + bytes.title);
});

test("grid: stale data says how long ago it was fresh", async (t) => {
  const { root, transport } = await grid(t);
  const sampled = Date.now() - 12_000;
  transport.deliver(dvSnapshot(P, { columns: ["a"], rows: { r: [cell("1")] }, sampleTime: sampled }));
  await nextFrame();
  const fresh = root.querySelector(".fresh-ago");
  assert.equal(fresh.hidden, true, "nothing said while fresh");
  transport.deliver(dvDelta(P, { stale: true }));
  await nextFrame();
  assert.equal(fresh.hidden, false, "said when stale");
  assert.ok(/^fresh 1[23] s ago$/.test(fresh.textContent), "fresh text " + JSON.stringify(fresh.textContent));
  transport.deliver(dvDelta(P, { stale: false, sampleTime: Date.now() }));
  await nextFrame();
  assert.equal(fresh.hidden, true, "gone when fresh again");
});

// until resolves once cond() holds, checking every 50 ms, or after ms.
async function until(cond, ms) {
  const end = Date.now() + ms;
  while (!cond() && Date.now() < end) await new Promise((resolve) => setTimeout(resolve, 50));
}

// historyApi answers every history request with answer(url) and records
// the URLs.
function historyApi(answer) {
  const api = new FakeApi();
  api.request = function (method, path) {
    this.calls.push([method, path]);
    return Promise.resolve(answer(path));
  };
  return api;
}

test("grid: a numeric cell's sparkline draws live values and the recorded history", async (t) => {
  const now = Date.now();
  const steps = Array.from({ length: 20 }, (_, i) => [now - (29 - i) * SPARK_STEP_MS, i, i, i]);
  const api = historyApi((url) => {
    const q = new URL(url, "http://x.invalid");
    return { from: "", to: "", series: q.searchParams.getAll("path").map((p) => ({ path: p.replace("/*", "/a"), steps })) };
  });
  const { root, transport } = await mounted(t, { api });
  transport.deliver(dvSnapshot(P, { columns: ["a", "b"], rows: { r: [cell("5", "ok", now), cell("text")] } }));
  await nextFrame();
  const canvas = td(root, P + "/r/a").querySelector("canvas.spark");
  assert.ok(canvas, "a numeric cell has a sparkline");
  assert.equal(td(root, P + "/r/b").querySelector("canvas.spark"), null, "a text cell has none");
  assert.equal(td(root, P + "/r/a").textContent, "5", "the cell's text is its value");
  // The history is asked for once the view settles, the sparkline drawn
  // within a second or so.
  await until(() => Number(canvas.dataset.points) >= 25, 5000);
  const asked = api.calls.map(([, url]) => new URL(url, "http://x.invalid"));
  assert.equal(asked.length, 1, "history requests");
  assert.deepEqual(asked[0].searchParams.getAll("path"), [P + "/r/*"], "one pattern per row");
  assert.equal(asked[0].searchParams.get("step"), SPARK_STEP_MS + "ms", "with the sparkline's step");
  const points = Number(canvas.dataset.points);
  assert.ok(points >= 25, "points drawn from the history and the live value: " + points);
  const px = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
  assert.ok(px.some((v, i) => i % 4 === 3 && v > 0), "the sparkline has ink");
  // A fresh snapshot (a resynchronisation) keeps what the sparkline knew.
  transport.deliver(dvSnapshot(P, { columns: ["a", "b"], rows: { r: [cell("6", "ok", Date.now()), cell("text")] } }));
  await nextFrame();
  const again = td(root, P + "/r/a").querySelector("canvas.spark");
  await until(() => again.dataset.points !== undefined, 5000);
  assert.ok(Number(again.dataset.points) >= 25, "points after a fresh snapshot: " + again.dataset.points);
  await new Promise((resolve) => setTimeout(resolve, 600));
  assert.equal(api.calls.length, 1, "history requests after a fresh snapshot");
});

test("grid: a click or Enter on a cell activates it; arrows move between cells", async (t) => {
  const activated = [];
  const { root, transport } = await mounted(t, { onActivate: (c) => activated.push(c) });
  transport.deliver(dvSnapshot(P, { columns: ["a", "b"], rows: { r1: [cell("5", "critical", 1, "hot"), cell("x")], r2: [cell("6"), cell("7")] } }));
  await nextFrame();
  td(root, P + "/r1/a").click();
  assert.deepEqual(activated, [{ path: P + "/r1/a", row: "r1", column: "a", rule: "hot", numeric: true }], "a click");
  assert.deepEqual([...root.querySelectorAll('[tabindex="0"]')], [td(root, P + "/r1/a")], "one cell in the tab order, the first");
  td(root, P + "/r1/a").focus();
  const press = (key) => document.activeElement.dispatchEvent(new KeyboardEvent("keydown", { key, bubbles: true, cancelable: true }));
  press("ArrowDown");
  assert.equal(document.activeElement, td(root, P + "/r2/a"), "ArrowDown");
  press("ArrowRight");
  assert.equal(document.activeElement, td(root, P + "/r2/b"), "ArrowRight");
  press("ArrowRight");
  assert.equal(document.activeElement, td(root, P + "/r2/b"), "ArrowRight at the end stays");
  press("Home");
  assert.equal(document.activeElement, td(root, P + "/r2/a"), "Home");
  press("Enter");
  assert.deepEqual(activated[1], { path: P + "/r2/a", row: "r2", column: "a", rule: "", numeric: true }, "Enter");
  assert.deepEqual([...root.querySelectorAll('[tabindex="0"]')], [td(root, P + "/r2/a")], "the tab stop follows the keyboard");
});

test("grid: the keyboard walks a big grid past the rows drawn", async (t) => {
  const { root, transport } = await mounted(t);
  transport.deliver(bigSnapshot(P, 1000, 2));
  await nextFrame();
  root.querySelector('td[tabindex="0"]').focus();
  const press = (key, ctrlKey = false) => document.activeElement.dispatchEvent(new KeyboardEvent("keydown", { key, ctrlKey, bubbles: true, cancelable: true }));
  press("End", true);
  for (let i = 0; i < 10 && document.activeElement.dataset.path !== P + "/r999/c1"; i++) await nextFrame();
  assert.equal(document.activeElement.dataset.path, P + "/r999/c1", "Ctrl+End reaches the last cell");
  press("ArrowUp");
  assert.equal(document.activeElement.dataset.path, P + "/r998/c1", "and the keys go on from there");
});

test("sparkline: buckets keep the last value of each step, hold it through quiet ones, and move on", () => {
  const s = new Spark();
  const t0 = 1_000_000 * SPARK_STEP_MS;
  s.record(t0, 1);
  s.record(t0 + 1, 2);
  s.record(t0 + 2 * SPARK_STEP_MS, 5);
  const p = s.points(t0 + 3 * SPARK_STEP_MS);
  assert.deepEqual([...p.slice(-4)], [2, 2, 5, 5], "last four buckets: a step's last value, held through a quiet one and to now");
  assert.ok(Number.isNaN(p[SPARK_BUCKETS - 5]), "nothing before the first value");
  s.record(t0 - 100 * SPARK_STEP_MS, 9);
  assert.equal(s.points(t0 + 3 * SPARK_STEP_MS).includes(9), false, "a value older than the buckets is dropped");
  s.record(t0 + 2 * SPARK_STEP_MS, 7, true);
  assert.equal(s.points(t0 + 3 * SPARK_STEP_MS).at(-2), 5, "history does not overwrite a live value");
  const later = s.points(t0 + 100 * SPARK_STEP_MS);
  assert.deepEqual([later[0], later.at(-1)], [5, 5], "after a long quiet spell the value still holds");
});
