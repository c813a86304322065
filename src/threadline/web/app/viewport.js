// @ts-check
// Where a graph view starts: the direction of its layout, and the first zoom and pan.
//
// A view opens readable: never below READABLE_ZOOM (12 px labels drawn at 8.4 px or more). Lineage
// grows in layers, and nodes are wide and short (240 x 48), so a long chain drawn left to right is a
// thin strip: nine layers need ~2,900 px, a third of that on a laptop. Drawn top to bottom the same
// chain needs ~900 px; so the layout goes down the screen when that shows the graph larger (and left
// to right, the custom in lineage, whenever that is readable). When even then the whole graph cannot
// be shown readable, the view shows as many whole nodes as fit around the node it is about, and says
// how many are out of view.

export const READABLE_ZOOM = 0.7;
export const FIRST_MAX_ZOOM = 1;
// Left to right is kept while it shows the graph this large, or nearly as large as top to bottom.
const COMFORTABLE_ZOOM = 0.85;
const DOWN_GAIN = 1.15;

/** A node's box: its centre and size, in layout coordinates. @typedef {{x: number, y: number, width: number, height: number}} Box */
/** @typedef {{padding: number, top: number, bottom: number}} Margins */

/**
 * The number of layers (longest path from a source; cycles are cut) and the size of the widest.
 * @param {{id: string}[]} nodes
 * @param {{source: string, target: string}[]} edges
 * @returns {{layers: number, widest: number}}
 */
export function layerShape(nodes, edges) {
  const ids = new Set(nodes.map((n) => n.id));
  /** @type {Map<string, string[]>} */
  const out = new Map([...ids].map((id) => [id, []]));
  /** @type {Map<string, number>} */
  const indegree = new Map([...ids].map((id) => [id, 0]));
  /** @param {string} id */
  const degree = (id) => /** @type {number} */ (indegree.get(id));
  for (const { source, target } of edges) {
    if (!ids.has(source) || !ids.has(target) || source === target) continue;
    out.get(source)?.push(target);
    indegree.set(target, degree(target) + 1);
  }
  /** @type {Map<string, number>} */
  const layer = new Map();
  const queue = [...ids].filter((id) => indegree.get(id) === 0);
  for (const id of queue) layer.set(id, 0);
  let deepest = 0;
  for (let i = 0; i < queue.length; i += 1) {
    const id = queue[i];
    const own = /** @type {number} */ (layer.get(id));
    for (const next of out.get(id) || []) {
      layer.set(next, Math.max(layer.get(next) ?? 0, own + 1));
      indegree.set(next, degree(next) - 1);
      if (degree(next) === 0) queue.push(next);
    }
    deepest = Math.max(deepest, own);
  }
  // Nodes on a cycle never reach indegree 0: one layer past the deepest is near enough for an estimate.
  for (const id of ids) if (!layer.has(id)) layer.set(id, deepest + 1);
  /** @type {Map<number, number>} */
  const sizes = new Map();
  for (const l of layer.values()) sizes.set(l, (sizes.get(l) || 0) + 1);
  return { layers: sizes.size, widest: Math.max(0, ...sizes.values()) };
}

/**
 * The zoom at which a drawing of `w` x `h` fits a view of `width` x `height` with margins (at most `max`).
 * @param {number} w
 * @param {number} h
 * @param {number} width
 * @param {number} height
 * @param {Margins} margins
 * @param {number} max
 */
function fitZoom(w, h, width, height, { padding, top, bottom }, max) {
  return Math.min(max, (width - 2 * padding) / Math.max(w, 1), (height - top - padding - bottom) / Math.max(h, 1));
}

/**
 * "RIGHT" or "DOWN" for a graph of `shape` (layerShape) in a view of `width` x `height`: left to
 * right while that shows the graph comfortably large, or nearly as large as top to bottom would;
 * else top to bottom. Also the estimated zoom of each. `spacing` gives the node size and the gaps
 * each layout leaves (layout.js).
 * @param {{layers: number, widest: number}} shape
 * @param {{width: number, height: number, padding?: number, top?: number, bottom?: number}} view
 * @param {{nodeWidth?: number, nodeHeight?: number, right?: number[], down?: number[]}} [spacing]
 */
export function chooseDirection(shape, { width, height, padding = 24, top = padding, bottom = 0 }, spacing = {}) {
  const { nodeWidth = 256, nodeHeight = 48, right = [90, 18], down = [36, 24] } = spacing;
  const { layers, widest } = shape;
  /** @param {number} size @param {number} gap */
  const along = (size, gap) => layers * size + Math.max(0, layers - 1) * gap;
  /** @param {number} size @param {number} gap */
  const across = (size, gap) => widest * size + Math.max(0, widest - 1) * gap;
  const margins = { padding, top, bottom };
  const zoomRight = fitZoom(
    along(nodeWidth, right[0]),
    across(nodeHeight, right[1]),
    width,
    height,
    margins,
    FIRST_MAX_ZOOM,
  );
  const zoomDown = fitZoom(
    across(nodeWidth, down[1]),
    along(nodeHeight, down[0]),
    width,
    height,
    margins,
    FIRST_MAX_ZOOM,
  );
  const direction = zoomRight >= COMFORTABLE_ZOOM || zoomRight * DOWN_GAIN >= zoomDown ? "RIGHT" : "DOWN";
  return { direction, zoomRight, zoomDown };
}

/**
 * The bounds of boxes ({x, y, width, height}, centres).
 * @param {Iterable<Box>} boxes
 */
