"""Lookups by many keys (``IN`` lists in batches) and SQL text templates, on both backends."""

from __future__ import annotations

import pytest
from sqlalchemy import insert

from threadline.store import schema
from threadline.store.lookups import IN_BATCH, batches, fetch_in, marker, sql_text


def test_batches_keep_order_and_size() -> None:
    assert list(batches(range(7), 3)) == [[0, 1, 2], [3, 4, 5], [6]]
    assert list(batches([], 3)) == []
    assert [len(b) for b in batches(iter(range(2 * IN_BATCH + 1)))] == [IN_BATCH, IN_BATCH, 1]


def test_sql_text_names_tables_and_markers(store) -> None:
    with store.read() as connection:
        one = marker(connection)
        text = sql_text(connection, "SELECT id FROM {jobs} WHERE id IN ({keys}) AND name = {p}", 3)
        two_lists = sql_text(
            connection, "SELECT 1 FROM {events} WHERE a IN ({times}) AND b IN ({keys})", 1, times=2
        )
        with pytest.raises(KeyError):
            sql_text(connection, "SELECT 1 FROM {no_such_table}")
    assert one == ("%s" if store.backend == "postgresql" else "?")
    assert text == f'SELECT id FROM "jobs" WHERE id IN ({one}, {one}, {one}) AND name = {one}'
    assert two_lists == f'SELECT 1 FROM "events" WHERE a IN ({one}, {one}) AND b IN ({one})'


def test_fetch_in_reads_every_key_past_one_batch(store) -> None:
    count = 2 * IN_BATCH + 7
    rows = [
        {"id": i, "namespace": "ns", "name": f"job{i}", "created_at": 1, "updated_at": 1}
        for i in range(1, count + 1)
    ]
    with store.write() as connection:
        connection.execute(insert(schema.jobs), rows)
    wanted = [*range(1, count + 1), 10**9]  # and one that is not there
    with store.read() as connection:
        found = fetch_in(connection, "SELECT id, name FROM {jobs} WHERE id IN ({keys})", wanted)
        named = fetch_in(
            connection,
            "SELECT id FROM {jobs} WHERE id IN ({keys}) AND name <> {p}",
            wanted,
            lambda batch: (*batch, "job5"),
        )
    assert sorted(row[0] for row in found) == list(range(1, count + 1))
    assert {row[0] for row in named} == set(range(1, count + 1)) - {5}
