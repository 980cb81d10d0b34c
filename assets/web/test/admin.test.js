import { assert, test } from "./runner.js";
import { ApiError } from "../session.js";
import { auditQuery, auditView, isoToLocal, localToISO } from "../views/admin-audit.js";
import { kioskRequest, screensView } from "../views/admin-screens.js";
import { DEFAULT_ROLES, editRequest, roleChoices, userRequest, usersView } from "../views/admin-users.js";
import { passwordChange, passwordView } from "../views/password.js";
import { attached, errorOf, FakeApi, settled } from "./fakes.js";

// mount mounts view into the page with api, as the router would, and
// waits for its first requests to be answered.
async function mount(t, view, api, params = {}, extra = {}) {
  const root = attached(t);
  const handle = view.mount(root, params, { api, ...extra }) || {};
  t.cleanup(() => handle.unmount && handle.unmount());
  await settled();
  return root;
}

function refusal(status, message) {
  return () => {
    throw new ApiError(status, { message });
  };
}

function messageOf(root, kind = "error") {
  return [...root.querySelectorAll(`[data-message="${kind}"]`)].map((el) => el.textContent).filter((s) => s !== "");
}

function fill(form, values) {
  for (const [name, v] of Object.entries(values)) form.elements.namedItem(name).value = v;
}

const KIOSKS = [
  { id: "k1", label: "Desk 3 wall", scope: "client=acme", created: "2026-12-01T08:00:00Z", created_by: "alice", last_used: "2026-12-01T09:00:00Z", expires: "" },
  { id: "k2", label: "Lobby", scope: "", created: "2026-12-01T08:00:00Z", created_by: "bob", last_used: null, expires: "2027-01-01T00:00:00Z" },
];

test("admin: a kiosk request from the issue form", () => {
  assert.deepEqual(kioskRequest({ label: " Lobby ", scope: "", expires: "" }), { label: "Lobby" }, "the least");
  assert.deepEqual(
    kioskRequest({ label: "Desk 3", scope: "client=acme|beta", expires: "720h" }),
    { label: "Desk 3", scope: { client: ["acme", "beta"] }, expires_in: "720h" },
    "everything",
  );
  assert.ok(/label/.test(errorOf(() => kioskRequest({ label: " ", scope: "", expires: "" }))), "no label");
  assert.ok(/attribute=value/.test(errorOf(() => kioskRequest({ label: "x", scope: "acme", expires: "" }))), "a bad scope");
});

test("admin: screens lists the links with their last use", async (t) => {
  const api = new FakeApi({ "GET /api/v1/kiosks": () => KIOSKS });
  const root = await mount(t, screensView, api);
  assert.deepEqual(api.take(), [["GET", "/api/v1/kiosks"]], "requests");
  const rows = [...root.querySelectorAll("tr[data-kiosk-id]")];
  assert.deepEqual(rows.map((r) => r.dataset.kioskId), ["k1", "k2"], "rows");
  assert.deepEqual(
    rows.map((r) => [...r.cells].slice(0, 2).map((c) => c.textContent)),
    [["Desk 3 wall", "client=acme"], ["Lobby", "whole estate"]],
    "label and scope",
  );
  assert.equal(rows[1].cells[3].textContent, "never", "never used");
  assert.equal(rows[1].cells[4].querySelector("time").getAttribute("datetime"), "2027-01-01T00:00:00Z", "expiry");
  assert.ok(rows[0].cells[2].textContent.endsWith(" by alice"), "created by");
});

test("admin: issuing a link shows it once, whole, and lists it", async (t) => {
  let listed = [];
  const api = new FakeApi({
    "GET /api/v1/kiosks": () => listed,
    "POST /api/v1/kiosks": (body) => {
      listed = [{ id: "k9", label: body.label, scope: "client=acme", created: "2026-12-01T08:00:00Z", created_by: "alice" }];
      return { id: "k9", label: body.label, link: "/kiosk/s3cr3t" };
    },
  });
  const root = await mount(t, screensView, api);
  api.take();
  const form = root.querySelector('form[data-form="issue-kiosk"]');
  fill(form, { label: "Desk 3 wall", scope: "client=acme", expires: "720h" });
  form.requestSubmit();
  await settled();
  assert.deepEqual(
    api.take(),
    [["POST", "/api/v1/kiosks", { label: "Desk 3 wall", scope: { client: ["acme"] }, expires_in: "720h" }], ["GET", "/api/v1/kiosks"]],
    "requests",
  );
  const link = root.querySelector("[data-issued-link]");
  assert.equal(link.textContent, location.origin + "/kiosk/s3cr3t", "the link");
  assert.equal(root.querySelector("[data-issued]").hidden, false, "shown");
  assert.ok(/will not be shown again/.test(root.querySelector("[data-issued]").textContent), "the warning");
  assert.equal(document.activeElement, root.querySelector('[data-action="copy-link"]'), "focus on Copy");
  assert.equal(form.elements.namedItem("label").value, "", "form reset");
  assert.deepEqual([...root.querySelectorAll("tr[data-kiosk-id]")].map((r) => r.dataset.kioskId), ["k9"], "listed");
  root.querySelector('[data-action="dismiss-link"]').click();
  assert.equal(root.querySelector("[data-issued-link]"), null, "gone once done");
});

