import { assert, test } from "./runner.js";
import { ANNOUNCED_KEY, MAX_SHOWN, mountAlerts } from "../alerts.js";
import { ARMED_KEY, Arming } from "../alerts-arming.js";
import { DEFAULT_SETTINGS, describePolicy, policyFor, PREFS_KEY, settingsFrom } from "../alerts-policy.js";
import { ApiError } from "../session.js";
import { attached, FakeApi, liveStore, settled } from "./fakes.js";

const T0 = Date.parse("2026-12-01T09:00:00Z");

// FakeAudioContext records the tones' notes; it starts suspended, as a
// browser holds one made without a click, and runs once resumed unless
// the test says the browser refuses.
class FakeAudioContext {
  static refuse = false;
  static made = [];
  constructor() {
    this.state = "suspended";
    this.currentTime = 0;
    this.destination = {};
    this.notes = [];
    this.onstatechange = null;
    FakeAudioContext.made.push(this);
  }
  resume() {
    if (!FakeAudioContext.refuse) this.state = "running";
    if (this.onstatechange) this.onstatechange();
    return Promise.resolve();
  }
  suspend() {
    this.state = "suspended";
    return Promise.resolve();
  }
  close() {
    this.state = "closed";
    return Promise.resolve();
  }
  createOscillator() {
    const ctx = this;
    return { frequency: {}, connect() {}, start() { ctx.notes.push(this.frequency.value); }, stop() {} };
  }
  createGain() {
    return { gain: { setValueAtTime() {}, exponentialRampToValueAtTime() {} }, connect() {} };
  }
}

// tones counts the tones played in every context made.
function tones() {
  return FakeAudioContext.made.reduce((n, c) => n + c.notes.length / 2, 0);
}

// fakeNotification returns a Notification class with permission and what
// requestPermission answers; shown lists every notification made.
function fakeNotification(permission = "granted", answer = "granted") {
  class N {
    static permission = permission;
    static shown = [];
    static requestPermission() {
      N.permission = answer;
      return Promise.resolve(answer);
    }
    constructor(title, options) {
      this.title = title;
      this.options = options;
      this.closed = false;
      N.shown.push(this);
    }
    close() {
      this.closed = true;
    }
  }
  return N;
}

function memoryStorage(entries = {}) {
  const m = new Map(Object.entries(entries));
  return { getItem: (k) => (m.has(k) ? m.get(k) : null), setItem: (k, v) => m.set(k, String(v)), removeItem: (k) => m.delete(k), m };
}

// fakePlatform is the browser for the alerts: a clock the test moves and
// whose one-second ticker it runs, storage, sound and notifications.
function fakePlatform({ armed = true, storage = {}, Notification = fakeNotification(), secure = true, audio = true } = {}) {
  const p = {
    doc: document,
    storage: memoryStorage(armed ? { [ARMED_KEY]: "true", ...storage } : storage),
    Notification,
    AudioContext: audio ? FakeAudioContext : null,
    secure,
    t: T0,
    timers: new Map(),
    focused: 0,
    now: () => p.t,
    setInterval(f) {
      const id = p.timers.size + 1;
      p.timers.set(id, f);
      return id;
    },
    clearInterval(id) {
      p.timers.delete(id);
    },
    focusWindow() {
      p.focused++;
    },
    // advance moves the clock by ms, a second at a time, running the ticker.
    advance(ms) {
      for (let i = 0; i < ms / 1000; i++) {
        p.t += 1000;
        for (const f of [...p.timers.values()]) f();
      }
    },
  };
  return p;
}

function inc(id, fields = {}) {
  return {
    id,
    title: "order latency on " + id,
    rule: "latency-high",
    path: "venue/router/orders/orders/A/latency",
    probe: "venue",
    entity: "router",
    state: "open",
    severity: "critical",
    peak: "critical",
    opened: "2026-12-01T08:59:00Z",
    updated: "2026-12-01T08:59:00Z",
    attrs: { environment: "production" },
    alerts: 1,
    events: 1,
    ...fields,
  };
}

