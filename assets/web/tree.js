// The navigation tree: probe → entity → sampler/dataview, refreshed from
// the REST API. It is rebuilt only when its content changes, keeping the
// branches the user folded.

import { decodeSegment } from "./paths.js";

const REFRESH_MS = 5000;

async function getJSON(url) {
  const res = await fetch(url, { headers: { Accept: "application/json" }, cache: "no-store" });
  if (!res.ok) throw new Error(url + ": HTTP " + res.status);
  const body = await res.json();
  if (!Array.isArray(body)) throw new Error(url + ": not a JSON array");
  return body;
}

const collator = new Intl.Collator(undefined, { numeric: true, sensitivity: "base" });

function byName(a, b) {
  return collator.compare(a, b) || (a < b ? -1 : a > b ? 1 : 0);
}

// model groups the API's lists into sorted probes, entities and dataviews.
function model(dataviews, probes) {
  const tree = new Map(); // probe -> {connected, lastSeen, entities: Map(entity -> [dv])}
  const probe = (name) => {
    let p = tree.get(name);
    if (!p) {
      p = { connected: null, lastSeen: "", entities: new Map() };
      tree.set(name, p);
    }
    return p;
  };
  for (const p of probes) {
    if (!p || typeof p.name !== "string") continue;
    const node = probe(p.name);
    node.connected = p.connected === true;
    node.lastSeen = typeof p.lastSeen === "string" ? p.lastSeen : "";
  }
  for (const dv of dataviews) {
    if (!dv || typeof dv.path !== "string") continue;
    const segs = dv.path.split("/");
    if (segs.length !== 4) continue;
    const name = (field, i) => (typeof dv[field] === "string" ? dv[field] : decodeSegment(segs[i]));
    const entities = probe(name("probe", 0)).entities;
    const entity = name("entity", 1);
    let list = entities.get(entity);
    if (!list) {
      list = [];
      entities.set(entity, list);
    }
    list.push({
      path: dv.path,
      sampler: name("sampler", 2),
      dataview: name("dataview", 3),
      type: typeof dv.type === "string" ? dv.type : "",
      stale: dv.stale === true,
    });
  }
  const probesOut = [...tree.entries()].sort((a, b) => byName(a[0], b[0]));
  return probesOut.map(([name, p]) => ({
    name,
    connected: p.connected,
    lastSeen: p.lastSeen,
    entities: [...p.entities.entries()]
      .sort((a, b) => byName(a[0], b[0]))
      .map(([ename, dvs]) => ({
        name: ename,
        dataviews: dvs.sort(
          (a, b) => byName(a.sampler, b.sampler) || byName(a.dataview, b.dataview) || byName(a.path, b.path),
        ),
      })),
  }));
}

export class TreeView {
  constructor(doc = document) {
    this.doc = doc;
    this.root = doc.getElementById("tree-list");
    this.status = doc.getElementById("tree-status");
    this.selected = null;
    this.signature = "";
    this.folded = new Set(); // keys of <details> the user closed
    this.dataviews = [];
    this.probes = [];
    this.probeEls = new Map(); // probe name -> li
    this.root.addEventListener(
      "toggle",
      (e) => {
        const d = e.target;
        if (!(d instanceof HTMLDetailsElement) || !d.dataset.key) return;
        if (d.open) this.folded.delete(d.dataset.key);
        else this.folded.add(d.dataset.key);
      },
      true, // toggle does not bubble
    );
  }

  start() {
    const tick = async () => {
      await this.refresh();
      setTimeout(tick, REFRESH_MS);
    };
    tick();
  }

  async refresh() {
    const [dvs, probes] = await Promise.allSettled([getJSON("/api/v1/dataviews"), getJSON("/api/v1/probes")]);
    const errors = [];
    if (dvs.status === "fulfilled") this.dataviews = dvs.value;
    else errors.push(dvs.reason);
    if (probes.status === "fulfilled") this.probes = probes.value;
    else errors.push(probes.reason);
    for (const err of errors) console.error("watchfloor: tree refresh failed", err);
    this.status.textContent = errors.length ? "Cannot reach the gateway's API; retrying." : "";
    this.status.hidden = errors.length === 0;
    this.root.dataset.loaded = "true";
    this.render(model(this.dataviews, this.probes));
  }

