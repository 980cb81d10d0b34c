import { assert, test } from "./runner.js";
import { durationText, firings, mountRuleEditor } from "../rule-editor.js";
import { offsetOf } from "../rule-code.js";
import { newRuleYAML, ruleYAML } from "../rule-yaml.js";
import { Api } from "../session.js";
import { kindOf, levelsText, matchesFilter, rulesView } from "../views/rules.js";
import { attached, deferred, FakeApi, FakeFetch, settled, until } from "./fakes.js";

const ENGINEER = { user: "erin", kind: "person", roles: ["engineer"], permissions: ["view", "read-rules", "edit-rules", "backtest"] };
const VIEWER = { user: "vic", kind: "person", roles: ["viewer"], permissions: ["view", "read-rules"] };

const CPU_DEF = { name: "cpu-high", match: "*/*/cpu/cpu/*/utilisation", critical: { when: "value > 90", for: "30s" } };
const CPU_RULE = { name: "cpu-high", source: "api", readOnly: false, def: CPU_DEF, version: 3, updatedBy: "alice", updatedAt: "2026-12-01T08:00:00Z" };
const CFG_RULE = { name: "cfg-cpu", source: "config", readOnly: true, def: { name: "cfg-cpu", match: "*/*/cpu/cpu/total/utilisation", critical: { when: "value > 99" } } };

const VALID = { status: 200, body: { valid: true, kind: "cell" } };
const NO_ITEMS = { status: 200, body: { items: [], total: 0, truncated: false } };

function invalid(...errors) {
  return { status: 422, body: { valid: false, message: "the rule is not valid", errors } };
}

function version(def, v, extra = {}) {
  return { name: def.name, version: v, action: "update", change: "changed", author: "erin", time: "2026-12-01T09:00:00Z", def, ...extra };
}

// until waits for cond to hold, for what needs timers (the check's
// delay) to run.

// editor mounts the editor of a rule on a FakeFetch gateway; answers add
// to (or replace) the gateway's defaults for cpu-high.
async function editor(t, { me = ENGINEER, answers = {}, name = "cpu-high", isNew = false, copyOf = "", delay = 20 } = {}) {
  const gw = new FakeFetch({
    "GET /api/v1/rules/cpu-high": () => ({ body: CPU_RULE }),
    "GET /api/v1/rules/cpu-high/history": () => ({ body: { name: "cpu-high", versions: [] } }),
    "POST /api/v1/rules/validate": () => VALID,
    "POST /api/v1/rules/preview?limit=200": () => NO_ITEMS,
    ...answers,
  });
  const ended = [];
  const api = new Api({ fetch: gw.fetch, sessionEnded: () => ended.push(true) });
  const root = attached(t);
  const went = [];
  const handle = mountRuleEditor(root, { api, me: Promise.resolve(me), name, isNew, copyOf, delay, navigate: (hash, replace) => went.push([hash, !!replace]) });
  t.cleanup(() => handle.unmount());
  const textarea = () => root.querySelector("textarea");
  await until("the editor", () => textarea() !== null);
  await until("the first check", () => !["checking", "idle"].includes(root.querySelector("[data-check]").dataset.check));
  return { root, gw, went, ended, textarea, check: () => root.querySelector("[data-check]").dataset.check };
}

// type replaces the text as typing would, one input event.
function type(textarea, text) {
  textarea.value = text;
  textarea.dispatchEvent(new Event("input", { bubbles: true }));
}

function sent(gw, method, path) {
  return gw.take().filter((r) => r.method === method && r.path === path);
}

