// The state of the "incidents" topic: the live incidents the viewer may
// see and the cells' snoozes (docs/dashboard-protocol.md, "incidents").
// The alerts banner and the incident panel both draw from the one model
// the store keeps.

export const INCIDENTS_TOPIC = "incidents";

function list(v) {
  return Array.isArray(v) ? v : [];
}

function isIncident(inc) {
  return inc !== null && typeof inc === "object" && typeof inc.id === "string" && inc.id !== "";
}

function isSnooze(s) {
  return s !== null && typeof s === "object" && typeof s.target === "string" && s.target !== "";
}

export class IncidentsModel {
  constructor() {
    this.state = "loading"; // "live" from the first snapshot
    this.error = ""; // the gateway's last error about this topic
    this.incidents = new Map(); // id -> incident, as the gateway sent it
    this.snoozes = new Map(); // cell path -> snooze
  }

  // apply takes one frame of the topic and returns what changed, for
  // views: {full: true}, or {incidents: [id], removed: [id],
  // snoozes: [path], status} (status: the error changed). It returns null
  // when the frame changes nothing.
  apply(frame) {
    switch (frame.type) {
      case "snapshot":
        this.incidents.clear();
        this.snoozes.clear();
        for (const inc of list(frame.incidents)) if (isIncident(inc)) this.incidents.set(inc.id, inc);
        for (const s of list(frame.snoozes)) if (isSnooze(s)) this.snoozes.set(s.target, s);
        this.state = "live";
        this.error = "";
        return { full: true };
      case "delta":
        if (this.state !== "live") return null;
        return this.applyDelta(frame);
      case "error":
        this.error = typeof frame.message === "string" ? frame.message : "";
        return { full: false, incidents: [], removed: [], snoozes: [], status: true };
      default:
        return null;
    }
  }

  applyDelta(frame) {
    const change = { full: false, incidents: [], removed: [], snoozes: [], status: false };
    for (const inc of list(frame.incidents)) {
      if (!isIncident(inc)) continue;
      this.incidents.set(inc.id, inc);
      change.incidents.push(inc.id);
    }
    for (const id of list(frame.removed)) {
      if (typeof id === "string" && this.incidents.delete(id)) change.removed.push(id);
    }
    for (const s of list(frame.snoozes)) {
      if (!isSnooze(s)) continue;
      this.snoozes.set(s.target, s);
      change.snoozes.push(s.target);
    }
    for (const path of list(frame.unsnoozed)) {
      if (typeof path === "string" && this.snoozes.delete(path)) change.snoozes.push(path);
    }
    if (change.incidents.length + change.removed.length + change.snoozes.length === 0) return null;
    return change;
  }

  // open returns the incidents still open (not resolved), worst and
  // oldest first.
  open() {
    const rank = { critical: 0, warning: 1 };
    return [...this.incidents.values()]
      .filter((inc) => inc.state === "open")
      .sort((a, b) => (rank[a.severity] ?? 2) - (rank[b.severity] ?? 2) || String(a.opened).localeCompare(String(b.opened)));
  }
}
