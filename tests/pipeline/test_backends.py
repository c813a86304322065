"""The example pipeline end to end on DuckDB with a local lake, on a PostgreSQL warehouse
(127.0.0.1:5432, a fresh pair of schemas per test), on an ``s3://`` lake (moto's S3-compatible
server, run in this process on a loopback port), and on both: good data is promoted (warehouse and
lake production), bad data is blocked with production unchanged byte for byte, incremental
extraction takes only the new rows, and a schema changed upstream fails the load with production
untouched. Quarantine and custom checks on PostgreSQL."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.pipeline.conftest import final_events
from tests.server.conftest import free_port
from threadline.errors import PipelineError
from threadline.pipeline import PipelineResult, run_pipeline
from threadline.pipeline.config import environment_from
from threadline.pipeline.lake import Lake
from threadline.pipeline.loader import load_pipeline
from threadline.pipeline.warehouse import BOOKKEEPING, open_warehouse

TABLES = ("customers", "orders", "revenue_by_country")


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    """moto's S3 server on a free loopback port, for this module's tests."""
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def s3_lake(s3_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """A fresh bucket on the local S3 server; the lake URL ``s3://<bucket>/lake``."""
    import fsspec

    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": s3_endpoint,
    }.items():
        monkeypatch.setenv(name, value)
    bucket = f"lake-{uuid.uuid4().hex[:12]}"
    fs, _ = fsspec.core.url_to_fs(f"s3://{bucket}")
    fs.mkdir(bucket)
    return f"s3://{bucket}/lake"


@pytest.fixture
def pg_warehouse(pg_server: str) -> Iterator[dict[str, str]]:
    """A fresh staging and production schema in the test database (dropped afterwards)."""
    name = f"shop_{uuid.uuid4().hex[:10]}"
    staging, production = f"{name}_staging", f"{name}_prod"
    yield {"warehouse": pg_server, "staging_schema": staging, "schema": production}
    with psycopg.connect(pg_server, autocommit=True) as connection:
        for schema in (staging, production):
            connection.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')  # type: ignore[arg-type]


@pytest.fixture(
    params=[
        "duckdb",
        pytest.param("postgresql", marks=pytest.mark.postgres),
        "s3",
        pytest.param("postgresql+s3", marks=pytest.mark.postgres),
    ]
)
def env(request: pytest.FixtureRequest, example: Path) -> dict[str, Any]:
    """The staging environment of the example on this backend, publishing to the lake too."""
    found: dict[str, Any] = {
        "lake": str(example / "build/lake"),
        "warehouse": f"duckdb:///{example / 'build/wh.duckdb'}",
        "lake_production": True,
    }
    if "postgresql" in request.param:
        found.update(request.getfixturevalue("pg_warehouse"))
    if "s3" in request.param:
        found["lake"] = request.getfixturevalue("s3_lake")
    return found


def run(example: Path, env: dict[str, Any]) -> PipelineResult:
    pipeline = load_pipeline(example / "shop.py")
    pipeline.environments["staging"] = environment_from("staging", env, "shop")
    return run_pipeline(pipeline, "staging")


def production(env: dict[str, Any], *, bookkeeping: bool = True) -> dict[str, list[tuple[Any, ...]]]:
    """Every production table's rows, every column (or all but the bookkeeping ones), sorted."""
    warehouse = open_warehouse(environment_from("staging", env, "shop"))
    try:
        found = {}
        for table in warehouse.tables(production=True):
            names = [n for n, _ in warehouse.columns(table, production=True)]
            if not bookkeeping:
                names = [n for n in names if n not in BOOKKEEPING]
            chosen = ", ".join(f'"{n}"' for n in names)
            rows = warehouse.execute(f"SELECT {chosen} FROM {warehouse.qualified(table, production=True)}")
            found[table] = sorted(rows, key=repr)
        return found
    finally:
        warehouse.close()


def lake_production(env: dict[str, Any]) -> dict[str, bytes]:
    """The lake's production pointer and the bytes of every file it names."""
    lake = Lake(env["lake"])
    pointer = lake.current()
    assert pointer is not None
    files = {table: lake.fs.cat_file(lake.production(table)) for table in pointer["tables"]}
    return {"pointer": repr(pointer).encode(), **files}


def add_orders(example: Path, *lines: str) -> None:
    with (example / "data" / "orders.csv").open("a") as handle:
        for line in lines:
            handle.write(line + "\n")


def test_good_data_is_promoted(example: Path, project: Path, env: dict[str, Any]) -> None:
    result = run(example, env)
    assert result.promoted
    tables = production(env, bookkeeping=False)
    assert sorted(tables) == list(TABLES)
    assert len(tables["orders"]) == 6
    assert {c: float(r) for c, _, r in tables["revenue_by_country"]} == {
        "GB": 120.5,
        "US": 304.9,
        "AT": 80.0,
    }
    lake = Lake(env["lake"])
    assert len(lake.partitions("orders")) == 1
    assert sorted(lake.current()["tables"]) == list(TABLES)  # type: ignore[index]
    # the raw partition is a content-hashed version in lineage, on a remote lake too
    landed = final_events(project, "shop.extract.orders")[-1]["outputs"][0]
    assert landed["facets"]["version"]["datasetVersion"].startswith("blake3:")
    assert landed["namespace"].startswith("s3://") == env["lake"].startswith("s3://")


