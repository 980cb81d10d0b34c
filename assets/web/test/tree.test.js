import { assert, test } from "./runner.js";
import { mountTree } from "../tree.js";
import { attached, counts, detached, finding, liveStore, probe, treeDelta, treeSnapshot } from "./fakes.js";

function srv1(over = {}) {
  return probe("srv 1", {
    severity: "critical",
    entities: {
      OMS: {
        attributes: { system: "oms", region: "emea" },
        severity: "critical",
        counts: { critical: 2, warning: 1 },
        samplers: {
          cpu: { type: "cpu", severity: "critical", counts: { critical: 2 }, dataviews: { cpu: { severity: "critical", counts: { critical: 2 } } } },
          disk: { type: "disk", severity: "warning", counts: { warning: 1 }, dataviews: { "/": { stale: true, severity: "warning", counts: { warning: 1 } } } },
        },
      },
    },
    ...over,
  });
}

function mount(t, root = detached()) {
  const env = liveStore();
  const tree = mountTree(root, { store: env.store });
  t.cleanup(() => tree.unmount());
  return { root, tree, ...env };
}

function node(root, path) {
  return root.querySelector(`li[data-node="${path}"]`);
}

const DOWN = probe("srv2", { connected: false, since: "2026-12-01T08:00:00Z", severity: "undefined" });

test("tree: subscribes to the tree topic and says it is loading", (t) => {
  const { root, transport } = mount(t);
  assert.deepEqual(transport.take(), [{ op: "subscribe", topic: "tree" }], "requests");
  assert.equal(root.querySelector(".tree-status").textContent, "Loading the tree…", "status");
});

test("tree: draws probes, entities, samplers and dataviews with severities and counts", (t) => {
  const { root, transport } = mount(t);
  transport.deliver(treeSnapshot([srv1(), DOWN], { severity: "critical", c: { critical: 2, warning: 1 } }));
  assert.equal(root.querySelector(".tree-status").hidden, true, "status hidden");
  assert.deepEqual(
    [...root.querySelectorAll("li[data-node]")].map((li) => [li.dataset.kind, li.dataset.node, li.dataset.severity]),
    [
      ["probe", "srv%201", "critical"],
      ["entity", "srv%201/OMS", "critical"],
      ["sampler", "srv%201/OMS/cpu", "critical"],
      ["dataview", "srv%201/OMS/cpu/cpu", "critical"],
      ["sampler", "srv%201/OMS/disk", "warning"],
      ["dataview", "srv%201/OMS/disk/%2F", "warning"],
      ["probe", "srv2", "undefined"],
    ],
    "nodes in order",
  );
  const entity = node(root, "srv%201/OMS");
  assert.equal(entity.querySelector("summary .sev-icon").getAttribute("aria-label"), "critical", "severity as a word");
  assert.equal(entity.querySelector("summary .sev-icon").textContent, "✖", "severity as a shape");
  assert.deepEqual(
    [...entity.querySelector("summary").querySelectorAll(".sev-count")].map((c) => c.textContent),
    ["✖ 2 critical", "▲ 1 warning"],
    "counts with their words",
  );
  assert.equal(entity.querySelector("summary").title, "region: emea\nsystem: oms", "attributes as a tooltip");
  const link = node(root, "srv%201/OMS/disk/%2F").querySelector("a");
  assert.equal(link.getAttribute("href"), "#/view/srv%201/OMS/disk/%2F", "link");
  assert.equal(link.querySelector(".node-name").textContent, "/", "dataview name");
  assert.equal(node(root, "srv%201/OMS/disk/%2F").dataset.stale, "true", "stale mark");
  assert.ok(link.textContent.includes("stale"), "stale said in words");
  assert.equal(node(root, "srv%201").dataset.connected, "true", "connected probe");
  assert.equal(node(root, "srv2").dataset.connected, "false", "down probe");
  assert.equal(node(root, "srv2").querySelector(".probe-state").textContent, "down", "down said in words");
  assert.equal(root.querySelector(".tree-summary").dataset.severity, "critical", "summary severity");
});

test("tree: a probe that never connected says so", (t) => {
  const { root, transport } = mount(t);
  transport.deliver(treeSnapshot([probe("new", { connected: false, since: "" })]));
  assert.equal(node(root, "new").querySelector(".probe-state").textContent, "never connected", "state");
});

test("tree: no probes at all says so", (t) => {
  const { root, transport } = mount(t);
  transport.deliver(treeSnapshot([]));
  assert.equal(root.querySelector(".tree-empty").textContent, "No probes yet.", "placeholder");
  transport.deliver(treeDelta({ probes: [probe("srv3")] }));
  assert.equal(root.querySelector(".tree-empty"), null, "placeholder after a probe came");
});

