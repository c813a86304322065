"""Read-your-writes: a read waits (a bounded time) until the projections hold what was acknowledged.

The log is written first and folded into the projections (what reads are answered from) after, by the
projector. Without more, a client that posts an event and reads at once may not find it. So every
read this server answers first waits until the projector's mark has reached

* the log's head when this server last acknowledged an append (what *this* server acknowledged), and,
  on PostgreSQL, where other servers may append to the same store,
* the log's head when the read arrived (what *any* server acknowledged before it),

(a "read" is any request under ``/api/`` but ingest and the few listed in ``_NO_WAIT``: writes that
check against the projections wait too) for at most ``read_wait`` seconds (setting ``read_wait``; 0
turns the wait off). A waiting read asks the projector to fold at once (``Writer.hurry``): one step
folds everything appended up to then, so reads arriving together share it. When the bound is hit the
answer is given anyway, with the header ``X-Threadline-Projection-Lag`` saying by how many log
sequence numbers it is behind (``projectionLag`` in ``GET /api/v1/health`` counts the events).

:class:`ProjectionClock` keeps the two marks this server knows (acknowledged, folded) and wakes the
waiting reads when the writer thread folds; :class:`ReadYourWrites` is the ASGI middleware.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable

from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from threadline.store.sql import SqlStore

#: The answer's header that says the read may miss this many of the latest log sequence numbers.
LAG_HEADER = b"x-threadline-projection-lag"
#: How often a waiting read looks at the store's mark when another process may be the one folding.
POLL_SECONDS = 0.02
#: Ingest: appending reads no projection, and a batch load must not wait for the fold of the one before.
_INGEST = frozenset({("POST", "/api/v1/lineage"), ("POST", "/api/v1/lineage/batch")})
#: Requests that never wait: health (it reports the lag), metrics, the API docs, and what is read from
#: the log or the object store rather than the projections (sync pushes and pulls, objects).
_NO_WAIT = (
    "/api/v1/health",
    "/metrics",
    "/api/docs",
    "/api/openapi.json",
    "/api/v1/sync/",
    "/api/v1/objects/",
)


class ProjectionClock:
    """The log sequence numbers this server has acknowledged and seen folded; reads wait on it."""

    def __init__(
        self,
        store: SqlStore,
        *,
        wait_seconds: float,
        hurry: Callable[[], None] = lambda: None,
        on_folded: Callable[[int], None] = lambda mark: None,
        failing: Callable[[], bool] = lambda: False,
    ) -> None:
        """``hurry`` asks the local projector to fold now; ``on_folded(mark)`` is told of each new mark
        (the lineage index looks at the store again); ``failing()`` says the local projector's last
        step failed (reads then do not wait for it: they are answered at once, marked stale)."""
        self.store = store
        self.wait_seconds = wait_seconds
        self.hurry = hurry
        self.on_folded = on_folded
        self.failing = failing
        #: Other processes may append to the store: a read also waits for the log's head.
        self.shared = store.backend == "postgresql"
        #: The log's head after the last append this server acknowledged.
        self.acknowledged = 0
        #: The highest projector mark this server has seen.
        self.folded = 0
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None
        self._waiting = 0
        #: Reads answered after the wait timed out (health).
        self.stale_reads = 0

    # ---- told by the writer thread (or any thread) -----------------------------------------------

    def acknowledge(self, head: int) -> None:
        """An append up to ``head`` is committed and about to be acknowledged."""
        with self._lock:
            self.acknowledged = max(self.acknowledged, head)

    def fold(self, mark: int) -> None:
        """The projections hold the log up to ``mark``; wake the reads waiting for it."""
        with self._lock:
            if mark <= self.folded:
                return
            self.folded = mark
            waiting, loop = self._waiting, self._loop
        self.on_folded(mark)
        if waiting and loop is not None:
            with contextlib.suppress(RuntimeError):  # that loop is closed: nobody waits
                loop.call_soon_threadsafe(self._notify)

    def _notify(self) -> None:
        if self._wake is not None:
            self._wake.set()
            self._wake = None

    # ---- on the event loop ------------------------------------------------------------------------

    async def settle(self) -> int:
        """Wait until the projections hold what a read must see (bounded by :attr:`wait_seconds`);
        return by how many log sequence numbers they still miss (0: nothing)."""
        if self.wait_seconds <= 0:
            return 0
        target = self.acknowledged
        if self.shared:
            head, mark = await run_in_threadpool(self.store.freshness)
            self.fold(mark)
            target = max(target, head)
        if self.folded >= target:
            return 0
        if self.failing():  # waiting would not help: say how stale the answer is, at once
            self.stale_reads += 1
            return target - self.folded
        loop = asyncio.get_running_loop()
        self._loop = loop
        deadline = loop.time() + self.wait_seconds
        self._waiting += 1  # from here on, a fold wakes this read (no fold is missed between waits)
        try:
            self.hurry()
            while self.folded < target:
                remaining = deadline - loop.time()
                if remaining <= 0:
                    self.stale_reads += 1
                    return target - self.folded
                timeout = min(remaining, POLL_SECONDS) if self.shared else remaining
                if not await self.next_fold(timeout) and self.shared:
                    # another server may be the one folding: look at the mark
                    self.fold((await run_in_threadpool(self.store.freshness))[1])
                    self.hurry()  # and fold here if that server is gone
            return 0
        finally:
            self._waiting -= 1

    async def next_fold(self, seconds: float) -> bool:
        """Wait until this server's projector folds something, at most ``seconds``; whether it did."""
        self._loop = asyncio.get_running_loop()
        self._waiting += 1
        try:
            if self._wake is None:
                self._wake = asyncio.Event()
            try:
                await asyncio.wait_for(self._wake.wait(), seconds)
            except TimeoutError:
                return False
            return True
        finally:
            self._waiting -= 1

    def status(self) -> dict[str, int | float]:
        """What health shows."""
        return {
            "acknowledged": self.acknowledged,
            "folded": self.folded,
            "readWaitSeconds": self.wait_seconds,
            "staleReads": self.stale_reads,
        }


class ReadYourWrites:
    """ASGI middleware: requests under ``/api/`` wait on the :class:`ProjectionClock` first; an answer
    given before the projections caught up carries ``X-Threadline-Projection-Lag``.

    Not only ``GET``: a search is a ``POST`` (``catalog:search``, as in Data Catalog), and a write that
    checks what it writes against the projections (a tag on a dataset posted a moment ago, a catalog
    file applied after a lineage batch) must find them current too. Ingest never waits (``_INGEST``).
    """

    def __init__(self, app: ASGIApp, clock: ProjectionClock) -> None:
        self.app = app
        self.clock = clock

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] == "OPTIONS"
            or not scope["path"].startswith("/api/")
            or (scope["method"], scope["path"].rstrip("/")) in _INGEST
            or scope["path"].startswith(_NO_WAIT)
        ):
            await self.app(scope, receive, send)
            return
        lag = await self.clock.settle()
        if not lag:
            await self.app(scope, receive, send)
            return
        header = (LAG_HEADER, str(lag).encode())

        async def send_with_lag(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), header]}
            await send(message)

        await self.app(scope, receive, send_with_lag)
