"""The PostgreSQL warehouse (``postgresql://user@host:port/database``), on psycopg.

A batch is loaded through ``COPY … (FORMAT csv)`` into a temporary table (Arrow renders the CSV, in
C++, 64 Ki rows at a time; before, psycopg adapted every value of every row in Python), then into the
staging table by the SQL shared with DuckDB (``warehouse.py``). A promotion moves each staging table
into the production schema (``ALTER TABLE … SET SCHEMA``, which copies nothing) after dropping the
production table it replaces, all in one transaction: PostgreSQL's DDL is transactional, so readers
see the old tables until the commit and the new ones after it, and a process killed half-way leaves
the old ones.
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


#: The comment of a promoted production table: this, then the promotion's version.
VERSION_COMMENT = "threadline promotion "
#: Rows written to ``COPY`` at a time (each chunk rendered as CSV by Arrow, in C++).
COPY_CHUNK = 65_536


def _csv_ready(batch: pa.Table, types: dict[str, str]) -> pa.Table | None:
    """``batch`` with every column in a form Arrow's CSV writer renders as PostgreSQL's ``COPY …
    (FORMAT csv)`` reads it (``jsonb`` as JSON text, ``bytea`` as ``\\x`` hex, dictionaries decoded),
    or ``None`` when a column cannot be (then the rows are copied one by one)."""
    import pyarrow as pa

    columns = []
    for field, given in zip(batch.schema, batch.columns, strict=True):
        kind = types[field.name]
        column = given.cast(field.type.value_type) if pa.types.is_dictionary(field.type) else given
        if kind == "jsonb":
            column = pa.array([None if v is None else _json_safe(v) for v in column.to_pylist()], pa.string())
        elif kind == "bytea":
            hexed = [None if v is None else f"\\x{v.hex()}" for v in column.to_pylist()]
            column = pa.array(hexed, pa.string())
        elif pa.types.is_float16(column.type):
            column = column.cast(pa.float32())
        elif not (
            pa.types.is_primitive(column.type)
            or pa.types.is_string(column.type)
            or pa.types.is_large_string(column.type)
            or pa.types.is_decimal(column.type)
            or pa.types.is_null(column.type)
        ):
            return None
        columns.append(column)
    return pa.table(columns, names=batch.column_names)


def _copy_csv(copy: Any, table: pa.Table) -> None:
    """Write ``table`` to ``copy`` as CSV without a header (nulls are empty fields, empty strings
    quoted ones: ``COPY``'s CSV format reads them back as NULL and '')."""
    import io

    import pyarrow.csv as pacsv

    options = pacsv.WriteOptions(include_header=False)
    for start in range(0, table.num_rows, COPY_CHUNK):
        buffer = io.BytesIO()
        pacsv.write_csv(table.slice(start, COPY_CHUNK), buffer, write_options=options)
        copy.write(buffer.getbuffer())


def _copy_rows(copy: Any, batch: pa.Table, types: dict[str, str]) -> None:
    """Write ``batch`` to ``copy`` row by row (psycopg adapts each value)."""
    import pyarrow as pa

    converters = [_json_safe if types[field.name] == "jsonb" else None for field in batch.schema]
    for chunk in batch.to_batches(max_chunksize=10_000):
        table = pa.Table.from_batches([chunk])
        values = [column.to_pylist() for column in table.columns]
        for index, convert in enumerate(converters):
            if convert is not None:
                values[index] = [None if v is None else convert(v) for v in values[index]]
        for row in zip(*values, strict=True):
            copy.write_row(row)


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
        types = self._batch_types(batch)
        columns = ", ".join(f"{quote(name)} {kind}" for name, kind in types.items())
        self.execute(f"DROP TABLE IF EXISTS pg_temp.{BATCH}")
        self.execute(f"CREATE TEMPORARY TABLE {BATCH} ({columns})")
        names = ", ".join(quote(name) for name in types)
        ready = _csv_ready(batch, types)
        with self.connection.cursor() as cursor:
            if ready is None:  # a type Arrow's CSV writer cannot write: row by row
                with cursor.copy(f"COPY {BATCH} ({names}) FROM STDIN") as copy:
                    _copy_rows(copy, batch, types)
                return
            with cursor.copy(f"COPY {BATCH} ({names}) FROM STDIN WITH (FORMAT csv)") as copy:
                _copy_csv(copy, ready)

    def _merge_select(self, production: str, columns: Sequence[str], primary_key: Sequence[str]) -> str:
        """The merge of ``Warehouse._merge_select`` (same rows), set-based: production's rows and the
        batch's in one union, grouped by key with window functions (``PARTITION BY`` groups NULLs
        together, as ``IS NOT DISTINCT FROM`` matches them), sorted once. PostgreSQL cannot hash an
        ``IS NOT DISTINCT FROM`` join: the correlated form is a nested loop, rows x rows."""
        names = ", ".join(quote(c) for c in columns)
        keys = ", ".join(quote(k) for k in primary_key)
        return (
            f"WITH u AS (SELECT {names}, _created_at, _updated_at, 0 AS __new FROM {production} "
            f"UNION ALL SELECT {names}, NULL::timestamptz, NULL::timestamptz, 1 "
            f"FROM (SELECT DISTINCT {names} FROM {BATCH}) b), "
            f"w AS (SELECT *, max(__new) OVER k AS __replaced, "
            f"min(_created_at) FILTER (WHERE __new = 0) OVER k AS __first "
            f"FROM u WINDOW k AS (PARTITION BY {keys})) "
            f"SELECT {names}, CASE WHEN __new = 1 THEN coalesce(__first, to_timestamp(?)) "
            f"ELSE _created_at END AS _created_at, "
            f"CASE WHEN __new = 1 THEN to_timestamp(?) ELSE _updated_at END AS _updated_at "
            f"FROM w WHERE __new = 1 OR __replaced = 0"
        )

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

    def has_version(self, tables: Sequence[str], version: str) -> bool:
        """Whether the promotion ``version`` committed: the production table's comment names it."""
        if not tables:
            return False
        rows = self.execute(
            "SELECT obj_description(to_regclass(?), 'pg_class')", [self.qualified(tables[0], production=True)]
        )
        return bool(rows) and rows[0][0] == f"{VERSION_COMMENT}{version}"

    def promote(self, tables: Sequence[str], version: str | None = None) -> None:
        """Drop each production table and move its staging table into production, in one
        transaction (see the module docstring): no row is copied. Each production table's comment
        names the version (``has_version``)."""
        self._check_promotable(tables)
        try:
            with self.transaction():
                pause_point("promote:begin")
                for table in tables:
                    self.execute(f"DROP TABLE IF EXISTS {self.qualified(table, production=True)}")
                    self.execute(f"ALTER TABLE {self.qualified(table)} SET SCHEMA {quote(self.production)}")
                    if version is not None:
                        self.execute(
                            f"COMMENT ON TABLE {self.qualified(table, production=True)} IS "
                            f"{sql_literal(VERSION_COMMENT + version)}"
                        )
                    pause_point(f"promote:swapped:{table}")
        except self.errors as exc:
            msg = (
                "the promotion failed and was rolled back, production is unchanged: "
                f"{str(exc).strip().splitlines()[0]}"
            )
            raise PipelineError(msg) from exc
        pause_point("promote:committed")
