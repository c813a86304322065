"""End to end on DuckDB and a local lake: good data is promoted, bad data is blocked with production
unchanged, incremental extraction takes only new rows, merge keeps one row per key, and every stage is
a run whose lineage, versions and check results are in the store."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import pytest

from tests.pipeline.conftest import events, final_events
from threadline.errors import PipelineError
from threadline.pipeline import run_pipeline
from threadline.pipeline.loader import load_pipeline


def production(example: Path, env: str = "staging") -> dict[str, list[tuple[Any, ...]]]:
    """Every production table's rows (bookkeeping columns left out), sorted."""
    db = example / "build" / env / "warehouse.duckdb"
    with duckdb.connect(str(db), read_only=True) as c:
        tables = [
            r[0]
            for r in c.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'analytics' ORDER BY 1"
            ).fetchall()
        ]
        return {
            t: sorted(
                c.execute(f"SELECT * EXCLUDE (_created_at, _updated_at) FROM analytics.{t}").fetchall()
                if t != "revenue_by_country"
                else c.execute(f"SELECT * FROM analytics.{t}").fetchall()
            )
            for t in tables
        }


def add_orders(example: Path, *lines: str) -> None:
    with (example / "data" / "orders.csv").open("a") as handle:
        for line in lines:
            handle.write(line + "\n")


def test_good_data_is_promoted_with_lineage(example: Path, project: Path) -> None:
    result = run_pipeline(load_pipeline(example / "shop.py"), "staging")
    assert result.promoted
    tables = production(example)
    assert len(tables["orders"]) == 6
    assert len(tables["customers"]) == 4
    assert {c: r for c, _, r in tables["revenue_by_country"]} == {"GB": 120.5, "US": 304.9, "AT": 80.0}
    # the lake partition is immutable Parquet under staging/raw_orders/created_at=.../
    parts = list((example / "build/staging/lake/staging/raw_orders").glob("created_at=*/part-*.parquet"))
    assert len(parts) == 1

    by_job = {e["job"]["name"]: e for e in events(project) if e["eventType"] == "COMPLETE"}
    assert {
        "shop",
        "shop.extract.orders",
        "shop.load.orders",
        "shop.validate.orders",
        "shop.transform.revenue_by_country",
        "shop.promote",
    } <= set(by_job)
    pipeline_run = by_job["shop"]["run"]["runId"]
    for job in ("shop.extract.orders", "shop.promote"):
        assert by_job[job]["run"]["facets"]["parent"]["run"]["runId"] == pipeline_run
    # the raw partition is a content-hashed dataset version, stored in the artifact store
    landed = by_job["shop.extract.orders"]["outputs"][0]
    assert landed["facets"]["version"]["datasetVersion"].startswith("blake3:")
    assert landed["facets"]["threadline_artifact"]["stored"] is True
    assert by_job["shop.load.orders"]["inputs"][0]["name"] == landed["name"]
    # checks as the standard dataQualityAssertions facet, with our failing-rows facet
    checked = by_job["shop.validate.orders"]["inputs"][0]
    assertions = checked["inputFacets"]["dataQualityAssertions"]["assertions"]
    assert {a["assertion"] for a in assertions} >= {"unique(order_id)", "between(amount)"}
    assert all(a["success"] for a in assertions)
    assert checked["inputFacets"]["dataQualityMetrics"]["rowCount"] == 6
    # column lineage of the SQL transform, by sqlglot
    out = by_job["shop.transform.revenue_by_country"]["outputs"][0]
    fields = out["facets"]["columnLineage"]["fields"]
    assert [f["field"] for f in fields["revenue"]["inputFields"]] == ["amount"]
    assert [f["field"] for f in fields["country"]["inputFields"]] == ["country"]
    # the promotion links the staging version to the production table
    promote = by_job["shop.promote"]
    staged = {
        i["name"].rsplit("/", 1)[1]: i["facets"]["version"]["datasetVersion"] for i in promote["inputs"]
    }
    published = {
        o["name"].rsplit("/", 1)[1]: o["facets"]["version"]["datasetVersion"] for o in promote["outputs"]
    }
    assert staged["staging.orders"] == published["analytics.orders"]


