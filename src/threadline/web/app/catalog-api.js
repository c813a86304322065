// Calls to the Data Catalog's API (/api/v1/catalog/): reads through api.js's get, and the POSTs that
// search and tag (with the key, and the server's message on an error).

import { ApiError, get, query, seg } from "./api.js";
import { getKey } from "./auth.js";

const BASE = "/api/v1/catalog";

/** POST `body` as JSON to `path` (under /api/v1/catalog) and return the decoded answer. */
async function post(path, body, { signal } = {}) {
  const url = `${BASE}${path}`;
  const headers = { Accept: "application/json", "Content-Type": "application/json" };
  const key = getKey();
  if (key) headers.Authorization = `Bearer ${key}`;
  let response;
  try {
    response = await fetch(url, { method: "POST", headers, body: JSON.stringify(body), signal });
  } catch (error) {
    if (error.name === "AbortError") throw error;
    throw new ApiError(0, `could not reach the server (${error.message})`, url);
  }
  if (response.ok) return response.json();
  let message = `${response.status} ${response.statusText}`;
  try {
    const answer = await response.json();
    message = answer.error || message;
  } catch {
    /* not JSON */
  }
  throw new ApiError(response.status, message, url);
}

export const catalog = {
  search: (body, o) => post("/catalog:search", body, o),
  entry: (group, entry, o) => get(`/catalog/entryGroups/${seg(group)}/entries/${seg(entry)}`, o),
  tags: (group, entry, o) => get(`/catalog/entryGroups/${seg(group)}/entries/${seg(entry)}/tags`, o),
  history: (group, entry, o) => get(`/catalog/entryGroups/${seg(group)}/entries/${seg(entry)}/history`, o),
  templates: (o) => get(`/catalog/tagTemplates${query({ pageSize: 1000 })}`, o),
  groups: (o) => get(`/catalog/entryGroups${query({ pageSize: 1000 })}`, o),
  suggest: (q, o) => get(`/catalog/catalog:suggest${query({ q, limit: 10 })}`, o),
  writeTag: (group, entry, tag, o) => post(`/entryGroups/${seg(group)}/entries/${seg(entry)}/tags`, tag, o),
};
