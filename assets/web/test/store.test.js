import { assert, test } from "./runner.js";
import { Store } from "../store.js";
import { modelFor } from "../topics.js";
import { captureConsole, cell, dvDelta, dvSnapshot, FakeTransport, liveStore } from "./fakes.js";

// logModel is a model that keeps every frame and reports each as a change.
function logModel(topic) {
  return {
    topic,
    frames: [],
    apply(frame) {
      this.frames.push(frame);
      return { frame };
    },
  };
}

const PACE = { op: "pace", window: 8 };

// newStore starts a store of logModels; its paints run when the test
// calls paint(), and hidden() is whether the page is hidden.
function newStore({ open = true, hidden = false } = {}) {
  const transport = new FakeTransport();
  const paints = [];
  const page = { hidden };
  const store = new Store(transport, logModel, { afterPaint: (fn) => paints.push(fn), hidden: () => page.hidden });
  store.start();
  if (open) transport.connect();
  const paint = () => {
    for (const fn of paints.splice(0)) fn();
  };
  return { store, transport, paint, page, paints };
}

test("store: subscriptions are counted per topic", () => {
  const { store, transport } = newStore();
  const offA1 = store.subscribe("a", () => {});
  const offA2 = store.subscribe("a", () => {});
  const offB = store.subscribe("b", () => {});
  assert.deepEqual(transport.take(), [{ op: "subscribe", topic: "a" }, { op: "subscribe", topic: "b" }], "after three subscribers");
  offA1();
  offA1();
  assert.deepEqual(transport.take(), [], "after the first of a's two leaves (twice)");
  offA2();
  assert.deepEqual(transport.take(), [{ op: "unsubscribe", topic: "a" }], "after the last of a's leaves");
  offA2();
  offB();
  assert.deepEqual(transport.take(), [{ op: "unsubscribe", topic: "b" }], "after b's leaves");
});

test("store: the same handler subscribed twice counts twice", () => {
  const { store, transport } = newStore();
  const h = () => {};
  const off1 = store.subscribe("a", h);
  const off2 = store.subscribe("a", h);
  transport.take();
  off1();
  assert.deepEqual(transport.take(), [], "one left");
  off2();
  assert.deepEqual(transport.take(), [{ op: "unsubscribe", topic: "a" }], "both left");
});

test("store: frames are dispatched by topic", () => {
  const { store, transport } = newStore();
  const got = { a: [], b: [] };
  store.subscribe("a", (model, change) => got.a.push(change));
  store.subscribe("b", (model, change) => got.b.push(change));
  transport.deliver({ type: "snapshot", topic: "a", n: 1 });
  transport.deliver({ type: "delta", topic: "b", n: 2 });
  transport.deliver({ type: "delta", topic: "c", n: 3 });
  transport.deliver({ type: "delta", n: 4 });
  assert.deepEqual(got.a, [{ full: true }, { frame: { type: "snapshot", topic: "a", n: 1 } }], "a's handler");
  assert.deepEqual(got.b, [{ full: true }, { frame: { type: "delta", topic: "b", n: 2 } }], "b's handler");
});

test("store: a subscriber is called at once with the topic's model", () => {
  const { store, transport } = newStore();
  const first = [];
  store.subscribe("a", (model, change) => first.push([model, change]));
  transport.deliver({ type: "snapshot", topic: "a" });
  const late = [];
  store.subscribe("a", (model, change) => late.push([model, change]));
  assert.equal(late.length, 1, "calls of the late subscriber");
  assert.equal(late[0][0], first[0][0], "both see one model");
  assert.deepEqual(late[0][1], { full: true }, "change given to the late subscriber");
  assert.equal(late[0][0].frames.length, 1, "frames the model holds");
});

test("store: a late subscriber of a dataview draws its current state", () => {
  const { store, transport } = liveStore();
  const path = "p/e/s/d";
  store.subscribe("dataview/" + path, () => {});
  transport.deliver(dvSnapshot(path, { columns: ["c"], rows: { r1: [cell("1")] } }));
  transport.deliver(dvDelta(path, { cells: [{ r: "r1", c: "c", v: "2", s: "critical", t: 2000 }] }));
  let seen = null;
  store.subscribe("dataview/" + path, (model) => {
    seen = model.rows.get("r1").get("c");
  });
  assert.deepEqual(seen, { r: "r1", c: "c", v: "2", s: "critical", t: 2000 }, "cell seen at once");
  assert.deepEqual(transport.take().filter((m) => m.op === "subscribe").length, 1, "subscribe requests");
});

test("store: after a reconnection every live topic is subscribed again", () => {
  const { store, transport } = newStore();
  store.subscribe("a", () => {});
  const offB = store.subscribe("b", () => {});
  store.subscribe("c", () => {});
  transport.drop();
  offB();
  transport.take();
  transport.takePacing();
  transport.connect();
  assert.deepEqual(transport.takePacing(), [PACE], "pacing asked for on reconnection");
  assert.deepEqual(transport.take(), [{ op: "subscribe", topic: "a" }, { op: "subscribe", topic: "c" }], "sent on reconnection");
});

