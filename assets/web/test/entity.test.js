import { assert, test } from "./runner.js";
import { entityPath, entityView } from "../views/entity.js";
import { attached, counts, detached, finding, liveStore, nextFrame, probe, treeDelta, treeSnapshot } from "./fakes.js";

function srv() {
  return probe("srv 1", {
    findings: [finding("probe-flap", "reconnected 3 times", { severity: "warning" })],
    entities: {
      OMS: {
        attributes: { system: "oms", environment: "production" },
        severity: "critical",
        counts: { critical: 2 },
        samplers: {
          cpu: { type: "cpu", severity: "critical", counts: { critical: 2 }, dataviews: { cpu: { severity: "critical", counts: { critical: 2 } } } },
          disk: { type: "disk", dataviews: { "/": { stale: true }, "/var": { findings: [finding("disk-rows", "row missing", { row: "sda" })] } } },
        },
      },
      Other: {},
    },
  });
}

function mount(t, path, root = detached(), params = {}) {
  const env = liveStore();
  const handle = entityView.mount(root, { path, ...params }, { store: env.store });
  t.cleanup(() => handle.unmount && handle.unmount());
  return { root, handle, ...env };
}

function links(root) {
  return [...root.querySelectorAll("a.entity-dv")];
}

test("entity: a typed path is shown in its canonical form; others are not entities", () => {
  assert.equal(entityPath("srv 1/OMS"), "srv%201/OMS", "encoded");
  assert.equal(entityPath("srv%201/OMS"), "srv%201/OMS", "kept");
  assert.equal(entityPath("srv1"), null, "one segment");
  assert.equal(entityPath("a/b/c"), null, "three");
  assert.deepEqual(entityView.canonical({ path: "srv 1/OMS" }), { path: "srv%201/OMS" }, "canonical");
  const root = detached();
  entityView.mount(root, { path: "nope" }, { store: liveStore().store });
  assert.equal(root.querySelector(".notice").textContent, "Not an entity path: nope", "refused");
});

test("entity: shows attributes, the probe's state, samplers and dataviews linking to their grids", (t) => {
  const { root, transport, handle } = mount(t, "srv%201/OMS");
  assert.equal(handle.title, "srv 1 › OMS", "title");
  assert.ok(root.textContent.includes("Loading the entity…"), "loading");
  transport.deliver(treeSnapshot([srv()]));
  return nextFrame().then(() => {
    assert.equal(root.querySelector(".entity-title").textContent, "✖ OMS", "heading with its shape");
    assert.equal(root.querySelector(".entity-state").dataset.severity, "critical", "severity");
    assert.deepEqual(
      [...root.querySelectorAll(".entity-attrs dd")].map((d) => d.dataset.attribute + "=" + d.textContent),
      ["environment=production", "system=oms"],
      "attributes",
    );
    const probeLine = root.querySelector(".entity-probe");
    assert.equal(probeLine.dataset.state, "connected", "probe state");
    assert.ok(probeLine.textContent.includes("probe-flap: reconnected 3 times"), "probe findings: " + probeLine.textContent);
    assert.deepEqual(
      links(root).map((a) => [a.getAttribute("href"), a.dataset.severity, a.dataset.stale]),
      [
        ["#/view/srv%201/OMS/cpu/cpu", "critical", "false"],
        ["#/view/srv%201/OMS/disk/%2F", "ok", "true"],
        ["#/view/srv%201/OMS/disk/%2Fvar", "ok", "false"],
      ],
      "dataviews",
    );
    assert.equal(links(root)[2].title, "disk-rows: row sda missing", "findings in the tooltip");
    assert.deepEqual(links(root).map((a) => a.tabIndex), [0, -1, -1], "one link in the tab order");
  });
});

test("entity: a node delta redraws that node in place; a probe replaced keeps the focus", async (t) => {
  const { root, transport } = mount(t, "srv%201/OMS", attached(t));
  transport.deliver(treeSnapshot([srv()]));
  await nextFrame();
  const cpu = links(root)[0];
  transport.deliver(treeDelta({ nodes: [{ kind: "dataview", path: "srv%201/OMS/cpu/cpu", stale: true, severity: "ok", counts: counts({ ok: 2 }) }] }));
  await nextFrame();
  assert.equal(links(root)[0], cpu, "the same element");
  assert.equal(cpu.dataset.severity, "ok", "severity");
  assert.equal(cpu.dataset.stale, "true", "stale");
  links(root)[1].focus();
  const down = srv();
  down.connected = false;
  transport.deliver(treeDelta({ probes: [down] }));
  await nextFrame();
  assert.equal(root.querySelector(".entity-probe").dataset.state, "down", "probe down");
  assert.equal(document.activeElement.dataset.dataview, "srv%201/OMS/disk/%2F", "focus kept");
  transport.deliver(treeDelta({ removed: ["srv%201"] }));
  await nextFrame();
  assert.ok(root.textContent.includes("There is no entity srv 1 › OMS"), "gone: " + root.textContent);
});

test("entity: the arrow keys, Home and End move between dataviews; kiosk mode is kept on links", async (t) => {
  const { root, transport } = mount(t, "srv%201/OMS", attached(t), { kiosk: "1" });
  transport.deliver(treeSnapshot([srv()]));
  await nextFrame();
  const all = links(root);
  const key = (el, k) => el.dispatchEvent(new KeyboardEvent("keydown", { key: k, bubbles: true, cancelable: true }));
  all[0].focus();
  key(all[0], "ArrowDown");
  assert.equal(document.activeElement, all[1], "down");
  key(all[1], "ArrowRight");
  assert.equal(document.activeElement, all[2], "right");
  key(all[2], "ArrowUp");
  assert.equal(document.activeElement, all[1], "up");
  key(all[1], "Home");
  assert.equal(document.activeElement, all[0], "home");
  key(all[0], "End");
  assert.equal(document.activeElement, all[2], "end");
  assert.deepEqual(all.map((a) => a.tabIndex), [-1, -1, 0], "roving");
  assert.equal(all[0].getAttribute("href"), "#/view/srv%201/OMS/cpu/cpu?kiosk=1", "kiosk on a dataview link");
  assert.equal(root.querySelector(".entity-back a").getAttribute("href"), "#/wall?kiosk=1", "kiosk on the way back");
});
