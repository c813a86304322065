// @ts-check
// The lineage view's state, as it is written in the URL: /lineage?node=&depth=&direction=&asOf=&view=
// &expand=&more=&select=&impact=&pathFrom=&pathTo=&field=&fanout=
//
// Everything shown is in the URL, so a view can be shared as a link and restored exactly: the centre
// node, depth and direction, the time ("as of"), tables or columns, which nodes were expanded in place
// and which "+N more" groups unfolded, the selected node, and an impact or path highlight. Reading a
// URL and writing one back are inverses for every valid state; values that are not valid read as the
// defaults, which the written URL leaves out.

import { DEFAULT_FANOUT } from "./lineage-model.js";

/**
 * The lineage view's state.
 * @typedef {object} LineageState
 * @property {string} node the centre's node id ("dataset:ns:name", "job:ns:name", "datasetField:…")
 * @property {string} depth one of DEPTHS
 * @property {Direction} direction
 * @property {string} asOf an ISO time, or "" for now
 * @property {"tables" | "columns"} view
 * @property {string[]} expand nodes expanded in place, as "up~<id>" or "down~<id>"
 * @property {string[]} more "+N more" groups unfolded, as "<owner id>~up" or "<owner id>~down"
 * @property {string} select the selected node id, or ""
 * @property {string} impact the node whose impact is highlighted, or ""
 * @property {string} pathFrom the start of the highlighted path, or ""
 * @property {string} pathTo the end of the highlighted path, or ""
 * @property {string} field the column to centre on in the column view, or ""
 * @property {string} fanout the fan-out above which neighbours are grouped, digits ("0": never)
 */

/** @typedef {"both" | "upstream" | "downstream" | "undirected"} Direction */

/** The depths offered, as the URL spells them. */
export const DEPTHS = ["1", "2", "3", "4", "6", "8", "10", "20", "all"];
export const DEFAULT_DEPTH = "4";
/** @type {[Direction, string][]} the directions offered and their labels */
export const DIRECTIONS = [
  ["both", "Up- and downstream"],
  ["upstream", "Upstream"],
  ["downstream", "Downstream"],
  ["undirected", "Neighbourhood"],
];
/** @type {Direction} */
export const DEFAULT_DIRECTION = "both";
/** @type {[string, string][]} the fan-out choices and their labels */
export const FANOUTS = [
  ["12", "Group fan-outs above 12"],
  ["25", "Group above 25"],
  ["50", "Group above 50"],
  ["0", "Never group"],
];

/**
 * The fan-out choices, with the URL's own value when it is not one of them.
 * @param {string} current
 * @returns {[string, string][]}
 */
export function fanoutChoices(current) {
  return FANOUTS.some(([value]) => value === current) ? FANOUTS : [...FANOUTS, [current, `Group above ${current}`]];
}

/**
 * The state a URL's query says, with defaults for what it leaves out or spells wrong.
 * @param {URLSearchParams} q
 * @returns {LineageState}
 */
export function readState(q) {
  const depth = q.get("depth") || "";
  const direction = DIRECTIONS.find(([d]) => d === q.get("direction"))?.[0];
  const fanout = q.get("fanout") || "";
  return {
    node: q.get("node") || "",
    depth: DEPTHS.includes(depth) ? depth : DEFAULT_DEPTH,
    direction: direction || DEFAULT_DIRECTION,
    asOf: q.get("asOf") || "",
    view: q.get("view") === "columns" ? "columns" : "tables",
    expand: q.getAll("expand"),
    more: q.getAll("more"),
    select: q.get("select") || "",
    impact: q.get("impact") || "",
    pathFrom: q.get("pathFrom") || "",
    pathTo: q.get("pathTo") || "",
    field: q.get("field") || "",
    fanout: /^\d+$/.test(fanout) ? String(Number(fanout)) : String(DEFAULT_FANOUT),
  };
}

/**
 * The query for a state (router.js's setQuery: "" leaves a key out, arrays repeat it); defaults are
 * left out, so the plainest view has the shortest link.
 * @param {LineageState} s
 * @returns {Record<string, string | string[]>}
 */
export function stateQuery(s) {
  return {
    node: s.node,
    depth: s.depth === DEFAULT_DEPTH ? "" : s.depth,
    direction: s.direction === DEFAULT_DIRECTION ? "" : s.direction,
    asOf: s.asOf,
    view: s.view === "tables" ? "" : s.view,
    field: s.field,
    expand: s.expand,
    more: s.more,
    fanout: s.fanout === String(DEFAULT_FANOUT) ? "" : s.fanout,
    select: s.select,
    impact: s.impact,
    pathFrom: s.pathFrom,
    pathTo: s.pathTo,
  };
}

/**
 * The valid expansions of `expand=` ("up~<id>", "down~<id>"; ids may hold "~").
 * @param {string[]} expand
 * @returns {{dir: "up" | "down", id: string}[]}
 */
export function expansions(expand) {
  /** @type {{dir: "up" | "down", id: string}[]} */
  const found = [];
  for (const key of expand) {
    const [dir, ...rest] = key.split("~");
    const id = rest.join("~");
    if ((dir === "up" || dir === "down") && id) found.push({ dir, id });
  }
  return found;
}

/**
 * The node ids the view keeps in sight when it groups fan-outs: the centre, the selection, the ends
 * of a path and every expanded node.
 * @param {LineageState} s
 * @param {string} centerId
 * @returns {Set<string>}
 */
export function pinnedIds(s, centerId) {
  return new Set([centerId, s.select, s.pathFrom, s.pathTo, ...s.expand.map((k) => k.split("~").slice(1).join("~"))]);
}

/**
 * `expand` with "<dir>~<id>" added, or taken out when it is there.
 * @param {string[]} expand
 * @param {string} id
 * @param {"up" | "down"} dir
 * @returns {string[]}
 */
export function toggleExpansion(expand, id, dir) {
  const key = `${dir}~${id}`;
  return expand.includes(key) ? expand.filter((k) => k !== key) : [...expand, key];
}

/**
 * Whether a change of these keys drops the impact and path highlight (they answered another graph).
 * @param {Partial<LineageState>} patch
 */
export function dropsHighlight(patch) {
  return ["depth", "direction", "asOf"].some((k) => k in patch);
}