test("tree: a node delta updates that node in place", (t) => {
  const { root, transport } = mount(t);
  transport.deliver(treeSnapshot([srv1(), DOWN]));
  const before = node(root, "srv%201/OMS/cpu/cpu");
  transport.deliver(
    treeDelta({
      nodes: [
        { kind: "dataview", path: "srv%201/OMS/cpu/cpu", stale: true, severity: "ok", counts: counts({ ok: 4 }) },
        { kind: "entity", path: "srv%201/OMS", severity: "warning", counts: counts({ warning: 1 }) },
      ],
    }),
  );
  const after = node(root, "srv%201/OMS/cpu/cpu");
  assert.equal(after, before, "the same element");
  assert.equal(after.dataset.severity, "ok", "severity");
  assert.equal(after.dataset.stale, "true", "stale");
  assert.equal(after.querySelectorAll(".sev-count").length, 0, "counts shown");
  assert.deepEqual(
    [...node(root, "srv%201/OMS").querySelector("summary").querySelectorAll(".sev-count")].map((c) => c.dataset.severity + c.dataset.count),
    ["warning1"],
    "entity counts",
  );
});

// findings returns the findings marker in the label of the node at path,
// as [its text, its tooltip], or null when there is none.
function findings(root, path) {
  const m = node(root, path).querySelector(":scope > details > summary > .node-findings, :scope > a > .node-findings");
  return m && [m.textContent, m.title];
}

test("tree: a probe's and a dataview's findings are marked, each in the tooltip", (t) => {
  const { root, transport } = mount(t);
  const dv = { severity: "critical", findings: [finding("memory-rows", "row missing", { row: "swap" }), finding("sampler-stalled", "not sampled for 15s", { severity: "warning" })] };
  const p1 = probe("srv 1", { entities: { OMS: { samplers: { memory: { dataviews: { memory: dv, other: {} } } } } } });
  const p2 = probe("srv2", { connected: false, since: "2026-12-01T08:00:00Z", severity: "critical", findings: [finding("probe-down", "down for 10s")] });
  transport.deliver(treeSnapshot([p1, p2]));
  assert.deepEqual(
    findings(root, "srv%201/OMS/memory/memory"),
    ["⚑ 2 findings", "memory-rows: row swap missing\nsampler-stalled: not sampled for 15s"],
    "dataview marker",
  );
  assert.deepEqual(findings(root, "srv2"), ["⚑ 1 finding", "probe-down: down for 10s"], "probe marker");
  assert.equal(findings(root, "srv%201/OMS/memory/other"), null, "marker of a dataview without findings");
  assert.equal(findings(root, "srv%201"), null, "marker of a probe without findings");
  assert.equal(root.querySelectorAll(".node-findings").length, 2, "markers in the tree");
});

test("tree: a node delta brings findings and an empty list takes them away", (t) => {
  const { root, transport } = mount(t);
  transport.deliver(treeSnapshot([srv1(), DOWN]));
  const dv = "srv%201/OMS/cpu/cpu";
  const before = node(root, dv);
  transport.deliver(
    treeDelta({
      nodes: [
        { kind: "dataview", path: dv, stale: true, severity: "warning", counts: counts({ warning: 1 }), findings: [finding("sampler-stalled", "not sampled for 15s", { severity: "warning" })] },
        { kind: "probe", path: "srv2", connected: false, since: "2026-12-01T08:00:00Z", severity: "critical", counts: counts({ critical: 1 }), findings: [finding("probe-down", "down for 10s")] },
      ],
    }),
  );
  assert.equal(node(root, dv), before, "the same element");
  assert.deepEqual(findings(root, dv), ["⚑ 1 finding", "sampler-stalled: not sampled for 15s"], "dataview marker after the delta");
  assert.deepEqual(findings(root, "srv2"), ["⚑ 1 finding", "probe-down: down for 10s"], "probe marker after the delta");
  transport.deliver(
    treeDelta({
      nodes: [
        { kind: "dataview", path: dv, stale: false, severity: "ok", counts: counts({ ok: 4 }), findings: [] },
        { kind: "probe", path: "srv2", connected: true, since: "2026-12-01T08:01:00Z", severity: "ok", counts: counts(), findings: [] },
      ],
    }),
  );
  assert.equal(findings(root, dv), null, "dataview marker after findings: []");
  assert.equal(findings(root, "srv2"), null, "probe marker after findings: []");
  assert.equal(node(root, dv).dataset.stale, "false", "stale after the second delta");
});

