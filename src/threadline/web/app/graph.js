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
// model: nodes {id, ref, kind, label, width, height, x, y, classes, producer, state, tag} (plus owner and
// direction for the expand handles, parent for columns) and edges {id, source, target, label, classes}.
// `tag` is the node's catalog tag badge, {text, width}: a pill over the node's top right corner, drawn
// as an image (Cytoscape) or on the canvas, so its text, a tag's name, never becomes markup.
// A view model's node gives either its `label` or a `title` and `subtitle`: those are shortened here
// (names.js) to what the node has room for, measured in the font the graph draws with.
//
// The layout goes left to right, or top to bottom when that shows a long graph larger; the first
// zoom and pan put the whole graph in view when it is readable so, else the centre node and as many
// nodes as fit (viewport.js); the page is told how many nodes are in view (onInView), to say so.
//
// performance marks (read by benchmarks/ui_layout.py):
//   threadline:layout-done      positions are known
//   threadline:elements-added   the renderer holds the elements
//   threadline:viewport-set     zoom and pan chosen
//   threadline:graph-painted    the frame after that has been drawn
// The container's data attributes say what is shown: state (loading, ready), nodes, edges, engine
// (elk or layered), renderer (cytoscape or canvas), direction (RIGHT or DOWN), nodeWidth, zoom and
// pan, and how many nodes are wholly in view (inView).

import { CanvasGraph } from "./canvas-graph.js";
import { CytoscapeGraph } from "./cy-graph.js";
import { h, library } from "./dom.js";
import { ELK_MAX_NODES, layout } from "./layout.js";
import { essentialName, peerIndex, shortenName } from "./names.js";
import { bounds, chooseDirection, chooseViewport, countInView, layerShape } from "./viewport.js";

export const CANVAS_FROM = 500;
const NODE_WIDTH = 256;
const MAX_NODE_WIDTH = 336;
const NODE_HEIGHT = 48;
const FIELD_HEIGHT = 22;
const TABLE_WIDTH = 250;
const TABLE_HEADER = 30;
// The label's room: the node less its badge and margins (cy-graph.js TEXT_INSET, canvas-graph.js).
const LABEL_INSET = 68;
// The margins around the graph on first sight, unless the page gives its own (GraphView's `margins`).
const MARGINS = { padding: 24, top: 24, bottom: 0 };
const LABEL_FONT = "12px system-ui, -apple-system, Segoe UI, Roboto, sans-serif"; // as cy-graph.js draws it

let measurer = null;
const charWidths = new Map();

/** The width of `text` in the graph's label font, in pixels: the sum of its characters' widths,
 * each measured once (a 2,000-node view shortens its names in milliseconds; kerning is left out,
 * which the label's room allows for). */
function textWidth(text) {
  let width = 0;
  for (const char of text) {
    let w = charWidths.get(char);
    if (w === undefined) {
      measurer ||= document.createElement("canvas").getContext("2d");
      measurer.font = LABEL_FONT;
      w = measurer.measureText(char).width;
      charWidths.set(char, w);
    }
    width += w;
  }
  return width;
}

/** The width of the view's nodes: NODE_WIDTH, or wider (up to MAX_NODE_WIDTH) when one of the
 * `long` names (those too long for NODE_WIDTH) needs it to show what tells it apart (names.js). */
function nodeWidth(long) {
  let widest = 0;
  for (const name of long) widest = Math.max(widest, textWidth(essentialName(name)));
  return Math.min(MAX_NODE_WIDTH, Math.max(NODE_WIDTH, Math.ceil(widest + LABEL_INSET + 2)));
}

/** Each node's label: its own, or its title and subtitle shortened to the node's room. */
function labels(model, width, peers) {
  return new Map(
    model.nodes.map((node) => {
      if (node.label !== undefined || node.title === undefined) return [node.id, node.label ?? ""];
      const room = (node.width || width) - LABEL_INSET;
      const fits = (text) => textWidth(text) <= room;
      const lines = [
        shortenName(node.title, { fits, peers }),
        node.subtitle ? shortenName(node.subtitle, { fits }) : "",
      ];
      return [node.id, lines.filter(Boolean).join("\n")];
    }),
  );
}

/** Nodes and edges of the view model with their positions (the renderers' common input), laid out
 * in `direction` (RIGHT or DOWN; the layered engine goes RIGHT only), nodes `defaultWidth` wide
 * unless they say otherwise. */