test("admin: a refused issue and a bad scope say why", async (t) => {
  const api = new FakeApi({ "GET /api/v1/kiosks": () => [], "POST /api/v1/kiosks": refusal(403, "manage-kiosks is needed") });
  const root = await mount(t, screensView, api);
  api.take();
  const form = root.querySelector('form[data-form="issue-kiosk"]');
  fill(form, { label: "Lobby", scope: "acme" });
  form.requestSubmit();
  await settled();
  assert.deepEqual(api.take(), [], "no request for a bad scope");
  assert.ok(/attribute=value/.test(messageOf(root)[0]), "scope message " + messageOf(root));
  fill(form, { scope: "" });
  form.requestSubmit();
  await settled();
  assert.deepEqual(messageOf(root), ["manage-kiosks is needed"], "the gateway's message");
  assert.equal(root.querySelector("[data-issued]").hidden, true, "no link");
});

test("admin: revoking asks first, in place", async (t) => {
  const api = new FakeApi({ "GET /api/v1/kiosks": () => KIOSKS, "DELETE /api/v1/kiosks/k1": () => null });
  const root = await mount(t, screensView, api);
  api.take();
  const revoke = () => root.querySelector('tr[data-kiosk-id="k1"] [data-action="revoke"]');
  revoke().click();
  assert.equal(document.activeElement, root.querySelector('[data-action="confirm-revoke"]'), "focus on the confirmation");
  root.querySelector('[data-action="cancel-revoke"]').click();
  assert.equal(document.activeElement, revoke(), "kept: focus back");
  revoke().click();
  root.querySelector('[data-action="confirm-revoke"]').dispatchEvent(new KeyboardEvent("keydown", { key: "Escape", bubbles: true }));
  assert.ok(revoke(), "Escape keeps it");
  assert.deepEqual(api.take(), [], "nothing revoked yet");
  revoke().click();
  root.querySelector('[data-action="confirm-revoke"]').click();
  await settled();
  assert.deepEqual(api.take(), [["DELETE", "/api/v1/kiosks/k1"], ["GET", "/api/v1/kiosks"]], "requests");
  assert.deepEqual(messageOf(root, "ok"), ["Revoked the link of Desk 3 wall: its screen is logged out."], "said");
});

test("admin: the roles offered are the defaults and whatever users hold", () => {
  assert.deepEqual(roleChoices([]), DEFAULT_ROLES, "none held");
  assert.deepEqual(
    roleChoices([{ roles: ["night-desk", "operator"] }, { roles: ["auditor"] }, {}]),
    [...DEFAULT_ROLES, "auditor", "night-desk"],
    "others after, sorted",
  );
});

test("admin: user requests", () => {
  assert.deepEqual(
    userRequest({ name: " carol ", roles: ["client"], scope: "client=acme", password: "pw" }),
    { name: "carol", roles: ["client"], scope: { client: ["acme"] }, password: "pw" },
    "add",
  );
  assert.ok(/role/.test(errorOf(() => userRequest({ name: "c", roles: [], scope: "", password: "pw" }))), "no role");
  const u = { name: "carol", roles: ["operator"], scope: "client=acme" };
  assert.deepEqual(editRequest(u, ["operator", "engineer"], "client=acme"), { roles: ["operator", "engineer"] }, "roles only");
  assert.deepEqual(editRequest(u, ["operator"], ""), { scope: {} }, "scope cleared");
  assert.ok(/Nothing/.test(errorOf(() => editRequest(u, ["operator"], "client=acme"))), "nothing changed");
});

