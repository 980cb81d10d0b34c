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
// contents.

export class Store {
  // transport is a Connection (conn.js) or anything with its start(handlers)
  // and send(msg); modelFor(topic) returns a new model for a topic, with
  // apply(frame) returning a change or null.
  constructor(transport, modelFor) {
    this.transport = transport;
    this.modelFor = modelFor;
    this.topics = new Map(); // topic -> {model, subs: Set of {handler}}
    this.errorHandlers = new Set();
    this.stateHandlers = new Set();
    this.state = "connecting";
  }

  start() {
    this.transport.start({
      onOpen: () => {
        for (const topic of this.topics.keys()) this.transport.send({ op: "subscribe", topic });
      },
      onMessage: (msg) => this.dispatch(msg),
      onState: (state) => {
        this.state = state;
        for (const h of [...this.stateHandlers]) call(h, state);
      },
    });
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
    };
  }

  // onError calls handler(message) for every error frame that names no
  // topic this store holds; it returns the function that stops it.
  onError(handler) {
    this.errorHandlers.add(handler);
    return () => this.errorHandlers.delete(handler);
  }

  // onState calls handler(state) now and on every change of the
  // connection's state ("connecting", "live", "reconnecting"); it returns
  // the function that stops it.
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
    const change = entry.model.apply(msg);
    if (!change) return;
    // A handler may subscribe or unsubscribe others: go over a copy and
    // skip whoever left meanwhile.
    for (const sub of [...entry.subs]) {
      if (entry.subs.has(sub)) call(sub.handler, entry.model, change);
    }
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
