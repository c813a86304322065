"""The single writer thread: every append goes through it, grouped into one transaction.

Requests put their parsed events on a queue and wait on an asyncio future. The thread takes *all*
waiting submissions at once and appends them in one transaction (group commit), so a burst of small
requests costs one commit instead of one each. A future is resolved only after the commit returned,
so an acknowledged event is durable. When no submission has arrived for ``QUIET_SECONDS``, the
thread runs ``idle_work`` (the projector) in steps: appends come first and projections catch up in
large, cheap batches when ingest pauses; under sustained load a step still runs every
``MAX_PROJECTION_DELAY`` seconds, and steps take turns with appends while more than
``PROJECTION_LAG_LIMIT`` events wait, so that reads never fall far behind. A read that must see an
acknowledged event asks for a step at once (:meth:`Writer.hurry`), which folds everything appended up
to then in one transaction, shared by the reads that arrive together. (Folding each small group in its
own append transaction instead made it readable at once, but cost every single-event post 4-5x its
CPU time, whether anyone read or not: benchmarks/README.md.) A request can announce its submission
before it has parsed its body (:meth:`Writer.expect`): a pause that only means "the next batch is
still being parsed" is then not taken for quiet (a push streams batches that way).

Each batch's fold (made by the parse workers beside parsing it) is handed to the projector with the
log range the append filled (:class:`~threadline.projection.projector.FoldAhead`), so a projection
step only merges rows into the tables: it reads nothing back from the log.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from threadline.errors import StoreError
from threadline.openlineage.events import ParsedEvent
from threadline.projection.fold import fold_packed
from threadline.projection.model import Packed
from threadline.projection.projector import FoldAhead
from threadline.store.base import AppendResult
from threadline.store.sql import SqlStore

log = logging.getLogger(__name__)

#: Seconds between idle-work attempts when nothing happens (catches up after a failed projection and
#: with events that another server appended to a shared PostgreSQL store).
IDLE_RETRY_SECONDS = 1.0
#: How long ingest must pause before the projector runs (so it folds big batches, not one event).
QUIET_SECONDS = 0.05
#: The longest the projector waits under sustained ingest when no read waits for it (a read that
#: does asks for a step at once, :meth:`Writer.hurry`). 1 s instead cost batch ingest 2-3x on a loaded
#: machine (benchmarks/README.md).
MAX_PROJECTION_DELAY = 5.0
#: Past this many acknowledged events not yet folded, projection steps take turns with appends.
PROJECTION_LAG_LIMIT = 50_000


@dataclass(slots=True)
class _Submission:
    events: list[ParsedEvent]
    future: asyncio.Future[AppendResult]
    loop: asyncio.AbstractEventLoop
    #: The fold of ``events``, when the parse workers did it.
    folded: Packed | None = None


def _resolve(future: asyncio.Future[AppendResult], result: AppendResult | BaseException) -> None:
    if future.done():  # the waiter went away (client disconnected); the events are stored anyway
        return
    if isinstance(result, BaseException):
        future.set_exception(result)
    else:
        future.set_result(result)


def split_result(submissions: list[list[ParsedEvent]], inserted: set[str]) -> list[AppendResult]:
    """Share one group's inserted ids out: an id counts as inserted for the first submission carrying it."""
    claimed: set[str] = set()
    results = []
    for events in submissions:
        mine: list[str] = []
        duplicates: list[str] = []
        for event in events:
            if event.id in inserted and event.id not in claimed:
                claimed.add(event.id)
                mine.append(event.id)
            else:
                duplicates.append(event.id)
        results.append(AppendResult(inserted=mine, duplicates=duplicates))
    return results


@dataclass(slots=True)
class WriterStats:
    """What the writer thread has done since the server started (``GET /api/v1/health``)."""

    appends: int = 0
    appended_events: int = 0
    append_seconds: float = 0.0
    largest_group: int = 0
    projection_steps: int = 0
    projected_events: int = 0
    projection_seconds: float = 0.0

    def to_dict(self) -> dict[str, float]:
        """The numbers as JSON-ready data."""
        return {
            "appends": self.appends,
            "appendedEvents": self.appended_events,
            "appendSeconds": round(self.append_seconds, 3),
            "largestGroup": self.largest_group,
            "projectionSteps": self.projection_steps,
            "projectedEvents": self.projected_events,
            "projectionSeconds": round(self.projection_seconds, 3),
        }


