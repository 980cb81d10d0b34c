// The rule editor's text area: monospace, unwrapped lines with their
// numbers in a gutter that scrolls with the text, Tab indenting with
// spaces (Escape, then Tab, leaves the text for the next control, so the
// keyboard is never trapped), and the gateway's problems marked at their
// lines (data-error-line on the gutter's line) so that they are seen where
// they are, not only in the list under it.

import { h } from "./ui.js";

// INDENT is what Tab inserts: YAML indents with spaces, never tabs.
export const INDENT = "  ";

// offsetOf returns the offset in text of line and column (both from 1;
// past a line's end is its end).
export function offsetOf(text, line, column) {
  let off = 0;
  for (let l = 1; l < line; l++) {
    const nl = text.indexOf("\n", off);
    if (nl < 0) return text.length;
    off = nl + 1;
  }
  const end = text.indexOf("\n", off);
  const lineEnd = end < 0 ? text.length : end;
  return Math.min(off + Math.max(column, 1) - 1, lineEnd);
}

// mountCode draws a text area into root holding text, read-only if
// readOnly; onInput(text) is called on every change. It returns
// {textarea, value(), setValue(text), setProblems(problems),
// moveTo(line, column)}.
export function mountCode(root, { text = "", readOnly = false, label = "Rule", onInput = () => {} } = {}) {
  const doc = root.ownerDocument;
  const gutter = h(doc, "div", { class: "code-gutter", "aria-hidden": "true" });
  const textarea = h(doc, "textarea", {
    class: "code-text",
    wrap: "off",
    spellcheck: "false",
    autocapitalize: "none",
    autocomplete: "off",
    "aria-label": label,
    readonly: readOnly,
  });
  textarea.value = text;
  const box = h(doc, "div", { class: "code", dataset: { readOnly: String(readOnly) } }, gutter, textarea);
  root.appendChild(box);

  let marks = new Map(); // line -> messages
  let lines = 0;

  function drawGutter() {
    const n = Math.max(1, textarea.value.split("\n").length);
    if (n !== lines) {
      const els = [];
      for (let i = 1; i <= n; i++) els.push(h(doc, "div", { class: "code-line", dataset: { line: String(i) } }, String(i)));
      gutter.replaceChildren(...els);
      lines = n;
    }
    for (const el of gutter.children) {
      const msgs = marks.get(Number(el.dataset.line));
      if (msgs) {
        el.dataset.errorLine = el.dataset.line;
        el.title = msgs.join("\n");
      } else if (el.dataset.errorLine) {
        delete el.dataset.errorLine;
        el.removeAttribute("title");
      }
    }
    gutter.scrollTop = textarea.scrollTop;
  }

  let escaped = false;
  textarea.addEventListener("keydown", (e) => {
    if (e.key === "Escape") {
      escaped = true;
      return;
    }
    const leave = escaped;
    escaped = false;
    if (e.key !== "Tab" || e.shiftKey || e.ctrlKey || e.altKey || e.metaKey || leave || textarea.readOnly) return;
    e.preventDefault();
    textarea.setRangeText(INDENT, textarea.selectionStart, textarea.selectionEnd, "end");
    changed();
  });
  const changed = () => {
    drawGutter();
    onInput(textarea.value);
  };
  textarea.addEventListener("input", changed);
  textarea.addEventListener("scroll", () => {
    gutter.scrollTop = textarea.scrollTop;
  });
  drawGutter();

  return {
    textarea,
    value: () => textarea.value,
    // setValue replaces the text (a version loaded, a revert) without
    // calling onInput: the caller knows what it set.
    setValue(t) {
      textarea.value = t;
      drawGutter();
    },
    // setProblems marks the lines of problems ({line, message}); those
    // without a line mark none.
    setProblems(problems) {
      marks = new Map();
      for (const p of problems) {
        if (!(p.line > 0)) continue;
        if (!marks.has(p.line)) marks.set(p.line, []);
        marks.get(p.line).push((p.column > 0 ? p.line + ":" + p.column + " " : "") + p.message);
      }
      drawGutter();
    },
    // moveTo puts the caret at line and column and scrolls it into view.
    moveTo(line, column) {
      const off = offsetOf(textarea.value, line, column);
      textarea.focus();
      textarea.setSelectionRange(off, off);
      const lh = parseFloat(doc.defaultView.getComputedStyle(textarea).lineHeight) || 16;
      const top = (line - 1) * lh;
      if (top < textarea.scrollTop || top > textarea.scrollTop + textarea.clientHeight - 2 * lh) {
        textarea.scrollTop = Math.max(0, top - textarea.clientHeight / 3);
      }
      gutter.scrollTop = textarea.scrollTop;
    },
  };
}
