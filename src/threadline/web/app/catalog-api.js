// Calls to the Data Catalog's API (/api/v1/catalog/): reads through api.js's get, and the requests that
// search, tag and untag (with the key, asking for one the server accepts, and the server's message on
// an error).

import { ApiError, get, query, seg } from "./api.js";
import { askForKey, getKey } from "./auth.js";

const BASE = "/api/v1/catalog";

/**
 * Send `body` as JSON to `path` (under /api/v1/catalog) with `method` and return the decoded answer.
 * A 401 (no key, or one not accepted) or a 403 (a key whose scope is too low: browsing takes a read
 * key, tagging a write key) asks for a key once, with the server's message, then tries again.
 */
async function send(method, path, body, { signal, retried = false } = {}) {
  const url = `${BASE}${path}`;
  const headers = { Accept: "application/json", "Content-Type": "application/json" };
  const key = getKey();
  if (key) headers.Authorization = `Bearer ${key}`;
  let response;
  try {
    const init = { method, headers, signal };
    if (body !== undefined) init.body = JSON.stringify(body);
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
    /* not JSON */
  }
  if ((response.status === 401 || response.status === 403) && !retried) {
    await askForKey(message);
    window.dispatchEvent(new Event("threadline:key"));
    return send(method, path, body, { signal, retried: true });
  }
  throw new ApiError(response.status, message, url, code);
}

const post = (path, body, o) => send("POST", path, body, o);
const tagPath = (group, entry) => `/entryGroups/${seg(group)}/entries/${seg(entry)}/tags`;

export const catalog = {
  search: (body, o) => post("/catalog:search", body, o),
  entry: (group, entry, o) => get(`/catalog/entryGroups/${seg(group)}/entries/${seg(entry)}`, o),
  tags: (group, entry, o) => get(`/catalog/entryGroups/${seg(group)}/entries/${seg(entry)}/tags`, o),
  history: (group, entry, o) =>
    get(`/catalog/entryGroups/${seg(group)}/entries/${seg(entry)}/history${query({ tags: true })}`, o),
  templates: (o) => get(`/catalog/tagTemplates${query({ pageSize: 1000 })}`, o),
  groups: (o) => get(`/catalog/entryGroups${query({ pageSize: 1000 })}`, o),
  suggest: (q, o) => get(`/catalog/catalog:suggest${query({ q, limit: 10 })}`, o),
  writeTag: (group, entry, tag, o) => post(tagPath(group, entry), tag, o),
  deleteTag: (group, entry, tagId, o) => send("DELETE", `${tagPath(group, entry)}/${seg(tagId)}`, undefined, o),
};
