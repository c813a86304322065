// Where nodes go: ELK's layered algorithm for views up to ELK_MAX_NODES, our own linear-time layered
// layout (layered.js) above that.
//
// ELK runs in a Web Worker (vendor/elkjs/elk-worker.min.js), so the page stays responsive while it
// works. Its compiled Java is slow while cold: measured on the 2-core development machine, 100 nodes
// take ~0.3-0.5 s on the first call and 2,000 nodes 2-5 s, beyond the 2 s the UI allows itself for a
// 2,000-node view. layered.js lays out 2,000 nodes in ~0.1-0.2 s with the same left-to-right layering,
// at some cost in crossings. The worker starts with the first layout, not with the page: compiling its
// 1.6 MB of code takes a core for a moment, which should not compete with the page's first API calls.

import { layeredLayout } from "./layered.js";

export const ELK_MAX_NODES = 300;

const ELK_OPTIONS = {
  "elk.algorithm": "layered",
  "elk.direction": "RIGHT",
  "elk.edgeRouting": "POLYLINE",
  "elk.spacing.nodeNode": "18",
  "elk.layered.spacing.nodeNodeBetweenLayers": "90",
  "elk.layered.nodePlacement.strategy": "BRANDES_KOEPF",
  "elk.layered.nodePlacement.bk.fixedAlignment": "BALANCED",
  "elk.layered.crossingMinimization.greedySwitch.type": "OFF",
  "elk.layered.considerModelOrder.strategy": "NODES_AND_EDGES",
  "elk.separateConnectedComponents": "false",
};

let elk = null;

function elkInstance() {
  if (elk) return elk;
  if (typeof window.ELK !== "function") return null;
  // The worker's URL is beside this module's, under the same /static/<digest>/ prefix.
  const workerUrl = new URL("../vendor/elkjs/elk-worker.min.js", import.meta.url).href;
  elk = new window.ELK({ workerUrl });
  return elk;
}

/**
 * Positions (Map id -> {x, y}, centres) for nodes [{id, width, height}] and edges [{source, target}].
 * Returns {positions, engine} where engine says which layout ran ("elk" or "layered").
 */
export async function layout(nodes, edges, { engine = "auto" } = {}) {
  const useElk = engine === "elk" || (engine === "auto" && nodes.length <= ELK_MAX_NODES);
  const instance = useElk ? elkInstance() : null;
  if (instance) {
    try {
      const graph = await instance.layout({
        id: "root",
        layoutOptions: ELK_OPTIONS,
        children: nodes.map((node) => ({ id: node.id, width: node.width, height: node.height })),
        edges: edges.map((edge, i) => ({ id: `e${i}`, sources: [edge.source], targets: [edge.target] })),
      });
      const positions = new Map();
      for (const child of graph.children) {
        positions.set(child.id, { x: child.x + child.width / 2, y: child.y + child.height / 2 });
      }
      return { positions, engine: "elk" };
    } catch (error) {
      console.warn("ELK layout failed; using the layered layout instead", error);
    }
  }
  return { positions: layeredLayout(nodes, edges), engine: "layered" };
}
