// layered.js: the fast left-to-right layered layout of large lineage views. Run by tests/web/test_js.py.

import assert from "node:assert/strict";
import { test } from "node:test";

import { layeredLayout } from "../../../src/threadline/web/app/layered.js";

const box = (id) => ({ id, width: 100, height: 40 });
const edge = (source, target) => ({ source, target });

/** No two nodes of the same layer (same x) overlap, with at least `gap` between them. */
function assertNoOverlap(nodes, positions, gap = 18) {
  const byX = new Map();
  for (const node of nodes) {
    const { x, y } = positions.get(node.id);
    if (!byX.has(x)) byX.set(x, []);
    byX.get(x).push({ y, node });
  }
  for (const column of byX.values()) {
    column.sort((a, b) => a.y - b.y);
    for (let i = 1; i < column.length; i += 1) {
      const [a, b] = [column[i - 1], column[i]];
      const needed = a.node.height / 2 + b.node.height / 2 + gap;
      assert.ok(b.y - a.y >= needed - 1e-6, `${a.node.id} and ${b.node.id} overlap: ${b.y - a.y} < ${needed}`);
    }
  }
}

test("every edge of a chain goes left to right, one layer apart", () => {
  const nodes = ["a", "b", "c", "d"].map(box);
  const positions = layeredLayout(nodes, [edge("a", "b"), edge("b", "c"), edge("c", "d")]);
  assert.equal(positions.size, 4);
  const xs = ["a", "b", "c", "d"].map((id) => positions.get(id).x);
  const steps = xs.slice(1).map((x, i) => x - xs[i]);
  assert.ok(
    steps.every((step) => step > 100),
    `${xs}`,
  );
  assert.equal(new Set(steps).size, 1, "the layers are evenly spaced");
  assert.equal(new Set(["a", "b", "c", "d"].map((id) => positions.get(id).y)).size, 1, "a chain is a straight line");
});

test("a fan-out is stacked in one layer without overlaps, the hub in the middle", () => {
  const outs = Array.from({ length: 20 }, (_, i) => `out${i}`);
  const nodes = [box("hub"), ...outs.map(box)];
  const positions = layeredLayout(
    nodes,
    outs.map((id) => edge("hub", id)),
  );
  assert.equal(new Set(outs.map((id) => positions.get(id).x)).size, 1);
  assertNoOverlap(nodes, positions);
  const ys = outs.map((id) => positions.get(id).y);
  const middle = (Math.min(...ys) + Math.max(...ys)) / 2;
  assert.ok(Math.abs(positions.get("hub").y - middle) < 1, "the hub faces its consumers");
});

test("cycles, self-loops, repeated edges and unknown ends do not break it", () => {
  const nodes = ["a", "b", "c", "lonely"].map(box);
  const edges = [edge("a", "b"), edge("b", "c"), edge("c", "a"), edge("a", "a"), edge("a", "b"), edge("a", "ghost")];
  const positions = layeredLayout(nodes, edges);
  assert.deepEqual([...positions.keys()].sort(), ["a", "b", "c", "lonely"]);
  for (const { x, y } of positions.values()) assert.ok(Number.isFinite(x) && Number.isFinite(y));
  assertNoOverlap(nodes, positions);
});

test("a source sits right before its first consumer, not far left", () => {
  // raw feeds only the last job of a long chain: it belongs next to it.
  const chain = ["s0", "s1", "s2", "s3", "s4"];
  const nodes = [...chain, "raw"].map(box);
  const edges = [...chain.slice(1).map((id, i) => edge(chain[i], id)), edge("raw", "s4")];
  const positions = layeredLayout(nodes, edges);
  assert.equal(positions.get("raw").x, positions.get("s3").x);
});

test("a layered DAG of many nodes is placed without overlaps, edges left to right", () => {
  const nodes = [];
  const edges = [];
  for (let layer = 0; layer < 6; layer += 1) {
    for (let i = 0; i < 30; i += 1) {
      nodes.push(box(`n${layer}-${i}`));
      if (layer) edges.push(edge(`n${layer - 1}-${(i * 7) % 30}`, `n${layer}-${i}`));
      if (layer > 1 && i % 5 === 0) edges.push(edge(`n${layer - 2}-${i}`, `n${layer}-${i}`));
    }
  }
  const positions = layeredLayout(nodes, edges);
  assert.equal(positions.size, nodes.length);
  assertNoOverlap(nodes, positions);
  for (const { source, target } of edges) assert.ok(positions.get(source).x < positions.get(target).x);
});