test("rules: a rule's definition as YAML, quoted where YAML would read it otherwise", () => {
  const def = {
    name: "fix-sessions",
    description: "sessions: LSE's",
    match: "*/*/fix/sessions",
    where: { environment: ["production"], system: ["OMS", "SOR"] },
    rows: ["LSE", "XETRA", "a,b"],
    for: "30s",
    severity: "critical",
    incident: { open: "warning", impact: true, notify: ["pager"], title: "true" },
    phases: { bod: { warning: { when: 'text != "n/a" && value > 95' } } },
  };
  assert.equal(
    ruleYAML(def),
    [
      "name: fix-sessions",
      "description: 'sessions: LSE''s'",
      "match: '*/*/fix/sessions'",
      "where:",
      "  environment: [production]",
      "  system: [OMS, SOR]",
      "rows:",
      "  - LSE",
      "  - XETRA",
      "  - a,b",
      "for: 30s",
      "severity: critical",
      "incident:",
      "  open: warning",
      "  impact: true",
      "  notify: [pager]",
      "  title: 'true'",
      "phases:",
      "  bod:",
      "    warning:",
      '      when: text != "n/a" && value > 95',
      "",
    ].join("\n"),
    "yaml",
  );
  assert.equal(ruleYAML({ name: "x", description: "two\nlines", match: "42" }), 'name: x\ndescription: "two\\nlines"\nmatch: \'42\'\n', "line breaks and numbers");
  assert.ok(newRuleYAML("disk-full").startsWith("name: disk-full\n"), "a new rule is named");
});

test("rules: kinds, severities and the filter of the list", () => {
  assert.equal(kindOf(CPU_DEF), "cell", "cell");
  assert.equal(kindOf({ match: "*/*/feed/*", stale: "30s", severity: "warning" }), "staleness", "staleness");
  assert.equal(kindOf({ match: "*/*/fix/sessions", rows: ["LSE"] }), "absence", "absence");
  assert.equal(kindOf({ match: "trading-*", probe_down: "0s" }), "probe", "probe down at once");
  assert.equal(levelsText({ critical: { when: "value > 90", for: "30s", clear: "value < 80" }, warning: { when: "value > 75" } }), "critical when value > 90 for 30s, until value < 80; warning when value > 75", "cell levels");
  assert.equal(levelsText({ rows: ["LSE", "XETRA"], for: "30s", severity: "warning" }), "warning when LSE, XETRA missing for 30s", "absence");
  assert.ok(matchesFilter(CPU_RULE, "CPU  VALUE >"), "words in any field, case aside");
  assert.ok(matchesFilter(CPU_RULE, "alice"), "who changed it");
  assert.ok(!matchesFilter(CPU_RULE, "cpu disk"), "every word must match");
});

test("rules: the list shows each rule's source, kind, match and severities, and filters", async (t) => {
  const api = new FakeApi({ "GET /api/v1/rules": () => [CFG_RULE, CPU_RULE] });
  const root = attached(t);
  const handle = rulesView.mount(root, {}, { api, me: Promise.resolve(VIEWER) });
  t.cleanup(() => handle.unmount());
  await settled();
  const rows = () => [...root.querySelectorAll("tr[data-rule]")];
  assert.deepEqual(rows().map((r) => [r.dataset.rule, r.dataset.source, r.dataset.kind]), [["cfg-cpu", "config", "cell"], ["cpu-high", "api", "cell"]], "rows");
  const cpu = rows()[1];
  assert.equal(cpu.querySelector("a").getAttribute("href"), "#/rules/cpu-high", "link to the editor");
  assert.ok(cpu.cells[1].textContent.startsWith("API · version 3 · by alice"), "source: " + cpu.cells[1].textContent);
  assert.equal(rows()[0].cells[1].textContent, "configuration file · read-only", "config source");
  assert.equal(cpu.cells[3].textContent, "*/*/cpu/cpu/*/utilisation", "match");
  assert.equal(cpu.cells[4].textContent, "critical when value > 90 for 30s", "severities");
  assert.equal(root.querySelector('form[data-form="new-rule"]'), null, "a viewer is offered no new rule");
  const filter = root.querySelector('input[name="filter"]');
  filter.value = "total";
  filter.dispatchEvent(new Event("input"));
  assert.deepEqual(rows().map((r) => r.dataset.rule), ["cfg-cpu"], "filtered");
  assert.equal(root.querySelector("[data-count]").textContent, "1 of 2 rules", "count");
  history.replaceState(null, "", location.pathname + location.search);
});

