import { assert, test } from "./runner.js";
import { wallView } from "../views/wall.js";
import { entitiesOf, envKey, fit, groupAttribute, parseEnvironments, plan } from "../wall-layout.js";
import { TreeModel } from "../tree-model.js";
import { attached, counts, detached, liveStore, nextFrame, probe, treeDelta, treeSnapshot } from "./fakes.js";

// estate is two probes, one of them never connected, whose entities are
// in every kind of environment.
function estate() {
  return [
    probe("srv1", {
      entities: {
        "OMS uat": { attributes: { environment: "UAT", system: "oms" }, severity: "ok", counts: { ok: 4 } },
        "OMS prod": { attributes: { environment: "Production", system: "oms" }, severity: "critical", counts: { critical: 2, warning: 1 } },
        "Risk preprod": { attributes: { environment: "preprod", system: "risk" }, severity: "warning", counts: { warning: 3 } },
        Lab: { attributes: { environment: "lab", system: "risk" }, severity: "ok" },
        Spare: { attributes: { system: "spare" }, severity: "undefined" },
      },
    }),
    probe("srv0", { connected: false, since: "", severity: "undefined", entities: { "FX prod": { attributes: { environment: "prod", system: "fx" }, severity: "undefined" } } }),
  ];
}

function modelOf(probes) {
  const m = new TreeModel();
  m.apply(treeSnapshot(probes));
  return m;
}

function names(groups) {
  return groups.map((g) => [g.label, g.entities.map((e) => e.name)]);
}

test("wall: environments group Production, Pre-Production and UAT first, whatever people call them", () => {
  const entities = entitiesOf(modelOf(estate()));
  assert.deepEqual(
    names(plan(entities, { attribute: "environment", environments: new Set() })),
    [
      ["Production", ["FX prod", "OMS prod"]],
      ["Pre-Production", ["Risk preprod"]],
      ["UAT", ["OMS uat"]],
      ["lab", ["Lab"]],
      ["No environment", ["Spare"]],
    ],
    "groups in order",
  );
  assert.equal(envKey(" PROD "), "production", "prod");
  assert.equal(envKey("Pre-Production"), "pre-production", "pre-production");
});

test("wall: any attribute groups, by its values in order, those without it last", () => {
  const entities = entitiesOf(modelOf(estate()));
  assert.deepEqual(
    names(plan(entities, { attribute: "system", environments: new Set() })),
    [
      ["fx", ["FX prod"]],
      ["oms", ["OMS prod", "OMS uat"]],
      ["risk", ["Lab", "Risk preprod"]],
      ["spare", ["Spare"]],
    ],
    "by system",
  );
  assert.deepEqual(names(plan(entities, { attribute: "none", environments: new Set() })).map((g) => g[0]), ["All entities"], "one group");
});

test("wall: groups by environment unless the URL says otherwise, or by the first attribute entities have", () => {
  const entities = entitiesOf(modelOf(estate()));
  assert.equal(groupAttribute(undefined, entities), "environment", "default");
  assert.equal(groupAttribute("region", entities), "region", "asked");
  const noEnv = entitiesOf(modelOf([probe("p", { entities: { A: { attributes: { region: "emea" } } } })]));
  assert.equal(groupAttribute("", noEnv), "region", "first known attribute");
  assert.equal(groupAttribute("", entitiesOf(modelOf([probe("p", { entities: { A: {} } })]))), "none", "no attributes");
});

test("wall: the environment filter keeps the entities of the environments named", () => {
  const entities = entitiesOf(modelOf(estate()));
  const envs = parseEnvironments("production, UAT,");
  assert.deepEqual([...envs], ["production", "uat"], "parsed");
  assert.deepEqual(
    names(plan(entities, { attribute: "system", environments: envs })),
    [
      ["fx", ["FX prod"]],
      ["oms", ["OMS prod", "OMS uat"]],
    ],
    "filtered",
  );
});

