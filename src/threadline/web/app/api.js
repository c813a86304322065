// Calls to threadline's HTTP API: JSON in, JSON out, the API key added, 401 answered by asking for a
// key and trying again, and every other error turned into an ApiError with the server's message.

import { askForKey, getKey } from "./auth.js";

const BASE = "/api/v1";

/**
 * An error answer of the API: `status` (0 when the server could not be reached), its machine-readable
 * `code` (`not_found`, `ambiguous_run_id`, ...: what to branch on) and its message (for people).
 */
export class ApiError extends Error {
  constructor(status, message, url, code = "") {
    super(message);
    this.status = status;
    this.url = url;
    this.code = code;
  }

  /** What to tell the user, with what to do next. */
  get advice() {
    if (this.status === 401) return "The API key was not accepted. Enter a key from `threadline token create`.";
    if (this.status === 403)
      return "The API key's scope is too low for this page; browsing needs a key with the read scope.";
    if (this.status === 404) return "It does not exist (any more?) on this server.";
    if (this.status === 0) return "The server could not be reached. Is `threadline serve` running?";
    return "";
  }
}

/** Build a query string from an object, leaving out empty values. */
export function query(params) {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params || {})) {
    if (value === null || value === undefined || value === "") continue;
    search.set(key, String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : "";
}

/** A path segment: names hold "/" and ":" (namespaces are URLs), so encode everything. */
export const seg = (text) => encodeURIComponent(text);

/**
 * Send `method` to `path` (under /api/v1), with `body` as JSON when given, and return the decoded JSON
 * answer. `signal` aborts it (a newer view replaced this one). A 401 (no key, or one not accepted) asks
 * for a key once, with the server's message, then tries again; so does a 403 with `scopeRetry` (a key
 * whose scope is too low for a write the user asked for). Every other error is an ApiError.
 */
export async function request(method, path, body, { signal, scopeRetry = false, retried = false } = {}) {
  const url = `${BASE}${path}`;
  const headers = { Accept: "application/json" };
  const init = { method, headers, signal };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const key = getKey();
  if (key) headers.Authorization = `Bearer ${key}`;
  let response;
  try {
    response = await fetch(url, init);
  } catch (error) {
    if (error.name === "AbortError") throw error;
    throw new ApiError(0, `could not reach the server (${error.message})`, url);
  }
  if (response.ok) return response.json();
  let message = `${response.status} ${response.statusText}`;
  let code = "";
  try {
    const answer = await response.json(); // {status, code, message} (server/api/errors.py)
    message = answer.message || answer.error || message;
    code = typeof answer.code === "string" ? answer.code : "";
  } catch {
    /* not JSON: keep the status line */
  }
  const askAgain = response.status === 401 || (scopeRetry && response.status === 403);
  // Sent before a key was entered, answered after: several requests of a page go out at once, and a
  // slow one's refusal may come back after the dialog closed. Try it again with the new key rather
  // than ask again for the key just given.
  const current = getKey();
  if (askAgain && current && current !== key) {
    return request(method, path, body, { signal, scopeRetry, retried });
  }
  if (askAgain && !retried) {
    await askForKey(message);
    window.dispatchEvent(new Event("threadline:key"));
    return request(method, path, body, { signal, scopeRetry, retried: true });
  }
  throw new ApiError(response.status, message, url, code);
}

/** GET `path` (under /api/v1) and return the decoded JSON; errors as `request`'s. */
export const get = (path, options = {}) => request("GET", path, undefined, options);

/** POST `body` as JSON to `path` (under /api/v1) and return the decoded answer; errors as `request`'s. */
export const post = (path, body = {}, options = {}) => request("POST", path, body, options);

// ---- the endpoints the UI uses ---------------------------------------------------------------------

export const api = {
  overview: (o) => get("/ui/overview", o),
  timespan: (o) => get("/ui/timespan", o),
  runs: (params, o) => get(`/ui/runs${query(params)}`, o),
  events: (params, o) => get(`/ui/events${query(params)}`, o),
  event: (id, o) => get(`/events/${seg(id)}`, o),
  columns: (q, o) => get(`/ui/columns${query({ q, limit: 6 })}`, o),
  search: (q, limit, o) => get(`/search${query({ q, limit, sort: "RELEVANCE" })}`, o),
  searchPage: (params, o) => get(`/search${query({ ...params, sort: "NAME" })}`, o),
  lineage: (params, o) => get(`/ui/lineage${query(params)}`, o),
  columnLineage: (params, o) => get(`/column-lineage${query(params)}`, o),
  impact: (nodeId, o) => get(`/lineage/impact${query({ nodeId })}`, o),
  path: (from, to, o) => get(`/lineage/path${query({ from, to })}`, o),
  runPage: (runId, compare, o) => get(`/ui/pages/run${query({ runId, compare })}`, o),
  dataset: (ns, name, o) => get(`/namespaces/${seg(ns)}/datasets/${seg(name)}`, o),
  job: (ns, name, o) => get(`/namespaces/${seg(ns)}/jobs/${seg(name)}`, o),
  jobPage: (namespace, name, o) => get(`/ui/pages/job${query({ namespace, name })}`, o),
  datasetPage: (namespace, name, o) => get(`/ui/pages/dataset${query({ namespace, name })}`, o),
  pipelines: (o) => get("/pipelines", o),
  pipelineRun: (runId, o) => get(`/pipeline-runs/${seg(runId)}`, o),
  approvePipelineRun: (runId, o) => post(`/pipeline-runs/${seg(runId)}/approve`, {}, o),
  datasetQuality: (nodeId, o) => get(`/ui/dataset-quality${query({ nodeId })}`, o),
  runLineage: (runId, o, params = {}) =>
    get(`/lineage/runs${query({ runId, direction: "both", depth: 2, ...params })}`, o),
};
