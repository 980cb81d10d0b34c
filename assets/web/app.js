// Watchfloor dashboard: wires the tree, the grid, the WebSocket and the
// location hash ("#/view/<encoded dataview path>") together.

import { Connection, dashboardURL } from "./conn.js";
import { GridView } from "./grid.js";
import { TreeView } from "./tree.js";
import { parseDataviewPath } from "./paths.js";

const VIEW_PREFIX = "#/view/";

const grid = new GridView(document);
const tree = new TreeView(document);
const connEl = document.getElementById("conn");

const CONN_TEXT = {
  connecting: "connecting…",
  live: "live",
  reconnecting: "reconnecting…",
};

let current = null; // the dataview shown (canonical encoded path) or null
let subscribed = null; // what this connection is subscribed to

const conn = new Connection(dashboardURL(), {
  onOpen() {
    // A new connection has no subscriptions: subscribe to the current
    // dataview again (the gateway answers with a fresh snapshot).
    subscribed = null;
    subscribe();
  },
  onMessage(msg) {
    grid.handle(msg); // unknown types and other dataviews are ignored
  },
  onState(state) {
    connEl.dataset.state = state;
    connEl.textContent = CONN_TEXT[state] || state;
    document.body.dataset.conn = state;
  },
});

function subscribe() {
  if (subscribed === current) return;
  if (subscribed !== null && conn.send({ op: "unsubscribe", dataview: subscribed })) subscribed = null;
  if (!conn.open) return;
  if (current !== null && conn.send({ op: "subscribe", dataview: current })) subscribed = current;
}

// route reads the location hash and switches the view to it.
function route() {
  const hash = window.location.hash;
  let next = null;
  let invalid;
  if (hash.startsWith(VIEW_PREFIX)) {
    const raw = hash.slice(VIEW_PREFIX.length);
    const parsed = parseDataviewPath(raw);
    if (parsed) {
      next = parsed.path;
      if (parsed.path !== raw) {
        // Typed by hand: show the canonical form without a new history entry.
        history.replaceState(null, "", VIEW_PREFIX + parsed.path);
      }
    } else {
      invalid = raw;
    }
  }
  if (next === current && invalid === undefined && grid.state !== "invalid") return;
  current = next;
  grid.select(current, invalid);
  tree.select(current);
  subscribe();
}

window.addEventListener("hashchange", route);
route();
tree.start();
conn.start();

// Keep the document title in step with the view's title.
new MutationObserver(() => {
  const t = document.getElementById("view-title").textContent;
  document.title = current ? "Watchfloor — " + t : "Watchfloor";
}).observe(document.getElementById("view-title"), { childList: true, characterData: true, subtree: true });

// The skip link moves focus without touching the hash (which routes).
document.querySelector(".skip-link")?.addEventListener("click", (e) => {
  e.preventDefault();
  document.getElementById("view").focus();
});
