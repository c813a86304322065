// @ts-check
// The column view of the lineage page: the answer of /api/v1/lineage/column turned into graph.js's
// view model, one box per dataset holding its columns, edges between columns.
//
// A dataset shows the columns that have lineage first, then the rest of its current schema (from the
// table graph, when it has the dataset), up to MAX_FIELDS, in schema order.

import { datasetId, fieldId, parseNodeId } from "./nodes.js";
import { peerIndex, shortenName } from "./names.js";

/** @typedef {import("./lineage-model.js").LineageGraph} LineageGraph */
/** @typedef {import("./lineage-model.js").ViewNode} ViewNode */
/** @typedef {import("./lineage-model.js").ViewEdge} ViewEdge */

/**
 * One input column of a column-lineage node (OpenLineage's columnLineage facet, as the server answers).
 * @typedef {object} InputField
 * @property {string} namespace
 * @property {string} dataset
 * @property {string} field
 * @property {{type?: string, subtype?: string, description?: string}[]} [transformations]
 * @property {string} [transformationType] the facet's older spelling
 * @property {string} [transformationDescription]
 */

/**
 * A node of the column-lineage answer: one column, with the columns it comes from.
 * @typedef {object} ColumnNode
 * @property {string} id a "datasetField:…" node id
 * @property {{namespace: string, dataset: string, field: string, fieldType?: string, inputFields?: InputField[]}} data
 */

/** @typedef {{graph: ColumnNode[]}} ColumnAnswer */

/** @typedef {{nodes: ViewNode[], edges: ViewEdge[], columns: true}} ColumnView */

export const MAX_FIELDS = 40;

/**
 * The column view's depth for the table view's: a column edge is half a table step (dataset, job,
 * dataset), rounded up.
 * @param {string} depth
 */
export function columnDepth(depth) {
  return depth === "all" ? "all" : String(Math.max(1, Math.ceil(Number(depth) / 2)));
}

/**
 * The column view's direction: columns have no neighbourhood, so "undirected" asks both ways.
 * @param {string} direction
 */
export function columnDirection(direction) {
  return direction === "upstream" || direction === "downstream" ? direction : "both";
}

/**
 * The view model of a column-lineage answer.
 * @param {ColumnAnswer} answer
 * @param {string} target the dataset in the centre (its node id)
 * @param {string | null} focus the column in focus (its node id), if any
 * @param {LineageGraph | null} tables the table graph, for each dataset's whole schema
 * @returns {ColumnView}
 */
export function columnModel(answer, target, focus, tables) {
  /** @type {Map<string, {id: string, namespace: string, dataset: string, fields: Map<string, {type?: string, lineage: boolean}>}>} */
  const boxes = new Map();
  /** @param {string} namespace @param {string} dataset */
  const tableOf = (namespace, dataset) => {
    const id = datasetId(namespace, dataset);
    let box = boxes.get(id);
    if (!box) {
      box = { id, namespace, dataset, fields: new Map() };
      boxes.set(id, box);
    }
    return box;
  };
  /** @type {ViewEdge[]} */
  const edges = [];
  for (const node of answer.graph) {
    const d = node.data;
    tableOf(d.namespace, d.dataset).fields.set(d.field, { type: d.fieldType, lineage: true });
    for (const input of d.inputFields || []) {
      const source = fieldId(input.namespace, input.dataset, input.field);
      const t = input.transformations?.[0] || { type: input.transformationType };
      const kind = [t.type, t.subtype].filter(Boolean).join(" · ").toLowerCase();
      edges.push({
        id: `c:${source}>${node.id}`,
        source,
        target: node.id,
        label: kind || "",
        classes: t.type === "INDIRECT" ? "indirect" : "",
      });
      const fields = tableOf(input.namespace, input.dataset).fields;
      fields.set(input.field, { ...(fields.get(input.field) || {}), lineage: true });
    }
  }
  const centre = parseNodeId(target);
  if (!boxes.size && centre?.kind === "dataset") tableOf(centre.namespace, centre.name);
  /** @type {ViewNode[]} */
  const nodes = [];
  const ids = new Set();
  const peers = peerIndex([...boxes.values()].map((t) => t.dataset));
  for (const table of boxes.values()) {
    // Every field of the dataset's current schema, in schema order, when the table graph has it.
    /** @type {[string, {type?: string, lineage: boolean}][]} */
    const ordered = [];
    for (const field of tables?.nodes.get(table.id)?.fields || []) {
      ordered.push([field.name, { type: field.type, lineage: table.fields.get(field.name)?.lineage || false }]);
    }
    for (const [name, info] of table.fields) if (!ordered.some(([n]) => n === name)) ordered.push([name, info]);
    const shown = ordered
      .filter(([, info]) => info.lineage)
      .concat(ordered.filter(([, info]) => !info.lineage))
      .slice(0, MAX_FIELDS);
    shown.sort((a, b) => ordered.findIndex(([n]) => n === a[0]) - ordered.findIndex(([n]) => n === b[0]));
    nodes.push({
      id: `table:${table.id}`,
      ref: table.id,
      kind: "table",
      label: shortenName(table.dataset, { peers, fits: (t) => t.length <= 34 }),
      classes: table.id === target ? "center" : "",
    });
    for (const [name, info] of shown) {
      const id = fieldId(table.namespace, table.dataset, name);
      ids.add(id);
      const type = info.type ? `  ${info.type}` : "";
      nodes.push({
        id,
        ref: id,
        kind: "field",
        parent: `table:${table.id}`,
        name,
        dataset: table.dataset,
        label: shortenName(`${name}${type}`, { fits: (t) => t.length <= 38 }), // dom.js's shorten
        classes: [info.lineage ? "lineage" : "", id === focus ? "focus" : ""].filter(Boolean).join(" "),
      });
    }
  }
  return { columns: true, nodes, edges: edges.filter((e) => ids.has(e.source) && ids.has(e.target)) };
}