const snapshot = (...incidents) => ({ type: "snapshot", topic: "incidents", incidents, snoozes: [] });
const delta = (...incidents) => ({ type: "delta", topic: "incidents", incidents });

const OPERATOR = { user: "olu", kind: "person", permissions: ["view", "acknowledge"] };
const KIOSK = { user: "kiosk:wall", kind: "kiosk", permissions: ["view"] };

// mount mounts the alerts on a live store with settings the gateway
// answers (its defaults unless given) and returns the parts.
async function mount(t, { me = OPERATOR, settings = { alerts: DEFAULT_SETTINGS }, answers = {}, ...opts } = {}) {
  FakeAudioContext.made = [];
  FakeAudioContext.refuse = false;
  const root = attached(t);
  const env = liveStore();
  const api = new FakeApi({ "GET /api/v1/dashboard/settings": () => settings, ...answers });
  const platform = fakePlatform(opts);
  const alerts = mountAlerts(root, { store: env.store, api, me: Promise.resolve(me), platform });
  t.cleanup(() => alerts.unmount());
  await settled();
  return { root, api, platform, ...env, items: () => [...root.querySelectorAll("li.alert")] };
}

function ids(items) {
  return items.map((li) => li.dataset.incident);
}

test("alerts: a new critical incident raises the banner, sounds and notifies", async (t) => {
  const { root, transport, platform, items } = await mount(t);
  transport.deliver(snapshot());
  assert.equal(items().length, 0, "nothing before");
  assert.equal(root.querySelector(".alerts-none").hidden, false, "says there are none");
  transport.deliver(delta(inc("INC-1")));
  const [li] = items();
  assert.ok(li, "the alert is in the banner");
  assert.equal(li.dataset.severity, "critical", "its severity");
  assert.equal(li.querySelector(".alert-severity").textContent, "critical", "the severity in words");
  assert.equal(li.querySelector(".sev-icon").textContent, "✖", "and as a shape");
  assert.equal(li.querySelector(".alert-title").textContent, "order latency on INC-1", "its title");
  assert.equal(li.querySelector(".alert-title").getAttribute("href"), "#/incidents/INC-1", "a link to the incident");
  assert.equal(li.querySelector(".alert-entity").textContent, "router on venue", "its entity");
  assert.equal(li.querySelector(".alert-age").textContent, "1m", "its age");
  assert.equal(li.querySelector(".alert-ack").hidden, false, "Acknowledge, for an operator");
  assert.equal(root.querySelector(".alerts-none").hidden, true, "no 'none'");
  assert.equal(tones(), 1, "one tone");
  const notes = platform.Notification.shown;
  assert.equal(notes.length, 1, "one desktop notification");
  assert.equal(notes[0].title, "CRITICAL: order latency on INC-1", "its title");
  assert.deepEqual(notes[0].options, { body: "router on venue · production", tag: "INC-1", requireInteraction: true }, "its options");
  assert.ok(root.querySelector('[aria-live="assertive"]').textContent.includes("critical alert: order latency on INC-1"), "announced to screen readers");
});

test("alerts: a warning alerts only when the person opts in to warnings", async (t) => {
  const { root, transport, items } = await mount(t);
  transport.deliver(snapshot());
  transport.deliver(delta(inc("INC-1", { severity: "warning" })));
  assert.equal(items().length, 0, "no banner for a warning by default");
  assert.equal(tones(), 0, "no tone");
  root.querySelector(".alerts-settings-toggle").click();
  const box = [...root.querySelectorAll(".alerts-settings label.check")].find((l) => l.textContent.includes("warnings")).querySelector("input");
  box.click();
  assert.deepEqual(ids(items()), ["INC-1"], "shown once opted in");
  transport.deliver(delta(inc("INC-2", { severity: "warning" })));
  assert.equal(tones(), 1, "a new warning sounds now");
});

