// The graph canvas: Cytoscape.js draws what the lineage page decides to show, where layout.js puts it.
//
// Cytoscape draws on a canvas, so labels are text by construction: a hostile name cannot become markup.
// The page gives a view model (nodes with kind, label, producer, state; edges), the graph lays it out,
// draws it, and reports taps back. Large views switch Cytoscape to its cheap modes (a texture while
// panning, labels hidden below a readable size, pixel ratio 1), which keeps panning smooth at 2,000
// nodes on a machine without a GPU.
//
// performance marks (read by the browser tests and benchmarks/ui_layout.py):
//   threadline:layout-done      positions are known
//   threadline:elements-added   Cytoscape holds the elements (styles applied)
//   threadline:viewport-set     zoom and pan chosen (fit)
//   threadline:graph-painted    the frame after that has been drawn

import { layout } from "./layout.js";

const NODE_WIDTH = 240;
const NODE_HEIGHT = 48;
const FIELD_HEIGHT = 22;
const TABLE_WIDTH = 250;
const TABLE_HEADER = 30;
const LARGE = 500;
const READABLE_ZOOM = 0.55;

const STATE_COLORS = {
  COMPLETED: "#16a34a",
  FAILED: "#dc2626",
  RUNNING: "#2563eb",
  ABORTED: "#d97706",
  NEW: "#94a3b8",
};

const badgeCache = new Map();

/** An SVG badge (a data: URL): the producer's colour and short name over a glyph of the node's kind
 * (a cylinder for datasets, a box for jobs, a diamond for models, a dot for runs). Without a known
 * producer it is grey with the glyph alone. */
