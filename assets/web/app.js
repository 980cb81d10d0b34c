// Watchfloor dashboard: the page shell. It owns the page's layout (the
// only place that looks elements up by id) and wires the session, the
// store, the tree and the router together.

import { Connection, dashboardURL } from "./conn.js";
import { Router } from "./router.js";
import { Api, can, isKiosk, LOGIN_PATH, LOGOUT_PATH, ME_PATH, sessionWatcher, whoText } from "./session.js";
import { Store } from "./store.js";
import { modelFor } from "./topics.js";
import { mountAlerts } from "./alerts.js";
import { mountTradingDay } from "./tradingday.js";
import { mountTree } from "./tree.js";
import { busy, errorText, formatWhen } from "./ui.js";
import { auditView } from "./views/admin-audit.js";
import { screensView } from "./views/admin-screens.js";
import { usersView } from "./views/admin-users.js";
import { dataviewView } from "./views/dataview.js";
import { entityView } from "./views/entity.js";
import { incidentView, incidentsView } from "./views/incidents.js";
import { notFoundView } from "./views/notfound.js";
import { passwordView } from "./views/password.js";
import { reportView } from "./views/report.js";
import { ruleEditView, rulesView } from "./views/rules.js";
import { wallView } from "./views/wall.js";

const DATAVIEW_ROUTE = "/view/*path";

// What the connection indicator says. "reconnecting" is any time the page
// is not hearing the gateway after having been connected, or trying: the
// socket closed, or went silent for 2 s (conn.js), until every topic has
// its fresh snapshot again (store.js). The page's data is greyed then.
const CONN_TEXT = {
  connecting: "connecting…",
  live: "live",
  reconnecting: "cut off — reconnecting…",
};

const connEl = document.getElementById("conn");
const notice = document.getElementById("gateway-notice");
const main = document.getElementById("view");
const mainNav = document.getElementById("main-nav");
const adminNav = document.getElementById("admin-nav");
const sessionEl = document.getElementById("session");
const userBadge = document.getElementById("user-badge");
const passwordLink = document.getElementById("change-password-link");
const logoutButton = document.getElementById("logout");

// Kiosk mode (a wall screen: no navigation, no tree, no session links)
// is asked for by a "kiosk" parameter in the page's query or its hash's,
// as wall screens' links carry.
function kioskMode(loc) {
  const hashQuery = loc.hash.includes("?") ? loc.hash.slice(loc.hash.indexOf("?") + 1) : "";
  return new URLSearchParams(loc.search).has("kiosk") || new URLSearchParams(hashQuery).has("kiosk");
}
const syncKiosk = () => {
  if (kioskMode(window.location)) document.body.dataset.kiosk = "true";
  else delete document.body.dataset.kiosk;
};
syncKiosk();
window.addEventListener("hashchange", syncKiosk);

// Every API call goes through api, which sends the browser to log in
// when the session has ended; so does a dashboard socket closed for it.
// While logging out, the socket the gateway closes is no news.
const api = new Api();
const watchSession = sessionWatcher(api);
let loggingOut = false;
const store = new Store(new Connection(dashboardURL(), { onClose: (info) => loggingOut || watchSession(info) }), modelFor);
// me settles with who is logged in (null when that cannot be told):
// views and the alerts use it for what the session may do.
const me = api.get(ME_PATH).then(
  (m) => m || null,
  (err) => {
    // The dashboard works without the header's session; 401 has already
    // sent the page to log in.
    if (err.status !== 401) console.warn("watchfloor: cannot tell who is logged in:", errorText(err));
    return null;
  },
);
const tree = mountTree(document.getElementById("tree"), { store });
mountTradingDay(document.getElementById("trading-day"), { store });
mountAlerts(document.getElementById("alerts"), { store, api, me });

store.onState((state) => {
  connEl.dataset.state = state;
  connEl.textContent = CONN_TEXT[state] || state;
  // Since when the page has not been live, for whoever wonders how old
  // the greyed data is.
  if (state === "reconnecting") connEl.title = "Cut off from the gateway since " + formatWhen(new Date().toISOString()) + "; what this page shows is not live.";
  else connEl.title = "";
  document.body.dataset.conn = state;
  // A new connection starts clean: old errors no longer hold.
  if (state === "live") notice.hidden = true;
});
store.onError((message) => {
  notice.textContent = "Gateway error: " + message;
  notice.hidden = false;
});

const router = new Router(main, {
  context: { store, api, me },
  onChange({ pattern, params, title }) {
    tree.select(pattern === DATAVIEW_ROUTE ? params.path : null);
    document.title = title ? "Watchfloor — " + title : "Watchfloor";
    // Views' styles may depend on the route (the wall hides the tree).
    document.body.dataset.route = pattern.split("/")[1] || "wall";
    for (const a of [...mainNav.querySelectorAll("a"), ...adminNav.querySelectorAll("a"), passwordLink]) {
      if (a.getAttribute("href") === "#" + pattern) a.setAttribute("aria-current", "page");
      else a.removeAttribute("aria-current");
    }
  },
});
router
  .add("/", wallView)
  .add("/wall", wallView)
  .add("/entity/*path", entityView)
  .add(DATAVIEW_ROUTE, dataviewView)
  .add("/incidents", incidentsView)
  .add("/incidents/:id", incidentView)
  .add("/rules", rulesView)
  .add("/rules/*name", ruleEditView)
  .add("/report", reportView)
  .add("/admin/screens", screensView)
  .add("/admin/users", usersView)
  .add("/admin/audit", auditView)
  .add("/account/password", passwordView)
  .add("/*rest", notFoundView);

// showSession puts who is logged in in the header: a person gets the
// links their permissions allow, a way to change their password and to
// log out; a wall screen shows its label and scope only.
function showSession(me) {
  const kiosk = isKiosk(me);
  userBadge.textContent = whoText(me);
  userBadge.dataset.kind = kiosk ? "kiosk" : "person";
  userBadge.title = me.expires_at ? "Logged in until " + formatWhen(me.expires_at) : "";
  for (const a of mainNav.querySelectorAll("[data-permission]")) a.hidden = kiosk || !can(me, a.dataset.permission);
  let links = 0;
  for (const a of adminNav.querySelectorAll("[data-permission]")) {
    a.hidden = kiosk || !can(me, a.dataset.permission);
    if (!a.hidden) links++;
  }
  adminNav.hidden = links === 0;
  passwordLink.hidden = kiosk;
  logoutButton.hidden = kiosk;
  sessionEl.hidden = false;
}

logoutButton.addEventListener("click", () => {
  loggingOut = true;
  busy(logoutButton, () => api.post(LOGOUT_PATH)).then(
    () => window.location.assign(LOGIN_PATH),
    (err) => {
      loggingOut = false;
      // A session already gone has sent the page to log in.
      if (err.status === 401) return;
      notice.textContent = "Cannot log out: " + errorText(err);
      notice.hidden = false;
    },
  );
});

me.then((m) => m && showSession(m));

store.start();
router.start();

// The skip link moves focus without touching the hash (which routes).
document.querySelector(".skip-link").addEventListener("click", (e) => {
  e.preventDefault();
  main.focus();
});
