"""Every kind of check finds what it should (all failures at once, never the first only), and a
promotion that fails half-way leaves every production table as it was."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from threadline.errors import PipelineError
from threadline.pipeline import Environment, Pipeline, files, run_pipeline
from threadline.pipeline.checks import (
    accepted_values,
    between,
    columns,
    dtype,
    freshness,
    matches,
    not_null,
    row_count,
    unique,
)
from threadline.pipeline.config import environment_from
from threadline.pipeline.warehouse import open_warehouse


def env(project: Path) -> dict[str, dict[str, str]]:
    return {"staging": {"lake": str(project / "lake"), "warehouse": f"duckdb:///{project / 'wh.duckdb'}"}}


def test_every_check_kind_reports_all_its_failures(project: Path) -> None:
    now = time.time()
    pq.write_table(
        pa.table(
            {
                "id": [1, 2, 2, None],
                "email": ["a@x.org", "bad", "c@x.org", "d@x.org"],
                "size": ["S", "M", "XXL", "L"],
                "n": [1.0, 50.0, -3.0, 7.0],
                "seen": pa.array([datetime.fromtimestamp(now - age, UTC) for age in (10, 20, 30, 40)]),
            }
        ),
        project / "t.parquet",
    )
    pipeline = Pipeline("kinds", environments=env(project))
    pipeline.extract("t", files(str(project / "t.parquet")))
    pipeline.validate(
        "t",
        not_null("id"),
        unique("id"),
        matches("email", r"^[^@]+@[^@]+$"),
        accepted_values("size", ["S", "M", "L"]),
        between("n", min=0, max=10),
        dtype("n", "float64"),
        dtype("size", "int64", severity="warn"),
        columns("id", "missing_column"),
        row_count(min=10),
        freshness("seen", 1, severity="warn"),
    )
    with pytest.raises(PipelineError) as caught:
        run_pipeline(pipeline, "staging")
    found = {c.check.label: c for s in caught.value.result.stages for c in s.checks}  # type: ignore[attr-defined]
    failures = {label: (c.status, c.failures) for label, c in found.items()}
    assert failures == {
        "not_null(id)": ("failed", 1),
        "unique(id)": ("failed", 2),
        "matches(email)": ("failed", 1),
        "accepted_values(size)": ("failed", 1),
        "between(n)": ("failed", 2),
        "dtype(n)": ("passed", 0),
        "dtype(size)": ("warned", 1),
        "columns": ("failed", 1),
        "row_count": ("failed", 1),
        "freshness(seen)": ("warned", 1),
    }
    assert found["columns"].message == "missing columns: missing_column"
    assert found["row_count"].message == "4 rows, expected [10, ]"
    assert found["accepted_values(size)"].sample[0]["size"] == "XXL"
    assert sorted(r["n"] for r in found["between(n)"].sample) == [-3.0, 50.0]


def test_a_promotion_that_fails_half_way_changes_nothing(project: Path) -> None:
    environment = environment_from("staging", env(project)["staging"], "p")
    warehouse = open_warehouse(environment)
    try:
        for table, value in (("a", 1), ("b", 2)):
            warehouse.load(table, pa.table({"x": [value]}))
        warehouse.promote(["a", "b"])
        for table, value in (("a", 10), ("b", 20)):
            warehouse.load(table, pa.table({"x": [value]}))
        # something in the way of the second table's swap: the first one's must be undone too
        warehouse.execute("CREATE TABLE staging.b__v7 AS SELECT 1 AS x")
        with pytest.raises(PipelineError, match="rolled back, production is unchanged"):
            warehouse.promote(["a", "b"], "7")
        rows = {t: warehouse.execute(f"SELECT x FROM analytics.{t}") for t in "ab"}
        assert rows == {"a": [(1,)], "b": [(2,)]}
    finally:
        warehouse.close()
    with duckdb.connect(str(project / "wh.duckdb"), read_only=True) as c:
        assert c.execute("SELECT x FROM analytics.a").fetchall() == [(1,)]


def test_environment_mistakes_name_the_key() -> None:
    with pytest.raises(Exception, match=r"environments.staging.warehouse is missing"):
        Pipeline("p", environments={"staging": {"lake": "x"}})
    with pytest.raises(Exception, match=r"'mysql://h/db' is not a warehouse URL threadline loads into"):
        Pipeline("p", environments={"staging": {"lake": "x", "warehouse": "mysql://h/db"}})
    with pytest.raises(Exception, match=r"staging_schema and schema are both 'a'"):
        Pipeline("p", environments={"staging": Environment("x", "duckdb:///w.duckdb", "a", "a")})