test("alerts: a UAT incident is silent unless the person opts in to UAT", async (t) => {
  const { root, transport, platform, items } = await mount(t);
  transport.deliver(snapshot());
  transport.deliver(delta(inc("INC-U", { attrs: { environment: "uat" } })));
  assert.equal(items().length, 0, "no banner");
  assert.equal(tones(), 0, "no tone");
  assert.equal(platform.Notification.shown.length, 0, "no notification");
  root.querySelector(".alerts-settings-toggle").click();
  const uat = root.querySelector('.alerts-envs li[data-environment="uat"]');
  assert.ok(uat.textContent.includes("silent"), "the desk's policy is said");
  uat.querySelector("input").click();
  assert.deepEqual(ids(items()), ["INC-U"], "shown once opted in");
  assert.deepEqual(JSON.parse(platform.storage.getItem(PREFS_KEY)).environments, ["uat"], "remembered in this browser");
  platform.advance(1000);
  assert.equal(tones(), 1, "and the reminder sounds it");
});

test("alerts: an environment no policy lists is treated as the default's", async (t) => {
  const { transport, items } = await mount(t);
  transport.deliver(snapshot());
  transport.deliver(delta(inc("INC-1", { attrs: { environment: "dr-site" } }), inc("INC-2", { attrs: {} })));
  assert.deepEqual(ids(items()).sort(), ["INC-1", "INC-2"], "both alert as production");
  assert.equal(tones(), 1, "with one tone for the frame");
});

test("alerts: an acknowledgement from anywhere clears the alert and its notification", async (t) => {
  const { transport, platform, items } = await mount(t);
  transport.deliver(snapshot());
  transport.deliver(delta(inc("INC-1")));
  assert.equal(items().length, 1, "raised");
  transport.deliver(delta(inc("INC-1", { ack: { by: "maria", at: "2026-12-01T09:00:05Z", severity: "critical" } })));
  assert.equal(items().length, 0, "cleared");
  assert.equal(platform.Notification.shown[0].closed, true, "its notification closed");
  platform.advance(60000);
  assert.equal(tones(), 1, "no reminder for an acknowledged alert");
});

test("alerts: Acknowledge posts the acknowledgement, busy while it is sent, and says why it failed", async (t) => {
  let fail = true;
  const { transport, api, items } = await mount(t, {
    answers: {
      "POST /api/v1/incidents/INC-1/ack": () => {
        if (fail) throw new ApiError(409, { message: "incident INC-1 is closed" });
        return inc("INC-1");
      },
    },
  });
  transport.deliver(snapshot(inc("INC-1")));
  api.take();
  const button = items()[0].querySelector(".alert-ack");
  button.click();
  assert.equal(button.disabled, true, "busy while sent");
  await settled();
  assert.deepEqual(api.take(), [["POST", "/api/v1/incidents/INC-1/ack", {}]], "the request");
  assert.equal(button.disabled, false, "usable again");
  assert.equal(items()[0].querySelector(".alert-error").textContent, "Cannot acknowledge: incident INC-1 is closed", "the error");
  fail = false;
  button.click();
  await settled();
  assert.equal(items()[0].querySelector(".alert-error").textContent, "", "the error goes with a new try");
  assert.equal(items().length, 1, "the alert stays until the topic brings the acknowledgement");
});

test("alerts: a viewer without the acknowledge permission gets no Acknowledge", async (t) => {
  const { transport, items } = await mount(t, { me: KIOSK });
  transport.deliver(snapshot(inc("INC-1")));
  assert.equal(items()[0].querySelector(".alert-ack").hidden, true, "no button");
});

test("alerts: an acknowledged incident that worsens alerts again", async (t) => {
  const policy = { ...DEFAULT_SETTINGS, policies: [{ environment: "production", banner: "warning", sound: "critical", notify: "critical" }] };
  const { transport, platform, items } = await mount(t, { settings: { alerts: policy } });
  transport.deliver(snapshot());
  transport.deliver(delta(inc("INC-1", { severity: "warning" })));
  assert.deepEqual(ids(items()), ["INC-1"], "a warning in the banner, as the policy says");
  assert.equal(tones(), 0, "silently");
  transport.deliver(delta(inc("INC-1", { severity: "warning", ack: { by: "olu", at: "2026-12-01T09:00:05Z", severity: "warning" } })));
  assert.equal(items().length, 0, "acknowledged");
  transport.deliver(delta(inc("INC-1", { severity: "critical", alerts: 2 })));
  assert.deepEqual(ids(items()), ["INC-1"], "back in the banner");
  assert.equal(tones(), 1, "sounding");
  assert.equal(platform.Notification.shown.length, 1, "notified");
});

