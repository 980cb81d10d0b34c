// The rule editor ("#/rules/<name>", "#/rules/<name>?new=1" for a rule not
// yet saved): a rule's YAML, checked by the gateway as it is typed, with
// the cells it would judge now, a backtest over the history window, saving
// (which puts it in force at once), its versions with a diff against the
// text and a revert, copying and deleting. The gateway is the only judge
// of a rule: the page parses no YAML and checks nothing itself, so what it
// says is valid is what a save accepts.
//
// What a person may do follows their permissions (read-rules to look,
// edit-rules to change API rules, backtest to backtest); the
// configuration file's rules are read-only to everyone, and copying one
// makes an API rule to edit.

import { diffCounts, diffLines } from "./diff.js";
import { isAbort, problemsOf, RulesApi } from "./rule-api.js";
import { mountCode } from "./rule-code.js";
import { newRuleYAML, ruleYAML } from "./rule-yaml.js";
import { can } from "./session.js";
import { severity, severityIcon } from "./severity.js";
import { busy, errorText, formatWhen, h, messages, tableHead, timeCell } from "./ui.js";

// CHECK_DELAY is how long typing must pause before the text is checked.
export const CHECK_DELAY = 300;

// BACKTEST_WINDOWS are the ranges a backtest may run over, as the API's
// from ("" is the whole window).
export const BACKTEST_WINDOWS = [
  ["", "the whole history window"],
  ["-15m", "the last 15 minutes"],
  ["-1h", "the last hour"],
];

// editorHash returns the hash that opens the named rule's editor, or a
// new rule's (named name) if isNew, starting from a copy of the rule
// named from if given.
export function editorHash(name, isNew = false, from = "") {
  return "#/rules/" + encodeURIComponent(name) + (isNew ? "?new=1" + (from ? "&from=" + encodeURIComponent(from) : "") : "");
}

const DONE = { save: "saved", revert: "reverted", delete: "deleted" };

const FIRING = new Set(["warning", "critical"]);

// firings returns a backtest's firings, earliest first: each run of a
// cell at warning or worse, as {path, start, end ("" if still firing at
// the end), severity (its worst), value (when it started)}.
export function firings(result) {
  const out = [];
  for (const c of Array.isArray(result?.byCell) ? result.byCell : []) {
    let open = null;
    for (const tr of Array.isArray(c.transitions) ? c.transitions : []) {
      const now = FIRING.has(tr.new);
      if (now && !open) {
        open = { path: c.path, start: tr.time, end: "", severity: tr.new, value: tr.value ?? "" };
        out.push(open);
      } else if (now && tr.new === "critical") {
        open.severity = "critical";
      } else if (!now && open) {
        open.end = tr.time;
        open = null;
      }
    }
  }
  return out.sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
}

// durationText shows ms as "1h 2m", "3m 5s", "12s" or "0.4s".
export function durationText(ms) {
  if (!Number.isFinite(ms) || ms < 0) return "—";
  if (ms < 10_000) return (Math.round(ms / 100) / 10).toString() + "s";
  const s = Math.round(ms / 1000);
  const hh = Math.floor(s / 3600);
  const mm = Math.floor((s % 3600) / 60);
  const ss = s % 60;
  if (hh > 0) return hh + "h " + mm + "m";
  if (mm > 0) return mm + "m " + ss + "s";
  return ss + "s";
}

// sourceText says where a rule comes from, for people.
export function sourceText(rule) {
  if (!rule) return "";
  if (rule.source === "config") return "configuration file · read-only";
  const parts = ["API · version " + rule.version];
  if (rule.updatedBy) parts.push("by " + rule.updatedBy);
  if (rule.updatedAt) parts.push(formatWhen(rule.updatedAt));
  return parts.join(" · ");
}

// problemText is a problem as listed: "4:24 critical.when: unknown name".
export function problemText(p) {
  const place = p.line > 0 ? p.line + (p.column > 0 ? ":" + p.column : "") + " " : "";
  return place + (p.field ? p.field + ": " : "") + p.message;
}

