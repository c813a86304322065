"""Federation: a server that pulls from other threadline servers on a schedule.

``threadline serve --pull-from REMOTE [--pull-every SECONDS] [--pull-filter QUERY]`` starts one
background thread that, every ``SECONDS``, pulls each remote in turn exactly as ``threadline pull``
does (same marks, same filters, nothing pulled twice). Pulled pages go through the server's writer,
so one thread writes the store and the projection folds them like any ingested batch. A remote that
cannot be reached is logged and tried again next round; the others are not held up. What happened
last is in ``GET /api/v1/health`` under ``federation``.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import traceback
from dataclasses import dataclass, field
from typing import Any

from threadline.errors import ThreadlineError
from threadline.openlineage.events import ParsedEvent
from threadline.openlineage.timestamps import format_time, now_micros
from threadline.redact import redact_text
from threadline.server.pressure import BackPressure
from threadline.server.writer import Writer
from threadline.store.base import AppendResult
from threadline.store.sql import SqlStore
from threadline.sync.filters import PullFilter
from threadline.sync.pull import pull
from threadline.sync.remotes import ServerRemote

log = logging.getLogger("threadline.federation")

#: How long one page may wait for the writer, seconds.
WRITE_TIMEOUT = 300.0
#: How often a pull paused by back-pressure looks again, seconds.
PRESSURE_PAUSE = 0.5


@dataclass
class RemoteState:
    """The last pull from one remote, for ``/api/v1/health``."""

    remote: str
    last_pull: int | None = None
    last_error: str | None = None
    events_pulled: int = 0
    events_stored: int = 0

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape shown in the health answer."""
        return {
            "remote": self.remote,
            "lastPull": format_time(self.last_pull),
            "lastError": self.last_error,
            "eventsPulled": self.events_pulled,
            "eventsStored": self.events_stored,
        }


@dataclass
class Federation:
    """Pull from ``remotes`` every ``every`` seconds, with ``wanted`` (see the module docstring)."""

    store: SqlStore
    writer: Writer
    remotes: list[ServerRemote]
    every: float = 60.0
    wanted: PullFilter = field(default_factory=PullFilter)
    #: The server's back-pressure: while it is active, pulled pages wait before they are written.
    pressure: BackPressure | None = None
    states: list[RemoteState] = field(init=False)
    #: Whether pulling waits for back-pressure to end (``GET /api/v1/health``'s ``federation``).
    paused: bool = field(init=False, default=False)

    def __post_init__(self) -> None:
        self.states = [RemoteState(str(remote)) for remote in self.remotes]
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def start(self) -> None:
        """Start pulling (call from the server's event loop: pages are written through it)."""
        if not self.remotes or self._thread is not None:
            return
        self._loop = asyncio.get_running_loop()
        self._thread = threading.Thread(target=self._run, name="threadline-federation", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop after the page in hand."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def to_dict(self) -> dict[str, Any]:
        """The state of every remote, for ``/api/v1/health``."""
        return {
            "every": self.every,
            "filter": self.wanted.describe(),
            "pausedByBackPressure": self.paused,
            "remotes": [state.to_dict() for state in self.states],
        }

    def _append(self, events: list[ParsedEvent]) -> AppendResult:
        # Under back-pressure the server refuses its producers' events (503): pulled pages wait too,
        # rather than adding to the backlog it cannot fold (server.pressure).
        while self.pressure is not None and self.pressure.active() is not None:
            if not self.paused:
                self.paused = True
                log.info("federation: pulling paused while the server is over its limits (back-pressure)")
            if self._stop.wait(PRESSURE_PAUSE):
                break
        self.paused = False
        if self._stop.is_set():
            msg = "the server is stopping"
            raise InterruptedError(msg)
        assert self._loop is not None
        future = asyncio.run_coroutine_threadsafe(self.writer.submit(events), self._loop)
        return future.result(WRITE_TIMEOUT)

    def pull_once(self) -> None:
        """Pull every remote once."""
        for remote, state in zip(self.remotes, self.states, strict=True):
            if self._stop.is_set():
                return
            try:
                report = pull(self.store, remote, self.wanted, append=self._append)
            except ThreadlineError as exc:
                state.last_error = redact_text(exc.message)
                log.warning("federation: pulling from %s failed: %s", remote, state.last_error)
            except InterruptedError:
                return
            except Exception as exc:  # keep pulling the others, and this one next round
                # An exception's text may quote the URL it failed on, password and all.
                state.last_error = redact_text(f"{exc.__class__.__name__}: {exc}")
                log.error("federation: pulling from %s failed: %s", remote, state.last_error)
                log.debug("federation: the failed pull's traceback:\n%s", redact_text(traceback.format_exc()))
            else:
                state.last_error = None
                state.events_pulled += report.received
                state.events_stored += report.stored
                if report.stored:
                    log.info("federation: %d new events from %s", report.stored, remote)
            state.last_pull = now_micros()

    def _run(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            self.pull_once()
            self._stop.wait(max(0.0, self.every - (time.monotonic() - started)))