test("rules: validation waits for a pause in typing, then checks the latest text once", async (t) => {
  const e = await editor(t, { delay: 40 });
  e.gw.take();
  type(e.textarea(), "name: cpu-high\nmatch: a");
  type(e.textarea(), "name: cpu-high\nmatch: ab");
  type(e.textarea(), "name: cpu-high\nmatch: abc");
  assert.equal(e.check(), "pending", "pending while typing");
  await settled();
  assert.deepEqual(sent(e.gw, "POST", "/api/v1/rules/validate"), [], "nothing sent while typing");
  await until("the check", () => e.check() === "valid");
  const v = e.gw.requests.filter((r) => r.path === "/api/v1/rules/validate");
  assert.equal(v.length, 1, "one validation");
  assert.equal(v[0].body, "name: cpu-high\nmatch: abc", "of the latest text");
  assert.equal(v[0].headers["Content-Type"], "application/yaml", "as YAML");
  await until("the preview", () => e.gw.requests.some((r) => r.path.startsWith("/api/v1/rules/preview")));
});

test("rules: a late answer to an older check never overwrites a newer one", async (t) => {
  const first = deferred();
  let n = 0;
  const e = await editor(t, {
    answers: {
      "POST /api/v1/rules/validate": () => (++n === 2 ? first.promise : VALID),
    },
  });
  type(e.textarea(), "name: cpu-high\nbogus: 1\n");
  await until("the first request", () => n === 2);
  const older = e.gw.requests.find((r) => r.body === "name: cpu-high\nbogus: 1\n");
  type(e.textarea(), "name: cpu-high\nmatch: x\n");
  await until("the newer check", () => n === 3 && e.check() === "valid");
  assert.ok(older.signal.aborted, "the older request is aborted");
  first.resolve(invalid({ field: "bogus", line: 2, column: 1, message: "unknown key bogus" }));
  await settled();
  assert.equal(e.check(), "valid", "still the newer answer");
  assert.equal(e.root.querySelectorAll("[data-error-line]").length, 0, "no problem marked");
});

test("rules: problems are listed at their line and column, marked in the gutter, and move the caret", async (t) => {
  const text = 'name: cpu-high\nmatch: "*/*/cpu/cpu/*/utilisation"\ncritical:\n  when: value > 90 and bogus\n  fro: 1m\n';
  const e = await editor(t, {
    answers: {
      "POST /api/v1/rules/validate": (req) =>
        req.body.includes("bogus")
          ? invalid({ field: "critical.when", line: 4, column: 24, message: "unknown name bogus" }, { field: "critical.fro", line: 5, column: 3, message: "unknown key fro" }, { field: "", message: "a rule as a whole" })
          : VALID,
    },
  });
  type(e.textarea(), text);
  await until("the problems", () => e.check() === "invalid");
  const marked = [...e.root.querySelectorAll(".code-gutter [data-error-line]")].map((el) => el.dataset.errorLine);
  assert.deepEqual(marked, ["4", "5"], "gutter marks");
  assert.equal(e.root.querySelector('[data-error-line="4"]').title, "4:24 unknown name bogus", "the mark's message");
  const items = [...e.root.querySelectorAll("[data-problems] li")].map((li) => li.textContent);
  assert.deepEqual(items, ["4:24 critical.when: unknown name bogus", "5:3 critical.fro: unknown key fro", "a rule as a whole"], "listed");
  assert.equal(e.root.querySelector("[data-problems]").dataset.problems, "3", "count");
  e.root.querySelector('button.problem[data-line="4"]').click();
  assert.equal(e.textarea().selectionStart, offsetOf(text, 4, 24), "caret");
  assert.equal(text.slice(e.textarea().selectionStart, e.textarea().selectionStart + 5), "bogus", "at the word");
  assert.equal(document.activeElement, e.textarea(), "focus in the text");

  type(e.textarea(), text.replace(" and bogus", "").replace("fro", "for"));
  await until("the fix", () => e.check() === "valid");
  assert.equal(e.root.querySelectorAll("[data-error-line]").length, 0, "marks cleared");
  assert.equal(e.root.querySelectorAll("[data-problems] li").length, 0, "list cleared");
});

