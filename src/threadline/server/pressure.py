"""Back-pressure: ingest answers 503 with ``Retry-After`` while the server cannot keep up.

Two things can fall behind: the **writer queue** (events handed to the writer thread and not yet
committed: held in memory, and each request waits for its commit) and the **projection** (events
committed to the log and not yet folded into the tables that reads answer from). When either is over
its limit, ``POST /api/v1/lineage`` and ``/api/v1/lineage/batch`` are refused *before their body is
read*, with 503 Service Unavailable and ``Retry-After``, so a client finds out at once and retries
later, instead of queueing work the server cannot commit soon or waiting until it times out. Nothing
already accepted is dropped: a refused request was never acknowledged, and every acknowledged event
was committed first (see :mod:`threadline.server.writer`).

503 and not 429: the OpenLineage Python client's HTTP transport retries 500, 502, 503 and 504 by
default (``openlineage.client.transport.http_common.DEFAULT_RETRY_CONFIG``: 5 retries, backoff 0.3 s,
through urllib3, which waits what ``Retry-After`` says on a 503), not 429; and the condition is the
server's, not one client's rate.

The queue depth is read live (a counter in the writer); the projection lag is sampled by a background
thread every :data:`SAMPLE_SECONDS` (see :func:`projection_backlog`; less often when the lag is so long
that counting it takes a while, see :data:`SAMPLE_PAUSE_FACTOR`), so the check on each request costs a
few comparisons.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import func, select

from threadline.errors import Overloaded
from threadline.redact import redact_text
from threadline.store import schema
from threadline.store.sql import SqlStore

log = logging.getLogger(__name__)

#: How often the projection lag is sampled (seconds), at most.
SAMPLE_SECONDS = 0.5
#: On PostgreSQL a sample's count takes time in proportion to the lag: the thread waits at least this
#: many times as long as the last sample took, so it never takes more than a twentieth of a core, even
#: with a lag of millions of events.
SAMPLE_PAUSE_FACTOR = 20
#: The longest ``Retry-After`` given for a projection lag (seconds): the OpenLineage Python client
#: waits it up to 5 times before it gives up on an event.
MAX_RETRY_AFTER = 10


@dataclass(frozen=True, slots=True)
class Backlog:
    """What the projection has still to fold: how many events, and how long the oldest has waited."""

    events: int
    seconds: float


def projection_backlog(store: SqlStore) -> Backlog:
    """The events logged and not yet folded into the projections, and the age of the oldest of them
    (seconds since it was received; 0 with none).

    On SQLite the count is the last sequence number less the projector's mark: SQLite numbers rows
    one after the other with no gaps (the log is never deleted from, a duplicate takes no number), and
    counting rows costs a walk over the rows themselves, events and all (570 ms for a lag of 300,000
    events of 1 KB, against a few microseconds). PostgreSQL's sequence skips a number for each
    duplicate, so there the rows are counted, over the primary key's index."""
    events = schema.events
    # Each statement its own transaction: a sample never holds one table's lock while it asks for
    # another's, so it cannot deadlock with DDL (a migration, a schema dropped) taking them in turn.
    with store.engine.connect() as opened:
        connection = opened.execution_options(isolation_level="AUTOCOMMIT")
        mark = store.log_mark(connection)
        if store.backend == "sqlite":
            count = max(0, (connection.scalar(select(func.max(events.c.seq))) or 0) - mark)
        else:
            count = connection.scalar(select(func.count()).where(events.c.seq > mark)) or 0
        if not count:
            return Backlog(0, 0.0)
        oldest = connection.scalar(
            select(events.c.received_at).where(events.c.seq > mark).order_by(events.c.seq).limit(1)
        )
    age = time.time() - oldest / 1e6 if oldest is not None else 0.0
    return Backlog(int(count), max(0.0, age))


