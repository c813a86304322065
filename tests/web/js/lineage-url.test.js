// lineage-url.js: the lineage view's state as the URL writes it. Run by tests/web/test_js.py.

import assert from "node:assert/strict";
import { test } from "node:test";

import {
  DEPTHS,
  DIRECTIONS,
  dropsHighlight,
  expansions,
  fanoutChoices,
  pinnedIds,
  readState,
  stateQuery,
  toggleExpansion,
} from "../../../src/threadline/web/app/lineage-url.js";
import { searchParams } from "../../../src/threadline/web/app/router.js";

const NODE = "dataset:postgres://db:5432:analytics.orders";
const JOB = "job:airflow:etl~daily";

/** The URL's query of a state, as the page writes it (router.js's setQuery). */
const written = (state) => searchParams(stateQuery(state));

test("a URL with only a node reads as the default view", () => {
  const state = readState(new URLSearchParams({ node: NODE }));
  assert.deepEqual(state, {
    node: NODE,
    depth: "4",
    direction: "both",
    asOf: "",
    view: "tables",
    expand: [],
    more: [],
    select: "",
    impact: "",
    pathFrom: "",
    pathTo: "",
    field: "",
    fanout: "12",
  });
  assert.equal(written(state).toString(), new URLSearchParams({ node: NODE }).toString(), "defaults are left out");
});

test("every state written to the URL reads back the same", () => {
  const states = [
    {
      node: NODE,
      depth: "all",
      direction: "upstream",
      asOf: "2026-11-04T04:02:57.000Z",
      view: "columns",
      expand: [`up~${JOB}`, `down~${NODE}`],
      more: [`${JOB}~down`],
      select: JOB,
      impact: NODE,
      pathFrom: "",
      pathTo: "",
      field: "order_id",
      fanout: "0",
    },
    {
      ...readState(new URLSearchParams({ node: JOB })),
      direction: "undirected",
      depth: "1",
      pathFrom: NODE,
      pathTo: JOB,
      fanout: "25",
    },
  ];
  for (const depth of DEPTHS) states.push({ ...states[1], depth });
  for (const [direction] of DIRECTIONS) states.push({ ...states[0], direction });
  for (const state of states) {
    const url = `/lineage?${written(state)}`;
    assert.deepEqual(readState(new URL(url, "http://localhost").searchParams), state, url);
  }
});

test("values that are not valid read as the defaults", () => {
  const state = readState(
    new URLSearchParams("node=x&depth=5&direction=sideways&view=graph&fanout=-3&expand=up~a&expand=sideways~b"),
  );
  assert.equal(state.depth, "4");
  assert.equal(state.direction, "both");
  assert.equal(state.view, "tables");
  assert.equal(state.fanout, "12");
  assert.deepEqual(state.expand, ["up~a", "sideways~b"], "kept as written; expansions() drops what is not one");
  assert.equal(readState(new URLSearchParams("fanout=007")).fanout, "7");
  assert.equal(readState(new URLSearchParams("fanout=abc")).fanout, "12");
});

test("expansions keep the valid ones, with ids that hold ~", () => {
  assert.deepEqual(expansions(["up~a", "down~job:ns:x~y", "sideways~b", "up~", "down"]), [
    { dir: "up", id: "a" },
    { dir: "down", id: "job:ns:x~y" },
  ]);
});

test("expanding twice takes the expansion back out", () => {
  const once = toggleExpansion([], JOB, "up");
  assert.deepEqual(once, [`up~${JOB}`]);
  assert.deepEqual(toggleExpansion(once, JOB, "down"), [`up~${JOB}`, `down~${JOB}`]);
  assert.deepEqual(toggleExpansion(once, JOB, "up"), []);
});

test("the pinned nodes are the centre, the selection, the path's ends and the expanded nodes", () => {
  const state = { ...readState(new URLSearchParams()), select: "s", pathFrom: "a", pathTo: "b", expand: [`up~${JOB}`] };
  assert.deepEqual([...pinnedIds(state, "c")].sort(), ["a", "b", "c", "s", JOB].sort());
});

test("fan-out choices keep the URL's own value", () => {
  assert.equal(fanoutChoices("12").length, 4);
  assert.deepEqual(fanoutChoices("7").at(-1), ["7", "Group above 7"]);
});

test("depth, direction and time drop the highlight; selecting does not", () => {
  assert.equal(dropsHighlight({ depth: "2" }), true);
  assert.equal(dropsHighlight({ asOf: "" }), true);
  assert.equal(dropsHighlight({ direction: "upstream" }), true);
  assert.equal(dropsHighlight({ select: "x", view: "columns" }), false);
});
