// The dashboard WebSocket: connects, reconnects with backoff, and hands
// every JSON message to the page.

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

export class Connection {
  // onOpen runs after every (re)connection, onMessage for each parsed
  // message, onState with "connecting", "live" or "reconnecting".
  constructor(url, { onOpen, onMessage, onState }) {
    this.url = url;
    this.onOpen = onOpen;
    this.onMessage = onMessage;
    this.onState = onState;
    this.ws = null;
    this.attempt = 0;
    this.timer = 0;
    this.state = "";
  }

  start() {
    this.setState("connecting");
    this.connect();
    // Retry at once when the network comes back rather than waiting out
    // the backoff.
    window.addEventListener("online", () => {
      if (!this.ws && this.timer) {
        clearTimeout(this.timer);
        this.timer = 0;
        this.connect();
      }
    });
  }

  get open() {
    return this.ws !== null && this.ws.readyState === WebSocket.OPEN;
  }

  // send writes msg as JSON; it reports false when not connected (the
  // subscription is then sent again on the next connection).
  send(msg) {
    if (!this.open) return false;
    this.ws.send(JSON.stringify(msg));
    return true;
  }

  setState(state) {
    if (state === this.state) return;
    this.state = state;
    this.onState(state);
  }

  connect() {
    let ws;
    try {
      ws = new WebSocket(this.url);
    } catch (err) {
      console.error("watchfloor: cannot open WebSocket", err);
      this.retry();
      return;
    }
    this.ws = ws;
    ws.addEventListener("open", () => {
      if (this.ws !== ws) return;
      this.attempt = 0;
      this.setState("live");
      this.onOpen();
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
        this.onMessage(msg);
      } catch (err) {
        console.error("watchfloor: handling message failed", err, msg);
      }
    });
    ws.addEventListener("close", () => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.retry();
    });
    // "error" is always followed by "close", which does the work.
  }

  retry() {
    this.setState("reconnecting");
    const base = Math.min(MAX_DELAY, MIN_DELAY * 2 ** this.attempt);
    this.attempt = Math.min(this.attempt + 1, 16);
    const delay = base / 2 + Math.random() * (base / 2); // jitter
    this.timer = setTimeout(() => {
      this.timer = 0;
      this.connect();
    }, delay);
  }
}
