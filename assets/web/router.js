// The router: mounts one view at a time into an outlet element, chosen by
// the location hash ("#/view/<dataview path>", "#/wall?group=system").
//
// A view is an object {mount(root, params, context), canonical(params)}:
// mount draws into root and returns a handle {unmount(), title}, both
// optional (unmount releases what the view holds: subscriptions,
// listeners, timers; the router empties root afterwards); canonical, if
// present, returns params in their canonical form, and the router then
// shows that form in the address bar without adding a history entry.
//
// Patterns are literal segments, ":name" (one segment) and, last,
// "*name" (the rest, slashes included, possibly empty). Path parameters
// are passed as they appear in the hash, still percent-encoded; the
// query after "?" is decoded into params too. A literal "?" in a path
// parameter must therefore be written %3F, as canonical paths are.
// Routes are tried in the order they were added.

function escapeRegExp(s) {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

function compile(pattern) {
  const names = [];
  const segs = pattern.split("/");
  const source = segs
    .map((seg, i) => {
      if (seg.startsWith(":")) {
        names.push(seg.slice(1));
        return "([^/]+)";
      }
      if (seg.startsWith("*")) {
        if (i !== segs.length - 1) throw new Error("router: " + pattern + ": *" + seg + " must come last");
        names.push(seg.slice(1));
        return "(.*)";
      }
      return escapeRegExp(seg);
    })
    .join("/");
  const format = (params) =>
    segs.map((seg) => (seg.startsWith(":") || seg.startsWith("*") ? params[seg.slice(1)] : seg)).join("/");
  return { re: new RegExp("^" + source + "$"), names, format };
}

// splitHash returns a location hash's path (always starting with "/") and
// its query string.
function splitHash(hash) {
  const h = hash.startsWith("#") ? hash.slice(1) : hash;
  const q = h.indexOf("?");
  const path = q < 0 ? h : h.slice(0, q);
  return { path: path.startsWith("/") ? path : "/" + path, query: q < 0 ? "" : h.slice(q + 1) };
}

// hashFor returns the hash that shows route with params.
function hashFor(route, params) {
  const query = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (!route.names.includes(k)) query.set(k, v);
  const q = query.toString();
  return "#" + route.format(params) + (q ? "?" + q : "");
}

export class Router {
  // context is handed to every view's mount (the store, say); onChange is
  // called with {pattern, params, title} after each view is mounted.
  constructor(outlet, { context = {}, onChange = () => {} } = {}) {
    this.outlet = outlet;
    this.context = context;
    this.onChange = onChange;
    this.routes = [];
    this.current = null; // {hash, handle}
    this.onHashChange = () => this.route();
  }

  // add registers view for pattern and returns the router, so that
  // routes chain.
  add(pattern, view) {
    this.routes.push({ pattern, view, ...compile(pattern) });
    return this;
  }

  start() {
    window.addEventListener("hashchange", this.onHashChange);
    this.route();
  }

  stop() {
    window.removeEventListener("hashchange", this.onHashChange);
    this.unmount();
  }

  // route shows the view for the current location hash.
  route() {
    const { path, query } = splitHash(window.location.hash);
    for (const route of this.routes) {
      const m = route.re.exec(path);
      if (!m) continue;
      const given = Object.fromEntries(new URLSearchParams(query));
      route.names.forEach((name, i) => {
        given[name] = m[i + 1];
      });
      const params = route.view.canonical ? route.view.canonical(given) : given;
      const keys = new Set([...Object.keys(given), ...Object.keys(params)]);
      const canonicalised = [...keys].some((k) => params[k] !== given[k]);
      const hash = canonicalised ? hashFor(route, params) : "#" + path + (query ? "?" + query : "");
      if (canonicalised) history.replaceState(history.state, "", hash);
      if (this.current && this.current.hash === hash) return;
      this.show(hash, route, params);
      return;
    }
    this.unmount();
    this.onChange({ pattern: null, params: {}, title: "" });
  }

  show(hash, route, params) {
    this.unmount();
    let handle;
    try {
      handle = route.view.mount(this.outlet, params, this.context) || {};
    } catch (err) {
      console.error("watchfloor: cannot show", hash, err);
      this.outlet.textContent = "This page failed to open; see the browser's console.";
      handle = {};
    }
    this.current = { hash, handle };
    this.onChange({ pattern: route.pattern, params, title: handle.title || "" });
  }

  unmount() {
    if (!this.current) return;
    const { handle } = this.current;
    this.current = null;
    try {
      if (handle.unmount) handle.unmount();
    } catch (err) {
      console.error("watchfloor: unmounting a view failed", err);
    }
    this.outlet.replaceChildren();
  }
}
