// The rules API (docs/api.md "Rules") as the rule editor speaks it. A rule
// goes as the YAML text the engineer wrote (Content-Type
// application/yaml), so that the gateway places each problem at its line
// and column in that text; writes carry the version the editor last read
// as If-Match, so that a write over someone else's is refused (409), not
// lost.

import { ApiError } from "./session.js";

export const RULES_PATH = "/api/v1/rules";

// rulePath returns the API path of the named rule, with rest after it.
export function rulePath(name, rest = "") {
  return RULES_PATH + "/" + encodeURIComponent(name) + rest;
}

// problemsOf returns the problems of a 422 answer (err an ApiError), each
// {field, line, column, message}, or null if err is not one.
export function problemsOf(err) {
  if (!(err instanceof ApiError) || err.status !== 422 || !err.body || !Array.isArray(err.body.errors)) return null;
  return err.body.errors.map((e) => ({
    field: typeof e.field === "string" ? e.field : "",
    line: Number.isInteger(e.line) && e.line > 0 ? e.line : 0,
    column: Number.isInteger(e.column) && e.column > 0 ? e.column : 0,
    message: String(e.message ?? ""),
  }));
}

// isAbort reports whether err is a request given up on purpose.
export function isAbort(err) {
  return err instanceof DOMException && err.name === "AbortError";
}

// RulesApi calls the rules API through api (an Api).
export class RulesApi {
  constructor(api) {
    this.api = api;
  }

  list() {
    return this.api.get(RULES_PATH);
  }

  get(name) {
    return this.api.get(rulePath(name));
  }

  history(name) {
    return this.api.get(rulePath(name, "/history"));
  }

  validate(text, signal) {
    return this.send("POST", RULES_PATH + "/validate", { yaml: text, signal });
  }

  preview(text, signal) {
    return this.send("POST", RULES_PATH + "/preview?limit=200", { yaml: text, signal });
  }

  // backtest runs the rule over the history window from from ("" for
  // its start, or a duration before now such as "-15m").
  backtest(text, from = "") {
    return this.send("POST", RULES_PATH + "/backtest" + (from ? "?from=" + encodeURIComponent(from) : ""), { yaml: text });
  }

  create(text) {
    return this.send("POST", RULES_PATH, { yaml: text });
  }

  update(name, text, version) {
    return this.send("PUT", rulePath(name), { yaml: text, version });
  }

  remove(name, version) {
    return this.send("DELETE", rulePath(name), { version });
  }

  revert(name, to, version) {
    return this.send("POST", rulePath(name, "/revert"), { json: { version: to }, version });
  }

  // send makes one request: yaml or json is its body, version (if above
  // 0) its If-Match, signal may abort it. It resolves with the answer's
  // JSON and rejects with an ApiError, or the fetch's AbortError.
  send(method, path, { yaml, json, version = 0, signal } = {}) {
    const headers = version > 0 ? { "If-Match": '"' + version + '"' } : {};
    const opts = { headers, signal };
    if (yaml !== undefined) Object.assign(opts, { text: yaml, contentType: "application/yaml" });
    return this.api.request(method, path, json, opts);
  }
}
