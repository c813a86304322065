// lineage-model.js: lineage answers merged into one graph, and the view model of the table view with
// large fan-outs folded into "+N more" groups. Run by tests/web/test_js.py.

import assert from "node:assert/strict";
import { test } from "node:test";

import {
  buildView,
  edgesWithin,
  LineageGraph,
  nodeKind,
  nodeProducer,
  tagLabel,
} from "../../../src/threadline/web/app/lineage-model.js";

const DBT = { jobType: "MODEL", integration: "DBT", processingType: "BATCH" };
const dataset = (name, extra = {}) => ({ id: `dataset:wh:${name}`, type: "DATASET", name, namespace: "wh", ...extra });
const job = (name, extra = {}) => ({ id: `job:etl:${name}`, type: "JOB", name, namespace: "etl", ...extra });
const options = (center, extra = {}) => ({
  center,
  direction: "both",
  expansions: new Set(),
  unfolded: new Set(),
  ...extra,
});
const ids = (view) => view.nodes.map((n) => n.id).sort();

/** raw -> load -> clean -> report -> summary: a chain of datasets and jobs. */
function chain() {
  const graph = new LineageGraph();
  graph.add({
    graph: [
      dataset("raw", { outEdges: ["job:etl:load"] }),
      job("load", { outEdges: ["dataset:wh:clean"], jobType: DBT, latestRunState: "COMPLETED" }),
      dataset("clean", { outEdges: ["job:etl:report"], more: ["up"] }),
      job("report", { outEdges: ["dataset:wh:summary"], latestRunState: "FAILED" }),
      dataset("summary", { more: ["down"] }),
    ],
  });
  return graph;
}

test("answers merge: nodes keep what either said, edges are counted once", () => {
  const graph = new LineageGraph();
  graph.add({ graph: [dataset("a", { outEdges: ["job:etl:j"], more: ["up"] }), job("j")] });
  graph.add({
    graph: [
      dataset("a", { outEdges: ["job:etl:j"], more: ["down"], fields: [{ name: "id" }] }),
      job("j", { outEdges: ["dataset:wh:b"] }),
      dataset("b"),
    ],
  });
  graph.add({ graph: [dataset("a", { outEdges: ["job:etl:j"] })] });
  assert.deepEqual([...graph.nodes.get("dataset:wh:a").more].sort(), ["down", "up"]);
  assert.deepEqual(
    graph.nodes.get("dataset:wh:a").fields,
    [{ name: "id" }],
    "a later answer without fields keeps them",
  );
  assert.deepEqual([...graph.edges.keys()], ["dataset:wh:a>job:etl:j", "job:etl:j>dataset:wh:b"]);
  assert.deepEqual(graph.neighbours("job:etl:j", "up"), ["dataset:wh:a"]);
  assert.deepEqual(graph.neighbours("job:etl:j", "down"), ["dataset:wh:b"]);
  assert.deepEqual(graph.neighbours("dataset:wh:nowhere", "down"), []);
});

test("a node's kind and who made it", () => {
  const graph = chain();
  assert.equal(nodeKind(graph.nodes.get("job:etl:load")), "job");
  assert.equal(nodeKind(graph.nodes.get("dataset:wh:raw")), "dataset");
  assert.equal(nodeKind({ type: "DATASET", model: true }), "model");
  assert.equal(nodeProducer(graph.nodes.get("job:etl:load"), graph).key, "dbt");
  assert.equal(nodeProducer(graph.nodes.get("dataset:wh:clean"), graph).key, "dbt", "a dataset's is its writer's");
  assert.equal(nodeProducer(graph.nodes.get("dataset:wh:raw"), graph).key, "other", "no writer in view");
  assert.equal(nodeProducer(graph.nodes.get("dataset:wh:raw"), graph).label, "");
});

test("the view walks both ways from the centre and says what each node is", () => {
  const view = buildView(chain(), options("dataset:wh:clean"));
  assert.equal(view.nodes.length, 5);
  assert.equal(view.hidden, 0);
  assert.deepEqual([...view.visible].sort(), ids(view));
  assert.equal(view.edges.length, 4);
  const byId = new Map(view.nodes.map((n) => [n.id, n]));
  assert.equal(byId.get("dataset:wh:clean").classes, "center");
  assert.equal(byId.get("job:etl:load").subtitle, "job · dbt model");
  assert.equal(byId.get("job:etl:load").state, "COMPLETED");
  assert.equal(byId.get("job:etl:report").subtitle, "job · failed", "only states that need attention are words");
  assert.equal(byId.get("job:etl:report").classes, "failed");
  assert.equal(byId.get("dataset:wh:clean").subtitle, "dataset · dbt");
  assert.equal(byId.get("dataset:wh:summary").state, null);
  assert.deepEqual(byId.get("dataset:wh:summary").handles, { down: "closed" }, "the server said there is more");
  assert.deepEqual(byId.get("job:etl:report").handles, {}, "nothing more beyond it");
  assert.deepEqual(byId.get("dataset:wh:clean").handles, {}, "the centre has no handle: Depth shows more");
});

