// Runs every test module and publishes the results as
// window.testResults = {passed, failed, failures: [{name, message}], done}
// for gateway/internal/webtest, and on the page for people.

import { run } from "./runner.js";
import "./paths.test.js";
import "./conn.test.js";
import "./store.test.js";
import "./router.test.js";
import "./dataview-model.test.js";
import "./tree-model.test.js";
import "./incidents-model.test.js";
import "./grid.test.js";
import "./chart.test.js";
import "./tree.test.js";
import "./session.test.js";
import "./login.test.js";
import "./tradingday.test.js";
import "./admin.test.js";
import "./alerts.test.js";
import "./diff.test.js";
import "./rules.test.js";
import "./wall.test.js";
import "./entity.test.js";
import "./incidents.test.js";
import "./report.test.js";

window.testsStarted = true;
const results = await run();
window.testResults = { ...results, done: true };

const summary = document.getElementById("summary");
summary.textContent = results.passed + " passed, " + results.failed + " failed";
summary.dataset.ok = String(results.failed === 0);
const list = document.getElementById("failures");
for (const f of results.failures) {
  const li = document.createElement("li");
  li.textContent = f.name + ": " + f.message;
  list.appendChild(li);
}
