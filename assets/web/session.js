// The session: who is logged in, what they may do, and the one way the
// page calls the gateway's API. A session can end at any time (it expires,
// its user logs out elsewhere, its kiosk link is revoked); an API call
// answered 401, or a dashboard socket the gateway closes or refuses, then
// sends the browser to the login page, which brings it back here after.

export const LOGIN_PATH = "/login";
export const ME_PATH = "/api/v1/me";
export const LOGOUT_PATH = "/api/v1/logout";

// SESSION_ENDED is the close code of a dashboard socket whose session
// ended.
export const SESSION_ENDED = 4001;

// loginURL returns the login page that comes back to loc (its path, query
// and hash) once logged in.
export function loginURL(loc) {
  return LOGIN_PATH + "?next=" + encodeURIComponent(loc.pathname + loc.search + loc.hash);
}

// goToLogin leaves the page for the login page.
export function goToLogin(loc = window.location) {
  loc.assign(loginURL(loc));
}

// can reports whether me (what GET /api/v1/me answered) holds permission.
export function can(me, permission) {
  return me !== null && typeof me === "object" && Array.isArray(me.permissions) && me.permissions.includes(permission);
}

// isKiosk reports whether me is a wall screen's session rather than a
// person's.
export function isKiosk(me) {
  return me !== null && typeof me === "object" && me.kind === "kiosk";
}

// scopeText shows a scope as the API writes it ("client=acme|beta"), given
// that string or the {attribute: [values]} form; "" is the whole estate.
export function scopeText(scope) {
  if (typeof scope === "string") return scope;
  if (scope === null || typeof scope !== "object") return "";
  return Object.keys(scope)
    .sort()
    .map((attr) => attr + "=" + [].concat(scope[attr]).join("|"))
    .join(", ");
}

// parseScope reads a scope typed as "attribute=value" (several values
// separated by "|" or ",") into the API's {attribute: [values]}; it returns
// null for an empty text (the whole estate) and throws, saying how to
// write it, for anything else.
export function parseScope(text) {
  const s = String(text ?? "").trim();
  if (s === "") return null;
  const eq = s.indexOf("=");
  const attr = eq < 0 ? "" : s.slice(0, eq).trim();
  const values = eq < 0 ? [] : s.slice(eq + 1).split(/[|,]/).map((v) => v.trim()).filter((v) => v !== "");
  if (attr === "" || values.length === 0 || /[\s=|,]/.test(attr) || values.some((v) => v.includes("="))) {
    throw new Error("write the scope as attribute=value, such as client=acme (several values: client=acme|beta), or leave it empty for the whole estate");
  }
  return { [attr]: [...new Set(values)] };
}

// KIOSK_PREFIX starts a wall screen's name as the gateway gives it
// ("kiosk:Desk 3 wall", gateway/auth): the label follows.
const KIOSK_PREFIX = "kiosk:";

// whoText says who is logged in, for the header: "alice · operator ·
// client=acme", or for a wall screen "kiosk: Desk 3 wall · client=acme".
export function whoText(me) {
  const name = typeof me.user === "string" ? me.user : "";
  const label = name.startsWith(KIOSK_PREFIX) ? name.slice(KIOSK_PREFIX.length) : name;
  const parts = isKiosk(me) ? ["kiosk: " + label] : [name];
  if (!isKiosk(me) && Array.isArray(me.roles) && me.roles.length > 0) parts.push(me.roles.join(", "));
  const scope = scopeText(me.scope);
  if (scope) parts.push(scope);
  return parts.join(" · ");
}

// ApiError is a request the gateway refused or never answered: status is
// the HTTP status (0 when there was no answer), body what it said, and
// message the text to show.
export class ApiError extends Error {
  constructor(status, body, message) {
    super(message || messageOf(status, body));
    this.name = "ApiError";
    this.status = status;
    this.body = body;
  }
}

