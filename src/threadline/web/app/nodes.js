// @ts-check
// Node ids (as the server writes them) and the UI's own URLs for each thing.
//
// Node ids are Marquez's: dataset:<namespace>:<name>, job:<namespace>:<name>,
// datasetField:<namespace>:<dataset>:<field>, run:<uuid>, a dataset, job or field id may end in
// #<version>. Namespaces hold colons of their own (postgres://db:5432), so parsing follows the
// server's rule (threadline/graph/nodes.py): a ":" that starts "//" or is followed by a digit belongs
// to the namespace, and the last part takes the rest. A name that does not fit (a "#" anywhere, a ":"
// the rule would take for a delimiter) is written with escapes, %23 for "#", %3A for ":" and %25 for a
// "%" that would read as one of those, and only then, exactly as the server does; ids are never
// trimmed, since a name may begin or end with spaces.

import { query, seg } from "./api.js";

/** @type {Record<string, number>} how many parts each kind of id has */
const PARTS = { dataset: 2, job: 2, datasetField: 3, run: 1 };
const DELIMITER = /:(?!\/\/|\d)/g;
const ESCAPE = /%(?:23|25|3[Aa])/g;
/** @type {Record<string, string>} */
const UNESCAPED = { "%23": "#", "%25": "%", "%3A": ":", "%3a": ":" };

/**
 * `body` cut into `count` parts at the delimiters the server's rule sees, or null when it has fewer.
 * @param {string} body
 * @param {number} count
 * @returns {string[] | null}
 */
