// The graph canvas: the lineage page (and the run page) hand it a view model, it places the nodes
// (layout.js) and draws them with one of two renderers:
//
// - cy-graph.js, Cytoscape.js, for views up to CANVAS_FROM nodes and for the column view: icons per
//   producer, rounded edges, compound nodes (datasets holding their columns);
// - canvas-graph.js, a plain 2D canvas, for larger views. Cytoscape styles and measures every element
//   it holds: a 2,000-node view takes it 1.5-2.5 s before the first frame on a 2-core machine, and
//   30-50 ms a frame while panning. The canvas renderer draws the same view in tens of milliseconds.
//
// Both draw labels as canvas text, so a hostile name cannot become markup. Both take the same placed
// model: nodes {id, ref, kind, label, width, height, x, y, classes, producer, state} (plus owner and
// direction for the expand handles, parent for columns) and edges {id, source, target, label, classes}.
//
// performance marks (read by benchmarks/ui_layout.py):
//   threadline:layout-done      positions are known
//   threadline:elements-added   the renderer holds the elements
//   threadline:viewport-set     zoom and pan chosen
//   threadline:graph-painted    the frame after that has been drawn
// The container's data attributes say what is shown: state (loading, ready), nodes, edges, engine
// (elk or layered), renderer (cytoscape or canvas), zoom and pan.

import { CanvasGraph } from "./canvas-graph.js";
import { CytoscapeGraph } from "./cy-graph.js";
import { library } from "./dom.js";
import { layout } from "./layout.js";

export const CANVAS_FROM = 500;
const NODE_WIDTH = 240;
const NODE_HEIGHT = 48;
const FIELD_HEIGHT = 22;
const TABLE_WIDTH = 250;
const TABLE_HEADER = 30;

/** Nodes and edges of the view model with their positions (the renderers' common input). */
async function placeNodes(model) {
  const sized = model.nodes.map((node) => ({ id: node.id, width: node.width || NODE_WIDTH, height: node.height || NODE_HEIGHT }));
  const { positions, engine } = await layout(sized, model.edges);
  const nodes = [];
  for (const node of model.nodes) {
    const { x, y } = positions.get(node.id) || { x: 0, y: 0 };
    const width = node.width || NODE_WIDTH;
    const height = node.height || NODE_HEIGHT;
    nodes.push({
      id: node.id, ref: node.ref || node.id, kind: node.kind, label: node.label, width, height, x, y,
      classes: node.classes || "", producer: node.producer || null, state: node.state || null,
    });
    for (const [direction, side] of [["up", -1], ["down", 1]]) {
      const handle = node.handles?.[direction];
      if (!handle) continue;
      nodes.push({
        id: `handle:${direction}:${node.id}`, ref: node.id, kind: "handle", owner: node.id, direction, label: "",
        width: 20, height: 20, x: x + side * (width / 2 + 14), y, classes: handle === "open" ? "handle open" : "handle",
      });
    }
  }
  const edges = model.edges.map((edge) => ({ id: edge.id, source: edge.source, target: edge.target, label: edge.label || "", classes: edge.classes || "" }));
  return { nodes, edges, engine };
}