async function placeNodes(model, direction, defaultWidth, peers) {
  const sized = model.nodes.map((node) => ({
    id: node.id,
    width: node.width || defaultWidth,
    height: node.height || NODE_HEIGHT,
  }));
  const placed = await layout(sized, model.edges, { direction });
  const { positions } = placed;
  const down = placed.direction === "DOWN";
  const text = labels(model, defaultWidth, peers);
  const nodes = [];
  for (const node of model.nodes) {
    const { x, y } = positions.get(node.id) || { x: 0, y: 0 };
    const width = node.width || defaultWidth;
    const height = node.height || NODE_HEIGHT;
    nodes.push({
      id: node.id,
      ref: node.ref || node.id,
      kind: node.kind,
      label: text.get(node.id),
      width,
      height,
      x,
      y,
      classes: node.classes || "",
      producer: node.producer || null,
      state: node.state || null,
      tag: node.tagLabel ? { text: node.tagLabel, width: Math.ceil(textWidth(node.tagLabel) + 16) } : null,
    });
    // Expand handles: upstream before the node, downstream after it (left and right, or above and below).
    for (const [way, side] of [
      ["up", -1],
      ["down", 1],
    ]) {
      const handle = node.handles?.[way];
      if (!handle) continue;
      nodes.push({
        id: `handle:${way}:${node.id}`,
        ref: node.id,
        kind: "handle",
        owner: node.id,
        direction: way,
        label: "",
        width: 20,
        height: 20,
        x: down ? x : x + side * (width / 2 + 14),
        y: down ? y + side * (height / 2 + 14) : y,
        classes: handle === "open" ? "handle open" : "handle",
      });
    }
  }
  const edges = model.edges.map((edge) => ({
    id: edge.id,
    source: edge.source,
    target: edge.target,
    label: edge.label || "",
    classes: [edge.classes, down ? "down" : ""].filter(Boolean).join(" "),
  }));
  return { nodes, edges, engine: placed.engine, direction: placed.direction };
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
  const sized = tables.map((t) => ({
    id: t.id,
    width: TABLE_WIDTH,
    height: TABLE_HEADER + fieldsOf.get(t.id).length * FIELD_HEIGHT + 8,
  }));
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
    nodes.push({
      id: table.id,
      ref: table.ref,
      kind: "table",
      label: table.label,
      width: TABLE_WIDTH,
      height: box.height,
      x: center.x,
      y: center.y,
      classes: `table ${table.classes || ""}`,
    });
    fieldsOf.get(table.id).forEach((field, j) => {
      nodes.push({
        id: field.id,
        ref: field.ref,
        kind: "field",
        parent: table.id,
        label: field.label,
        width: TABLE_WIDTH - 12,
        height: FIELD_HEIGHT - 2,
        x: center.x,
        y: top + TABLE_HEADER + j * FIELD_HEIGHT + FIELD_HEIGHT / 2,
        classes: `field ${field.classes || ""}`,
      });
    });
  });
  const edges = model.edges.map((edge) => ({
    id: edge.id,
    source: edge.source,
    target: edge.target,
    label: edge.label || "",
    classes: `field-edge ${edge.classes || ""}`,
  }));
  return { nodes, edges, engine, direction: "RIGHT" };
}

export class GraphView {
  /**
   * `container`: the element to draw in. Options: the callbacks onSelect(id|null), onOpen(id),
   * onExpand(id, "up"|"down"), onMore(groupId); `hint`: an element that says, when not every node
   * is in view, how many are (hidden otherwise), with a "Show all" button unless `hintButton` is
   * false (the page has its own Fit); `margins` ({padding,
   * top, bottom} pixels) kept clear around the graph on first sight, for what the page lays over it.
   */
  constructor(container, { hint = null, hintButton = true, margins = {}, ...callbacks } = {}) {
    this.container = container;
    this.boxes = [];
    this.hint = hint;
    this.hintButton = hintButton;
    this.margins = { ...MARGINS, ...margins };
    if (hint) hint.hidden = true;
    this.callbacks = {
      ...callbacks,
      onViewport: (zoom, pan) => {
        container.dataset.zoom = zoom.toFixed(3);
        container.dataset.pan = `${Math.round(pan.x)},${Math.round(pan.y)}`;
        // The renderer's own idea of its size: reading the container's would force a layout each frame.
        if (this.renderer) this.inView(countInView(this.boxes, { zoom, pan }, this.renderer.size()));
      },
    };
    this.renderer = null;
  }

