"""Folding a long backlog of the log with worker processes: a reindex, a bulk ingest or load, a pull.

The projector folds the log a step at a time: it reads a step's events back, folds them in Python (most
of the time: ~60 of ~125 us an event on SQLite) and merges the folded rows into the tables. A step's
fold is a pure function of its events, and the folds of consecutive steps merge in any order (the
server's parse workers rely on it, ``FoldAhead``): so for a backlog of many steps, worker processes
read and fold the next steps while this process merges the folded rows of the one before
(:func:`~threadline.projection.projector.apply_packed`, the server's path), in log order, moving the
projector's mark after each, in a transaction each, as the serial fold does. The tables end up the
same (``tests/projection/test_catch_up.py`` compares them with the serial fold's).

Unless asked for a number of workers, nothing is done here below :data:`MIN_EVENTS` pending events:
starting the workers (a fresh interpreter each, importing threadline: about a second) costs more than
it saves. Nor on an in-memory SQLite store, with one worker, or when no process can start (at the
interpreter's exit, where the SDK folds what it tracked). When another projector moves the mark
meanwhile (another server on the same PostgreSQL store), this stops and the serial fold goes on from
the mark. Ctrl+C drops the steps not started and waits for the workers to finish theirs (they ignore
it: interrupted in the middle of a step, a worker leaves its pool broken and its shutdown hanging).
"""

from __future__ import annotations

import logging
import os
import signal
from collections import deque
from collections.abc import Callable
from concurrent.futures import BrokenExecutor
from typing import TYPE_CHECKING

from threadline.projection.fold import fold_packed
from threadline.projection.model import Packed
from threadline.store.sql import SqlStore, open_store

if TYPE_CHECKING:
    from concurrent.futures import Executor, Future

log = logging.getLogger(__name__)

#: Fewer pending events than this are folded serially (the workers' start-up would cost more).
MIN_EVENTS = 50_000
#: At most this many worker processes (the merge in this process is the next bottleneck).
MAX_WORKERS = 4

_stores: dict[str, SqlStore] = {}


def default_workers() -> int:
    """Worker processes for a backlog: one per CPU core, at most :data:`MAX_WORKERS`."""
    return max(1, min(MAX_WORKERS, os.cpu_count() or 1))


def _fold_step(url: str, after: int, upto: int) -> tuple[Packed, int]:
    """In a worker: the fold of the events logged after ``after`` up to ``upto``, and their count."""
    store = _stores.get(url)
    if store is None:
        store = _stores[url] = open_store(url, create=False)
    with store.read() as connection:
        events = store.logged_range(connection, after, upto)
    return fold_packed(events), len(events)


def _start_pool(count: int) -> Executor | None:
    """``count`` worker processes, or ``None`` when none can start (logged)."""
    try:  # imported here: the SDK folds what it tracked at exit, when a pool cannot start any more
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        # spawned, not forked: no copy of this process's threads and open connections
        context = multiprocessing.get_context("spawn")
        return ProcessPoolExecutor(max_workers=count, mp_context=context, initializer=_ignore_interrupts)
    except RuntimeError as exc:  # "can't register atexit after shutdown"
        log.info("the backlog is folded in this process only: %s", exc)
        return None


def _ignore_interrupts() -> None:
    """In a worker: Ctrl+C is this process's to handle (it stops the workers after their step); a
    worker interrupted in the middle of a step leaves the pool broken and its shutdown waiting."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _in_memory(store: SqlStore) -> bool:
    return store.backend == "sqlite" and store.engine.url.database in (None, "", ":memory:")


def fold_backlog(
    store: SqlStore,
    *,
    batch_size: int,
    workers: int | None = None,
    progress: Callable[[int], None] | None = None,
    min_events: int = MIN_EVENTS,
) -> int:
    """Fold the backlog past the projector's mark with ``workers`` processes (default
    :func:`default_workers`) when it holds at least ``min_events`` events; return how many were
    folded (0: nothing was done here, the caller folds serially)."""
    from threadline.projection.projector import apply_packed, note_folded

    count = default_workers() if workers is None else workers
    if count < 2 or _in_memory(store):
        return 0
    with store.read() as connection:
        steps = store.backlog_steps(connection, batch_size, at_least=min_events)
    if len(steps) < 2:
        return 0
    pool = _start_pool(count)
    if pool is None:
        return 0
    total = 0
    with pool:
        queue = iter(steps)
        running: deque[tuple[tuple[int, int, int], Future[tuple[Packed, int]]]] = deque()

        def submit() -> None:
            step = next(queue, None)
            if step is not None:
                running.append((step, pool.submit(_fold_step, store.url, step[0], step[1])))

        for _ in range(count + 1):  # the workers busy and one step ready: a few steps' rows in memory
            submit()
        try:
            while running:
                (after, upto, _), future = running.popleft()
                try:
                    packed, events = future.result()
                except BrokenExecutor as exc:  # a worker died (killed, out of memory)
                    log.warning("a fold worker stopped (%s): the rest of the backlog is folded here", exc)
                    break
                submit()
                with store.write() as connection:
                    if not store.try_projection_lock(connection) or store.log_mark(connection) != after:
                        log.info("another projector folds this store: the backlog is folded serially")
                        break
                    apply_packed(connection, packed)
                    store.set_log_mark(connection, upto)
                note_folded(store, events)
                total += events
                if progress is not None:
                    progress(events)
        finally:  # the steps not started are dropped; the workers finish theirs and stop
            pool.shutdown(wait=True, cancel_futures=True)
    return total
