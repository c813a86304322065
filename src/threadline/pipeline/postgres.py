"""The PostgreSQL warehouse (``postgresql://user@host:port/database``), on psycopg.

A batch is loaded through ``COPY`` into a temporary table, then into the staging table by the SQL
shared with DuckDB (``warehouse.py``). A promotion moves each staging table into the production schema
(``ALTER TABLE … SET SCHEMA``, which copies nothing) after dropping the production table it replaces,
all in one transaction: PostgreSQL's DDL is transactional, so readers see the old tables until the
commit and the new ones after it, and a process killed half-way leaves the old ones.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from threadline.errors import PipelineError
from threadline.pipeline.warehouse import BATCH, Warehouse, pause_point, quote, sql_literal

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

    from threadline.pipeline.config import Environment


def pg_type(kind: pa.DataType) -> str:
    """The PostgreSQL column type of an Arrow type, as ``information_schema`` names it."""
    import pyarrow as pa

    t = pa.types
    if t.is_dictionary(kind):
        return pg_type(kind.value_type)
    if t.is_boolean(kind):
        return "boolean"
    if t.is_int8(kind) or t.is_int16(kind) or t.is_uint8(kind):
        return "smallint"
    if t.is_int32(kind) or t.is_uint16(kind):
        return "integer"
    if t.is_int64(kind) or t.is_uint32(kind):
        return "bigint"
    if t.is_integer(kind) or t.is_decimal(kind):
        return "numeric"
    if t.is_float16(kind) or t.is_float32(kind):
        return "real"
    if t.is_float64(kind):
        return "double precision"
    if t.is_timestamp(kind):
        return "timestamp with time zone" if kind.tz else "timestamp without time zone"
    if t.is_date(kind):
        return "date"
    if t.is_time(kind):
        return "time without time zone"
    if t.is_binary(kind) or t.is_large_binary(kind) or t.is_fixed_size_binary(kind):
        return "bytea"
    if t.is_null(kind) or t.is_string(kind) or t.is_large_string(kind) or t.is_string_view(kind):
        return "text"
    return "jsonb"  # lists, structs, maps


def _json_safe(value: Any) -> Any:
    import json

    return json.dumps(value, default=str)


class PostgresWarehouse(Warehouse):
    """A PostgreSQL database: staging and production are two schemas of it."""

    rowid = "ctid::text"

    def __init__(self, env: Environment) -> None:
        import psycopg

        super().__init__(env)
        self.errors = (psycopg.Error,)
        url = env.warehouse
        scheme, _, rest = url.partition("://")
        self.url = f"postgresql://{rest}" if "+" in scheme or scheme == "postgres" else url
        try:
            self.connection = psycopg.connect(self.url, autocommit=True, connect_timeout=10)
        except psycopg.Error as exc:
            msg = f"cannot connect to the warehouse {env.warehouse}: {str(exc).strip().splitlines()[0]}"
            raise PipelineError(msg) from exc
        self._in_transaction = False
        info = self.connection.info
        self._location = f"{info.host}:{info.port}/{info.dbname}"
        for schema in (self.staging, self.production):
            self.execute(f"CREATE SCHEMA IF NOT EXISTS {quote(schema)}")

    def close(self) -> None:
        """Close the connection."""
        self.connection.close()

    def uri(self, table: str, *, production: bool = False) -> str:
        """``postgres://<host>:<port>/<database>.<schema>.<table>`` (OpenLineage's naming)."""
        schema = self.production if production else self.staging
        host_port, _, database = self._location.partition("/")
        return f"postgres://{host_port}/{database}.{schema}.{table}"

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> list[tuple[Any, ...]]:
        """Run ``sql`` (``?`` placeholders when ``params`` are given) and return its rows."""
        with self.connection.cursor() as cursor:
            if params:
                cursor.execute(sql.replace("?", "%s"), list(params))
            else:
                cursor.execute(sql)
            return list(cursor.fetchall()) if cursor.description else []

    def _frame(self, sql: str, params: Sequence[Any] | None = None) -> pd.DataFrame:
        import pandas as pd

        with self.connection.cursor() as cursor:
            if params:
                cursor.execute(sql.replace("?", "%s"), list(params))
            else:
                cursor.execute(sql)
            names = [d.name for d in cursor.description or []]
            return pd.DataFrame.from_records(cursor.fetchall(), columns=names)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One transaction (nested blocks join the outer one)."""
        if self._in_transaction:
            yield
            return
        self._in_transaction = True
        try:
            with self.connection.transaction():
                yield
        finally:
            self._in_transaction = False

    def _set_search_path(self, schemas: Sequence[str] | None) -> None:
        path = ", ".join(quote(s) for s in schemas) if schemas else '"$user", public'
        self.execute(f"SET search_path TO {path}")

    def _rowid_in(self, count: int) -> str:
        return f"ctid::text IN ({', '.join('?' for _ in range(count))})"

    def _batch_types(self, batch: pa.Table) -> dict[str, str]:
        return {field.name: pg_type(field.type) for field in batch.schema}

    def _stage_batch(self, batch: pa.Table) -> None:
        import pyarrow as pa

        types = self._batch_types(batch)
        columns = ", ".join(f"{quote(name)} {kind}" for name, kind in types.items())
        self.execute(f"DROP TABLE IF EXISTS pg_temp.{BATCH}")
        self.execute(f"CREATE TEMPORARY TABLE {BATCH} ({columns})")
        names = ", ".join(quote(name) for name in types)
        converters = [_json_safe if types[field.name] == "jsonb" else None for field in batch.schema]
        with self.connection.cursor() as cursor, cursor.copy(f"COPY {BATCH} ({names}) FROM STDIN") as copy:
            for chunk in batch.to_batches(max_chunksize=10_000):
                table = pa.Table.from_batches([chunk])
                values = [column.to_pylist() for column in table.columns]
                for index, convert in enumerate(converters):
                    if convert is not None:
                        values[index] = [None if v is None else convert(v) for v in values[index]]
                for row in zip(*values, strict=True):
                    copy.write_row(row)

    def _unstage_batch(self) -> None:
        self.execute(f"DROP TABLE IF EXISTS pg_temp.{BATCH}")

    def _replace_table_as(self, target: str, select: str, params: Sequence[Any] | None = None) -> None:
        self.execute(f"DROP TABLE IF EXISTS {target}")
        self.execute(f"CREATE TABLE {target} AS {select}", params)

    def regex_mismatch(self, column: str, pattern: str) -> str:
        """``column !~ '^(?:pattern)'`` (PostgreSQL's regular expressions are POSIX ones)."""
        return f"{column} !~ {sql_literal('^(?:' + pattern + ')')}"

    def arrow_batches(self, table: str, *, production: bool = False) -> pa.RecordBatchReader:
        """The table's rows as Arrow record batches (read through pandas, 50,000 rows at a time)."""
        import pyarrow as pa

        first = pa.Table.from_pandas(
            self._frame(f"SELECT * FROM {self.qualified(table, production=production)}"),
            preserve_index=False,
        )
        return pa.RecordBatchReader.from_batches(first.schema, first.to_batches(max_chunksize=50_000))

    def promote(self, tables: Sequence[str], version: str | None = None) -> None:
        """Drop each production table and move its staging table into production, in one
        transaction (see the module docstring): no row is copied."""
        self._check_promotable(tables)
        try:
            with self.transaction():
                pause_point("promote:begin")
                for table in tables:
                    self.execute(f"DROP TABLE IF EXISTS {self.qualified(table, production=True)}")
                    self.execute(f"ALTER TABLE {self.qualified(table)} SET SCHEMA {quote(self.production)}")
                    pause_point(f"promote:swapped:{table}")
        except self.errors as exc:
            msg = (
                "the promotion failed and was rolled back, production is unchanged: "
                f"{str(exc).strip().splitlines()[0]}"
            )
            raise PipelineError(msg) from exc
        pause_point("promote:committed")
