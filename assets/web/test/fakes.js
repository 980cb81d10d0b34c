// Stand-ins for the gateway, its API and the WebSocket, and builders of
// the frames docs/dashboard-protocol.md describes.

import { encodeSegment } from "../paths.js";
import { Api, ApiError } from "../session.js";
import { Store } from "../store.js";
import { modelFor } from "../topics.js";

// FakeTransport plays the Connection for a Store: the test decides when
// it opens, drops and what arrives. It numbers the frames of each
// connection as the Connection does, and keeps the store's pace and ack
// requests in pacing, apart from what views ask for (sent).
export class FakeTransport {
  constructor() {
    this.sent = [];
    this.pacing = [];
    this.isOpen = false;
    this.handlers = null;
    this.seq = 0;
  }

  start(handlers) {
    this.handlers = handlers;
    handlers.onState("connecting");
  }

  send(msg) {
    if (!this.isOpen) return false;
    if (msg.op === "pace" || msg.op === "ack") this.pacing.push(msg);
    else this.sent.push(msg);
    return true;
  }

  connect() {
    this.isOpen = true;
    this.seq = 0;
    this.handlers.onState("live");
    this.handlers.onOpen();
  }

  drop() {
    this.isOpen = false;
    this.handlers.onState("reconnecting");
  }

  deliver(frame) {
    this.seq++;
    this.handlers.onMessage(frame, this.seq);
  }

  // take returns what was sent since the last take, pacing aside.
  take() {
    const sent = this.sent;
    this.sent = [];
    return sent;
  }

  // takePacing returns the pace and ack requests since its last call.
  takePacing() {
    const pacing = this.pacing;
    this.pacing = [];
    return pacing;
  }
}

// liveStore returns a started store over a connected FakeTransport, with
// the dashboard's models.
export function liveStore() {
  const transport = new FakeTransport();
  const store = new Store(transport, modelFor);
  store.start();
  transport.connect();
  return { store, transport };
}

// FakeSocket is a WebSocket whose server side the test plays.
export class FakeSocket extends EventTarget {
  constructor(url) {
    super();
    this.url = url;
    this.readyState = WebSocket.CONNECTING;
    this.sent = [];
    this.closedByPage = false;
  }

  send(data) {
    this.sent.push(data);
  }

  // close is the page closing the socket: closedByPage says it did.
  close() {
    this.closedByPage = true;
    this.serverClose(1005);
  }

  serverOpen() {
    this.readyState = WebSocket.OPEN;
    this.dispatchEvent(new Event("open"));
  }

  serverSend(data) {
    this.dispatchEvent(new MessageEvent("message", { data }));
  }

  // serverClose closes the socket as the gateway would, with code and
  // reason; a socket that never opened closes as a refused upgrade does
  // (1006, no reason).
  serverClose(code = 1006, reason = "") {
    this.readyState = WebSocket.CLOSED;
    this.dispatchEvent(new CloseEvent("close", { code, reason, wasClean: code !== 1006 }));
  }
}

// nextFrame resolves after the next animation frame, when grids have
// drawn what they were told before it.
export function nextFrame() {
  return new Promise((resolve) => requestAnimationFrame(() => resolve()));
}

// captureConsole replaces console[level] for the rest of the test and
// returns the list of calls' arguments, for tests that expect a complaint.
export function captureConsole(t, level) {
  const calls = [];
  const original = console[level];
  console[level] = (...args) => calls.push(args);
  t.cleanup(() => {
    console[level] = original;
  });
  return calls;
}

// detached returns an element in no document tree, to draw into.
export function detached() {
  return document.createElement("div");
}

// attached returns an element in the page, removed after the test, for
// what needs layout or focus.
export function attached(t) {
  const el = document.createElement("div");
  document.body.appendChild(el);
  t.cleanup(() => el.remove());
  return el;
}

// cell builds a dataview cell; rule, if given, is the rule that judged it.
export function cell(v, s = "ok", t = 1000, rule = "") {
  return rule ? { v, s, t, rule } : { v, s, t };
}

// dvSnapshot builds a dataview snapshot; rows are {name: [cell, …]}.
export function dvSnapshot(path, { columns = [], rows = {}, headlines = {}, sampleTime = 1000, stale = false } = {}) {
  return {
    type: "snapshot",
    topic: "dataview/" + path,
    dataview: path,
    sampleTime,
    stale,
    columns,
    rows: Object.entries(rows).map(([name, cells]) => ({ name, cells })),
    headlines: Object.entries(headlines).map(([name, c]) => ({ name, ...c })),
  };
}

// dvDelta builds a dataview delta; parts are the protocol's fields.
export function dvDelta(path, parts) {
  return { type: "delta", topic: "dataview/" + path, dataview: path, ...parts };
}

const COUNTS0 = { undefined: 0, ok: 0, warning: 0, critical: 0 };

export function counts(c = {}) {
  return { ...COUNTS0, ...c };
}

// finding builds what a dataview or probe rule found; row, if given, is
// the row an absence rule misses.
export function finding(rule, reason, { severity = "critical", row = "" } = {}) {
  return row ? { rule, severity, row, reason } : { rule, severity, reason };
}

