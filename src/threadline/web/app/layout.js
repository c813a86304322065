// Where nodes go: ELK's layered algorithm for views up to ELK_MAX_NODES, our own linear-time layered
// layout (layered.js) above that.
//
// ELK runs on the page's own thread (vendor/elkjs/elk.bundled.js), not in a Web Worker. A worker's
// work is invisible to a browser that runs on virtual time (headless Chromium's --screenshot and
// --virtual-time-budget, print-to-PDF, crawlers): the page looks idle while it waits for the worker's
// answer, the time budget runs out, and the picture shows "Loading lineage…" forever. On the page's
// thread a layout is ordinary work that such a browser waits for. ELK's compiled Java is slow while
// cold: measured on the 2-core development machine, 100 nodes take ~0.3-0.5 s on the first call and
// 2,000 nodes 2-5 s, beyond the 2 s the UI allows itself for a 2,000-node view; so above ELK_MAX_NODES
// layered.js lays out (2,000 nodes in ~0.1-0.2 s with the same left-to-right layering, at some cost in
// crossings), which also bounds how long ELK can hold the page.

import { layeredLayout } from "./layered.js";

export const ELK_MAX_NODES = 300;

// The gaps between layers and between the nodes of a layer, per direction (viewport.js estimates
// the drawing's size with the same numbers).
const SPACING = { RIGHT: ["90", "18"], DOWN: ["36", "24"] };

const ELK_OPTIONS = {
  "elk.algorithm": "layered",
  "elk.edgeRouting": "POLYLINE",
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
  elk = new window.ELK(); // without a workerUrl the bundled build runs on this thread
  return elk;
}

/**
 * Positions (Map id -> {x, y}, centres) for nodes [{id, width, height}] and edges [{source, target}],
 * layers going `direction` (RIGHT, or DOWN: ELK only). Returns {positions, engine, direction}:
 * engine says which layout ran ("elk" or "layered"), direction which way it went.
 */
export async function layout(nodes, edges, { engine = "auto", direction = "RIGHT" } = {}) {
  const useElk = engine === "elk" || (engine === "auto" && nodes.length <= ELK_MAX_NODES);
  const instance = useElk ? elkInstance() : null;
  if (instance) {
    const [layerGap, nodeGap] = SPACING[direction] || SPACING.RIGHT;
    try {
      const graph = await instance.layout({
        id: "root",
        layoutOptions: {
          ...ELK_OPTIONS,
          "elk.direction": direction,
          "elk.spacing.nodeNode": nodeGap,
          "elk.layered.spacing.nodeNodeBetweenLayers": layerGap,
        },
        children: nodes.map((node) => ({ id: node.id, width: node.width, height: node.height })),
        edges: edges.map((edge, i) => ({ id: `e${i}`, sources: [edge.source], targets: [edge.target] })),
      });
      const positions = new Map();
      for (const child of graph.children) {
        positions.set(child.id, { x: child.x + child.width / 2, y: child.y + child.height / 2 });
      }
      return { positions, engine: "elk", direction };
    } catch (error) {
      console.warn("ELK layout failed; using the layered layout instead", error);
    }
  }
  return { positions: layeredLayout(nodes, edges), engine: "layered", direction: "RIGHT" };
}
