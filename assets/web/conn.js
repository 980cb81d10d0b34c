// The dashboard WebSocket: connects, reconnects with jittered backoff, and
// hands every JSON message to its owner (the store), numbered as the hub
// numbers frames for pacing.
//
// It also makes sure the gateway is still there. A browser cannot see
// WebSocket pings, and a cut-off TCP connection (a gateway machine gone, a
// network cut) may look open for minutes; so the hub sends a heartbeat
// whenever it has said nothing for half a second, and a socket that hears
// nothing at all for SILENCE is taken as cut off: it is dropped and
// replaced, and the page says so meanwhile.

const MIN_DELAY = 500; // ms before the first retry
const MAX_DELAY = 10000; // ms, the longest wait between retries
// ms an open socket may hear nothing before it counts as cut off: three
// heartbeats missed, so that a page cut off says so within 2 s.
const SILENCE = 1500;
const OPEN_TIMEOUT = 10000; // ms a socket may take to open before it is given up
// The watchdog believes a silence only when a second timer, GRACE ms
// before its end, has found it too: a page that was itself busy (a long
// task, a throttled background tab) may have messages waiting that it has
// not handled yet, and those run before a timer set after them.
const GRACE = 200;
const CONFIRM = 50; // ms, the least wait before the second look
// The watchdog's looks: the first, the second, and one more when the
// second was late.
const FIRST = 0;
const SECOND = 1;
const AGAIN = 2;

// dashboardURL returns the WebSocket URL of the gateway's dashboard hub,
// on the page's own origin.
export function dashboardURL(loc = window.location) {
  const url = new URL("/ws/dashboard", loc.href);
  url.protocol = loc.protocol === "https:" ? "wss:" : "ws:";
  url.hash = "";
  url.search = "";
  return url.href;
}

// retryDelay returns how long to wait before retry number attempt (from
// 0): doubling from minDelay up to maxDelay, with the upper half jittered
// (random in [0, 1)) so that screens cut off together do not return
// together.
export function retryDelay(attempt, random, minDelay, maxDelay) {
  const base = Math.min(maxDelay, minDelay * 2 ** attempt);
  return base / 2 + random * (base / 2);
}

// Connection is one logical connection to the hub over successive
// WebSockets. onClose({code, reason, opened}) runs each time a socket
// closes other than by stop, or is dropped as cut off (code 1006), before
// the retry is scheduled: opened says whether that socket ever opened (a
// refused upgrade never does, and its status is hidden from the page).
// newSocket, minDelay, maxDelay, silence, grace, openTimeout and now are
// there for tests.
export class Connection {
  constructor(
    url,
    {
      newSocket = (u) => new WebSocket(u),
      minDelay = MIN_DELAY,
      maxDelay = MAX_DELAY,
      silence = SILENCE,
      grace = GRACE,
      openTimeout = OPEN_TIMEOUT,
      now = () => performance.now(),
      onClose = () => {},
    } = {},
  ) {
    this.url = url;
    this.newSocket = newSocket;
    this.onClose = onClose;
    this.minDelay = minDelay;
    this.maxDelay = maxDelay;
    this.silence = silence;
    this.grace = grace;
    this.openTimeout = openTimeout;
    this.now = now;
    this.handlers = null;
    this.ws = null;
    this.attempt = 0;
    this.timer = 0;
    this.watchdog = 0;
    this.heard = 0; // when the socket last opened or said anything
    this.seq = 0; // the number of the socket's last frame
    this.state = "";
    // Retry at once when the network comes back rather than waiting out
    // the backoff.
    this.onOnline = () => {
      if (!this.ws && this.timer) {
        clearTimeout(this.timer);
        this.timer = 0;
        this.connect();
      }
    };
  }

  // start connects and keeps connecting. handlers.onOpen runs after every
  // (re)connection, onMessage(msg, seq) for each message that is a JSON
  // object, with its number on this socket (heartbeats are not numbered,
  // and not passed on), onState with "connecting", "live" or
  // "reconnecting".
  start(handlers) {
    this.handlers = handlers;
    this.setState("connecting");
    window.addEventListener("online", this.onOnline);
    this.connect();
  }

  // stop closes the connection for good.
  stop() {
    window.removeEventListener("online", this.onOnline);
    clearTimeout(this.timer);
    clearTimeout(this.watchdog);
    this.timer = 0;
    this.watchdog = 0;
    const ws = this.ws;
    this.ws = null;
    if (ws) ws.close();
  }

