"""The warehouse: DuckDB (embedded, the default) or PostgreSQL. Tables are loaded into the
environment's staging schema, audited there, and promoted into the production schema in one
transaction that copies no data (see :meth:`Warehouse.promote`).

Every loaded table gets two bookkeeping columns, ``_created_at`` (when the row first entered the
table) and ``_updated_at`` (when a load last wrote it); they are underscored because sources commonly
carry their own ``created_at``/``updated_at`` (often the incremental cursor), which stay untouched.

Modes: ``replace`` (the table is the new batch), ``append`` (production's rows and the batch) and
``merge`` (given a primary key: production's rows, with the batch's rows replacing those of the same
key; rows that are exact duplicates within the batch count once). Rows of one key that differ within a
batch are kept, so a ``unique`` check sees them and blocks the promotion.

This module holds the SQL both engines share and DuckDB's connection; ``postgres.py`` holds
PostgreSQL's. :func:`open_warehouse` picks one from the environment's URL.
"""

from __future__ import annotations

import os
import re
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from threadline.errors import PipelineError

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

    from threadline.pipeline.config import Environment

#: The bookkeeping columns added to every loaded table.
BOOKKEEPING = ("_created_at", "_updated_at")
MODES = ("replace", "append", "merge")
#: The name under which a batch being loaded is visible to the load's SQL.
BATCH = "__threadline_batch"
#: A test hook: the name of a point (``promote:begin``, ``promote:swapped:TABLE``,
#: ``promote:committed``, ``lake:written``, ``lake:pointer-written``, ``lake:switched``) at which the
#: process stops (prints ``paused at POINT`` and sleeps), so that a test can kill it there.
PAUSE_ENV = "THREADLINE_PIPELINE_PAUSE_AT"


def pause_point(name: str) -> None:
    """Stop here for good when :data:`PAUSE_ENV` names this point (the kill-during-promotion tests)."""
    if os.environ.get(PAUSE_ENV) == name:
        sys.stdout.write(f"paused at {name}\n")
        sys.stdout.flush()
        time.sleep(3600)


def quote(name: str) -> str:
    """A SQL identifier, quoted."""
    return '"' + name.replace('"', '""') + '"'


def version_stamp() -> str:
    """A new production version: digits that grow with time (table names take them as they are)."""
    return str(time.time_ns())


def open_warehouse(env: Environment) -> Warehouse:
    """The warehouse of ``env``: DuckDB for ``duckdb://`` URLs, PostgreSQL for ``postgresql://``."""
    scheme = env.warehouse.partition("://")[0].split("+")[0]
    if scheme in ("postgresql", "postgres"):
        from threadline.pipeline.postgres import PostgresWarehouse

        return PostgresWarehouse(env)
    return DuckDBWarehouse(env)


