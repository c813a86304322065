"""Loading into a PostgreSQL warehouse (127.0.0.1:5432, a fresh pair of schemas per test): the batch
goes through ``COPY … (FORMAT csv)`` rendered by Arrow, and every value comes back as it went in
(nulls apart from empty strings, quotes and newlines, NaN and infinities, time zones, bytes, JSON);
merge on a primary key replaces the matched rows, adds the new ones and keeps the others, with their
``_created_at``."""

from __future__ import annotations

import datetime as dt
import decimal
import math
import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pyarrow as pa
import pytest

from threadline.pipeline.config import environment_from
from threadline.pipeline.postgres import PostgresWarehouse, _csv_ready
from threadline.pipeline.warehouse import open_warehouse

pytestmark = pytest.mark.postgres

UTC = dt.UTC


@pytest.fixture
def warehouse(pg_server: str) -> Iterator[PostgresWarehouse]:
    """A PostgreSQL warehouse on a fresh pair of schemas (dropped afterwards)."""
    name = f"load_{uuid.uuid4().hex[:10]}"
    env = environment_from(
        "staging",
        {"lake": "/nowhere", "warehouse": pg_server, "staging_schema": f"{name}_stg", "schema": name},
        "t",
    )
    found = open_warehouse(env)
    assert isinstance(found, PostgresWarehouse)
    yield found
    found.close()
    with psycopg.connect(pg_server, autocommit=True) as connection:
        for schema in (f"{name}_stg", name):
            connection.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')  # type: ignore[arg-type]


def rows(warehouse: PostgresWarehouse, table: str, columns: str, *, production: bool = False) -> list[Any]:
    return warehouse.execute(
        f"SELECT {columns} FROM {warehouse.qualified(table, production=production)} ORDER BY id"
    )


def test_every_value_comes_back_as_it_went_in(warehouse: PostgresWarehouse) -> None:
    when = dt.datetime(2026, 12, 5, 9, 30, 1, 123456)
    batch = pa.table(
        {
            "id": pa.array([1, 2, 3, 4], pa.int64()),
            "text": pa.array(["plain", "", None, 'a "quoted", comma\nand a newline \\N']),
            "small": pa.array([1, None, -3, 4], pa.int16()),
            "real": pa.array([1.5, float("nan"), float("inf"), None]),
            "flag": pa.array([True, False, None, True]),
            "naive": pa.array([when, None, when, when], pa.timestamp("us")),
            "aware": pa.array([when.replace(tzinfo=UTC)] * 3 + [None], pa.timestamp("us", tz="Europe/Paris")),
            "day": pa.array([dt.date(2026, 12, 5), None, dt.date(1999, 1, 31), dt.date(2026, 1, 1)]),
            "price": pa.array([decimal.Decimal(v) if v else None for v in ("1.23", "", "-0.50", "0")]),
            "blob": pa.array([b"\x00\xff", b"", None, b"abc"]),
            "tags": pa.array([["a", "b"], [], None, ["c"]]),
            "kind": pa.array(["x", "y", None, "x"]).dictionary_encode(),
        }
    )
    assert _csv_ready(batch, warehouse._batch_types(batch)) is not None  # the fast path, not row by row
    assert warehouse.load("things", batch) == 4
    got = rows(warehouse, "things", "text, small, real, flag, naive, aware, day, price, blob, tags, kind")
    assert [r[0] for r in got] == ["plain", "", None, 'a "quoted", comma\nand a newline \\N']
    assert [r[1] for r in got] == [1, None, -3, 4]
    assert got[0][2] == 1.5
    assert math.isnan(got[1][2])
    assert got[2][2] == math.inf
    assert got[3][2] is None
    assert [r[3] for r in got] == [True, False, None, True]
    assert [r[4] for r in got] == [when, None, when, when]
    assert [r[5] for r in got] == [when.replace(tzinfo=UTC)] * 3 + [None]
    assert [r[6] for r in got] == [dt.date(2026, 12, 5), None, dt.date(1999, 1, 31), dt.date(2026, 1, 1)]
    assert [r[7] for r in got] == [decimal.Decimal("1.23"), None, decimal.Decimal("-0.50"), 0]
    assert [None if r[8] is None else bytes(r[8]) for r in got] == [b"\x00\xff", b"", None, b"abc"]
    assert [r[9] for r in got] == [["a", "b"], [], None, ["c"]]
    assert [r[10] for r in got] == ["x", "y", None, "x"]


def test_merge_on_the_primary_key_is_exact(warehouse: PostgresWarehouse) -> None:
    first = pa.table({"id": [1, 2, 3], "amount": [10.0, 20.0, 30.0], "note": ["a", "b", "c"]})
    warehouse.load("orders", first, mode="merge", primary_key=["id"])
    warehouse.promote(["orders"])
    created = dict(rows(warehouse, "orders", "id, _created_at", production=True))
    second = pa.table({"id": [2, 4], "amount": [21.0, 40.0], "note": ["b2", None]})
    assert warehouse.load("orders", second, mode="merge", primary_key=["id"]) == 4
    got = rows(warehouse, "orders", "id, amount, note, _created_at, _updated_at")
    assert [(i, a, n) for i, a, n, _, _ in got] == [
        (1, 10.0, "a"),
        (2, 21.0, "b2"),
        (3, 30.0, "c"),
        (4, 40.0, None),
    ]
    stamps = {i: (c, u) for i, _, _, c, u in got}
    assert stamps[1][0] == created[1]  # untouched rows as they were
    assert stamps[3][0] == created[3]
    assert stamps[2][0] == created[2]  # a replaced row keeps when it was first created
    assert stamps[2][1] > created[2]  # and says when it was updated
    assert stamps[4][0] == stamps[4][1] > created[1]  # a new row


def test_merge_matches_null_keys_and_agrees_with_duckdb(warehouse: PostgresWarehouse, tmp_path: Any) -> None:
    """Keys match as ``IS NOT DISTINCT FROM`` (a NULL part matches a NULL part), and duplicate rows
    of the batch are loaded once: the same rows as DuckDB's merge."""
    duck = open_warehouse(
        environment_from(
            "staging", {"lake": "/nowhere", "warehouse": f"duckdb:///{tmp_path / 'w.duckdb'}"}, "t"
        )
    )
    first = pa.table({"id": [1, 1, 2, None], "region": ["eu", None, None, "us"], "v": [1, 2, 3, 4]})
    second = pa.table(
        {"id": [1, 2, None, 5, 5], "region": [None, "eu", "us", None, None], "v": [20, 30, 40, 50, 50]}
    )
    found = []
    try:
        for target in (warehouse, duck):
            target.load("t", first, mode="merge", primary_key=["id", "region"])
            target.promote(["t"], "1")
            assert target.load("t", second, mode="merge", primary_key=["id", "region"]) == 6
            found.append(
                sorted(target.execute(f"SELECT id, region, v FROM {target.qualified('t')}"), key=repr)
            )
    finally:
        duck.close()
    assert (
        found[0]
        == found[1]
        == sorted(
            [(1, "eu", 1), (1, None, 20), (2, None, 3), (None, "us", 40), (2, "eu", 30), (5, None, 50)],
            key=repr,
        )
    )
