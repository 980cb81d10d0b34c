// The trading day in the page's header: each work cycle's phase and the
// time to its next, and the support desks' clocks. Both are dataviews the
// gateway computes on its own probe (docs/calendars.md), sent each second
// and at the instant a phase changes; the header only draws them.

import { dataviewTopic } from "./dataview-model.js";

export const CYCLES_PATH = "watchfloor/gateway/self/work-cycles";
export const DESKS_PATH = "watchfloor/gateway/self/desks";

const PHASE_TEXT = { bod: "BOD", intraday: "Intraday", eod: "EOD", closed: "Closed" };

// mountTradingDay draws the work cycles and desks' clocks into root,
// which stays hidden while the gateway has neither (or the viewer may see
// neither).
export function mountTradingDay(root, { store }) {
  const doc = root.ownerDocument;
  const cycles = doc.createElement("ul");
  cycles.className = "cycles";
  cycles.setAttribute("aria-label", "Work cycles");
  const desks = doc.createElement("ul");
  desks.className = "desks";
  desks.setAttribute("aria-label", "Support desks' clocks");
  root.append(cycles, desks);
  root.hidden = true;

  const draw = (list, model, item) => {
    list.replaceChildren(...[...model.rows].map(([name, row]) => item(doc, name, (col) => value(row, col))));
    root.hidden = cycles.childElementCount === 0 && desks.childElementCount === 0;
  };
  const stops = [
    store.subscribe(dataviewTopic(CYCLES_PATH), (model) => draw(cycles, model, cycleItem)),
    store.subscribe(dataviewTopic(DESKS_PATH), (model) => draw(desks, model, deskItem)),
  ];
  return {
    unmount() {
      for (const stop of stops) stop();
      root.replaceChildren();
    },
  };
}

function value(row, column) {
  const c = row.get(column);
  return c && c.v !== undefined && c.v !== null ? String(c.v) : "";
}

// cycleItem is one work cycle: "lse-equities Intraday · EOD in 2h 5m".
function cycleItem(doc, name, col) {
  const li = doc.createElement("li");
  const phase = col("phase");
  li.dataset.cycle = name;
  li.dataset.phase = phase;
  const label = doc.createElement("span");
  label.className = "cycle-name";
  label.textContent = name;
  const badge = doc.createElement("span");
  badge.className = "phase";
  badge.textContent = PHASE_TEXT[phase] || phase;
  li.append(label, badge);
  const next = col("next");
  const secs = Number.parseInt(col("secondsToNext"), 10);
  if (next && Number.isFinite(secs)) {
    const until = doc.createElement("span");
    until.className = "until";
    until.textContent = `${PHASE_TEXT[next] || next} in ${untilText(secs)}`;
    li.append(until);
  }
  const holiday = col("holiday");
  if (holiday) li.title = holiday;
  return li;
}

// deskItem is one desk's clock: "London 14:05", with its zone and offset
// on hover.
function deskItem(doc, name, col) {
  const li = doc.createElement("li");
  li.dataset.desk = name;
  const label = doc.createElement("span");
  label.className = "desk-name";
  label.textContent = name;
  const time = doc.createElement("time");
  const at = col("time"); // "2006-01-02 15:04:05" on the desk's wall clock
  time.textContent = at.slice(11, 16);
  time.dateTime = at.replace(" ", "T") + col("utcOffset");
  li.title = `${col("zone")} (UTC${col("utcOffset")})`;
  li.append(label, time);
  return li;
}

// untilText says a number of seconds as people read a countdown:
// "45s", "12m", "2h 5m", "3d 4h".
export function untilText(seconds) {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h ${m % 60}m`;
  return `${Math.floor(h / 24)}d ${h % 24}h`;
}
