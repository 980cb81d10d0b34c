// The overview wall's arithmetic, apart from the DOM so that it can be
// tested alone: which entities the wall shows, in which groups and in
// which order, and how big a tile can be for all of them to fit the
// screen at once (a wall is read from across the room and never
// scrolled).

import { severity } from "./severity.js";

// ENVIRONMENTS are the environments a desk knows, in the order the wall
// shows them, with the names people give them (matched ignoring case).
const ENVIRONMENTS = [
  { key: "production", label: "Production", names: ["production", "prod"] },
  { key: "pre-production", label: "Pre-Production", names: ["pre-production", "preproduction", "preprod", "pre-prod"] },
  { key: "uat", label: "UAT", names: ["uat"] },
];

const ENV_BY_NAME = new Map(ENVIRONMENTS.flatMap((e) => e.names.map((n) => [n, e])));
const ENV_RANK = new Map(ENVIRONMENTS.map((e, i) => [e.key, i]));

// ENVIRONMENT is the attribute that names an entity's environment.
export const ENVIRONMENT = "environment";

// GROUP_NONE, as ?group=, puts every entity in one group.
export const GROUP_NONE = "none";

// DEFAULT_GROUPS are the attributes the wall groups by when the URL names
// none: the first that some entity has.
const DEFAULT_GROUPS = [ENVIRONMENT, "system", "region", "client"];

const collator = new Intl.Collator(undefined, { numeric: true, sensitivity: "base" });

function compareText(a, b) {
  return collator.compare(a, b) || (a < b ? -1 : a > b ? 1 : 0);
}

// envKey returns the key of an environment's name: a known environment's
// ("prod" and "Production" are both "production"), else the name in
// lower case.
export function envKey(name) {
  const n = String(name).trim().toLowerCase();
  const known = ENV_BY_NAME.get(n);
  return known ? known.key : n;
}

// envLabel returns how the wall names the environment of key, or given,
// the name an entity gave it, for one it does not know.
function envLabel(key, given) {
  const i = ENV_RANK.get(key);
  return i === undefined ? given : ENVIRONMENTS[i].label;
}

// parseEnvironments reads ?environment= ("production,uat") into the set
// of environment keys it names; empty for none (no filter).
export function parseEnvironments(text) {
  if (typeof text !== "string") return new Set();
  return new Set(
    text
      .split(",")
      .map((s) => s.trim())
      .filter((s) => s !== "")
      .map(envKey),
  );
}

// entitiesOf returns the entities of a tree model, each as {path, name,
// probe (its probe's path), attributes}, probes by name and each probe's
// entities in the configuration's order.
export function entitiesOf(model) {
  const probes = [...model.probes.values()].sort((a, b) => compareText(String(a.name ?? ""), String(b.name ?? "")));
  const out = [];
  for (const p of probes) {
    for (const e of Array.isArray(p.entities) ? p.entities : []) {
      if (!e || typeof e.path !== "string") continue;
      const attributes = e.attributes && typeof e.attributes === "object" ? e.attributes : {};
      out.push({ path: e.path, name: String(e.name ?? e.path), probe: p.path, attributes });
    }
  }
  return out;
}

// attributesOf returns every attribute name the entities have, sorted.
export function attributesOf(entities) {
  const names = new Set();
  for (const e of entities) for (const k of Object.keys(e.attributes)) names.add(k);
  return [...names].sort(compareText);
}

// groupAttribute returns the attribute to group by: the one asked for,
// else the first of DEFAULT_GROUPS that some entity has, else GROUP_NONE.
export function groupAttribute(asked, entities) {
  if (typeof asked === "string" && asked.trim() !== "") return asked.trim();
  const have = new Set(attributesOf(entities));
  return DEFAULT_GROUPS.find((a) => have.has(a)) ?? GROUP_NONE;
}

// environmentsOf returns the environments the entities are in, as
// [{key, label}] in the wall's order.
export function environmentsOf(entities) {
  const seen = new Map();
  for (const e of entities) {
    const v = e.attributes[ENVIRONMENT];
    if (typeof v !== "string" || v.trim() === "") continue;
    const key = envKey(v);
    if (!seen.has(key)) seen.set(key, envLabel(key, v.trim()));
  }
  return [...seen].map(([key, label]) => ({ key, label })).sort(compareGroups);
}

// compareGroups orders groups: the known environments first, in their
// order, then the others by label, then the entities that lack the
// attribute (key null).
function compareGroups(a, b) {
  if (a.key === null || b.key === null) return (a.key === null) - (b.key === null);
  const ra = ENV_RANK.get(a.key) ?? ENVIRONMENTS.length;
  const rb = ENV_RANK.get(b.key) ?? ENVIRONMENTS.length;
  return ra - rb || compareText(a.label, b.label) || compareText(a.key, b.key);
}

