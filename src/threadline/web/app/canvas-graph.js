// The canvas renderer for large lineage views (see graph.js for why there are two).
//
// It draws the placed model on one 2D canvas: edges as curves from the right side of their source to
// the left side of their target, nodes as boxes in the same colours as the Cytoscape view (dataset,
// model, job with its latest run's state as border, "+N more"), and, once zoomed in far enough to read,
// the producer's badge and the two label lines. Only what is in view is drawn, nodes with the same
// look in one path each, so a frame of 2,000 nodes costs milliseconds. Drag pans, the wheel zooms,
// a click selects, a double-click opens, and the expand handles and "+N more" nodes work as in the
// Cytoscape view.

import { STATE_COLORS } from "./cy-graph.js";
import { chooseViewport } from "./viewport.js";

const MIN_ZOOM = 0.02;
const MAX_ZOOM = 3;
const LABEL_ZOOM = 0.45; // below this a 12 px label is under 6 px on screen: not drawn
const DETAIL_ZOOM = 0.25; // below this boxes are plain rectangles, without badges
const ARROW_ZOOM = 0.35;
const DRAG_THRESHOLD = 4;
const FONT = "system-ui, -apple-system, Segoe UI, Roboto, sans-serif";

const LOOKS = {
  dataset: { fill: "#eff6ff", stroke: "#93c5fd", width: 1.5 },
  model: { fill: "#f5f3ff", stroke: "#a78bfa", width: 1.5 },
  job: { fill: "#ffffff", stroke: "#cbd5e1", width: 2 },
  run: { fill: "#f8fafc", stroke: "#cbd5e1", width: 2 },
  more: { fill: "#f8fafc", stroke: "#64748b", width: 1.5, dash: true },
  handle: { fill: "#ffffff", stroke: "#64748b", width: 1.5 },
};
const MARKED = { impact: "#e11d48", path: "#7c3aed" };
const EDGE_COLOR = "#94a3b8";

/** How a node is drawn: fill, stroke, line width, dashed, faded. */
function lookOf(node, marks, selected) {
  const base = LOOKS[node.kind] || LOOKS.dataset;
  let { fill, stroke, width } = base;
  if (node.kind === "job" || node.kind === "run") stroke = STATE_COLORS[node.state] || stroke;
  if (node.kind === "job" && node.state === "FAILED") fill = "#fef2f2";
  if (node.center) {
    stroke = "#f59e0b";
    width = 3.5;
  }
  let faded = false;
  if (marks) {
    if (node.kind !== "handle" && marks.nodes.has(node.ref)) {
      stroke = MARKED[marks.kind];
      width = 3.5;
    } else faded = true;
  }
  if (selected) {
    stroke = "#2563eb";
    width = 3.5;
  }
  return { fill, stroke, width, dash: Boolean(base.dash), faded };
}

export class CanvasGraph {
  constructor(container, callbacks) {
    this.kind = "canvas";
    this.container = container;
    this.callbacks = callbacks;
    this.canvas = document.createElement("canvas");
    this.canvas.className = "graph-surface";
    container.append(this.canvas);
    this.ctx = this.canvas.getContext("2d");
    this.zoom = 1;
    this.pan = { x: 0, y: 0 };
    this.nodes = [];
    this.boxes = [];
    this.handles = [];
    this.edges = [];
    this.byId = new Map();
    this.marks = null;
    this.selected = null;
    this.frame = 0;
    this.drag = null;
    this.width = 0;
    this.height = 0;
    this.listen();
    this.resizer = new ResizeObserver(() => this.resize());
    this.resizer.observe(container);
    this.resize();
  }

  // ---- input ------------------------------------------------------------------------------------