// probe builds a whole probe object: entities are
// {name: {attributes, samplers: {name: {type, dataviews: {name: {…}}}}}},
// each level with an optional severity and counts, the probe and its
// dataviews with optional findings (left out when empty, as the gateway
// does).
export function probe(name, { connected = true, since = "2026-12-01T07:58:01Z", severity = "ok", findings = [], entities = {} } = {}) {
  const p = { kind: "probe", name, path: encodeSegment(name), connected, severity, counts: counts(), entities: [] };
  if (since) p.since = since;
  if (findings.length) p.findings = findings;
  for (const [en, e] of Object.entries(entities)) {
    const ep = p.path + "/" + encodeSegment(en);
    const entity = { kind: "entity", name: en, path: ep, attributes: e.attributes || {}, severity: e.severity || "ok", counts: counts(e.counts), samplers: [] };
    for (const [sn, s] of Object.entries(e.samplers || {})) {
      const sp = ep + "/" + encodeSegment(sn);
      const sampler = { kind: "sampler", name: sn, path: sp, type: s.type || sn, severity: s.severity || "ok", counts: counts(s.counts), dataviews: [] };
      for (const [dn, d] of Object.entries(s.dataviews || {})) {
        const dv = { kind: "dataview", name: dn, path: sp + "/" + encodeSegment(dn), stale: d.stale === true, severity: d.severity || "ok", counts: counts(d.counts) };
        if (d.findings && d.findings.length) dv.findings = d.findings;
        sampler.dataviews.push(dv);
      }
      entity.samplers.push(sampler);
    }
    p.entities.push(entity);
  }
  return p;
}

export function treeSnapshot(probes, { severity = "ok", c = {} } = {}) {
  return { type: "snapshot", topic: "tree", severity, counts: counts(c), probes };
}

export function treeDelta(parts) {
  return { type: "delta", topic: "tree", ...parts };
}

// FakeApi plays the gateway's API for a view: answers maps "METHOD path"
// to a function of the request body returning the answer, or throwing an
// ApiError; calls lists every request as [method, path, body]. It is an
// Api whose requests never reach fetch.
export class FakeApi extends Api {
  constructor(answers = {}) {
    super();
    this.answers = answers;
    this.calls = [];
  }

  request(method, path, body) {
    this.calls.push(body === undefined ? [method, path] : [method, path, body]);
    const answer = this.answers[method + " " + path];
    if (!answer) return Promise.reject(new ApiError(404, { message: "no answer for " + method + " " + path }));
    try {
      return Promise.resolve(answer(body));
    } catch (err) {
      return Promise.reject(err);
    }
  }

  // take returns the calls since the last take.
  take() {
    const calls = this.calls;
    this.calls = [];
    return calls;
  }
}

// settled resolves once the promises already resolved have run their
// callbacks (a fake request and what the view does with its answer).
export function settled() {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

// errorOf returns the message f throws, or "" when it throws nothing.
export function errorOf(f) {
  try {
    f();
  } catch (err) {
    return err.message;
  }
  return "";
}

// until resolves once cond() holds, checking every few milliseconds, and
// rejects naming what after ms: for what a view does over several turns
// of the event loop (a dialog closing after its request's answer).
export async function until(what, cond, ms = 2000) {
  const end = performance.now() + ms;
  while (!cond()) {
    if (performance.now() > end) throw new Error("timed out waiting for " + what);
    await new Promise((r) => setTimeout(r, 5));
  }
}

// jsonResponse is a fetch answer of status with body as JSON.
export function jsonResponse(status, body, headers = {}) {
  const init = { status, headers: { "Content-Type": "application/json", ...headers } };
  return new Response(body === undefined ? null : JSON.stringify(body), init);
}

// deferred returns a promise with its resolve and reject, for an answer
// the test gives when it chooses.
export function deferred() {
  let resolve;
  let reject;
  const promise = new Promise((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

// FakeFetch plays the gateway for a real Api's fetch (new Api({fetch:
// f.fetch})), for code that sends its own bodies and headers: answers maps
// "METHOD path" to a function of the request returning {status, body} (or
// a promise of it; status 200 if left out); requests lists every request
// as {method, path, body, headers, signal}. A request whose signal aborts
// before its answer rejects as fetch does.
export class FakeFetch {
  constructor(answers = {}) {
    this.answers = answers;
    this.requests = [];
    this.fetch = (path, init = {}) => this.answer(path, init);
  }

  async answer(path, init) {
    const req = { method: init.method || "GET", path, body: init.body, headers: init.headers || {}, signal: init.signal };
    this.requests.push(req);
    const answer = this.answers[req.method + " " + path];
    const got = answer ? await abortable(Promise.resolve().then(() => answer(req)), init.signal) : { status: 404, body: { message: "no answer for " + req.method + " " + path } };
    return jsonResponse(got.status ?? 200, got.body);
  }

  // take returns the requests since the last take.
  take() {
    const requests = this.requests;
    this.requests = [];
    return requests;
  }
}

function abortable(promise, signal) {
  if (!signal) return promise;
  return new Promise((resolve, reject) => {
    const abort = () => reject(new DOMException("The operation was aborted.", "AbortError"));
    if (signal.aborted) {
      abort();
      return;
    }
    signal.addEventListener("abort", abort, { once: true });
    promise.then(resolve, reject);
  });
}
