"""PostgreSQL's planner statistics are refreshed as the projections grow."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import text

from tests.projection.helpers import ds, run_event
from threadline.openlineage.events import parse_event
from threadline.projection import project_all
from threadline.store import open_store, sql

pytestmark = pytest.mark.postgres


def _analyzed(store: sql.SqlStore) -> set[str]:
    with store.read() as connection:
        rows = connection.execute(
            text(
                "SELECT relname FROM pg_stat_user_tables WHERE schemaname = current_schema() "
                "AND last_analyze IS NOT NULL"
            )
        )
        return {row[0] for row in rows}


def _append(store: sql.SqlStore, first: int, count: int) -> None:
    events = [
        parse_event(
            json.dumps(run_event("COMPLETE", n % 3000, n, job=f"job{n}", outputs=[ds(f"t{n}")])).encode()
        )
        for n in range(first, first + count)
    ]
    store.append(events)


def test_statistics_are_refreshed_once_the_projections_grow(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sql, "ANALYZE_MIN_GROWTH", 20)
    store = open_store(pg_url)
    try:
        _append(store, 0, 10)
        project_all(store)
        assert _analyzed(store) == set()  # 10 events: not yet
        _append(store, 10, 30)
        project_all(store, batch_size=15)
        assert {"events", "jobs", "datasets", "run_io", "job_io"} <= _analyzed(store)
    finally:
        store.close()


def test_sqlite_is_left_alone(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sql, "ANALYZE_MIN_GROWTH", 1)
    store = open_store(sqlite_url)
    try:
        assert store.note_folded(100) is False
    finally:
        store.close()


def test_a_large_store_that_never_had_statistics_gets_them_at_the_first_fold(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sql, "ANALYZE_MIN_GROWTH", 20)
    store = open_store(pg_url)
    try:
        _append(store, 0, 30)
        with store.write() as connection:  # as if folded by an earlier process, never analyzed
            store.set_log_mark(connection, 30)
        assert _analyzed(store) == set()
        _append(store, 30, 1)
        project_all(store)
        assert "events" in _analyzed(store)
    finally:
        store.close()