  get open() {
    return this.ws !== null && this.ws.readyState === WebSocket.OPEN;
  }

  // send writes msg as JSON; it reports false when not connected (the
  // owner sends its subscriptions again on the next onOpen).
  send(msg) {
    if (!this.open) return false;
    this.ws.send(JSON.stringify(msg));
    return true;
  }

  setState(state) {
    if (state === this.state) return;
    this.state = state;
    this.handlers.onState(state);
  }

  connect() {
    let ws;
    try {
      ws = this.newSocket(this.url);
    } catch (err) {
      console.error("watchfloor: cannot open WebSocket", err);
      this.retry();
      return;
    }
    this.ws = ws;
    this.seq = 0;
    this.heard = this.now();
    let opened = false;
    this.watch(ws, () => opened);
    ws.addEventListener("open", () => {
      if (this.ws !== ws) return;
      opened = true;
      this.heard = this.now();
      clearTimeout(this.watchdog);
      this.watch(ws, () => opened);
      this.attempt = 0;
      this.setState("live");
      this.handlers.onOpen();
    });
    ws.addEventListener("message", (e) => {
      if (this.ws !== ws) return;
      this.heard = this.now();
      let msg;
      try {
        msg = typeof e.data === "string" ? JSON.parse(e.data) : undefined;
      } catch (err) {
        console.error("watchfloor: bad JSON from gateway", err, e.data.slice(0, 200));
      }
      const object = msg !== null && typeof msg === "object" && !Array.isArray(msg);
      if (object && msg.type === "heartbeat") return; // a sign of life, not a frame
      // The hub numbers every frame it sends but heartbeats, whatever it
      // holds: so does the page.
      this.seq++;
      if (!object) return; // only JSON objects
      try {
        this.handlers.onMessage(msg, this.seq);
      } catch (err) {
        console.error("watchfloor: handling message failed", err, msg);
      }
    });
    ws.addEventListener("close", (e) => {
      if (this.ws !== ws) return;
      this.lost({ code: e.code ?? 1006, reason: e.reason ?? "", opened });
    });
    // "error" is always followed by "close", which does the work.
  }

  // watch keeps a watchdog on ws: it must open within openTimeout and,
  // once open, hear something every silence, or it is dropped. One timer,
  // re-armed from when the socket was last heard, not one per message.
  // A second look that came more than grace late was held up by the
  // page's own work, and messages that came meanwhile may still be waiting
  // behind it: it looks once more, after them, before it believes the
  // silence. Only once: a background tab's timers are all late, and a
  // dead link must still be noticed there.
  watch(ws, opened) {
    const arm = (delay, look) => {
      delay = Math.max(0, delay);
      const due = this.now() + delay;
      this.watchdog = setTimeout(() => check(look, due), delay);
    };
    const check = (look, due) => {
      if (this.ws !== ws) return;
      const limit = opened() ? this.silence : this.openTimeout;
      const at = this.now();
      const quiet = at - this.heard;
      if (quiet < limit - this.grace) arm(limit - this.grace - quiet, FIRST);
      else if (look === FIRST || quiet < limit) arm(Math.max(limit - quiet, CONFIRM), SECOND);
      else if (look === SECOND && at - due > this.grace) arm(CONFIRM, AGAIN);
      else this.cutOff(ws, opened(), quiet);
    };
    arm((opened() ? this.silence : this.openTimeout) - this.grace, FIRST);
  }

  // cutOff drops a socket that has heard nothing for too long, without
  // waiting for its close: on a dead link the closing handshake can take
  // as long as the silence it ends.
  cutOff(ws, opened, quiet) {
    const what = opened ? "nothing from the gateway" : "no answer from the gateway";
    console.warn("watchfloor: " + what + " for " + Math.round(quiet) + " ms; reconnecting");
    this.ws = null;
    ws.close();
    this.lost({ code: 1006, reason: what, opened });
  }

  // lost reports a socket gone and schedules the next.
  lost(info) {
    clearTimeout(this.watchdog);
    this.watchdog = 0;
    this.ws = null;
    try {
      this.onClose(info);
    } catch (err) {
      console.error("watchfloor: onClose failed", err);
    }
    this.retry();
  }

  retry() {
    this.setState("reconnecting");
    const delay = retryDelay(this.attempt, Math.random(), this.minDelay, this.maxDelay);
    this.attempt = Math.min(this.attempt + 1, 16);
    this.timer = setTimeout(() => {
      this.timer = 0;
      this.connect();
    }, delay);
  }
}