test("tree: a whole probe is replaced, a removed one goes, a new one is sorted in", (t) => {
  const { root, transport } = mount(t);
  transport.deliver(treeSnapshot([srv1(), DOWN]));
  const replaced = probe("srv 1", { entities: { OMS: { samplers: { cpu: { dataviews: { cpu: {}, cores: {} } } } } } });
  transport.deliver(treeDelta({ probes: [replaced, probe("srv 0")], removed: ["srv2"] }));
  assert.deepEqual(
    [...root.querySelectorAll("li[data-node]")].map((li) => li.dataset.node),
    ["srv%200", "srv%201", "srv%201/OMS", "srv%201/OMS/cpu", "srv%201/OMS/cpu/cores", "srv%201/OMS/cpu/cpu"],
    "nodes",
  );
  assert.equal(node(root, "srv%201").dataset.severity, "ok", "replaced probe's severity");
});

test("tree: folding and the current dataview survive deltas", async (t) => {
  const { root, tree, transport } = mount(t, attached(t));
  transport.deliver(treeSnapshot([srv1(), DOWN]));
  tree.select("srv%201/OMS/cpu/cpu");
  const current = () => root.querySelector('a[aria-current="page"]');
  assert.equal(current().dataset.dataview, "srv%201/OMS/cpu/cpu", "current link");
  const details = node(root, "srv%201/OMS/disk").querySelector("details");
  const toggled = new Promise((resolve) => details.addEventListener("toggle", resolve, { once: true }));
  details.open = false;
  await toggled;
  transport.deliver(treeDelta({ probes: [srv1()] }));
  assert.equal(node(root, "srv%201/OMS/disk").querySelector("details").open, false, "folded branch after a delta");
  assert.equal(node(root, "srv%201/OMS").querySelector("details").open, true, "open branch after a delta");
  assert.equal(current().dataset.dataview, "srv%201/OMS/cpu/cpu", "current link after a delta");
  tree.select(null);
  assert.equal(current(), null, "current link after select(null)");
});

test("tree: the arrow keys move through the visible nodes and fold branches", (t) => {
  const { root, transport } = mount(t, attached(t));
  transport.deliver(treeSnapshot([srv1(), DOWN]));
  const label = (path) => node(root, path).querySelector("summary, a");
  const key = (k) => document.activeElement.dispatchEvent(new KeyboardEvent("keydown", { key: k, bubbles: true, cancelable: true }));
  label("srv%201").focus();
  key("ArrowDown");
  assert.equal(document.activeElement, label("srv%201/OMS"), "after ArrowDown");
  key("ArrowDown");
  key("ArrowDown");
  assert.equal(document.activeElement, label("srv%201/OMS/cpu/cpu"), "after two more");
  key("ArrowLeft");
  assert.equal(document.activeElement, label("srv%201/OMS/cpu"), "ArrowLeft steps out to the parent");
  key("ArrowLeft");
  assert.equal(node(root, "srv%201/OMS/cpu").querySelector("details").open, false, "ArrowLeft folds");
  key("ArrowDown");
  assert.equal(document.activeElement, label("srv%201/OMS/disk"), "ArrowDown skips the folded branch");
  key("End");
  assert.equal(document.activeElement, label("srv2"), "End");
  key("ArrowUp");
  assert.equal(document.activeElement, label("srv%201/OMS/disk/%2F"), "ArrowUp");
  key("Home");
  assert.equal(document.activeElement, label("srv%201"), "Home");
  label("srv%201/OMS/cpu").focus();
  key("ArrowRight");
  assert.equal(node(root, "srv%201/OMS/cpu").querySelector("details").open, true, "ArrowRight unfolds");
});

test("tree: keyboard focus survives its probe being replaced", (t) => {
  const { root, transport } = mount(t, attached(t));
  transport.deliver(treeSnapshot([srv1(), DOWN]));
  node(root, "srv%201/OMS/cpu/cpu").querySelector("a").focus();
  transport.deliver(treeDelta({ probes: [srv1({ connected: false })] }));
  assert.equal(document.activeElement, node(root, "srv%201/OMS/cpu/cpu").querySelector("a"), "focused element");
  assert.equal(node(root, "srv%201").dataset.connected, "false", "replaced");
});

test("tree: a refused subscription is said", (t) => {
  const { root, transport } = mount(t);
  transport.deliver({ type: "error", topic: "tree", message: "may not watch the tree" });
  assert.equal(root.querySelector(".tree-status").textContent, "Gateway error: may not watch the tree", "status");
});

test("tree: unmounting unsubscribes and removes it", (t) => {
  const root = detached();
  const { store, transport } = liveStore();
  const tree = mountTree(root, { store });
  transport.take();
  tree.unmount();
  assert.deepEqual(transport.take(), [{ op: "unsubscribe", topic: "tree" }], "requests");
  assert.equal(root.childNodes.length, 0, "children left");
});
