"""Schema and row count of tabular files (CSV, TSV, Parquet), when a reader library is installed.

pyarrow is tried first (a Parquet footer gives both without reading the data; CSV is parsed in C++),
then DuckDB, then pandas. None of them is a dependency of threadline: they are imported on first use,
in the background thread, and without any of them tables are simply described by hash and size. A
CSV larger than :data:`MAX_CSV_BYTES` is not parsed (its row count would cost a full read).

Results are cached by content id, so a file that is read by many runs is parsed once per process.
"""

from __future__ import annotations

import logging
import os
import threading
from collections import OrderedDict
from dataclasses import dataclass

log = logging.getLogger(__name__)

#: CSV and TSV files larger than this are not parsed for their schema and row count.
MAX_CSV_BYTES = 256 * 1024 * 1024
_CACHE_SIZE = 1024
_cache: OrderedDict[str, TableInfo | None] = OrderedDict()
_lock = threading.Lock()


@dataclass(frozen=True)
class TableInfo:
    """A table's columns (name and type) and its number of rows."""

    fields: tuple[tuple[str, str], ...]
    rows: int | None


def _after_fork_in_child() -> None:
    global _lock  # noqa: PLW0603 - another thread may have held it at the fork
    _lock = threading.Lock()


os.register_at_fork(after_in_child=_after_fork_in_child)


def describe_table(path: str, fmt: str, size: int, cache_key: str | None = None) -> TableInfo | None:
    """The columns and row count of the table at ``path`` in format ``fmt``, or ``None`` when unknown."""
    if cache_key is not None:
        with _lock:
            if cache_key in _cache:
                _cache.move_to_end(cache_key)
                return _cache[cache_key]
    info = None
    if fmt == "parquet" or size <= MAX_CSV_BYTES:
        for reader in (_with_pyarrow, _with_duckdb, _with_pandas):
            try:
                info = reader(path, fmt)
            except ImportError:
                continue
            except Exception as exc:  # a malformed file is not the run's failure: describe it by hash only
                log.debug("cannot read %s as %s: %s", path, fmt, exc)
                info = None
            break
    if cache_key is not None:
        with _lock:
            _cache[cache_key] = info
            if len(_cache) > _CACHE_SIZE:
                _cache.popitem(last=False)
    return info


def _with_pyarrow(path: str, fmt: str) -> TableInfo:
    import pyarrow as pa

    if fmt == "parquet":
        import pyarrow.parquet as pq

        metadata = pq.read_metadata(path)
        schema = metadata.schema.to_arrow_schema()
        return TableInfo(tuple((f.name, str(f.type)) for f in schema), metadata.num_rows)
    from pyarrow import csv

    options = csv.ParseOptions(delimiter="\t" if fmt == "tsv" else ",")
    table: pa.Table = csv.read_csv(path, parse_options=options)
    return TableInfo(tuple((f.name, str(f.type)) for f in table.schema), table.num_rows)


def _with_duckdb(path: str, fmt: str) -> TableInfo:
    import duckdb

    source = "read_parquet(?)" if fmt == "parquet" else "read_csv_auto(?)"
    with duckdb.connect() as connection:
        columns = connection.execute(f"DESCRIBE SELECT * FROM {source}", [path]).fetchall()
        rows = connection.execute(f"SELECT count(*) FROM {source}", [path]).fetchone()
    return TableInfo(tuple((str(c[0]), str(c[1])) for c in columns), int(rows[0]) if rows else None)


def _with_pandas(path: str, fmt: str) -> TableInfo:
    import pandas as pd

    frame = (
        pd.read_parquet(path) if fmt == "parquet" else pd.read_csv(path, sep="\t" if fmt == "tsv" else ",")
    )
    return TableInfo(tuple((str(name), str(dtype)) for name, dtype in frame.dtypes.items()), len(frame))