class Writer:
    """One thread that owns every write to the store (appends, then projection when idle)."""

    def __init__(
        self,
        store: SqlStore,
        idle_work: Callable[[], int] | None = None,
        *,
        on_append: Callable[[AppendResult], None] | None = None,
        ahead: FoldAhead | None = None,
    ) -> None:
        """``idle_work``: one projection step, returning how many events it folded;
        ``on_append``: told of each committed append before its submitters are answered; ``ahead``:
        where the fold of each append is kept for ``idle_work`` (which then applies it without reading
        the events back)."""
        self.store = store
        self.ahead = ahead
        self.idle_work = idle_work
        self.on_append = on_append
        #: Appended events not folded yet, as far as this writer knows (for ``PROJECTION_LAG_LIMIT``).
        self.unfolded = 0
        self._hurry = False
        #: Whether the last projection step failed (reads do not wait for a projector that fails).
        self.projection_failing = False
        self.stats = WriterStats()
        self._pending: list[_Submission] = []
        #: Submissions announced by :meth:`expect` and not yet made (or withdrawn).
        self._expected = 0
        #: Events submitted and not yet committed (or failed): see :meth:`queue_depth`.
        self._queued_events = 0
        self._condition = threading.Condition()
        self._stopping = False
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start the writer thread."""
        if self._thread is not None:
            return
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="threadline-writer", daemon=True)
        self._thread.start()

    def stop(self, timeout: float | None = 30.0) -> None:
        """Write everything already submitted, then stop the thread."""
        with self._condition:
            self._stopping = True
            self._condition.notify()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def expect(self) -> None:
        """Announce a submission that is on its way (a request whose body is being read and parsed):
        idle work waits for it (up to ``MAX_PROJECTION_DELAY`` since the last step) instead of filling
        the pause. Follow with ``submit(..., expected=True)`` or, if the request fails, :meth:`unexpect`."""
        with self._condition:
            self._expected += 1

    def unexpect(self) -> None:
        """Withdraw an announcement of :meth:`expect` (the request ended without submitting)."""
        with self._condition:
            self._expected = max(0, self._expected - 1)
            self._condition.notify()

    def hurry(self) -> None:
        """Run a projection step as soon as the current append is done (a read waits for it)."""
        if self.idle_work is None or self._hurry:
            return
        with self._condition:
            self._hurry = True
            self._condition.notify()

    async def submit(
        self, events: list[ParsedEvent], *, expected: bool = False, folded: Packed | None = None
    ) -> AppendResult:
        """Append ``events``; return once they are committed (what was new, what was a duplicate).
        ``expected``: this is the submission announced by :meth:`expect`; ``folded``: the fold of
        exactly ``events`` (:func:`~threadline.projection.projector.fold_packed`), if done already
        (the writer keeps it; it must not be used afterwards)."""
        if not events:
            if expected:
                self.unexpect()
            return AppendResult()
        loop = asyncio.get_running_loop()
        future: asyncio.Future[AppendResult] = loop.create_future()
        with self._condition:
            if expected:
                self._expected = max(0, self._expected - 1)
            if self._stopping or self._thread is None:
                msg = "the server is shutting down and accepts no more events; retry shortly"
                raise StoreError(msg)
            self._pending.append(_Submission(events, future, loop, folded))
            self._queued_events += len(events)
            self._condition.notify()
        try:
            return await future
        finally:
            with self._condition:
                self._queued_events -= len(events)

    def queue_depth(self) -> int:
        """How many events are waiting for the writer: submitted and not yet committed (back-pressure
        and ``GET /metrics`` read it)."""
        return self._queued_events

    # ---- the thread -----------------------------------------------------------------------------

    def _run(self) -> None:
        idle_due = self.idle_work is not None  # catch up with whatever an earlier run left queued
        last_projection = time.monotonic()
        quiet_until = 0.0
        while True:
            with self._condition:
                # a hurry asked for while the thread was busy (between an append and this wait) is
                # not a wake-up it would see: it would sleep through the quiet pause, or up to
                # MAX_PROJECTION_DELAY while a batch is announced, with a read waiting
                if not self._pending and not self._stopping and not self._hurry:
                    if not idle_due:
                        woke = self._condition.wait(IDLE_RETRY_SECONDS)
                        idle_due = not woke and self.idle_work is not None
                    elif (delay := quiet_until - time.monotonic()) > 0:
                        self._condition.wait(delay)  # give the next request a chance to come first
                    elif self._expected:
                        # An announced submission is being parsed: wait for it, until projection is due.
                        delay = last_projection + MAX_PROJECTION_DELAY - time.monotonic()
                        if delay > 0:
                            self._condition.wait(delay)
                group, self._pending = self._pending, []
                stopping = self._stopping
                expected = self._expected
                hurry, self._hurry = self._hurry, False
            now = time.monotonic()
            if hurry or self.unfolded > PROJECTION_LAG_LIMIT:
                idle_due = self.idle_work is not None
                last_projection = float("-inf")  # overdue now
            overdue = idle_due and now - last_projection >= MAX_PROJECTION_DELAY
            if group and not overdue:
                self._write(group)
                idle_due = self.idle_work is not None and (idle_due or self.unfolded > 0)
                quiet_until = time.monotonic() + QUIET_SECONDS
                continue
            if group:
                self._write(group)
            if stopping and not group:
                return
            if idle_due and (overdue or (now >= quiet_until and not expected)):
                idle_due = self._idle_step()
                last_projection = time.monotonic()

    def _idle_step(self) -> bool:
        """Run one step of idle work; return whether another step is worth running now."""
        assert self.idle_work is not None
        started = time.perf_counter()
        try:
            done = self.idle_work()
        except Exception:
            log.exception("projection failed; it is retried after the next append")
            self.projection_failing = True
            return False
        finally:
            self.stats.projection_seconds += time.perf_counter() - started
        self.projection_failing = False
        self.stats.projection_steps += 1
        self.stats.projected_events += done
        # Nothing folded: nothing pending, or another server folds (and keeps the lag in check).
        self.unfolded = max(0, self.unfolded - done) if done else 0
        return done > 0

    def _write(self, group: list[_Submission]) -> None:
        try:
            results: list[AppendResult | BaseException] = list(self._append(group))
        except Exception as exc:
            # One submission may be what the database refuses: retry each alone so the others
            # still get in and only the culprit sees the error.
            results = [exc] if len(group) == 1 else [self._append_alone(s) for s in group]
        for submission, result in zip(group, results, strict=True):
            # RuntimeError: that event loop is closed, so nobody waits any more.
            with contextlib.suppress(RuntimeError):
                submission.loop.call_soon_threadsafe(_resolve, submission.future, result)

    def _append(self, group: list[_Submission]) -> list[AppendResult]:
        events = [event for submission in group for event in submission.events]
        started = time.perf_counter()
        folded = self._fold(group) if self.ahead is not None else None
        result = self.store.append(events)
        self.unfolded += len(result.inserted)
        if self.ahead is not None and folded is not None:
            self.ahead.appended(result.before, result.head, len(result.inserted), folded)
        if self.on_append is not None:
            self.on_append(result)
        stats = self.stats
        stats.append_seconds += time.perf_counter() - started
        stats.appends += 1
        stats.appended_events += len(events)
        stats.largest_group = max(stats.largest_group, len(events))
        return split_result([submission.events for submission in group], set(result.inserted))

    @staticmethod
    def _fold(group: list[_Submission]) -> Packed | None:
        """The fold of a group's events, when the parse workers folded some of them: theirs, merged,
        and the rest folded here in one call. ``None`` when they folded none of them (single-event
        posts: folding those here, one small group at a time, cost the writer thread more than the
        projector's later fold of them from the log, in thousands at once) or when folding fails;
        the projector then reads the events back from the log."""
        packed: Packed | None = None
        rest: list[ParsedEvent] = []
        try:
            for submission in group:
                part = submission.folded
                submission.folded = None  # merged into the group's below: not to be used twice
                if part is None:
                    rest.extend(submission.events)
                elif packed is None:
                    packed = part
                else:
                    packed.merge(part)
            if packed is not None and rest:
                packed.merge(fold_packed(rest))
        except Exception:
            return None
        return packed

    def _append_alone(self, submission: _Submission) -> AppendResult | BaseException:
        try:
            return self._append([submission])[0]
        except Exception as exc:
            return exc
