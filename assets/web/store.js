// The subscription store: every component's subscriptions over one
// connection to the dashboard hub.
//
// Subscriptions are counted per topic: the first subscriber of a topic
// sends "subscribe", the last one to leave sends "unsubscribe". For each
// live topic the store keeps a model (see topics.js) that applies the
// topic's frames; every subscriber of the topic reads that one model, so a
// component that joins late draws the current state at once instead of
// waiting for the next snapshot. After a reconnection every live topic is
// subscribed again and the gateway's fresh snapshots replace the models'
// contents; until each has come, the store does not call itself live. A
// topic refused on the new connection counts as answered, and its model
// is replaced by one that holds only the refusal.
//
// The store lets the page pace the stream (docs/dashboard-protocol.md,
// "Pacing"): on every connection it asks the hub to be paced, and it
// acknowledges frames once they are applied and the page has had the
// chance to draw them, one ack for all the frames of an animation frame.
// While the page is busy the hub holds frames back and coalesces, and the
// page gets the latest state when it can take it, instead of a queue of
// JSON it cannot parse in time. A hidden page draws nothing and its
// animation frames stop, but it must still raise alerts: it acknowledges
// as soon as the frames are applied.

const PACE_WINDOW = 8; // frames the hub may have unacknowledged

// afterPaint calls fn once the page has drawn what it was told: after the
// next animation frame's rendering, not in it.
function afterPaint(fn) {
  requestAnimationFrame(() => setTimeout(fn, 0));
}

export class Store {
  // transport is a Connection (conn.js) or anything with its start(handlers)
  // and send(msg); modelFor(topic) returns a new model for a topic, with
  // apply(frame) returning a change or null. afterPaint(fn) and hidden()
  // are there for tests.
  constructor(transport, modelFor, { afterPaint: paint = afterPaint, hidden = () => document.visibilityState === "hidden" } = {}) {
    this.transport = transport;
    this.modelFor = modelFor;
    this.afterPaint = paint;
    this.hidden = hidden;
    this.topics = new Map(); // topic -> {model, subs: Set of {handler}}
    this.errorHandlers = new Set();
    this.stateHandlers = new Set();
    this.state = "connecting";
    this.awaiting = null; // topics whose fresh snapshot a new connection waits for
    this.seq = 0; // the last frame handled on this connection
    this.acked = 0; // the last frame acknowledged
    this.ackWait = null; // the pending ack's token: only the latest may send
  }

  start() {
    this.transport.start({
      onOpen: () => {
        this.seq = 0;
        this.acked = 0;
        this.ackWait = null;
        this.transport.send({ op: "pace", window: PACE_WINDOW });
        this.awaiting = new Set(this.topics.keys());
        for (const topic of this.topics.keys()) this.transport.send({ op: "subscribe", topic });
        this.settle();
      },
      onMessage: (msg, seq) => {
        // Acknowledged even if applying it throws: a frame never
        // acknowledged counts against the window for good.
        try {
          this.dispatch(msg);
        } finally {
          this.handled(seq);
        }
      },
      onState: (state) => {
        // "live" waits for the topics' fresh snapshots (onOpen, settle).
        if (state === "live") return;
        this.awaiting = null;
        this.setState(state);
      },
    });
    document.addEventListener("visibilitychange", () => this.visibilityChanged());
  }

  setState(state) {
    if (state === this.state) return;
    this.state = state;
    for (const h of [...this.stateHandlers]) call(h, state);
  }

  // settle declares the connection live once every topic held when it
  // opened has had its first frame on it.
  settle() {
    if (this.awaiting && this.awaiting.size === 0) {
      this.awaiting = null;
      this.setState("live");
    }
  }

  // subscribe calls handler(model, change) with the topic's model: right
  // away, before subscribe returns, with change {full: true} (draw it all),
  // and then with each frame's change. It returns the function that ends this
  // subscription (calling it again does nothing).
  subscribe(topic, handler) {
    let entry = this.topics.get(topic);
    if (!entry) {
      entry = { model: this.modelFor(topic), subs: new Set() };
      this.topics.set(topic, entry);
      this.transport.send({ op: "subscribe", topic });
    }
    const sub = { handler };
    entry.subs.add(sub);
    call(handler, entry.model, { full: true });
    return () => {
      if (!entry.subs.delete(sub) || entry.subs.size > 0) return;
      this.topics.delete(topic);
      this.transport.send({ op: "unsubscribe", topic });
      if (this.awaiting && this.awaiting.delete(topic)) this.settle();
    };
  }

  // onError calls handler(message) for every error frame that names no
  // topic this store holds; it returns the function that stops it.
  onError(handler) {
    this.errorHandlers.add(handler);
    return () => this.errorHandlers.delete(handler);
  }

  // onState calls handler(state) now and on every change of the
  // connection's state: "connecting", "live" (connected, and every topic
  // has had its snapshot since) or "reconnecting" (cut off: what the page
  // shows is not live); it returns the function that stops it.
  onState(handler) {
    this.stateHandlers.add(handler);
    call(handler, this.state);
    return () => this.stateHandlers.delete(handler);
  }

  dispatch(msg) {
    const entry = typeof msg.topic === "string" ? this.topics.get(msg.topic) : undefined;
    if (!entry) {
      // Late frames of a topic just left are dropped; errors are not.
      if (msg.type === "error") {
        if (this.errorHandlers.size === 0) console.error("watchfloor: gateway error", msg);
        for (const h of [...this.errorHandlers]) call(h, String(msg.message ?? ""));
      }
      return;
    }
    if (this.awaiting && this.awaiting.delete(msg.topic)) {
      if (msg.type === "error") {
        // Refused on this connection: no fresh snapshot will replace what
        // the last one showed, so it goes, and the error is all there is.
        entry.model = this.modelFor(msg.topic);
        entry.model.apply(msg);
        this.settle();
        for (const sub of [...entry.subs]) {
          if (entry.subs.has(sub)) call(sub.handler, entry.model, { full: true });
        }
        return;
      }
      this.settle();
    }
    const change = entry.model.apply(msg);
    if (!change) return;
    // A handler may subscribe or unsubscribe others: go over a copy and
    // skip whoever left meanwhile.
    for (const sub of [...entry.subs]) {
      if (entry.subs.has(sub)) call(sub.handler, entry.model, change);
    }
  }

  // handled notes that frame seq has been applied and has the ack
  // scheduled: after the next paint, or at once in a hidden page, whose
  // animation frames do not run. A transport that does not number its
  // frames is not paced.
  handled(seq) {
    if (typeof seq !== "number") return;
    this.seq = seq;
    if (this.ackWait) return; // the pending ack will cover it
    const token = {};
    this.ackWait = token;
    const fire = () => {
      if (this.ackWait !== token) return; // sent already, or a new connection
      this.ackWait = null;
      this.ack();
    };
    if (this.hidden()) setTimeout(fire, 0);
    else this.afterPaint(fire);
  }

  ack() {
    if (this.seq > this.acked && this.transport.send({ op: "ack", seq: this.seq })) this.acked = this.seq;
  }

  // visibilityChanged sends the pending ack at once when the page is
  // hidden: the paint it waits for will not come.
  visibilityChanged() {
    if (!this.hidden() || !this.ackWait) return;
    this.ackWait = null;
    this.ack();
  }
}

// call runs a handler so that one that throws cannot starve the others.
function call(handler, ...args) {
  try {
    handler(...args);
  } catch (err) {
    console.error("watchfloor: subscriber failed", err);
  }
}
