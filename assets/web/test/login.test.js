import { assert, test } from "./runner.js";
import { afterLogin, LINK_ERROR, mountLogin, retryAfterSeconds, safeNext } from "../login.js";
import { attached, settled } from "./fakes.js";

// answer is what the fake fetch gives the login form: a Response's
// status, headers and JSON body, read without the stream's own delays.
function answer(status, body, headers = {}) {
  return { ok: status >= 200 && status < 300, status, headers: new Headers(headers), json: async () => body };
}

test("login: next must be a path on this site", () => {
  const cases = [
    ["/", "/"],
    ["/#/view/a%20b/e/s/d", "/#/view/a%20b/e/s/d"],
    ["/test/?x=1", "/test/?x=1"],
    ["/a/../b", "/b"],
    ["", "/"],
    [null, "/"],
    ["view", "/"],
    ["//evil.example/", "/"],
    ["/\\evil.example/", "/"],
    ["/\t/evil.example/", "/"],
    ["/\n/evil.example/", "/"],
    ["https://evil.example/", "/"],
    ["javascript:alert(1)", "/"],
  ];
  for (const [raw, want] of cases) assert.equal(safeNext(raw), want, JSON.stringify(raw));
});

test("login: after logging in, next with the hash the redirect kept", () => {
  assert.equal(afterLogin("?next=%2F", "#/view/a/b/c/d"), "/#/view/a/b/c/d", "the hash the server never saw");
  assert.equal(afterLogin("?next=%2F%23%2Fadmin%2Fusers", "#/view/a/b/c/d"), "/#/admin/users", "next's own hash wins");
  assert.equal(afterLogin("", ""), "/", "no next");
  assert.equal(afterLogin("?next=//evil.example", "#x"), "/#x", "a foreign next");
});

test("login: Retry-After in seconds or as a date", () => {
  const now = Date.UTC(2026, 11, 1, 8, 0, 0);
  assert.equal(retryAfterSeconds("4", now), 4, "seconds");
  assert.equal(retryAfterSeconds(new Date(now + 2500).toUTCString(), now), 2, "a date, to the whole second it names");
  assert.equal(retryAfterSeconds(new Date(now - 5000).toUTCString(), now), 0, "a date past");
  assert.equal(retryAfterSeconds(null, now), 0, "none");
  assert.equal(retryAfterSeconds("soon", now), 0, "nonsense");
});

// loginPage draws login.html's form into the page and mounts it with a
// fake fetch answering answers in turn, a fake location and a timer the
// test ticks.
function loginPage(t, { search = "", hash = "", answers = [] } = {}) {
  const root = attached(t);
  root.innerHTML = `<form method="post" action="/api/v1/login">
    <input type="hidden" name="next" value="">
    <label>User name <input name="user" type="text"></label>
    <label>Password <input name="password" type="password"></label>
    <p data-login-error role="alert"></p>
    <button type="submit">Log in</button>
  </form>`;
  const form = root.querySelector("form");
  const requests = [];
  const fetch = async (url, init) => {
    requests.push([url, init]);
    return answers.shift();
  };
  const loc = { search, hash, replaced: [], replace(url) { this.replaced.push(url); } };
  const timer = {
    ticks: null,
    stopped: false,
    every(ms, f) {
      this.ticks = f;
      return () => (this.stopped = true);
    },
  };
  const login = mountLogin(form, { loc, fetch, timer, now: () => 0 });
  const el = {
    form,
    user: form.elements.namedItem("user"),
    password: form.elements.namedItem("password"),
    next: form.elements.namedItem("next"),
    button: form.querySelector("button"),
    error: form.querySelector("[data-login-error]"),
  };
  const submit = async (user, password) => {
    el.user.value = user;
    el.password.value = password;
    form.requestSubmit();
    await settled();
  };
  return { ...el, login, requests, loc, timer, submit };
}

test("login: a login posts JSON and goes to next", async (t) => {
  const p = loginPage(t, { search: "?next=%2F", hash: "#/view/a/b/c/d", answers: [answer(200, { user: "alice" })] });
  assert.equal(p.next.value, "/#/view/a/b/c/d", "next for a post without the script");
  await p.submit(" alice ", "s3cret");
  assert.equal(p.requests.length, 1, "requests");
  const [url, init] = p.requests[0];
  assert.equal(url, "/api/v1/login", "url");
  assert.equal(init.method, "POST", "method");
  assert.deepEqual(JSON.parse(init.body), { user: "alice", password: "s3cret" }, "body");
  assert.deepEqual(p.loc.replaced, ["/#/view/a/b/c/d"], "went to");
});

test("login: a refusal says why and lets the user try again", async (t) => {
  const p = loginPage(t, { answers: [answer(401, { message: "wrong user name or password" }), answer(400, { message: "user name too long" })] });
  await p.submit("alice", "nope");
  assert.equal(p.error.textContent, "wrong user name or password", "message");
  assert.equal(p.error.getAttribute("role"), "alert", "announced");
  assert.equal(p.password.value, "", "password cleared");
  assert.equal(document.activeElement, p.password, "focus");
  assert.equal(p.button.disabled, false, "button ready again");
  assert.deepEqual(p.loc.replaced, [], "stayed");
  await p.submit("alice", "x");
  assert.equal(p.error.textContent, "user name too long", "a 400's message");
});

test("login: empty fields are not sent", async (t) => {
  const p = loginPage(t);
  await p.submit("", "");
  assert.equal(p.requests.length, 0, "requests");
  assert.equal(p.error.textContent, "Enter your user name and password.", "message");
});

test("login: too many failures count down the wait, then the button comes back", async (t) => {
  const message = "too many failed logins for user alice: wait 3 s and try again";
  const p = loginPage(t, { answers: [answer(429, { message }, { "Retry-After": "3" })] });
  await p.submit("alice", "nope");
  assert.equal(p.error.textContent, message, "message");
  assert.deepEqual([p.button.disabled, p.button.textContent], [true, "Wait 3 s"], "button while waiting");
  await p.submit("alice", "again");
  assert.equal(p.requests.length, 1, "no request while waiting");
  p.timer.ticks();
  assert.equal(p.button.textContent, "Wait 2 s", "a second later");
  p.timer.ticks();
  p.timer.ticks();
  assert.deepEqual([p.button.disabled, p.button.textContent, p.timer.stopped], [false, "Log in", true], "after the wait");
});

test("login: a used or expired link says so", (t) => {
  const p = loginPage(t, { search: "?error=link" });
  assert.equal(p.error.textContent, LINK_ERROR, "message");
});

test("login: the button is disabled while waiting for the gateway", async (t) => {
  let answer;
  const pending = new Promise((resolve) => (answer = resolve));
  const p = loginPage(t, { answers: [pending] });
  p.user.value = "alice";
  p.password.value = "pw";
  p.form.requestSubmit();
  assert.deepEqual([p.button.disabled, p.button.getAttribute("aria-busy")], [true, "true"], "while waiting");
  answer(answer(401, { message: "wrong user name or password" }));
  await settled();
  assert.deepEqual([p.button.disabled, p.button.getAttribute("aria-busy")], [false, null], "after the answer");
});
