// Severities, from least to most severe, and how a page shows them: by
// colour (style.css keys on data-severity) and always by a shape and a
// word as well, so that nothing depends on telling colours apart.

const KNOWN = new Set(["undefined", "ok", "warning", "critical"]);

// ICONS are shapes that differ without colour.
const ICONS = { undefined: "○", ok: "✔", warning: "▲", critical: "✖" };

// severity returns s if it names a severity, else "undefined".
export function severity(s) {
  return KNOWN.has(s) ? s : "undefined";
}

// severityShape returns the shape that shows severity s, as text.
export function severityShape(s) {
  return ICONS[severity(s)];
}

// severityIcon returns an element showing severity s as a shape, with the
// word for screen readers and a tooltip.
export function severityIcon(doc, s) {
  const sev = severity(s);
  const el = doc.createElement("span");
  el.className = "sev-icon";
  el.dataset.severity = sev;
  el.setAttribute("role", "img");
  el.setAttribute("aria-label", sev);
  el.title = sev;
  el.textContent = ICONS[sev];
  return el;
}

// severityCounts returns an element with the critical and warning counts
// of counts ({critical: n, warning: n, …}), each with its shape and word;
// it is empty when both are zero.
export function severityCounts(doc, counts) {
  const el = doc.createElement("span");
  el.className = "sev-counts";
  for (const sev of ["critical", "warning"]) {
    const n = counts && Number.isFinite(counts[sev]) ? counts[sev] : 0;
    if (n === 0) continue;
    const c = doc.createElement("span");
    c.className = "sev-count";
    c.dataset.severity = sev;
    c.dataset.count = String(n);
    c.title = n + " " + sev + (n === 1 ? " cell" : " cells");
    // Read aloud as "2 critical": the shape is for the eye.
    const shape = doc.createElement("span");
    shape.setAttribute("aria-hidden", "true");
    shape.textContent = ICONS[sev] + " ";
    const word = doc.createElement("span");
    word.className = "visually-hidden";
    word.textContent = " " + sev;
    c.append(shape, String(n), word);
    el.appendChild(c);
  }
  return el;
}
