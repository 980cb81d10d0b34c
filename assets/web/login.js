// The login page's script. The page loads nothing else before a session
// exists (the gateway serves only login.html, this file, style.css and
// the icon without one), so this module imports nothing.
//
// The form works without it, as a plain post that the gateway answers by
// redirecting to next. With it, the form posts JSON and stays on the page
// when the login is refused, saying why, and counts down the wait after
// too many failures.

export const LOGIN_API = "/api/v1/login";
export const LINK_ERROR = "This login link was used or has expired.";

// safeNext returns raw if it is a path on this site ("/…", not "//…"),
// normalised as the browser would resolve it, and "/" otherwise, so that a
// crafted login link cannot send anyone elsewhere after logging in.
export function safeNext(raw) {
  if (typeof raw !== "string" || !raw.startsWith("/") || raw.startsWith("//")) return "/";
  const base = "http://login.invalid";
  let url;
  try {
    url = new URL(raw, base);
  } catch {
    return "/";
  }
  // Backslashes, tabs and newlines can still reach another host: only
  // what resolves on this one passes.
  if (url.origin !== base) return "/";
  return url.pathname + url.search + url.hash;
}

// afterLogin returns where to go once logged in, from the login page's
// query (?next=…) and hash: the gateway's redirect to the login page
// keeps the hash the browser had (a deep link such as /#/view/…), which
// the server never saw, so it is put back on next unless next has its own.
export function afterLogin(search, hash) {
  const next = safeNext(new URLSearchParams(search).get("next"));
  return next.includes("#") || !hash || hash === "#" ? next : next + hash;
}

// retryAfterSeconds reads a Retry-After header (seconds, or an HTTP date)
// as whole seconds from nowMs; 0 when there is none or it is past.
export function retryAfterSeconds(header, nowMs) {
  if (typeof header !== "string" || header.trim() === "") return 0;
  const v = header.trim();
  if (/^\d+$/.test(v)) return Number(v);
  const t = Date.parse(v);
  return Number.isNaN(t) ? 0 : Math.max(0, Math.ceil((t - nowMs) / 1000));
}

// intervalTimer is the real clock: every(ms, f) calls f every ms until the
// function it returns is called.
const intervalTimer = {
  every(ms, f) {
    const id = setInterval(f, ms);
    return () => clearInterval(id);
  },
};

async function bodyOf(resp) {
  try {
    const body = await resp.json();
    return body && typeof body === "object" ? body : {};
  } catch {
    return {};
  }
}

// mountLogin makes form (with fields user, password and next, a submit
// button and an element [data-login-error] for what went wrong) log in
// with fetch; loc is the page's location, left with replace once logged
// in. fetch, timer (as intervalTimer) and now are there for tests. It
// returns {destination}.
export function mountLogin(form, { loc = window.location, fetch = (u, i) => window.fetch(u, i), timer = intervalTimer, now = () => Date.now() } = {}) {
  const user = form.elements.namedItem("user");
  const password = form.elements.namedItem("password");
  const next = form.elements.namedItem("next");
  const button = form.querySelector('button[type="submit"]');
  const errorEl = form.querySelector("[data-login-error]");
  const label = button.textContent;
  const destination = afterLogin(loc.search, loc.hash);
  // Without this script the gateway redirects a form post to next.
  if (next) next.value = destination;

  const say = (text) => {
    errorEl.textContent = text;
    form.dataset.state = text ? "refused" : "";
  };
  if (new URLSearchParams(loc.search).get("error") === "link") say(LINK_ERROR);

  let waiting = false;
  const ready = () => {
    waiting = false;
    button.disabled = false;
    button.removeAttribute("aria-busy");
    button.textContent = label;
  };
  // wait keeps the button disabled for seconds, counting down on it.
  const wait = (seconds) => {
    let left = seconds;
    const show = () => {
      button.textContent = "Wait " + left + " s";
    };
    show();
    const stop = timer.every(1000, () => {
      left--;
      if (left > 0) return show();
      stop();
      ready();
    });
  };

  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    if (waiting) return;
    if (user.value.trim() === "" || password.value === "") {
      say("Enter your user name and password.");
      (user.value.trim() === "" ? user : password).focus();
      return;
    }
    waiting = true;
    button.disabled = true;
    button.setAttribute("aria-busy", "true");
    button.textContent = "Logging in…";
    say("");
    let resp;
    try {
      resp = await fetch(LOGIN_API, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify({ user: user.value.trim(), password: password.value }),
      });
    } catch (err) {
      say("Cannot reach the gateway (" + (err && err.message ? err.message : String(err)) + "). Try again.");
      ready();
      return;
    }
    if (resp.ok) {
      form.dataset.state = "done";
      loc.replace(destination);
      return;
    }
    const body = await bodyOf(resp);
    say(typeof body.message === "string" && body.message !== "" ? body.message : "The gateway refused the login (HTTP " + resp.status + ").");
    if (resp.status === 401) {
      password.value = "";
      password.focus();
    }
    const seconds = resp.status === 429 ? retryAfterSeconds(resp.headers.get("Retry-After"), now()) : 0;
    if (seconds > 0) wait(seconds);
    else ready();
  });
  return { destination };
}

const page = document.getElementById("login-form");
if (page) mountLogin(page);
