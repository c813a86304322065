"""Applying folded rows to the store, the projection loop, and reindexing.

The projector takes the events past its log mark in batches, folds each batch into a delta (rows
already merged per key), and upserts the delta: the database joins each row with the stored one by the
rules of :mod:`threadline.projection.model` (see :mod:`threadline.projection.upserts`). The upserts and
the new mark are one transaction.

A small append can also be folded in its own transaction (:func:`fold_appended`) when the projections
were caught up with the log before it: the events are then readable the moment they are acknowledged,
at the cost of one upsert per table in the same commit instead of a second transaction later.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from sqlalchemy import Connection

from threadline.openlineage.events import ParsedEvent
from threadline.projection.fold import Folder
from threadline.projection.model import SPECS, Delta
from threadline.projection.propagation import refresh as refresh_propagation
from threadline.projection.upserts import columns_of, conflict_clause
from threadline.store.base import StoredEvent
from threadline.store.bulk import insert_rows
from threadline.store.sql import SqlStore

log = logging.getLogger(__name__)

#: Events folded per transaction. Larger batches fold faster per event (fewer commits, entities
#: merged once per batch: 500 -> 5,000 is 1.4-1.6x, see benchmarks/projection_lag.py) while a step
#: still takes well under a second.
DEFAULT_BATCH = 5_000


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
    refresh_propagation(connection, delta)  # derived from the rows just merged (catalog_propagated)
    return written


def fold_appended(
    store: SqlStore, events: Sequence[StoredEvent | ParsedEvent]
) -> Callable[[Connection, int, int], bool] | None:
    """A ``then`` for :meth:`SqlStore.append` that folds ``events`` in the append's own transaction,
    if the projections had folded everything before it (and, on PostgreSQL, no other process is
    folding); ``None`` if the events cannot be folded (the projector will say why when it meets them).

    The delta is computed before the transaction (folding is pure) and covers duplicates too: folding
    an event again changes nothing, every merge rule being idempotent."""
    try:
        delta = fold_events(events)  # type: ignore[arg-type]  # ParsedEvent has what folding reads
    except Exception:
        return None

    def then(connection: Connection, before: int, head: int) -> bool:
        if not store.try_projection_lock(connection) or store.log_mark(connection) != before:
            return False
        if head == before:
            return True
        try:
            with connection.begin_nested():  # a failing upsert must not cost the append
                apply_delta(connection, delta)
                store.set_log_mark(connection, head)
        except Exception:
            log.exception("folding appended events failed; the projector folds them later")
            return False
        return True

    return then


def project_step(store: SqlStore, *, batch_size: int = DEFAULT_BATCH) -> tuple[int, int]:
    """Fold up to ``batch_size`` queued events into the projections; return how many were folded and
    the projector's mark after it (0 when another process holds the projector's lock)."""
    with store.write() as connection:
        if not store.try_projection_lock(connection):
            return 0, 0
        events = store.pending_events(connection, batch_size)
        if not events:
            return 0, store.log_mark(connection)
        apply_delta(connection, fold_events(events))
        mark = max(event.seq for event in events)
        store.mark_projected(connection, [mark])
    try:
        store.note_folded(len(events))
    except Exception:  # statistics are an optimisation: folding goes on without them
        log.exception("refreshing the planner statistics failed")
    return len(events), mark


def project_pending(store: SqlStore, *, batch_size: int = DEFAULT_BATCH) -> int:
    """Fold up to ``batch_size`` queued events into the projections; return how many were folded."""
    return project_step(store, batch_size=batch_size)[0]


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