function badge(producer, kind) {
  const text = (producer.short || "").replace(/[^A-Za-z0-9?]/g, "").slice(0, 3);
  const key = `${text}|${producer.color}|${kind}`;
  if (badgeCache.has(key)) return badgeCache.get(key);
  const y = text ? 27 : 17; // the glyph's centre: under the text, or in the middle
  const glyph = {
    dataset: `<ellipse cx="17" cy="${y}" rx="7" ry="2.2" fill="none" stroke="white" stroke-width="1.4"/>`
      + (text ? "" : `<path d="M10 ${y - 6}v6M24 ${y - 6}v6" stroke="white" stroke-width="1.4"/><ellipse cx="17" cy="${y - 6}" rx="7" ry="2.2" fill="none" stroke="white" stroke-width="1.4"/>`),
    model: `<path d="M17 ${y - 3.5}l4 3.5-4 3.5-4-3.5z" fill="white"/>`,
    job: `<rect x="13" y="${y - 3}" width="8" height="6" rx="1" fill="none" stroke="white" stroke-width="1.4"/>`,
    run: `<circle cx="17" cy="${y}" r="3" fill="white"/>`,
  }[kind] || "";
  const size = text.length > 2 ? 10 : 12;
  const label = text
    ? `<text x="17" y="18" text-anchor="middle" font-family="system-ui,sans-serif" font-size="${size}" font-weight="700" fill="white">${text}</text>`
    : "";
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="34" height="34" viewBox="0 0 34 34">`
    + `<rect width="34" height="34" rx="8" fill="${producer.color}"/>${label}${glyph}</svg>`;
  const url = `data:image/svg+xml;utf8,${encodeURIComponent(svg)}`;
  badgeCache.set(key, url);
  return url;
}

function stylesheet() {
  return [
    { selector: "node", style: {
      "width": "data(width)", "height": "data(height)",
      "shape": "round-rectangle", "background-color": "#ffffff",
      "border-width": 1.5, "border-color": "#cbd5e1",
      "label": "data(label)", "font-size": 12, "color": "#0f172a", "font-family": "system-ui, -apple-system, Segoe UI, Roboto, sans-serif",
      "text-wrap": "wrap", "text-max-width": "data(textWidth)", "text-valign": "center", "text-halign": "center",
      "text-justification": "left", "text-margin-x": 22, "line-height": 1.35,
      "min-zoomed-font-size": 6,
      "background-image": "data(badge)", "background-width": 30, "background-height": 30,
      "background-position-x": 8, "background-position-y": "50%", "background-clip": "none",
      "background-image-containment": "over", "background-image-smoothing": "yes",
    } },
    { selector: "node[kind = 'dataset']", style: { "background-color": "#eff6ff", "border-color": "#93c5fd" } },
    { selector: "node[kind = 'model']", style: { "background-color": "#f5f3ff", "border-color": "#a78bfa", "shape": "round-octagon" } },
    { selector: "node[kind = 'job']", style: { "shape": "rectangle", "border-width": 2, "border-color": "data(stateColor)" } },
    { selector: "node[kind = 'run']", style: { "shape": "round-tag", "background-color": "#f8fafc", "border-width": 2, "border-color": "data(stateColor)" } },
    { selector: "node.center", style: { "border-width": 3.5, "border-color": "#f59e0b", "underlay-color": "#fde68a", "underlay-opacity": 0.45, "underlay-padding": 6 } },
    { selector: "node[kind = 'job'].failed", style: { "background-color": "#fef2f2" } },
    { selector: "node.more", style: {
      "shape": "round-rectangle", "background-color": "#f8fafc", "border-style": "dashed", "border-color": "#64748b",
      "background-image": "none", "text-margin-x": 0, "text-justification": "center", "font-weight": 600, "color": "#334155" } },
    { selector: "node.handle", style: {
      "width": 20, "height": 20, "shape": "ellipse", "background-color": "#ffffff", "border-width": 1.5, "border-color": "#64748b",
      "label": "+", "font-size": 15, "font-weight": 700, "text-margin-x": 0, "text-margin-y": -1, "text-justification": "center",
      "background-image": "none", "color": "#334155", "min-zoomed-font-size": 0 } },
    { selector: "node.handle.open", style: { "label": "−" } },
    { selector: "node.table", style: {
      "shape": "round-rectangle", "background-color": "#f8fafc", "border-color": "#94a3b8", "border-width": 1.5,
      "label": "data(label)", "text-valign": "top", "text-halign": "center", "text-margin-x": 0, "text-margin-y": -6,
      "text-justification": "center", "font-weight": 600, "padding": 0, "background-image": "none",
      "compound-sizing-wrt-labels": "exclude" } },
    { selector: "node.table.center", style: { "border-color": "#f59e0b", "border-width": 3 } },
    { selector: "node.field", style: {
      "shape": "rectangle", "background-color": "#ffffff", "border-width": 0.5, "border-color": "#e2e8f0",
      "background-image": "none", "text-margin-x": 0, "font-size": 11, "text-justification": "left",
      "text-halign": "center", "color": "#0f172a" } },
    { selector: "node.field.lineage", style: { "background-color": "#eff6ff", "font-weight": 600 } },
    { selector: "node.field.focus", style: { "background-color": "#fef3c7", "border-color": "#f59e0b", "border-width": 2 } },
    { selector: "edge", style: {
      "width": 1.5, "line-color": "#94a3b8", "target-arrow-color": "#94a3b8", "target-arrow-shape": "triangle",
      "arrow-scale": 0.8, "curve-style": "taxi", "taxi-direction": "horizontal", "taxi-turn": "50%", "taxi-radius": 8,
    } },
    { selector: "edge.field-edge", style: {
      // From the right side of the source column to the left side of the target column.
      "curve-style": "bezier", "source-endpoint": "90deg", "target-endpoint": "270deg",
      "line-color": "#3b82f6", "target-arrow-color": "#3b82f6", "label": "data(label)", "font-size": 9, "color": "#1e3a8a",
      "text-background-color": "#ffffff", "text-background-opacity": 0.9, "text-background-padding": 2,
      "text-rotation": "autorotate", "min-zoomed-font-size": 8 } },
    { selector: "edge.selected-edge", style: { "width": 3, "min-zoomed-font-size": 0, "z-index": 10 } },
    { selector: "edge.indirect", style: { "line-style": "dashed", "line-color": "#a855f7", "target-arrow-color": "#a855f7", "color": "#6b21a8" } },
    { selector: "edge.more-edge", style: { "line-style": "dashed" } },
    { selector: "edge.fast", style: { "curve-style": "haystack", "haystack-radius": 0, "target-arrow-shape": "none" } },
    { selector: "node:selected", style: { "overlay-color": "#2563eb", "overlay-opacity": 0.12, "overlay-padding": 4 } },
    { selector: ".faded", style: { "opacity": 0.18 } },
    { selector: "node.impact", style: { "border-color": "#e11d48", "border-width": 3 } },
    { selector: "edge.impact", style: { "line-color": "#e11d48", "target-arrow-color": "#e11d48", "width": 2.5 } },
    { selector: "node.path", style: { "border-color": "#7c3aed", "border-width": 3.5 } },
    { selector: "edge.path", style: { "line-color": "#7c3aed", "target-arrow-color": "#7c3aed", "width": 3.5 } },
  ];
}

export class GraphView {
  /**
   * `container`: the element to draw in. Callbacks: onSelect(id|null), onOpen(id),
   * onExpand(id, "up"|"down"), onMore(groupId).
   */
  constructor(container, callbacks = {}) {
    this.container = container;
    this.callbacks = callbacks;
    this.cy = window.cytoscape({
      container,
      style: stylesheet(),
      minZoom: 0.02,
      maxZoom: 3,
      boxSelectionEnabled: false,
      autoungrabify: true,
    });
    this.cy.on("tap", "node", (event) => this._tap(event.target));
    this.cy.on("dbltap", "node", (event) => {
      const node = event.target;
      if (!node.hasClass("handle") && !node.hasClass("more") && this.callbacks.onOpen) this.callbacks.onOpen(node.data("ref") || node.id());
    });
    this.cy.on("tap", (event) => {
      if (event.target === this.cy && this.callbacks.onSelect) this.callbacks.onSelect(null);
    });
    this.cy.on("mouseover", "node.handle, node.more", () => { container.style.cursor = "pointer"; });
    this.cy.on("mouseout", "node", () => { container.style.cursor = ""; });
  }

  _tap(node) {
    if (node.hasClass("handle")) {
      this.callbacks.onExpand?.(node.data("owner"), node.data("direction"));
    } else if (node.hasClass("more")) {
      this.callbacks.onMore?.(node.id());
    } else {
      this.callbacks.onSelect?.(node.data("ref") || node.id());
    }
  }

  /**
   * Lay out and draw `model` ({nodes, edges, columns}). Keeps the viewport when `keepViewport`
   * and the center node stays (an expansion), else fits the view; `anchor` (the direction:
   * upstream, downstream or both) says where the centre goes when the whole graph cannot be
   * shown at a readable size. Resolves with {engine, ms}.
   */
  async show(model, { keepViewport = false, focus = null, anchor = "both" } = {}) {
    const started = performance.now();
    const placed = model.columns ? await this._placeColumns(model) : await this._placeNodes(model);
    performance.mark("threadline:layout-done");
    const large = placed.nodes.length > LARGE;
    const cy = this.cy;
    const kept = keepViewport && focus ? cy.getElementById(focus) : null;
    const keptScreen = kept && kept.nonempty() ? kept.renderedPosition() : null;
    // Cheap rendering modes for large views (see the module comment).
    cy.renderer().textureOnViewport = large;
    cy.renderer().hideEdgesOnViewport = placed.nodes.length > 3000;
    cy.batch(() => {
      cy.elements().remove();
      cy.add(placed.nodes);
      cy.add(placed.edges);
    });
    performance.mark("threadline:elements-added");
    if (keptScreen && cy.getElementById(focus).nonempty()) {
      // Keep the node that was expanded where the user was looking.
      const now = cy.getElementById(focus).renderedPosition();
      cy.panBy({ x: keptScreen.x - now.x, y: keptScreen.y - now.y });
    } else if (large) {
      // cy.fit() measures every label and edge for the bounding box (most of a second at 2,000
      // nodes); the layout already knows where everything is.
      this._fitPositions(placed.nodes);
    } else {
      cy.fit(undefined, 40);
      if (cy.zoom() > 1.1) { cy.zoom(1.1); cy.center(); }
      // A long chain fits only at a zoom too small to read; then stay readable around the centre
      // node instead (the rest is a pan away).
      const center = cy.nodes(".center").first();
      if (cy.zoom() < READABLE_ZOOM && placed.nodes.length <= 150 && center.nonempty()) {
        cy.zoom(READABLE_ZOOM);
        cy.center(center);
        // Downstream views grow to the right, upstream ones to the left: start at the centre's side.
        const side = { downstream: 0.12, upstream: 0.88 }[anchor];
        if (side !== undefined) cy.panBy({ x: cy.width() * side - center.renderedPosition().x, y: 0 });
      }
    }
    performance.mark("threadline:viewport-set");
    this.container.dataset.nodes = String(placed.nodes.filter((n) => !n.classes?.includes("handle")).length);
    this.container.dataset.edges = String(placed.edges.length);
    this.container.dataset.engine = placed.engine;
    await new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)));
    performance.mark("threadline:graph-painted");
    this.container.dataset.state = "ready";
    return { engine: placed.engine, ms: performance.now() - started };
  }

  async _placeNodes(model) {
    const sized = model.nodes.map((node) => ({ id: node.id, width: node.width || NODE_WIDTH, height: node.height || NODE_HEIGHT }));
    const { positions, engine } = await layout(sized, model.edges);
    const nodes = [];
    for (const node of model.nodes) {
      const position = positions.get(node.id) || { x: 0, y: 0 };
      const width = node.width || NODE_WIDTH;
      const height = node.height || NODE_HEIGHT;
      nodes.push({
        group: "nodes",
        data: {
          id: node.id, ref: node.ref || node.id, kind: node.kind, label: node.label, width, height,
          textWidth: node.kind === "more" ? width - 16 : width - 64,
          badge: node.producer ? badge(node.producer, node.kind) : "none",
          stateColor: STATE_COLORS[node.state] || "#cbd5e1",
        },
        classes: node.classes || "",
        position,
      });
      for (const [direction, side] of [["up", -1], ["down", 1]]) {
        const handle = node.handles?.[direction];
        if (!handle) continue;
        nodes.push({
          group: "nodes",
          data: { id: `handle:${direction}:${node.id}`, owner: node.id, direction, width: 20, height: 20, label: "", textWidth: 20, badge: "none", stateColor: "#64748b" },
          classes: `handle${handle === "open" ? " open" : ""}`,
          position: { x: position.x + side * (width / 2 + 14), y: position.y },
        });
      }
    }
    // Large views draw straight edges (haystack: the cheapest kind); the layout runs left to right,
    // so direction is clear without arrowheads, which are too small to see at that zoom anyway.
    const fast = model.nodes.length > LARGE ? " fast" : "";
    const edges = model.edges.map((edge) => ({
      group: "edges", data: { id: edge.id, source: edge.source, target: edge.target, label: edge.label || "" },
      classes: (edge.classes || "") + fast,
    }));
    return { nodes, edges, engine };
  }

  /** Zoom and pan so that every node (by its layout position and size) is in view. */
  _fitPositions(nodes, padding = 40) {
    let x1 = Infinity; let y1 = Infinity; let x2 = -Infinity; let y2 = -Infinity;
    for (const node of nodes) {
      const w = node.data.width / 2;
      const h = node.data.height / 2;
      x1 = Math.min(x1, node.position.x - w); x2 = Math.max(x2, node.position.x + w);
      y1 = Math.min(y1, node.position.y - h); y2 = Math.max(y2, node.position.y + h);
    }
    const cy = this.cy;
    const zoom = Math.min(1.1, (cy.width() - 2 * padding) / (x2 - x1), (cy.height() - 2 * padding) / (y2 - y1));
    cy.viewport({ zoom, pan: { x: cy.width() / 2 - zoom * (x1 + x2) / 2, y: cy.height() / 2 - zoom * (y1 + y2) / 2 } });
  }

  async _placeColumns(model) {
    // Lay out the datasets as boxes tall enough for their fields, then put the fields inside.
    const tables = model.nodes.filter((node) => node.kind === "table");
    const fieldsOf = new Map(tables.map((t) => [t.id, []]));
    for (const node of model.nodes) if (node.kind === "field") fieldsOf.get(node.parent)?.push(node);
    const sized = tables.map((t) => ({ id: t.id, width: TABLE_WIDTH, height: TABLE_HEADER + fieldsOf.get(t.id).length * FIELD_HEIGHT + 8 }));
    const tableOf = new Map();
    for (const node of model.nodes) if (node.kind === "field") tableOf.set(node.id, node.parent);
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
    for (const table of tables) {
      const box = sized.find((s) => s.id === table.id);
      const center = positions.get(table.id) || { x: 0, y: 0 };
      const top = center.y - box.height / 2;
      nodes.push({ group: "nodes", data: { id: table.id, ref: table.ref, kind: "table", label: table.label, width: TABLE_WIDTH, height: box.height, badge: "none", textWidth: TABLE_WIDTH, stateColor: "#94a3b8" },
        classes: `table ${table.classes || ""}` });
      fieldsOf.get(table.id).forEach((field, i) => {
        nodes.push({
          group: "nodes",
          data: { id: field.id, ref: field.ref, parent: table.id, kind: "field", label: field.label,
            width: TABLE_WIDTH - 12, height: FIELD_HEIGHT - 2, textWidth: TABLE_WIDTH - 24, badge: "none", stateColor: "#e2e8f0" },
          classes: `field ${field.classes || ""}`,
          position: { x: center.x, y: top + TABLE_HEADER + i * FIELD_HEIGHT + FIELD_HEIGHT / 2 },
        });
      });
    }
    const edges = model.edges.map((edge) => ({
      group: "edges", data: { id: edge.id, source: edge.source, target: edge.target, label: edge.label || "" },
      classes: `field-edge ${edge.classes || ""}`,
    }));
    return { nodes, edges, engine };
  }

  /** Fade everything but `nodeIds` and `edgeIds`, marking those with `kind` ("impact" or "path"). */
  highlight(nodeIds, edgeIds, kind) {
    const cy = this.cy;
    cy.batch(() => {
      cy.elements().removeClass("faded impact path");
      const keepNodes = new Set(nodeIds);
      const keepEdges = new Set(edgeIds);
      cy.nodes().forEach((node) => {
        const id = node.data("ref") || node.id();
        if (node.hasClass("handle")) node.addClass("faded");
        else if (keepNodes.has(id)) node.addClass(kind);
        else node.addClass("faded");
      });
      cy.edges().forEach((edge) => {
        if (keepEdges.has(`${edge.data("source")}>${edge.data("target")}`)) edge.addClass(kind);
        else edge.addClass("faded");
      });
    });
  }

  clearHighlight() {
    this.cy.elements().removeClass("faded impact path");
  }

  /** Select the node `id` (by its reference) and bring it into view if it is outside. */
  select(id) {
    const cy = this.cy;
    cy.nodes(":selected").unselect();
    cy.edges(".selected-edge").removeClass("selected-edge");
    if (!id) return;
    const node = cy.nodes().filter((n) => (n.data("ref") || n.id()) === id && !n.hasClass("handle")).first();
    if (node.nonempty()) {
      node.select();
      node.connectedEdges().addClass("selected-edge");
      const extent = cy.extent();
      const p = node.position();
      if (p.x < extent.x1 || p.x > extent.x2 || p.y < extent.y1 || p.y > extent.y2) cy.center(node);
    }
  }

  fit() {
    this.cy.fit(undefined, 40);
  }

  zoomBy(factor) {
    const cy = this.cy;
    cy.zoom({ level: cy.zoom() * factor, renderedPosition: { x: cy.width() / 2, y: cy.height() / 2 } });
  }

  /** A PNG of the whole graph (a data URL), for "Save image". */
  png() {
    return this.cy.png({ full: true, scale: 2, bg: "#ffffff" });
  }

  destroy() {
    this.cy.destroy();
  }
}
