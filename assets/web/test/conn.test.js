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
// the next socket it opens.
function connection(t) {
  const sockets = [];
  const closes = [];
  let waiting = null;
  const conn = new Connection("ws://gw/ws/dashboard", {
    minDelay: 1,
    maxDelay: 4,
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
    onMessage: (m) => events.push(m),
    onState: (s) => events.push("state:" + s),
  });
  t.cleanup(() => conn.stop());
  const next = () => new Promise((resolve) => (waiting = resolve));
  return { conn, sockets, events, next, closes };
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
