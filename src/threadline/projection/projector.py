"""Applying folded rows to the store, the projection loop, and reindexing.

The projector takes the events past its log mark in batches, folds each batch into a delta (rows
already merged per key), and upserts the delta: the database joins each row with the stored one by the
rules of :mod:`threadline.projection.model` (see :mod:`threadline.projection.upserts`). The upserts and
the new mark are one transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from sqlalchemy import Connection

from threadline.projection.fold import Folder
from threadline.projection.model import SPECS, Delta
from threadline.projection.upserts import columns_of, conflict_clause
from threadline.store.base import StoredEvent
from threadline.store.bulk import insert_rows
from threadline.store.sql import SqlStore

log = logging.getLogger(__name__)

DEFAULT_BATCH = 500


def fold_events(events: list[StoredEvent]) -> Delta:
    """Fold a batch of events into one delta."""
    folder = Folder()
    for event in events:
        folder.fold(event)
    return folder.finish()


def apply_delta(connection: Connection, delta: Delta) -> int:
    """Merge a delta into the projection tables with upserts; return the rows sent."""
    written = 0
    for spec in SPECS:
        rows = delta.rows[spec.name]
        if not rows:
            continue
        columns = columns_of(spec.name)
        values = [tuple(map(row.get, columns)) for row in rows.values()]
        insert_rows(connection, spec.table, columns, values, conflict_clause(spec.name))
        written += len(rows)
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
    try:
        store.note_folded(len(events))
    except Exception:  # statistics are an optimisation: folding goes on without them
        log.exception("refreshing the planner statistics failed")
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
