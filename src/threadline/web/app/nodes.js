// Node ids (as the server writes them) and the UI's own URLs for each thing.
//
// Node ids are Marquez's: dataset:<namespace>:<name>, job:<namespace>:<name>,
// datasetField:<namespace>:<dataset>:<field>, run:<uuid>. Namespaces hold colons of their own
// (postgres://db:5432), so parsing follows the server's rule (threadline/graph/nodes.py): a ":" that
// starts "//" or is followed by a digit belongs to the namespace, and the last part takes the rest.

import { query, seg } from "./api.js";

const PARTS = { dataset: 2, job: 2, datasetField: 3, run: 1 };
const DELIMITER = /:(?!\/\/|\d)/g;

function split(body, count) {
  const simple = body.split(":");
  if (simple.length === count) return simple;
  if (simple.length < count) return null;
  const cuts = [...body.matchAll(DELIMITER)].map((m) => m.index).slice(0, count - 1);
  if (cuts.length < count - 1) return null;
  const parts = [];
  let start = 0;
  for (const cut of cuts) {
    parts.push(body.slice(start, cut));
    start = cut + 1;
  }
  parts.push(body.slice(start));
  return parts;
}

/** {kind, namespace, name, field, runId} of a node id, or null when it is not one. */
export function parseNodeId(id) {
  if (typeof id !== "string") return null;
  const colon = id.indexOf(":");
  if (colon < 0) return null;
  const kind = id.slice(0, colon);
  const body = id.slice(colon + 1);
  if (!(kind in PARTS)) return null;
  if (kind === "run") return { kind, runId: body };
  const parts = split(body, PARTS[kind]);
  if (!parts || !parts.every(Boolean)) return null;
  if (kind === "datasetField") return { kind, namespace: parts[0], name: parts[1], field: parts[2] };
  return { kind, namespace: parts[0], name: parts[1] };
}

export const datasetId = (namespace, name) => `dataset:${namespace}:${name}`;
export const jobId = (namespace, name) => `job:${namespace}:${name}`;
export const fieldId = (namespace, dataset, field) => `datasetField:${namespace}:${dataset}:${field}`;

// ---- the UI's URLs -----------------------------------------------------------------------------------

export const datasetUrl = (namespace, name) => `/datasets/${seg(namespace)}/${seg(name)}`;
export const jobUrl = (namespace, name) => `/jobs/${seg(namespace)}/${seg(name)}`;
export const runUrl = (id, params = {}) => `/runs/${seg(id)}${query(params)}`;

/** The lineage view of `nodeId` with view options (depth, direction, asOf, view, …). */
export function lineageUrl(nodeId, options = {}) {
  return `/lineage${query({ node: nodeId, ...options })}`;
}

/** The detail page of a node id (dataset, job, field: its dataset, run). */
export function pageUrl(nodeId) {
  const node = parseNodeId(nodeId);
  if (!node) return null;
  if (node.kind === "dataset") return datasetUrl(node.namespace, node.name);
  if (node.kind === "job") return jobUrl(node.namespace, node.name);
  if (node.kind === "datasetField") return `${datasetUrl(node.namespace, node.name)}${query({ field: node.field })}`;
  return runUrl(node.runId);
}