// diffView returns an element showing edit (from diffLines), a line a row.
export function diffView(doc, edit) {
  const { added, removed } = diffCounts(edit);
  const mark = { same: " ", add: "+", del: "−" };
  const rows = edit.map((e) =>
    h(
      doc,
      "div",
      { class: "diff-line", dataset: { op: e.op } },
      h(doc, "span", { class: "diff-num" }, e.a ?? ""),
      h(doc, "span", { class: "diff-num" }, e.b ?? ""),
      h(doc, "span", { class: "diff-mark", "aria-hidden": "true" }, mark[e.op]),
      h(doc, "span", { class: "visually-hidden" }, e.op === "same" ? "" : e.op === "add" ? "added: " : "removed: "),
      h(doc, "span", { class: "diff-text" }, e.text),
    ),
  );
  const summary = added === 0 && removed === 0 ? "No difference." : added + " added, " + removed + " removed.";
  return h(
    doc,
    "div",
    { class: "diff", dataset: { added: String(added), removed: String(removed) } },
    h(doc, "p", { class: "diff-summary" }, summary),
    h(doc, "div", { class: "diff-lines" }, rows),
  );
}

// goTo shows hash: as a new page, or in place of this one's address if
// replace.
function goTo(hash, replace = false) {
  if (replace) window.history.replaceState(window.history.state, "", hash);
  else window.location.hash = hash;
}