function messageOf(status, body) {
  if (body && typeof body === "object" && typeof body.message === "string" && body.message !== "") return body.message;
  if (status === 401) return "Your session has ended; log in again.";
  if (status === 403) {
    const perm = body && typeof body.permission === "string" ? " (it needs the " + body.permission + " permission)" : "";
    return "You may not do this" + perm + ".";
  }
  return "The gateway refused the request (HTTP " + status + ").";
}

// readBody returns a response's JSON, null when it has none, or for text
// that is not JSON (a proxy's error page) {message: the text}.
async function readBody(resp) {
  const text = await resp.text();
  if (text.trim() === "") return null;
  try {
    return JSON.parse(text);
  } catch {
    return { message: text.trim().slice(0, 300) };
  }
}

// Api is how the page calls the gateway's API, always: every answer of 401
// means the session ended, and sessionEnded (by default: go to the login
// page) runs, once. Its methods resolve with the answer's JSON (null for
// none) and reject with an ApiError. fetch is there for tests.
export class Api {
  constructor({ fetch = (url, init) => window.fetch(url, init), sessionEnded = () => goToLogin() } = {}) {
    this.fetch = fetch;
    this.onSessionEnded = sessionEnded;
    this.ended = false;
  }

  get(path) {
    return this.request("GET", path);
  }

  post(path, body) {
    return this.request("POST", path, body);
  }

  put(path, body) {
    return this.request("PUT", path, body);
  }

  delete(path) {
    return this.request("DELETE", path);
  }

  // request sends body as JSON, or with opts.text as that text with
  // opts.contentType; opts.headers are added, and opts.signal may abort
  // the request (which then rejects with the fetch's AbortError).
  async request(method, path, body, { text, contentType, headers = {}, signal } = {}) {
    const init = { method, credentials: "same-origin", headers: { Accept: "application/json", ...headers } };
    if (signal) init.signal = signal;
    if (text !== undefined) {
      init.headers["Content-Type"] = contentType;
      init.body = text;
    } else if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    let resp;
    try {
      resp = await this.fetch(path, init);
    } catch (err) {
      if (err instanceof DOMException && err.name === "AbortError") throw err;
      throw new ApiError(0, null, "Cannot reach the gateway (" + (err && err.message ? err.message : String(err)) + ").");
    }
    // An answer that ended on the login page (a redirect the API should
    // not make, from a proxy say) is a session gone as well.
    const onLogin = resp.redirected && typeof resp.url === "string" && new URL(resp.url, "http://x.invalid").pathname === LOGIN_PATH;
    const data = onLogin ? null : await readBody(resp);
    if (resp.status === 401 || onLogin) {
      this.sessionEnded();
      throw new ApiError(401, data);
    }
    if (!resp.ok) throw new ApiError(resp.status, data);
    return data;
  }

  sessionEnded() {
    if (this.ended) return;
    this.ended = true;
    this.onSessionEnded();
  }
}

// needsSessionCheck reports whether a dashboard socket's close
// ({code, opened}, as Connection's onClose gets it) may mean the session
// ended: the gateway closes with SESSION_ENDED when it did, and an upgrade
// it refuses for want of a session is, to the page, a socket that never
// opened.
export function needsSessionCheck({ code, opened }) {
  return code === SESSION_ENDED || !opened;
}

// sessionWatcher returns a Connection's onClose for api: when a close may
// mean the session ended, it asks GET /api/v1/me (one ask at a time), and
// api sends the browser to log in if so. Any other answer, or none (the
// gateway is down), leaves the Connection to reconnect as it does. It
// returns the ask's promise, or null when it does not ask.
export function sessionWatcher(api) {
  let asking = null;
  return (info) => {
    if (asking || !needsSessionCheck(info)) return null;
    asking = api.get(ME_PATH).then(
      () => {
        asking = null;
      },
      () => {
        asking = null;
      },
    );
    return asking;
  };
}