test("rules: Tab indents with spaces; Escape then Tab leaves the text", async (t) => {
  const e = await editor(t);
  const ta = e.textarea();
  ta.focus();
  ta.setSelectionRange(0, 0);
  const tab = () => ta.dispatchEvent(new KeyboardEvent("keydown", { key: "Tab", bubbles: true, cancelable: true }));
  assert.ok(!tab(), "Tab is taken");
  assert.ok(ta.value.startsWith("  name: cpu-high"), "two spaces inserted");
  assert.equal(ta.selectionStart, 2, "caret after them");
  ta.dispatchEvent(new KeyboardEvent("keydown", { key: "Escape", bubbles: true }));
  assert.ok(tab(), "after Escape, Tab is the browser's");
});

test("rules: the gutter numbers every line and scrolls with the text", async (t) => {
  // Alignment is the style sheet's work: the test page has only the
  // shared one.
  const css = document.createElement("link");
  css.rel = "stylesheet";
  css.href = "../rule-editor.css";
  const loaded = new Promise((resolve, reject) => {
    css.onload = resolve;
    css.onerror = () => reject(new Error("rule-editor.css did not load"));
  });
  document.head.appendChild(css);
  t.cleanup(() => css.remove());
  await loaded;
  const long = Array.from({ length: 120 }, (_, i) => "# line " + (i + 1)).join("\n");
  const e = await editor(t);
  type(e.textarea(), long);
  const gutter = e.root.querySelector(".code-gutter");
  assert.equal(gutter.children.length, 120, "a number a line");
  assert.equal(gutter.lastElementChild.textContent, "120", "the last");
  e.textarea().scrollTop = 600;
  e.textarea().dispatchEvent(new Event("scroll"));
  assert.ok(e.textarea().scrollTop > 0, "the text scrolled");
  assert.equal(gutter.scrollTop, e.textarea().scrollTop, "the gutter with it");
  const top = (el) => el.getBoundingClientRect().top;
  const lh = parseFloat(getComputedStyle(e.textarea()).lineHeight);
  const first = Math.round(e.textarea().scrollTop / lh) + 1;
  const line = gutter.querySelector(`[data-line="${first}"]`);
  assert.ok(Math.abs(top(line) - (top(e.textarea()) + parseFloat(getComputedStyle(e.textarea()).paddingTop) + (first - 1) * lh - e.textarea().scrollTop)) < 2, "line " + first + "'s number beside it");
});

test("rules: the preview lists the cells the rule matches with their severities", async (t) => {
  const e = await editor(t, {
    answers: {
      "POST /api/v1/rules/preview?limit=200": () => ({
        body: {
          items: [
            { path: "p/e/cpu/cpu/total/utilisation", value: "95.5", severity: "critical" },
            { path: "p/e/cpu/cpu/cpu0/utilisation", value: "40", severity: "ok", pending: true },
          ],
          total: 2,
          truncated: false,
        },
      }),
    },
  });
  await until("the preview", () => e.root.querySelector('[data-panel="preview"]').dataset.state === "ready");
  const rows = [...e.root.querySelectorAll('[data-panel="preview"] tr[data-path]')];
  assert.deepEqual(rows.map((r) => [r.dataset.path, r.cells[1].textContent, r.dataset.severity, r.dataset.pending]), [
    ["p/e/cpu/cpu/total/utilisation", "95.5", "critical", "false"],
    ["p/e/cpu/cpu/cpu0/utilisation", "40", "ok", "true"],
  ], "rows");
  assert.ok(rows[0].querySelector(".sev-icon[data-severity=critical]"), "an icon as well as colour");
});

