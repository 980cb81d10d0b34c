import { assert, test } from "./runner.js";
import { diffCounts, diffLines, MAX_CELLS, splitLines } from "../diff.js";

// show writes an edit as "  same", "- del", "+ add" lines.
function show(edit) {
  return edit.map((e) => ({ same: "  ", del: "- ", add: "+ " })[e.op] + e.text);
}

// apply rebuilds both texts from an edit, which any correct diff must
// give back.
function apply(edit) {
  return {
    a: edit.filter((e) => e.op !== "add").map((e) => e.text),
    b: edit.filter((e) => e.op !== "del").map((e) => e.text),
  };
}

test("diff: lines, with or without a final newline", () => {
  assert.deepEqual(splitLines(""), [], "nothing");
  assert.deepEqual(splitLines("a\nb\n"), ["a", "b"], "a final newline ends the last line");
  assert.deepEqual(splitLines("a\r\nb"), ["a", "b"], "CRLF");
  assert.deepEqual(splitLines("a\n\n"), ["a", ""], "an empty last line");
});

test("diff: the least edit between two rules", () => {
  const cases = [
    { name: "the same", a: "x\ny\n", b: "x\ny\n", want: ["  x", "  y"] },
    { name: "from nothing", a: "", b: "x\n", want: ["+ x"] },
    { name: "to nothing", a: "x\ny\n", b: "", want: ["- x", "- y"] },
    {
      name: "a changed condition",
      a: "name: r\nmatch: m\ncritical:\n  when: value > 90\n  for: 30s\n",
      b: "name: r\nmatch: m\ncritical:\n  when: value > 95\n  for: 30s\n",
      want: ["  name: r", "  match: m", "  critical:", "-   when: value > 90", "+   when: value > 95", "    for: 30s"],
    },
    {
      name: "a level added in the middle and a line dropped",
      a: "a\nb\nc\nd\n",
      b: "a\nc\nx\ny\nd\n",
      want: ["  a", "- b", "  c", "+ x", "+ y", "  d"],
    },
    { name: "moved lines", a: "a\nb\nc\n", b: "c\na\nb\n", want: ["+ c", "  a", "  b", "- c"] },
  ];
  for (const c of cases) {
    const edit = diffLines(c.a, c.b);
    assert.deepEqual(show(edit), c.want, c.name);
    assert.deepEqual(apply(edit), { a: splitLines(c.a), b: splitLines(c.b) }, c.name + ": the edit gives both texts back");
  }
});

test("diff: line numbers in each text", () => {
  const edit = diffLines("a\nb\nc\n", "a\nx\nc\nd\n");
  assert.deepEqual(
    edit.map((e) => [e.op, e.a, e.b]),
    [["same", 1, 1], ["del", 2, null], ["add", null, 2], ["same", 3, 3], ["add", null, 4]],
    "numbers",
  );
  assert.deepEqual(diffCounts(edit), { added: 2, removed: 1 }, "counts");
});

test("diff: texts too large to compare line by line are replaced whole, quickly", () => {
  const n = Math.ceil(Math.sqrt(MAX_CELLS)) + 10;
  const a = Array.from({ length: n }, (_, i) => "a" + i).join("\n");
  const b = Array.from({ length: n }, (_, i) => "b" + i).join("\n");
  const start = performance.now();
  const edit = diffLines("head\n" + a + "\ntail", "head\n" + b + "\ntail");
  assert.ok(performance.now() - start < 1000, "took " + (performance.now() - start) + " ms");
  assert.deepEqual(diffCounts(edit), { added: n, removed: n }, "counts");
  assert.deepEqual([edit[0].op, edit[1].op, edit[n + 1].op, edit[edit.length - 1].op], ["same", "del", "add", "same"], "shape");
  assert.deepEqual(apply(edit), { a: splitLines("head\n" + a + "\ntail"), b: splitLines("head\n" + b + "\ntail") }, "both texts back");
});
