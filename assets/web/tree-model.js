// The state of the "tree" topic: probes, entities, samplers and dataviews
// with their severities and counts (docs/dashboard-protocol.md, "tree").
// Nodes are the frames' objects, indexed by their canonical path.

export const TREE_TOPIC = "tree";

const CHILDREN = { probe: "entities", entity: "samplers", sampler: "dataviews" };

function list(v) {
  return Array.isArray(v) ? v : [];
}

function isNode(n) {
  return n !== null && typeof n === "object" && typeof n.path === "string";
}

// children returns a node's child nodes (none for a dataview).
export function children(node) {
  const key = CHILDREN[node.kind];
  return key ? list(node[key]).filter(isNode) : [];
}

export class TreeModel {
  constructor() {
    this.state = "loading"; // "live" from the first snapshot
    this.error = ""; // the gateway's last error about this topic
    this.severity = "undefined";
    this.counts = {};
    this.probes = new Map(); // path -> probe node
    this.nodes = new Map(); // path -> node, every level
  }

  // node returns the node at path, or undefined.
  node(path) {
    return this.nodes.get(path);
  }

  // apply takes one frame of the topic and returns what changed, for
  // views: {full: true}, or {summary, status, probes: [path],
  // nodes: [path], removed: [path]} (summary: the overall severity and
  // counts; status: the state or error). It returns null when the frame
  // changes nothing.
  apply(frame) {
    switch (frame.type) {
      case "snapshot":
        this.probes.clear();
        this.nodes.clear();
        for (const p of list(frame.probes)) if (isNode(p)) this.putProbe(p);
        this.setSummary(frame);
        this.state = "live";
        this.error = "";
        return { full: true };
      case "delta":
        if (this.state !== "live") return null;
        return this.applyDelta(frame);
      case "error":
        this.error = typeof frame.message === "string" ? frame.message : "";
        return this.change({ status: true });
      default:
        return null;
    }
  }

  change(parts) {
    return { full: false, summary: false, status: false, probes: [], nodes: [], removed: [], ...parts };
  }

  // applyDelta applies a delta's parts in the order the protocol lists
  // them: whole probes, then single nodes, then removed probes.
  applyDelta(frame) {
    const change = this.change({ summary: this.setSummary(frame) });
    for (const p of list(frame.probes)) {
      if (!isNode(p)) continue;
      this.removeProbe(p.path);
      this.putProbe(p);
      change.probes.push(p.path);
    }
    for (const update of list(frame.nodes)) {
      if (!isNode(update)) continue;
      const node = this.nodes.get(update.path);
      if (!node) continue;
      const childKey = CHILDREN[node.kind];
      for (const [k, v] of Object.entries(update)) {
        if (k !== "kind" && k !== "path" && k !== childKey) node[k] = v;
      }
      change.nodes.push(update.path);
    }
    for (const path of list(frame.removed)) {
      if (this.probes.has(path)) {
        this.removeProbe(path);
        change.removed.push(path);
      }
    }
    return change;
  }

  setSummary(frame) {
    let changed = false;
    if (typeof frame.severity === "string") {
      this.severity = frame.severity;
      changed = true;
    }
    if (frame.counts && typeof frame.counts === "object") {
      this.counts = frame.counts;
      changed = true;
    }
    return changed;
  }

  putProbe(p) {
    this.probes.set(p.path, p);
    const index = (n) => {
      this.nodes.set(n.path, n);
      for (const c of children(n)) index(c);
    };
    index(p);
  }

  removeProbe(path) {
    const p = this.probes.get(path);
    if (!p) return;
    this.probes.delete(path);
    const unindex = (n) => {
      if (this.nodes.get(n.path) === n) this.nodes.delete(n.path);
      for (const c of children(n)) unindex(c);
    };
    unindex(p);
  }
}