class BackPressure:
    """Decides whether ingest takes more work; samples the projection lag in a background thread.

    ``max_queue``: most events waiting for the writer (0: no limit); ``max_lag_seconds``: the oldest
    unfolded event's greatest age (0: no limit). ``on_error`` is called when a sample fails (a store
    error, counted by the metrics).
    """

    def __init__(
        self,
        store: SqlStore,
        queue_depth: Callable[[], int],
        *,
        max_queue: int,
        max_lag_seconds: float,
        backlog: Callable[[SqlStore], Backlog] = projection_backlog,
        on_error: Callable[[], None] | None = None,
        sample_seconds: float = SAMPLE_SECONDS,
    ) -> None:
        self.store = store
        self.queue_depth = queue_depth
        self.max_queue = max_queue
        self.max_lag_seconds = max_lag_seconds
        self.backlog_of = backlog
        self.on_error = on_error
        self.sample_seconds = sample_seconds
        #: The last sample of the projection's backlog.
        self.backlog = Backlog(0, 0.0)
        #: Requests refused, by reason (``writer_queue``, ``projection_lag``).
        self.refused: dict[str, int] = {"writer_queue": 0, "projection_lag": 0}
        #: When the current spell of back-pressure began (monotonic), None without one.
        self._since: float | None = None
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    # ---- the check on each ingest request -------------------------------------------------------

    def check(self) -> None:
        """Raise :class:`Overloaded` (503, with the seconds to wait) when ingest must wait."""
        if self.max_queue:
            depth = self.queue_depth()
            if depth >= self.max_queue:
                self._refuse("writer_queue")
                msg = (
                    f"the server is busy: {depth} events are waiting to be written, its limit is "
                    f"{self.max_queue} (max_writer_queue); nothing of this request was stored, "
                    "retry after the Retry-After seconds"
                )
                raise Overloaded(msg, retry_after=1, reason="writer_queue")
        if self._lagging():
            backlog = self.backlog
            self._refuse("projection_lag")
            over = backlog.seconds - self.max_lag_seconds
            retry_after = min(MAX_RETRY_AFTER, max(1, math.ceil(over)))
            msg = (
                f"the server is behind: {backlog.events} events are not yet in its lineage, the "
                f"oldest for {backlog.seconds:.1f} s; its limit is {self.max_lag_seconds:g} s "
                "(max_projection_lag); nothing of this request was stored, retry after the "
                "Retry-After seconds"
            )
            raise Overloaded(msg, retry_after=retry_after, reason="projection_lag")

    def _lagging(self) -> bool:
        """Whether the projection lag is over its limit. Not on a store that refuses writes: the
        projector cannot fold there, and a write's own answer says why better (503, read-only)."""
        return (
            bool(self.max_lag_seconds)
            and self.backlog.seconds >= self.max_lag_seconds
            and getattr(self.store, "write_problem", None) is None
        )

    def _refuse(self, reason: str) -> None:
        self.refused[reason] += 1
        if self._since is None:
            self._since = time.monotonic()
            log.warning(
                "back-pressure: ingest answers 503 with Retry-After until the %s is under its limit "
                "(writer queue %d events, limit %d; projection lag %.1f s, limit %g s)",
                reason.replace("_", " "),
                self.queue_depth(),
                self.max_queue,
                self.backlog.seconds,
                self.max_lag_seconds,
            )

    def _note_recovery(self) -> None:
        """Say in the log that a spell of back-pressure is over (once nothing is over its limit)."""
        if self._since is not None and self.active() is None:
            log.warning(
                "back-pressure over after %.1f s: ingest accepted again", time.monotonic() - self._since
            )
            self._since = None

    def active(self) -> str | None:
        """What is over its limit now (``writer_queue`` or ``projection_lag``), or None."""
        if self.max_queue and self.queue_depth() >= self.max_queue:
            return "writer_queue"
        if self._lagging():
            return "projection_lag"
        return None

    def status(self) -> dict[str, object]:
        """The ``backPressure`` of ``GET /api/v1/health``."""
        backlog = self.backlog
        return {
            "active": self.active() is not None,
            "reason": self.active(),
            "writerQueue": self.queue_depth(),
            "maxWriterQueue": self.max_queue,
            "projectionLagEvents": backlog.events,
            "projectionLagSeconds": round(backlog.seconds, 3),
            "maxProjectionLag": self.max_lag_seconds,
            "refused": dict(self.refused),
        }

    # ---- the sampling thread --------------------------------------------------------------------

    def sample(self) -> Backlog:
        """Sample the projection's backlog now (the thread does it every ``sample_seconds``)."""
        self.backlog = self.backlog_of(self.store)
        return self.backlog

    def start(self) -> None:
        """Sample the projection lag in a background thread until :meth:`stop`."""
        if self._thread is not None:
            return
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name="threadline-back-pressure", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the sampling thread."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(10)
            self._thread = None

    def _run(self) -> None:
        failing = False
        while not self._stopping.is_set():
            started = time.monotonic()
            try:
                self.sample()
                failing = False
                self._note_recovery()
            except Exception as exc:  # a store that is busy or down: keep the last sample, say it once
                if self.on_error is not None:
                    self.on_error()
                if not failing:
                    log.warning("could not sample the projection lag: %s", redact_text(str(exc)))
                failing = True
            took = time.monotonic() - started
            self._stopping.wait(max(self.sample_seconds, SAMPLE_PAUSE_FACTOR * took))
