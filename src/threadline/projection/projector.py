"""Applying folded rows to the store, the projection loop, and reindexing.

The projector takes the events past its log mark in batches, folds each batch into a delta (rows
already merged per key), and upserts the delta: the database joins each row with the stored one by the
rules of :mod:`threadline.projection.model` (see :mod:`threadline.projection.upserts`). The upserts and
the new mark are one transaction.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy import Connection

from threadline.openlineage.catalog_changes import ENTRY
from threadline.projection.catch_up import MIN_EVENTS, fold_backlog
from threadline.projection.entry_templates import (
    rebuild_tag_masks,
    refresh_tag_templates,
    template_rows,
    template_slots,
    touched_entries,
)
from threadline.projection.fold import Folder
from threadline.projection.implicit_entries import refresh as refresh_implicit
from threadline.projection.implicit_entries import touched
from threadline.projection.model import COLUMNS, SPECS, Delta, Packed
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
#: Appended events whose folded rows the server keeps until the projector applies them (``FoldAhead``);
#: past this, the projector reads the events back from the log. The ingest benchmark's events (2.4 KB
#: each) take 3.8 KB of rows each: some 190 MB at most. Past 50,000 unfolded events the writer's
#: projection steps take turns with appends anyway (``server.writer.PROJECTION_LAG_LIMIT``).
FOLD_AHEAD_EVENTS = 50_000


def fold_events(events: list[StoredEvent]) -> Delta:
    """Fold a batch of events into one delta."""
    folder = Folder()
    for event in events:
        folder.fold(event)
    return folder.finish()


def apply_packed(connection: Connection, packed: Packed) -> int:
    """Merge a packed delta into the projection tables with upserts; return the rows sent."""
    # what is derived after the upserts reads the catalog's and column lineage's rows as dicts
    inputs = Delta()
    if any(packed.rows.get(name) for name in PROPAGATION_INPUTS):
        inputs = _unpacked(packed, PROPAGATION_INPUTS)
    before = _places_before(connection, inputs)
    written = 0
    for spec in SPECS:
        rows = packed.rows.get(spec.name)
        if rows:
            columns = COLUMNS[spec.name]
            insert_rows(connection, spec.table, columns, list(rows.values()), conflict_clause(spec.name))
            written += len(rows)
    _derive(connection, inputs, refresh_implicit(connection, touched(packed.rows)), before)
    return written


#: The tables whose new rows can change the propagated tags (see ``projection.propagation``).
PROPAGATION_INPUTS = ("catalog_objects", "column_lineage")


def _unpacked(packed: Packed, tables: Sequence[str]) -> Delta:
    """A delta holding ``packed``'s rows of ``tables`` as dicts (what the propagation reads)."""
    delta = Delta()
    for name in tables:
        columns = COLUMNS[name]
        delta.rows[name] = {
            key: dict(zip(columns, row, strict=True)) for key, row in packed.rows.get(name, {}).items()
        }
    return delta


def _with_entries(delta: Delta, entries: list[str]) -> Delta:
    """``delta`` with ``entries`` among its entries written (implicit entries written for the first
    time whose tags came first: what propagates from their tags is computed again)."""
    for name in entries:
        delta.rows["catalog_objects"].setdefault((ENTRY, name), {"kind": ENTRY, "name": name, "parent": None})
    return delta


def apply_delta(connection: Connection, delta: Delta) -> int:
    """Merge a delta into the projection tables with upserts; return the rows sent."""
    before = _places_before(connection, delta)
    written = 0
    for spec in SPECS:
        rows = delta.rows[spec.name]
        if not rows:
            continue
        columns = columns_of(spec.name)
        values = [tuple(map(row.get, columns)) for row in rows.values()]
        insert_rows(connection, spec.table, columns, values, conflict_clause(spec.name))
        written += len(rows)
    _derive(connection, delta, refresh_implicit(connection, touched(delta.rows)), before)
    return written


def _places_before(connection: Connection, delta: Delta) -> tuple[dict[str, int] | None] | None:
    """The templates' places in the entries' tag masks before ``delta`` is merged, when it writes a
    template (which may create one, and so move the others' places); ``None`` when it writes none."""
    return (template_slots(connection),) if template_rows(delta) else None


def _derive(
    connection: Connection, delta: Delta, tagged: list[str], before: tuple[dict[str, int] | None] | None
) -> None:
    """What is derived from the rows just merged (whether folded here or by the parse workers):
    the template lists and masks of the entries ``delta`` touched, every entry's when a template was
    created (search's facets and ``NOT tag:T``), and the propagated tags (``catalog_propagated``);
    ``tagged``: lineage's own entries written for the first time whose tags came first; ``before``:
    :func:`_places_before`."""
    if delta.rows.get("catalog_objects"):
        if before is not None and template_slots(connection) != before[0]:
            rebuild_tag_masks(connection)  # every entry's, the touched ones among them
        else:
            refresh_tag_templates(connection, touched_entries(delta))
    if tagged or any(delta.rows.get(name) for name in PROPAGATION_INPUTS):
        refresh_propagation(connection, _with_entries(delta, tagged))


def _step_from_log(store: SqlStore, connection: Connection, limit: int) -> tuple[int, int]:
    """Fold up to ``limit`` events past the mark, read back from the log (in ``connection``'s
    transaction, the projector's lock held); return how many and the new mark."""
    events = store.pending_events(connection, limit)
    if not events:
        return 0, store.log_mark(connection)
    apply_delta(connection, fold_events(events))
    mark = max(event.seq for event in events)
    store.mark_projected(connection, [mark])
    return len(events), mark


