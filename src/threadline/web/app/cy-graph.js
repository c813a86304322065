// The Cytoscape.js renderer (see graph.js): views up to a few hundred nodes, and the column view.
//
// Each node shows an icon (an SVG data: URL) in its producer's colour with a glyph of its kind, its
// name and a second line of kind, producer and state; jobs have a border in their latest run's state
// colour. Edges are drawn as right-angled lines from left to right (top to bottom in a "down" layout).

import { chooseViewport } from "./viewport.js";

const TEXTURE_FROM = 500; // elements: above this a texture stands in for the graph while panning

export const STATE_COLORS = {
  COMPLETED: "#16a34a",
  FAILED: "#dc2626",
  RUNNING: "#2563eb",
  ABORTED: "#d97706",
  NEW: "#94a3b8",
};

// How much narrower than its node a label wraps: the badge takes the left of a node.
const TEXT_INSET = { more: 16, field: 12, table: 0, handle: 0 };

const badgeCache = new Map();

/** An SVG badge (a data: URL): the producer's colour and short name over a glyph of the node's kind
 * (a cylinder for datasets, a box for jobs, a diamond for models, a dot for runs). Without a known
 * producer it is grey with the glyph alone. */
function badge(producer, kind) {
  const text = (producer.short || "").replace(/[^A-Za-z0-9?]/g, "").slice(0, 3);
  const key = `${text}|${producer.color}|${kind}`;
  if (badgeCache.has(key)) return badgeCache.get(key);
  const y = text ? 27 : 17; // the glyph's centre: under the text, or in the middle
  const glyph =
    {
      // Without text, the dataset's cylinder is drawn whole: two ellipses and their sides.
      dataset: `<ellipse cx="17" cy="${y}" rx="7" ry="2.2" fill="none" stroke="white" stroke-width="1.4"/>${
        text
          ? ""
          : `<path d="M10 ${y - 6}v6M24 ${y - 6}v6" stroke="white" stroke-width="1.4"/><ellipse cx="17" cy="${y - 6}" rx="7" ry="2.2" fill="none" stroke="white" stroke-width="1.4"/>`
      }`,
      model: `<path d="M17 ${y - 3.5}l4 3.5-4 3.5-4-3.5z" fill="white"/>`,
      job: `<rect x="13" y="${y - 3}" width="8" height="6" rx="1" fill="none" stroke="white" stroke-width="1.4"/>`,
      run: `<circle cx="17" cy="${y}" r="3" fill="white"/>`,
    }[kind] || "";
  const size = text.length > 2 ? 10 : 12;
  const label = text
    ? `<text x="17" y="18" text-anchor="middle" font-family="system-ui,sans-serif" font-size="${size}" font-weight="700" fill="white">${text}</text>`
    : "";
  const svg =
    `<svg xmlns="http://www.w3.org/2000/svg" width="34" height="34" viewBox="0 0 34 34">` +
    `<rect width="34" height="34" rx="8" fill="${producer.color}"/>${label}${glyph}</svg>`;
  const url = `data:image/svg+xml;utf8,${encodeURIComponent(svg)}`;
  badgeCache.set(key, url);
  return url;
}

const TAG_HEIGHT = 18;
const tagCache = new Map();

/** A node's tag badge as an SVG pill (a data: URL): the text is escaped for XML, so a tag's name
 * is drawn as it is, never read as markup. */
function tagPill(tag) {
  const key = `${tag.width}|${tag.text}`;
  if (tagCache.has(key)) return tagCache.get(key);
  const text = tag.text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  const w = tag.width;
  const svg =
    `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${TAG_HEIGHT}" viewBox="0 0 ${w} ${TAG_HEIGHT}">` +
    `<rect x="0.75" y="0.75" width="${w - 1.5}" height="${TAG_HEIGHT - 1.5}" rx="${(TAG_HEIGHT - 1.5) / 2}" fill="#fff7ed" stroke="#ea580c" stroke-width="1.5"/>` +
    `<text x="${w / 2}" y="12.6" text-anchor="middle" font-family="system-ui,sans-serif" font-size="11" font-weight="700" fill="#9a3412">${text}</text></svg>`;
  const url = `data:image/svg+xml;utf8,${encodeURIComponent(svg)}`;
  tagCache.set(key, url);
  return url;
}

/** A tagged node's background images, in order: its producer badge (if any), then its tag pill over
 * the top right corner; each property lists its value for each image. */
const withTag = (ele, icon, tag) => (ele.data("badge") === "none" ? [tag] : [icon, tag]);

