// A line diff, for the rule editor's history: what a version changes
// against the text being edited. It is a longest-common-subsequence diff
// over the lines between the texts' common start and end, which is all a
// rule (tens of lines) needs; a middle too large for the table (texts of
// thousands of lines that differ throughout) is shown as removed whole,
// then added whole, rather than stalling the page.

// MAX_CELLS bounds the table of the texts' differing middle.
export const MAX_CELLS = 4_000_000;

// splitLines returns text's lines; a final newline ends the last line
// rather than starting an empty one.
export function splitLines(text) {
  const s = String(text ?? "").replace(/\r\n?/g, "\n");
  if (s === "") return [];
  const lines = s.split("\n");
  if (lines[lines.length - 1] === "") lines.pop();
  return lines;
}

// diffLines returns the edit from text a to text b, line by line, as
// [{op, text, a, b}]: op is "same", "del" (a line of a only) or "add" (of
// b only); a and b are the line's numbers (from 1) in each text, null in
// the one it is not in. Within a changed stretch the deletions come first.
export function diffLines(a, b) {
  const x = splitLines(a);
  const y = splitLines(b);
  let start = 0;
  while (start < x.length && start < y.length && x[start] === y[start]) start++;
  let endX = x.length;
  let endY = y.length;
  while (endX > start && endY > start && x[endX - 1] === y[endY - 1]) {
    endX--;
    endY--;
  }
  const out = [];
  for (let i = 0; i < start; i++) out.push({ op: "same", text: x[i], a: i + 1, b: i + 1 });
  middle(x, y, start, endX, endY, out);
  for (let i = endX, j = endY; i < x.length; i++, j++) out.push({ op: "same", text: x[i], a: i + 1, b: j + 1 });
  return out;
}

// middle appends the edit of x[start:endX] into y[start:endY] to out.
function middle(x, y, start, endX, endY, out) {
  const n = endX - start;
  const m = endY - start;
  const del = (i) => out.push({ op: "del", text: x[i], a: i + 1, b: null });
  const add = (j) => out.push({ op: "add", text: y[j], a: null, b: j + 1 });
  if (n === 0 || m === 0 || (n + 1) * (m + 1) > MAX_CELLS) {
    for (let i = start; i < endX; i++) del(i);
    for (let j = start; j < endY; j++) add(j);
    return;
  }
  // lcs[i*(m+1)+j]: the longest common subsequence of x[start+i:endX]
  // and y[start+j:endY], filled from the ends back.
  const w = m + 1;
  const lcs = new Uint32Array((n + 1) * w);
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      lcs[i * w + j] = x[start + i] === y[start + j] ? lcs[(i + 1) * w + j + 1] + 1 : Math.max(lcs[(i + 1) * w + j], lcs[i * w + j + 1]);
    }
  }
  let i = 0;
  let j = 0;
  while (i < n && j < m) {
    if (x[start + i] === y[start + j]) {
      out.push({ op: "same", text: x[start + i], a: start + i + 1, b: start + j + 1 });
      i++;
      j++;
    } else if (lcs[(i + 1) * w + j] >= lcs[i * w + j + 1]) {
      del(start + i++);
    } else {
      add(start + j++);
    }
  }
  while (i < n) del(start + i++);
  while (j < m) add(start + j++);
}

// diffCounts returns how many lines an edit adds and removes.
export function diffCounts(edit) {
  let added = 0;
  let removed = 0;
  for (const e of edit) {
    if (e.op === "add") added++;
    else if (e.op === "del") removed++;
  }
  return { added, removed };
}