def note_folded(store: SqlStore, done: int) -> None:
    """Tell the store ``done`` events were folded (PostgreSQL refreshes its planner's statistics now
    and then: ``SqlStore.note_folded``); a failure there is logged, folding goes on."""
    try:
        store.note_folded(done)
    except Exception:  # statistics are an optimisation: folding goes on without them
        log.exception("refreshing the planner statistics failed")


def project_step(store: SqlStore, *, batch_size: int = DEFAULT_BATCH) -> tuple[int, int]:
    """Fold up to ``batch_size`` queued events into the projections; return how many were folded and
    the projector's mark after it (0 when another process holds the projector's lock)."""
    with store.write() as connection:
        if not store.try_projection_lock(connection):
            return 0, 0
        done, mark = _step_from_log(store, connection, batch_size)
    if done:
        note_folded(store, done)
    return done, mark


@dataclass(slots=True)
class _Segment:
    """Appends that followed each other in the log, folded: their events are those after ``start``
    up to ``end`` (the log's head before the first and after the last)."""

    start: int
    end: int
    packed: Packed
    events: int


class FoldAhead:
    """The server's projector: it folds what the server appends when it appends it, and applies the
    folded rows later, without reading the events back from the log.

    The writer hands over each append's folded rows (:meth:`appended`; the parse workers fold a batch
    beside parsing it, so the writer thread mostly merges rows), with the log's head before and after
    the append. Appends that follow each other in the log are merged into segments of about
    ``step_events`` events; a :meth:`step` applies the oldest segment that starts at or before the
    projector's mark, in one transaction with the new mark. Events that no segment covers (appended by
    another server on the same PostgreSQL store, or appended while ``limit_events`` were held already,
    or before the server started) are read back and folded from the log, as :func:`project_step` does.
    Applying rows of events folded already changes nothing (every merge rule is idempotent), so a
    segment that starts before the mark is still whole.
    """

    def __init__(self, *, step_events: int = DEFAULT_BATCH, limit_events: int = FOLD_AHEAD_EVENTS) -> None:
        self.step_events = step_events
        self.limit_events = limit_events
        self._segments: deque[_Segment] = deque()
        #: Events held in segments.
        self.held = 0

    def appended(self, before: int, head: int, inserted: int, packed: Packed) -> None:
        """Keep the fold of an append that stored ``inserted`` new events after ``before`` up to ``head``."""
        if inserted <= 0 or head <= before:
            return  # nothing new: nothing to fold
        if self.held + inserted > self.limit_events:
            return  # the projector reads these back from the log
        last = self._segments[-1] if self._segments else None
        if last is not None and last.end == before and last.events < self.step_events:
            last.packed.merge(packed)
            last.end = head
            last.events += inserted
        else:
            self._segments.append(_Segment(before, head, packed, inserted))
        self.held += inserted

    def clear(self) -> None:
        """Forget every segment (the projector reads their events back from the log)."""
        self._segments.clear()
        self.held = 0

    def step(self, store: SqlStore, *, batch_size: int = DEFAULT_BATCH) -> tuple[int, int]:
        """Fold the next events past the projector's mark: a segment when one starts there, else up to
        ``batch_size`` events from the log; return how many were folded and the mark after it (0 when
        another process holds the projector's lock)."""
        segments = self._segments
        applied: _Segment | None = None
        try:
            with store.write() as connection:
                if not store.try_projection_lock(connection):
                    return 0, 0
                mark = store.log_mark(connection)
                while segments and segments[0].end <= mark:  # folded already (by another server)
                    self.held -= segments.popleft().events
                first = segments[0] if segments else None
                if first is not None and first.start <= mark:
                    apply_packed(connection, first.packed)
                    store.set_log_mark(connection, first.end)
                    applied = first
                    done, mark = first.events, first.end
                else:
                    # Only what lies before the first segment: the segment covers the rest.
                    limit = batch_size if first is None else min(batch_size, first.start - mark)
                    done, mark = _step_from_log(store, connection, limit)
        except Exception:
            self.clear()  # the log is the reference: the next steps read it
            raise
        if applied is not None and segments and segments[0] is applied:
            self.held -= segments.popleft().events
        if done:
            note_folded(store, done)
        return done, mark


def project_pending(store: SqlStore, *, batch_size: int = DEFAULT_BATCH) -> int:
    """Fold up to ``batch_size`` queued events into the projections; return how many were folded."""
    return project_step(store, batch_size=batch_size)[0]


def project_all(
    store: SqlStore,
    *,
    batch_size: int = DEFAULT_BATCH,
    progress: Callable[[int], None] | None = None,
    workers: int | None = None,
) -> int:
    """Fold every queued event; return how many were folded. A backlog of many steps is folded with
    worker processes (:mod:`threadline.projection.catch_up`): by default one per core when it holds
    ``MIN_EVENTS`` or more; ``workers`` of them for any backlog of more than one step when given (0
    or 1: in this process only). The first step is folded here: a backlog shorter than a step (the
    SDK's, a catalog change's) costs no query more."""
    at_least = MIN_EVENTS if workers is None else 1
    total, asked = 0, False
    while True:
        done = project_pending(store, batch_size=batch_size)
        if done == 0:
            return total
        total += done
        if progress is not None:
            progress(done)
        if done == batch_size and not asked:  # a full step: maybe a long backlog (a small one costs no query)
            asked = True
            total += fold_backlog(
                store, batch_size=batch_size, workers=workers, progress=progress, min_events=at_least
            )


def reindex(
    store: SqlStore,
    *,
    batch_size: int = DEFAULT_BATCH,
    progress: Callable[[int], None] | None = None,
    workers: int | None = None,
) -> int:
    """Drop every projection and rebuild it from the log; return how many events were folded
    (``workers``: as for :func:`project_all`)."""
    with store.write() as connection:
        store.requeue_all(connection)
    return project_all(store, batch_size=batch_size, progress=progress, workers=workers)