test("wall: 200 tiles in three groups fit a 4K screen with big tiles", () => {
  const box = { width: 3820, height: 1990, head: 30, gap: 6, groupGap: 10, minHeight: 50, maxHeight: 300 };
  const groups = [80, 70, 50];
  const f = fit(groups, box);
  const rows = groups.reduce((n, g) => n + Math.ceil(g / f.cols), 0);
  const used = groups.length * box.head + (groups.length - 1) * box.groupGap + rows * f.height + (rows - groups.length) * box.gap;
  assert.ok(used <= box.height, "height used " + used + " of " + box.height);
  assert.ok(f.cols * f.width + (f.cols - 1) * box.gap <= box.width, "width used");
  assert.ok(f.height >= 100 && f.width >= 200, "tiles of " + f.width + "×" + f.height + " px");
  const few = fit([3], box);
  assert.equal(few.height, 300, "a few tiles stop at the biggest size");
});

// mount mounts the wall with params, into root.
function mount(t, params = {}, root = detached()) {
  const env = liveStore();
  const handle = wallView.mount(root, params, { store: env.store });
  t.cleanup(() => handle.unmount());
  return { root, ...env };
}

function tile(root, path) {
  return root.querySelector(`.tile[data-entity="${path}"]`);
}

test("wall: every entity is a tile with its severity, shape, word and counts, linking to its entity", async (t) => {
  const { root, transport } = mount(t, { group: "system" });
  assert.equal(root.querySelector(".wall-status").textContent, "Loading the entities…", "loading");
  transport.deliver(treeSnapshot(estate()));
  await nextFrame();
  assert.deepEqual(
    [...root.querySelectorAll(".tile")].map((el) => [el.dataset.entity, el.dataset.severity, el.dataset.probe]),
    [
      ["srv0/FX%20prod", "undefined", "never"],
      ["srv1/OMS%20prod", "critical", "connected"],
      ["srv1/OMS%20uat", "ok", "connected"],
      ["srv1/Lab", "ok", "connected"],
      ["srv1/Risk%20preprod", "warning", "connected"],
      ["srv1/Spare", "undefined", "connected"],
    ],
    "tiles in group order",
  );
  const oms = tile(root, "srv1/OMS%20prod");
  assert.equal(oms.getAttribute("href"), "#/entity/srv1/OMS%20prod", "link");
  assert.equal(oms.querySelector(".tile-icon").textContent, "✖", "shape");
  assert.equal(oms.querySelector(".tile-word").textContent, "CRITICAL", "word");
  assert.deepEqual([...oms.querySelectorAll(".tile-count:not([hidden])")].map((c) => c.textContent), ["✖ 2", "▲ 1"], "counts");
  assert.equal(oms.getAttribute("aria-label"), "OMS prod, critical, 2 critical, 1 warning", "read aloud");
  const fx = tile(root, "srv0/FX%20prod");
  assert.equal(fx.querySelector(".tile-word").textContent, "NOT CONNECTED", "not connected, not ok");
  assert.equal(root.querySelector(".wall-status").hidden, true, "status hidden");
  assert.deepEqual(
    [...root.querySelectorAll(".wall-summary .wall-sum")].map((s) => s.dataset.kind + "=" + s.dataset.count),
    ["critical=1", "warning=1", "ok=2", "undefined=1", "not-connected=1"],
    "summary",
  );
  assert.deepEqual([...root.querySelectorAll(".wall-group-name")].map((g) => g.textContent), ["fx", "oms", "risk", "spare"], "groups");
});

test("wall: a probe down and a maintenance window show on the tile", async (t) => {
  const { root, transport } = mount(t);
  const p = probe("srv1", { connected: false, since: "2026-12-01T08:00:00Z", entities: { A: { severity: "critical", counts: { critical: 1 } } } });
  p.entities[0].maintenance = "patch-tuesday";
  transport.deliver(treeSnapshot([p]));
  await nextFrame();
  const a = tile(root, "srv1/A");
  assert.equal(a.dataset.probe, "down", "down");
  assert.equal(a.querySelector(".tile-word").textContent, "PROBE DOWN", "said");
  assert.equal(a.dataset.maintenance, "patch-tuesday", "maintenance");
  assert.equal(a.querySelector(".tile-maint").hidden, false, "maintenance shown");
  assert.equal(root.querySelector('.wall-sum[data-kind="maintenance"]').dataset.count, "1", "summary of maintenance");
});