/** The column view: datasets laid out as boxes tall enough for their fields, the fields inside. */
async function placeColumns(model) {
  const tables = model.nodes.filter((node) => node.kind === "table");
  const fieldsOf = new Map(tables.map((t) => [t.id, []]));
  const tableOf = new Map();
  for (const node of model.nodes) {
    if (node.kind !== "field") continue;
    fieldsOf.get(node.parent)?.push(node);
    tableOf.set(node.id, node.parent);
  }
  const sized = tables.map((t) => ({ id: t.id, width: TABLE_WIDTH, height: TABLE_HEADER + fieldsOf.get(t.id).length * FIELD_HEIGHT + 8 }));
  const tableEdges = [];
  const seen = new Set();
  for (const edge of model.edges) {
    const source = tableOf.get(edge.source);
    const target = tableOf.get(edge.target);
    if (!source || !target || source === target || seen.has(`${source}>${target}`)) continue;
    seen.add(`${source}>${target}`);
    tableEdges.push({ source, target });
  }
  const { positions, engine } = await layout(sized, tableEdges);
  const nodes = [];
  tables.forEach((table, i) => {
    const box = sized[i];
    const center = positions.get(table.id) || { x: 0, y: 0 };
    const top = center.y - box.height / 2;
    nodes.push({ id: table.id, ref: table.ref, kind: "table", label: table.label, width: TABLE_WIDTH, height: box.height, x: center.x, y: center.y, classes: `table ${table.classes || ""}` });
    fieldsOf.get(table.id).forEach((field, j) => {
      nodes.push({
        id: field.id, ref: field.ref, kind: "field", parent: table.id, label: field.label, width: TABLE_WIDTH - 12, height: FIELD_HEIGHT - 2,
        x: center.x, y: top + TABLE_HEADER + j * FIELD_HEIGHT + FIELD_HEIGHT / 2, classes: `field ${field.classes || ""}`,
      });
    });
  });
  const edges = model.edges.map((edge) => ({ id: edge.id, source: edge.source, target: edge.target, label: edge.label || "", classes: `field-edge ${edge.classes || ""}` }));
  return { nodes, edges, engine };
}

export class GraphView {
  /**
   * `container`: the element to draw in. Callbacks: onSelect(id|null), onOpen(id),
   * onExpand(id, "up"|"down"), onMore(groupId).
   */
  constructor(container, callbacks = {}) {
    this.container = container;
    this.callbacks = {
      ...callbacks,
      onViewport: (zoom, pan) => {
        container.dataset.zoom = zoom.toFixed(3);
        container.dataset.pan = `${Math.round(pan.x)},${Math.round(pan.y)}`;
      },
    };
    this.renderer = null;
  }

  /**
   * Lay out and draw `model` ({nodes, edges, columns}). Keeps the viewport when `keepViewport` and
   * `focus` (a node id) is still drawn (an expansion), else fits the view; `anchor` (the direction:
   * upstream, downstream or both) says where the centre goes when the whole graph cannot be shown at
   * a readable size. Resolves with {engine, renderer, ms}.
   */
  async show(model, { keepViewport = false, focus = null, anchor = "both" } = {}) {
    const started = performance.now();
    await Promise.all([library("cytoscape"), library("elk")]);
    const placed = model.columns ? await placeColumns(model) : await placeNodes(model);
    performance.mark("threadline:layout-done");
    const drawn = placed.nodes.filter((n) => n.kind !== "handle").length;
    const kind = !model.columns && drawn > CANVAS_FROM ? "canvas" : "cytoscape";
    if (this.renderer?.kind !== kind) {
      this.renderer?.destroy();
      this.renderer = kind === "canvas" ? new CanvasGraph(this.container, this.callbacks) : new CytoscapeGraph(this.container, this.callbacks);
      keepViewport = false;
    }
    this.renderer.draw(placed, { keepViewport, focus, anchor });
    Object.assign(this.container.dataset, { nodes: String(drawn), edges: String(placed.edges.length), engine: placed.engine, renderer: kind });
    await new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)));
    performance.mark("threadline:graph-painted");
    this.container.dataset.state = "ready";
    return { engine: placed.engine, renderer: kind, ms: performance.now() - started };
  }

  /** Fade everything but `nodeIds` and `edgeKeys` ("source>target"), marking those with `kind`
   * ("impact" or "path"). */
  highlight(nodeIds, edgeKeys, kind) {
    this.renderer?.highlight(new Set(nodeIds), new Set(edgeKeys), kind);
  }

  clearHighlight() {
    this.renderer?.clearHighlight();
  }

  /** Select the node `id` (by its reference) and bring it into view if it is outside (to the
   * middle of the view with `center`). */
  select(id, { center = false } = {}) {
    this.renderer?.select(id, center);
  }

  fit() {
    this.renderer?.fit();
  }

  zoomBy(factor) {
    this.renderer?.zoomBy(factor);
  }

  /** A PNG of the whole graph (a data URL), for "Save image". */
  png() {
    return this.renderer?.png();
  }

  destroy() {
    this.renderer?.destroy();
    this.renderer = null;
  }
}