test("rules: a new rule is created by POST and then edited as version 1", async (t) => {
  const created = { ...CPU_DEF, name: "disk-full" };
  const e = await editor(t, {
    name: "disk-full",
    isNew: true,
    answers: {
      "POST /api/v1/rules": () => ({ status: 201, body: version(created, 1, { action: "create", change: "created" }) }),
      "GET /api/v1/rules/disk-full/history": () => ({ body: { name: "disk-full", versions: [version(created, 1)] } }),
    },
  });
  assert.ok(e.textarea().value.startsWith("name: disk-full\n"), "the template is named");
  e.gw.take();
  e.root.querySelector('[data-action="save"]').click();
  await until("the save", () => e.root.querySelector("[data-source]").dataset.source === "api");
  const posts = e.gw.requests.filter((r) => r.method === "POST" && r.path === "/api/v1/rules");
  assert.equal(posts.length, 1, "one POST");
  assert.equal(posts[0].headers["Content-Type"], "application/yaml", "YAML");
  assert.equal(posts[0].headers["If-Match"], undefined, "no version for a new rule");
  assert.deepEqual(e.went, [["#/rules/disk-full", true]], "the address becomes the rule's");
  assert.equal(e.root.querySelector("h2").textContent, "Rule disk-full", "heading");
  assert.ok(e.root.querySelector("[data-source]").textContent.startsWith("API · version 1"), "version 1");
  assert.equal(e.textarea().value, ruleYAML(created), "the text is what the gateway stored");
  await until("the history", () => e.root.querySelector('[data-panel="history"] tr[data-version="1"]') !== null);
});

test("rules: saving an existing rule sends the version it was read at", async (t) => {
  const changed = { ...CPU_DEF, critical: { when: "value > 95", for: "30s" } };
  const e = await editor(t, { answers: { "PUT /api/v1/rules/cpu-high": () => ({ body: version(changed, 4) }) } });
  assert.equal(e.textarea().value, ruleYAML(CPU_DEF), "the rule's text");
  type(e.textarea(), ruleYAML(changed));
  assert.ok(!e.root.querySelector("[data-dirty]").hidden, "unsaved changes shown");
  e.root.querySelector('[data-action="save"]').click();
  await until("the save", () => e.root.querySelector("[data-message=ok]").textContent !== "");
  const put = e.gw.requests.find((r) => r.method === "PUT");
  assert.equal(put.headers["If-Match"], '"3"', "If-Match");
  assert.equal(put.body, ruleYAML(changed), "the text");
  assert.ok(e.root.querySelector("[data-source]").textContent.startsWith("API · version 4"), "now version 4");
  assert.ok(e.root.querySelector("[data-dirty]").hidden, "saved");

  e.gw.answers["PUT /api/v1/rules/cpu-high"] = () => invalid({ field: "critical.when", line: 4, column: 9, message: "unknown name valu" });
  e.root.querySelector('[data-action="save"]').click();
  await until("the refusal", () => e.root.querySelector("[data-message=error]").textContent !== "");
  assert.ok(e.root.querySelector('[data-error-line="4"]'), "a refused save's problems are marked too");
  assert.equal(e.gw.requests.filter((r) => r.method === "PUT").pop().headers["If-Match"], '"4"', "the second save is of version 4");
});

test("rules: a save over someone else's version is shown with a diff, to load theirs or save over it", async (t) => {
  const theirs = { ...CPU_DEF, warning: { when: "value > 80" } };
  let puts = 0;
  const e = await editor(t, {
    answers: {
      "PUT /api/v1/rules/cpu-high": (req) =>
        ++puts === 1 ? { status: 409, body: { message: "rule cpu-high is at version 4, not 3" } } : { body: version(CPU_DEF, 5, { change: req.headers["If-Match"] }) },
    },
  });
  e.gw.answers["GET /api/v1/rules/cpu-high"] = () => ({ body: { ...CPU_RULE, def: theirs, version: 4, updatedBy: "bob" } });
  type(e.textarea(), ruleYAML({ ...CPU_DEF, description: "mine" }));
  e.root.querySelector('[data-action="save"]').click();
  const box = () => e.root.querySelector("[data-conflict]");
  await until("the conflict", () => !box().hidden);
  assert.ok(box().textContent.includes("Version 4 by bob"), "whose: " + box().textContent);
  const ops = [...box().querySelectorAll(".diff-line")].map((l) => l.dataset.op + " " + l.querySelector(".diff-text").textContent);
  assert.ok(ops.includes("del description: mine") && ops.includes("add warning:"), "the diff: " + JSON.stringify(ops));
  assert.ok(e.root.querySelector("[data-message=error]").textContent.includes("version 4"), "said");
  assert.ok(e.textarea().value.includes("description: mine"), "mine is kept");

  box().querySelector('[data-action="save-over"]').click();
  await until("the second save", () => puts === 2 && box().hidden);
  assert.equal(e.gw.requests.filter((r) => r.method === "PUT")[1].headers["If-Match"], '"4"', "saved over version 4");

  // Another conflict: this time load theirs.
  puts = 0;
  e.gw.answers["GET /api/v1/rules/cpu-high"] = () => ({ body: { ...CPU_RULE, def: theirs, version: 6, updatedBy: "bob" } });
  e.root.querySelector('[data-action="save"]').click();
  await until("the second conflict", () => !box().hidden);
  box().querySelector('[data-action="load-theirs"]').click();
  assert.equal(e.textarea().value, ruleYAML(theirs), "their text");
  assert.ok(e.root.querySelector("[data-source]").textContent.startsWith("API · version 6"), "at their version");
});