test("wall: a delta redraws only the tiles whose nodes changed, in one frame", async (t) => {
  const { root, transport } = mount(t, { group: "system" });
  transport.deliver(treeSnapshot(estate()));
  await nextFrame();
  const before = [...root.querySelectorAll(".tile")];
  const changed = new Set();
  const note = (ms) => {
    for (const m of ms) {
      const el = (m.target.nodeType === 1 ? m.target : m.target.parentElement).closest(".tile");
      if (el) changed.add(el.dataset.entity);
    }
  };
  const seen = new MutationObserver(note);
  seen.observe(root, { subtree: true, childList: true, attributes: true, characterData: true });
  t.cleanup(() => seen.disconnect());
  transport.deliver(treeDelta({ nodes: [{ kind: "entity", path: "srv1/OMS%20uat", severity: "warning", counts: counts({ warning: 1 }) }] }));
  transport.deliver(treeDelta({ nodes: [{ kind: "entity", path: "srv1/OMS%20uat", severity: "critical", counts: counts({ critical: 5 }) }] }));
  assert.equal(tile(root, "srv1/OMS%20uat").dataset.severity, "ok", "nothing drawn before the frame");
  await nextFrame();
  note(seen.takeRecords());
  assert.deepEqual([...changed], ["srv1/OMS%20uat"], "tiles touched");
  assert.deepEqual([...root.querySelectorAll(".tile")], before, "the same elements");
  const uat = tile(root, "srv1/OMS%20uat");
  assert.equal(uat.dataset.severity, "critical", "latest severity");
  assert.equal(uat.dataset.critical, "5", "latest count");
  assert.equal(root.querySelector('.wall-sum[data-kind="critical"]').dataset.count, "2", "summary follows");
});

test("wall: a probe's connection changes its tiles; a probe replaced that moves an entity regroups", async (t) => {
  const { root, transport } = mount(t, { group: "system" });
  transport.deliver(treeSnapshot(estate()));
  await nextFrame();
  transport.deliver(treeDelta({ nodes: [{ kind: "probe", path: "srv0", connected: true, since: "2026-12-01T09:00:00Z", severity: "ok", counts: counts() }] }));
  await nextFrame();
  assert.equal(tile(root, "srv0/FX%20prod").dataset.probe, "connected", "connected");
  const moved = probe("srv0", { entities: { "FX prod": { attributes: { environment: "prod", system: "zz" }, severity: "ok" } } });
  const keep = tile(root, "srv0/FX%20prod");
  transport.deliver(treeDelta({ probes: [moved] }));
  await nextFrame();
  assert.deepEqual([...root.querySelectorAll(".wall-group-name")].map((g) => g.textContent), ["oms", "risk", "spare", "zz"], "regrouped");
  assert.equal(tile(root, "srv0/FX%20prod"), keep, "the tile kept");
  assert.equal(keep.closest(".wall-group").dataset.group, "zz", "in its new group");
  assert.equal(keep.title, "environment: prod\nsystem: zz", "its attributes in the tooltip");
  transport.deliver(treeDelta({ removed: ["srv0"] }));
  await nextFrame();
  assert.equal(tile(root, "srv0/FX%20prod"), null, "removed with its probe");
});