test("alerts: an incident whose alerts count grows is announced, acknowledged or not", async (t) => {
  const { transport, items } = await mount(t);
  const ack = { by: "olu", at: "2026-12-01T09:00:05Z", severity: "critical" };
  transport.deliver(snapshot(inc("INC-1", { ack })));
  const before = tones();
  transport.deliver(delta(inc("INC-1", { ack, alerts: 2 })));
  assert.equal(tones(), before + 1, "sounded");
  assert.equal(items().length, 0, "not in the banner: someone owns it");
});

test("alerts: resolved, snoozed and removed incidents leave the banner", async (t) => {
  const { transport, items } = await mount(t);
  transport.deliver(snapshot(inc("INC-1"), inc("INC-2"), inc("INC-3"), inc("INC-4")));
  assert.equal(items().length, 4, "all four");
  transport.deliver(delta(inc("INC-1", { state: "resolved", severity: "ok" })));
  transport.deliver(delta(inc("INC-2", { snooze: { target: "INC-2", by: "olu", reason: "known", until: "2026-12-01T10:00:00Z" } })));
  transport.deliver({ type: "delta", topic: "incidents", removed: ["INC-3"] });
  transport.deliver({ type: "delta", topic: "incidents", snoozes: [{ target: "venue/router/orders/orders/A/latency", by: "olu", reason: "patching" }] });
  assert.equal(items().length, 0, "none left (INC-4's cell is snoozed)");
});

test("alerts: unacknowledged alerts stay, newest worst first, ageing, with +N more", async (t) => {
  const { root, transport, platform, items } = await mount(t);
  transport.deliver(snapshot(inc("INC-W", { severity: "warning", updated: "2026-12-01T08:59:59Z" })));
  transport.deliver(delta(inc("INC-1")));
  platform.advance(5000);
  transport.deliver(delta(inc("INC-2")));
  assert.deepEqual(ids(items()), ["INC-2", "INC-1"], "newest critical first (the warning is not shown by default)");
  const age = () => items()[1].querySelector(".alert-age").textContent;
  assert.equal(age(), "1m", "age");
  platform.advance(120000);
  assert.equal(age(), "3m", "it ticks");
  assert.equal(items().length, 2, "and stays");
  for (let i = 3; i <= MAX_SHOWN + 2; i++) transport.deliver(delta(inc("INC-" + i)));
  assert.equal(items().length, MAX_SHOWN, "as many as fit");
  const more = root.querySelector(".alerts-more");
  assert.equal(more.hidden, false, "+N more");
  assert.equal(more.textContent, "+2 more", "its count");
  assert.equal(more.getAttribute("href"), "#/incidents", "a link to the incident panel");
  assert.equal(root.dataset.alerts, String(MAX_SHOWN + 2), "the count on the root");
});

test("alerts: the tone repeats while a sounding alert is unacknowledged, as often as set", async (t) => {
  const { transport, platform } = await mount(t, { storage: { [PREFS_KEY]: JSON.stringify({ repeatSeconds: 10 }) } });
  transport.deliver(snapshot());
  transport.deliver(delta(inc("INC-1")));
  assert.equal(tones(), 1, "the first");
  platform.advance(9000);
  assert.equal(tones(), 1, "not yet");
  platform.advance(1000);
  assert.equal(tones(), 2, "again after 10 s");
  transport.deliver(delta(inc("INC-1", { ack: { by: "olu", at: "2026-12-01T09:00:05Z", severity: "critical" } })));
  platform.advance(30000);
  assert.equal(tones(), 2, "none once acknowledged");
});

