"""The warehouse: DuckDB (embedded). Tables are loaded into the environment's staging schema, audited
there, and promoted into the production schema in one transaction.

Every loaded table gets two bookkeeping columns, ``_created_at`` (when the row first entered the
table) and ``_updated_at`` (when a load last wrote it); they are underscored because sources commonly
carry their own ``created_at``/``updated_at`` (often the incremental cursor), which stay untouched.

Modes: ``replace`` (the table is the new batch), ``append`` (production's rows and the batch) and
``merge`` (given a primary key: production's rows, with the batch's rows replacing those of the same
key; rows that are exact duplicates within the batch count once). Rows of one key that differ within a
batch are kept, so a ``unique`` check sees them and blocks the promotion.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from threadline.errors import PipelineError

if TYPE_CHECKING:
    import duckdb
    import pandas as pd
    import pyarrow as pa

    from threadline.pipeline.config import Environment

#: The bookkeeping columns added to every loaded table.
BOOKKEEPING = ("_created_at", "_updated_at")
MODES = ("replace", "append", "merge")


def quote(name: str) -> str:
    """A SQL identifier, quoted."""
    return '"' + name.replace('"', '""') + '"'


class Warehouse:
    """One connection to an environment's DuckDB warehouse."""

    def __init__(self, env: Environment) -> None:
        import duckdb

        self.env = env
        self.staging = env.staging_schema
        self.production = env.schema
        path = env.warehouse_path
        try:
            if path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            self.connection: duckdb.DuckDBPyConnection = duckdb.connect(path)
        except (duckdb.Error, OSError) as exc:
            msg = f"cannot open the warehouse {env.warehouse}: {exc}"
            raise PipelineError(msg) from exc
        for schema in (self.staging, self.production):
            self.connection.execute(f"CREATE SCHEMA IF NOT EXISTS {quote(schema)}")

    def close(self) -> None:
        """Close the connection."""
        self.connection.close()

    # ---- names ----------------------------------------------------------------------------------

    def qualified(self, table: str, *, production: bool = False) -> str:
        """``schema.table``, quoted."""
        return f"{quote(self.production if production else self.staging)}.{quote(table)}"

    def uri(self, table: str, *, production: bool = False) -> str:
        """The table as lineage names it: ``duckdb://local/<database file>/<schema>.<table>``."""
        schema = self.production if production else self.staging
        return f"duckdb://local/{self.env.warehouse_path.lstrip('/')}/{schema}.{table}"

    def exists(self, table: str, *, production: bool = False) -> bool:
        """Whether the table exists."""
        schema = self.production if production else self.staging
        row = self.connection.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = ?",
            [schema, table],
        ).fetchall()
        return bool(row and row[0][0])

    def columns(self, table: str, *, production: bool = False) -> list[tuple[str, str]]:
        """``(name, type)`` of the table's columns, in order."""
        schema = self.production if production else self.staging
        return [
            (str(name), str(kind))
            for name, kind in self.connection.execute(
                "SELECT column_name, data_type FROM information_schema.columns "
                "WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position",
                [schema, table],
            ).fetchall()
        ]

    def tables(self, *, production: bool = False) -> list[str]:
        """The tables of the staging (or production) schema."""
        schema = self.production if production else self.staging
        return [
            str(row[0])
            for row in self.connection.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = ? ORDER BY 1",
                [schema],
            ).fetchall()
        ]

    def count(self, table: str, *, production: bool = False) -> int:
        """The table's row count."""
        row = self.connection.execute(f"SELECT count(*) FROM {self.qualified(table, production=production)}")
        found = row.fetchall()
        return int(found[0][0]) if found else 0

    def frame(self, table: str, columns: Sequence[str] | None = None) -> pd.DataFrame:
        """The staging table (or only its ``columns``) as a pandas DataFrame indexed by row id."""
        chosen = "*" if columns is None else ", ".join(quote(c) for c in columns)
        frame = self.connection.execute(
            f"SELECT rowid AS __rowid, {chosen} FROM {self.qualified(table)}"
        ).df()
        return frame.set_index("__rowid").rename_axis(None)

    def rows(self, table: str, rowids: Sequence[Any]) -> pd.DataFrame:
        """The staging table's rows of these row ids (see :meth:`frame`), every column."""
        ids = [int(i) for i in rowids]
        if not ids:
            return self.connection.execute(f"SELECT * FROM {self.qualified(table)} LIMIT 0").df()
        marks = ", ".join("?" for _ in ids)
        return self.connection.execute(
            f"SELECT * FROM {self.qualified(table)} WHERE rowid IN ({marks}) ORDER BY rowid", ids
        ).df()

    def query(self, sql: str, params: Sequence[Any] | None = None) -> pd.DataFrame:
        """The result of ``sql`` run with the staging schema first on the search path."""
        with self._in_staging():
            return self.connection.execute(sql, list(params or [])).df()

    @contextmanager
    def _in_staging(self) -> Iterator[None]:
        self.connection.execute(f"SET search_path = '{self.staging},{self.production}'")
        try:
            yield
        finally:
            self.connection.execute("SET search_path = 'main'")

    # ---- load -----------------------------------------------------------------------------------

    def _check_schema(self, table: str, batch: pa.Table) -> None:
        """Refuse a batch whose columns differ from production's (a schema changed upstream)."""
        if not self.exists(table, production=True):
            return
        have = {name: kind for name, kind in self.columns(table, production=True) if name not in BOOKKEEPING}
        self.connection.register("__threadline_probe", batch.slice(0, 0))
        try:
            got = {
                str(name): str(kind)
                for name, kind, *_ in self.connection.execute(
                    "DESCRIBE SELECT * FROM __threadline_probe"
                ).fetchall()
            }
        finally:
            self.connection.unregister("__threadline_probe")
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
        if batch.num_rows == 0 and mode != "replace" and self.exists(table, production=True):
            # nothing new (an incremental extract; a SQL source's empty result has no column types)
            self.connection.execute(
                f"CREATE OR REPLACE TABLE {self.qualified(table)} AS "
                f"SELECT * FROM {self.qualified(table, production=True)}"
            ).fetchall()
            return self.count(table)
        self._check_schema(table, batch)
        now = time.time()
        target = self.qualified(table)
        production = self.qualified(table, production=True)
        has_production = self.exists(table, production=True)
        c = self.connection
        c.register("__threadline_batch", batch)
        stamp = "to_timestamp(?)"
        try:
            c.execute("BEGIN")
            if mode == "replace" or not has_production:
                c.execute(
                    f"CREATE OR REPLACE TABLE {target} AS SELECT DISTINCT *, {stamp} AS _created_at, "
                    f"{stamp} AS _updated_at FROM __threadline_batch"
                    if mode == "merge"
                    else f"CREATE OR REPLACE TABLE {target} AS SELECT *, {stamp} AS _created_at, "
                    f"{stamp} AS _updated_at FROM __threadline_batch",
                    [now, now],
                )
            elif mode == "append":
                c.execute(
                    f"CREATE OR REPLACE TABLE {target} AS SELECT * FROM {production} UNION ALL BY NAME "
                    f"SELECT *, {stamp} AS _created_at, {stamp} AS _updated_at FROM __threadline_batch",
                    [now, now],
                )
            else:
                on = " AND ".join(f"b.{quote(k)} IS NOT DISTINCT FROM p.{quote(k)}" for k in primary_key)
                c.execute(
                    f"CREATE OR REPLACE TABLE {target} AS "
                    f"WITH b AS (SELECT DISTINCT * FROM __threadline_batch) "
                    f"SELECT p.* FROM {production} p WHERE NOT EXISTS (SELECT 1 FROM b WHERE {on}) "
                    f"UNION ALL BY NAME "
                    f"SELECT b.*, coalesce((SELECT min(p._created_at) FROM {production} p WHERE {on}), "
                    f"{stamp}) AS _created_at, {stamp} AS _updated_at FROM b",
                    [now, now],
                )
            c.execute("COMMIT")
        except Exception as exc:
            c.execute("ROLLBACK")
            msg = f"cannot load {table} into {self.env.staging_schema}: {exc}"
            raise PipelineError(msg) from exc
        finally:
            c.unregister("__threadline_batch")
        return self.count(table)

    def replace_rows(self, table: str, frame: pd.DataFrame) -> None:
        """Replace the staging table's rows by ``frame``'s (same columns)."""
        c = self.connection
        c.register("__threadline_frame", frame)
        try:
            c.execute(
                f"CREATE OR REPLACE TABLE {self.qualified(table)} AS SELECT * FROM __threadline_frame"
            ).fetchall()
        finally:
            c.unregister("__threadline_frame")

    def append_rows(self, table: str, frame: pd.DataFrame) -> None:
        """Append ``frame``'s rows to the staging table (created when it does not exist)."""
        c = self.connection
        c.register("__threadline_frame", frame)
        try:
            if self.exists(table):
                c.execute(
                    f"INSERT INTO {self.qualified(table)} BY NAME SELECT * FROM __threadline_frame"
                ).fetchall()
            else:
                c.execute(
                    f"CREATE TABLE {self.qualified(table)} AS SELECT * FROM __threadline_frame"
                ).fetchall()
        finally:
            c.unregister("__threadline_frame")

    # ---- transform and promote ------------------------------------------------------------------

    def create_as(self, table: str, sql: str) -> int:
        """``CREATE OR REPLACE`` the staging table ``table`` as the result of ``sql`` (run in staging)."""
        import duckdb

        with self._in_staging():
            try:
                self.connection.execute(f"CREATE OR REPLACE TABLE {self.qualified(table)} AS {sql}")
            except duckdb.Error as exc:
                msg = f"the SQL of transform {table} failed: {str(exc).splitlines()[0]}"
                raise PipelineError(msg) from exc
        return self.count(table)

    def promote(self, tables: Sequence[str]) -> None:
        """Make the staging tables ``tables`` the production ones, all in one transaction: readers see
        every old table or every new one, never a mix, also when the process dies half-way."""
        c = self.connection
        for table in tables:
            if not self.exists(table):
                msg = f"cannot promote {table}: the staging table {self.staging}.{table} does not exist"
                raise PipelineError(msg)
        c.execute("BEGIN")
        try:
            for table in tables:
                production = self.qualified(table, production=True)
                nxt = self.qualified(f"{table}__next", production=True)
                c.execute(f"CREATE OR REPLACE TABLE {nxt} AS SELECT * FROM {self.qualified(table)}")
                if self.exists(table, production=True):
                    c.execute(f"DROP TABLE {production}")
                c.execute(f"ALTER TABLE {nxt} RENAME TO {quote(table)}")
            c.execute("COMMIT")
        except Exception as exc:
            c.execute("ROLLBACK")
            msg = f"the promotion failed and was rolled back, production is unchanged: {exc}"
            raise PipelineError(msg) from exc