class Warehouse:
    """One connection to an environment's warehouse. Subclasses supply the connection and the few
    statements that differ between engines; the SQL here runs on both."""

    #: The exceptions the engine's driver raises.
    errors: tuple[type[BaseException], ...] = ()
    #: An expression naming a row of a table while a stage runs (DuckDB's ``rowid``, PostgreSQL's ``ctid``).
    rowid = "rowid"

    def __init__(self, env: Environment) -> None:
        self.env = env
        self.staging = env.staging_schema
        self.production = env.schema

    # ---- what an engine supplies ------------------------------------------------------------------

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> list[tuple[Any, ...]]:
        """Run ``sql`` (``?`` placeholders) and return its rows (none for a statement)."""
        raise NotImplementedError

    def _frame(self, sql: str, params: Sequence[Any] | None = None) -> pd.DataFrame:
        raise NotImplementedError

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """A transaction: committed when the block ends, rolled back when it raises."""
        raise NotImplementedError
        yield  # pragma: no cover

    def _set_search_path(self, schemas: Sequence[str] | None) -> None:
        raise NotImplementedError

    def _stage_batch(self, batch: pa.Table) -> None:
        """Make ``batch`` readable as :data:`BATCH` until :meth:`_unstage_batch`."""
        raise NotImplementedError

    def _unstage_batch(self) -> None:
        raise NotImplementedError

    def _batch_types(self, batch: pa.Table) -> dict[str, str]:
        """The column types ``batch`` would have in a table of this warehouse, as
        ``information_schema.columns.data_type`` names them."""
        raise NotImplementedError

    def _replace_table_as(self, target: str, select: str, params: Sequence[Any] | None = None) -> None:
        raise NotImplementedError

    def regex_mismatch(self, column: str, pattern: str) -> str:
        """A predicate true when the quoted ``column`` does not match ``pattern`` at its start (as
        Python's ``re.match``)."""
        raise NotImplementedError

    def promote(self, tables: Sequence[str], version: str | None = None) -> None:
        """Make the staging tables ``tables`` the production ones in one transaction, without copying
        them: readers see every old table or every new one, never a mix, also when the process dies
        half-way. The staging tables are gone afterwards (the next run loads them again)."""
        raise NotImplementedError

    def has_version(self, tables: Sequence[str], version: str) -> bool:
        """Whether the promotion ``version`` of ``tables`` committed (``promotion.recover`` asks)."""
        raise NotImplementedError

    def uri(self, table: str, *, production: bool = False) -> str:
        """The table's dataset name in lineage."""
        raise NotImplementedError

    def close(self) -> None:
        """Close the connection."""
        raise NotImplementedError

    # ---- names and reads ------------------------------------------------------------------------

    def qualified(self, table: str, *, production: bool = False) -> str:
        """``schema.table``, quoted."""
        return f"{quote(self.production if production else self.staging)}.{quote(table)}"

    def kind(self, table: str, *, production: bool = False) -> str | None:
        """``BASE TABLE``, ``VIEW`` or ``None`` when there is no such table."""
        schema = self.production if production else self.staging
        row = self.execute(
            "SELECT table_type FROM information_schema.tables WHERE table_schema = ? AND table_name = ?",
            [schema, table],
        )
        return str(row[0][0]) if row else None

    def exists(self, table: str, *, production: bool = False) -> bool:
        """Whether the table (or view) exists."""
        return self.kind(table, production=production) is not None

    def columns(self, table: str, *, production: bool = False) -> list[tuple[str, str]]:
        """``(name, type)`` of the table's columns, in order."""
        schema = self.production if production else self.staging
        return [
            (str(name), str(kind))
            for name, kind in self.execute(
                "SELECT column_name, data_type FROM information_schema.columns "
                "WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position",
                [schema, table],
            )
        ]

    def tables(self, *, production: bool = False) -> list[str]:
        """The tables of the staging (or production) schema."""
        schema = self.production if production else self.staging
        return [
            str(row[0])
            for row in self.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = ? ORDER BY 1",
                [schema],
            )
        ]

    def count(self, table: str, *, production: bool = False) -> int:
        """The table's row count."""
        found = self.execute(f"SELECT count(*) FROM {self.qualified(table, production=production)}")
        return int(found[0][0]) if found else 0

    def frame(self, table: str, columns: Sequence[str] | None = None) -> pd.DataFrame:
        """The staging table (or only its ``columns``) as a pandas DataFrame indexed by row id."""
        chosen = "*" if columns is None else ", ".join(quote(c) for c in columns)
        frame = self._frame(f"SELECT {self.rowid} AS __rowid, {chosen} FROM {self.qualified(table)}")
        return frame.set_index("__rowid").rename_axis(None)

    def rows(self, table: str, rowids: Sequence[Any]) -> pd.DataFrame:
        """The staging table's rows of these row ids (see :meth:`frame`), every column."""
        ids = list(rowids)
        if not ids:
            return self._frame(f"SELECT * FROM {self.qualified(table)} LIMIT 0")
        return self._frame(
            f"SELECT * FROM {self.qualified(table)} WHERE {self._rowid_in(len(ids))} ORDER BY {self.rowid}",
            ids,
        )

    def _rowid_in(self, count: int) -> str:
        return f"rowid IN ({', '.join('?' for _ in range(count))})"

    def query(self, sql: str, params: Sequence[Any] | None = None) -> pd.DataFrame:
        """The result of ``sql`` run with the staging schema first on the search path."""
        with self._in_staging():
            return self._frame(sql, params)

    def scalars(self, sql: str) -> tuple[Any, ...]:
        """The one row ``sql`` returns (run with the staging schema first on the search path)."""
        with self._in_staging():
            found = self.execute(sql)
        return found[0] if found else ()

    @contextmanager
    def _in_staging(self) -> Iterator[None]:
        self._set_search_path([self.staging, self.production])
        try:
            yield
        finally:
            self._set_search_path(None)

    # ---- load -----------------------------------------------------------------------------------

    def _check_schema(self, table: str, batch: pa.Table) -> None:
        """Refuse a batch whose columns differ from production's (a schema changed upstream)."""
        if not self.exists(table, production=True):
            return
        have = {name: kind for name, kind in self.columns(table, production=True) if name not in BOOKKEEPING}
        got = self._batch_types(batch)
        problems = [f"new column {name} ({got[name]})" for name in got if name not in have]
        problems += [f"column {name} is gone" for name in have if name not in got]
        problems += [
            f"column {name} changed type from {have[name]} to {got[name]}"
            for name in got
            if name in have and got[name] != have[name]
        ]
        if problems:
            msg = (
                f"the schema of {table} changed upstream: {'; '.join(problems)}; production "
                f"{self.env.schema}.{table} is unchanged. Fix the source, or drop the production table "
                "to take the new schema"
            )
            raise PipelineError(msg)

    def load(
        self, table: str, batch: pa.Table, *, mode: str = "replace", primary_key: Sequence[str] = ()
    ) -> int:
        """Load ``batch`` into the staging table ``table`` (see the module docstring); returns its rows."""
        if mode not in MODES:
            msg = f"unknown load mode {mode!r} for {table}: use one of {', '.join(MODES)}"
            raise PipelineError(msg)
        if mode == "merge" and not primary_key:
            msg = f"the merge mode of {table} needs a primary_key"
            raise PipelineError(msg)
        missing = [key for key in primary_key if key not in batch.column_names]
        if missing:
            msg = f"the primary key column {missing[0]!r} of {table} is not in the extracted data"
            raise PipelineError(msg)
        target = self.qualified(table)
        production = self.qualified(table, production=True)
        has_production = self.exists(table, production=True)
        if batch.num_rows == 0 and mode != "replace" and has_production:
            # nothing new (an incremental extract; a SQL source's empty result has no column types)
            with self.transaction():
                self._replace_table_as(target, f"SELECT * FROM {production}")
            return self.count(table)
        self._check_schema(table, batch)
        now = time.time()
        names = ", ".join(quote(c) for c in batch.column_names)
        stamps = "to_timestamp(?) AS _created_at, to_timestamp(?) AS _updated_at"
        self._stage_batch(batch)
        try:
            with self.transaction():
                if mode == "replace" or not has_production:
                    distinct = "DISTINCT " if mode == "merge" else ""
                    self._replace_table_as(
                        target, f"SELECT {distinct}{names}, {stamps} FROM {BATCH}", [now, now]
                    )
                elif mode == "append":
                    self._replace_table_as(
                        target,
                        f"SELECT {names}, _created_at, _updated_at FROM {production} UNION ALL "
                        f"SELECT {names}, {stamps} FROM {BATCH}",
                        [now, now],
                    )
                else:
                    merged = self._merge_select(production, batch.column_names, primary_key)
                    self._replace_table_as(target, merged, [now, now])
        except self.errors as exc:
            msg = f"cannot load {table} into {self.env.staging_schema}: {str(exc).splitlines()[0]}"
            raise PipelineError(msg) from exc
        finally:
            self._unstage_batch()
        return self.count(table)

    def _merge_select(self, production: str, columns: Sequence[str], primary_key: Sequence[str]) -> str:
        """The rows of a merge: production's rows whose key the batch does not hold, and the batch's
        rows (distinct), which keep the ``_created_at`` of the production row they replace; keys
        match as ``IS NOT DISTINCT FROM`` (two NULLs match). Parameters: the load's time, twice."""
        names = ", ".join(quote(c) for c in columns)
        on = " AND ".join(f"b.{quote(k)} IS NOT DISTINCT FROM p.{quote(k)}" for k in primary_key)
        b_names = ", ".join(f"b.{quote(c)}" for c in columns)
        return (
            f"WITH b AS (SELECT DISTINCT {names} FROM {BATCH}) "
            f"SELECT {names}, _created_at, _updated_at FROM {production} p "
            f"WHERE NOT EXISTS (SELECT 1 FROM b WHERE {on}) "
            f"UNION ALL "
            f"SELECT {b_names}, coalesce((SELECT min(p._created_at) FROM {production} p "
            f"WHERE {on}), to_timestamp(?)) AS _created_at, to_timestamp(?) AS _updated_at "
            f"FROM b"
        )

    def _frame_to_arrow(self, frame: pd.DataFrame) -> pa.Table:
        import pyarrow as pa

        return pa.Table.from_pandas(frame, preserve_index=False)

    def replace_rows(self, table: str, frame: pd.DataFrame) -> None:
        """Replace the staging table's rows by ``frame``'s (same columns)."""
        self._stage_batch(self._frame_to_arrow(frame))
        try:
            with self.transaction():
                self._replace_table_as(self.qualified(table), f"SELECT * FROM {BATCH}")
        finally:
            self._unstage_batch()

    def append_rows(self, table: str, frame: pd.DataFrame) -> None:
        """Append ``frame``'s rows to the staging table (created when it does not exist)."""
        batch = self._frame_to_arrow(frame)
        names = ", ".join(quote(c) for c in batch.column_names)
        self._stage_batch(batch)
        try:
            with self.transaction():
                if self.exists(table):
                    self.execute(f"INSERT INTO {self.qualified(table)} ({names}) SELECT {names} FROM {BATCH}")
                else:
                    self._replace_table_as(self.qualified(table), f"SELECT * FROM {BATCH}")
        finally:
            self._unstage_batch()

    def arrow_batches(self, table: str, *, production: bool = False) -> pa.RecordBatchReader:
        """The table's rows as a stream of Arrow record batches."""
        raise NotImplementedError

    # ---- transform ------------------------------------------------------------------------------

    def create_as(self, table: str, sql: str) -> int:
        """(Re)create the staging table ``table`` as the result of ``sql`` (run in staging)."""
        with self._in_staging():
            try:
                with self.transaction():
                    self._replace_table_as(self.qualified(table), sql)
            except self.errors as exc:
                msg = f"the SQL of transform {table} failed: {str(exc).splitlines()[0]}"
                raise PipelineError(msg) from exc
        return self.count(table)

    def _check_promotable(self, tables: Sequence[str]) -> None:
        for table in tables:
            if not self.exists(table):
                msg = f"cannot promote {table}: the staging table {self.staging}.{table} does not exist"
                raise PipelineError(msg)