test("store: subscribing while disconnected waits for the connection", () => {
  const { store, transport } = newStore({ open: false });
  store.subscribe("a", () => {});
  assert.deepEqual(transport.take(), [], "sent while disconnected");
  transport.connect();
  assert.deepEqual(transport.takePacing(), [PACE], "pacing asked for on connecting");
  assert.deepEqual(transport.take(), [{ op: "subscribe", topic: "a" }], "sent on connecting");
});

test("store: a topic left and held again starts from a fresh model", () => {
  const { store, transport } = newStore();
  const models = [];
  const off = store.subscribe("a", (m) => models.push(m));
  transport.deliver({ type: "snapshot", topic: "a" });
  off();
  store.subscribe("a", (m) => models.push(m));
  assert.ok(models[0] !== models.at(-1), "a new model");
  assert.equal(models.at(-1).frames.length, 0, "frames in the new model");
  transport.deliver({ type: "delta", topic: "a" });
  assert.equal(models[0].frames.length, 1, "frames reaching the old model after leaving");
});

test("store: errors reach their topic's subscribers, others the error handlers", () => {
  const { store, transport } = liveStore();
  const path = "p/e/s/d";
  const changes = [];
  let model = null;
  store.subscribe("dataview/" + path, (m, c) => {
    model = m;
    changes.push(c);
  });
  const global = [];
  store.onError((msg) => global.push(msg));
  transport.deliver({ type: "error", topic: "dataview/" + path, message: "may not watch this" });
  transport.deliver({ type: "error", message: "bad JSON" });
  transport.deliver({ type: "error", topic: "dataview/x/y/z/w", message: "not held" });
  assert.equal(model.error, "may not watch this", "the topic's error");
  assert.equal(changes.length, 2, "changes seen by the topic's subscriber");
  assert.deepEqual(global, ["bad JSON", "not held"], "global errors");
});

test("store: an error with no handler is logged", (t) => {
  const errors = captureConsole(t, "error");
  const { transport } = newStore();
  transport.deliver({ type: "error", message: "unknown op" });
  assert.equal(errors.length, 1, "errors logged");
});

test("store: a failing subscriber does not starve the others", (t) => {
  const errors = captureConsole(t, "error");
  const { store, transport } = newStore();
  const got = [];
  store.subscribe("a", (m, c) => {
    if (c.frame) throw new Error("broken view");
  });
  store.subscribe("a", (m, c) => got.push(c));
  transport.deliver({ type: "delta", topic: "a" });
  assert.equal(got.length, 2, "calls of the healthy subscriber");
  assert.equal(errors.length, 1, "errors logged");
});

test("store: a subscriber removed by another during dispatch is not called", () => {
  const { store, transport } = newStore();
  let offSecond = null;
  const got = [];
  store.subscribe("a", (m, c) => {
    if (c.frame) offSecond();
  });
  offSecond = store.subscribe("a", (m, c) => got.push(c));
  transport.deliver({ type: "delta", topic: "a" });
  assert.deepEqual(got, [{ full: true }], "calls of the removed subscriber");
});

test("store: connection state reaches its watchers, now and on change", () => {
  const { store, transport } = newStore({ open: false });
  const states = [];
  const off = store.onState((s) => states.push(s));
  transport.connect();
  transport.drop();
  off();
  transport.connect();
  assert.deepEqual(states, ["connecting", "live", "reconnecting"], "states");
});

test("store: the dashboard's topics have models, others are refused", () => {
  assert.equal(modelFor("tree").constructor.name, "TreeModel", "tree");
  assert.equal(modelFor("dataview/p/e/s/d").path, "p/e/s/d", "dataview model's path");
  let thrown = null;
  try {
    modelFor("nonsense");
  } catch (err) {
    thrown = err;
  }
  assert.ok(thrown, "modelFor an unknown topic throws");
});

// acks returns the acks the store sent since the last call.
function acks(transport) {
  return transport.takePacing().filter((m) => m.op === "ack");
}

test("store: frames are acknowledged after the paint that draws them, one ack for all", () => {
  const { store, transport, paint } = newStore();
  store.subscribe("a", () => {});
  store.subscribe("b", () => {});
  transport.take();
  transport.deliver({ type: "snapshot", topic: "a" });
  transport.deliver({ type: "snapshot", topic: "b" });
  transport.deliver({ type: "delta", topic: "x" }); // a topic not held: numbered all the same
  assert.deepEqual(acks(transport), [], "acks before the paint");
  paint();
  assert.deepEqual(acks(transport), [{ op: "ack", seq: 3 }], "acks after it");
  paint();
  assert.deepEqual(acks(transport), [], "acks after a paint with nothing new");
  transport.deliver({ type: "delta", topic: "a" });
  paint();
  assert.deepEqual(acks(transport), [{ op: "ack", seq: 4 }], "the next frame's ack");
});

