"""Promotion copies nothing and is atomic: the warehouse swaps production tables in one transaction
(DuckDB: views over renamed, versioned tables; PostgreSQL: tables moved with SET SCHEMA), the lake
writes a new version and switches a pointer; a process killed (SIGKILL) at any point of a promotion
leaves production all old or all new."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from threadline.pipeline import Pipeline, files, promotion, run_pipeline
from threadline.pipeline.config import environment_from
from threadline.pipeline.lake import Lake
from threadline.pipeline.warehouse import PAUSE_ENV, open_warehouse

TABLES = ("a", "b")

ROOT = Path(__file__).resolve().parents[2]
#: The subprocess: :func:`promote`; PAUSE_ENV stops it at a point.
PROMOTE = (
    "import json, sys\n"
    f"sys.path.insert(0, {str(ROOT)!r})\n"
    "from tests.pipeline.test_promotion import promote\n"
    "promote(json.loads(sys.argv[1]), int(sys.argv[2]))\n"
)


def promote(env: dict[str, Any], gen: int) -> None:
    """Load generation ``gen`` of both tables and promote them as the runner does (the lake version
    written and journaled, the warehouse promoted, the lake's pointer switched)."""
    warehouse = open_warehouse(environment_from("staging", env, "p"))
    try:
        for table in TABLES:
            warehouse.load(table, pa.table({"x": [gen] * 3}))
        promotion.promote(warehouse, Lake(env["lake"]), list(TABLES), lake_production=True)
    finally:
        warehouse.close()


def recover(env: dict[str, Any]) -> str | None:
    """What the next run (or ``threadline pipeline status``) does first: finish or undo a promotion
    a killed process left."""
    warehouse = open_warehouse(environment_from("staging", env, "p"))
    try:
        return promotion.recover(warehouse, Lake(env["lake"]))
    finally:
        warehouse.close()


@pytest.fixture
def pg_schemas(pg_server: str) -> Iterator[tuple[str, str]]:
    """A fresh staging and production schema in the test database, dropped afterwards."""
    name = f"t{uuid.uuid4().hex[:10]}"
    yield f"{name}_staging", f"{name}_prod"
    with psycopg.connect(pg_server, autocommit=True) as connection:
        for schema in (f"{name}_staging", f"{name}_prod"):
            connection.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')  # type: ignore[arg-type]


def environment(project: Path, backend: str, request: pytest.FixtureRequest) -> dict[str, Any]:
    env: dict[str, Any] = {"lake": str(project / "lake"), "lake_production": True}
    if backend == "duckdb":
        env["warehouse"] = f"duckdb:///{project / 'wh.duckdb'}"
    else:
        staging, production = request.getfixturevalue("pg_schemas")
        env.update(warehouse=request.getfixturevalue("pg_server"), staging_schema=staging, schema=production)
    return env


def promote_and_kill(env: dict[str, Any], gen: int, pause: str) -> None:
    """Promote generation ``gen`` in a subprocess and SIGKILL it once it stops at ``pause``."""
    process_env = {k: v for k, v in os.environ.items() if k != PAUSE_ENV}
    process_env[PAUSE_ENV] = pause
    process = subprocess.Popen(
        [sys.executable, "-c", PROMOTE, json.dumps(env), str(gen)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=process_env,
    )
    assert process.stdout is not None
    line = process.stdout.readline().strip()  # blocks until it pauses (or fails)
    assert line == f"paused at {pause}", process.communicate(timeout=60)
    process.send_signal(signal.SIGKILL)
    assert process.wait(timeout=60) == -signal.SIGKILL


def warehouse_generation(env: dict[str, Any]) -> set[tuple[str, int]]:
    """Each production table's generation (its rows all hold it)."""
    warehouse = open_warehouse(environment_from("staging", env, "p"))
    try:
        return {
            (t, int(x))
            for t in TABLES
            for (x,) in warehouse.execute(f"SELECT DISTINCT x FROM {warehouse.qualified(t, production=True)}")
        }
    finally:
        warehouse.close()


def lake_generation(env: dict[str, Any]) -> set[tuple[str, int]]:
    """Each lake production table's generation, read through the pointer."""
    lake = Lake(env["lake"])
    found = set()
    for table in TABLES:
        path = lake.production(table)
        assert path is not None
        found |= {(table, x) for x in set(pq.read_table(path)["x"].to_pylist())}
    return found


def both(gen: int) -> set[tuple[str, int]]:
    return {(t, gen) for t in TABLES}


@pytest.mark.parametrize("backend", ["duckdb", pytest.param("postgresql", marks=pytest.mark.postgres)])
@pytest.mark.parametrize(
    ("pause", "warehouse_gen", "lake_gen", "recovered"),
    [
        ("lake:written", 1, 1, None),  # no journal yet: nothing to recover, the files are unused
        ("promote:journaled", 1, 1, "rolled back"),
        ("promote:begin", 1, 1, "rolled back"),
        ("promote:swapped:a", 1, 1, "rolled back"),  # one table swapped in the open transaction
        # the kill window: the warehouse committed, the lake's pointer not yet switched
        ("promote:committed", 2, 1, "completed"),
        ("lake:pointer-written", 2, 1, "completed"),  # the new pointer under a temporary name
        ("lake:switched", 2, 2, "completed"),  # only the journal was left
    ],
)
def test_a_promotion_killed_at_any_point_is_completed_or_rolled_back(
    project: Path,
    backend: str,
    pause: str,
    warehouse_gen: int,
    lake_gen: int,
    recovered: str | None,
    request: pytest.FixtureRequest,
) -> None:
    env = environment(project, backend, request)
    promote(env, 1)
    assert warehouse_generation(env) == both(1)
    promote_and_kill(env, 2, pause)
    # the warehouse is all old or all new; so is the lake
    assert warehouse_generation(env) == both(warehouse_gen)
    assert lake_generation(env) == both(lake_gen)
    # and the next look (a run, `pipeline status`) makes them agree, and leaves no journal
    said = recover(env)
    assert (said or "").startswith(recovered or ""), said
    assert (said is None) == (recovered is None)
    assert warehouse_generation(env) == both(warehouse_gen)
    assert lake_generation(env) == both(warehouse_gen)
    assert promotion.read_journal(Lake(env["lake"])) is None
    pointer = Lake(env["lake"]).current()
    assert pointer is not None
    versions = {p.name for p in (project / "lake/production").iterdir() if p.name.startswith("v=")}
    assert f"v={pointer['version']}" in versions
    # and the next promotion goes through
    promote(env, 3)
    assert warehouse_generation(env) == both(3)
    assert lake_generation(env) == both(3)


def test_duckdb_production_is_a_view_of_the_renamed_staging_table(project: Path) -> None:
    env = environment_from("staging", {"lake": "l", "warehouse": f"duckdb:///{project / 'w.duckdb'}"}, "p")
    warehouse = open_warehouse(env)
    try:
        warehouse.load("t", pa.table({"x": list(range(1000))}))
        warehouse.promote(["t"], "1")
        assert warehouse.kind("t", production=True) == "VIEW"
        assert warehouse.tables() == ["t__v1"]  # renamed, not copied: staging's t is gone
        warehouse.load("t", pa.table({"x": [7]}))
        warehouse.promote(["t"], "2")
        assert warehouse.tables() == ["t__v2"]  # the version production read before is dropped
        assert warehouse.execute("SELECT x FROM analytics.t") == [(7,)]
        # a table promoted before views were used (a base table) is replaced too
        warehouse.execute("DROP VIEW analytics.t")
        warehouse.execute("CREATE TABLE analytics.t AS SELECT 1::BIGINT AS x")
        warehouse.load("t", pa.table({"x": [8]}))
        warehouse.promote(["t"], "3")
        assert warehouse.execute("SELECT x FROM analytics.t") == [(8,)]
    finally:
        warehouse.close()


def test_the_lake_keeps_the_current_and_previous_versions(project: Path) -> None:
    lake = Lake(str(project / "lake"))
    assert lake.current() is None
    assert lake.production("t") is None
    for version in ("1", "2", "3"):
        lake.switch(lake.write_version(version, {"t": pa.table({"x": [int(version)]})}))
    pointer = lake.current()
    assert pointer is not None
    assert (pointer["version"], pointer["tables"]) == ("3", {"t": "v=3/t.parquet"})
    assert sorted(p.name for p in (project / "lake/production").iterdir()) == ["CURRENT.json", "v=2", "v=3"]
    assert pq.read_table(lake.production("t"))["x"].to_pylist() == [3]


def test_a_pipeline_publishes_its_production_tables_to_the_lake(project: Path) -> None:
    pq.write_table(pa.table({"id": [1, 2, 3]}), project / "t.parquet")
    environments = {
        "staging": {
            "lake": str(project / "lake"),
            "warehouse": f"duckdb:///{project / 'wh.duckdb'}",
            "lake_production": True,
        }
    }
    pipeline = Pipeline("pub", environments=environments)
    pipeline.extract("t", files(str(project / "t.parquet")))
    pipeline.transform("doubled", sql="SELECT id * 2 AS id2 FROM t")
    run_pipeline(pipeline, "staging")
    lake = Lake(str(project / "lake"))
    pointer = lake.current()
    assert pointer is not None
    assert set(pointer["tables"]) == {"t", "doubled"}
    assert sorted(pq.read_table(lake.production("doubled"))["id2"].to_pylist()) == [2, 4, 6]


def test_pipeline_status_completes_a_promotion_killed_between_warehouse_and_lake(project: Path) -> None:
    from typer.testing import CliRunner

    from threadline.cli.main import app

    env = environment(project, "duckdb", None)  # type: ignore[arg-type]
    pq.write_table(pa.table({"id": [1, 2, 3]}), project / "t.parquet")
    pipeline = Pipeline("pub", environments={"staging": env})
    pipeline.extract("t", files(str(project / "t.parquet")))
    run_id = run_pipeline(pipeline, "staging").run_id
    assert run_id is not None
    promote_and_kill(env, 2, "promote:committed")  # the warehouse has generation 2, the lake not
    assert warehouse_generation(env) == both(2)
    assert promotion.read_journal(Lake(env["lake"])) is not None
    from threadline.tracking import tracker

    tracker.flush()
    result = CliRunner().invoke(app, ["pipeline", "status", run_id[:8]])
    assert result.exit_code == 0, result.output
    assert "completed the interrupted promotion" in result.stderr
    assert lake_generation(env) == both(2)
    assert promotion.read_journal(Lake(env["lake"])) is None
    again = CliRunner().invoke(app, ["pipeline", "status", run_id[:8]])
    assert "interrupted" not in again.stderr