test("upstream and downstream views walk one way only", () => {
  const graph = chain();
  assert.deepEqual(ids(buildView(graph, options("dataset:wh:clean", { direction: "upstream" }))), [
    "dataset:wh:clean",
    "dataset:wh:raw",
    "job:etl:load",
  ]);
  assert.deepEqual(ids(buildView(graph, options("dataset:wh:clean", { direction: "downstream" }))), [
    "dataset:wh:clean",
    "dataset:wh:summary",
    "job:etl:report",
  ]);
});

test("the neighbourhood also walks back: siblings show", () => {
  const graph = new LineageGraph();
  graph.add({
    graph: [dataset("a", { outEdges: ["job:etl:j"] }), dataset("b", { outEdges: ["job:etl:j"] }), job("j")],
  });
  assert.deepEqual(ids(buildView(graph, options("dataset:wh:a", { direction: "downstream" }))), [
    "dataset:wh:a",
    "job:etl:j",
  ]);
  assert.deepEqual(ids(buildView(graph, options("dataset:wh:a", { direction: "undirected" }))), [
    "dataset:wh:a",
    "dataset:wh:b",
    "job:etl:j",
  ]);
});

/** A job reading `count` datasets named in-00 … */
function fanIn(count) {
  const graph = new LineageGraph();
  const inputs = Array.from({ length: count }, (_, i) =>
    dataset(`in-${String(i).padStart(2, "0")}`, { outEdges: ["job:etl:hub"] }),
  );
  graph.add({ graph: [...inputs, job("hub")] });
  return graph;
}

test("a fan-out above the limit folds into one '+N more' node, pinned nodes first", () => {
  const graph = fanIn(30);
  const view = buildView(graph, options("job:etl:hub", { pinned: new Set(["dataset:wh:in-29"]) }));
  const shown = view.nodes.filter((n) => n.kind === "dataset").map((n) => n.name);
  assert.deepEqual(shown, ["in-29", "in-00", "in-01", "in-02", "in-03", "in-04", "in-05", "in-06"]);
  const group = view.nodes.find((n) => n.kind === "more");
  assert.equal(group.id, "more:job:etl:hub~up");
  assert.equal(group.label, "+22 more");
  assert.equal(group.owner, "job:etl:hub");
  assert.equal(view.hidden, 22);
  assert.deepEqual(
    view.edges.find((e) => e.id === `e:${group.id}`),
    { id: `e:${group.id}`, source: group.id, target: "job:etl:hub", classes: "more-edge" },
    "an upstream group points at its owner",
  );
});

test("an unfolded group, a larger fan-out or none at all shows everything", () => {
  const graph = fanIn(30);
  for (const extra of [{ unfolded: new Set(["job:etl:hub~up"]) }, { fanout: 50 }, { fanout: 0 }]) {
    const view = buildView(graph, options("job:etl:hub", extra));
    assert.equal(view.nodes.length, 31, JSON.stringify(extra));
    assert.equal(view.hidden, 0);
  }
  assert.equal(
    buildView(graph, options("job:etl:hub", { fanout: 5 })).nodes.length,
    1 + 5 + 1,
    "keeps up to the fan-out",
  );
});

test("an expansion walks on from a node and opens its handle", () => {
  const graph = chain();
  const upstream = options("dataset:wh:clean", { direction: "upstream" });
  assert.ok(!ids(buildView(graph, upstream)).includes("job:etl:report"));
  const view = buildView(graph, { ...upstream, expansions: new Set(["down~dataset:wh:clean"]) });
  assert.ok(ids(view).includes("job:etl:report"));
  const centre = view.nodes.find((n) => n.id === "dataset:wh:clean");
  assert.deepEqual(centre.handles, { down: "open" });
});

test("the highlight's edges are the graph's edges between the highlighted nodes", () => {
  const graph = chain();
  const within = edgesWithin(graph, new Set(["dataset:wh:clean", "job:etl:report", "dataset:wh:summary"]));
  assert.deepEqual(within, ["dataset:wh:clean>job:etl:report", "job:etl:report>dataset:wh:summary"]);
  assert.deepEqual(edgesWithin(graph, new Set(["dataset:wh:raw"])), []);
});

test("a node's tag badge names a sensitive tag first, then how many more", () => {
  const tag = (name, source = "CATALOG") => ({ name, source });
  assert.equal(tagLabel(undefined), "");
  assert.equal(tagLabel([]), "");
  assert.equal(tagLabel([tag("Lineage notes")]), "Lineage notes");
  assert.equal(tagLabel([tag("Lineage notes"), tag("PII", "INTEGRATION"), tag("Owner")]), "PII +2");
  assert.equal(tagLabel([tag("Data quality"), tag("Data quality")]), "Data quality"); // one name once
  assert.equal(tagLabel([tag("A very long template display name indeed")]), "A very long template di…");
});

test("the view's nodes carry their tags and badge text", () => {
  const graph = new LineageGraph();
  graph.add({
    graph: [
      { ...job("load"), outEdges: ["dataset:wh:orders"] },
      dataset("orders", {
        tags: [
          { name: "Confidential", source: "CATALOG" },
          { name: "Owner", source: "CATALOG" },
        ],
      }),
    ],
  });
  const view = buildView(graph, options("job:etl:load"));
  const orders = view.nodes.find((n) => n.id === "dataset:wh:orders");
  assert.equal(orders.tagLabel, "Confidential +1");
  assert.equal(orders.tags.length, 2);
  assert.equal(view.nodes.find((n) => n.id === "job:etl:load").tagLabel, "");
});
