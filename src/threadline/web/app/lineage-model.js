// What the lineage view shows: the graph answers merged (the base view and each expansion), then the
// nodes to draw, with large fan-outs folded into one "+N more" node.
//
// Folding walks out from the centre (and from each expanded node) the way the view was asked for:
// upstream nodes further upstream, downstream nodes further downstream. When a node has more than
// `fanout` unseen neighbours on one side, the first few (by name; the ones that are expanded, selected
// or the centre come first) are shown and the rest become one "+N more" node; nodes reachable only
// through folded ones stay hidden too. Unfolding a group is part of the URL (`more=`).

import { jobTypeLabel, producerOf } from "./producers.js";

export const DEFAULT_FANOUT = 12;
const NO_PRODUCER = { key: "other", label: "", short: "", color: "#94a3b8" };
const KEEP = 8;

/**
 * A merged lineage graph: the compact answers of /api/v1/ui/lineage (the base view and each
 * expansion). Nodes by id ({id, type, name, namespace, jobType, latestRunState, model, fields}, with
 * `more`: the sides on which some answer said the node has edges beyond it), edges as "source>target".
 */
export class LineageGraph {
  constructor() {
    this.nodes = new Map();
    this.edges = new Map(); // key -> {source, target}
    this.outgoing = new Map();
    this.incoming = new Map();
  }

  /** Add the nodes and edges of an answer. */
  add(answer) {
    for (const node of answer.graph || []) {
      const known = this.nodes.get(node.id);
      const more = new Set([...(known?.more || []), ...(node.more || [])]);
      this.nodes.set(node.id, { ...known, ...node, fields: node.fields || known?.fields, more });
      for (const target of node.outEdges || []) this._edge(node.id, target);
    }
  }

  _edge(source, target) {
    const key = `${source}>${target}`;
    if (this.edges.has(key)) return;
    this.edges.set(key, { source, target });
    if (!this.outgoing.has(source)) this.outgoing.set(source, []);
    if (!this.incoming.has(target)) this.incoming.set(target, []);
    this.outgoing.get(source).push(target);
    this.incoming.get(target).push(source);
  }

  neighbours(id, direction) {
    return (direction === "up" ? this.incoming.get(id) : this.outgoing.get(id)) || [];
  }
}

/** "dataset", "model" or "job" for a node of the graph. */
export function nodeKind(node) {
  if (node.type === "JOB") return "job";
  return node.model ? "model" : "dataset";
}

/** Who made a node: a job's producer from its jobType facet; a dataset's is that of the job that
 * writes it, when that job is in view (otherwise none: its facets may come from the jobs that read it). */
export function nodeProducer(node, graph) {
  if (node.type === "JOB") return producerOf({ jobType: node.jobType || undefined });
  const writer = graph.neighbours(node.id, "up").map((id) => graph.nodes.get(id)).find((n) => n?.type === "JOB");
  return writer ? producerOf({ jobType: writer.jobType || undefined }) : NO_PRODUCER;
}

/** A node's two lines on the canvas: its name (graph.js shortens it to fit), then kind · producer · state. */
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
 * The view model for graph.js: {nodes, edges, hidden} from the merged `graph`.
 * options: center, direction (upstream|downstream|both|undirected), expansions (Set of "up~id"),
 * unfolded (Set of "id~up"), fanout, pinned (ids to keep). A node gets an expand handle on a side
 * the view walks from it when the server said it has more there (`more`), and an open one when it
 * was expanded that way.
 */
export function buildView(graph, options) {
  const { center, direction, expansions, unfolded, fanout = DEFAULT_FANOUT, pinned = new Set() } = options;
  const visible = new Set();
  const ways = new Map(); // id -> Set of directions to walk on from it
  const groups = new Map(); // "more:id~dir" -> {owner, direction, members}
  const undirected = direction === "undirected";
  const startWays = direction === "upstream" ? ["up"] : direction === "downstream" ? ["down"] : ["up", "down"];

  const queue = [];
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
    if (ways.has(id)) ways.get(id).add(dir);
  }

  const score = (id) => (pinned.has(id) ? 0 : 1);
  const nameOf = (id) => graph.nodes.get(id)?.name || id;
  while (queue.length) {
    const id = queue.shift();
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

  const nodes = [];
  for (const id of visible) {
    const node = graph.nodes.get(id);
    const described = describe(node, graph);
    const handles = {};
    for (const dir of ["up", "down"]) {
      if (expansions.has(`${dir}~${id}`)) handles[dir] = "open";
      else if (id !== center && node.more.has(dir) && (undirected || ways.get(id)?.has(dir))) handles[dir] = "closed";
    }
    nodes.push({
      id, ref: id, name: node.name, kind: described.kind, title: described.title, subtitle: described.subtitle, producer: described.producer,
      state: described.state, handles,
      classes: [id === center ? "center" : "", described.state === "FAILED" ? "failed" : ""].filter(Boolean).join(" "),
    });
  }
  const edges = [];
  for (const [key, edge] of graph.edges) {
    if (visible.has(edge.source) && visible.has(edge.target)) edges.push({ id: `e:${key}`, source: edge.source, target: edge.target });
  }
  let hidden = 0;
  for (const [groupId, group] of groups) {
    const members = group.members.filter((id) => !visible.has(id));
    if (!members.length) continue;
    hidden += members.length;
    nodes.push({ id: groupId, kind: "more", owner: group.owner, label: `+${members.length} more`, width: 140, height: 40, classes: "more", handles: {} });
    edges.push(group.direction === "up"
      ? { id: `e:${groupId}`, source: groupId, target: group.owner, classes: "more-edge" }
      : { id: `e:${groupId}`, source: group.owner, target: groupId, classes: "more-edge" });
  }
  return { nodes, edges, hidden, visible };
}
