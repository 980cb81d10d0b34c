import { assert, test } from "./runner.js";
import { Router } from "../router.js";
import { dataviewView } from "../views/dataview.js";
import { captureConsole, cell, detached, dvSnapshot, liveStore, nextFrame } from "./fakes.js";

// These tests drive the page's real location hash and history.

function setHash(hash) {
  history.replaceState(null, "", hash);
}

// go changes the hash as a click on a link would and resolves once the
// router has seen it (its listener was added first, so it runs first).
function go(hash) {
  const seen = new Promise((resolve) => window.addEventListener("hashchange", resolve, { once: true }));
  location.hash = hash;
  return seen;
}

// recorder returns a view that logs its lifecycle into log.
function recorder(name, log) {
  return {
    mount(root, params, context) {
      log.push(["mount", name, params, context]);
      root.append(name);
      return { title: name, unmount: () => log.push(["unmount", name]) };
    },
  };
}

function startRouter(t, hash, build, context = { ctx: 1 }) {
  setHash(hash);
  const outlet = detached();
  const changes = [];
  const router = new Router(outlet, { context, onChange: (c) => changes.push(c) });
  build(router);
  router.start();
  t.cleanup(() => {
    router.stop();
    setHash(location.pathname + location.search);
  });
  return { outlet, changes, router };
}

test("router: mounts the matching view with its params and unmounts the previous one", async (t) => {
  const log = [];
  const { outlet, changes } = startRouter(t, "#/", (r) =>
    r.add("/", recorder("home", log)).add("/item/:id", recorder("item", log)).add("/files/*rest", recorder("files", log)),
  );
  assert.deepEqual(log, [["mount", "home", {}, { ctx: 1 }]], "first mount");
  assert.equal(outlet.textContent, "home", "outlet");

  await go("#/item/42");
  assert.deepEqual(log.slice(1), [["unmount", "home"], ["mount", "item", { id: "42" }, { ctx: 1 }]], "switching views");
  assert.equal(outlet.textContent, "item", "outlet holds only the new view");

  await go("#/files/a/b%2Fc");
  assert.deepEqual(log.at(-1)[2], { rest: "a/b%2Fc" }, "a rest parameter keeps slashes and stays encoded");
  assert.deepEqual(changes.map((c) => [c.pattern, c.title]), [["/", "home"], ["/item/:id", "item"], ["/files/*rest", "files"]], "onChange");
});

test("router: query parameters reach the view", async (t) => {
  const log = [];
  startRouter(t, "#/wall?group=system&kiosk=1", (r) => r.add("/wall", recorder("wall", log)));
  assert.deepEqual(log[0][2], { group: "system", kiosk: "1" }, "params");
});

test("router: the same location does not mount again", async (t) => {
  const log = [];
  const { router } = startRouter(t, "#/item/1", (r) => r.add("/item/:id", recorder("item", log)));
  router.route();
  assert.equal(log.length, 1, "mounts after routing twice");
});

test("router: a hand-typed path is shown canonical, with no new history entry", async (t) => {
  const log = [];
  const view = { ...recorder("dv", log), canonical: dataviewView.canonical };
  startRouter(t, "#/", (r) => r.add("/", recorder("home", log)).add("/view/*path", view));
  const entries = history.length;

  await go("#/view/my probe/e%2f/s/a+b");
  assert.equal(location.hash, "#/view/my%20probe/e%2F/s/a%2Bb", "location.hash");
  assert.equal(history.length, entries + 1, "history entries (the typed one only)");
  assert.deepEqual(log.at(-1), ["mount", "dv", { path: "my%20probe/e%2F/s/a%2Bb" }, { ctx: 1 }], "mounted with");

  // Another spelling of the same dataview is the same page.
  await go("#/view/my%20probe/e%2f/s/a%2Bb");
  assert.equal(log.filter((l) => l[0] === "mount" && l[1] === "dv").length, 1, "mounts of the dataview");
  assert.equal(location.hash, "#/view/my%20probe/e%2F/s/a%2Bb", "location.hash after the second spelling");
});

test("router: canonicalising keeps the query", async (t) => {
  const log = [];
  const view = { ...recorder("dv", log), canonical: dataviewView.canonical };
  startRouter(t, "#/view/a b/e/s/d?kiosk=1", (r) => r.add("/view/*path", view));
  assert.equal(location.hash, "#/view/a%20b/e/s/d?kiosk=1", "location.hash");
  assert.deepEqual(log[0][2], { kiosk: "1", path: "a%20b/e/s/d" }, "params");
});

test("router: an unknown location falls through to the last route", async (t) => {
  const log = [];
  startRouter(t, "#/nowhere/at/all", (r) => r.add("/", recorder("home", log)).add("/*rest", recorder("missing", log)));
  assert.deepEqual(log[0].slice(0, 3), ["mount", "missing", { rest: "nowhere/at/all" }], "mounted");
});

test("router: a view that fails to mount leaves a message, and the next one mounts", async (t) => {
  const errors = captureConsole(t, "error");
  const log = [];
  const broken = {
    mount() {
      throw new Error("boom");
    },
  };
  const { outlet } = startRouter(t, "#/broken", (r) => r.add("/broken", broken).add("/", recorder("home", log)));
  assert.ok(outlet.textContent.includes("failed to open"), "outlet says " + JSON.stringify(outlet.textContent));
  assert.equal(errors.length, 1, "errors logged");
  await go("#/");
  assert.equal(outlet.textContent, "home", "outlet after moving on");
});

test("router: stop unmounts and stops listening", async (t) => {
  const log = [];
  const { router, outlet } = startRouter(t, "#/a", (r) => r.add("/a", recorder("a", log)).add("/b", recorder("b", log)));
  router.stop();
  assert.deepEqual(log.at(-1), ["unmount", "a"], "last event");
  assert.equal(outlet.childNodes.length, 0, "outlet emptied");
  await go("#/b");
  assert.equal(log.length, 2, "events after stop");
});

test("router: a deep link shows the dataview's grid with canonical cell paths", async (t) => {
  const { store, transport } = liveStore();
  const { outlet, router } = startRouter(t, "#/view/my probe/e/s/d", (r) => r.add("/view/*path", dataviewView), { store });
  // The tree gives the grid its sampler's type, for the columns' units.
  const subs = () => transport.take().filter((m) => m.op === "subscribe" || m.op === "unsubscribe");
  assert.deepEqual(subs(), [{ op: "subscribe", topic: "dataview/my%20probe/e/s/d" }, { op: "subscribe", topic: "tree" }], "subscriptions");
  transport.deliver(dvSnapshot("my%20probe/e/s/d", { columns: ["a b"], rows: { "/": [cell("1")] } }));
  await nextFrame();
  assert.equal(outlet.querySelector("h2").textContent, "my probe › e › s › d", "heading");
  assert.deepEqual([...outlet.querySelectorAll("[data-path]")].map((e) => e.dataset.path), ["my%20probe/e/s/d/%2F/a%20b"], "cell paths");
  router.stop();
  assert.deepEqual(subs(), [{ op: "unsubscribe", topic: "tree" }, { op: "unsubscribe", topic: "dataview/my%20probe/e/s/d" }], "leaving the view unsubscribes");
});

test("router: a path that is not a dataview's says so", async (t) => {
  const { store, transport } = liveStore();
  const { outlet } = startRouter(t, "#/view/p/e/s", (r) => r.add("/view/*path", dataviewView), { store });
  assert.equal(outlet.querySelector(".notice").textContent, "Not a dataview path: p/e/s", "notice");
  assert.deepEqual(transport.take(), [], "nothing subscribed");
});
