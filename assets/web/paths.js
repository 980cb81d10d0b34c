// Cell and dataview paths.
//
// A cell path is "probe/entity/sampler/dataview/row/column"; headlines use
// "#" as the row. Every segment is percent-encoded over its UTF-8 bytes:
// each byte outside A-Za-z0-9-._~ becomes %XX with upper-case hex, so a
// name holding "/" stays one segment, and the names "." and ".." are
// encoded whole. This matches the gateway's encoding
// byte for byte, which is what makes data-path attributes comparable.

const UNRESERVED = /[A-Za-z0-9\-._~]/;
const HEX = "0123456789ABCDEF";
const encoder = new TextEncoder();

// HEADLINE_ROW is the row segment of a headline cell's path.
export const HEADLINE_ROW = "#";

// encodeSegment percent-encodes one path segment.
export function encodeSegment(name) {
  const s = String(name);
  // "." and ".." are URL dot segments: encoded so nothing resolves them.
  if (s === "." || s === "..") return "%2E".repeat(s.length);
  // Fast path: nothing to encode.
  if (/^[A-Za-z0-9\-._~]*$/.test(s)) return s;
  let out = "";
  for (const b of encoder.encode(s)) {
    const ch = String.fromCharCode(b);
    if (b < 0x80 && UNRESERVED.test(ch)) {
      out += ch;
    } else {
      out += "%" + HEX[b >> 4] + HEX[b & 15];
    }
  }
  return out;
}

// decodeSegment turns an encoded segment back into a name for display.
// A segment that does not decode (bytes that are not UTF-8) is shown as is.
export function decodeSegment(seg) {
  try {
    return decodeURIComponent(seg);
  } catch {
    return seg;
  }
}

const CANONICAL = /^(?:[A-Za-z0-9\-._~]|%[0-9A-F]{2})*$/;

// canonicalSegment returns seg in the gateway's encoding. A segment that
// is already canonical is returned unchanged (never double-encoded); one
// typed by hand ("my probe", "%2f") is decoded and encoded again.
function canonicalSegment(seg) {
  if (seg === "." || seg === "..") return encodeSegment(seg);
  if (CANONICAL.test(seg)) return seg;
  let name;
  try {
    name = decodeURIComponent(seg);
  } catch {
    name = seg;
  }
  return encodeSegment(name);
}

// parseDataviewPath checks an encoded dataview path
// ("probe/entity/sampler/dataview") and returns its canonical form and
// its four encoded segments, or null if it is not one.
export function parseDataviewPath(path) {
  if (typeof path !== "string") return null;
  const segs = path.split("/");
  if (segs.length !== 4 || segs.some((s) => s === "")) return null;
  const canon = segs.map(canonicalSegment);
  return { path: canon.join("/"), segments: canon };
}

// cellPath returns the path of a grid cell of dataview dvPath.
export function cellPath(dvPath, row, column) {
  return dvPath + "/" + encodeSegment(row) + "/" + encodeSegment(column);
}

// headlinePath returns the path of a headline cell of dataview dvPath.
export function headlinePath(dvPath, name) {
  return dvPath + "/" + HEADLINE_ROW + "/" + encodeSegment(name);
}

// dataviewTitle returns a dataview path's names for people to read:
// "probe › entity › sampler › dataview", or the path itself if it is not
// one.
export function dataviewTitle(path) {
  const parsed = parseDataviewPath(path);
  return parsed ? parsed.segments.map(decodeSegment).join(" › ") : path;
}
