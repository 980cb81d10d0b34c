// The alerts banner under the header: every unacknowledged incident that
// alerts people here, newest worst first, with its age and an Acknowledge
// button, live from the "incidents" topic, so an acknowledgement made on
// any screen clears it on all of them. New alerts sound a tone and raise a
// desktop notification as the desk's policy for their environment says
// (alerts-policy.js); whether sound and notifications are armed is always
// shown, with the one click that arms them (alerts-arming.js).
//
// An incident alerts when its `alerts` count grows (it opened, reopened,
// worsened past its acknowledgement, escalated), whether or not it is
// acknowledged. Alerts already open when the page loads are shown, and
// announced (tone and notification) once per incident per browser: a
// reload does not announce again what this browser has announced.

import { Arming, browserPlatform, NOTIFY_TEXT, SOUND_TEXT } from "./alerts-arming.js";
import { basePolicy, DEFAULT_SETTINGS, describePolicy, loadPrefs, policyFor, reaches, repeatMs, savePrefs, settingsFrom, SETTINGS_PATH } from "./alerts-policy.js";
import { INCIDENTS_TOPIC } from "./incidents-model.js";
import { decodeSegment } from "./paths.js";
import { can } from "./session.js";
import { severityIcon } from "./severity.js";
import { untilText } from "./tradingday.js";
import { busy, errorText, formatWhen, h } from "./ui.js";

// MAX_SHOWN is how many alerts the banner lists; the rest are "+N more",
// a link to the incident panel.
export const MAX_SHOWN = 4;

// ANNOUNCED_KEY is where this browser notes the alerts it has announced:
// incident ID → its alerts count then.
export const ANNOUNCED_KEY = "watchfloor.alerts.announced";

const SEVERITY_RANK = { critical: 0, warning: 1 };

// alerting reports whether an incident is one the banner may list: open,
// unacknowledged, having alerted people, and not silenced (snoozed, its
// cell snoozed, or in a maintenance window), since those alert nobody.
export function alerting(inc, model) {
  return (
    inc.state === "open" &&
    !inc.ack &&
    !inc.snooze &&
    !inc.maintenance &&
    (inc.alerts || 0) > 0 &&
    !(typeof inc.path === "string" && model.snoozes.has(inc.path)) &&
    (inc.severity === "warning" || inc.severity === "critical")
  );
}

// entityText says what an incident is about: "OMS on srv1".
export function entityText(inc) {
  if (inc.entity && inc.probe) return decodeSegment(inc.entity) + " on " + decodeSegment(inc.probe);
  if (inc.entity) return decodeSegment(inc.entity);
  if (typeof inc.path === "string" && inc.path) return inc.path.split("/").slice(0, 2).map(decodeSegment).join("/");
  return inc.client ? "client " + inc.client : "";
}

function loadAnnounced(storage) {
  try {
    const v = JSON.parse(storage.getItem(ANNOUNCED_KEY) || "{}");
    return v && typeof v === "object" ? v : {};
  } catch {
    return {};
  }
}

function saveAnnounced(storage, known) {
  try {
    storage.setItem(ANNOUNCED_KEY, JSON.stringify(Object.fromEntries(known)));
  } catch {
    // The page still knows; another load may announce again.
  }
}

