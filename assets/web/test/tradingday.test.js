import { assert, test } from "./runner.js";
import { CYCLES_PATH, DESKS_PATH, mountTradingDay, untilText } from "../tradingday.js";
import { cell, detached, dvDelta, dvSnapshot, liveStore } from "./fakes.js";

const CYCLE_COLUMNS = ["phase", "since", "next", "nextAt", "secondsToNext", "holiday", "zone", "where"];

function mount(t) {
  const root = detached();
  const env = liveStore();
  const day = mountTradingDay(root, { store: env.store });
  t.cleanup(() => day.unmount());
  return { root, ...env };
}

test("trading day: subscribes to the work cycles and desks, hidden until they come", (t) => {
  const { root, transport } = mount(t);
  assert.deepEqual(
    transport.take(),
    [
      { op: "subscribe", topic: "dataview/" + CYCLES_PATH },
      { op: "subscribe", topic: "dataview/" + DESKS_PATH },
    ],
    "requests",
  );
  assert.equal(root.hidden, true, "hidden with nothing to show");
});

test("trading day: each cycle's phase and the time to the next; each desk's clock", (t) => {
  const { root, transport } = mount(t);
  transport.deliver(dvSnapshot(CYCLES_PATH, {
    columns: CYCLE_COLUMNS,
    rows: {
      "lse-equities": [cell("bod"), cell("2026-12-01T07:00:00Z"), cell("intraday"), cell("2026-12-01T08:00:00Z"), cell("125"), cell(""), cell("Europe/London"), cell("system=lse")],
      fx: [cell("intraday"), cell(""), cell(""), cell(""), cell(""), cell("Christmas"), cell("UTC"), cell("system=fx")],
    },
  }));
  transport.deliver(dvSnapshot(DESKS_PATH, {
    columns: ["zone", "time", "utcOffset"],
    rows: { Tokyo: [cell("Asia/Tokyo"), cell("2026-12-01 16:59:58"), cell("+09:00")] },
  }));
  assert.equal(root.hidden, false, "shown");
  const lse = root.querySelector('li[data-cycle="lse-equities"]');
  assert.equal(lse.dataset.phase, "bod", "phase");
  assert.equal(lse.textContent, "lse-equitiesBODIntraday in 2m", "text");
  const fx = root.querySelector('li[data-cycle="fx"]');
  assert.equal(fx.querySelector(".until"), null, "no next phase for a 24/7 cycle");
  assert.equal(fx.title, "Christmas", "the holiday on hover");
  const tokyo = root.querySelector('li[data-desk="Tokyo"]');
  assert.equal(tokyo.querySelector("time").textContent, "16:59", "the desk's wall clock");
  assert.equal(tokyo.querySelector("time").dateTime, "2026-12-01T16:59:58+09:00", "machine-readable");
  assert.equal(tokyo.title, "Asia/Tokyo (UTC+09:00)", "zone on hover");

  transport.deliver(dvDelta(CYCLES_PATH, { cells: [{ r: "lse-equities", c: "phase", ...cell("intraday") }] }));
  assert.equal(root.querySelector('li[data-cycle="lse-equities"]').dataset.phase, "intraday", "a phase change is drawn");
});

test("trading day: countdowns read as people read them", () => {
  assert.deepEqual([0, 45, 60, 754, 3600, 7500, 3 * 86400 + 4 * 3600].map(untilText), ["0s", "45s", "1m", "12m", "1h 0m", "2h 5m", "3d 4h"], "texts");
});