def test_bad_data_is_blocked_and_production_unchanged(
    example: Path, project: Path, env: dict[str, Any]
) -> None:
    run(example, env)
    before, lake_before = production(env), lake_production(env)
    add_orders(
        example,
        "1007,2,99999.00,shipped,2026-12-02T09:00:00",
        "1008,9,10.00,lost,2026-12-02T10:00:00",
        "1008,1,11.00,placed,2026-12-02T10:05:00",
    )
    with pytest.raises(PipelineError) as caught:
        run(example, env)
    for check in ("unique(order_id)", "between(amount)", "accepted_values(status)", "relationship"):
        assert check in caught.value.message
    assert production(env) == before  # every column, the bookkeeping timestamps included
    assert lake_production(env) == lake_before  # the pointer and the bytes of every file
    checks = {c.check.label: c for s in caught.value.result.stages for c in s.checks}  # type: ignore[attr-defined]
    assert checks["unique(order_id)"].failures == 2
    assert {row["order_id"] for row in checks["unique(order_id)"].sample} == {1008}
    assert len(final_events(project, "shop.promote")) == 1  # the first run's only


def test_incremental_extract_takes_only_new_rows(example: Path, env: dict[str, Any]) -> None:
    run(example, env)
    add_orders(
        example, "1009,4,42.00,placed,2026-12-03T08:00:00", "1004,3,260.00,shipped,2026-12-03T09:00:00"
    )
    result = run(example, env)
    assert {s.name: s.rows for s in result.stages}["extract.orders"] == 2
    orders = {row[0]: row for row in production(env, bookkeeping=False)["orders"]}
    assert len(orders) == 7
    assert float(orders[1004][2]) == 260.0
    again = run(example, env)
    assert {s.name: s.rows for s in again.stages}["extract.orders"] == 0
    assert len(production(env)["orders"]) == 7


@pytest.mark.parametrize(
    ("pattern", "replacement", "message"),
    [
        (r'"country"', r'"tier": 1, "country"', r"new column tier \((BIGINT|bigint)\)"),
        (r'"name"', r'"full_name"', r"new column full_name .*; column name is gone"),
        (r'"customer_id": (\d+)', r'"customer_id": "c\1"', r"column customer_id changed type from"),
    ],
    ids=["new-column", "dropped-column", "type-change"],
)
def test_a_schema_changed_upstream_fails_the_load(
    example: Path, project: Path, env: dict[str, Any], pattern: str, replacement: str, message: str
) -> None:
    run(example, env)
    before, lake_before = production(env), lake_production(env)
    path = example / "data/customers.jsonl"
    path.write_text(re.sub(pattern, replacement, path.read_text()))
    with pytest.raises(PipelineError, match=message) as caught:
        run(example, env)
    assert "is unchanged" in caught.value.message
    assert final_events(project, "shop.load.customers")[-1]["eventType"] == "FAIL"
    assert production(env) == before
    assert lake_production(env) == lake_before


@pytest.mark.postgres
def test_quarantine_and_custom_checks_on_postgresql(project: Path, pg_warehouse: dict[str, str]) -> None:
    from threadline.pipeline import Pipeline, files
    from threadline.pipeline.checks import between, matches, not_null, rows, sql_check

    (project / "events.jsonl").write_text(
        '{"id": 1, "kind": "click", "value": 3}\n{"id": 2, "kind": "view", "value": -4}\n'
        '{"id": 3, "kind": "click", "value": null}\n{"id": 4, "kind": "view", "value": 8}\n'
    )
    env = {"lake": str(project / "lake"), **pg_warehouse}
    pipeline = Pipeline("events", environments={"staging": env})
    pipeline.base = project
    pipeline.extract("events", files("events.jsonl"))
    pipeline.validate(
        "events",
        not_null("value"),
        between("value", min=0),
        matches("kind", "cl|vi", severity="warn"),
        rows("small ids", lambda frame: frame["id"] < 4, severity="warn"),
        sql_check("no eights", "SELECT * FROM events WHERE value = 8", severity="warn"),
        quarantine=True,
    )
    result = run_pipeline(pipeline, "staging")
    assert result.promoted
    assert [r[0] for r in production(env, bookkeeping=False)["events"]] == [1, 4]
    statuses = {c.check.label: (c.status, c.failures) for s in result.stages for c in s.checks}
    assert statuses == {
        "not_null(value)": ("warned", 1),
        "between(value)": ("warned", 1),
        "matches(kind)": ("passed", 0),
        "small ids": ("warned", 1),
        "no eights": ("warned", 1),
    }
    with psycopg.connect(pg_warehouse["warehouse"]) as connection:
        moved = connection.execute(
            f'SELECT id, _failed_checks FROM "{pg_warehouse["staging_schema"]}".events_quarantine ORDER BY id'  # type: ignore[arg-type]
        ).fetchall()
    assert moved == [(2, "between(value)"), (3, "not_null(value)")]
