// A classic script, run before the test modules: if any of them fails to
// load (a syntax error, a missing import), none of them runs, so this
// publishes the failure instead of leaving the page silent. It listens in
// the capture phase, where a script element's load error passes too.

window.addEventListener(
  "error",
  (e) => {
    if (window.testsStarted) return; // the runner reports its own errors
    const message =
      e instanceof ErrorEvent
        ? e.message + " (" + e.filename + ":" + e.lineno + ")"
        : "cannot load " + (e.target.src || e.target.href) + " or a module it imports";
    window.testResults = { passed: 0, failed: 1, failures: [{ name: "loading the test modules", message }], done: true };
  },
  true,
);
