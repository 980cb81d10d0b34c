import { assert, test } from "./runner.js";
import { Connection } from "../conn.js";
import { afterLogin } from "../login.js";
import {
  Api,
  ApiError,
  can,
  isKiosk,
  loginURL,
  needsSessionCheck,
  parseScope,
  scopeText,
  SESSION_ENDED,
  sessionWatcher,
  whoText,
} from "../session.js";
import { FakeSocket, jsonResponse, settled } from "./fakes.js";

const ALICE = { user: "alice", kind: "person", roles: ["operator"], permissions: ["view", "acknowledge"], scope: "client=acme" };
// The gateway names a wall screen kiosk:<its label>.
const WALL = { user: "kiosk:Desk 3 wall", kind: "kiosk", roles: ["viewer"], permissions: ["view"], scope: "" };

test("session: the login URL brings the browser back to where it was, hash and all", () => {
  const cases = [
    { name: "the start page", loc: { pathname: "/", search: "", hash: "" }, want: "/login?next=%2F" },
    {
      name: "a deep link",
      loc: { pathname: "/", search: "?x=1", hash: "#/view/a%20b/e/s/d" },
      want: "/login?next=%2F%3Fx%3D1%23%2Fview%2Fa%2520b%2Fe%2Fs%2Fd",
    },
  ];
  for (const c of cases) {
    const url = loginURL(c.loc);
    assert.equal(url, c.want, c.name);
    const back = afterLogin(new URL(url, "http://gw").search, "");
    assert.equal(back, c.loc.pathname + c.loc.search + c.loc.hash, c.name + ": where the login page goes after");
  }
});

test("session: permissions and kinds", () => {
  assert.equal(can(ALICE, "acknowledge"), true, "held");
  assert.equal(can(ALICE, "manage-kiosks"), false, "not held");
  assert.equal(can(null, "view"), false, "nobody");
  assert.equal(can({ user: "x" }, "view"), false, "no permissions listed");
  assert.equal(isKiosk(WALL), true, "kiosk");
  assert.equal(isKiosk(ALICE), false, "person");
});

test("session: who is logged in, as the header says it", () => {
  const cases = [
    [ALICE, "alice · operator · client=acme"],
    [{ ...ALICE, roles: ["operator", "engineer"], scope: "" }, "alice · operator, engineer"],
    [{ ...ALICE, roles: [], scope: "" }, "alice"],
    [WALL, "kiosk: Desk 3 wall"],
    [{ ...WALL, user: "Desk 3 wall" }, "kiosk: Desk 3 wall"],
    [{ ...WALL, scope: "client=acme|beta" }, "kiosk: Desk 3 wall · client=acme|beta"],
  ];
  for (const [me, want] of cases) assert.equal(whoText(me), want, JSON.stringify(me));
});

test("session: scopes read and shown", () => {
  assert.equal(scopeText("client=acme"), "client=acme", "the API's string");
  assert.equal(scopeText({ client: ["acme", "beta"] }), "client=acme|beta", "the object form");
  assert.equal(scopeText(""), "", "whole estate");
  assert.equal(scopeText(null), "", "none");
  const good = [
    ["", null],
    ["  ", null],
    ["client=acme", { client: ["acme"] }],
    [" client = acme | beta ", { client: ["acme", "beta"] }],
    ["client=acme,beta,acme", { client: ["acme", "beta"] }],
  ];
  for (const [text, want] of good) assert.deepEqual(parseScope(text), want, JSON.stringify(text));
  for (const text of ["acme", "=acme", "client=", "client=|", "cli ent=acme", "a=b=c"]) {
    let err = null;
    try {
      parseScope(text);
    } catch (e) {
      err = e;
    }
    assert.ok(err && /attribute=value/.test(err.message), "refused " + JSON.stringify(text) + " saying how");
  }
});

// fakeFetch answers each request with the next of answers (a Response,
// or an Error to throw) and records [url, init].
function fakeFetch(...answers) {
  const calls = [];
  const fetch = async (url, init) => {
    calls.push([url, init]);
    const a = answers.shift();
    if (a instanceof Error) throw a;
    return a;
  };
  return { fetch, calls };
}

async function rejection(promise) {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error("resolved, want a rejection");
}

test("session: the API helper sends JSON and reads JSON", async () => {
  const { fetch, calls } = fakeFetch(jsonResponse(201, { id: "k1" }), jsonResponse(204));
  const api = new Api({ fetch, sessionEnded: () => assert.ok(false, "session ended") });
  assert.deepEqual(await api.post("/api/v1/kiosks", { label: "wall" }), { id: "k1" }, "answer");
  const [url, init] = calls[0];
  assert.equal(url, "/api/v1/kiosks", "url");
  assert.equal(init.method, "POST", "method");
  assert.equal(init.credentials, "same-origin", "credentials");
  assert.equal(init.headers["Content-Type"], "application/json", "content type");
  assert.equal(init.body, '{"label":"wall"}', "body");
  assert.equal(await api.delete("/api/v1/kiosks/k1"), null, "a 204 answers null");
  assert.equal(calls[1][1].body, undefined, "no body on DELETE");
});