  /** Say how many of the nodes are wholly in view (the container's data-in-view, and the hint). */
  inView(shown) {
    const total = this.boxes.length;
    if (shown === this.shown && total === this.total) return; // panning: most frames change nothing here
    this.shown = shown;
    this.total = total;
    this.container.dataset.inView = String(shown);
    if (!this.hint) return;
    this.hint.hidden = shown >= total;
    if (!this.hint.hidden) {
      this.hint.replaceChildren(
        `${shown} of ${total} nodes in view `,
        this.hintButton
          ? h("button", { type: "button", class: "small ghost", onclick: () => this.fit() }, "Show all")
          : "",
      );
    }
  }

  /**
   * Lay out and draw `model` ({nodes, edges, columns}). Keeps the viewport when `keepViewport` and
   * `focus` (a node id) is still drawn (an expansion); else opens on the whole graph, or, when that
   * is not readable, on the centre node (the node with class "center") and what fits around it.
   * `height` ([min, max] pixels): the container takes the height the graph needs within them.
   * Resolves with {engine, renderer, direction, ms, labels (node id -> the label drawn)}.
   */
  async show(model, { keepViewport = false, focus = null, height = null } = {}) {
    const started = performance.now();
    // Each library only when it is used: ELK (1.6 MB to compile) lays out views up to ELK_MAX_NODES,
    // Cytoscape draws views up to CANVAS_FROM.
    const large = !model.columns && model.nodes.length > CANVAS_FROM;
    await Promise.all([
      large ? null : library("cytoscape"),
      model.nodes.length > ELK_MAX_NODES ? null : library("elk"),
    ]);
    const size = { width: this.container.clientWidth, height: height ? height[1] : this.container.clientHeight };
    // Only names too long for a node are shortened, and only then are the names in view compared.
    const titles = model.nodes.filter((n) => n.title !== undefined).map((n) => n.title);
    const long = titles.filter((title) => textWidth(title) > NODE_WIDTH - LABEL_INSET);
    const peers = long.length ? peerIndex(titles) : null;
    const width = model.columns ? TABLE_WIDTH : nodeWidth(long);
    const direction =
      model.columns || model.nodes.length > ELK_MAX_NODES
        ? "RIGHT"
        : chooseDirection(layerShape(model.nodes, model.edges), { ...size, ...this.margins }, { nodeWidth: width })
            .direction;
    const placed = model.columns ? await placeColumns(model) : await placeNodes(model, direction, width, peers);
    performance.mark("threadline:layout-done");
    this.boxes = placed.nodes.filter((n) => n.kind !== "handle" && n.kind !== "field");
    if (height) {
      // As tall as the graph at the zoom it will open with, within [min, max].
      const all = placed.nodes.filter((n) => n.kind !== "field");
      const { zoom } = chooseViewport(all, { ...size, ...this.margins });
      const { y1, y2 } = bounds(all);
      const needed = Math.ceil((y2 - y1) * zoom + this.margins.top + this.margins.padding + this.margins.bottom);
      this.container.style.height = `${Math.min(height[1], Math.max(height[0], needed))}px`;
    }
    const drawn = placed.nodes.filter((n) => n.kind !== "handle").length;
    const kind = !model.columns && drawn > CANVAS_FROM ? "canvas" : "cytoscape";
    if (this.renderer?.kind !== kind) {
      this.renderer?.destroy();
      this.renderer =
        kind === "canvas"
          ? new CanvasGraph(this.container, this.callbacks)
          : new CytoscapeGraph(this.container, this.callbacks);
      keepViewport = false;
    }
    const center = placed.nodes.find(
      (n) => n.kind !== "handle" && n.kind !== "field" && /(^| )center( |$)/.test(n.classes),
    );
    this.renderer.draw(placed, { keepViewport, focus, center: center?.id || null, margins: this.margins });
    Object.assign(this.container.dataset, {
      nodes: String(drawn),
      edges: String(placed.edges.length),
      engine: placed.engine,
      renderer: kind,
      direction: placed.direction,
      nodeWidth: String(width),
    });
    // Ready as soon as the drawing is in the page: a browser on virtual time (headless Chromium's
    // --screenshot, --dump-dom) may produce no frame before it takes its picture, so "ready" must
    // not wait for one; the paint mark (the benchmarks' first paint) still does.
    this.container.dataset.state = "ready";
    await new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)));
    performance.mark("threadline:graph-painted");
    const labelsDrawn = new Map(placed.nodes.filter((n) => n.kind !== "handle").map((n) => [n.id, n.label]));
    return {
      engine: placed.engine,
      renderer: kind,
      direction: placed.direction,
      ms: performance.now() - started,
      labels: labelsDrawn,
    };
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
