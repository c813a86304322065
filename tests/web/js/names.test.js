// names.js: names shortened in the middle, keeping what tells them apart. Run by tests/web/test_js.py.

import assert from "node:assert/strict";
import { test } from "node:test";

import { essentialName, nameParts, peerIndex, shortenName } from "../../../src/threadline/web/app/names.js";

const upTo = (n) => (text) => text.length <= n;

// dbt-ol names the steps of `dbt build` <database>.<schema>.<project>.<model>.build.<run|test>.
const MODELS = ["customers", "customer_segments", "stg_customers", "test_first_dbt_model", "orders"];
const DBT_BUILD = MODELS.flatMap((m) => [
  `analytics.jaffle_shop.jaffle.${m}.build.run`,
  `analytics.jaffle_shop.jaffle.${m}.build.test`,
]);

test("dbt build steps keep their model and tell a run from its test", () => {
  const peers = peerIndex(DBT_BUILD);
  const shown = DBT_BUILD.map((name) => shortenName(name, { fits: upTo(27), peers }));
  for (const [i, text] of shown.entries()) {
    assert.ok(text.length <= 27, text);
    const model = MODELS[Math.floor(i / 2)];
    assert.ok(text.includes(model), `${text} lost the model ${model}`);
    assert.ok(text.endsWith(i % 2 ? "test" : "run"), text);
  }
  assert.equal(new Set(shown).size, shown.length, "two steps read the same");
  assert.ok(!shown.some((text) => text === "…build.run"));
});

test("without other names a long name is cut in the middle: its start and its end stay", () => {
  assert.equal(
    shortenName("analytics.jaffle_shop.customer_segments", { fits: upTo(30) }),
    "analytics…customer_segments",
  );
  assert.equal(shortenName("data/raw/2024/06/customers-export.csv", { fits: upTo(28) }), "data/…customers-export.csv");
});

test("the parts every name in view shares go first", () => {
  const names = ["analytics.jaffle_shop.customers", "analytics.jaffle_shop.orders", "analytics.jaffle_shop.stg_orders"];
  const peers = peerIndex(names);
  assert.equal(shortenName("analytics.jaffle_shop.stg_orders", { fits: upTo(24), peers }), "…jaffle_shop.stg_orders");
  assert.equal(shortenName("analytics.jaffle_shop.stg_orders", { fits: upTo(16), peers }), "…stg_orders");
});

test("a name that fits is left alone; what does not fit never comes back longer", () => {
  assert.equal(shortenName("churn/model.pkl", { fits: upTo(27) }), "churn/model.pkl");
  for (const name of [
    ...DBT_BUILD,
    "s3://acme-lake/features/churn/customer_features.parquet",
    "x".repeat(80),
    "a.b",
    "/tmp/pytest-of-root/data/raw/customers.csv",
  ]) {
    for (const room of [4, 8, 12, 20, 27, 40]) {
      const text = shortenName(name, { fits: upTo(room) });
      assert.ok(text.length <= Math.max(room, 1), `${name} at ${room}: ${text}`);
    }
  }
});

test("a telling part longer than the room is cut in its own middle, keeping the last part", () => {
  const name = "warehouse.a_really_long_model_name_without_dots.build.run";
  const text = shortenName(name, { fits: upTo(20) });
  assert.ok(text.length <= 20, text);
  assert.match(text, /^…a_reall.*dots…run$/);
  // With less room than that, the telling part alone.
  assert.match(shortenName(name, { fits: upTo(14) }), /^…a_real.*ots…$/);
});

test("the least that tells a name apart: its telling part and its last", () => {
  assert.equal(essentialName(DBT_BUILD[2]), "…customer_segments…run");
  assert.equal(essentialName("churn/model.pkl"), "…model.pkl");
});

test("parts keep their separators; leading slashes belong to the first part", () => {
  assert.deepEqual(nameParts("s3://lake/clean/x.parquet"), ["s3://", "lake/", "clean/", "x.", "parquet"]);
  assert.deepEqual(nameParts("/tmp/a.csv"), ["/tmp/", "a.", "csv"]);
  assert.deepEqual(nameParts("plain"), ["plain"]);
});

test("what a name is about stays, and what tells it from a name like it", () => {
  const names = [
    "raw/churn/customers.parquet",
    "clean/churn/customers.parquet",
    "churn_pipeline.clean",
    "crm.public.customers",
  ];
  const peers = peerIndex(names);
  assert.equal(shortenName("clean/churn/customers.parquet", { fits: upTo(24), peers }), "clean/…customers.parquet");
});
