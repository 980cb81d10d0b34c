// Watchfloor dashboard: the page shell. It owns the page's layout (the
// only place that looks elements up by id) and wires the store, the tree
// and the router together.

import { Connection, dashboardURL } from "./conn.js";
import { Router } from "./router.js";
import { Store } from "./store.js";
import { modelFor } from "./topics.js";
import { mountTree } from "./tree.js";
import { dataviewView } from "./views/dataview.js";
import { homeView } from "./views/home.js";
import { notFoundView } from "./views/notfound.js";

const DATAVIEW_ROUTE = "/view/*path";

const CONN_TEXT = {
  connecting: "connecting…",
  live: "live",
  reconnecting: "reconnecting…",
};

const connEl = document.getElementById("conn");
const notice = document.getElementById("gateway-notice");
const main = document.getElementById("view");

const store = new Store(new Connection(dashboardURL()), modelFor);
const tree = mountTree(document.getElementById("tree"), { store });

store.onState((state) => {
  connEl.dataset.state = state;
  connEl.textContent = CONN_TEXT[state] || state;
  document.body.dataset.conn = state;
  // A new connection starts clean: old errors no longer hold.
  if (state === "live") notice.hidden = true;
});
store.onError((message) => {
  notice.textContent = "Gateway error: " + message;
  notice.hidden = false;
});

const router = new Router(main, {
  context: { store },
  onChange({ pattern, params, title }) {
    tree.select(pattern === DATAVIEW_ROUTE ? params.path : null);
    document.title = title ? "Watchfloor — " + title : "Watchfloor";
  },
});
router
  .add("/", homeView)
  .add(DATAVIEW_ROUTE, dataviewView)
  .add("/*rest", notFoundView);

store.start();
router.start();

// The skip link moves focus without touching the hash (which routes).
document.querySelector(".skip-link").addEventListener("click", (e) => {
  e.preventDefault();
  main.focus();
});