test("session: refusals carry the gateway's message", async () => {
  const { fetch } = fakeFetch(
    jsonResponse(403, { message: "manage-users needed", permission: "manage-users", roles: ["admin"] }),
    jsonResponse(409, { message: "alice is defined in the configuration file" }),
    jsonResponse(403, { permission: "read-audit" }),
    new Response("upstream timed out\n", { status: 502, headers: { "Content-Type": "text/plain" } }),
    new TypeError("Failed to fetch"),
  );
  const api = new Api({ fetch, sessionEnded: () => assert.ok(false, "session ended") });
  const cases = [
    [403, "manage-users needed"],
    [409, "alice is defined in the configuration file"],
    [403, "You may not do this (it needs the read-audit permission)."],
    [502, "upstream timed out"],
    [0, "Cannot reach the gateway (Failed to fetch)."],
  ];
  for (const [status, message] of cases) {
    const err = await rejection(api.get("/api/v1/users"));
    assert.ok(err instanceof ApiError, "an ApiError: " + err);
    assert.deepEqual([err.status, err.message], [status, message], "status and message");
  }
});

test("session: a 401 ends the session once, however many calls get it", async () => {
  const { fetch } = fakeFetch(jsonResponse(401, { message: "session expired" }), jsonResponse(401, { message: "session expired" }));
  let ended = 0;
  const api = new Api({ fetch, sessionEnded: () => ended++ });
  const errs = await Promise.all([rejection(api.get("/api/v1/me")), rejection(api.get("/api/v1/kiosks"))]);
  assert.deepEqual(errs.map((e) => e.status), [401, 401], "both calls fail");
  assert.equal(ended, 1, "sessionEnded calls");
});

test("session: socket closes that may mean the session ended", () => {
  const cases = [
    [{ code: SESSION_ENDED, opened: true }, true, "closed for the session"],
    [{ code: 1006, opened: false }, true, "never opened (a refused upgrade)"],
    [{ code: 1006, opened: true }, false, "dropped after opening"],
    [{ code: 1001, opened: true }, false, "the gateway going away"],
  ];
  for (const [info, want, name] of cases) assert.equal(needsSessionCheck(info), want, name);
});

test("session: the watcher asks who is logged in once at a time, only when it may matter", async () => {
  const asked = [];
  let answer;
  const api = {
    get(path) {
      asked.push(path);
      return new Promise((resolve, reject) => (answer = { resolve, reject }));
    },
  };
  const watch = sessionWatcher(api);
  assert.equal(watch({ code: 1006, opened: true }), null, "a plain drop");
  const asking = watch({ code: SESSION_ENDED, opened: true });
  assert.equal(watch({ code: 1006, opened: false }), null, "while asking");
  assert.deepEqual(asked, ["/api/v1/me"], "asked");
  answer.reject(new ApiError(0, null, "down"));
  await asking;
  assert.ok(watch({ code: 1006, opened: false }) !== null, "asks again after the answer");
});

// watchedConnection is a Connection over FakeSockets whose onClose is a
// session watcher over an Api answering with mes in turn.
function watchedConnection(t, ...mes) {
  const sockets = [];
  const ended = [];
  const { fetch, calls } = fakeFetch(...mes);
  const api = new Api({ fetch, sessionEnded: () => ended.push(true) });
  const watch = sessionWatcher(api);
  let asking = null;
  const conn = new Connection("ws://gw/ws/dashboard", {
    minDelay: 1,
    maxDelay: 2,
    newSocket: (url) => {
      const s = new FakeSocket(url);
      sockets.push(s);
      return s;
    },
    onClose: (info) => {
      asking = watch(info) || asking;
    },
  });
  conn.start({ onOpen() {}, onMessage() {}, onState() {} });
  t.cleanup(() => conn.stop());
  return { sockets, ended, calls, asked: () => asking };
}

test("session: a socket closed for the session, or refused, sends the page to log in", async (t) => {
  const closed = watchedConnection(t, jsonResponse(401, { message: "session ended" }));
  closed.sockets[0].serverOpen();
  closed.sockets[0].serverClose(SESSION_ENDED, "logged out");
  await closed.asked();
  assert.deepEqual(closed.calls.map((c) => c[0]), ["/api/v1/me"], "asked");
  assert.equal(closed.ended.length, 1, "sent to log in after a 4001");

  const refused = watchedConnection(t, jsonResponse(401, { message: "no session" }));
  refused.sockets[0].serverClose();
  await refused.asked();
  assert.equal(refused.ended.length, 1, "sent to log in after a refused upgrade");
});

test("session: a socket closed while the session holds reconnects as before", async (t) => {
  const c = watchedConnection(t, jsonResponse(200, ALICE));
  c.sockets[0].serverClose();
  await c.asked();
  for (let i = 0; i < 50 && c.sockets.length < 2; i++) await settled();
  assert.equal(c.ended.length, 0, "still logged in");
  assert.equal(c.sockets.length, 2, "sockets opened");
});
