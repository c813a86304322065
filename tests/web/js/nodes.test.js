// nodes.js: node ids as the server writes them, and the UI's URL of each thing. Run by
// tests/web/test_js.py.

import assert from "node:assert/strict";
import { test } from "node:test";

import {
  datasetId,
  fieldId,
  formatNodeId,
  jobId,
  lineageUrl,
  pageUrl,
  parseNodeId,
} from "../../../src/threadline/web/app/nodes.js";

test("ids with colons in the namespace read as the server reads them", () => {
  assert.deepEqual(parseNodeId("dataset:postgres://db:5432:analytics.orders"), {
    kind: "dataset",
    namespace: "postgres://db:5432",
    name: "analytics.orders",
    version: null,
  });
  assert.deepEqual(parseNodeId("datasetField:s3://lake:clean/x.parquet:amount"), {
    kind: "datasetField",
    namespace: "s3://lake",
    name: "clean/x.parquet",
    field: "amount",
    version: null,
  });
  assert.deepEqual(parseNodeId("job:airflow:etl.daily#v2"), {
    kind: "job",
    namespace: "airflow",
    name: "etl.daily",
    version: "v2",
  });
  assert.deepEqual(parseNodeId("run:0190d7e4-0000-7000-8000-000000000000"), {
    kind: "run",
    runId: "0190d7e4-0000-7000-8000-000000000000",
  });
});

test("what is not a node id reads as null", () => {
  for (const id of ["", "  ", "dataset", "dataset:only-namespace", "table:a:b", "job:a:b#", null, 42]) {
    assert.equal(parseNodeId(id), null, String(id));
  }
});

test("names that need escapes are written so they read back the same", () => {
  const names = ["a#b", "x:y", "100%", "%23 literally", " padded ", "a:1"];
  for (const name of names) {
    for (const id of [datasetId("ns", name), jobId("postgres://db:5432", name), fieldId("ns", name, "f:1")]) {
      const read = parseNodeId(id);
      assert.equal(read.name, name, id);
      assert.equal(formatNodeId(read), id);
    }
  }
  assert.equal(datasetId("ns", "plain.name"), "dataset:ns:plain.name", "plain names are not escaped");
});

test("each node's page and lineage URL", () => {
  assert.equal(pageUrl("dataset:s3://bucket:a/b.csv"), "/datasets/s3%3A%2F%2Fbucket/a%2Fb.csv");
  assert.equal(pageUrl("job:etl:load"), "/jobs/etl/load");
  assert.equal(pageUrl("datasetField:ns:orders:id"), "/datasets/ns/orders?field=id");
  assert.equal(pageUrl("run:abc"), "/runs/abc");
  assert.equal(pageUrl("nonsense"), null);
  assert.equal(lineageUrl("job:etl:load", { depth: "2", asOf: undefined }), "/lineage?node=job%3Aetl%3Aload&depth=2");
});
