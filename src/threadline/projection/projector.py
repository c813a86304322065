"""Applying folded rows to the store, the projection loop, and reindexing.

The projector takes events from the projection queue in batches, folds each batch into a delta, reads
the rows the delta touches, merges them with the rules of :mod:`threadline.projection.model`, and
writes back only what changed, all in one transaction that also removes the batch from the queue.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection, and_, bindparam, insert, select, tuple_, update

from threadline.projection.fold import Folder
from threadline.projection.model import SPECS, Delta, Row, TableSpec
from threadline.store.base import StoredEvent
from threadline.store.sql import SqlStore

log = logging.getLogger(__name__)

DEFAULT_BATCH = 500
_IN_CHUNK = 500


def fold_events(events: list[StoredEvent]) -> Delta:
    """Fold a batch of events into one delta."""
    folder = Folder()
    for event in events:
        folder.fold(event)
    return folder.delta


def _load(connection: Connection, spec: TableSpec, keys: list[tuple[Any, ...]]) -> dict[tuple[Any, ...], Row]:
    """The stored rows with exactly these keys (a row-value ``IN`` for composite keys)."""
    table = spec.table
    single = len(spec.key) == 1
    columns = table.c[spec.key[0]] if single else tuple_(*(table.c[name] for name in spec.key))
    found: dict[tuple[Any, ...], Row] = {}
    for start in range(0, len(keys), _IN_CHUNK):
        chunk = keys[start : start + _IN_CHUNK]
        wanted = [key[0] for key in chunk] if single else chunk
        for row in connection.execute(select(table).where(columns.in_(wanted))).mappings():
            found[spec.key_of(row)] = dict(row)
    return found


def _write(connection: Connection, spec: TableSpec, fresh: list[Row], changed: list[Row]) -> None:
    table = spec.table
    columns = [column.name for column in table.c]
    if fresh:
        connection.execute(insert(table), [{c: row.get(c) for c in columns} for row in fresh])
    if changed:
        values = [c for c in columns if c not in spec.key]
        statement = (
            update(table)
            .where(and_(*(table.c[k] == bindparam(f"key_{k}") for k in spec.key)))
            .values({c: bindparam(f"new_{c}") for c in values})
        )
        params = [
            {**{f"key_{k}": row[k] for k in spec.key}, **{f"new_{c}": row.get(c) for c in values}}
            for row in changed
        ]
        connection.execute(statement, params)


def apply_delta(connection: Connection, delta: Delta) -> int:
    """Merge a delta into the projection tables; return how many rows were written."""
    written = 0
    for spec in SPECS:
        rows = delta.rows[spec.name]
        if not rows:
            continue
        existing = _load(connection, spec, list(rows))
        fresh: list[Row] = []
        changed: list[Row] = []
        for key in sorted(rows, key=repr):  # a fixed order keeps concurrent writers deadlock-free
            row = rows[key]
            old = existing.get(key)
            if old is None:
                fresh.append(row)
                continue
            merged = spec.merge(old, row)
            if merged != old:
                changed.append(merged)
        _write(connection, spec, fresh, changed)
        written += len(fresh) + len(changed)
    return written


def project_pending(store: SqlStore, *, batch_size: int = DEFAULT_BATCH) -> int:
    """Fold up to ``batch_size`` queued events into the projections; return how many were folded."""
    with store.write() as connection:
        if not store.try_projection_lock(connection):
            return 0
        events = store.pending_events(connection, batch_size)
        if not events:
            return 0
        apply_delta(connection, fold_events(events))
        store.mark_projected(connection, [event.seq for event in events])
    return len(events)


def project_all(
    store: SqlStore, *, batch_size: int = DEFAULT_BATCH, progress: Callable[[int], None] | None = None
) -> int:
    """Fold every queued event; return how many were folded."""
    total = 0
    while True:
        done = project_pending(store, batch_size=batch_size)
        if done == 0:
            return total
        total += done
        if progress is not None:
            progress(done)


def reindex(
    store: SqlStore, *, batch_size: int = DEFAULT_BATCH, progress: Callable[[int], None] | None = None
) -> int:
    """Drop every projection and rebuild it from the log; return how many events were folded."""
    with store.write() as connection:
        store.requeue_all(connection)
    return project_all(store, batch_size=batch_size, progress=progress)
