// Sound and desktop notifications, and whether they are armed. Browsers
// play sound only after a person has clicked or pressed a key on the page,
// and show notifications only on secure pages (HTTPS, or localhost) whose
// user allowed them; so a screen arms them with one click, remembered in
// this browser, and always says whether they are armed and, when they
// cannot be, why.

// ARMED_KEY is where this browser remembers that its alerts are armed.
export const ARMED_KEY = "watchfloor.alerts.armed";

// browserPlatform is what the alerts use of the browser; tests pass their
// own.
export function browserPlatform(win = window) {
  return {
    doc: win.document,
    storage: safeStorage(win),
    Notification: typeof win.Notification === "function" ? win.Notification : null,
    AudioContext: win.AudioContext || win.webkitAudioContext || null,
    secure: win.isSecureContext === true,
    now: () => Date.now(),
    setInterval: (f, ms) => win.setInterval(f, ms),
    clearInterval: (t) => win.clearInterval(t),
    focusWindow: () => win.focus(),
  };
}

// safeStorage returns localStorage, or, where the browser refuses it, a
// store that lasts as long as the page.
function safeStorage(win) {
  try {
    const s = win.localStorage;
    s.getItem(ARMED_KEY);
    return s;
  } catch {
    const m = new Map();
    return { getItem: (k) => (m.has(k) ? m.get(k) : null), setItem: (k, v) => m.set(k, String(v)), removeItem: (k) => m.delete(k) };
  }
}

// SOUND_TEXT and NOTIFY_TEXT say each state for people.
export const SOUND_TEXT = {
  on: "Sound on",
  off: "Sound off",
  blocked: "Sound paused: click anywhere on the page to resume it",
  unsupported: "No sound: this browser cannot play it",
};
export const NOTIFY_TEXT = {
  on: "Notifications on",
  off: "Notifications off",
  denied: "Notifications blocked in this browser's settings for this site",
  insecure: "No notifications: the page is not served over HTTPS",
  unsupported: "No notifications: this browser has none",
};

// Arming holds the page's sound and notifications. Its states:
// soundState() "on", "off" (not armed), "blocked" (armed, but the browser
// waits for a click on the page), "unsupported"; notifyState() "on",
// "off", "denied", "insecure", "unsupported".
export class Arming {
  constructor(platform) {
    this.p = platform;
    this.ctx = null;
    this.handlers = new Set();
    this.armed = read(platform.storage) === "true";
    this.resumeOnGesture = () => this.resume();
    if (this.armed) this.startAudio();
  }

  // onChange calls handler whenever a state may have changed; it returns
  // the function that stops it.
  onChange(handler) {
    this.handlers.add(handler);
    return () => this.handlers.delete(handler);
  }

  changed() {
    for (const h of [...this.handlers]) h();
  }

  soundState() {
    if (!this.p.AudioContext) return "unsupported";
    if (!this.armed) return "off";
    return this.ctx && this.ctx.state === "running" ? "on" : "blocked";
  }

  notifyState() {
    const N = this.p.Notification;
    if (!N) return "unsupported";
    if (!this.p.secure) return "insecure";
    if (N.permission === "denied") return "denied";
    return this.armed && N.permission === "granted" ? "on" : "off";
  }

  // armable reports whether a click on "Arm" would change anything.
  armable() {
    return this.soundState() === "off" || this.soundState() === "blocked" || this.notifyState() === "off";
  }

  // arm is the click that arms: it asks for the notification permission
  // if the browser has not been asked, and starts the sound. Call it from
  // a click's handler, which is what lets the browser play sound.
  async arm() {
    this.armed = true;
    write(this.p.storage, "true");
    this.startAudio();
    const N = this.p.Notification;
    const asking = N && this.p.secure && N.permission === "default" ? N.requestPermission() : null;
    this.changed();
    await Promise.all([asking && asking.catch(() => "default"), this.resume()]);
    this.changed();
  }

  disarm() {
    this.armed = false;
    write(this.p.storage, "false");
    if (this.ctx) this.ctx.suspend().catch(() => {});
    this.stopWaiting();
    this.changed();
  }

  // startAudio makes the page's AudioContext. Made without a click, the
  // browser holds it suspended until one comes: any click or key on the
  // page resumes it.
  startAudio() {
    if (!this.p.AudioContext) return;
    if (!this.ctx) {
      this.ctx = new this.p.AudioContext();
      this.ctx.onstatechange = () => this.changed();
    }
    if (this.ctx.state !== "running") {
      this.p.doc.addEventListener("pointerdown", this.resumeOnGesture, true);
      this.p.doc.addEventListener("keydown", this.resumeOnGesture, true);
      this.resume();
    }
  }

  async resume() {
    if (!this.ctx || !this.armed) return;
    try {
      await this.ctx.resume();
    } catch {
      // Still suspended: the state says so.
    }
    if (!this.ctx) return; // closed meanwhile
    if (this.ctx.state === "running") this.stopWaiting();
    this.changed();
  }

  stopWaiting() {
    this.p.doc.removeEventListener("pointerdown", this.resumeOnGesture, true);
    this.p.doc.removeEventListener("keydown", this.resumeOnGesture, true);
  }

  // tone plays a short two-note tone, if sound is on, and reports whether
  // it did.
  tone() {
    if (this.soundState() !== "on") return false;
    const ctx = this.ctx;
    const t0 = ctx.currentTime;
    [880, 660].forEach((freq, i) => {
      const start = t0 + i * 0.22;
      const osc = ctx.createOscillator();
      const gain = ctx.createGain();
      osc.type = "sine";
      osc.frequency.value = freq;
      gain.gain.setValueAtTime(0.0001, start);
      gain.gain.exponentialRampToValueAtTime(0.35, start + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, start + 0.2);
      osc.connect(gain);
      gain.connect(ctx.destination);
      osc.start(start);
      osc.stop(start + 0.21);
    });
    return true;
  }

  // notify shows a desktop notification, if they are on; onClick runs when
  // it is clicked, after the page is brought forward. It returns the
  // notification, or null.
  notify(title, { body, tag }, onClick) {
    if (this.notifyState() !== "on") return null;
    let n;
    try {
      n = new this.p.Notification(title, { body, tag, requireInteraction: true });
    } catch (err) {
      // Some browsers (Android's) take notifications only from a service
      // worker: the banner and the sound still alert.
      console.warn("watchfloor: cannot show a desktop notification:", err);
      return null;
    }
    n.onclick = () => {
      this.p.focusWindow();
      n.close();
      onClick();
    };
    return n;
  }

  close() {
    this.stopWaiting();
    this.handlers.clear();
    if (this.ctx) this.ctx.close().catch(() => {});
    this.ctx = null;
  }
}

function read(storage) {
  try {
    return storage.getItem(ARMED_KEY);
  } catch {
    return null;
  }
}

function write(storage, v) {
  try {
    storage.setItem(ARMED_KEY, v);
  } catch (err) {
    console.warn("watchfloor: cannot remember the alerts' arming in this browser:", err);
  }
}