function split(body, count) {
  const simple = body.split(":");
  if (simple.length === count) return simple;
  if (simple.length < count) return null;
  const cuts = [...body.matchAll(DELIMITER)].map((m) => /** @type {number} */ (m.index)).slice(0, count - 1);
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

/** @param {string} part */
const unescape = (part) => (part.includes("%") ? part.replace(ESCAPE, (m) => UNESCAPED[m]) : part);

/**
 * @param {string} part
 * @param {boolean} colons whether its colons are escaped too
 */
function escape(part, colons) {
  const escaped = part.replace(ESCAPE, (m) => `%25${m.slice(1)}`).replaceAll("#", "%23");
  return colons ? escaped.replaceAll(":", "%3A") : escaped;
}

/**
 * A node id read: a dataset, job or column ({kind, namespace, name, field, version}) or a run.
 * @typedef {{kind: "dataset", namespace: string, name: string, version: string | null, field?: undefined}
 *   | {kind: "job", namespace: string, name: string, version: string | null, field?: undefined}
 *   | {kind: "datasetField", namespace: string, name: string, field: string, version: string | null}
 *   | {kind: "run", runId: string}} NodeRef
 */

/**
 * {kind, namespace, name, field, runId, version} of a node id, or null when it is not one.
 * @param {unknown} id
 * @returns {NodeRef | null}
 */
export function parseNodeId(id) {
  if (typeof id !== "string" || !id.trim()) return null;
  const colon = id.indexOf(":");
  if (colon < 0) return null;
  const kind = id.slice(0, colon);
  let body = id.slice(colon + 1);
  if (!(kind in PARTS)) return null;
  if (kind === "run") return { kind, runId: body };
  let version = null;
  const hash = body.lastIndexOf("#");
  if (hash >= 0) {
    version = unescape(body.slice(hash + 1));
    body = body.slice(0, hash);
    if (!version) return null;
  }
  const found = split(body, PARTS[kind]);
  if (!found || !found.every(Boolean)) return null;
  const parts = found.map(unescape);
  if (kind === "datasetField") return { kind, namespace: parts[0], name: parts[1], version, field: parts[2] };
  return { kind: kind === "job" ? "job" : "dataset", namespace: parts[0], name: parts[1], version };
}

/**
 * What formatNodeId writes: a dataset, job or column.
 * @typedef {{kind: string, namespace: string, name: string, field?: string, version?: string | null}} NodeParts
 */

/**
 * @param {NodeRef | null} a
 * @param {NodeParts} b
 */
const sameNode = (a, b) =>
  !!a &&
  a.kind !== "run" &&
  a.kind === b.kind &&
  a.namespace === b.namespace &&
  a.name === b.name &&
  (a.field ?? null) === (b.field ?? null) &&
  (a.version ?? null) === (b.version ?? null);

/**
 * The id of a node {kind, namespace, name, field?, version?}: what parseNodeId reads back as it.
 * @param {NodeParts} node
 * @returns {string}
 */
export function formatNodeId(node) {
  const parts = [node.namespace, node.name];
  if (node.kind === "datasetField") parts.push(node.field ?? "");
  const version = node.version ?? null;
  /** @param {string[]} ps @param {string | null} v */
  const joined = (ps, v) => `${node.kind}:${ps.join(":")}${v === null ? "" : `#${v}`}`;
  const plain = joined(parts, version);
  const reads = split(parts.join(":"), parts.length);
  const simple =
    reads && reads.every((p, i) => p === parts[i]) && ![...parts, version ?? ""].some((t) => /[#%]/.test(t));
  if (simple) return plain;
  const v = version === null ? null : escape(version, false);
  const candidates = [
    plain,
    joined(
      parts.map((p) => escape(p, false)),
      v,
    ),
    joined(
      parts.map((p, i) => escape(p, i < parts.length - 1)),
      v,
    ),
    joined(
      parts.map((p) => escape(p, true)),
      v,
    ),
  ];
  return candidates.find((c) => sameNode(parseNodeId(c), { ...node, version })) ?? candidates[candidates.length - 1];
}

/** @param {string} namespace @param {string} name */
export const datasetId = (namespace, name) => formatNodeId({ kind: "dataset", namespace, name });
/** @param {string} namespace @param {string} name */
export const jobId = (namespace, name) => formatNodeId({ kind: "job", namespace, name });
/** @param {string} namespace @param {string} dataset @param {string} field */
export const fieldId = (namespace, dataset, field) =>
  formatNodeId({ kind: "datasetField", namespace, name: dataset, field });

// ---- the UI's URLs -----------------------------------------------------------------------------------

/** @param {string} namespace @param {string} name */
export const datasetUrl = (namespace, name) => `/datasets/${seg(namespace)}/${seg(name)}`;
/** @param {string} namespace @param {string} name */
export const jobUrl = (namespace, name) => `/jobs/${seg(namespace)}/${seg(name)}`;
/** @param {string} id @param {Record<string, unknown>} [params] */
export const runUrl = (id, params = {}) => `/runs/${seg(id)}${query(params)}`;

/**
 * The lineage view of `nodeId` with view options (depth, direction, asOf, view, …).
 * @param {string} nodeId
 * @param {Record<string, unknown>} [options]
 */
export function lineageUrl(nodeId, options = {}) {
  return `/lineage${query({ node: nodeId, ...options })}`;
}

/**
 * The catalog entry of a dataset or job node id: one registered for it, else lineage's own.
 * @param {string} nodeId
 * @returns {string}
 */
export function catalogEntryUrl(nodeId) {
  return `/catalog/lookup${query({ linkedResource: nodeId })}`;
}

/**
 * The detail page of a node id (dataset, job, field: its dataset, run), or null for what is not one.
 * @param {unknown} nodeId
 * @returns {string | null}
 */
export function pageUrl(nodeId) {
  const node = parseNodeId(nodeId);
  if (!node) return null;
  if (node.kind === "dataset") return datasetUrl(node.namespace, node.name);
  if (node.kind === "job") return jobUrl(node.namespace, node.name);
  if (node.kind === "datasetField") return `${datasetUrl(node.namespace, node.name)}${query({ field: node.field })}`;
  return runUrl(node.runId);
}