test("rules: history shows a version's diff against the text, and reverts to it", async (t) => {
  const v1 = { ...CPU_DEF, critical: { when: "value > 80" } };
  const e = await editor(t, {
    answers: {
      "GET /api/v1/rules/cpu-high/history": () => ({
        body: { name: "cpu-high", versions: [version(v1, 1, { action: "create" }), version(CPU_DEF, 2), version(CPU_DEF, 3)] },
      }),
      "POST /api/v1/rules/cpu-high/revert": () => ({ body: version(v1, 4, { action: "revert", from: "1" }) }),
    },
  });
  await until("the history", () => e.root.querySelectorAll('[data-panel="history"] tr[data-version]').length === 3);
  assert.deepEqual([...e.root.querySelectorAll('[data-panel="history"] tr[data-version]')].map((r) => r.dataset.version), ["3", "2", "1"], "newest first");
  e.root.querySelector('[data-action="compare"][data-version="1"]').click();
  const lines = [...e.root.querySelectorAll("[data-diff] .diff-line")].filter((l) => l.dataset.op !== "same").map((l) => l.dataset.op + " " + l.querySelector(".diff-text").textContent);
  assert.deepEqual(lines, ["del   when: value > 90", "del   for: 30s", "add   when: value > 80"], "the diff");
  e.gw.take();
  e.root.querySelector('[data-action="revert"][data-version="1"]').click();
  await until("the revert", () => e.textarea().value === ruleYAML(v1));
  const revert = e.gw.requests.find((r) => r.path === "/api/v1/rules/cpu-high/revert");
  assert.equal(revert.body, '{"version":1}', "which version");
  assert.equal(revert.headers["If-Match"], '"3"', "from which");
  assert.ok(e.root.querySelector("[data-source]").textContent.startsWith("API · version 4"), "now version 4");
});

test("rules: deleting asks first, and sends the version", async (t) => {
  const e = await editor(t, { answers: { "DELETE /api/v1/rules/cpu-high": () => ({ status: 204 }) } });
  e.root.querySelector('[data-action="delete"]').click();
  assert.equal(e.gw.requests.filter((r) => r.method === "DELETE").length, 0, "not yet");
  e.root.querySelector('[data-action="confirm-delete"]').click();
  await until("the list", () => e.went.length === 1);
  assert.deepEqual(e.went, [["#/rules", false]], "back to the list");
  assert.equal(e.gw.requests.find((r) => r.method === "DELETE").headers["If-Match"], '"3"', "If-Match");
});

