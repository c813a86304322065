"""Looking rows up by many keys: ``IN (...)`` lists in batches, and SQL text for either backend.

Every reader that looks up a list of ids (a page of jobs, the frontier of a lineage walk, the runs of a
tree) sends them in batches of :data:`IN_BATCH`, through :func:`batches` (SQLAlchemy statements with an
``in_()`` or an expanding ``bindparam``) or :func:`fetch_in` (SQL text, for the few hot statements that
are written as text because building and compiling them each time would cost more than running them).

SQL text is written as a template (:func:`sql_text`): ``{p}`` for a parameter, ``{keys}`` for the
markers of an ``IN`` list, and ``{jobs}``, ``{run_io}``, … for the tables of :mod:`threadline.store.schema`
(:func:`~threadline.store.schema.sql_name`), so that no SQL text spells a backend's marker or a table
name itself.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from functools import lru_cache
from itertools import islice
from typing import Any, TypeVar

from sqlalchemy import Connection, func, literal

from threadline.store import schema

T = TypeVar("T")

#: Keys per ``IN (...)`` list. Bound by the smaller of the two backends' limits on parameters per
#: statement: SQLite's is 32,766 since 3.32, but 999 in older builds (and builds that keep the old
#: default); PostgreSQL's is 65,535. A statement here holds at most two lists of keys (a ``UNION ALL``
#: of two lookups) and a few other values, so 400 keeps every statement under 999. Larger lists save
#: little: at 400 keys a round trip costs a fraction of the rows it brings back.
IN_BATCH = 400


def batches(values: Iterable[T], size: int = IN_BATCH) -> Iterator[list[T]]:
    """``values`` in lists of at most ``size``, in order."""
    iterator = iter(values)
    while batch := list(islice(iterator, size)):
        yield batch


def marker(connection: Connection) -> str:
    """The DBAPI parameter marker of the connection's driver, for SQL text: ``%s`` (psycopg) or ``?``
    (sqlite3)."""
    return "%s" if connection.dialect.paramstyle in ("format", "pyformat") else "?"


@lru_cache(maxsize=512)
def _rendered(template: str, one: str, count: int, lists: tuple[tuple[str, int], ...]) -> str:
    named = {name: ", ".join([one] * size) for name, size in lists}
    return template.format(keys=", ".join([one] * count), p=one, **named, **schema.SQL_NAMES)


def sql_text(connection: Connection, template: str, count: int = 0, **lists: int) -> str:
    """The SQL text of ``template`` for this connection: every ``{p}`` one parameter marker, every
    ``{keys}`` ``count`` markers (and every ``{name}`` of ``lists`` as many markers as it says: a
    statement with two ``IN`` lists of different lengths), every ``{table}`` that table's name (a name
    schema.py does not define is a ``KeyError``). Rendered once per template, marker and counts."""
    return _rendered(template, marker(connection), count, tuple(sorted(lists.items())))


def fetch_in(
    connection: Connection,
    template: str,
    keys: Sequence[Any],
    params: Callable[[list[Any]], Sequence[Any]] = tuple,
    size: int = IN_BATCH,
) -> list[Any]:
    """The rows of the SQL text ``template`` (see :func:`sql_text`) for all of ``keys``: one statement
    per batch of keys, whose ``{keys}`` are the batch. ``params`` gives each statement's parameters from
    its batch, in the order of the markers (default: the batch alone)."""
    rows: list[Any] = []
    for batch in batches(keys, size):
        statement = sql_text(connection, template, len(batch))
        rows += connection.exec_driver_sql(statement, tuple(params(batch))).all()
    return rows


def like_pattern(query: str) -> str:
    """A ``LIKE`` pattern matching ``query`` anywhere (``%`` and ``_`` stay wildcards, as in Marquez's
    search; a backslash is itself, escaped for ``ESCAPE '\\'``). Use it through :func:`name_like`."""
    return "%" + query.replace("\\", "\\\\") + "%"


def name_like(column: Any, query: str) -> Any:
    """``column`` holds ``query`` anywhere, ignoring case: both sides lowered by the database itself,
    so that a name matches itself on every backend whatever its letters (PostgreSQL would take a
    backslash for an escape, SQLite lowers ASCII letters only)."""
    return func.lower(column).like(func.lower(literal(like_pattern(query))), escape="\\")