// mountAlerts draws the alerts into root and keeps them live from store.
// platform stands in for the browser in tests (alerts-arming.js,
// browserPlatform).
export function mountAlerts(root, { store, api, me, platform = browserPlatform() }) {
  const doc = root.ownerDocument;
  const arming = new Arming(platform);
  let settings = settingsFrom({ alerts: DEFAULT_SETTINGS });
  let prefs = loadPrefs(platform.storage);
  let mayAck = false;
  let model = null;
  const known = new Map(); // incident ID → the alerts count accounted for
  const alertedAt = new Map(); // incident ID → when this page saw it alert
  const items = new Map(); // incident ID → its banner item
  const notes = new Map(); // incident ID → its desktop notification
  let lastTone = -Infinity;
  let ticker = null;

  const list = h(doc, "ol", { class: "alerts-list", "aria-label": "Unacknowledged alerts" });
  const none = h(doc, "p", { class: "alerts-none" }, "No unacknowledged alerts");
  const more = h(doc, "a", { class: "alerts-more", href: "#/incidents", hidden: true });
  const live = h(doc, "p", { class: "visually-hidden", "aria-live": "assertive", "aria-atomic": "true" });
  const armPanel = mountArming(doc, arming, {
    settings: () => settings,
    prefs: () => prefs,
    setPrefs(p) {
      prefs = p;
      savePrefs(platform.storage, p);
      draw();
    },
  });
  root.replaceChildren(h(doc, "div", { class: "alerts-bar" }, h(doc, "div", { class: "alerts-main" }, list, none, more), armPanel.el, live));

  function policy(inc) {
    return policyFor(settings, prefs, inc);
  }

  // shown returns the incidents the banner lists, newest worst first.
  function shown() {
    if (!model) return [];
    const rank = (inc) => SEVERITY_RANK[inc.severity] ?? 2;
    const at = (inc) => alertedAt.get(inc.id) ?? (Date.parse(inc.updated || inc.opened) || 0);
    return [...model.incidents.values()]
      .filter((inc) => alerting(inc, model) && reaches(inc.severity, policy(inc).banner))
      .sort((a, b) => rank(a) - rank(b) || at(b) - at(a) || String(b.id).localeCompare(String(a.id)));
  }

  // account notes what each incident has alerted so far and announces the
  // growth: from the browser's note for a page's first look at one (a
  // load, which must not announce again what it announced before), from
  // what the page saw otherwise.
  function account(m, change) {
    const fresh = [];
    // Before its first snapshot the model knows nothing, which is no
    // reason to forget the browser's note.
    if (m.state !== "live") return fresh;
    const noted = change.full ? loadAnnounced(platform.storage) : {};
    const ids = change.full ? [...m.incidents.keys()] : change.incidents;
    for (const id of ids) {
      const inc = m.incidents.get(id);
      if (!inc) continue;
      const before = known.has(id) ? known.get(id) : Number(noted[id]) || 0;
      const n = inc.alerts || 0;
      if (n > before) {
        if (!change.full || known.has(id)) alertedAt.set(id, platform.now());
        if (inc.state === "open") fresh.push(inc);
      }
      known.set(id, Math.max(n, before));
    }
    const gone = change.full ? [...known.keys()].filter((id) => !m.incidents.has(id)) : change.removed;
    for (const id of gone) {
      known.delete(id);
      alertedAt.delete(id);
    }
    saveAnnounced(platform.storage, known);
    return fresh;
  }

  function announce(fresh) {
    let sound = false;
    const said = [];
    for (const inc of fresh) {
      const p = policy(inc);
      if (reaches(inc.severity, p.sound)) sound = true;
      if (reaches(inc.severity, p.banner)) said.push(inc.severity + " alert: " + inc.title + (entityText(inc) ? ", " + entityText(inc) : ""));
      if (reaches(inc.severity, p.notify)) {
        if (notes.has(inc.id)) notes.get(inc.id).close();
        const n = arming.notify(
          inc.severity.toUpperCase() + ": " + inc.title,
          { body: [entityText(inc), p.environment].filter(Boolean).join(" · "), tag: inc.id },
          () => focusAlert(inc.id),
        );
        if (n) notes.set(inc.id, n);
      }
    }
    if (sound && arming.tone()) lastTone = platform.now();
    if (said.length) live.textContent = said.join(". ");
  }

  function focusAlert(id) {
    const item = items.get(id);
    if (item) item.li.focus();
  }

  function draw() {
    const all = shown();
    const ids = new Set(all.map((inc) => inc.id));
    const focused = [...items].find(([, it]) => it.li.contains(doc.activeElement));
    for (const [id, it] of items) {
      if (ids.has(id)) continue;
      it.li.remove();
      items.delete(id);
    }
    // A desktop notification goes with its alert, listed or among the
    // "+N more".
    for (const [id, n] of notes) {
      if (ids.has(id)) continue;
      n.close();
      notes.delete(id);
    }
    const visible = all.slice(0, MAX_SHOWN);
    visible.forEach((inc, i) => {
      let it = items.get(inc.id);
      if (!it) {
        it = alertItem(inc.id);
        items.set(inc.id, it);
      }
      it.update(inc, policy(inc));
      if (list.children[i] !== it.li) list.insertBefore(it.li, list.children[i] || null);
    });
    for (const inc of all.slice(MAX_SHOWN)) {
      const it = items.get(inc.id);
      if (it) {
        it.li.remove();
        items.delete(inc.id);
      }
    }
    const hidden = all.length - visible.length;
    more.hidden = hidden === 0;
    more.textContent = "+" + hidden + " more";
    more.title = hidden + " more unacknowledged " + (hidden === 1 ? "alert" : "alerts") + " in the incident panel";
    none.hidden = all.length > 0;
    root.dataset.alerts = String(all.length);
    root.dataset.severity = all.length ? all[0].severity : "ok";
    // Focus stays with the alert it was on; when that one cleared, it
    // goes to the alert that took its place.
    if (focused && !items.has(focused[0])) {
      const next = visible[Math.min(visible.length - 1, Math.max(0, focused[1].index))];
      if (next) items.get(next.id).li.focus();
    }
    visible.forEach((inc, i) => (items.get(inc.id).index = i));
    tickAges();
    runTicker(all.length > 0);
  }

  function alertItem(id) {
    const sevWord = h(doc, "span", { class: "alert-severity" });
    const icon = h(doc, "span", { class: "alert-icon", "aria-hidden": "true" });
    const title = h(doc, "a", { class: "alert-title", href: "#/incidents/" + encodeURIComponent(id) });
    const entity = h(doc, "span", { class: "alert-entity" });
    const env = h(doc, "span", { class: "alert-env" });
    const age = h(doc, "time", { class: "alert-age" });
    const error = h(doc, "span", { class: "alert-error", role: "alert" });
    const ack = h(doc, "button", { type: "button", class: "alert-ack", hidden: !mayAck, title: "Acknowledge (key A)" }, "Acknowledge");
    const li = h(doc, "li", { class: "alert", tabindex: "0", dataset: { incident: id } }, icon, sevWord, title, entity, env, age, ack, error);
    const it = { li, ack, index: 0, opened: "" };
    const acknowledge = () => {
      if (!mayAck || ack.disabled) return;
      error.textContent = "";
      busy(ack, () => api.post("/api/v1/incidents/" + encodeURIComponent(id) + "/ack", {})).then(
        () => {},
        (err) => {
          error.textContent = "Cannot acknowledge: " + errorText(err);
        },
      );
    };
    ack.addEventListener("click", acknowledge);
    li.addEventListener("keydown", (e) => {
      if (e.altKey || e.ctrlKey || e.metaKey || (e.key === "Enter" && e.target.closest("button, a"))) return;
      if (e.key === "a" || e.key === "A") {
        e.preventDefault();
        acknowledge();
      } else if (e.key === "Enter" && e.target === li) {
        e.preventDefault();
        title.click();
      } else if (e.key === "ArrowDown" || e.key === "ArrowUp") {
        e.preventDefault();
        const sib = e.key === "ArrowDown" ? li.nextElementSibling : li.previousElementSibling;
        if (sib) sib.focus();
      }
    });
    it.update = (inc, p) => {
      li.dataset.severity = inc.severity;
      icon.replaceChildren(severityIcon(doc, inc.severity));
      sevWord.textContent = inc.severity;
      title.textContent = inc.title || inc.id;
      entity.textContent = entityText(inc);
      env.textContent = p.environment;
      env.hidden = !p.environment;
      it.opened = inc.opened;
      age.dateTime = inc.opened;
      age.title = "Open since " + formatWhen(inc.opened);
      ack.hidden = !mayAck;
      li.setAttribute("aria-label", inc.severity + ": " + (inc.title || inc.id) + (entity.textContent ? ", " + entity.textContent : "") + (mayAck ? ". Press A to acknowledge." : ""));
    };
    it.tick = (now) => {
      const t = Date.parse(it.opened);
      age.textContent = Number.isFinite(t) ? untilText((now - t) / 1000) : "";
    };
    return it;
  }

  function tickAges() {
    const now = platform.now();
    for (const it of items.values()) it.tick(now);
  }

  // tick runs each second while alerts are listed: their ages, and the
  // tone again while one that sounds is unacknowledged.
  function tick() {
    tickAges();
    const every = repeatMs(settings, prefs);
    if (every <= 0 || platform.now() - lastTone < every) return;
    if (shown().some((inc) => reaches(inc.severity, policy(inc).sound)) && arming.tone()) lastTone = platform.now();
  }

  function runTicker(on) {
    if (on && ticker === null) ticker = platform.setInterval(tick, 1000);
    if (!on && ticker !== null) {
      platform.clearInterval(ticker);
      ticker = null;
    }
  }

  // Alt+A (the key, whatever the layout types with it) goes to the first
  // alert.
  const onKey = (e) => {
    if (!e.altKey || e.ctrlKey || e.metaKey || e.code !== "KeyA") return;
    e.preventDefault();
    const first = list.firstElementChild;
    if (first) first.focus();
    else live.textContent = "No unacknowledged alerts";
  };
  doc.addEventListener("keydown", onKey);

  const stopArming = arming.onChange(() => armPanel.draw());
  const stopIncidents = store.subscribe(INCIDENTS_TOPIC, (m, change) => {
    model = m;
    announce(account(m, change));
    draw();
  });
  let stopped = false;
  const loadSettings = () =>
    api.get(SETTINGS_PATH).then(
      (answer) => {
        if (stopped) return;
        settings = settingsFrom(answer);
        armPanel.draw();
        draw();
      },
      (err) => {
        if (err.status !== 401) console.warn("watchfloor: the alert policy stays the default:", errorText(err));
      },
    );
  // A page asks again on each new connection, which may follow a gateway
  // restarted with a new policy.
  const stopState = store.onState((state) => state === "live" && loadSettings());
  Promise.resolve(me).then((m) => {
    if (stopped) return;
    mayAck = can(m, "acknowledge");
    draw();
  });

  return {
    unmount() {
      stopped = true;
      stopIncidents();
      stopState();
      stopArming();
      armPanel.close();
      runTicker(false);
      doc.removeEventListener("keydown", onKey);
      for (const n of notes.values()) n.close();
      arming.close();
      root.replaceChildren();
    },
  };
}