test("rules: a deleted rule opens with its last definition and history, to create again or revert", async (t) => {
  const v1 = { ...CPU_DEF, critical: { when: "value > 80" } };
  const e = await editor(t, {
    answers: {
      "GET /api/v1/rules/cpu-high": () => ({ status: 404, body: { message: "no rule cpu-high" } }),
      "GET /api/v1/rules/cpu-high/history": () => ({
        body: { name: "cpu-high", versions: [version(v1, 1, { action: "create" }), version(CPU_DEF, 2), version(CPU_DEF, 3, { action: "delete", author: "bob" })] },
      }),
      "POST /api/v1/rules/cpu-high/revert": () => ({ body: version(v1, 4, { action: "revert", from: "1" }) }),
    },
  });
  assert.equal(e.root.querySelector("h2").textContent, "Rule cpu-high (deleted)", "heading");
  assert.equal(e.root.querySelector("[data-source]").dataset.source, "deleted", "source");
  assert.ok(e.root.querySelector("[data-source]").textContent.startsWith("Deleted in version 3 by bob"), "who deleted it");
  assert.equal(e.textarea().value, ruleYAML(CPU_DEF), "its last definition");
  assert.equal(e.root.querySelector('[data-action="save"]').textContent, "Create", "saved as a new rule");
  assert.equal(e.root.querySelector('[data-action="delete"]'), null, "nothing to delete");
  await until("the history", () => e.root.querySelector('[data-action="compare"][data-version="1"]') !== null);
  e.root.querySelector('[data-action="compare"][data-version="1"]').click();
  assert.ok(e.root.querySelector('tr[data-version="3"][data-version-action="delete"]'), "the deletion is listed");
  e.root.querySelector('[data-action="revert"][data-version="1"]').click();
  await until("the revert", () => e.textarea().value === ruleYAML(v1));
  assert.equal(e.gw.requests.find((r) => r.path === "/api/v1/rules/cpu-high/revert").headers["If-Match"], '"3"', "from the deletion");
  assert.ok(e.root.querySelector("[data-source]").textContent.startsWith("API · version 4"), "in force again");
  assert.deepEqual(e.went, [["#/rules/cpu-high", true]], "the address is the rule's");
});

test("rules: a viewer sees a rule read-only, with no way to change it", async (t) => {
  const e = await editor(t, {
    me: VIEWER,
    answers: { "GET /api/v1/rules/cpu-high/history": () => ({ body: { name: "cpu-high", versions: [version(CPU_DEF, 3)] } }) },
  });
  assert.ok(e.textarea().readOnly, "read-only text");
  for (const action of ["save", "delete", "copy", "backtest"]) assert.equal(e.root.querySelector(`[data-action="${action}"]`), null, action + " offered");
  assert.ok(e.root.querySelector("[data-read-only-reason]").textContent.includes("edit-rules"), "says why");
  await until("the history", () => e.root.querySelector('[data-action="compare"]') !== null);
  e.root.querySelector('[data-action="compare"]').click();
  assert.equal(e.root.querySelector('[data-action="revert"]'), null, "no revert");
  assert.ok(e.gw.requests.some((r) => r.path === "/api/v1/rules/validate"), "still checked, for the preview");
});

test("rules: a configuration file's rule is read-only, and copied to be edited", async (t) => {
  const e = await editor(t, {
    name: "cfg-cpu",
    answers: {
      "GET /api/v1/rules/cfg-cpu": () => ({ body: CFG_RULE }),
    },
  });
  assert.ok(e.textarea().readOnly, "read-only for an engineer too");
  assert.equal(e.root.querySelector('[data-action="save"]'), null, "no save");
  assert.equal(e.root.querySelector('[data-action="delete"]'), null, "no delete");
  assert.ok(!e.gw.requests.some((r) => r.path.endsWith("/history")), "no store history asked for");
  const form = e.root.querySelector('form[data-form="copy-rule"]');
  form.elements.namedItem("copy-name").value = "cpu-eod";
  form.requestSubmit();
  await until("the copy", () => e.went.length === 1);
  assert.deepEqual(e.went, [["#/rules/cpu-eod?new=1&from=cfg-cpu", false]], "to a new rule's editor, from the original");
  assert.ok(!e.gw.requests.some((r) => r.method !== "GET" && !/validate|preview/.test(r.path)), "nothing written: the copy is not in force yet");
});