  render(probes) {
    const signature = JSON.stringify(probes, (k, v) => (k === "lastSeen" ? undefined : v));
    if (signature === this.signature) {
      this.updateLastSeen(probes);
      return;
    }
    this.signature = signature;
    this.probeEls = new Map();
    const doc = this.doc;
    const frag = doc.createDocumentFragment();
    if (probes.length === 0) {
      const li = doc.createElement("li");
      li.className = "tree-empty";
      li.textContent = "No probes yet.";
      frag.appendChild(li);
    }
    for (const p of probes) {
      const li = doc.createElement("li");
      li.className = "probe";
      li.dataset.probe = p.name;
      this.probeEls.set(p.name, li);
      const state = p.connected === null ? "unknown" : p.connected ? "connected" : "down";
      li.dataset.connected = p.connected === null ? "unknown" : String(p.connected);
      const details = this.details("p\0" + p.name);
      const summary = doc.createElement("summary");
      const name = doc.createElement("span");
      name.className = "probe-name";
      name.textContent = p.name;
      const marker = doc.createElement("span");
      marker.className = "probe-state";
      marker.dataset.state = state;
      marker.textContent = state;
      summary.append(name, " ", marker);
      details.appendChild(summary);
      const entities = doc.createElement("ul");
      for (const e of p.entities) entities.appendChild(this.entity(p.name, e));
      details.appendChild(entities);
      li.appendChild(details);
      frag.appendChild(li);
    }
    this.root.replaceChildren(frag);
    this.updateLastSeen(probes);
    this.markSelected();
  }

  details(key) {
    const d = this.doc.createElement("details");
    d.dataset.key = key;
    d.open = !this.folded.has(key);
    return d;
  }

  entity(probe, e) {
    const doc = this.doc;
    const li = doc.createElement("li");
    li.className = "entity";
    li.dataset.entity = e.name;
    const details = this.details("e\0" + probe + "\0" + e.name);
    const summary = doc.createElement("summary");
    summary.className = "entity-name";
    summary.textContent = e.name;
    details.appendChild(summary);
    const list = doc.createElement("ul");
    for (const dv of e.dataviews) {
      const item = doc.createElement("li");
      item.className = "dataview";
      item.dataset.stale = String(dv.stale);
      if (dv.stale) item.classList.add("stale");
      const a = doc.createElement("a");
      a.className = "dv-link";
      a.href = "#/view/" + dv.path;
      a.dataset.dataview = dv.path;
      if (dv.type) a.title = dv.type + " sampler";
      const s = doc.createElement("span");
      s.className = "dv-sampler";
      s.textContent = dv.sampler;
      const d = doc.createElement("span");
      d.className = "dv-name";
      d.textContent = dv.dataview;
      a.append(s, "/", d);
      if (dv.stale) {
        const flag = doc.createElement("span");
        flag.className = "dv-stale";
        flag.textContent = " stale";
        a.appendChild(flag);
      }
      item.appendChild(a);
      list.appendChild(item);
    }
    details.appendChild(list);
    li.appendChild(details);
    return li;
  }

  updateLastSeen(probes) {
    for (const p of probes) {
      const li = this.probeEls.get(p.name);
      if (li) li.title = p.lastSeen ? "last seen " + new Date(p.lastSeen).toLocaleString() : "";
    }
  }

  // select marks the link of dataview path (or none) as the current one.
  select(path) {
    this.selected = path;
    this.markSelected();
  }

  markSelected() {
    for (const a of this.root.querySelectorAll("a.dv-link[aria-current]")) a.removeAttribute("aria-current");
    if (!this.selected) return;
    for (const a of this.root.querySelectorAll("a.dv-link")) {
      if (a.dataset.dataview === this.selected) a.setAttribute("aria-current", "page");
    }
  }
}
