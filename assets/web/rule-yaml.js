// A rule's definition as YAML text, for the rule editor. The API gives a
// rule as JSON (its def); engineers edit it as the configuration file's
// YAML, which the API takes too and places every problem in at its line
// and column. So the editor writes the def out as YAML in the order the
// gateway gives its keys, every string plain where YAML would read it
// back as the same string, quoted where it would not (a pattern starting
// with "*" is an alias to YAML; "true" a boolean, "30" a number).

// Strings YAML (1.1 or 1.2) reads as something other than a string.
const NOT_A_STRING = [
  /^(?:true|false|yes|no|on|off|y|n|null|~)$/i,
  /^[-+]?(?:[0-9][0-9_]*)?(?:\.[0-9_]*)?(?:[eE][-+]?[0-9]+)?$/,
  /^[-+]?0[xob]/i,
  /^[-+]?\.(?:inf|nan)$/i,
  /^[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}/,
  /^[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$/,
];

// plain reports whether s may be written as a plain scalar, in a flow
// list if flow.
function plain(s, flow) {
  if (s === "" || s !== s.trim()) return false;
  if (/^[-?:,[\]{}#&*!|>'"%@`]/.test(s)) return false;
  if (/: |:$| #|\t|[\x00-\x1f\x7f]/.test(s)) return false;
  if (flow && /[,[\]{}]/.test(s)) return false;
  return !NOT_A_STRING.some((re) => re.test(s));
}

// scalar writes one value, in a flow list if flow.
function scalar(v, flow = false) {
  if (v === null || v === undefined) return "null";
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  const s = String(v);
  if (plain(s, flow)) return s;
  // Single quotes keep the text as it stands (only ' is doubled), so the
  // gateway's columns inside it are the editor's; text with line breaks
  // or control characters needs double quotes' escapes, which JSON's are.
  if (!/[\x00-\x1f\x7f]/.test(s)) return "'" + s.replaceAll("'", "''") + "'";
  return JSON.stringify(s);
}

function isScalar(v) {
  return v === null || typeof v !== "object";
}

// emit appends the lines of object obj, indented by indent, to out.
function emit(obj, indent, out) {
  const pad = " ".repeat(indent);
  for (const [k, v] of Object.entries(obj)) {
    if (v === undefined) continue;
    const key = pad + scalar(k) + ":";
    if (isScalar(v)) {
      out.push(key + " " + scalar(v));
    } else if (Array.isArray(v)) {
      if (v.length === 0) out.push(key + " []");
      else if (v.every((e) => isScalar(e) && plain(String(e), true))) out.push(key + " [" + v.map((e) => scalar(e, true)).join(", ") + "]");
      else {
        out.push(key);
        // JSON is YAML: an element that is itself a list or an object is
        // written as its JSON, on its line.
        for (const e of v) out.push(pad + "  - " + (isScalar(e) ? scalar(e) : JSON.stringify(e)));
      }
    } else if (Object.keys(v).length === 0) {
      out.push(key + " {}");
    } else {
      out.push(key);
      emit(v, indent + 2, out);
    }
  }
}

// ruleYAML returns def (a rule as the API gives it) as YAML text, ending
// with a newline.
export function ruleYAML(def) {
  const out = [];
  emit(def && typeof def === "object" ? def : {}, 0, out);
  return out.length ? out.join("\n") + "\n" : "";
}

// newRuleYAML is the text a new rule starts from: a cell rule named name.
export function newRuleYAML(name) {
  return ruleYAML({
    name: name || "new-rule",
    description: "What this rule says is wrong",
    match: "*/*/cpu/cpu/total/utilisation",
    critical: { when: "value > 90", for: "30s" },
    warning: { when: "value > 75" },
  });
}
