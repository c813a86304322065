"""Sources a pipeline extracts from: files (CSV, Parquet, JSON lines on any fsspec path) and SQL
databases (any SQLAlchemy URL), each read into an Arrow table, fully or incrementally.

Incremental: a source given ``cursor="updated_at"`` reads only the rows whose cursor column is greater
than the largest value the last promoted run saw (kept in threadline's store, see ``state.py``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from threadline.errors import PipelineError

if TYPE_CHECKING:
    import pyarrow as pa

#: File formats by suffix.
FILE_FORMATS = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet", ".jsonl": "jsonl", ".ndjson": "jsonl"}


class Source(Protocol):
    """Something a pipeline extracts a table from."""

    def resolved(self, base: Path) -> Source:
        """This source with relative paths taken from ``base`` (the pipeline file's folder)."""
        ...

    def read(self, cursor: str | None, since: Any) -> pa.Table:
        """The rows (those with ``cursor`` > ``since`` when both are given) as an Arrow table."""
        ...

    @property
    def uri(self) -> str:
        """Where the data comes from, as lineage names it (a path or URI)."""
        ...


def after_cursor(table: pa.Table, cursor: str | None, since: Any) -> pa.Table:
    """The rows of ``table`` whose ``cursor`` column is greater than ``since`` (all without one)."""
    if cursor is None:
        return table
    if cursor not in table.column_names:
        msg = (
            f"the cursor column {cursor!r} is not in the source; its columns: {', '.join(table.column_names)}"
        )
        raise PipelineError(msg)
    if since is None:
        return table
    import pyarrow as pa
    import pyarrow.compute as pc

    column = table[cursor]
    value = pa.scalar(since).cast(column.type) if not pa.types.is_string(column.type) else str(since)
    return table.filter(pc.greater(column, value))


@dataclass(frozen=True)
class FileSource:
    """A CSV, Parquet or JSON lines file (or a glob of them) on any fsspec path."""

    path: str
    format: str | None = None
    options: dict[str, Any] = field(default_factory=dict)

    def resolved(self, base: Path) -> FileSource:
        """See :meth:`Source.resolved`."""
        if "://" in self.path or os.path.isabs(self.path):  # noqa: PTH117
            return self
        return FileSource(os.fspath(base / self.path), self.format, self.options)

    @property
    def uri(self) -> str:
        """See :meth:`Source.uri`."""
        return self.path

    def _format(self) -> str:
        if self.format:
            return self.format
        suffix = os.path.splitext(self.path.rstrip("*"))[1].lower()  # noqa: PTH122
        found = FILE_FORMATS.get(suffix)
        if found is None:
            msg = f"cannot tell the format of {self.path}: give format='csv', 'parquet' or 'jsonl'"
            raise PipelineError(msg)
        return found

    def read(self, cursor: str | None, since: Any) -> pa.Table:
        """See :meth:`Source.read`."""
        import fsspec
        import pyarrow as pa
        import pyarrow.csv as pacsv
        import pyarrow.json as pajson
        import pyarrow.parquet as pq

        fmt = self._format()
        try:
            files = fsspec.open_files(self.path, "rb")
        except (OSError, ValueError) as exc:
            msg = f"cannot open the source {self.path}: {exc}"
            raise PipelineError(msg) from exc
        if not files:
            msg = f"the source {self.path} matches no file"
            raise PipelineError(msg)
        tables = []
        for opened in files:
            try:
                with opened as handle:
                    if fmt == "csv":
                        tables.append(pacsv.read_csv(handle))
                    elif fmt == "parquet":
                        tables.append(pq.read_table(handle))
                    elif fmt == "jsonl":
                        tables.append(pajson.read_json(handle))
                    else:
                        msg = f"unknown format {fmt!r} for {self.path}: use csv, parquet or jsonl"
                        raise PipelineError(msg)
            except FileNotFoundError as exc:
                msg = f"the source file {opened.path} does not exist"
                raise PipelineError(msg) from exc
            except pa.ArrowInvalid as exc:
                msg = f"cannot read {opened.path} as {fmt}: {exc}"
                raise PipelineError(msg) from exc
        table = pa.concat_tables(tables, promote_options="default") if len(tables) > 1 else tables[0]
        return after_cursor(table, cursor, since)


@dataclass(frozen=True)
class SqlSource:
    """A table (or a query) of any database SQLAlchemy connects to."""

    url: str
    table: str | None = None
    query: str | None = None

    def __post_init__(self) -> None:
        if (self.table is None) == (self.query is None):
            msg = f"a SQL source ({self.url}) needs either table= or query=, not both or neither"
            raise PipelineError(msg)

    def resolved(self, base: Path) -> SqlSource:
        """See :meth:`Source.resolved`: a relative SQLite path is taken from ``base``."""
        prefix = "sqlite:///"
        if self.url.startswith(prefix) and not self.url[len(prefix) :].startswith("/"):
            rest = self.url[len(prefix) :]
            if rest and rest != ":memory:":
                return SqlSource(f"{prefix}{(base / rest).resolve()}", self.table, self.query)
        return self

    @property
    def uri(self) -> str:
        """See :meth:`Source.uri`: the database URL without a password, and the table."""
        from sqlalchemy.engine import make_url

        url = make_url(self.url)
        if url.drivername.startswith("sqlite"):
            return f"sqlite://localhost{url.database}/{self.table or 'query'}"
        host = f"{url.host or 'localhost'}:{url.port}" if url.port else (url.host or "localhost")
        return f"{url.get_backend_name()}://{host}/{url.database}.{self.table or 'query'}"

    def read(self, cursor: str | None, since: Any) -> pa.Table:
        """See :meth:`Source.read`: the cursor condition runs in the database (a bound parameter)."""
        import pyarrow as pa
        from sqlalchemy import create_engine, text
        from sqlalchemy.exc import SQLAlchemyError

        sql = f"SELECT * FROM {self.table}" if self.table else f"SELECT * FROM ({self.query}) AS q"
        params: dict[str, Any] = {}
        if cursor is not None and since is not None:
            sql += f" WHERE {cursor} > :since"
            params["since"] = since
        engine = create_engine(self.url)
        try:
            with engine.connect() as connection:
                result = connection.execute(text(sql), params)
                names = list(result.keys())
                rows = result.fetchall()
        except SQLAlchemyError as exc:
            reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
            msg = f"cannot read the SQL source {self.uri}: {reason}"
            raise PipelineError(msg) from exc
        finally:
            engine.dispose()
        columns = {name: [row[index] for row in rows] for index, name in enumerate(names)}
        table = pa.table(columns)
        if cursor is not None and cursor not in names:
            msg = f"the cursor column {cursor!r} is not in the source; its columns: {', '.join(names)}"
            raise PipelineError(msg)
        return table


def files(path: str, format: str | None = None, **options: Any) -> FileSource:
    """A file source: CSV, Parquet or JSON lines (by suffix, or ``format``) on any fsspec path."""
    return FileSource(path, format, options)


def sql(url: str, table: str | None = None, query: str | None = None) -> SqlSource:
    """A SQL source: a ``table`` or a ``query`` of the database at the SQLAlchemy ``url``."""
    return SqlSource(url, table, query)
