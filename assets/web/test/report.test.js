import { assert, test } from "./runner.js";
import { ApiError } from "../session.js";
import { IncidentsModel } from "../incidents-model.js";
import { ownIncidents, reportView } from "../views/report.js";
import { attached, FakeApi, liveStore, probe, settled, treeSnapshot } from "./fakes.js";

const CLIENT = { user: "acme-trader", kind: "person", roles: ["client"], scope: { client: ["acme"] }, permissions: ["view", "raise-incident"] };
const KIOSK = { user: "kiosk:Lobby", kind: "kiosk", roles: [], permissions: ["view"] };

function inc(id, fields = {}) {
  return { id, title: "title of " + id, state: "open", severity: "warning", peak: "warning", opened: "2026-12-01T09:00:00Z", client: "acme", events: 1, ...fields };
}

// mount mounts the report view with a live store whose tree holds the
// client's entities and whose incidents topic holds incidents.
async function mount(t, { api = new FakeApi(), me = CLIENT, incidents = [] } = {}) {
  const { store, transport } = liveStore();
  const root = attached(t);
  const handle = reportView.mount(root, {}, { store, api, me: Promise.resolve(me) });
  t.cleanup(() => handle.unmount());
  transport.deliver(treeSnapshot([probe("venue", { entities: { "router-acme": { attributes: { client: "acme" } }, "gateway-acme": { attributes: { client: "acme" } } } })]));
  transport.deliver({ type: "snapshot", topic: "incidents", incidents, snoozes: [] });
  await settled();
  return { root, api, transport };
}

function messageOf(root, kind = "error") {
  return [...root.querySelectorAll(`[data-message="${kind}"]`)].map((el) => el.textContent).filter((s) => s !== "").join(" ");
}

test("report: the form is there for whoever may raise an incident", async (t) => {
  const client = await mount(t);
  assert.ok(!client.root.querySelector('form[data-form="report-problem"]').hidden, "a client's form");
  const kiosk = await mount(t, { me: KIOSK });
  assert.ok(kiosk.root.querySelector('form[data-form="report-problem"]').hidden, "no form for a wall screen");
  assert.ok(/raise-incident/.test(kiosk.root.textContent), "says why");
});

test("report: a problem about one of its entities is filed, and its ID shown with a link", async (t) => {
  const api = new FakeApi({ "POST /api/v1/incidents": (body) => inc("INC-20261201-0007", { title: body.title }) });
  const { root } = await mount(t, { api });
  const form = root.querySelector('form[data-form="report-problem"]');
  const options = [...form.elements.namedItem("entity").options].map((o) => o.value);
  assert.deepEqual(options, ["", "venue/gateway-acme", "venue/router-acme"], "its entities, from the tree");
  form.querySelector('button[type="submit"]').click();
  await settled();
  assert.deepEqual(api.take(), [], "nothing sent without a title");
  assert.ok(/title/.test(messageOf(root)), "says so");
  form.elements.namedItem("title").value = "Orders rejected";
  form.elements.namedItem("text").value = "since 09:00, every order to LSE";
  form.querySelector('input[name="severity"][value="critical"]').checked = true;
  form.elements.namedItem("entity").value = "venue/router-acme";
  form.querySelector('button[type="submit"]').click();
  await settled();
  assert.deepEqual(api.take(), [["POST", "/api/v1/incidents", { title: "Orders rejected", text: "since 09:00, every order to LSE", severity: "critical", probe: "venue", entity: "router-acme" }]], "request");
  const filed = root.querySelector(".filed");
  assert.ok(!filed.hidden, "filed");
  assert.equal(filed.querySelector("[data-incident-id]").textContent, "INC-20261201-0007", "the ID");
  assert.equal(filed.querySelector("a").getAttribute("href"), "#/incidents/INC-20261201-0007", "a link to follow it");
  assert.equal(form.elements.namedItem("title").value, "", "the form is cleared");
});

test("report: a refusal is shown as the gateway says it", async (t) => {
  const api = new FakeApi({
    "POST /api/v1/incidents": () => {
      throw new ApiError(404, { message: "no entity router-globex on probe venue" });
    },
  });
  const { root } = await mount(t, { api });
  const form = root.querySelector('form[data-form="report-problem"]');
  form.elements.namedItem("title").value = "x";
  form.querySelector('button[type="submit"]').click();
  await settled();
  assert.equal(messageOf(root), "no entity router-globex on probe venue", "message");
  assert.ok(root.querySelector(".filed").hidden, "nothing filed");
});

test("report: the client's incidents are listed under the form, live", async (t) => {
  const { root, transport } = await mount(t, { incidents: [inc("INC-R", { state: "resolved", resolved: "2026-12-01T09:30:00Z" }), inc("INC-C", { severity: "critical" })] });
  const ids = () => [...root.querySelectorAll('[data-section="own"] tr[data-incident]')].map((r) => r.dataset.incident);
  assert.deepEqual(ids(), ["INC-C", "INC-R"], "open first");
  assert.equal(root.querySelectorAll('[data-section="own"] button').length, 0, "no actions");
  transport.deliver({ type: "delta", topic: "incidents", incidents: [inc("INC-NEW", { opened: "2026-12-01T09:40:00Z" })] });
  assert.deepEqual(ids(), ["INC-C", "INC-NEW", "INC-R"], "a new one");
});

test("report: its own incidents in order", () => {
  const m = new IncidentsModel();
  m.apply({ type: "snapshot", incidents: [inc("R1", { state: "resolved", resolved: "2026-12-01T09:10:00Z" }), inc("R2", { state: "resolved", resolved: "2026-12-01T09:20:00Z" }), inc("O1")] });
  assert.deepEqual(ownIncidents(m).map((i) => i.id), ["O1", "R2", "R1"], "open, then newest resolved");
});