const USERS = [
  { name: "root", source: "config", roles: ["admin"], scope: "", disabled: false },
  { name: "carol", source: "database", roles: ["operator", "night-desk"], scope: "client=acme", disabled: false },
  { name: "dave", source: "database", roles: ["viewer"], scope: "", disabled: true },
];

test("admin: users lists everyone; only database users can be changed here", async (t) => {
  const api = new FakeApi({ "GET /api/v1/users": () => USERS });
  const root = await mount(t, usersView, api);
  const rows = [...root.querySelectorAll("tr[data-user]")];
  assert.deepEqual(rows.map((r) => [r.dataset.user, r.dataset.source, r.dataset.disabled]), [["root", "config", "false"], ["carol", "database", "false"], ["dave", "database", "true"]], "rows");
  assert.equal(rows[0].querySelectorAll("button").length, 0, "a configuration user has no buttons");
  assert.deepEqual([...rows[1].querySelectorAll("button")].map((b) => b.dataset.action), ["edit", "disable", "reset-password"], "carol's actions");
  assert.deepEqual([...rows[2].querySelectorAll("button")].map((b) => b.dataset.action), ["edit", "enable", "reset-password"], "dave's actions");
  const offered = [...root.querySelectorAll('form[data-form="add-user"] input[name="role"]')].map((i) => i.value);
  assert.deepEqual(offered, [...DEFAULT_ROLES, "night-desk"], "roles offered");
});

test("admin: disabling, enabling and setting a password", async (t) => {
  const api = new FakeApi({
    "GET /api/v1/users": () => USERS,
    "PUT /api/v1/users/carol": () => null,
    "PUT /api/v1/users/dave": refusal(409, "dave is defined in the configuration file"),
    "POST /api/v1/users/carol/password": () => null,
  });
  const root = await mount(t, usersView, api);
  api.take();
  root.querySelector('tr[data-user="carol"] [data-action="disable"]').click();
  await settled();
  assert.deepEqual(api.take(), [["PUT", "/api/v1/users/carol", { disabled: true }], ["GET", "/api/v1/users"]], "disable");
  root.querySelector('tr[data-user="dave"] [data-action="enable"]').click();
  await settled();
  assert.deepEqual(api.take(), [["PUT", "/api/v1/users/dave", { disabled: false }]], "enable");
  assert.deepEqual(messageOf(root), ["dave is defined in the configuration file"], "a 409's message");

  root.querySelector('tr[data-user="carol"] [data-action="reset-password"]').click();
  const form = root.querySelector('form[data-form="reset-password"][data-user="carol"]');
  assert.equal(document.activeElement, form.elements.namedItem("password"), "focus on the password");
  fill(form, { password: "n3w" });
  form.requestSubmit();
  await settled();
  assert.deepEqual(api.take(), [["POST", "/api/v1/users/carol/password", { password: "n3w" }], ["GET", "/api/v1/users"]], "password set");
  assert.deepEqual(messageOf(root, "ok"), ["Set a new password for carol."], "said");
});

test("admin: editing a user's roles in place", async (t) => {
  const api = new FakeApi({ "GET /api/v1/users": () => USERS, "PUT /api/v1/users/carol": () => null });
  const root = await mount(t, usersView, api);
  api.take();
  const edit = root.querySelector('tr[data-user="carol"] [data-action="edit"]');
  edit.click();
  const form = root.querySelector('form[data-form="edit-user"][data-user="carol"]');
  const box = (r) => form.querySelector(`input[name="role"][value="${r}"]`);
  assert.deepEqual([box("operator").checked, box("night-desk").checked, box("admin").checked], [true, true, false], "ticked as held");
  form.querySelector('[data-action="cancel"]').click();
  assert.equal(root.querySelector('form[data-form="edit-user"]'), null, "cancelled");
  assert.equal(document.activeElement, edit, "focus back on Edit");
  edit.click();
  const again = root.querySelector('form[data-form="edit-user"]');
  again.querySelector('input[value="night-desk"]').checked = false;
  again.querySelector('input[value="engineer"]').checked = true;
  again.requestSubmit();
  await settled();
  assert.deepEqual(api.take(), [["PUT", "/api/v1/users/carol", { roles: ["operator", "engineer"] }], ["GET", "/api/v1/users"]], "requests");
});

