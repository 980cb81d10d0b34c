import { assert, test } from "./runner.js";
import { IncidentsModel } from "../incidents-model.js";

function inc(id, fields = {}) {
  return { id, title: id, state: "open", severity: "warning", opened: "2026-12-01T09:00:00Z", alerts: 1, ...fields };
}

function live(...incidents) {
  const m = new IncidentsModel();
  m.apply({ type: "snapshot", topic: "incidents", incidents, snoozes: [{ target: "p/e/s/d/r/c", by: "olu", reason: "patching" }] });
  return m;
}

test("incidents model: a snapshot replaces everything held", () => {
  const m = live(inc("INC-1"), inc("INC-2"));
  assert.equal(m.state, "live", "state");
  assert.deepEqual([...m.incidents.keys()], ["INC-1", "INC-2"], "incidents");
  assert.deepEqual([...m.snoozes.keys()], ["p/e/s/d/r/c"], "snoozes");
  m.apply({ type: "snapshot", topic: "incidents", incidents: [inc("INC-3")], snoozes: [] });
  assert.deepEqual([...m.incidents.keys()], ["INC-3"], "after a second snapshot");
  assert.equal(m.snoozes.size, 0, "snoozes after a second snapshot");
});

test("incidents model: a delta before the snapshot is ignored", () => {
  const m = new IncidentsModel();
  assert.equal(m.apply({ type: "delta", topic: "incidents", incidents: [inc("INC-1")] }), null, "change");
  assert.equal(m.incidents.size, 0, "incidents");
});

test("incidents model: a delta replaces changed incidents, drops removed ones and ends snoozes", () => {
  const m = live(inc("INC-1"), inc("INC-2"));
  const change = m.apply({
    type: "delta",
    topic: "incidents",
    incidents: [inc("INC-1", { severity: "critical", alerts: 2 })],
    removed: ["INC-2", "INC-9"],
    snoozes: [],
    unsnoozed: ["p/e/s/d/r/c"],
  });
  assert.deepEqual(change.incidents, ["INC-1"], "changed");
  assert.deepEqual(change.removed, ["INC-2"], "removed (only those held)");
  assert.deepEqual(change.snoozes, ["p/e/s/d/r/c"], "snoozes changed");
  assert.equal(m.incidents.get("INC-1").severity, "critical", "the new severity");
  assert.equal(m.incidents.has("INC-2"), false, "INC-2 gone");
  assert.equal(m.snoozes.size, 0, "snooze ended");
  assert.equal(m.apply({ type: "delta", topic: "incidents", removed: ["INC-2"] }), null, "a delta that changes nothing");
});

test("incidents model: open lists open incidents, critical first, then oldest", () => {
  const m = live(
    inc("INC-1", { opened: "2026-12-01T09:05:00Z" }),
    inc("INC-2", { severity: "critical", opened: "2026-12-01T09:10:00Z" }),
    inc("INC-3", { state: "resolved" }),
    inc("INC-4", { opened: "2026-12-01T09:01:00Z" }),
  );
  assert.deepEqual(m.open().map((i) => i.id), ["INC-2", "INC-4", "INC-1"], "order");
});

test("incidents model: an error frame keeps the incidents and says so", () => {
  const m = live(inc("INC-1"));
  const change = m.apply({ type: "error", topic: "incidents", message: "no" });
  assert.equal(change.status, true, "status changed");
  assert.equal(m.error, "no", "error");
  assert.equal(m.incidents.size, 1, "incidents kept");
});
