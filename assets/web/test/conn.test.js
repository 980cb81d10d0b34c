import { assert, test } from "./runner.js";
import { Connection, dashboardURL, retryDelay } from "../conn.js";
import { captureConsole, FakeSocket } from "./fakes.js";

test("conn: dashboardURL is the page's own origin", () => {
  assert.equal(dashboardURL(new URL("http://gw.example:7039/x?y#/view/a/b/c/d")), "ws://gw.example:7039/ws/dashboard", "over http");
  assert.equal(dashboardURL(new URL("https://gw.example/")), "wss://gw.example/ws/dashboard", "over https");
});

test("conn: retries back off, jittered, up to the ceiling", () => {
  assert.equal(retryDelay(0, 0, 500, 10000), 250, "first retry, least jitter");
  assert.equal(retryDelay(0, 0.999999, 500, 10000) < 500, true, "first retry stays under the base");
  assert.equal(retryDelay(3, 0, 500, 10000), 2000, "fourth retry, least jitter");
  assert.equal(retryDelay(20, 0.5, 500, 10000), 7500, "long outage: capped");
});

// connection starts a Connection over FakeSockets; next() resolves with
// the next socket it opens; seqs are the numbers messages were passed
// on with. opts override the Connection's.
function connection(t, opts = {}) {
  const sockets = [];
  const closes = [];
  const seqs = [];
  let waiting = null;
  const conn = new Connection("ws://gw/ws/dashboard", {
    minDelay: 1,
    maxDelay: 4,
    ...opts,
    onClose: (info) => closes.push(info),
    newSocket: (url) => {
      const s = new FakeSocket(url);
      sockets.push(s);
      if (waiting) waiting(s);
      waiting = null;
      return s;
    },
  });
  const events = [];
  conn.start({
    onOpen: () => events.push("open"),
    onMessage: (m, seq) => {
      events.push(m);
      seqs.push(seq);
    },
    onState: (s) => events.push("state:" + s),
  });
  t.cleanup(() => conn.stop());
  const next = () => new Promise((resolve) => (waiting = resolve));
  return { conn, sockets, events, next, closes, seqs };
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// busy keeps the page's one thread busy for ms, as a long task does.
function busy(ms) {
  const end = performance.now() + ms;
  while (performance.now() < end);
}

test("conn: opens, passes JSON objects on and sends", (t) => {
  const errors = captureConsole(t, "error");
  const { conn, sockets, events } = connection(t);
  assert.equal(sockets.length, 1, "sockets opened");
  assert.equal(conn.send({ op: "subscribe", topic: "tree" }), false, "send before open");
  sockets[0].serverOpen();
  assert.equal(conn.send({ op: "subscribe", topic: "tree" }), true, "send when open");
  assert.deepEqual(sockets[0].sent, ['{"op":"subscribe","topic":"tree"}'], "written");
  sockets[0].serverSend('{"type":"snapshot","topic":"tree"}');
  sockets[0].serverSend("[1,2]");
  sockets[0].serverSend("not json");
  assert.deepEqual(events, ["state:connecting", "state:live", "open", { type: "snapshot", topic: "tree" }], "events");
  assert.equal(errors.length, 1, "bad JSON logged");
});

test("conn: a closed socket is replaced after a backoff", async (t) => {
  const { conn, sockets, events, next } = connection(t);
  sockets[0].serverOpen();
  const reopened = next();
  sockets[0].serverClose();
  assert.equal(events.at(-1), "state:reconnecting", "state after the close");
  assert.equal(conn.send({}), false, "send while reconnecting");
  const s = await reopened;
  s.serverOpen();
  assert.deepEqual(events.slice(-2), ["state:live", "open"], "events after reconnecting");
  assert.equal(sockets.length, 2, "sockets opened");
});

test("conn: stop ends reconnecting", async (t) => {
  const { conn, sockets } = connection(t);
  sockets[0].serverClose();
  conn.stop();
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(sockets.length, 1, "sockets opened after stop");
});

test("conn: each close is reported with its code and whether the socket opened", async (t) => {
  const { conn, sockets, events, next, closes } = connection(t);
  sockets[0].serverOpen();
  let reopened = next();
  sockets[0].serverClose(4001, "session ended");
  assert.deepEqual(closes, [{ code: 4001, reason: "session ended", opened: true }], "a session's end");
  assert.equal(events.at(-1), "state:reconnecting", "still reconnecting");
  const s = await reopened;
  reopened = next();
  s.serverClose();
  assert.deepEqual(closes.at(-1), { code: 1006, reason: "", opened: false }, "a refused upgrade");
  await reopened;
  conn.stop();
  assert.equal(closes.length, 2, "stop reports no close");
});

test("conn: heartbeats are signs of life, neither passed on nor numbered; bad frames are numbered", (t) => {
  captureConsole(t, "error");
  const { sockets, events, seqs } = connection(t);
  sockets[0].serverOpen();
  sockets[0].serverSend('{"type":"heartbeat"}');
  sockets[0].serverSend('{"type":"snapshot","topic":"a"}');
  sockets[0].serverSend("not json");
  sockets[0].serverSend('{"type":"heartbeat"}');
  sockets[0].serverSend('{"type":"delta","topic":"a"}');
  assert.deepEqual(events.slice(3), [{ type: "snapshot", topic: "a" }, { type: "delta", topic: "a" }], "passed on");
  assert.deepEqual(seqs, [1, 3], "their numbers, as the hub counts frames");
});

test("conn: each socket numbers its frames from 1", async (t) => {
  const { sockets, next, seqs } = connection(t);
  sockets[0].serverOpen();
  sockets[0].serverSend('{"type":"snapshot","topic":"a"}');
  sockets[0].serverSend('{"type":"delta","topic":"a"}');
  const reopened = next();
  sockets[0].serverClose();
  const s = await reopened;
  s.serverOpen();
  s.serverSend('{"type":"snapshot","topic":"a"}');
  assert.deepEqual(seqs, [1, 2, 1], "numbers");
});

test("conn: an open socket that hears nothing is dropped as cut off, and replaced", async (t) => {
  const warnings = captureConsole(t, "warn");
  const { sockets, events, next, closes } = connection(t, { silence: 40, grace: 10 });
  sockets[0].serverOpen();
  const started = performance.now();
  const s = await next();
  const took = performance.now() - started;
  assert.ok(took >= 40, "cut off after the silence, not before: " + took + " ms");
  assert.ok(sockets[0].closedByPage, "the silent socket closed by the page");
  assert.deepEqual(closes, [{ code: 1006, reason: "nothing from the gateway", opened: true }], "reported closes");
  assert.equal(events.includes("state:reconnecting"), true, "said to be reconnecting");
  assert.equal(warnings.length, 1, "warnings");
  s.serverOpen();
  assert.equal(events.at(-1), "open", "the new socket opened");
});

test("conn: messages keep a socket alive", async (t) => {
  const { sockets, events } = connection(t, { silence: 100, grace: 20 });
  sockets[0].serverOpen();
  for (let i = 0; i < 30; i++) {
    await sleep(10);
    sockets[0].serverSend('{"type":"heartbeat"}');
  }
  assert.equal(sockets.length, 1, "sockets opened");
  assert.equal(events.at(-1), "open", "still open");
});

test("conn: a page busy past the silence does not take its own lateness for the gateway's", async (t) => {
  const { sockets, events } = connection(t, { silence: 200, grace: 50 });
  sockets[0].serverOpen();
  busy(400);
  // The watchdog, late, runs first; the gateway's message comes after.
  setTimeout(() => sockets[0].serverSend('{"type":"heartbeat"}'), 10);
  await sleep(100);
  assert.equal(sockets.length, 1, "sockets opened");
  assert.equal(sockets[0].closedByPage, false, "closed by the page");
  assert.equal(events.at(-1), "open", "still open");
});

test("conn: a socket that does not open in time is given up", async (t) => {
  captureConsole(t, "warn");
  const { sockets, next, closes } = connection(t, { openTimeout: 30, grace: 10 });
  await next();
  assert.ok(sockets[0].closedByPage, "the unopened socket closed");
  assert.deepEqual(closes, [{ code: 1006, reason: "no answer from the gateway", opened: false }], "reported as never opened");
});

test("conn: stop ends the watchdog", async (t) => {
  const warnings = captureConsole(t, "warn");
  const { conn, sockets } = connection(t, { silence: 20, grace: 5 });
  sockets[0].serverOpen();
  conn.stop();
  await sleep(60);
  assert.equal(sockets.length, 1, "sockets opened after stop");
  assert.equal(warnings.length, 0, "warnings");
});

test("conn: a page busy between the watchdog's two looks does not take its own lateness for the gateway's", async (t) => {
  const { sockets, events } = connection(t, { silence: 200, grace: 50 });
  sockets[0].serverOpen();
  // At 150 ms the watchdog's first look finds the socket quiet and arms
  // its second for 200 ms; a long task runs from 170 ms, past it, and the
  // gateway's message, which came meanwhile, waits behind the late second
  // look.
  setTimeout(() => {
    busy(400);
    setTimeout(() => sockets[0].serverSend('{"type":"heartbeat"}'), 10);
  }, 170);
  await sleep(650);
  assert.equal(sockets.length, 1, "sockets opened");
  assert.equal(sockets[0].closedByPage, false, "closed by the page");
  assert.equal(events.at(-1), "open", "still open");
});

test("conn: a silence found by a late second look is believed at the look after it", async (t) => {
  const warnings = captureConsole(t, "warn");
  const { sockets, next, closes } = connection(t, { silence: 200, grace: 50 });
  sockets[0].serverOpen();
  setTimeout(() => busy(400), 170); // the second look, due at 200 ms, comes late
  const started = performance.now();
  await next();
  const took = performance.now() - started;
  assert.ok(sockets[0].closedByPage, "the silent socket closed by the page");
  assert.ok(took < 1000, "cut off soon after the late look: " + Math.round(took) + " ms");
  assert.deepEqual(closes, [{ code: 1006, reason: "nothing from the gateway", opened: true }], "reported closes");
  assert.equal(warnings.length, 1, "warnings");
});