test("admin: adding a user sends the ticked roles", async (t) => {
  const api = new FakeApi({ "GET /api/v1/users": () => USERS, "POST /api/v1/users": () => ({}) });
  const root = await mount(t, usersView, api);
  api.take();
  const form = root.querySelector('form[data-form="add-user"]');
  fill(form, { name: "erin", scope: "client=acme", password: "first" });
  for (const r of ["client", "operator"]) form.querySelector(`input[name="role"][value="${r}"]`).checked = true;
  form.requestSubmit();
  await settled();
  assert.deepEqual(
    api.take(),
    [["POST", "/api/v1/users", { name: "erin", roles: ["client", "operator"], scope: { client: ["acme"] }, password: "first" }], ["GET", "/api/v1/users"]],
    "requests",
  );
  assert.deepEqual(messageOf(root, "ok"), ["Added erin."], "said");
});

test("admin: the audit query", () => {
  assert.equal(auditQuery({}), "", "none");
  assert.equal(auditQuery({ who: " alice ", action: "", since: "2026-12-01T07:00:00Z" }, { limit: 100 }), "?who=alice&since=2026-12-01T07%3A00%3A00Z&limit=100", "filters and limit");
  assert.equal(auditQuery({ rest: "x", who: "a" }, { before: "c42" }), "?who=a&before=c42", "only filters, and the page before");
  assert.equal(localToISO(""), "", "no time");
  assert.equal(isoToLocal(localToISO("2026-12-01T08:30")), "2026-12-01T08:30", "local time round trip");
  assert.ok(/Z$/.test(localToISO("2026-12-01T08:30")), "sent in UTC");
});

function entry(n, ok = true) {
  return { time: "2026-12-01T08:00:0" + n + "Z", who: "alice", kind: "person", source: "127.0.0.1", action: "kiosk.issue", target: "k" + n, ok, detail: "" };
}

test("admin: audit shows the filtered trail and pages to older entries", async (t) => {
  const api = new FakeApi({
    "GET /api/v1/audit?who=alice&limit=100": () => ({ entries: [entry(2), entry(1, false)], next: "c1" }),
    "GET /api/v1/audit?who=alice&limit=100&before=c1": () => ({ entries: [entry(0)], next: "" }),
  });
  const hashes = [];
  const root = await mount(t, auditView, api, { who: "alice" }, { navigate: (h) => hashes.push(h) });
  const targets = () => [...root.querySelectorAll("tr[data-audit-row]")].map((r) => r.cells[4].textContent);
  assert.deepEqual(targets(), ["k2", "k1"], "first page");
  assert.equal(root.querySelector('tr[data-ok="false"] .result').textContent, "✖ failed", "a failure, by shape and word");
  assert.equal(root.querySelector('form[data-form="audit-filter"]').elements.namedItem("who").value, "alice", "the filter shown");
  const older = root.querySelector('[data-action="older"]');
  assert.equal(older.hidden, false, "older entries offered");
  older.click();
  await settled();
  assert.deepEqual(targets(), ["k2", "k1", "k0"], "older appended");
  assert.equal(older.hidden, true, "no more");

  const form = root.querySelector('form[data-form="audit-filter"]');
  fill(form, { who: "bob", action: "login" });
  form.requestSubmit();
  assert.deepEqual(hashes, ["#/admin/audit?who=bob&action=login"], "a filter is a new location");
});

test("admin: audit refused says why", async (t) => {
  const api = new FakeApi({ "GET /api/v1/audit?limit=100": refusal(403, "read-audit is needed") });
  const root = await mount(t, auditView, api, {}, { navigate() {} });
  assert.deepEqual(messageOf(root), ["read-audit is needed"], "message");
  assert.equal(root.querySelector("table").hidden, true, "no table");
});

test("admin: changing one's password", async (t) => {
  assert.ok(/differ/.test(errorOf(() => passwordChange({ old: "a", fresh: "b", repeat: "c" }))), "mismatch");
  assert.deepEqual(passwordChange({ old: "a", fresh: "b", repeat: "b" }), { old: "a", new: "b" }, "body");
  const api = new FakeApi({ "POST /api/v1/me/password": refusal(403, "the current password is wrong") });
  const root = await mount(t, passwordView, api);
  const form = root.querySelector('form[data-form="change-password"]');
  fill(form, { old: "a", new: "b", repeat: "c" });
  form.requestSubmit();
  await settled();
  assert.deepEqual(api.take(), [], "no request for a mismatch");
  fill(form, { repeat: "b" });
  form.requestSubmit();
  await settled();
  assert.deepEqual(api.take(), [["POST", "/api/v1/me/password", { old: "a", new: "b" }]], "request");
  assert.deepEqual(messageOf(root), ["the current password is wrong"], "message");
});