// mountRuleEditor draws the editor of the named rule (or a new one) into
// root. api is the page's Api, me a promise of who is logged in; delay is
// CHECK_DELAY but for tests; navigate(hash, replace) goes to another page,
// or with replace only puts hash in the address bar for this one (a new
// rule once created). A new rule may start as a copy of the rule named
// copyOf: its text, under the new name, not saved (a copy in force at
// once would judge, and open incidents, beside the original). It returns
// {unmount, title}.
export function mountRuleEditor(root, { api, me, name = "", isNew = false, copyOf = "", delay = CHECK_DELAY, navigate = goTo }) {
  const doc = root.ownerDocument;
  const rapi = new RulesApi(api);
  let alive = true;
  let person = null;
  let rule = null; // the API's rule, once saved or loaded
  let version = 0; // the version the text was last read or saved at
  let saved = ""; // the text of that version
  let code = null;

  const heading = h(doc, "h2", {}, isNew ? "New rule" : "Rule " + name);
  const dirty = h(doc, "span", { class: "rule-dirty", dataset: { dirty: "" }, hidden: true }, "● unsaved changes");
  const source = h(doc, "p", { class: "rule-source muted", dataset: { source: "" } });
  const msg = messages(doc);
  const conflictBox = h(doc, "section", { class: "rule-conflict notice", dataset: { kind: "warning", conflict: "" }, hidden: true });
  const toolbar = h(doc, "div", { class: "rule-toolbar" });
  const confirmBox = h(doc, "div", { class: "rule-confirm", hidden: true });
  const codeBox = h(doc, "div", { class: "rule-code" });
  const check = h(doc, "p", { class: "rule-check", role: "status", dataset: { check: "idle" } });
  const problemsList = h(doc, "ol", { class: "rule-problems", dataset: { problems: "0" } });
  const previewBox = h(doc, "section", { class: "rule-panel", dataset: { panel: "preview" } });
  const backtestBox = h(doc, "section", { class: "rule-panel rule-wide", dataset: { panel: "backtest" }, hidden: true });
  const historyBox = h(doc, "section", { class: "rule-panel rule-wide", dataset: { panel: "history" }, hidden: true });
  const body = h(doc, "div", { class: "rule-editor", hidden: true },
    h(doc, "div", { class: "rule-main" }, toolbar, confirmBox, conflictBox, codeBox, check, problemsList),
    h(doc, "div", { class: "rule-side" }, previewBox),
    backtestBox,
    historyBox,
  );
  root.append(
    h(doc, "p", { class: "rule-back" }, h(doc, "a", { href: "#/rules" }, "← All rules")),
    h(doc, "div", { class: "rule-title" }, heading, dirty),
    source,
    ...msg.els,
    body,
  );

  const editable = () => !!code && !code.textarea.readOnly;
  const mayEdit = () => can(person, "edit-rules");

  // --- Checking as you type -------------------------------------------

  let timer = null;
  let seq = 0;
  let inflight = null;

  function markDirty() {
    dirty.hidden = !code || code.value() === saved;
  }

  function schedule() {
    markDirty();
    clearTimeout(timer);
    setCheck("pending", "Checking when you pause…");
    timer = setTimeout(runCheck, delay);
  }

  function setCheck(state, text) {
    check.dataset.check = state;
    check.textContent = text;
  }

  // runCheck validates the text, then previews it if it is valid. A newer
  // check aborts an older one's requests, and an answer to an older one
  // is dropped even if it arrives.
  async function runCheck() {
    timer = null;
    const mine = ++seq;
    if (inflight) inflight.abort();
    const ctl = new AbortController();
    inflight = ctl;
    const text = code.value();
    setCheck("checking", "Checking…");
    try {
      const v = await rapi.validate(text, ctl.signal);
      if (!alive || mine !== seq) return;
      showProblems([]);
      setCheck("valid", "✔ Valid " + (v && v.kind ? v.kind + " rule" : "rule") + ".");
      previewBox.dataset.state = "loading";
      const p = await rapi.preview(text, ctl.signal);
      if (!alive || mine !== seq) return;
      drawPreview(p);
    } catch (err) {
      if (!alive || mine !== seq || isAbort(err)) return;
      const problems = problemsOf(err);
      if (problems) {
        showProblems(problems);
        setCheck("invalid", "✖ " + problems.length + (problems.length === 1 ? " problem" : " problems") + ".");
        previewBox.dataset.state = "invalid";
        previewNote("Of the last valid text: this one is not valid.");
      } else {
        setCheck("error", "Cannot check the rule: " + errorText(err));
      }
    } finally {
      if (inflight === ctl) inflight = null;
    }
  }

  function showProblems(problems) {
    code.setProblems(problems);
    problemsList.dataset.problems = String(problems.length);
    problemsList.replaceChildren(
      ...problems.map((p) => {
        const text = problemText(p);
        if (!(p.line > 0)) return h(doc, "li", { dataset: { field: p.field } }, text);
        const b = h(doc, "button", { type: "button", class: "quiet problem", dataset: { line: String(p.line), column: String(p.column), field: p.field } }, text);
        b.addEventListener("click", () => code.moveTo(p.line, p.column));
        return h(doc, "li", {}, b);
      }),
    );
  }

  // --- Preview -----------------------------------------------------------

  // previewNote says under the preview's heading why it may be out of
  // date.
  function previewNote(text) {
    let note = previewBox.querySelector("[data-preview-note]");
    if (!note) {
      note = h(doc, "p", { class: "preview-note", dataset: { previewNote: "" } });
      previewBox.querySelector("h3")?.after(note);
    }
    note.textContent = text;
  }

  function drawPreview(p) {
    const items = Array.isArray(p?.items) ? p.items : [];
    const total = Number.isFinite(p?.total) ? p.total : items.length;
    previewBox.dataset.state = "ready";
    previewBox.dataset.total = String(total);
    const head = h(doc, "h3", {}, "Preview: what it judges now");
    if (items.length === 0) {
      previewBox.replaceChildren(head, h(doc, "p", { class: "placeholder" }, "It matches nothing in the tree now."));
      return;
    }
    const rows = items.map((it) => {
      const sev = severity(it.severity);
      return h(
        doc,
        "tr",
        { dataset: { path: it.path, severity: sev, pending: String(!!it.pending) } },
        h(doc, "td", { class: "wrap path" }, it.path),
        h(doc, "td", { class: "num" }, it.value ?? it.reason ?? ""),
        h(doc, "td", { class: "sev", dataset: { severity: sev } }, severityIcon(doc, sev), " " + sev, it.pending ? h(doc, "span", { class: "pending" }, " (pending)") : null),
      );
    });
    const note = total > items.length ? "The first " + items.length + " of " + total + "." : total + (total === 1 ? " match." : " matches.");
    previewBox.replaceChildren(
      head,
      h(doc, "p", { class: "muted" }, note),
      h(doc, "table", { class: "admin-table rule-preview" }, tableHead(doc, ["Path", "Value", "Severity"]), h(doc, "tbody", {}, rows)),
    );
  }

  // --- Backtest ------------------------------------------------------------

  function drawBacktestForm() {
    const from = h(doc, "select", { name: "from", "aria-label": "Backtest over" }, BACKTEST_WINDOWS.map(([v, t]) => h(doc, "option", { value: v }, t)));
    const run = h(doc, "button", { type: "button", dataset: { action: "backtest" } }, "Backtest");
    const result = h(doc, "div", { class: "backtest-result", dataset: { backtest: "" } });
    run.addEventListener("click", () => {
      result.replaceChildren(h(doc, "p", { class: "muted" }, "Replaying the history window…"));
      busy(run, () => rapi.backtest(code.value(), from.value)).then(
        (r) => alive && drawBacktest(result, r),
        (err) => {
          if (!alive) return;
          const problems = problemsOf(err);
          if (problems) showProblems(problems);
          result.replaceChildren(h(doc, "p", { class: "notice", dataset: { kind: "error" }, role: "alert" }, problems ? "Fix the rule's problems first." : errorText(err)));
        },
      );
    });
    backtestBox.replaceChildren(h(doc, "h3", {}, "Backtest"), h(doc, "div", { class: "rule-row" }, "Over ", from, " ", run), result);
    backtestBox.hidden = false;
  }

  function drawBacktest(el, r) {
    const fired = firings(r);
    const n = Number.isFinite(r.wouldOpen) ? r.wouldOpen : fired.length;
    const to = Date.parse(r.to);
    const rows = fired.map((f) => {
      const end = f.end ? Date.parse(f.end) : to;
      return h(
        doc,
        "tr",
        { dataset: { path: f.path, severity: f.severity } },
        h(doc, "td", {}, timeCell(doc, f.start)),
        h(doc, "td", { class: "wrap path" }, f.path),
        h(doc, "td", { class: "sev", dataset: { severity: f.severity } }, severityIcon(doc, f.severity), " " + f.severity),
        h(doc, "td", { class: "num" }, durationText(end - Date.parse(f.start)) + (f.end ? "" : "+")),
      );
    });
    el.dataset.fired = String(n);
    const parts = [
      h(doc, "p", { class: "backtest-summary" }, h(doc, "strong", {}, "Would have fired " + n + (n === 1 ? " time" : " times")),
        " from " + formatWhen(r.from) + " to " + formatWhen(r.to) + " (" + (r.critical ?? 0) + " into critical; " + (r.cells ?? 0) + " recorded cells replayed)."),
      Array.isArray(r.errors) && r.errors.length ? h(doc, "ul", { class: "backtest-errors" }, r.errors.map((e) => h(doc, "li", {}, e))) : null,
      rows.length
        ? h(doc, "table", { class: "admin-table backtest-firings" }, tableHead(doc, ["When", "Cell", "Severity", "For"]), h(doc, "tbody", {}, rows))
        : null,
      r.truncated ? h(doc, "p", { class: "muted" }, "Only the first transitions are listed; the counts are of them all.") : null,
      fired.some((f) => !f.end) ? h(doc, "p", { class: "muted" }, "+: still firing at the end of the range.") : null,
    ];
    el.replaceChildren(...parts.filter((p) => p !== null));
  }

  // --- History -------------------------------------------------------------

  function loadHistory() {
    if (!rule || rule.source !== "api") {
      historyBox.hidden = true;
      return;
    }
    rapi.history(rule.name).then(
      (hist) => alive && drawHistory(Array.isArray(hist?.versions) ? hist.versions : []),
      (err) => {
        if (!alive) return;
        historyBox.hidden = false;
        historyBox.replaceChildren(h(doc, "h3", {}, "History"), h(doc, "p", { class: "notice", dataset: { kind: "error" } }, errorText(err)));
      },
    );
  }

  function drawHistory(versions) {
    const shown = h(doc, "div", { class: "history-diff", dataset: { diff: "" } });
    const rows = [...versions].reverse().map((v) => {
      const compare = h(doc, "button", { type: "button", dataset: { action: "compare", version: String(v.version) } }, "Compare");
      const row = h(
        doc,
        "tr",
        { dataset: { version: String(v.version), versionAction: v.action ?? "" } },
        h(doc, "th", { scope: "row" }, String(v.version)),
        h(doc, "td", {}, v.action ?? ""),
        h(doc, "td", { class: "wrap" }, v.change ?? ""),
        h(doc, "td", {}, v.author ?? ""),
        h(doc, "td", {}, timeCell(doc, v.time)),
        h(doc, "td", { class: "actions" }, compare),
      );
      compare.addEventListener("click", () => {
        for (const r of row.parentElement.children) r.removeAttribute("aria-current");
        row.setAttribute("aria-current", "true");
        showVersion(shown, v);
      });
      return row;
    });
    historyBox.replaceChildren(
      h(doc, "h3", {}, "History"),
      h(doc, "table", { class: "admin-table rule-history" }, tableHead(doc, ["Version", "Action", "Change", "By", "When"], { actions: true }), h(doc, "tbody", {}, rows)),
      shown,
    );
    historyBox.hidden = false;
  }

  // showVersion shows what the text would become with version v's
  // definition, and offers to revert to it.
  function showVersion(el, v) {
    const deleted = v.action === "delete";
    const parts = [
      h(doc, "h4", {}, "Version " + v.version + " against the text being edited"),
      h(doc, "p", { class: "muted" }, "− lines are the text's, + lines version " + v.version + "'s."),
      diffView(doc, diffLines(code.value(), ruleYAML(v.def))),
    ];
    if (mayEdit() && !deleted) {
      const revert = h(doc, "button", { type: "button", class: "primary", dataset: { action: "revert", version: String(v.version) } }, "Revert to version " + v.version);
      revert.addEventListener("click", () =>
        busy(revert, () => rapi.revert(rule.name, v.version, version)).then(
          (nv) => {
            if (!alive) return;
            loaded(nv, "Reverted to version " + v.version + ": saved as version " + nv.version + ", in force now.");
          },
          (err) => alive && writeFailed(err, "revert"),
        ),
      );
      parts.push(h(doc, "div", { class: "form-actions" }, revert));
    } else if (deleted) {
      parts.push(h(doc, "p", { class: "muted" }, "This version deleted the rule."));
    }
    el.replaceChildren(...parts);
  }

  // --- Saving, conflicts, copying and deleting ----------------------------

  // loaded takes a version the gateway stored (a save, a revert) as the
  // rule now in force.
  function loaded(v, ok) {
    const wasNew = isNew;
    isNew = false;
    name = v.name;
    version = v.version;
    rule = { name: v.name, source: "api", readOnly: false, def: v.def, version: v.version, updatedBy: v.author, updatedAt: v.time };
    saved = ruleYAML(v.def);
    if (code.value() !== saved) code.setValue(saved);
    if (wasNew) navigate(editorHash(name), true);
    conflictBox.hidden = true;
    markDirty();
    msg.ok(ok);
    drawHeader();
    drawToolbar();
    loadHistory();
    runCheck();
  }

  function save(button) {
    const text = code.value();
    busy(button, () => (isNew ? rapi.create(text) : rapi.update(name, text, version))).then(
      (v) => alive && loaded(v, "Saved version " + v.version + (v.change ? " (" + v.change + ")" : "") + ": in force now."),
      (err) => alive && writeFailed(err, "save"),
    );
  }

  // writeFailed shows why a write (what: save, revert or delete) failed.
  function writeFailed(err, what) {
    const problems = problemsOf(err);
    if (problems) {
      // The refusal is newer news of this text than a check still on its
      // way (the one the last save started): that one's answer is dropped.
      seq++;
      if (inflight) inflight.abort();
      showProblems(problems);
      setCheck("invalid", "✖ " + problems.length + (problems.length === 1 ? " problem" : " problems") + ".");
      msg.error("Not " + DONE[what] + ": the rule is not valid (" + problems.map(problemText).join("; ") + ").");
      return;
    }
    if (err.status === 409 && what === "save" && !isNew) {
      conflict(err);
      return;
    }
    msg.error(err);
  }

  // conflict shows a refused write because the rule moved on: whose
  // version is there now, how it differs from the text, and the choice to
  // load it or to save the text over it.
  function conflict(err) {
    rapi.get(name).then(
      (theirs) => {
        if (!alive) return;
        if (!theirs || theirs.version === version || theirs.source !== "api") {
          msg.error(err);
          return;
        }
        msg.error("Not saved: version " + theirs.version + " was saved after the version " + version + " you started from.");
        const theirsText = ruleYAML(theirs.def);
        const load = h(doc, "button", { type: "button", dataset: { action: "load-theirs" } }, "Load version " + theirs.version + " (drop my changes)");
        const over = h(doc, "button", { type: "button", class: "danger", dataset: { action: "save-over" } }, "Save mine over version " + theirs.version);
        load.addEventListener("click", () => {
          rule = theirs;
          version = theirs.version;
          saved = theirsText;
          code.setValue(theirsText);
          conflictBox.hidden = true;
          msg.ok("Loaded version " + theirs.version + ".");
          drawHeader();
          loadHistory();
          schedule();
        });
        over.addEventListener("click", () => {
          version = theirs.version;
          save(over);
        });
        conflictBox.replaceChildren(
          h(doc, "h3", {}, "Someone else saved this rule"),
          h(doc, "p", {}, "Version " + theirs.version + " by " + (theirs.updatedBy || "someone") + " at " + formatWhen(theirs.updatedAt) +
            ". Your text is kept. Merge by hand if need be: − lines are yours, + lines theirs."),
          diffView(doc, diffLines(code.value(), theirsText)),
          h(doc, "div", { class: "form-actions" }, load, over),
        );
        conflictBox.hidden = false;
        conflictBox.scrollIntoView?.({ block: "nearest" });
      },
      () => alive && msg.error(err),
    );
  }

  function askDelete(button) {
    const yes = h(doc, "button", { type: "button", class: "danger", dataset: { action: "confirm-delete" } }, "Delete " + name);
    const no = h(doc, "button", { type: "button", dataset: { action: "cancel-delete" } }, "Keep it");
    const keep = () => {
      confirmBox.hidden = true;
      confirmBox.replaceChildren();
      button.focus();
    };
    no.addEventListener("click", keep);
    confirmBox.onkeydown = (e) => {
      if (e.key === "Escape") keep();
    };
    yes.addEventListener("click", () =>
      busy([yes, no], () => rapi.remove(name, version)).then(
        () => alive && navigate("#/rules"),
        (err) => {
          if (!alive) return;
          keep();
          writeFailed(err, "delete");
        },
      ),
    );
    confirmBox.replaceChildren(
      h(doc, "span", { class: "confirm-text" }, "Delete rule " + name + "? It stops judging at once; its history is kept, and reverting to a version brings it back."),
      yes,
      no,
    );
    confirmBox.hidden = false;
    yes.focus();
  }

  function copyForm() {
    const to = h(doc, "input", { name: "copy-name", type: "text", "aria-label": "Name of the copy", spellcheck: "false", autocomplete: "off" });
    to.value = name + "-copy";
    const go = h(doc, "button", { type: "submit", dataset: { action: "copy" } }, rule.readOnly ? "Copy to edit" : "Copy as");
    const form = h(doc, "form", { class: "rule-copy", dataset: { form: "copy-rule" } }, go, " ", to);
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      navigate(editorHash(to.value.trim(), true, name));
    });
    return form;
  }

  // --- Drawing ---------------------------------------------------------------

  function drawHeader() {
    const deleted = isNew && !!rule && !!rule.deleted;
    heading.textContent = isNew && !deleted ? "New rule" : "Rule " + name + (deleted ? " (deleted)" : "");
    if (deleted) source.textContent = "Deleted in version " + rule.version + " by " + (rule.updatedBy || "someone") + " at " + formatWhen(rule.updatedAt) +
      ". Its last definition is below: creating it puts it back in force, as does reverting to a version.";
    else if (isNew) source.textContent = "Not saved yet" + (rule ? ", a copy of " + rule.copyOf : "") + ": saving creates it and puts it in force.";
    else source.textContent = sourceText(rule);
    source.dataset.source = deleted ? "deleted" : isNew ? "new" : rule.source;
  }

  function drawToolbar() {
    const items = [];
    if (editable()) {
      const saveButton = h(doc, "button", { type: "button", class: "primary", dataset: { action: "save" }, title: "Ctrl+S" }, isNew ? "Create" : "Save");
      saveButton.addEventListener("click", () => save(saveButton));
      items.push(saveButton);
    }
    if (!isNew && mayEdit()) items.push(copyForm());
    if (!isNew && mayEdit() && rule.source === "api") {
      const del = h(doc, "button", { type: "button", class: "danger", dataset: { action: "delete" } }, "Delete…");
      del.addEventListener("click", () => askDelete(del));
      items.push(del);
    }
    if (!editable()) {
      const why = rule && rule.source === "config"
        ? "The configuration file's rules are changed in the file" + (mayEdit() ? "; copy this one to make an API rule you can edit." : ".")
        : "Read-only: changing rules needs the edit-rules permission.";
      items.push(h(doc, "span", { class: "muted", dataset: { readOnlyReason: "" } }, why));
    }
    toolbar.replaceChildren(...items);
  }

  function draw() {
    const readOnly = !mayEdit() || (!!rule && rule.readOnly);
    const text = rule ? ruleYAML(rule.def) : newRuleYAML(name);
    saved = isNew ? "" : text;
    code = mountCode(codeBox, { text, readOnly, label: "Rule " + (name || "") + " in YAML", onInput: schedule });
    code.textarea.addEventListener("keydown", (e) => {
      if ((e.ctrlKey || e.metaKey) && e.key === "s") {
        e.preventDefault();
        toolbar.querySelector('[data-action="save"]')?.click();
      }
    });
    drawHeader();
    drawToolbar();
    if (can(person, "backtest")) drawBacktestForm();
    body.hidden = false;
    loadHistory();
    runCheck();
  }

  // deletedRule returns a rule no longer in force that the API still has
  // the history of, as its deletion left it, or fails with err.
  const deletedRule = (err) =>
    rapi.history(name).then(
      (hist) => {
        const versions = Array.isArray(hist?.versions) ? hist.versions : [];
        const last = versions[versions.length - 1];
        if (!last || last.action !== "delete") throw err;
        return { name, source: "api", readOnly: false, deleted: true, def: last.def, version: last.version, updatedBy: last.author, updatedAt: last.time };
      },
      () => {
        throw err;
      },
    );
  // A copy is the original's definition under the new name, not saved.
  const copied = () => rapi.get(copyOf).then((r) => ({ name, copyOf, source: "new", readOnly: false, def: { ...r.def, name } }));
  const current = isNew ? (copyOf ? copied() : null) : rapi.get(name).catch((err) => (err.status === 404 ? deletedRule(err) : Promise.reject(err)));
  Promise.all([Promise.resolve(me).catch(() => null), current]).then(
    ([m, r]) => {
      if (!alive) return;
      person = m;
      rule = r;
      // A deleted rule is saved as a new one, whose versions go on
      // from its history's.
      if (r && r.deleted) isNew = true;
      version = r && r.source === "api" ? r.version : 0;
      draw();
    },
    (err) => {
      if (!alive) return;
      msg.error(err.status === 404 ? "No rule named " + name + " is in force." : err);
    },
  );

  return {
    title: isNew ? "New rule" : "Rule " + name,
    unmount() {
      alive = false;
      clearTimeout(timer);
      if (inflight) inflight.abort();
    },
  };
}