export function bounds(boxes) {
  let x1 = Infinity;
  let y1 = Infinity;
  let x2 = -Infinity;
  let y2 = -Infinity;
  for (const b of boxes) {
    x1 = Math.min(x1, b.x - b.width / 2);
    x2 = Math.max(x2, b.x + b.width / 2);
    y1 = Math.min(y1, b.y - b.height / 2);
    y2 = Math.max(y2, b.y + b.height / 2);
  }
  return { x1, y1, x2, y2 };
}

/**
 * Where a window `span` long starts on one axis, within [lo, hi] (the graph), holding the `focus`
 * interval whole when given, and as many of `intervals` ([start, end]) whole as it can; of equal
 * windows, the one centred nearest the focus (or the graph's middle).
 * @param {number[][]} intervals
 * @param {number} span
 * @param {number} lo
 * @param {number} hi
 * @param {number[] | null} focus
 */
function place(intervals, span, lo, hi, focus) {
  const middle = focus ? (focus[0] + focus[1]) / 2 : (lo + hi) / 2;
  if (hi - lo <= span) return (lo + hi) / 2 - span / 2;
  let min = lo;
  let max = hi - span;
  if (focus) {
    min = Math.max(min, focus[1] - span);
    max = Math.min(max, focus[0]);
    if (min > max) return middle - span / 2; // the focus alone is larger than the window
  }
  const candidates = new Set([min, max, Math.min(max, Math.max(min, middle - span / 2))]);
  for (const [a, b] of intervals) {
    if (a >= min && a <= max) candidates.add(a);
    if (b - span >= min && b - span <= max) candidates.add(b - span);
  }
  let best = min;
  let bestCount = -1;
  let bestDistance = Infinity;
  for (const start of candidates) {
    let count = 0;
    for (const [a, b] of intervals) if (a >= start - 0.5 && b <= start + span + 0.5) count += 1;
    const distance = Math.abs(start + span / 2 - middle);
    if (count > bestCount || (count === bestCount && distance < bestDistance)) {
      best = start;
      bestCount = count;
      bestDistance = distance;
    }
  }
  return best;
}

/**
 * How many of `boxes` are wholly inside the view at `zoom` and `pan` (screen = world * zoom + pan).
 * @param {Box[]} boxes
 * @param {{zoom: number, pan: {x: number, y: number}}} viewport
 * @param {{width: number, height: number}} view
 */
export function countInView(boxes, { zoom, pan }, { width, height }) {
  const x1 = -pan.x / zoom;
  const y1 = -pan.y / zoom;
  const x2 = (width - pan.x) / zoom;
  const y2 = (height - pan.y) / zoom;
  const slack = 0.5 / zoom;
  return boxes.filter(
    (b) =>
      b.x - b.width / 2 >= x1 - slack &&
      b.x + b.width / 2 <= x2 + slack &&
      b.y - b.height / 2 >= y1 - slack &&
      b.y + b.height / 2 <= y2 + slack,
  ).length;
}

/**
 * The first zoom and pan for `boxes` ({x, y, width, height}, centres, in layout coordinates) in a
 * view of `width` x `height` less margins (`padding` at each side, `top` above, `padding` and
 * `bottom` below): the whole graph, centred, when it fits at READABLE_ZOOM or more (but not above
 * FIRST_MAX_ZOOM); else READABLE_ZOOM with the `focus` box whole and as many other boxes whole as
 * fit. Returns {zoom, pan, shown, total}: `shown` boxes of `total` are wholly in view.
 * @param {Box[]} boxes
 * @param {{width: number, height: number, focus?: Box | null, padding?: number, top?: number, bottom?: number,
 *   minZoom?: number, maxZoom?: number}} view
 * @returns {{zoom: number, pan: {x: number, y: number}, shown: number, total: number}}
 */
export function chooseViewport(
  boxes,
  {
    width,
    height,
    focus = null,
    padding = 24,
    top = padding,
    bottom = 0,
    minZoom = READABLE_ZOOM,
    maxZoom = FIRST_MAX_ZOOM,
  },
) {
  if (!boxes.length) return { zoom: 1, pan: { x: width / 2, y: height / 2 }, shown: 0, total: 0 };
  const b = bounds(boxes);
  const fit = fitZoom(b.x2 - b.x1, b.y2 - b.y1, width, height, { padding, top, bottom }, maxZoom);
  let zoom;
  let originX; // the layout coordinates at the view's top left corner
  let originY;
  if (fit >= minZoom) {
    zoom = fit;
    originX = (b.x1 + b.x2) / 2 - width / 2 / zoom;
    originY = (b.y1 + b.y2) / 2 - (top + height - padding - bottom) / 2 / zoom;
  } else {
    zoom = minZoom;
    const spanX = (width - 2 * padding) / zoom;
    const spanY = (height - top - padding - bottom) / zoom;
    const xs = focus ? [focus.x - focus.width / 2, focus.x + focus.width / 2] : null;
    const ys = focus ? [focus.y - focus.height / 2, focus.y + focus.height / 2] : null;
    const startX = place(
      boxes.map((n) => [n.x - n.width / 2, n.x + n.width / 2]),
      spanX,
      b.x1,
      b.x2,
      xs,
    );
    // Vertically, count only the boxes the horizontal window holds.
    const inX = boxes.filter((n) => n.x - n.width / 2 >= startX - 0.5 && n.x + n.width / 2 <= startX + spanX + 0.5);
    const startY = place(
      inX.map((n) => [n.y - n.height / 2, n.y + n.height / 2]),
      spanY,
      b.y1,
      b.y2,
      ys,
    );
    originX = startX - padding / zoom;
    originY = startY - top / zoom;
  }
  const pan = { x: -originX * zoom, y: -originY * zoom };
  return { zoom, pan, shown: countInView(boxes, { zoom, pan }, { width, height }), total: boxes.length };
}