test("alerts: a page load shows open alerts but does not announce again what this browser announced", async (t) => {
  const { transport, platform, items } = await mount(t, { storage: { [ANNOUNCED_KEY]: JSON.stringify({ "INC-1": 1 }) } });
  transport.deliver(snapshot(inc("INC-1"), inc("INC-2")));
  assert.deepEqual(ids(items()).sort(), ["INC-1", "INC-2"], "both shown");
  assert.deepEqual(platform.Notification.shown.map((n) => n.options.tag), ["INC-2"], "only the one not announced here is");
  assert.deepEqual(JSON.parse(platform.storage.getItem(ANNOUNCED_KEY)), { "INC-1": 1, "INC-2": 1 }, "noted");
  transport.deliver(snapshot(inc("INC-2", { alerts: 2 })));
  assert.deepEqual(JSON.parse(platform.storage.getItem(ANNOUNCED_KEY)), { "INC-2": 2 }, "a fresh snapshot forgets what is gone");
  assert.equal(platform.Notification.shown.length, 2, "and announces what alerted while the page was away");
});

test("alerts: A acknowledges the focused alert, arrows move, Alt+A goes to the first", async (t) => {
  const { transport, api, items } = await mount(t, { answers: { "POST /api/v1/incidents/INC-1/ack": () => inc("INC-1") } });
  transport.deliver(snapshot(inc("INC-1", { updated: "2026-12-01T08:59:30Z" }), inc("INC-2")));
  assert.deepEqual(ids(items()), ["INC-1", "INC-2"], "order");
  document.dispatchEvent(new KeyboardEvent("keydown", { key: "å", code: "KeyA", altKey: true, bubbles: true }));
  assert.equal(document.activeElement, items()[0], "Alt+A focuses the first alert");
  items()[0].dispatchEvent(new KeyboardEvent("keydown", { key: "ArrowDown", bubbles: true }));
  assert.equal(document.activeElement, items()[1], "down");
  items()[1].dispatchEvent(new KeyboardEvent("keydown", { key: "ArrowUp", bubbles: true }));
  assert.equal(document.activeElement, items()[0], "up");
  api.take();
  items()[0].dispatchEvent(new KeyboardEvent("keydown", { key: "a", bubbles: true }));
  await settled();
  assert.deepEqual(api.take(), [["POST", "/api/v1/incidents/INC-1/ack", {}]], "A acknowledges");
  transport.deliver(delta(inc("INC-1", { ack: { by: "olu", at: "2026-12-01T09:00:05Z", severity: "critical" } })));
  assert.equal(document.activeElement, items()[0], "focus goes to the alert that took its place");
  assert.equal(items()[0].dataset.incident, "INC-2", "which is INC-2");
});

test("alerts: clicking a desktop notification brings the page forward and focuses its alert", async (t) => {
  const { transport, platform, items } = await mount(t);
  transport.deliver(snapshot());
  transport.deliver(delta(inc("INC-1")));
  platform.Notification.shown[0].onclick();
  assert.equal(platform.focused, 1, "the window focused");
  assert.equal(document.activeElement, items()[0], "the alert focused");
});

test("alerts: the gateway's policy is used once it answers", async (t) => {
  const policy = { environmentAttribute: "env", default: "prod", repeatSeconds: 0, policies: [{ environment: "prod", banner: "warning", sound: "never", notify: "never" }] };
  const { transport, items } = await mount(t, { settings: { alerts: policy } });
  transport.deliver(snapshot(inc("INC-1", { severity: "warning", attrs: { env: "prod" } })));
  assert.deepEqual(ids(items()), ["INC-1"], "a warning, as the policy says");
  assert.equal(tones(), 0, "without sound");
});

