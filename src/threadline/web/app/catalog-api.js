// Calls to the Data Catalog's API (/api/v1/catalog/) through api.js's request: reads, and the requests
// that search, tag and untag, where a 403 (a key whose scope is too low: browsing takes a read key,
// tagging a write key) asks for a key too.

import { get, query, request, seg } from "./api.js";

/** Send `body` as JSON to `path` (under /api/v1/catalog) with `method`; a 401 or 403 asks for a key. */
const send = (method, path, body, options = {}) =>
  request(method, `/catalog${path}`, body, { ...options, scopeRetry: true });
const post = (path, body, options) => send("POST", path, body, options);
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
  lookup: (linkedResource, o) => get(`/catalog/entries:lookup${query({ linkedResource })}`, o),
  writeTag: (group, entry, tag, o) => post(tagPath(group, entry), tag, o),
  deleteTag: (group, entry, tagId, o) => send("DELETE", `${tagPath(group, entry)}/${seg(tagId)}`, undefined, o),
};
