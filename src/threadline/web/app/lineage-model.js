// @ts-check
// What the lineage view shows: the graph answers merged (the base view and each expansion), then the
// nodes to draw, with large fan-outs folded into one "+N more" node.
//
// Folding walks out from the centre (and from each expanded node) the way the view was asked for:
// upstream nodes further upstream, downstream nodes further downstream. When a node has more than
// `fanout` unseen neighbours on one side, the first few (by name; the ones that are expanded, selected
// or the centre come first) are shown and the rest become one "+N more" node; nodes reachable only
// through folded ones stay hidden too. Unfolding a group is part of the URL (`more=`).

import { jobTypeLabel, producerOf } from "./producers.js";

/**
 * Who made a node (producers.js).
 * @typedef {{key: string, label: string, short: string, color: string}} Producer
 */

/**
 * A node of a compact lineage answer (/api/v1/ui/lineage).
 * @typedef {object} AnswerNode
 * @property {string} id its node id
 * @property {"DATASET" | "JOB"} type
 * @property {string} [name]
 * @property {string} [namespace]
 * @property {{jobType?: string, integration?: string, processingType?: string} | null} [jobType] the job's jobType facet
 * @property {string | null} [latestRunState] a job's latest run's state (COMPLETED, FAILED, RUNNING, …)
 * @property {boolean} [model] a dataset that is a model
 * @property {{name: string, type?: string}[]} [fields] a dataset's current schema (asked with fields=true)
 * @property {("up" | "down")[]} [more] the sides on which it has edges beyond the answer
 * @property {string[]} [outEdges] the ids of the nodes it has edges to
 * @property {number} [distance] edges from the centre (0: the centre)
 * @property {NodeTag[]} [tags] its catalog tags (the badges)
 */

/**
 * A catalog tag of a node (ui_lineage.py, catalog/node_tags.py): a template's display name on an
 * entry that links the node (or names the dataset by its file patterns), or a producer's tag.
 * @typedef {object} NodeTag
 * @property {string} name what the badge says
 * @property {"CATALOG" | "PROPAGATED" | "INTEGRATION"} source
 * @property {{tag: string, via: string[]}[]} [from] a propagated tag's origins: the tag and the jobs between
 * @property {string} [template] the template's id (catalog tags)
 * @property {string} [entry] the entry that holds it (catalog tags)
 * @property {string} [via] "filePattern" when the entry names the dataset by its file patterns
 * @property {string[]} [columns] the columns it is on
 * @property {boolean} [onEntry] whether it is on the node itself
 */

/**
 * A compact lineage answer.
 * @typedef {object} LineageAnswer
 * @property {AnswerNode[]} graph
 * @property {string | null} [firstEventTime] the store's first event (the as-of control's range)
 * @property {string | null} [lastEventTime]
 */

/**
 * A node of the merged graph: what the answers said of it, `more` merged.
 * @typedef {Omit<AnswerNode, "more"> & {more: Set<string>}} GraphNode
 */

/**
 * A node of the view model that graph.js draws. A "more" node is a folded group (`owner`, `label`);
 * the column view's are "table" boxes and "field" rows (`parent`, `dataset`).
 * @typedef {object} ViewNode
 * @property {string} id
 * @property {string} kind "dataset", "model", "job", "more", "table", "field", "run"
 * @property {string} [ref] the node id it stands for
 * @property {string} [name]
 * @property {string} [title] the first line drawn
 * @property {string} [subtitle] the second line drawn
 * @property {Producer} [producer]
 * @property {string | null} [state] a job's latest run's state
 * @property {{up?: "open" | "closed", down?: "open" | "closed"}} [handles] expand handles
 * @property {string} [classes] space-separated: center, failed, more, lineage, focus
 * @property {string} [owner] a "more" node's owner
 * @property {string} [label] the text of a "more", "table" or "field" node
 * @property {number} [width]
 * @property {number} [height]
 * @property {string} [parent] a field's table node
 * @property {string} [dataset] a field's dataset name
 * @property {NodeTag[]} [tags] its catalog tags
 * @property {string} [tagLabel] the text of its tag badge ("PII +2"), if it has tags
 */

/**
 * An edge of the view model.
 * @typedef {{id: string, source: string, target: string, classes?: string, label?: string}} ViewEdge
 */

/**
 * The table view's model: what to draw, how many nodes are folded into groups, and which are shown.
 * @typedef {{nodes: ViewNode[], edges: ViewEdge[], hidden: number, visible: Set<string>}} LineageView
 */

/**
 * buildView's options.
 * @typedef {object} ViewOptions
 * @property {string} center the centre's node id
 * @property {string} direction upstream, downstream, both or undirected
 * @property {Set<string>} expansions nodes expanded in place, as "up~<id>" and "down~<id>"
 * @property {Set<string>} unfolded groups unfolded, as "<id>~up" and "<id>~down"
 * @property {number} [fanout] group the fresh neighbours on a side above this many (0: never)
 * @property {Set<string>} [pinned] ids shown first when a fan-out is grouped
 */