test("alerts: the arming indicator says what is armed, and one click arms both", async (t) => {
  const N = fakeNotification("default", "granted");
  const { root } = await mount(t, { armed: false, Notification: N });
  const arming = root.querySelector(".alerts-arming");
  assert.equal(arming.dataset.sound, "off", "sound off");
  assert.equal(arming.dataset.notify, "off", "notifications off");
  assert.equal(arming.dataset.armed, "false", "not armed");
  const arm = root.querySelector(".arm-button");
  assert.equal(arm.hidden, false, "the Arm button");
  arm.click();
  await settled();
  assert.equal(arming.dataset.sound, "on", "sound on");
  assert.equal(arming.dataset.notify, "on", "notifications on");
  assert.equal(arming.dataset.armed, "true", "armed");
  assert.equal(arm.hidden, true, "nothing more to arm");
  assert.equal(root.querySelector(".arm-sound").textContent, "Sound on", "in words");
});

test("alerts arming: states and why it cannot arm", async () => {
  const states = (opts) => {
    FakeAudioContext.refuse = true;
    const a = new Arming(fakePlatform(opts));
    const got = [a.soundState(), a.notifyState()];
    a.close();
    return got;
  };
  assert.deepEqual(states({ audio: false, Notification: null }), ["unsupported", "unsupported"], "no APIs");
  assert.deepEqual(states({ secure: false }), ["blocked", "insecure"], "plain HTTP; a remembered arming waits for a click");
  assert.deepEqual(states({ Notification: fakeNotification("denied") }), ["blocked", "denied"], "refused in the browser's settings");
  assert.deepEqual(states({ armed: false }), ["off", "off"], "not armed");
  const p = fakePlatform({ Notification: fakeNotification("default", "denied") });
  FakeAudioContext.refuse = true;
  const a = new Arming(p);
  await a.arm();
  assert.deepEqual([a.soundState(), a.notifyState()], ["blocked", "denied"], "the browser refused both");
  FakeAudioContext.refuse = false;
  document.dispatchEvent(new PointerEvent("pointerdown"));
  await settled();
  assert.equal(a.soundState(), "on", "a click on the page resumes the sound");
  a.disarm();
  assert.deepEqual([a.soundState(), p.storage.getItem(ARMED_KEY)], ["off", "false"], "disarmed, and remembered");
  a.close();
});

test("alerts policy: opt-ins only add, and say what they do", () => {
  const s = settingsFrom({ alerts: DEFAULT_SETTINGS });
  const pre = { attrs: { environment: "pre-production" } };
  assert.deepEqual(policyFor(s, { warnings: false, environments: [] }, pre), { environment: "pre-production", banner: "critical", sound: "never", notify: "never" }, "the desk's");
  assert.deepEqual(policyFor(s, { warnings: true, environments: [] }, pre), { environment: "pre-production", banner: "warning", sound: "never", notify: "never" }, "warnings");
  assert.deepEqual(policyFor(s, { warnings: true, environments: ["pre-production"] }, pre), { environment: "pre-production", banner: "warning", sound: "warning", notify: "warning" }, "both");
  assert.equal(describePolicy({ banner: "warning", sound: "critical", notify: "critical" }), "banner for warning; sound and notifications for critical", "described");
  assert.equal(describePolicy({ banner: "never", sound: "never", notify: "never" }), "silent", "silent");
  assert.deepEqual(settingsFrom(null), settingsFrom({ alerts: DEFAULT_SETTINGS }), "no answer: the defaults");
});

test("alerts: the settings panel closes with Escape and with a click elsewhere", async (t) => {
  const { root } = await mount(t);
  const toggle = root.querySelector(".alerts-settings-toggle");
  const panel = root.querySelector(".alerts-settings");
  toggle.click();
  assert.equal(panel.hidden, false, "open");
  assert.equal(toggle.getAttribute("aria-expanded"), "true", "said open");
  panel.querySelector("input").dispatchEvent(new KeyboardEvent("keydown", { key: "Escape", bubbles: true }));
  assert.equal(panel.hidden, true, "Escape closes it");
  assert.equal(document.activeElement, toggle, "focus back on its button");
  toggle.click();
  panel.querySelector("input").dispatchEvent(new PointerEvent("pointerdown", { bubbles: true }));
  assert.equal(panel.hidden, false, "a click inside keeps it");
  document.body.dispatchEvent(new PointerEvent("pointerdown", { bubbles: true }));
  assert.equal(panel.hidden, true, "a click elsewhere closes it");
});