// plan returns the wall to draw: the entities that pass the environment
// filter (a set of keys; empty passes all), grouped by attribute, as
// [{key, label, entities}] with groups in the wall's order and entities
// by name within each.
export function plan(entities, { attribute, environments }) {
  const groups = new Map();
  for (const e of entities) {
    if (environments.size > 0) {
      const env = e.attributes[ENVIRONMENT];
      if (typeof env !== "string" || !environments.has(envKey(env))) continue;
    }
    let key = null;
    let label = attribute === GROUP_NONE ? "All entities" : "No " + attribute;
    if (attribute !== GROUP_NONE) {
      const v = e.attributes[attribute];
      if (typeof v === "string" && v.trim() !== "") {
        key = attribute === ENVIRONMENT ? envKey(v) : v;
        label = attribute === ENVIRONMENT ? envLabel(key, v.trim()) : v;
      }
    }
    const id = key === null ? "\0" : key;
    if (!groups.has(id)) groups.set(id, { key, label, entities: [] });
    groups.get(id).entities.push(e);
  }
  const out = [...groups.values()];
  if (attribute === GROUP_NONE) for (const g of out) g.key = "";
  out.sort(compareGroups);
  for (const g of out) g.entities.sort((a, b) => compareText(a.name, b.name) || compareText(a.path, b.path));
  return out;
}

// signature identifies a plan's shape (its groups and their tiles, in
// order): a tree delta that keeps it changes tiles, not the layout.
export function signature(groups) {
  return groups.map((g) => g.key + "\u0001" + g.entities.map((e) => e.path).join("\u0002")).join("\u0003");
}

// probeState says how an entity's probe stands: "connected", "down"
// (it was connected, and is not) or "never" (it never connected).
export function probeState(probe) {
  if (!probe) return "never";
  if (probe.connected === true) return "connected";
  return probe.since ? "down" : "never";
}

// summarise counts the entities shown by their severity, except those
// whose probe is not connected, which are counted apart (their cells are
// what the probe last said): {critical, warning, ok, undefined,
// notConnected, maintenance, total}. node(path) looks a tree node up.
export function summarise(groups, node) {
  const out = { critical: 0, warning: 0, ok: 0, undefined: 0, notConnected: 0, maintenance: 0, total: 0 };
  for (const g of groups) {
    for (const e of g.entities) {
      const n = node(e.path);
      out.total++;
      if (n && typeof n.maintenance === "string" && n.maintenance !== "") out.maintenance++;
      if (probeState(node(e.probe)) !== "connected") out.notConnected++;
      else out[severity(n && n.severity)]++;
    }
  }
  return out;
}

// MAX_ASPECT is the widest a tile gets for its height.
const MAX_ASPECT = 4;

// tileAspect returns the width a tile wants for its height for a name of
// chars characters to fit on one line in the tile's type (wall.css: the
// name is 1.5 times the tile's font, itself a 4.4th of its height, and a
// bold character about 0.68 of the font wide), padding included; never
// below 2.2, which its head line (shape, word and counts) needs.
export function tileAspect(chars) {
  return Math.min(MAX_ASPECT, Math.max(2.2, (chars * 0.68 * 1.5 + 1.1) / 4.4));
}

// shelves returns the rows of tiles each shelf of groups takes when groups
// (each group's number of tiles) sit side by side while they fit a width,
// as a wrapping flex row lays them out: a group is min(n, cols) tiles of
// tileWidth wide, groupGap from the group beside it.
function shelves(counts, { cols, tileWidth, width, gap, groupGap }) {
  const out = [];
  let x = 0;
  for (const n of counts) {
    const c = Math.min(n, cols);
    const w = c * tileWidth + (c - 1) * gap;
    const rows = Math.ceil(n / c);
    if (out.length > 0 && x + groupGap + w <= width) {
      x += groupGap + w;
      out[out.length - 1] = Math.max(out[out.length - 1], rows);
    } else {
      out.push(rows);
      x = w;
    }
  }
  return out;
}

// fit returns the biggest tiles for which groups (each group's number of
// tiles) fit a box of width × height: {cols, width, height, fits} in
// whole pixels. A group is at most cols tiles wide, and groups narrower
// than the box sit side by side (shelves); a tile is never taller than
// a width of aspect times its height. Each group takes head pixels
// above its rows; tiles sit gap apart, groups groupGap. Tiles are at
// least minHeight and at most maxHeight high; fits is false when even
// tiles of minHeight overflow the box (a screen too small for the wall,
// which then scrolls).
export function fit(groups, { width, height, head, gap, groupGap, minHeight, maxHeight, aspect = 1.7 }) {
  const counts = groups.filter((n) => n > 0);
  const most = Math.max(1, ...counts);
  let best = { cols: 1, width: 0, height: 0 };
  for (let cols = 1; cols <= most; cols++) {
    const w = Math.floor((width - (cols - 1) * gap) / cols);
    if (w < 1) break;
    const rows = shelves(counts, { cols, tileWidth: w, width, gap, groupGap });
    const total = rows.reduce((sum, r) => sum + r, 0);
    const room = height - rows.length * head - (rows.length - 1) * groupGap - (total - rows.length) * gap;
    const h = Math.min(room / Math.max(1, total), w / aspect, maxHeight);
    // Of tiles as high, the narrower: rows of them fill the width.
    if (h >= best.height - 0.5) best = { cols, width: w, height: Math.max(h, best.height) };
  }
  const h = Math.floor(Math.max(minHeight, best.height));
  return { cols: best.cols, width: Math.min(best.width, Math.floor(h * MAX_ASPECT)), height: h, fits: best.height >= minHeight };
}