class DuckDBWarehouse(Warehouse):
    """An embedded DuckDB warehouse file.

    Production tables are views over versioned tables: a promotion renames each staging table to
    ``<table>__v<version>`` (DuckDB cannot move a table to another schema, and a rename copies
    nothing) and points the production view ``<schema>.<table>`` at it, in one transaction; the
    version the view read before is dropped in the same transaction.
    """

    def __init__(self, env: Environment) -> None:
        import duckdb

        super().__init__(env)
        self.errors = (duckdb.Error,)
        path = env.warehouse_path
        try:
            if path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            self.connection: duckdb.DuckDBPyConnection = duckdb.connect(path)
        except (duckdb.Error, OSError) as exc:
            msg = f"cannot open the warehouse {env.warehouse}: {exc}"
            raise PipelineError(msg) from exc
        self.connection.execute("SET enable_progress_bar = false")
        for schema in (self.staging, self.production):
            self.connection.execute(f"CREATE SCHEMA IF NOT EXISTS {quote(schema)}")

    def close(self) -> None:
        """Close the connection."""
        self.connection.close()

    def uri(self, table: str, *, production: bool = False) -> str:
        """``duckdb://local/<database file>/<schema>.<table>``."""
        schema = self.production if production else self.staging
        return f"duckdb://local/{self.env.warehouse_path.lstrip('/')}/{schema}.{table}"

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> list[tuple[Any, ...]]:
        """Run ``sql`` and return its rows."""
        cursor = self.connection.execute(sql, list(params) if params else None)
        return cursor.fetchall() if cursor.description else []

    def _frame(self, sql: str, params: Sequence[Any] | None = None) -> pd.DataFrame:
        return self.connection.execute(sql, list(params) if params else None).df()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """``BEGIN`` … ``COMMIT`` (``ROLLBACK`` when the block raises)."""
        self.connection.execute("BEGIN")
        try:
            yield
        except BaseException:
            self.connection.execute("ROLLBACK")
            raise
        self.connection.execute("COMMIT")

    def _set_search_path(self, schemas: Sequence[str] | None) -> None:
        path = ",".join(schemas) if schemas else "main"
        self.connection.execute(f"SET search_path = '{path}'")

    def _stage_batch(self, batch: pa.Table) -> None:
        self.connection.register(BATCH, batch)

    def _unstage_batch(self) -> None:
        self.connection.unregister(BATCH)

    def _batch_types(self, batch: pa.Table) -> dict[str, str]:
        self.connection.register("__threadline_probe", batch.slice(0, 0))
        try:
            return {
                str(name): str(kind)
                for name, kind, *_ in self.connection.execute(
                    "DESCRIBE SELECT * FROM __threadline_probe"
                ).fetchall()
            }
        finally:
            self.connection.unregister("__threadline_probe")

    def _replace_table_as(self, target: str, select: str, params: Sequence[Any] | None = None) -> None:
        self.connection.execute(f"CREATE OR REPLACE TABLE {target} AS {select}", list(params or []))

    def regex_mismatch(self, column: str, pattern: str) -> str:
        """``NOT regexp_matches(column, '^(?:pattern)')``."""
        return f"NOT regexp_matches({column}, {sql_literal('^(?:' + pattern + ')')})"

    def arrow_batches(self, table: str, *, production: bool = False) -> pa.RecordBatchReader:
        """The table's rows as Arrow record batches, streamed."""
        return self.connection.sql(
            f"SELECT * FROM {self.qualified(table, production=production)}"
        ).to_arrow_reader()

    def _versions_of(self, table: str) -> list[str]:
        """The versioned tables of ``table`` in the staging schema."""
        pattern = re.compile(re.escape(table) + r"__v\d+")
        return [name for name in self.tables() if pattern.fullmatch(name)]

    def has_version(self, tables: Sequence[str], version: str) -> bool:
        """Whether the promotion ``version`` committed: its renamed staging tables exist."""
        return bool(tables) and f"{tables[0]}__v{version}" in self.tables()

    def promote(self, tables: Sequence[str], version: str | None = None) -> None:
        """Rename each staging table to its versioned name and point production's view at it, in one
        transaction (see the class docstring): no row is copied."""
        self._check_promotable(tables)
        version = version or version_stamp()
        try:
            with self.transaction():
                pause_point("promote:begin")
                for table in tables:
                    kept = f"{table}__v{version}"
                    before = [name for name in self._versions_of(table) if name != kept]
                    self.execute(f"ALTER TABLE {self.qualified(table)} RENAME TO {quote(kept)}")
                    if self.kind(table, production=True) == "BASE TABLE":
                        self.execute(f"DROP TABLE {self.qualified(table, production=True)}")
                    self.execute(
                        f"CREATE OR REPLACE VIEW {self.qualified(table, production=True)} AS "
                        f"SELECT * FROM {self.qualified(kept)}"
                    )
                    for name in before:
                        self.execute(f"DROP TABLE {self.qualified(name)}")
                    pause_point(f"promote:swapped:{table}")
        except self.errors as exc:
            msg = f"the promotion failed and was rolled back, production is unchanged: {exc}"
            raise PipelineError(msg) from exc
        pause_point("promote:committed")


def sql_literal(value: Any) -> str:
    """``value`` as a SQL literal (strings quoted, numbers as they are, booleans as TRUE/FALSE)."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float):
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"
