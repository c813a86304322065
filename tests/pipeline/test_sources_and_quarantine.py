"""A SQL source (SQLite through SQLAlchemy), incremental; JSON lines and Parquet files; quarantine of
failing rows; a custom Python and SQL check; the declared warn severity."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from threadline.errors import PipelineError
from threadline.pipeline import Pipeline, files, run_pipeline, sql
from threadline.pipeline.checks import between, not_null, rows, sql_check, unique


def shop_db(path: Path, *rows_: tuple[int, str, float, str]) -> None:
    with sqlite3.connect(path) as db:
        db.execute(
            "CREATE TABLE IF NOT EXISTS payments (id INTEGER, method TEXT, amount REAL, updated_at TEXT)"
        )
        db.executemany("INSERT INTO payments VALUES (?, ?, ?, ?)", rows_)


def environments(project: Path) -> dict[str, dict[str, str]]:
    return {"staging": {"lake": str(project / "lake"), "warehouse": f"duckdb:///{project / 'wh.duckdb'}"}}


def analytics(project: Path, table: str) -> list[tuple[object, ...]]:
    with duckdb.connect(str(project / "wh.duckdb"), read_only=True) as c:
        return sorted(
            c.execute(f"SELECT * EXCLUDE (_created_at, _updated_at) FROM analytics.{table}").fetchall()
        )


def test_sql_source_incremental(project: Path) -> None:
    db = project / "shop.db"
    shop_db(db, (1, "card", 10.0, "2026-12-01"), (2, "cash", 5.0, "2026-12-01"))
    pipeline = Pipeline("pay", environments=environments(project))
    pipeline.base = project
    pipeline.extract(
        "payments", sql("sqlite:///shop.db", table="payments"), primary_key="id", cursor="updated_at"
    )
    pipeline.validate("payments", not_null("id"), unique("id"), between("amount", min=0))
    first = run_pipeline(pipeline, "staging")
    assert first.promoted
    assert len(analytics(project, "payments")) == 2
    shop_db(db, (3, "card", 7.5, "2026-12-02"), (1, "card", 12.0, "2026-12-02"))
    second = run_pipeline(pipeline, "staging")
    assert {s.name: s.rows for s in second.stages}["extract.payments"] == 2
    assert analytics(project, "payments") == [
        (1, "card", 12.0, "2026-12-02"),
        (2, "cash", 5.0, "2026-12-01"),
        (3, "card", 7.5, "2026-12-02"),
    ]
    # nothing new: an empty result (which has no column types) changes nothing
    third = run_pipeline(pipeline, "staging")
    assert {s.name: s.rows for s in third.stages}["extract.payments"] == 0
    assert len(analytics(project, "payments")) == 3


def test_a_sql_source_that_is_down(project: Path) -> None:
    pipeline = Pipeline("pay", environments=environments(project))
    pipeline.extract("payments", sql("sqlite:////nonexistent/dir/shop.db", table="payments"))
    with pytest.raises(PipelineError, match="cannot read the SQL source"):
        run_pipeline(pipeline, "staging")


def test_quarantine_moves_failing_rows_and_promotes_the_rest(project: Path) -> None:
    (project / "events.jsonl").write_text(
        '{"id": 1, "kind": "click", "value": 3}\n{"id": 2, "kind": "view", "value": -4}\n'
        '{"id": 3, "kind": "click", "value": null}\n{"id": 4, "kind": "view", "value": 8}\n'
    )
    pipeline = Pipeline("events", environments=environments(project))
    pipeline.base = project
    pipeline.extract("events", files("events.jsonl"))
    pipeline.validate("events", not_null("value"), between("value", min=0), quarantine=True)
    result = run_pipeline(pipeline, "staging")
    assert result.promoted
    assert [r[0] for r in analytics(project, "events")] == [1, 4]
    with duckdb.connect(str(project / "wh.duckdb"), read_only=True) as c:
        moved = c.execute("SELECT id, _failed_checks FROM staging.events_quarantine ORDER BY id").fetchall()
    assert moved == [(2, "between(value)"), (3, "not_null(value)")]
    statuses = {c.check.label: (c.status, c.quarantined) for s in result.stages for c in s.checks}
    assert statuses == {"not_null(value)": ("warned", 1), "between(value)": ("warned", 1)}


def test_custom_checks_and_warn_severity(project: Path) -> None:
    pq.write_table(pa.table({"id": [1, 2, 3], "a": [1, 2, 3], "b": [1, 5, 3]}), project / "t.parquet")
    pipeline = Pipeline("custom", environments=environments(project))
    pipeline.base = project
    pipeline.extract("t", files("t.parquet"))
    pipeline.validate(
        "t",
        rows("a_equals_b", lambda frame: frame["a"] == frame["b"], severity="warn"),
        sql_check("no_big_b", "SELECT * FROM t WHERE b > 4", severity="warn"),
    )
    result = run_pipeline(pipeline, "staging")
    assert result.promoted  # warnings do not block
    checks = {c.check.label: c for s in result.stages for c in s.checks}
    assert checks["a_equals_b"].status == "warned"
    assert checks["a_equals_b"].sample[0]["id"] == 2
    assert checks["no_big_b"].failures == 1
    pipeline.validate("t", sql_check("no_big_b_error", "SELECT * FROM t WHERE b > 4"))
    with pytest.raises(PipelineError, match=r"no_big_b_error \(1 row returned\)"):
        run_pipeline(pipeline, "staging")


def test_python_transform(project: Path) -> None:
    pq.write_table(pa.table({"id": [1, 2], "x": [2.0, 3.0]}), project / "t.parquet")
    pipeline = Pipeline("py", environments=environments(project))
    pipeline.base = project
    pipeline.extract("t", files("t.parquet"))

    @pipeline.transform("squared")
    def squared(t):  # type: ignore[no-untyped-def]
        return t.assign(x2=t["x"] ** 2)[["id", "x2"]]

    pipeline.validate("squared", between("x2", min=0, max=10))
    assert run_pipeline(pipeline, "staging").promoted
    with duckdb.connect(str(project / "wh.duckdb"), read_only=True) as c:
        assert c.execute("SELECT * FROM analytics.squared ORDER BY id").fetchall() == [(1, 4.0), (2, 9.0)]