function stylesheet() {
  return [
    {
      selector: "node",
      style: {
        width: "data(width)",
        height: "data(height)",
        shape: "round-rectangle",
        "background-color": "#ffffff",
        "border-width": 1.5,
        "border-color": "#cbd5e1",
        label: "data(label)",
        "font-size": 12,
        color: "#0f172a",
        "font-family": "system-ui, -apple-system, Segoe UI, Roboto, sans-serif",
        "text-wrap": "wrap",
        "text-max-width": "data(textWidth)",
        "text-valign": "center",
        "text-halign": "center",
        "text-justification": "left",
        "text-margin-x": 22,
        "line-height": 1.35,
        "min-zoomed-font-size": 6,
        "background-image": "data(badge)",
        "background-width": 30,
        "background-height": 30,
        "background-position-x": 8,
        "background-position-y": "50%",
        "background-clip": "none",
        "background-image-containment": "over",
        "background-image-smoothing": "yes",
      },
    },
    {
      selector: "node.tagged",
      style: {
        "background-image": (ele) => withTag(ele, ele.data("badge"), ele.data("tagImage")),
        "background-width": (ele) => withTag(ele, 30, ele.data("tagWidth")),
        "background-height": (ele) => withTag(ele, 30, TAG_HEIGHT),
        "background-position-x": (ele) => withTag(ele, 8, ele.data("width") - ele.data("tagWidth") - 10),
        "background-position-y": (ele) => withTag(ele, "50%", -TAG_HEIGHT / 2),
        // the pill sits over the node's top edge: the node's bounds (which Cytoscape draws and caches
        // the node within) must reach above it, or the pill's upper half is cut off
        "bounds-expansion": TAG_HEIGHT / 2 + 1,
        // every per-image property needs a value for each image, or the tag takes the defaults (clipped)
        "background-clip": (ele) => withTag(ele, "none", "none"),
        "background-image-containment": (ele) => withTag(ele, "over", "over"),
        "background-image-smoothing": (ele) => withTag(ele, "yes", "yes"),
      },
    },
    { selector: "node[kind = 'dataset']", style: { "background-color": "#eff6ff", "border-color": "#93c5fd" } },
    {
      selector: "node[kind = 'model']",
      style: { "background-color": "#f5f3ff", "border-color": "#a78bfa", shape: "round-octagon" },
    },
    {
      selector: "node[kind = 'job']",
      style: { shape: "rectangle", "border-width": 2, "border-color": "data(stateColor)" },
    },
    {
      selector: "node[kind = 'run']",
      style: {
        shape: "round-rectangle",
        "background-color": "#ffffff",
        "border-width": 2,
        "border-color": "data(stateColor)",
      },
    },
    {
      selector: "node.center",
      style: {
        "border-width": 3.5,
        "border-color": "#f59e0b",
        "underlay-color": "#fde68a",
        "underlay-opacity": 0.45,
        "underlay-padding": 6,
      },
    },
    { selector: "node[kind = 'job'].failed", style: { "background-color": "#fef2f2" } },
    { selector: "node.child", style: { "underlay-color": "#fde68a", "underlay-opacity": 0.5, "underlay-padding": 5 } },
    {
      selector: "node.more",
      style: {
        shape: "round-rectangle",
        "background-color": "#f8fafc",
        "border-style": "dashed",
        "border-color": "#64748b",
        "background-image": "none",
        "text-margin-x": 0,
        "text-justification": "center",
        "font-weight": 600,
        color: "#334155",
      },
    },
    {
      selector: "node.handle",
      style: {
        width: 20,
        height: 20,
        shape: "ellipse",
        "background-color": "#ffffff",
        "border-width": 1.5,
        "border-color": "#64748b",
        label: "+",
        "font-size": 15,
        "font-weight": 700,
        "text-margin-x": 0,
        "text-margin-y": -1,
        "text-justification": "center",
        "background-image": "none",
        color: "#334155",
        "min-zoomed-font-size": 0,
      },
    },
    { selector: "node.handle.open", style: { label: "−" } },
    {
      selector: "node.table",
      style: {
        shape: "round-rectangle",
        "background-color": "#f8fafc",
        "border-color": "#94a3b8",
        "border-width": 1.5,
        label: "data(label)",
        "text-valign": "top",
        "text-halign": "center",
        "text-margin-x": 0,
        "text-margin-y": -6,
        "text-justification": "center",
        "font-weight": 600,
        padding: 0,
        "background-image": "none",
        "compound-sizing-wrt-labels": "exclude",
      },
    },
    { selector: "node.table.center", style: { "border-color": "#f59e0b", "border-width": 3 } },
    {
      selector: "node.field",
      style: {
        shape: "rectangle",
        "background-color": "#ffffff",
        "border-width": 0.5,
        "border-color": "#e2e8f0",
        "background-image": "none",
        "text-margin-x": 0,
        "font-size": 11,
        "text-justification": "left",
        "text-halign": "center",
        color: "#0f172a",
      },
    },
    { selector: "node.field.lineage", style: { "background-color": "#eff6ff", "font-weight": 600 } },
    {
      selector: "node.field.focus",
      style: { "background-color": "#fef3c7", "border-color": "#f59e0b", "border-width": 2 },
    },
    {
      selector: "edge",
      style: {
        width: 1.5,
        "line-color": "#94a3b8",
        "target-arrow-color": "#94a3b8",
        "target-arrow-shape": "triangle",
        "arrow-scale": 0.8,
        "curve-style": "taxi",
        "taxi-direction": "horizontal",
        "taxi-turn": "50%",
        "taxi-radius": 8,
      },
    },
    { selector: "edge.down", style: { "taxi-direction": "downward" } },
    {
      selector: "edge.field-edge",
      style: {
        // From the right side of the source column to the left side of the target column.
        "curve-style": "bezier",
        "source-endpoint": "90deg",
        "target-endpoint": "270deg",
        "line-color": "#3b82f6",
        "target-arrow-color": "#3b82f6",
        label: "data(label)",
        "font-size": 9,
        color: "#1e3a8a",
        "text-background-color": "#ffffff",
        "text-background-opacity": 0.9,
        "text-background-padding": 2,
        "text-rotation": "autorotate",
        "min-zoomed-font-size": 8,
      },
    },
    { selector: "edge.selected-edge", style: { width: 3, "min-zoomed-font-size": 0, "z-index": 10 } },
    {
      selector: "edge.indirect",
      style: { "line-style": "dashed", "line-color": "#a855f7", "target-arrow-color": "#a855f7", color: "#6b21a8" },
    },
    { selector: "edge.more-edge", style: { "line-style": "dashed" } },
    { selector: "node:selected", style: { "overlay-color": "#2563eb", "overlay-opacity": 0.12, "overlay-padding": 4 } },
    { selector: ".faded", style: { opacity: 0.18 } },
    { selector: "node.impact", style: { "border-color": "#e11d48", "border-width": 3 } },
    { selector: "edge.impact", style: { "line-color": "#e11d48", "target-arrow-color": "#e11d48", width: 2.5 } },
    { selector: "node.path", style: { "border-color": "#7c3aed", "border-width": 3.5 } },
    { selector: "edge.path", style: { "line-color": "#7c3aed", "target-arrow-color": "#7c3aed", width: 3.5 } },
  ];
}