test("wall: the URL's environments filter the tiles, with toggles for each", async (t) => {
  const { root, transport } = mount(t, { environment: "production,uat", kiosk: "1" });
  transport.deliver(treeSnapshot(estate()));
  await nextFrame();
  assert.deepEqual([...root.querySelectorAll(".tile")].map((el) => el.dataset.entity), ["srv0/FX%20prod", "srv1/OMS%20prod", "srv1/OMS%20uat"], "filtered");
  assert.equal(tile(root, "srv1/OMS%20uat").getAttribute("href"), "#/entity/srv1/OMS%20uat?kiosk=1", "kiosk kept");
  const toggles = [...root.querySelectorAll('.wall-control[data-control^="env:"]')].map((a) => [a.textContent, a.getAttribute("href"), a.getAttribute("aria-current")]);
  assert.deepEqual(
    toggles,
    [
      ["All", "#/wall?kiosk=1", null],
      ["Production", "#/wall?environment=uat&kiosk=1", "true"],
      ["Pre-Production", "#/wall?environment=production%2Cuat%2Cpre-production&kiosk=1", null],
      ["UAT", "#/wall?environment=production&kiosk=1", "true"],
      ["lab", "#/wall?environment=production%2Cuat%2Clab&kiosk=1", null],
    ],
    "toggles",
  );
  assert.equal(root.querySelector('.wall-control[data-control="group:system"]').getAttribute("href"), "#/wall?group=system&environment=production%2Cuat&kiosk=1", "group link keeps the filter");
});

// withWallCSS loads wall.css into the page for the test, for layout.
async function withWallCSS(t) {
  const link = document.createElement("link");
  link.rel = "stylesheet";
  link.href = "../wall.css";
  const loaded = new Promise((resolve, reject) => {
    link.onload = resolve;
    link.onerror = () => reject(new Error("wall.css did not load"));
  });
  document.head.appendChild(link);
  t.cleanup(() => link.remove());
  await loaded;
}

function key(el, k) {
  el.dispatchEvent(new KeyboardEvent("keydown", { key: k, bubbles: true, cancelable: true }));
}

test("wall: tiles fit the room, and the arrow keys, Home and End move between them across groups", async (t) => {
  await withWallCSS(t);
  const root = attached(t);
  root.style.cssText = "width: 900px; height: 500px";
  const entities = {};
  for (let i = 0; i < 30; i++) entities["e" + String(i).padStart(2, "0")] = { attributes: { environment: i < 20 ? "production" : "uat" } };
  const { transport } = mount(t, {}, root);
  transport.deliver(treeSnapshot([probe("p", { entities })]));
  await nextFrame();
  await nextFrame();
  const tiles = [...root.querySelectorAll(".tile")];
  const box = root.getBoundingClientRect();
  for (const el of tiles) {
    const r = el.getBoundingClientRect();
    assert.ok(r.bottom <= box.bottom + 0.5 && r.right <= box.right + 0.5, el.dataset.entity + " inside the room: " + JSON.stringify(r));
  }
  assert.deepEqual(tiles.filter((el) => el.tabIndex === 0).map((el) => el.dataset.entity), ["p/e00"], "one tile in the tab order");
  const cols = Number(root.querySelector(".wall").dataset.cols);
  assert.ok(cols > 1 && cols < 20, "columns " + cols);
  tiles[0].focus();
  key(tiles[0], "ArrowRight");
  assert.equal(document.activeElement, tiles[1], "right");
  key(tiles[1], "ArrowLeft");
  assert.equal(document.activeElement, tiles[0], "left");
  key(tiles[0], "ArrowDown");
  assert.equal(document.activeElement, tiles[cols], "down a row");
  key(tiles[cols], "ArrowUp");
  assert.equal(document.activeElement, tiles[0], "up a row");
  key(tiles[0], "End");
  assert.equal(document.activeElement, tiles[29], "end");
  assert.deepEqual(tiles.filter((el) => el.tabIndex === 0).map((el) => el.dataset.entity), ["p/e29"], "the tab order follows");
  key(tiles[29], "Home");
  assert.equal(document.activeElement, tiles[0], "home");
  // From the last row of production, down goes into UAT.
  const lastProdRow = tiles[Math.floor(19 / cols) * cols];
  lastProdRow.focus();
  key(lastProdRow, "ArrowDown");
  assert.equal(document.activeElement.closest(".wall-group").dataset.group, "uat", "down into the next group");
});
