// viewport.js: the layout's direction and the first zoom and pan. Run by tests/web/test_js.py.

import assert from "node:assert/strict";
import { test } from "node:test";

import {
  chooseDirection,
  chooseViewport,
  countInView,
  layerShape,
  READABLE_ZOOM,
} from "../../../src/threadline/web/app/viewport.js";

const W = 256;
const H = 48;

/** A left-to-right chain of `n` boxes, `gap` apart. */
function chain(n, gap = 90) {
  return Array.from({ length: n }, (_, i) => ({ id: `n${i}`, x: i * (W + gap) + W / 2, y: 0, width: W, height: H }));
}

const inside = (box, { zoom, pan }, width, height) =>
  box.x - box.width / 2 >= -pan.x / zoom - 0.01 &&
  box.x + box.width / 2 <= (width - pan.x) / zoom + 0.01 &&
  box.y - box.height / 2 >= -pan.y / zoom - 0.01 &&
  box.y + box.height / 2 <= (height - pan.y) / zoom + 0.01;

test("a graph that fits readable is shown whole and centred, never above 100 %", () => {
  const boxes = chain(3);
  const view = chooseViewport(boxes, { width: 1400, height: 700 });
  assert.equal(view.zoom, 1);
  assert.equal(view.shown, 3);
  const small = chooseViewport(chain(4), { width: 1000, height: 600 });
  assert.ok(small.zoom >= READABLE_ZOOM && small.zoom < 1);
  assert.equal(small.shown, 4);
});

test("a long chain opens readable, on its centre node, with as many whole nodes as fit", () => {
  const boxes = chain(10);
  const width = 1000;
  const height = 600;
  for (const [i, focus] of boxes.entries()) {
    const view = chooseViewport(boxes, { width, height, focus });
    assert.equal(view.zoom, READABLE_ZOOM);
    assert.ok(inside(focus, view, width, height), `node ${i} is not in view`);
    // 1000 px less the margins, at 0.7, hold 1,360 px of the graph: 4 whole nodes and their gaps.
    assert.equal(
      view.shown,
      Math.floor(((width - 48) / READABLE_ZOOM + 90) / (W + 90)),
      `node ${i}: ${view.shown} whole nodes in view`,
    );
  }
  // At an end of the chain, the view starts at that end rather than leaving it empty.
  const first = chooseViewport(boxes, { width, height, focus: boxes[0] });
  assert.ok(first.pan.x > 0 && first.pan.x < 40, JSON.stringify(first.pan));
});

test("countInView counts the boxes wholly inside", () => {
  const boxes = chain(3);
  assert.equal(countInView(boxes, { zoom: 1, pan: { x: 0, y: 100 } }, { width: 2000, height: 200 }), 3);
  assert.equal(countInView(boxes, { zoom: 1, pan: { x: -100, y: 100 } }, { width: 2000, height: 200 }), 2);
});

test("a long chain goes down the screen, a short or wide graph across", () => {
  const edges = (n) => Array.from({ length: n - 1 }, (_, i) => ({ source: `n${i}`, target: `n${i + 1}` }));
  const nodes = (n) => Array.from({ length: n }, (_, i) => ({ id: `n${i}` }));
  const long = layerShape(nodes(9), edges(9));
  assert.deepEqual(long, { layers: 9, widest: 1 });
  const laptop = { width: 1000, height: 590 };
  assert.equal(chooseDirection(long, laptop).direction, "DOWN");
  assert.ok(chooseDirection(long, laptop).zoomDown > chooseDirection(long, laptop).zoomRight);
  assert.equal(chooseDirection(layerShape(nodes(3), edges(3)), laptop).direction, "RIGHT");
  // One source read by twelve jobs: two layers, twelve wide.
  const fan = { layers: 2, widest: 12 };
  assert.equal(chooseDirection(fan, laptop).direction, "RIGHT");
});

test("layerShape survives cycles", () => {
  const shape = layerShape(
    [{ id: "a" }, { id: "b" }, { id: "c" }],
    [
      { source: "a", target: "b" },
      { source: "b", target: "c" },
      { source: "c", target: "b" },
    ],
  );
  assert.ok(shape.layers >= 2);
});