/** Cytoscape's element JSON for a placed node (see graph.js). */
function element(node) {
  const data = {
    id: node.id,
    ref: node.ref,
    kind: node.kind,
    label: node.label,
    width: node.width,
    height: node.height,
    textWidth: node.width - (TEXT_INSET[node.kind] ?? 64),
    badge: node.producer ? badge(node.producer, node.kind) : "none",
    stateColor: STATE_COLORS[node.state] || "#cbd5e1",
  };
  if (node.kind === "handle") Object.assign(data, { owner: node.owner, direction: node.direction });
  if (node.parent) data.parent = node.parent;
  let classes = node.classes;
  if (node.tag) {
    Object.assign(data, { tagImage: tagPill(node.tag), tagWidth: node.tag.width, tag: node.tag.text });
    classes = `${classes} tagged`;
  }
  // A compound node (a dataset holding its columns) takes its place from its children.
  const position = node.kind === "table" ? undefined : { x: node.x, y: node.y };
  return { group: "nodes", data, classes, position };
}

export class CytoscapeGraph {
  constructor(container, callbacks) {
    this.kind = "cytoscape";
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
    this.highlighted = false;
    const cy = this.cy;
    cy.on("tap", "node", (event) => this.tap(event.target));
    cy.on("dbltap", "node", (event) => {
      const node = event.target;
      if (!node.hasClass("handle") && !node.hasClass("more")) callbacks.onOpen?.(node.data("ref") || node.id());
    });
    cy.on("tap", (event) => {
      if (event.target === cy) callbacks.onSelect?.(null);
    });
    cy.on("mouseover", "node.handle, node.more", () => {
      container.style.cursor = "pointer";
    });
    cy.on("mouseout", "node", () => {
      container.style.cursor = "";
    });
    cy.on("viewport", () => callbacks.onViewport?.(cy.zoom(), cy.pan()));
  }

