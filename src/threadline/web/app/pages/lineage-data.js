// What the lineage page asks the server, and the answers it keeps: the compact lineage answers (the
// base view and each expansion, so expanding a node again asks nothing) and each node's details.

import { api } from "../api.js";
import { LineageGraph } from "../lineage-model.js";
import { expansions } from "../lineage-url.js";

/** How far an expansion in place reaches: one job and its datasets. */
export const EXPAND_DEPTH = 2;

export class LineageData {
  /** `signal`: the page's; it cancels every request when the user moves on. */
  constructor(signal) {
    this.signal = signal;
    this.answers = new Map(); // request key -> lineage answer
    this.detailCache = new Map(); // node id -> its dataset or job (Marquez's shape)
  }

  /** The compact lineage answer of /api/v1/ui/lineage (cached; a failed one is asked again next
   * time). `fields`: with each dataset's fields (the column view). */
  lineage(nodeId, depth, direction, { asOf = "", fields = false } = {}) {
    const key = JSON.stringify([nodeId, depth, direction, asOf, fields]);
    if (!this.answers.has(key)) {
      const params = { nodeId, depth, direction, asOf: asOf || undefined, fields: fields || undefined };
      const promise = api.lineage(params, { signal: this.signal });
      this.answers.set(key, promise);
      promise.catch(() => this.answers.delete(key));
    }
    return this.answers.get(key);
  }

  /** The state's view and expansions, merged: {graph (a LineageGraph), answers (the base view's
   * first)}. */
  async graph(state) {
    const options = { asOf: state.asOf, fields: state.view === "columns" };
    const answers = await Promise.all([
      this.lineage(state.node, state.depth, state.direction, options),
      ...expansions(state.expand).map((e) =>
        this.lineage(e.id, EXPAND_DEPTH, e.dir === "up" ? "upstream" : "downstream", options),
      ),
    ]);
    const graph = new LineageGraph();
    for (const answer of answers) graph.add(answer);
    return { graph, answers };
  }

  /** A dataset's or job's details (Marquez's shape), asked once per node. */
  details(node) {
    if (!this.detailCache.has(node.id)) {
      const ask = node.type === "JOB" ? api.job : api.dataset;
      const promise = ask(node.namespace, node.name, { signal: this.signal });
      this.detailCache.set(node.id, promise);
      promise.catch(() => this.detailCache.delete(node.id));
    }
    return this.detailCache.get(node.id);
  }

  /** The column-lineage answer around `nodeId`. */
  columns(params) {
    return api.columnLineage(params, { signal: this.signal });
  }

  /** What depends on `id`, downstream (the impact highlight). */
  impact(id) {
    return api.impact(id, { signal: this.signal });
  }

  /** A path between two nodes (the path highlight). */
  path(from, to) {
    return api.path(from, to, { signal: this.signal });
  }

  /** The first and last event times of the store (the as-of control's range). */
  timespan() {
    return api.timespan({ signal: this.signal });
  }
}