export const DEFAULT_FANOUT = 12;
// Tags people look for first: these come first on a node's badge, whatever their order.
const SENSITIVE = /\b(pii|gdpr|hipaa|pci|phi|sensitive|personal|confidential|restricted|secret)\b/i;
/** @type {Producer} */
const NO_PRODUCER = { key: "other", label: "", short: "", color: "#94a3b8" };
const KEEP = 8;

/**
 * A merged lineage graph: the compact answers of /api/v1/ui/lineage (the base view and each
 * expansion). Nodes by id ({id, type, name, namespace, jobType, latestRunState, model, fields}, with
 * `more`: the sides on which some answer said the node has edges beyond it), edges as "source>target".
 */
export class LineageGraph {
  constructor() {
    /** @type {Map<string, GraphNode>} */
    this.nodes = new Map();
    /** @type {Map<string, {source: string, target: string}>} key "source>target" */
    this.edges = new Map();
    /** @type {Map<string, string[]>} */
    this.outgoing = new Map();
    /** @type {Map<string, string[]>} */
    this.incoming = new Map();
  }

  /**
   * Add the nodes and edges of an answer.
   * @param {LineageAnswer} answer
   */
  add(answer) {
    for (const node of answer.graph || []) {
      const known = this.nodes.get(node.id);
      const more = new Set([...(known?.more || []), ...(node.more || [])]);
      this.nodes.set(node.id, { ...known, ...node, fields: node.fields || known?.fields, more });
      for (const target of node.outEdges || []) this._edge(node.id, target);
    }
  }

  /**
   * @param {string} source
   * @param {string} target
   */
  _edge(source, target) {
    const key = `${source}>${target}`;
    if (this.edges.has(key)) return;
    this.edges.set(key, { source, target });
    const out = this.outgoing.get(source) || [];
    const inn = this.incoming.get(target) || [];
    out.push(target);
    inn.push(source);
    this.outgoing.set(source, out);
    this.incoming.set(target, inn);
  }

  /**
   * The ids a node has edges from ("up") or to ("down").
   * @param {string} id
   * @param {string} direction "up" or "down"
   * @returns {string[]}
   */
  neighbours(id, direction) {
    return (direction === "up" ? this.incoming.get(id) : this.outgoing.get(id)) || [];
  }
}

/**
 * "dataset", "model" or "job" for a node of the graph.
 * @param {{type: string, model?: boolean}} node
 */
export function nodeKind(node) {
  if (node.type === "JOB") return "job";
  return node.model ? "model" : "dataset";
}

/**
 * Who made a node: a job's producer from its jobType facet; a dataset's is that of the job that
 * writes it, when that job is in view (otherwise none: its facets may come from the jobs that read it).
 * @param {GraphNode} node
 * @param {LineageGraph} graph
 * @returns {Producer}
 */
export function nodeProducer(node, graph) {
  if (node.type === "JOB") return producerOf({ jobType: node.jobType || undefined });
  const writer = graph
    .neighbours(node.id, "up")
    .map((id) => graph.nodes.get(id))
    .find((n) => n?.type === "JOB");
  return writer ? producerOf({ jobType: writer.jobType || undefined }) : NO_PRODUCER;
}

/**
 * A node's two lines on the canvas: its name (graph.js shortens it to fit), then kind · producer · state.
 * @param {GraphNode} node
 * @param {LineageGraph} graph
 */
function describe(node, graph) {
  const kind = nodeKind(node);
  const producer = nodeProducer(node, graph);
  const state = kind === "job" ? node.latestRunState || null : null;
  const typeLabel = kind === "job" ? jobTypeLabel({ jobType: node.jobType }) : "";
  const by = producer.key === "other" ? "" : producer.label;
  const parts = [kind, [by, typeLabel].filter(Boolean).join(" ")];
  // The border shows every state; the words only what needs attention.
  if (state && state !== "COMPLETED") parts.push(state.toLowerCase()); // as people read states: "failed"
  return { kind, producer, state, title: node.name || node.id, subtitle: parts.filter(Boolean).join(" · ") };
}

/**
 * The text of a node's tag badge: the first tag's name (a sensitive one first), then how many more.
 * @param {NodeTag[] | undefined} tags
 * @returns {string}
 */
export function tagLabel(tags) {
  if (!tags?.length) return "";
  const names = [...new Set(tags.map((t) => t.name))];
  const first = names.find((n) => SENSITIVE.test(n)) || names[0];
  const name = first.length > 24 ? `${first.slice(0, 23)}…` : first;
  return names.length > 1 ? `${name} +${names.length - 1}` : name;
}

/**
 * The view model for graph.js: {nodes, edges, hidden} from the merged `graph`.
 * options: center, direction (upstream|downstream|both|undirected), expansions (Set of "up~id"),
 * unfolded (Set of "id~up"), fanout, pinned (ids to keep). A node gets an expand handle on a side
 * the view walks from it when the server said it has more there (`more`), and an open one when it
 * was expanded that way.
 * @param {LineageGraph} graph
 * @param {ViewOptions} options
 * @returns {LineageView}
 */