  tap(node) {
    if (node.hasClass("handle")) this.callbacks.onExpand?.(node.data("owner"), node.data("direction"));
    else if (node.hasClass("more")) this.callbacks.onMore?.(node.id());
    else this.callbacks.onSelect?.(node.data("ref") || node.id());
  }

  /** Draw `placed` (see graph.js) and choose the viewport (see viewport.js; `center`: the node the
   * view is about, in view first). */
  draw(placed, { keepViewport, focus, center, margins }) {
    const cy = this.cy;
    cy.resize(); // the container may have changed size since the last frame
    this.margins = margins;
    const kept = keepViewport && focus ? cy.getElementById(focus) : null;
    const keptScreen = kept && kept.nonempty() ? kept.renderedPosition() : null;
    cy.renderer().textureOnViewport = placed.nodes.length + placed.edges.length > TEXTURE_FROM;
    cy.batch(() => {
      cy.elements().remove();
      cy.add(placed.nodes.map(element));
      cy.add(
        placed.edges.map((edge) => ({
          group: "edges",
          data: { id: edge.id, source: edge.source, target: edge.target, label: edge.label },
          classes: edge.classes,
        })),
      );
    });
    this.highlighted = false;
    performance.mark("threadline:elements-added");
    if (keptScreen && cy.getElementById(focus).nonempty()) {
      // Keep the node that was expanded where the user was looking.
      const now = cy.getElementById(focus).renderedPosition();
      cy.panBy({ x: keptScreen.x - now.x, y: keptScreen.y - now.y });
    } else {
      const boxes = placed.nodes.filter((n) => n.kind !== "field"); // the expand handles too: they are clicked
      const { zoom, pan } = chooseViewport(boxes, {
        width: cy.width(),
        height: cy.height(),
        focus: boxes.find((n) => n.id === center),
        ...margins,
      });
      cy.viewport({ zoom, pan });
    }
    this.callbacks.onViewport?.(cy.zoom(), cy.pan());
    performance.mark("threadline:viewport-set");
  }

  highlight(nodeIds, edgeKeys, kind) {
    const cy = this.cy;
    cy.batch(() => {
      cy.elements().removeClass("faded impact path");
      cy.nodes().forEach((node) => {
        if (node.hasClass("handle")) node.addClass("faded");
        else node.addClass(nodeIds.has(node.data("ref") || node.id()) ? kind : "faded");
      });
      cy.edges().forEach((edge) => {
        edge.addClass(edgeKeys.has(`${edge.data("source")}>${edge.data("target")}`) ? kind : "faded");
      });
    });
    this.highlighted = true;
  }

  clearHighlight() {
    if (!this.highlighted) return;
    this.cy.elements().removeClass("faded impact path");
    this.highlighted = false;
  }

  select(id, center) {
    const cy = this.cy;
    cy.resize(); // the side panel may have just opened or closed
    cy.nodes(":selected").unselect();
    cy.edges(".selected-edge").removeClass("selected-edge");
    if (!id) return;
    const node = cy
      .nodes()
      .filter((n) => (n.data("ref") || n.id()) === id && !n.hasClass("handle"))
      .first();
    if (node.empty()) return;
    node.select();
    node.connectedEdges().addClass("selected-edge");
    const extent = cy.extent();
    const p = node.position();
    if (center || p.x < extent.x1 || p.x > extent.x2 || p.y < extent.y1 || p.y > extent.y2) cy.center(node);
  }

  /** The whole graph in view, with the margins of the first view (and never above 100 %). */
  fit() {
    const cy = this.cy;
    const boxes = cy
      .nodes()
      .filter((n) => !n.hasClass("field"))
      .map((n) => ({ ...n.position(), width: n.width(), height: n.height() }));
    cy.viewport(chooseViewport(boxes, { width: cy.width(), height: cy.height(), ...this.margins, minZoom: 0 }));
  }

  size() {
    return { width: this.cy.width(), height: this.cy.height() };
  }

  zoomBy(factor) {
    const cy = this.cy;
    cy.zoom({ level: cy.zoom() * factor, renderedPosition: { x: cy.width() / 2, y: cy.height() / 2 } });
  }

  png() {
    return this.cy.png({ full: true, scale: 2, bg: "#ffffff" });
  }

  destroy() {
    this.cy.destroy();
  }
}
