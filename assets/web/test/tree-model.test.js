import { assert, test } from "./runner.js";
import { TreeModel } from "../tree-model.js";
import { counts, finding, probe, treeDelta, treeSnapshot } from "./fakes.js";

function srv1() {
  return probe("srv1", {
    entities: {
      OMS: { attributes: { system: "oms" }, samplers: { cpu: { dataviews: { cpu: {} } }, disk: { dataviews: { "/": {} } } } },
    },
  });
}

function live() {
  const m = new TreeModel();
  m.apply(treeSnapshot([srv1(), probe("srv2")], { severity: "warning", c: { warning: 1 } }));
  return m;
}

test("tree model: a snapshot indexes every node by path", () => {
  const m = live();
  assert.equal(m.state, "live", "state");
  assert.deepEqual([...m.probes.keys()], ["srv1", "srv2"], "probes");
  assert.deepEqual(
    [...m.nodes.keys()].sort(),
    ["srv1", "srv1/OMS", "srv1/OMS/cpu", "srv1/OMS/cpu/cpu", "srv1/OMS/disk", "srv1/OMS/disk/%2F", "srv2"],
    "nodes",
  );
  assert.equal(m.severity, "warning", "severity");
  assert.equal(m.counts.warning, 1, "warning count");
});

test("tree model: a delta before the snapshot is ignored", () => {
  const m = new TreeModel();
  assert.equal(m.apply(treeDelta({ removed: ["srv1"] })), null, "change");
});

test("tree model: a node update changes only the fields it carries", () => {
  const m = live();
  const change = m.apply(
    treeDelta({ nodes: [{ kind: "dataview", path: "srv1/OMS/cpu/cpu", stale: true, severity: "critical", counts: counts({ critical: 2 }) }] }),
  );
  const dv = m.node("srv1/OMS/cpu/cpu");
  assert.equal(dv.stale, true, "stale");
  assert.equal(dv.severity, "critical", "severity");
  assert.equal(dv.counts.critical, 2, "critical count");
  assert.equal(dv.name, "cpu", "name");
  assert.equal(m.probes.get("srv1").entities[0].samplers[0].dataviews[0], dv, "the node in its probe");
  assert.deepEqual(change.nodes, ["srv1/OMS/cpu/cpu"], "nodes changed");
  assert.equal(change.summary, false, "summary changed");
});

test("tree model: a node update for an unknown path is skipped", () => {
  const m = live();
  const change = m.apply(treeDelta({ nodes: [{ kind: "entity", path: "srv9/X", severity: "critical" }] }));
  assert.deepEqual(change.nodes, [], "nodes changed");
  assert.equal(m.node("srv9/X"), undefined, "node");
});

test("tree model: a whole probe replaces the old one and its index", () => {
  const m = live();
  const next = probe("srv1", { connected: false, entities: { OMS: { samplers: { cpu: { dataviews: { cpu: {}, cpu2: {} } } } } } });
  const change = m.apply(treeDelta({ probes: [next], severity: "ok", counts: counts({ ok: 3 }) }));
  assert.deepEqual(change.probes, ["srv1"], "probes changed");
  assert.equal(change.summary, true, "summary changed");
  assert.equal(m.probes.get("srv1").connected, false, "connected");
  assert.equal(m.node("srv1/OMS/disk/%2F"), undefined, "a dataview that went");
  assert.ok(m.node("srv1/OMS/cpu/cpu2"), "a dataview that came");
  assert.equal(m.severity, "ok", "severity");
});

test("tree model: removed probes go with everything under them", () => {
  const m = live();
  const change = m.apply(treeDelta({ removed: ["srv1", "srv9"] }));
  assert.deepEqual(change.removed, ["srv1"], "removed");
  assert.deepEqual([...m.nodes.keys()], ["srv2"], "nodes");
});

test("tree model: a new probe in a delta is added", () => {
  const m = live();
  m.apply(treeDelta({ probes: [probe("srv3")] }));
  assert.deepEqual([...m.probes.keys()], ["srv1", "srv2", "srv3"], "probes");
});

test("tree model: findings come with the snapshot, and a node update replaces them", () => {
  const m = new TreeModel();
  const stalled = finding("sampler-stalled", "not sampled for 15s", { severity: "warning" });
  const rows = finding("memory-rows", "row missing", { row: "swap" });
  const down = finding("probe-down", "down for 10s");
  m.apply(
    treeSnapshot([
      probe("srv1", { findings: [down], entities: { OMS: { samplers: { memory: { dataviews: { memory: { findings: [stalled, rows] } } } } } } }),
    ]),
  );
  const path = "srv1/OMS/memory/memory";
  assert.deepEqual(m.node(path).findings, [stalled, rows], "dataview findings from the snapshot");
  assert.deepEqual(m.node("srv1").findings, [down], "probe findings from the snapshot");

  const change = m.apply(treeDelta({ nodes: [{ kind: "dataview", path, stale: false, severity: "critical", counts: counts({ critical: 1 }), findings: [rows] }] }));
  assert.deepEqual(change.nodes, [path], "nodes changed");
  assert.deepEqual(m.node(path).findings, [rows], "dataview findings after a delta with fewer");

  m.apply(
    treeDelta({
      nodes: [
        { kind: "dataview", path, stale: false, severity: "ok", counts: counts(), findings: [] },
        { kind: "probe", path: "srv1", connected: true, severity: "ok", counts: counts(), findings: [] },
      ],
    }),
  );
  assert.deepEqual(m.node(path).findings, [], "dataview findings after findings: []");
  assert.deepEqual(m.node("srv1").findings, [], "probe findings after findings: []");
  assert.equal(m.probes.get("srv1").entities[0].samplers[0].dataviews[0], m.node(path), "the node in its probe");
});
