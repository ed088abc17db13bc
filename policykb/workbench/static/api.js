// The page's only door to the service: every call to the /v1 routes goes through here.
// A problem+json answer becomes an ApiError carrying the problem list (path + message per field).

import { t } from "./format.js";

export class ApiError extends Error {
  constructor(status, body) {
    super(body?.detail || body?.title || `HTTP ${status}`);
    this.status = status;
    this.body = body || {};
    // RFC 9457 problem document with the CLI's problem list: [{where, message}]
    this.problems = (body?.problems || []).map((p) => ({ where: p.where || "", message: p.message || "" }));
  }
}

let policy = "";
export function usePolicy(id) { policy = id; }

function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {})) {
    if (v == null || v === "") continue;
    if (Array.isArray(v)) v.forEach((x) => q.append(k, x));
    else q.append(k, v);
  }
  const s = q.toString();
  return s ? `?${s}` : "";
}

/** `?reading=I-09:declared_only` for each reading switched away from its default. */
export function readingParams(readings) {
  return Object.entries(readings || {}).sort().map(([id, option]) => `${id}:${option}`);
}

// A server started with --token-file wants "Authorization: Bearer …" on /v1: asked once, kept for the tab.
const TOKEN_KEY = "policykb-token";

async function call(method, path, options = {}, retried = false) {
  const { params, json, body, headers, as = "json" } = options;
  const init = { method, headers: { Accept: "application/json, application/problem+json", ...(headers || {}) } };
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (token) init.headers.Authorization = `Bearer ${token}`;
  if (json !== undefined) {
    init.body = JSON.stringify(json);
    init.headers["Content-Type"] = "application/json";
  } else if (body !== undefined) {
    init.body = body;
  }
  const response = await fetch(path + query(params), init);
  if (response.status === 401 && !retried) {
    const given = window.prompt(t("token_prompt"));
    if (given) {
      sessionStorage.setItem(TOKEN_KEY, given.trim());
      return call(method, path, options, true);
    }
  }
  if (!response.ok) {
    let problem = null;
    try { problem = await response.json(); } catch { problem = null; }
    throw new ApiError(response.status, problem);
  }
  if (as === "text") return response.text();
  if (as === "blob") return response.blob();
  return response.json();
}

const P = () => `/v1/policies/${encodeURIComponent(policy)}`;

export const api = {
  policies: () => call("GET", "/v1/policies"),
  vocabulary: () => call("GET", `${P()}/vocabulary`),
  items: () => call("GET", `${P()}/items`),
  readings: () => call("GET", `${P()}/readings`),
  graph: () => call("GET", `${P()}/graph`, { params: { format: "json" } }),
  text: () => call("GET", `${P()}/text`, { as: "text" }),
  evaluate: (application, readings) =>
    call("POST", "/v1/evaluate", { params: { reading: readingParams(readings) }, json: application }),
  why: (application, readings, item, subject) =>
    call("POST", `/v1/why/${encodeURIComponent(item)}`, { params: { subject, reading: readingParams(readings) }, json: application }),
  whatif: (application, readings, change) =>
    call("POST", "/v1/whatif", { params: { reading: readingParams(readings) }, json: { application, ...change } }),
  qualify: (application, readings, item, subject) =>
    call("POST", `/v1/qualify/${encodeURIComponent(item)}`, { params: { subject, reading: readingParams(readings) }, json: application }),
  readingEffects: (application, readings) =>
    call("POST", "/v1/readings", { params: { reading: readingParams(readings) }, json: application }),
  runnersUp: (application, readings) =>
    call("POST", "/v1/runners-up", { params: { reading: readingParams(readings) }, json: application }),
  /** The audit as JSON Lines (findings, then the report head), or a whole report: format md, html. */
  audit: (form, format, readings, lang) =>
    format
      ? call("POST", "/v1/audit", { params: { format, lang, reading: readingParams(readings) }, body: form, as: "blob" })
      : call("POST", "/v1/audit", { params: { reading: readingParams(readings) }, body: form, as: "text" }),
  document: (text) => call("POST", "/workbench/document", { body: text, headers: { "Content-Type": /^\s*[[{]/.test(text) ? "application/json" : "application/yaml" } }),
  example: (name) => call("GET", `/workbench/examples/${encodeURIComponent(name)}`),
  exampleFile: (path) => call("GET", `/workbench/examples/${path}`, { as: "blob" }),
};
