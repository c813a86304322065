// lineage-columns.js: the column view's model, one box per dataset with its columns. Run by
// tests/web/test_js.py.

import assert from "node:assert/strict";
import { test } from "node:test";

import {
  columnDepth,
  columnDirection,
  columnModel,
  MAX_FIELDS,
} from "../../../src/threadline/web/app/lineage-columns.js";
import { LineageGraph } from "../../../src/threadline/web/app/lineage-model.js";
import { datasetId, fieldId } from "../../../src/threadline/web/app/nodes.js";

const NS = "postgres://db:5432";
const ORDERS = datasetId(NS, "analytics.orders");
const CUSTOMERS = datasetId(NS, "analytics.customers");

/** customers.total comes from orders.amount (an aggregation) and, indirectly, orders.status. */
const ANSWER = {
  graph: [
    {
      id: fieldId(NS, "analytics.customers", "total"),
      data: {
        namespace: NS,
        dataset: "analytics.customers",
        field: "total",
        fieldType: "numeric",
        inputFields: [
          {
            namespace: NS,
            dataset: "analytics.orders",
            field: "amount",
            transformations: [{ type: "DIRECT", subtype: "AGGREGATION", description: "sum(amount)" }],
          },
          { namespace: NS, dataset: "analytics.orders", field: "status", transformationType: "INDIRECT" },
        ],
      },
    },
  ],
};

test("each dataset is a box of its columns; edges name the transformation", () => {
  const model = columnModel(ANSWER, CUSTOMERS, null, null);
  assert.equal(model.columns, true);
  const tables = model.nodes.filter((n) => n.kind === "table");
  assert.deepEqual(tables.map((n) => n.ref).sort(), [CUSTOMERS, ORDERS].sort());
  assert.equal(tables.find((n) => n.ref === CUSTOMERS).classes, "center");
  const fields = model.nodes.filter((n) => n.kind === "field");
  assert.deepEqual(fields.map((n) => `${n.dataset}.${n.name}`).sort(), [
    "analytics.customers.total",
    "analytics.orders.amount",
    "analytics.orders.status",
  ]);
  assert.equal(fields.find((n) => n.name === "total").label, "total  numeric");
  assert.equal(fields.find((n) => n.name === "total").parent, `table:${CUSTOMERS}`);
  assert.ok(fields.every((n) => n.classes === "lineage"));
  assert.deepEqual(
    model.edges.map((e) => [e.source.split(":").at(-1), e.label, e.classes]),
    [
      ["amount", "direct · aggregation", ""],
      ["status", "indirect", "indirect"],
    ],
  );
});

test("the focused column is marked, and a dataset's whole schema shows in schema order", () => {
  const tables = new LineageGraph();
  const schema = [
    { name: "id", type: "integer" },
    { name: "status", type: "text" },
    { name: "amount", type: "numeric" },
  ];
  tables.add({ graph: [{ id: ORDERS, type: "DATASET", name: "analytics.orders", namespace: NS, fields: schema }] });
  const focus = fieldId(NS, "analytics.orders", "amount");
  const model = columnModel(ANSWER, ORDERS, focus, tables);
  const orders = model.nodes.filter((n) => n.parent === `table:${ORDERS}`);
  assert.deepEqual(
    orders.map((n) => [n.label, n.classes]),
    [
      ["id  integer", ""],
      ["status  text", "lineage"],
      ["amount  numeric", "lineage focus"],
    ],
  );
});

test("a wide dataset shows the columns with lineage first, up to the limit", () => {
  const tables = new LineageGraph();
  const schema = Array.from({ length: MAX_FIELDS + 20 }, (_, i) => ({ name: `c${i}` }));
  schema.push({ name: "amount" });
  tables.add({ graph: [{ id: ORDERS, type: "DATASET", name: "analytics.orders", namespace: NS, fields: schema }] });
  const orders = columnModel(ANSWER, CUSTOMERS, null, tables).nodes.filter((n) => n.parent === `table:${ORDERS}`);
  assert.equal(orders.length, MAX_FIELDS);
  const names = orders.map((n) => n.name);
  assert.ok(names.includes("amount") && names.includes("status"), "the columns with lineage are never cut");
  assert.deepEqual(names.slice(-2), ["amount", "status"], "in schema order, then the columns it does not list");
});

test("without column lineage the centre dataset still shows, alone", () => {
  const model = columnModel({ graph: [] }, ORDERS, null, null);
  assert.deepEqual(
    model.nodes.map((n) => n.id),
    [`table:${ORDERS}`],
  );
  assert.deepEqual(model.edges, []);
});

test("the column view's depth and direction from the table view's", () => {
  assert.deepEqual(["1", "2", "3", "4", "20", "all"].map(columnDepth), ["1", "1", "2", "2", "10", "all"]);
  assert.equal(columnDirection("upstream"), "upstream");
  assert.equal(columnDirection("downstream"), "downstream");
  assert.equal(columnDirection("undirected"), "both");
  assert.equal(columnDirection("both"), "both");
});
