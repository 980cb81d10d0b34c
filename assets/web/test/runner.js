// A small test runner for the dashboard's modules, run in a real browser
// by test/index.html. Tests run one at a time, in the order they were
// registered; a test may be async and may register cleanups.

const tests = [];

// test registers fn under name. fn gets {cleanup(f)}: f runs after the
// test, pass or fail, latest first.
export function test(name, fn) {
  tests.push({ name, fn });
}

class AssertionError extends Error {}

function fail(message) {
  throw new AssertionError(message);
}

function show(v) {
  if (v instanceof Map) return "Map " + show([...v]);
  if (v instanceof Set) return "Set " + show([...v]);
  try {
    const s = JSON.stringify(v);
    return s === undefined ? String(v) : s;
  } catch {
    return String(v);
  }
}

function same(a, b) {
  if (Object.is(a, b)) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return false;
  if (a instanceof Map || a instanceof Set) return same([...a], [...b]);
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  return ka.length === kb.length && ka.every((k) => Object.hasOwn(b, k) && same(a[k], b[k]));
}

// assert's checks throw with what was checked, what was got and what was
// wanted.
export const assert = {
  ok(v, what) {
    if (!v) fail(what + ": got " + show(v));
  },
  equal(got, want, what) {
    if (!Object.is(got, want)) fail(what + ": got " + show(got) + ", want " + show(want));
  },
  deepEqual(got, want, what) {
    if (!same(got, want)) fail(what + ": got " + show(got) + ", want " + show(want));
  },
};

function message(err) {
  if (err instanceof AssertionError) return err.message;
  return err instanceof Error ? err.name + ": " + err.message : "thrown: " + show(err);
}

// within resolves as promise does, or rejects after ms.
async function within(promise, ms) {
  let timer;
  const late = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error("timed out after " + ms + " ms")), ms);
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

// run runs every registered test and returns
// {passed, failed, failures: [{name, message}]}. An exception that
// escapes (an event handler's, a timer's) fails the test that is running.
export async function run({ timeoutMs = 5000 } = {}) {
  const failures = [];
  let passed = 0;
  let current = "(between tests)";
  const uncaught = (e) => {
    const err = e.type === "unhandledrejection" ? e.reason : e.error ?? e.message;
    failures.push({ name: current, message: "uncaught " + message(err) });
  };
  window.addEventListener("error", uncaught);
  window.addEventListener("unhandledrejection", uncaught);
  for (const t of tests) {
    current = t.name;
    const before = failures.length;
    const cleanups = [];
    try {
      await within(Promise.resolve().then(() => t.fn({ cleanup: (f) => cleanups.push(f) })), timeoutMs);
    } catch (err) {
      failures.push({ name: t.name, message: message(err) });
    }
    for (const f of cleanups.reverse()) {
      try {
        await f();
      } catch (err) {
        failures.push({ name: t.name, message: "cleanup: " + message(err) });
      }
    }
    if (failures.length === before) passed++;
  }
  window.removeEventListener("error", uncaught);
  window.removeEventListener("unhandledrejection", uncaught);
  return { passed, failed: tests.length - passed, failures };
}