export function buildView(graph, options) {
  const { center, direction, expansions, unfolded, fanout = DEFAULT_FANOUT, pinned = new Set() } = options;
  /** @type {Set<string>} */
  const visible = new Set();
  /** @type {Map<string, Set<string>>} id -> the directions to walk on from it */
  const ways = new Map();
  /** @type {Map<string, {owner: string, direction: string, members: string[]}>} "more:id~dir" -> its group */
  const groups = new Map();
  const undirected = direction === "undirected";
  const startWays = direction === "upstream" ? ["up"] : direction === "downstream" ? ["down"] : ["up", "down"];

  /** @type {string[]} */
  const queue = [];
  /** @param {string} id @param {string[]} walk */
  const reach = (id, walk) => {
    if (!graph.nodes.has(id)) return;
    const known = ways.get(id) || new Set();
    const before = known.size;
    for (const w of walk) known.add(w);
    ways.set(id, known);
    if (!visible.has(id)) {
      visible.add(id);
      queue.push(id);
    } else if (known.size !== before) {
      queue.push(id);
    }
  };
  reach(center, startWays);
  for (const key of expansions) {
    const [dir, ...rest] = key.split("~");
    const id = rest.join("~");
    ways.get(id)?.add(dir);
  }

  /** @param {string} id */
  const score = (id) => (pinned.has(id) ? 0 : 1);
  /** @param {string} id */
  const nameOf = (id) => graph.nodes.get(id)?.name || id;
  while (queue.length) {
    const id = /** @type {string} */ (queue.shift());
    const walk = new Set(ways.get(id));
    for (const key of expansions) if (key.endsWith(`~${id}`)) walk.add(key.split("~")[0]);
    const directions = undirected ? ["up", "down"] : [...walk];
    for (const dir of directions) {
      const fresh = graph.neighbours(id, dir).filter((other) => !visible.has(other) && graph.nodes.has(other));
      let shown = fresh;
      const groupKey = `${id}~${dir}`;
      if (fanout > 0 && fresh.length > fanout && !unfolded.has(groupKey)) {
        const sorted = fresh.slice().sort((a, b) => score(a) - score(b) || nameOf(a).localeCompare(nameOf(b)));
        const keep = Math.min(KEEP, fanout);
        shown = sorted.slice(0, keep);
        groups.set(`more:${groupKey}`, { owner: id, direction: dir, members: sorted.slice(keep) });
      }
      for (const other of shown) reach(other, undirected ? ["up", "down"] : [dir]);
    }
  }

  /** @type {ViewNode[]} */
  const nodes = [];
  for (const id of visible) {
    const node = /** @type {GraphNode} */ (graph.nodes.get(id)); // reach() shows only nodes of the graph
    const described = describe(node, graph);
    /** @type {Record<string, "open" | "closed">} */
    const handles = {};
    for (const dir of ["up", "down"]) {
      if (expansions.has(`${dir}~${id}`)) handles[dir] = "open";
      else if (id !== center && node.more.has(dir) && (undirected || ways.get(id)?.has(dir))) handles[dir] = "closed";
    }
    nodes.push({
      id,
      ref: id,
      name: node.name,
      kind: described.kind,
      title: described.title,
      subtitle: described.subtitle,
      producer: described.producer,
      state: described.state,
      handles,
      tags: node.tags || [],
      tagLabel: tagLabel(node.tags),
      classes: [id === center ? "center" : "", described.state === "FAILED" ? "failed" : ""].filter(Boolean).join(" "),
    });
  }
  /** @type {ViewEdge[]} */
  const edges = [];
  for (const [key, edge] of graph.edges) {
    if (visible.has(edge.source) && visible.has(edge.target))
      edges.push({ id: `e:${key}`, source: edge.source, target: edge.target });
  }
  let hidden = 0;
  for (const [groupId, group] of groups) {
    const members = group.members.filter((id) => !visible.has(id));
    if (!members.length) continue;
    hidden += members.length;
    nodes.push({
      id: groupId,
      kind: "more",
      owner: group.owner,
      label: `+${members.length} more`,
      width: 140,
      height: 40,
      classes: "more",
      handles: {},
    });
    edges.push(
      group.direction === "up"
        ? { id: `e:${groupId}`, source: groupId, target: group.owner, classes: "more-edge" }
        : { id: `e:${groupId}`, source: group.owner, target: groupId, classes: "more-edge" },
    );
  }
  return { nodes, edges, hidden, visible };
}

/**
 * The edges of the graph between nodes of `ids` (the impact highlight), as "source>target" keys.
 * @param {LineageGraph} graph
 * @param {Set<string>} ids
 * @returns {string[]}
 */
export function edgesWithin(graph, ids) {
  return [...graph.edges].filter(([, e]) => ids.has(e.source) && ids.has(e.target)).map(([key]) => key);
}