  listen() {
    const canvas = this.canvas;
    const point = (event) => {
      const box = canvas.getBoundingClientRect();
      return { x: event.clientX - box.left, y: event.clientY - box.top };
    };
    canvas.addEventListener("pointerdown", (event) => {
      if (event.button !== 0) return;
      canvas.setPointerCapture(event.pointerId);
      const at = point(event);
      this.drag = { x: at.x, y: at.y, pan: { ...this.pan }, moved: false };
    });
    canvas.addEventListener("pointermove", (event) => {
      const at = point(event);
      const drag = this.drag;
      if (!drag) {
        const hit = this.hit(at);
        canvas.style.cursor = hit && (hit.kind === "handle" || hit.kind === "more") ? "pointer" : "";
        return;
      }
      const dx = at.x - drag.x;
      const dy = at.y - drag.y;
      if (!drag.moved && dx * dx + dy * dy < DRAG_THRESHOLD * DRAG_THRESHOLD) return;
      drag.moved = true;
      this.pan = { x: drag.pan.x + dx, y: drag.pan.y + dy };
      this.changed();
    });
    canvas.addEventListener("pointerup", (event) => {
      const drag = this.drag;
      this.drag = null;
      if (drag && !drag.moved) this.tap(this.hit(point(event)));
    });
    canvas.addEventListener("pointercancel", () => {
      this.drag = null;
    });
    canvas.addEventListener("dblclick", (event) => {
      const hit = this.hit(point(event));
      if (hit && hit.kind !== "handle" && hit.kind !== "more") this.callbacks.onOpen?.(hit.ref);
    });
    canvas.addEventListener(
      "wheel",
      (event) => {
        event.preventDefault();
        this.zoomAt(point(event), Math.exp(-event.deltaY * 0.0015));
      },
      { passive: false },
    );
  }

  tap(node) {
    if (!node) this.callbacks.onSelect?.(null);
    else if (node.kind === "handle") this.callbacks.onExpand?.(node.owner, node.direction);
    else if (node.kind === "more") this.callbacks.onMore?.(node.id);
    else this.callbacks.onSelect?.(node.ref);
  }

  /** The node under a point of the canvas (handles first, then the nodes drawn last). */
  hit(at) {
    const x = (at.x - this.pan.x) / this.zoom;
    const y = (at.y - this.pan.y) / this.zoom;
    const inside = (n) => Math.abs(x - n.x) <= n.width / 2 && Math.abs(y - n.y) <= n.height / 2;
    for (const handle of this.handles) if (inside(handle)) return handle;
    for (let i = this.boxes.length - 1; i >= 0; i -= 1) if (inside(this.boxes[i])) return this.boxes[i];
    return null;
  }

  // ---- the viewport -----------------------------------------------------------------------------

  resize() {
    const width = this.container.clientWidth;
    const height = this.container.clientHeight;
    if (width === this.width && height === this.height) return;
    this.width = width;
    this.height = height;
    this.dpr = window.devicePixelRatio || 1;
    this.canvas.width = Math.max(1, Math.round(width * this.dpr));
    this.canvas.height = Math.max(1, Math.round(height * this.dpr));
    this.render();
  }

