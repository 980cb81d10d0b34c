import { assert, test } from "./runner.js";
import { cellPath, dataviewTitle, decodeSegment, encodeSegment, headlinePath, parseDataviewPath } from "../paths.js";

// The cases spell out docs: every byte outside A-Za-z0-9-._~ as %XX in
// upper case, over UTF-8, and the dot segments encoded whole. The
// gateway's own encoder is checked against paths.js by
// gateway/internal/webtest.
test("paths: encodeSegment", () => {
  const cases = [
    ["total", "total"],
    ["-._~", "-._~"],
    ["a b", "a%20b"],
    ["/var/log/messages", "%2Fvar%2Flog%2Fmessages"],
    ["100%", "100%25"],
    ["#", "%23"],
    ["?x=1&y=2", "%3Fx%3D1%26y%3D2"],
    ["+", "%2B"],
    ["!'()*", "%21%27%28%29%2A"],
    [".", "%2E"],
    ["..", "%2E%2E"],
    ["...", "..."],
    ["é", "%C3%A9"],
    ["東京", "%E6%9D%B1%E4%BA%AC"],
    ["😀", "%F0%9F%98%80"],
    ["tab\there", "tab%09here"],
    ["", ""],
  ];
  for (const [name, want] of cases) assert.equal(encodeSegment(name), want, "encodeSegment(" + JSON.stringify(name) + ")");
});

test("paths: decodeSegment undoes encodeSegment and shows bad bytes as they are", () => {
  for (const name of ["a b", "/", "..", "東京", "100%"]) {
    assert.equal(decodeSegment(encodeSegment(name)), name, "round trip of " + JSON.stringify(name));
  }
  assert.equal(decodeSegment("%FF"), "%FF", "a segment that is not UTF-8");
});

test("paths: parseDataviewPath keeps canonical paths and canonicalises typed ones", () => {
  const cases = [
    ["p%2Fq/e/s/d", "p%2Fq/e/s/d"],
    ["my probe/e%2f/s/d", "my%20probe/e%2F/s/d"],
    ["p/./../d", "p/%2E/%2E%2E/d"],
    ["p/e/s/a+b", "p/e/s/a%2Bb"],
    ["p/e/s/100%", "p/e/s/100%25"],
    ["p/e/s/%E6%9D%B1", "p/e/s/%E6%9D%B1"],
  ];
  for (const [typed, want] of cases) {
    const got = parseDataviewPath(typed);
    assert.ok(got, "parseDataviewPath(" + JSON.stringify(typed) + ")");
    assert.equal(got.path, want, "canonical form of " + JSON.stringify(typed));
    assert.deepEqual(got.segments, want.split("/"), "segments of " + JSON.stringify(typed));
  }
  for (const bad of ["p/e/s", "p/e/s/d/r", "p//s/d", "", null]) {
    assert.equal(parseDataviewPath(bad), null, "parseDataviewPath(" + JSON.stringify(bad) + ")");
  }
});

test("paths: cell and headline paths", () => {
  assert.equal(cellPath("p/e/s/d", "/", "a b"), "p/e/s/d/%2F/a%20b", "cell path");
  assert.equal(cellPath("p/e/s/d", "#", "c"), "p/e/s/d/%23/c", "a row named #");
  assert.equal(headlinePath("p/e/s/d", "load 1"), "p/e/s/d/#/load%201", "headline path");
});

test("paths: dataviewTitle shows the names", () => {
  assert.equal(dataviewTitle("my%20probe/e%2F/s/d"), "my probe › e/ › s › d", "title");
  assert.equal(dataviewTitle("not/a/path"), "not/a/path", "a path that is not a dataview's");
});