test("store: a hidden page acknowledges without waiting for a paint", async (t) => {
  const { store, transport, page, paint, paints } = newStore({ hidden: true });
  store.subscribe("a", () => {});
  transport.take();
  transport.deliver({ type: "snapshot", topic: "a" });
  transport.deliver({ type: "delta", topic: "a" });
  assert.equal(paints.length, 0, "paints waited for");
  await new Promise((resolve) => setTimeout(resolve, 0));
  assert.deepEqual(acks(transport), [{ op: "ack", seq: 2 }], "acks of the hidden page");

  page.hidden = false;
  transport.deliver({ type: "delta", topic: "a" });
  assert.equal(paints.length, 1, "paints waited for once visible");
  page.hidden = true;
  store.visibilityChanged();
  assert.deepEqual(acks(transport), [{ op: "ack", seq: 3 }], "acked as soon as the page is hidden");
  paint();
  assert.deepEqual(acks(transport), [], "nothing more at the paint that came after all");
});

test("store: a new connection numbers afresh and drops the old one's pending ack", () => {
  const { store, transport, paint, paints } = newStore();
  store.subscribe("a", () => {});
  transport.deliver({ type: "snapshot", topic: "a" });
  transport.deliver({ type: "delta", topic: "a" });
  const old = paints.splice(0);
  transport.drop();
  transport.connect();
  transport.take();
  for (const fn of old) fn();
  assert.deepEqual(acks(transport), [], "the old connection's ack sent on the new");
  transport.deliver({ type: "snapshot", topic: "a" });
  paint();
  assert.deepEqual(acks(transport), [{ op: "ack", seq: 1 }], "the new connection's first ack");
});

test("store: a transport that does not number frames is not acknowledged", () => {
  const { store, transport, paints } = newStore();
  store.subscribe("a", () => {});
  transport.handlers.onMessage({ type: "snapshot", topic: "a" });
  assert.equal(paints.length, 0, "paints waited for");
});

test("store: a reconnected store is live only once every topic has its fresh snapshot", () => {
  const { store, transport } = newStore();
  const states = [];
  store.onState((s) => states.push(s));
  store.subscribe("a", () => {});
  store.subscribe("b", () => {});
  store.subscribe("c", () => {});
  transport.drop();
  transport.connect();
  assert.deepEqual(states, ["live", "reconnecting"], "states before any snapshot");
  transport.deliver({ type: "snapshot", topic: "a" });
  transport.deliver({ type: "snapshot", topic: "x" }); // not held: no news
  transport.deliver({ type: "error", topic: "b", message: "refused" }); // b's answer
  assert.deepEqual(states, ["live", "reconnecting"], "states with c's snapshot to come");
  transport.deliver({ type: "gone", topic: "c" });
  assert.deepEqual(states, ["live", "reconnecting", "live"], "states once every topic has answered");
});

test("store: the last topic awaited going away makes the store live", () => {
  const { store, transport } = newStore();
  const off = store.subscribe("a", () => {});
  transport.drop();
  transport.connect();
  assert.equal(store.state, "reconnecting", "state awaiting a's snapshot");
  off();
  assert.equal(store.state, "live", "state once a is left");
});

test("store: a frame whose model throws is acknowledged all the same", () => {
  // Unacknowledged, a frame that fails to apply would count against the
  // window for good: eight of them and the hub holds every topic back.
  const transport = new FakeTransport();
  const paints = [];
  const throwing = () => ({
    apply(frame) {
      if (frame.bad) throw new Error("bad frame");
      return { frame };
    },
  });
  const store = new Store(transport, throwing, { afterPaint: (fn) => paints.push(fn), hidden: () => false });
  store.start();
  transport.connect();
  store.subscribe("a", () => {});
  transport.takePacing();
  // The Connection catches and logs what onMessage throws.
  try {
    transport.deliver({ type: "snapshot", topic: "a", bad: true });
  } catch {}
  for (const fn of paints.splice(0)) fn();
  assert.deepEqual(transport.takePacing(), [{ op: "ack", seq: 1 }], "acks after the paint");
});

test("store: a topic refused on a new connection does not keep showing the old one's numbers", () => {
  const { store, transport } = liveStore();
  const topic = "dataview/p/e/s/d";
  let seen = null;
  let last = null;
  store.subscribe(topic, (model, change) => {
    seen = model;
    last = change;
  });
  transport.deliver(dvSnapshot("p/e/s/d", { columns: ["v"], rows: { r: [cell("12.3")] } }));
  assert.equal(seen.rows.size, 1, "rows before the reconnection");
  transport.drop();
  transport.connect();
  transport.deliver({ type: "error", topic, message: "subscription refused: not yours any more" });
  assert.equal(store.state, "live", "state once the topic has answered");
  assert.equal(seen.rows.size, 0, "rows of the previous connection shown as live");
  assert.equal(seen.error, "subscription refused: not yours any more", "the refusal shown");
  assert.deepEqual(last, { full: true }, "the subscribers told to draw it all");
});
