"""Writing many rows at once, the fast way for each backend.

A statement per row would cost a round trip each on PostgreSQL and, on SQLite, a release and
re-acquisition of the GIL each (``executemany`` steps every row separately), which stalls a writer
thread behind the event loop. So:

* SQLite gets multi-row ``INSERT … VALUES (…), (…), …`` statements, in chunks whose sizes are powers of
  two, so that only a few distinct statements exist and its statement cache keeps them prepared;
* PostgreSQL gets one statement for any number of rows: one array per column, ``unnest``-ed into rows,
  sent as binary parameters (psycopg would otherwise parse a long statement and escape every array
  element in Python).

Both take an optional ``ON CONFLICT …`` clause, the same text on both backends. Rows must not repeat a
key that the clause updates (PostgreSQL refuses to update one row twice in a statement).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from itertools import chain
from typing import Any

from sqlalchemy import Connection, Table
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import DBAPIError

#: Most rows in one SQLite statement (13 columns x 256 rows stays far below its 32,766 parameters).
ROWS_PER_STATEMENT = 256


def chunk_sizes(count: int, largest: int = ROWS_PER_STATEMENT) -> list[int]:
    """Split ``count`` rows into chunks of ``largest`` rows, then powers of two for the remainder."""
    sizes = [largest] * (count // largest)
    remainder = count % largest
    size = largest
    while remainder:
        size //= 2
        if remainder >= size:
            sizes.append(size)
            remainder -= size
    return sizes


def _quote(name: str) -> str:
    return f'"{name}"'


@cache
def _pg_array_types(table: Table, columns: tuple[str, ...]) -> str:
    dialect = postgresql.dialect()
    return ", ".join(f"%b::{table.c[c].type.compile(dialect=dialect)}[]" for c in columns)


def insert_rows(
    connection: Connection,
    table: Table,
    columns: tuple[str, ...],
    rows: Sequence[tuple[Any, ...]],
    conflict: str = "",
) -> list[tuple[Any, ...]]:
    """Insert ``rows`` (values in the order of ``columns``) into ``table``, with ``conflict`` appended.

    On PostgreSQL ``conflict`` may end in ``RETURNING …``; the rows it returns are returned (on SQLite
    nothing is: fetching rows there steps the statement once per row, which is what this avoids).
    """
    if not rows:
        return []
    names = ", ".join(_quote(c) for c in columns)
    head = f"INSERT INTO {_quote(table.name)} ({names}) "
    if connection.dialect.name == "postgresql":
        arrays = [list(column) for column in zip(*rows, strict=True)]
        sql = f"{head}SELECT * FROM unnest({_pg_array_types(table, columns)}){conflict}"
        driver_error = connection.dialect.loaded_dbapi.Error
        try:
            driver = connection.connection.driver_connection
            assert driver is not None  # an open connection has its driver's
            with driver.cursor() as cursor:
                cursor.execute(sql, arrays)
                return cursor.fetchall() if cursor.description else []
        except driver_error as exc:  # as SQLAlchemy would raise it, for the callers' handlers
            raise DBAPIError.instance(sql, None, exc, driver_error) from exc
    row_marks = "(" + ", ".join(["?"] * len(columns)) + ")"
    start = 0
    for size in chunk_sizes(len(rows)):
        chunk = rows[start : start + size]
        start += size
        sql = f"{head}VALUES {', '.join([row_marks] * size)}{conflict}"
        connection.exec_driver_sql(sql, tuple(chain.from_iterable(chunk)))
    return []
