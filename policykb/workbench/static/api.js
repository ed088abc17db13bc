// The page's only door to the service: every call to the /v1 routes goes through here.
// A problem+json answer becomes an ApiError carrying the problem list (path + message per field).

export class ApiError extends Error {
  constructor(status, body) {
    super(body?.detail || body?.title || `HTTP ${status}`);
    this.status = status;
    this.body = body || {};
    this.problems = (body?.problems || body?.errors || []).map((p) => ({
      where: p.where ?? p.path ?? p.field ?? "",
      message: p.message ?? p.detail ?? String(p),
    }));
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

async function call(method, path, { params, json, body, headers, as = "json" } = {}) {
  const init = { method, headers: { Accept: "application/json, application/problem+json", ...(headers || {}) } };
  if (json !== undefined) {
    init.body = JSON.stringify(json);
    init.headers["Content-Type"] = "application/json";
  } else if (body !== undefined) {
    init.body = body;
  }
  const response = await fetch(path + query(params), init);
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
  audit: (form, format, readings) =>
    call("POST", "/v1/audit", { params: { format, reading: readingParams(readings) }, body: form, as: format === "json" || !format ? "text" : "blob" }),
  document: (text) => call("POST", "/workbench/document", { body: text, headers: { "Content-Type": /^\s*[[{]/.test(text) ? "application/json" : "application/yaml" } }),
  example: (name) => call("GET", `/workbench/examples/${encodeURIComponent(name)}`),
  exampleFile: (path) => call("GET", `/workbench/examples/${path}`, { as: "blob" }),
};