  changed() {
    this.callbacks.onViewport?.(this.zoom, this.pan);
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.render();
    });
  }

  zoomAt(at, factor) {
    const zoom = Math.min(MAX_ZOOM, Math.max(MIN_ZOOM, this.zoom * factor));
    const k = zoom / this.zoom;
    this.pan = { x: at.x - (at.x - this.pan.x) * k, y: at.y - (at.y - this.pan.y) * k };
    this.zoom = zoom;
    this.changed();
  }

  size() {
    return { width: this.width, height: this.height };
  }

  zoomBy(factor) {
    this.zoomAt({ x: this.width / 2, y: this.height / 2 }, factor);
  }

  bounds(nodes = this.boxes) {
    let x1 = Infinity;
    let y1 = Infinity;
    let x2 = -Infinity;
    let y2 = -Infinity;
    for (const n of nodes) {
      x1 = Math.min(x1, n.x - n.width / 2);
      x2 = Math.max(x2, n.x + n.width / 2);
      y1 = Math.min(y1, n.y - n.height / 2);
      y2 = Math.max(y2, n.y + n.height / 2);
    }
    return { x1, y1, x2, y2 };
  }

  /** The whole graph in view, with the margins of the first view (and never above 100 %). */
  fit() {
    if (!this.nodes.length) return;
    const { zoom, pan } = chooseViewport(this.nodes, {
      width: this.width,
      height: this.height,
      ...this.margins,
      minZoom: MIN_ZOOM,
    });
    this.zoom = zoom;
    this.pan = pan;
    this.changed();
  }

  // ---- what is drawn ----------------------------------------------------------------------------

  /** Draw `placed` (see graph.js) and choose the viewport (see viewport.js; `center`: the node the
   * view is about, in view first). */
  draw(placed, { keepViewport, focus, center, margins }) {
    this.resize();
    this.margins = margins;
    const before = keepViewport && focus ? this.byId.get(focus) : null;
    const screen = before ? { x: before.x * this.zoom + this.pan.x, y: before.y * this.zoom + this.pan.y } : null;
    this.nodes = placed.nodes.map((node) => ({ ...node, center: node.classes.includes("center"), lines: null }));
    this.byId = new Map(this.nodes.map((node) => [node.id, node]));
    this.handles = this.nodes.filter((node) => node.kind === "handle");
    this.boxes = this.nodes.filter((node) => node.kind !== "handle");
    this.edges = [];
    for (const edge of placed.edges) {
      const source = this.byId.get(edge.source);
      const target = this.byId.get(edge.target);
      if (source && target)
        this.edges.push({ ...edge, from: source, to: target, key: `${edge.source}>${edge.target}` });
    }
    this.marks = null;
    this.selected = null;
    performance.mark("threadline:elements-added");
    const after = before ? this.byId.get(focus) : null;
    if (screen && after) {
      this.pan = { x: screen.x - after.x * this.zoom, y: screen.y - after.y * this.zoom };
      this.changed();
    } else {
      const { zoom, pan } = chooseViewport(this.nodes, {
        width: this.width,
        height: this.height,
        focus: this.byId.get(center),
        ...margins,
      });
      this.zoom = zoom;
      this.pan = pan;
      this.changed();
    }
    performance.mark("threadline:viewport-set");
    if (this.frame) cancelAnimationFrame(this.frame);
    this.frame = 0;
    this.render();
  }

  highlight(nodeIds, edgeKeys, kind) {
    this.marks = { nodes: nodeIds, edges: edgeKeys, kind };
    this.changed();
  }

  clearHighlight() {
    if (!this.marks) return;
    this.marks = null;
    this.changed();
  }

  select(id, center) {
    this.resize(); // the side panel may have just opened or closed
    this.selected = id ? this.boxes.find((node) => node.ref === id) || null : null;
    const node = this.selected;
    if (node) {
      const x = node.x * this.zoom + this.pan.x;
      const y = node.y * this.zoom + this.pan.y;
      if (center || x < 0 || x > this.width || y < 0 || y > this.height) {
        this.pan = { x: this.width / 2 - node.x * this.zoom, y: this.height / 2 - node.y * this.zoom };
      }
    }
    this.changed();
  }

  // ---- painting ---------------------------------------------------------------------------------

  render() {
    const ctx = this.ctx;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, this.canvas.width, this.canvas.height);
    const scale = this.zoom * this.dpr;
    ctx.setTransform(scale, 0, 0, scale, this.pan.x * this.dpr, this.pan.y * this.dpr);
    const view = {
      x1: -this.pan.x / this.zoom,
      y1: -this.pan.y / this.zoom,
      x2: (this.width - this.pan.x) / this.zoom,
      y2: (this.height - this.pan.y) / this.zoom,
    };
    this.paint(ctx, this.zoom, view);
  }

  /** Paint every node and edge inside `view` (world coordinates) at `zoom`. */
  paint(ctx, zoom, view) {
    const visible = (n) =>
      n.x + n.width / 2 >= view.x1 &&
      n.x - n.width / 2 <= view.x2 &&
      n.y + n.height / 2 >= view.y1 &&
      n.y - n.height / 2 <= view.y2;
    this.paintEdges(ctx, zoom, view);
    const groups = new Map();
    const shown = [];
    for (const node of this.boxes) {
      if (!visible(node)) continue;
      shown.push(node);
      const look = lookOf(node, this.marks, node === this.selected);
      const key = `${look.fill}|${look.stroke}|${look.width}|${look.dash}|${look.faded}`;
      if (!groups.has(key)) groups.set(key, { look, nodes: [] });
      groups.get(key).nodes.push(node);
    }
    const rounded = zoom >= DETAIL_ZOOM;
    for (const { look, nodes } of groups.values()) {
      ctx.globalAlpha = look.faded ? 0.18 : 1;
      ctx.beginPath();
      for (const n of nodes) {
        if (rounded) ctx.roundRect(n.x - n.width / 2, n.y - n.height / 2, n.width, n.height, n.kind === "job" ? 2 : 7);
        else ctx.rect(n.x - n.width / 2, n.y - n.height / 2, n.width, n.height);
      }
      ctx.fillStyle = look.fill;
      ctx.fill();
      ctx.lineWidth = Math.max(look.width, 1 / zoom);
      ctx.strokeStyle = look.stroke;
      ctx.setLineDash(look.dash ? [6, 4] : []);
      ctx.stroke();
    }
    ctx.setLineDash([]);
    if (rounded) this.paintBadges(ctx, zoom, shown);
    else this.paintStripes(ctx, shown);
    if (zoom >= LABEL_ZOOM) this.paintTags(ctx, shown);
    if (zoom >= LABEL_ZOOM) this.paintLabels(ctx, shown);
    this.paintHandles(ctx, zoom, visible);
    ctx.globalAlpha = 1;
  }

  paintEdges(ctx, zoom, view) {
    const groups = new Map();
    const selected = this.selected;
    for (const edge of this.edges) {
      const { from, to } = edge;
      const sx = from.x + from.width / 2;
      const tx = to.x - to.width / 2;
      if (Math.max(sx, tx) < view.x1 || Math.min(sx, tx) > view.x2) continue;
      if (Math.max(from.y, to.y) < view.y1 || Math.min(from.y, to.y) > view.y2) continue;
      let key = edge.classes.includes("more-edge") ? "more" : "plain";
      if (this.marks) key = this.marks.edges.has(edge.key) ? this.marks.kind : "faded";
      if (selected && (from === selected || to === selected)) key = "selected";
      if (!groups.has(key)) groups.set(key, []);
      groups.get(key).push(edge);
    }
    const arrows = zoom >= ARROW_ZOOM;
    for (const [key, edges] of groups) {
      const color = MARKED[key] || (key === "selected" ? "#2563eb" : EDGE_COLOR);
      ctx.globalAlpha = key === "faded" ? 0.18 : 1;
      ctx.strokeStyle = color;
      ctx.fillStyle = color;
      ctx.lineWidth = Math.max(key === "plain" || key === "more" || key === "faded" ? 1.5 : 3, 1 / zoom);
      ctx.setLineDash(key === "more" ? [6, 4] : []);
      ctx.beginPath();
      for (const { from, to } of edges) {
        const sx = from.x + from.width / 2;
        const tx = to.x - to.width / 2 - (arrows ? 6 : 0);
        // Horizontal tangents at both ends; an edge going back (a cycle) loops out and in.
        const bend = Math.max(40, Math.abs(tx - sx) / 2);
        ctx.moveTo(sx, from.y);
        ctx.bezierCurveTo(sx + bend, from.y, tx - bend, to.y, tx, to.y);
      }
      ctx.stroke();
      if (arrows) {
        ctx.beginPath();
        for (const { to } of edges) {
          const tx = to.x - to.width / 2;
          ctx.moveTo(tx, to.y);
          ctx.lineTo(tx - 8, to.y - 4.5);
          ctx.lineTo(tx - 8, to.y + 4.5);
          ctx.closePath();
        }
        ctx.fill();
      }
    }
    ctx.setLineDash([]);
    ctx.globalAlpha = 1;
  }

  paintBadges(ctx, zoom, nodes) {
    const text = zoom >= LABEL_ZOOM;
    ctx.font = `700 11px ${FONT}`;
    ctx.textAlign = "center";
    ctx.textBaseline = "middle";
    for (const n of nodes) {
      if (!n.producer) continue;
      ctx.globalAlpha = this.marks && !this.marks.nodes.has(n.ref) ? 0.18 : 1;
      const x = n.x - n.width / 2 + 8;
      ctx.fillStyle = n.producer.color;
      ctx.beginPath();
      ctx.roundRect(x, n.y - 15, 30, 30, 7);
      ctx.fill();
      if (text && n.producer.short) {
        ctx.fillStyle = "#ffffff";
        ctx.fillText(n.producer.short.slice(0, 3), x + 15, n.y);
      }
    }
    ctx.globalAlpha = 1;
  }

  /** Each tagged node's tag badge: a pill over its top right corner, as cy-graph.js draws it. */
  paintTags(ctx, nodes) {
    ctx.font = `700 11px ${FONT}`;
    ctx.textAlign = "center";
    ctx.textBaseline = "middle";
    ctx.lineWidth = 1.5;
    for (const n of nodes) {
      if (!n.tag) continue;
      ctx.globalAlpha = this.marks && !this.marks.nodes.has(n.ref) ? 0.18 : 1;
      const x = n.x + n.width / 2 - n.tag.width - 10;
      const y = n.y - n.height / 2 - 9;
      ctx.beginPath();
      ctx.roundRect(x, y, n.tag.width, 18, 9);
      ctx.fillStyle = "#fff7ed";
      ctx.fill();
      ctx.strokeStyle = "#ea580c";
      ctx.stroke();
      ctx.fillStyle = "#9a3412";
      ctx.fillText(n.tag.text, x + n.tag.width / 2, y + 9.5);
    }
    ctx.globalAlpha = 1;
  }

  /** Far out, the producer's colour as a stripe on the left of each node (one path per colour). */
  paintStripes(ctx, nodes) {
    const byColor = new Map();
    for (const n of nodes) {
      if (!n.producer || n.producer.key === "other") continue;
      if (!byColor.has(n.producer.color)) byColor.set(n.producer.color, []);
      byColor.get(n.producer.color).push(n);
    }
    for (const [color, group] of byColor) {
      ctx.globalAlpha = this.marks ? 0.18 : 1;
      ctx.beginPath();
      for (const n of group) ctx.rect(n.x - n.width / 2, n.y - n.height / 2, 36, n.height);
      ctx.fillStyle = color;
      ctx.fill();
    }
    ctx.globalAlpha = 1;
  }

  paintLabels(ctx, nodes) {
    ctx.textBaseline = "middle";
    for (const n of nodes) {
      ctx.globalAlpha = this.marks && !this.marks.nodes.has(n.ref) ? 0.18 : 1;
      const centred = n.kind === "more" || !n.producer;
      const left = centred ? n.x : n.x - n.width / 2 + 46;
      const room = centred ? n.width - 16 : n.width - 54;
      ctx.textAlign = centred ? "center" : "left";
      if (!n.lines) n.lines = this.fitLines(ctx, n.label, room);
      const [first, second] = n.lines;
      ctx.font = `600 12px ${FONT}`;
      ctx.fillStyle = "#0f172a";
      ctx.fillText(first, left, second ? n.y - 8 : n.y);
      if (second) {
        ctx.font = `11px ${FONT}`;
        ctx.fillStyle = "#475569";
        ctx.fillText(second, left, n.y + 9);
      }
    }
    ctx.globalAlpha = 1;
  }

  /** The label's first two lines, each cut to `room` pixels (with an ellipsis). */
  fitLines(ctx, label, room) {
    const [first = "", second = ""] = String(label).split("\n");
    const cut = (text, font) => {
      ctx.font = font;
      if (ctx.measureText(text).width <= room) return text;
      let end = text.length;
      while (end > 1 && ctx.measureText(`${text.slice(0, end)}…`).width > room) end -= 1;
      return `${text.slice(0, end)}…`;
    };
    return [cut(first, `600 12px ${FONT}`), second ? cut(second, `11px ${FONT}`) : ""];
  }

  paintHandles(ctx, zoom, visible) {
    const shown = this.handles.filter(visible);
    if (!shown.length || zoom < DETAIL_ZOOM) return;
    ctx.globalAlpha = this.marks ? 0.18 : 1;
    ctx.beginPath();
    for (const h of shown) {
      ctx.moveTo(h.x + 10, h.y);
      ctx.arc(h.x, h.y, 10, 0, 2 * Math.PI);
    }
    ctx.fillStyle = "#ffffff";
    ctx.fill();
    ctx.lineWidth = 1.5;
    ctx.strokeStyle = "#64748b";
    ctx.stroke();
    ctx.beginPath();
    for (const h of shown) {
      ctx.moveTo(h.x - 5, h.y);
      ctx.lineTo(h.x + 5, h.y);
      if (!h.classes.includes("open")) {
        ctx.moveTo(h.x, h.y - 5);
        ctx.lineTo(h.x, h.y + 5);
      }
    }
    ctx.lineWidth = 2;
    ctx.strokeStyle = "#334155";
    ctx.stroke();
    ctx.globalAlpha = 1;
  }

  /** A PNG of the whole graph (a data URL): readable where it fits in 8,000 pixels. */
  png() {
    const padding = 40;
    const b = this.bounds(this.nodes);
    const scale = Math.min(2, 8000 / (b.x2 - b.x1 + 2 * padding), 8000 / (b.y2 - b.y1 + 2 * padding));
    const canvas = document.createElement("canvas");
    canvas.width = Math.ceil((b.x2 - b.x1 + 2 * padding) * scale);
    canvas.height = Math.ceil((b.y2 - b.y1 + 2 * padding) * scale);
    const ctx = canvas.getContext("2d");
    ctx.fillStyle = "#ffffff";
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    ctx.setTransform(scale, 0, 0, scale, (padding - b.x1) * scale, (padding - b.y1) * scale);
    for (const node of this.nodes) node.lines = null; // measured with this canvas's context
    this.paint(ctx, scale, { x1: -Infinity, y1: -Infinity, x2: Infinity, y2: Infinity });
    for (const node of this.nodes) node.lines = null;
    return canvas.toDataURL("image/png");
  }

  destroy() {
    if (this.frame) cancelAnimationFrame(this.frame);
    this.resizer.disconnect();
    this.canvas.remove();
    this.container.style.cursor = "";
  }
}
