// Who gets alerted to what: the desk's alert policy per environment (the
// gateway's dashboard.alerts, GET /api/v1/dashboard/settings) and what a
// person has opted in to in this browser, which can only add to it. A UAT
// failure never sounds the wall unless someone at it asks for that.

export const SETTINGS_PATH = "/api/v1/dashboard/settings";

// DEFAULT_SETTINGS are the gateway's defaults, used until it answers (or
// when it cannot): production sounds and notifies for critical incidents,
// pre-production shows them in the banner, UAT is silent, and any other
// environment is treated as production.
export const DEFAULT_SETTINGS = Object.freeze({
  environmentAttribute: "environment",
  default: "production",
  repeatSeconds: 30,
  policies: [
    { environment: "production", banner: "critical", sound: "critical", notify: "critical" },
    { environment: "pre-production", banner: "critical", sound: "never", notify: "never" },
    { environment: "uat", banner: "never", sound: "never", notify: "never" },
  ],
});

const LEVELS = ["never", "critical", "warning"]; // from the one that does least
const KINDS = ["banner", "sound", "notify"];

function level(l) {
  return LEVELS.includes(l) ? l : "never";
}

// reaches reports whether an incident of severity sev alerts at level l.
export function reaches(sev, l) {
  if (l === "warning") return sev === "warning" || sev === "critical";
  if (l === "critical") return sev === "critical";
  return false;
}

// settingsFrom reads the gateway's answer, keeping the defaults for what
// it lacks or gets wrong.
export function settingsFrom(answer) {
  const a = answer && typeof answer === "object" && answer.alerts && typeof answer.alerts === "object" ? answer.alerts : {};
  const policies = Array.isArray(a.policies)
    ? a.policies
        .filter((p) => p && typeof p.environment === "string")
        .map((p) => ({ environment: p.environment, banner: level(p.banner), sound: level(p.sound), notify: level(p.notify) }))
    : DEFAULT_SETTINGS.policies;
  return {
    environmentAttribute: typeof a.environmentAttribute === "string" && a.environmentAttribute ? a.environmentAttribute : DEFAULT_SETTINGS.environmentAttribute,
    default: typeof a.default === "string" ? a.default : DEFAULT_SETTINGS.default,
    repeatSeconds: Number.isFinite(a.repeatSeconds) && a.repeatSeconds >= 0 ? a.repeatSeconds : DEFAULT_SETTINGS.repeatSeconds,
    policies,
  };
}

// environmentOf returns the environment of an incident's entity ("" when
// its attributes do not say).
export function environmentOf(settings, inc) {
  const attrs = inc && inc.attrs && typeof inc.attrs === "object" ? inc.attrs : {};
  const env = attrs[settings.environmentAttribute];
  return typeof env === "string" ? env : "";
}

// PREFS_KEY is where this browser keeps a person's opt-ins.
export const PREFS_KEY = "watchfloor.alerts.prefs";

// NO_PREFS opts in to nothing: warnings alert as the policy says, every
// environment as its policy says, the tone repeats as the desk's setting.
export const NO_PREFS = Object.freeze({ warnings: false, environments: [], repeatSeconds: null });

// loadPrefs reads a person's opt-ins from storage (NO_PREFS when there
// are none, or they cannot be read).
export function loadPrefs(storage) {
  let p = null;
  try {
    p = JSON.parse(storage.getItem(PREFS_KEY) || "null");
  } catch {
    p = null;
  }
  if (!p || typeof p !== "object") return NO_PREFS;
  return {
    warnings: p.warnings === true,
    environments: Array.isArray(p.environments) ? p.environments.filter((e) => typeof e === "string") : [],
    repeatSeconds: Number.isFinite(p.repeatSeconds) && p.repeatSeconds >= 0 ? p.repeatSeconds : null,
  };
}

// savePrefs keeps a person's opt-ins; a browser that refuses storage
// keeps them for this page only.
export function savePrefs(storage, prefs) {
  try {
    storage.setItem(PREFS_KEY, JSON.stringify(prefs));
  } catch (err) {
    console.warn("watchfloor: cannot keep the alert settings in this browser:", err);
  }
}

// basePolicy returns the desk's policy for environment env: its own, or
// the default's when none lists it.
export function basePolicy(settings, env) {
  const p =
    settings.policies.find((q) => q.environment === env) ||
    settings.policies.find((q) => q.environment === settings.default) || { environment: env, banner: "never", sound: "never", notify: "never" };
  return { environment: env, banner: p.banner, sound: p.sound, notify: p.notify };
}

// policyFor returns, for an incident, the least severity at which it shows
// in the banner, sounds and notifies here: the desk's policy for its
// environment, raised by the person's opt-ins. Opting in to an
// environment makes it alert in every way for critical incidents;
// opting in to warnings makes whatever alerts for critical alert for
// warning too.
export function policyFor(settings, prefs, inc) {
  const env = environmentOf(settings, inc);
  const p = basePolicy(settings, env);
  for (const k of KINDS) {
    if (prefs.environments.includes(env) && p[k] === "never") p[k] = "critical";
    if (prefs.warnings && p[k] !== "never") p[k] = "warning";
  }
  return p;
}

// repeatMs is how long the tone waits before it sounds again while an
// alert that sounds is unacknowledged; 0: it does not repeat.
export function repeatMs(settings, prefs) {
  const s = prefs.repeatSeconds ?? settings.repeatSeconds;
  return Math.max(0, s) * 1000;
}

// describePolicy says what a policy does, for people: "banner, sound and
// notifications for critical", "banner for warning; sound and
// notifications for critical", "silent".
export function describePolicy(p) {
  const by = new Map();
  for (const k of KINDS) {
    if (p[k] === "never") continue;
    if (!by.has(p[k])) by.set(p[k], []);
    by.get(p[k]).push({ banner: "banner", sound: "sound", notify: "notifications" }[k]);
  }
  if (by.size === 0) return "silent";
  const list = (ws) => (ws.length === 1 ? ws[0] : ws.slice(0, -1).join(", ") + " and " + ws[ws.length - 1]);
  return [...by].map(([l, ws]) => list(ws) + " for " + l).join("; ");
}