test("rules: a copy starts as the original's text under its new name, unsaved until created", async (t) => {
  const e = await editor(t, {
    name: "cpu-eod",
    isNew: true,
    copyOf: "cfg-cpu",
    answers: {
      "GET /api/v1/rules/cfg-cpu": () => ({ body: CFG_RULE }),
      "POST /api/v1/rules": (req) => ({ status: 201, body: version({ ...CFG_RULE.def, name: "cpu-eod" }, 1, { action: "create", change: "created" }) }),
      "GET /api/v1/rules/cpu-eod/history": () => ({ body: { name: "cpu-eod", versions: [] } }),
    },
  });
  assert.equal(e.textarea().value, ruleYAML({ ...CFG_RULE.def, name: "cpu-eod" }), "the original's definition, renamed");
  assert.ok(!e.textarea().readOnly, "editable, though the original is not");
  assert.equal(e.root.querySelector("[data-source]").dataset.source, "new", "not saved");
  assert.ok(e.root.querySelector("[data-source]").textContent.includes("a copy of cfg-cpu"), "says whose copy it is");
  assert.ok(!e.gw.requests.some((r) => r.method === "POST" && r.path === "/api/v1/rules"), "nothing created yet");
  e.root.querySelector('[data-action="save"]').click();
  await until("the creation", () => e.root.querySelector("[data-source]").dataset.source === "api");
  assert.deepEqual(e.went, [["#/rules/cpu-eod", true]], "the address becomes the rule's");
});

test("rules: a backtest says how often the rule would have fired, and lists the firings", async (t) => {
  const result = {
    rule: "cpu-high", from: "2026-12-01T09:00:00Z", to: "2026-12-01T09:15:00Z", cells: 3, transitions: 5, wouldOpen: 2, critical: 2, truncated: false,
    byCell: [
      { path: "p/e/cpu/cpu/total/utilisation", transitions: [
        { time: "2026-12-01T09:00:00Z", old: "undefined", new: "ok", value: "10" },
        { time: "2026-12-01T09:01:00Z", old: "ok", new: "warning", value: "80" },
        { time: "2026-12-01T09:01:30Z", old: "warning", new: "critical", value: "95" },
        { time: "2026-12-01T09:03:05Z", old: "critical", new: "ok", value: "20" },
      ] },
      { path: "p/e/cpu/cpu/cpu0/utilisation", transitions: [{ time: "2026-12-01T09:10:00Z", old: "ok", new: "critical", value: "99" }] },
    ],
  };
  const got = firings(result);
  assert.deepEqual(got.map((f) => [f.path.split("/")[4], f.severity, f.start, f.end]), [
    ["total", "critical", "2026-12-01T09:01:00Z", "2026-12-01T09:03:05Z"],
    ["cpu0", "critical", "2026-12-01T09:10:00Z", ""],
  ], "firings");
  assert.deepEqual([durationText(400), durationText(125_000), durationText(3_720_000)], ["0.4s", "2m 5s", "1h 2m"], "durations");

  const e = await editor(t, { answers: { "POST /api/v1/rules/backtest?from=-15m": () => ({ body: result }) } });
  e.root.querySelector('[data-panel="backtest"] select').value = "-15m";
  e.root.querySelector('[data-action="backtest"]').click();
  await until("the result", () => e.root.querySelector("[data-backtest]").dataset.fired === "2");
  assert.ok(e.root.querySelector(".backtest-summary").textContent.startsWith("Would have fired 2 times"), "summary");
  const rows = [...e.root.querySelectorAll(".backtest-firings tbody tr")].map((r) => r.cells[3].textContent);
  assert.deepEqual(rows, ["2m 5s", "5m 0s+"], "how long");
  assert.ok(!e.root.querySelector("[data-backtest]").textContent.includes("null"), "nothing drawn as null");
});

test("rules: a session that ended while checking goes to log in", async (t) => {
  const e = await editor(t, { answers: { "POST /api/v1/rules/validate": () => ({ status: 401, body: { message: "log in" } }) } });
  assert.equal(e.ended.length, 1, "session ended");
  assert.equal(e.check(), "error", "not shown as valid");
});
