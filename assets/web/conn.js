// The dashboard WebSocket: connects, reconnects with jittered backoff, and
// hands every JSON message to its owner (the store).

const MIN_DELAY = 500; // ms before the first retry
const MAX_DELAY = 10000; // ms, the longest wait between retries

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
// closes other than by stop, before the retry is scheduled: opened says
// whether that socket ever opened (a refused upgrade never does, and its
// status is hidden from the page). newSocket, minDelay and maxDelay are
// there for tests.
export class Connection {
  constructor(url, { newSocket = (u) => new WebSocket(u), minDelay = MIN_DELAY, maxDelay = MAX_DELAY, onClose = () => {} } = {}) {
    this.url = url;
    this.newSocket = newSocket;
    this.onClose = onClose;
    this.minDelay = minDelay;
    this.maxDelay = maxDelay;
    this.handlers = null;
    this.ws = null;
    this.attempt = 0;
    this.timer = 0;
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
  // (re)connection, onMessage for each message that is a JSON object,
  // onState with "connecting", "live" or "reconnecting".
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
    this.timer = 0;
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
    let opened = false;
    ws.addEventListener("open", () => {
      if (this.ws !== ws) return;
      opened = true;
      this.attempt = 0;
      this.setState("live");
      this.handlers.onOpen();
    });
    ws.addEventListener("message", (e) => {
      if (this.ws !== ws) return;
      if (typeof e.data !== "string") return; // only JSON text frames
      let msg;
      try {
        msg = JSON.parse(e.data);
      } catch (err) {
        console.error("watchfloor: bad JSON from gateway", err, e.data.slice(0, 200));
        return;
      }
      if (msg === null || typeof msg !== "object" || Array.isArray(msg)) return;
      try {
        this.handlers.onMessage(msg);
      } catch (err) {
        console.error("watchfloor: handling message failed", err, msg);
      }
    });
    ws.addEventListener("close", (e) => {
      if (this.ws !== ws) return;
      this.ws = null;
      try {
        this.onClose({ code: e.code ?? 1006, reason: e.reason ?? "", opened });
      } catch (err) {
        console.error("watchfloor: onClose failed", err);
      }
      this.retry();
    });
    // "error" is always followed by "close", which does the work.
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
