import { assert, test } from "./runner.js";
import { alignSeries, historyURL, mountHistoryChart, seriesLabel } from "../chart.js";
import { attached, detached, FakeApi, settled } from "./fakes.js";
import { ApiError } from "../session.js";

const A = "p/e/s/d/total/util";
const B = "p/e/s/d/cpu%2F0/util";
const FROM = "2026-12-01T09:00:00Z";
const TO = "2026-12-01T09:10:00Z";
const T0 = Date.parse(FROM);

test("chart: the history request names every path and the range", () => {
  const url = historyURL([A, B], new Date(T0), TO);
  const q = new URL(url, "http://x.invalid");
  assert.equal(q.pathname, "/api/v1/history", "path");
  assert.deepEqual(q.searchParams.getAll("path"), [A, B], "paths");
  assert.equal(q.searchParams.get("from"), "2026-12-01T09:00:00.000Z", "from, a Date");
  assert.equal(q.searchParams.get("to"), TO, "to, a string");
  assert.equal(q.searchParams.has("step"), false, "no step unless asked");
});

test("chart: series are joined on their times, each value held until the next", () => {
  const [xs, ys] = alignSeries(
    [
      { path: A, sampled: new Date(T0 + 50).toISOString(), points: [[T0 - 5, 1], [T0 + 10, 2], [T0 + 30, null], [T0 + 40, 4]] },
      { path: B, sampled: new Date(T0 + 20).toISOString(), points: [[T0 + 20, "NaN"], [T0 + 15, 7]] },
    ],
    T0,
  );
  assert.deepEqual(xs, [T0 - 5, T0, T0 + 10, T0 + 15, T0 + 20, T0 + 30, T0 + 40, T0 + 50], "times");
  assert.deepEqual(ys[0], [1, 1, 2, 2, 2, 2, 4, 4], "A: held, its null ending the step at its own time");
  assert.deepEqual(ys[1], [null, null, null, 7, 7, null, null, null], "B: none before its first point; its NaN ends the step at its time; none after sampled");
  const [, gone] = alignSeries([{ path: A, points: [[1, 5], [3, null], [6, 2]] }]);
  assert.deepEqual(gone[0], [5, 5, 2], "a gone cell has no value between its null and its next point");
  const [xs2, ys2] = alignSeries([{ path: A, points: [[1, 5], [3, null], [4, 9], [6, 2]] }]);
  assert.deepEqual([xs2, ys2[0]], [[1, 3, 4, 6], [5, 5, 9, 2]], "a gone cell back at the next point");
});

test("chart: legend labels leave out the probe", () => {
  assert.equal(seriesLabel("my%20probe/OMS/cpu/cpu/cpu%2F0/util"), "OMS › cpu › cpu › cpu/0 › util", "label");
});

function historyApi(answer) {
  const api = new FakeApi();
  api.request = function (method, path) {
    this.calls.push([method, path]);
    return typeof answer === "function" ? answer(path) : Promise.resolve(answer);
  };
  return api;
}

const ANSWER = {
  from: FROM,
  to: TO,
  series: [
    { path: A, start: FROM, sampled: TO, points: [[T0 - 1000, 50], [T0 + 60000, 95], [T0 + 120000, 70]] },
    { path: B, start: FROM, sampled: TO, points: [[T0, 10]] },
  ],
};

test("chart: draws one uPlot series per path, the thresholds as lines, and a legend", async (t) => {
  const root = attached(t);
  root.style.width = "640px";
  root.style.height = "320px";
  const api = historyApi(ANSWER);
  const c = mountHistoryChart(root, {
    api,
    paths: [A, B],
    from: FROM,
    to: TO,
    thresholds: [{ level: "critical", op: ">", value: 90 }, { level: "warning", op: ">", value: 80 }, { level: "bogus", value: 1 }],
  });
  t.cleanup(() => c.unmount());
  const fig = root.querySelector(".history-chart");
  assert.equal(fig.dataset.state, "loading", "state while the request is out");
  assert.deepEqual(api.calls, [["GET", historyURL([A, B], FROM, TO)]], "request");
  await settled();
  assert.equal(fig.dataset.state, "drawn", "state once drawn");
  assert.equal(fig.dataset.series, "2", "series");
  assert.ok(fig.querySelector(".uplot canvas"), "uPlot canvas");
  assert.deepEqual(
    JSON.parse(fig.dataset.thresholds),
    [{ level: "critical", op: ">", value: 90 }, { level: "warning", op: ">", value: 80 }],
    "thresholds drawn (an unknown level left out)",
  );
  assert.deepEqual([...fig.querySelectorAll(".chart-thresholds li")].map((li) => li.textContent), ["critical > 90", "warning > 80"], "thresholds in words");
  const labels = [...fig.querySelectorAll(".u-legend .u-series .u-label")].map((el) => el.textContent);
  assert.ok(labels.includes("e › s › d › total › util") && labels.includes("e › s › d › cpu/0 › util"), "legend " + JSON.stringify(labels));
  const canvas = fig.querySelector("canvas");
  const w = canvas.getBoundingClientRect().width;
  assert.ok(w >= 500 && w <= 640, "sized to its root (640 px less padding): " + w);
  c.unmount();
  assert.equal(root.childNodes.length, 0, "unmounted");
});

test("chart: says when there is no history, and when the request failed", async (t) => {
  const root = detached();
  const empty = mountHistoryChart(root, { api: historyApi({ from: FROM, to: TO, series: [] }), paths: [A], from: FROM, to: TO });
  t.cleanup(() => empty.unmount());
  await settled();
  assert.equal(root.querySelector(".history-chart").dataset.state, "empty", "empty state");
  assert.equal(root.querySelector(".chart-status").textContent, "no history in this range", "empty text");
  empty.unmount();
  const failed = mountHistoryChart(root, {
    api: historyApi(() => Promise.reject(new ApiError(400, { message: "from after to" }))),
    paths: [A],
  });
  t.cleanup(() => failed.unmount());
  await settled();
  assert.equal(root.querySelector(".history-chart").dataset.state, "error", "error state");
  assert.equal(root.querySelector(".chart-status").textContent, "History unavailable: from after to", "error text");
});

test("chart: an answer after unmount draws nothing", async () => {
  const root = detached();
  let answer;
  const api = historyApi(() => new Promise((resolve) => (answer = resolve)));
  const c = mountHistoryChart(root, { api, paths: [A] });
  c.unmount();
  answer(ANSWER);
  await settled();
  assert.equal(root.childNodes.length, 0, "nothing drawn");
});