// mountArming returns the arming indicator, with its Arm button and the
// settings popover: el, and draw() for when a state may have changed.
function mountArming(doc, arming, { settings, prefs, setPrefs }) {
  const sound = h(doc, "span", { class: "arm-state arm-sound" });
  const notify = h(doc, "span", { class: "arm-state arm-notify" });
  const arm = h(doc, "button", { type: "button", class: "arm-button primary" }, "Arm sound and notifications");
  const toggle = h(doc, "button", { type: "button", class: "alerts-settings-toggle quiet", "aria-expanded": "false", title: "Alert settings for this browser" }, "⚙", h(doc, "span", { class: "visually-hidden" }, "Alert settings"));
  const panel = h(doc, "div", { class: "alerts-settings", role: "group", "aria-label": "Alert settings for this browser", hidden: true });
  const el = h(doc, "div", { class: "alerts-arming" }, sound, notify, arm, toggle, panel);

  arm.addEventListener("click", () => busy(arm, () => arming.arm()));
  const open = (yes) => {
    panel.hidden = !yes;
    toggle.setAttribute("aria-expanded", String(yes));
    if (yes) drawPanel();
  };
  toggle.addEventListener("click", () => open(panel.hidden));
  el.addEventListener("keydown", (e) => {
    if (e.key !== "Escape" || panel.hidden) return;
    open(false);
    toggle.focus();
  });
  // A click elsewhere closes the panel, as a menu's would.
  const outside = (e) => {
    if (!panel.hidden && !el.contains(e.target)) open(false);
  };
  doc.addEventListener("pointerdown", outside, true);

  function drawPanel() {
    const s = settings();
    const p = prefs();
    const check = (text, checked, onChange) => {
      const box = h(doc, "input", { type: "checkbox" });
      box.checked = checked;
      box.addEventListener("change", () => onChange(box.checked));
      return h(doc, "label", { class: "check" }, box, " ", text);
    };
    const envs = s.policies.map((q) => {
      const base = basePolicy(s, q.environment);
      const opted = p.environments.includes(q.environment);
      const row = [h(doc, "span", { class: "env-name" }, q.environment), h(doc, "span", { class: "muted" }, " — the desk's policy: " + describePolicy(base))];
      const quiet = ["banner", "sound", "notify"].some((k) => base[k] === "never");
      if (quiet || opted) {
        row.push(
          h(doc, "br"),
          check("Alert me for " + q.environment + " too (banner, sound and notifications for critical)", opted, (on) => {
            const others = p.environments.filter((e) => e !== q.environment);
            setPrefs({ ...p, environments: on ? [...others, q.environment] : others });
          }),
        );
      }
      return h(doc, "li", { dataset: { environment: q.environment } }, row);
    });
    const repeat = h(doc, "input", { type: "number", min: "0", step: "5", class: "repeat", placeholder: String(s.repeatSeconds) });
    repeat.value = p.repeatSeconds === null ? "" : String(p.repeatSeconds);
    repeat.addEventListener("change", () => {
      const n = Number.parseFloat(repeat.value);
      setPrefs({ ...prefs(), repeatSeconds: repeat.value.trim() === "" || !Number.isFinite(n) || n < 0 ? null : n });
    });
    const disarm = h(doc, "button", { type: "button", class: "disarm", hidden: !arming.armed }, "Disarm sound and notifications here");
    disarm.addEventListener("click", () => {
      arming.disarm();
      drawPanel();
    });
    panel.replaceChildren(
      h(doc, "h3", {}, "Alerts in this browser"),
      h(doc, "p", { class: "muted" }, "You can add to the desk's policy here, not take from it. These settings stay in this browser."),
      check("Alert on warnings too", p.warnings, (on) => setPrefs({ ...prefs(), warnings: on })),
      h(doc, "ul", { class: "alerts-envs" }, envs),
      h(doc, "label", { class: "field-label" }, h(doc, "span", {}, "Sound the tone again every … seconds while unacknowledged (0: once; empty: the desk's " + s.repeatSeconds + " s)"), repeat),
      disarm,
    );
  }

  function draw() {
    const ss = arming.soundState();
    const ns = arming.notifyState();
    sound.dataset.state = ss;
    sound.textContent = SOUND_TEXT[ss];
    notify.dataset.state = ns;
    notify.textContent = NOTIFY_TEXT[ns];
    el.dataset.sound = ss;
    el.dataset.notify = ns;
    el.dataset.armed = ss === "on" && ns === "on" ? "true" : ss === "on" || ns === "on" ? "partly" : "false";
    arm.hidden = !arming.armable();
    arm.textContent = arming.armed ? "Resume sound and notifications" : "Arm sound and notifications";
    if (!panel.hidden) drawPanel();
  }
  draw();
  return { el, draw, close: () => doc.removeEventListener("pointerdown", outside, true) };
}