def test_bad_data_is_blocked_and_production_unchanged(example: Path, project: Path) -> None:
    pipeline = load_pipeline(example / "shop.py")
    run_pipeline(pipeline, "staging")
    before = production(example)
    db_bytes = (example / "build/staging/warehouse.duckdb").read_bytes()
    # a duplicate key, an out-of-range amount, an unknown status, an unknown customer
    add_orders(
        example,
        "1007,2,99999.00,shipped,2026-12-02T09:00:00",
        "1008,9,10.00,lost,2026-12-02T10:00:00",
        "1008,1,11.00,placed,2026-12-02T10:05:00",
    )
    with pytest.raises(PipelineError) as caught:
        run_pipeline(load_pipeline(example / "shop.py"), "staging")
    message = caught.value.message
    assert "production analytics is unchanged" in message
    for check in (
        "unique(order_id)",
        "between(amount)",
        "accepted_values(status)",
        "relationship(customer_id)",
    ):
        assert check in message
    assert production(example) == before
    del db_bytes  # the file changes (staging schema); production's rows are what must not
    result = caught.value.result  # type: ignore[attr-defined]
    checks = {c.check.label: c for s in result.stages for c in s.checks}
    assert checks["unique(order_id)"].failures == 2
    assert {row["order_id"] for row in checks["unique(order_id)"].sample} == {1008}
    assert checks["between(amount)"].sample[0]["amount"] == 99999.0
    assert checks["not_null(order_id)"].status == "passed"
    stages = {s.name: s.status for s in result.stages}
    assert stages["transform.revenue_by_country"] == "skipped"
    assert stages["promote"] == "skipped"
    failed = final_events(project, "shop.validate.orders")[-1]
    assert failed["eventType"] == "FAIL"
    facets = failed["inputs"][0]["inputFacets"]
    assert not all(a["success"] for a in facets["dataQualityAssertions"]["assertions"])
    results = {r["check"]: r for r in facets["threadline_check_results"]["results"]}
    assert results["between(amount)"]["failures"] == 1
    assert final_events(project, "shop")[-1]["eventType"] == "FAIL"


def test_incremental_extract_takes_only_new_rows_and_merges(example: Path, project: Path) -> None:
    run_pipeline(load_pipeline(example / "shop.py"), "staging")
    # a new order and a changed order (same key, newer updated_at)
    add_orders(
        example, "1009,4,42.00,placed,2026-12-03T08:00:00", "1004,3,260.00,shipped,2026-12-03T09:00:00"
    )
    result = run_pipeline(load_pipeline(example / "shop.py"), "staging")
    extracted = {s.name: s.rows for s in result.stages}
    assert extracted["extract.orders"] == 2
    assert extracted["extract.customers"] == 4  # not incremental: a full extract each run
    orders = {row[0]: row for row in production(example)["orders"]}
    assert len(orders) == 7  # merged on order_id: no duplicate of 1004
    assert orders[1004][2] == 260.0
    assert result.cursors["orders"].startswith("2026-12-03 09:00:00")
    # nothing new: nothing extracted
    again = run_pipeline(load_pipeline(example / "shop.py"), "staging")
    assert {s.name: s.rows for s in again.stages}["extract.orders"] == 0
    assert len(production(example)["orders"]) == 7


def test_a_blocked_run_moves_no_cursor(example: Path, project: Path) -> None:
    run_pipeline(load_pipeline(example / "shop.py"), "staging")
    add_orders(example, "1010,1,-5.00,placed,2026-12-04T08:00:00")
    with pytest.raises(PipelineError):
        run_pipeline(load_pipeline(example / "shop.py"), "staging")
    # the bad row is fixed upstream: the next run extracts it again (the cursor did not move)
    text = (
        (example / "data/orders.csv")
        .read_text()
        .replace("1010,1,-5.00,placed,2026-12-04T08:00:00", "1010,1,5.00,placed,2026-12-04T09:00:00")
    )
    (example / "data/orders.csv").write_text(text)
    result = run_pipeline(load_pipeline(example / "shop.py"), "staging")
    assert {s.name: s.rows for s in result.stages}["extract.orders"] == 1
    assert 1010 in {row[0] for row in production(example)["orders"]}


def test_schema_change_upstream_fails_the_load_and_keeps_production(example: Path) -> None:
    run_pipeline(load_pipeline(example / "shop.py"), "staging")
    before = production(example)
    path = example / "data/customers.jsonl"
    path.write_text(path.read_text().replace('"country"', '"country_code"'))
    with pytest.raises(
        PipelineError,
        match=r"schema of customers changed upstream: new column country_code "
        r"\(VARCHAR\); column country is gone",
    ):
        run_pipeline(load_pipeline(example / "shop.py"), "staging")
    assert production(example) == before


def test_environments_are_separate(example: Path) -> None:
    run_pipeline(load_pipeline(example / "shop.py"), "production")
    assert (example / "build/production/warehouse.duckdb").exists()
    assert not (example / "build/staging/warehouse.duckdb").exists()
