"""A SQLite store's WAL checkpoints, taken by a thread of their own instead of by the writer.

In WAL mode a commit appends pages to the ``-wal`` file; a *checkpoint* copies them back into the
database file and syncs it. By default the connection whose commit takes the WAL past 1,000 pages
runs that checkpoint inside its commit, so the server's single writer (which appends every event and
applies every projection step) spends its own time syncing the database: in a 1,000-tag
``tags:batch`` request on a 100,000-entry catalog, about a third of the request.

A long-running process that writes a lot (the server) opens its store with ``background_checkpoint``:
its connections checkpoint on their own only past :data:`WRITER_LIMIT_PAGES`, and
:class:`Checkpointer` runs a ``PASSIVE`` checkpoint every :data:`INTERVAL_SECONDS` on a connection of
its own. ``PASSIVE`` never waits for the writer or the readers: it copies what no reader still needs
and leaves the rest for the next round, and SQLite starts the WAL from its beginning again at the
next write once everything was copied. The sqlite3 module releases the GIL while SQLite works, so the
copy and the sync overlap the writer. Nothing is less durable: a checkpoint only moves committed
pages from one file of the database to the other.

Measured (``tags:batch``, 1,000 tags a request, on a 100,000-entry catalog): 5,000 tags at 3,000
tags/s instead of 2,200, and 20,000 without a pause at 2,400 instead of 2,060 (the copying still has
to be done, beside the writer instead of inside it).

SQLite offers no hook to Python when a commit is done (``sqlite3_wal_hook`` is not exposed), so the
thread runs on a clock; a round with nothing to copy returns at once. Each round opens and closes
its own connection: held open, it would keep a read-only store read-only after its files were
fixed (``store/writable.py``). For the same reason no round runs while the store refuses writes
(``paused``): the thread's connection is not one of the engine's, so the store cannot close it with
the others, and one opened at the moment the last of those closes would hand the read-only ``-shm``
mapping on to the next (a full CI run saw a store made writable again refuse every write for 10 s,
no connection of the engine open).
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Callable
from urllib.parse import quote

log = logging.getLogger(__name__)

#: How often the thread checkpoints.
INTERVAL_SECONDS = 0.5

#: The WAL size (in pages of 4 KiB, so 64 MiB) past which a committing connection still checkpoints
#: by itself. Under writes that never pause, this bounds the WAL: SQLite starts the WAL again only when
#: a writer begins after everything was copied, and that writer's own checkpoint finds most pages
#: copied by the thread already.
WRITER_LIMIT_PAGES = 16_384


class Checkpointer:
    """Checkpoints the WAL of the SQLite database at ``path`` every ``interval`` seconds until
    :meth:`stop`. A round that fails (a busy or read-only file) is logged and the next one tries
    again; a file that can no longer be opened stops the thread with a warning. While ``paused()``
    says so (the store refuses writes) no round runs and no connection is opened."""

    def __init__(
        self,
        path: str,
        *,
        interval: float = INTERVAL_SECONDS,
        paused: Callable[[], bool] = lambda: False,
    ) -> None:
        self.path = path
        self.interval = interval
        self.paused = paused
        #: Rounds run, and what the last one saw: the WAL's frames and how many of them are in the
        #: database file (for tests and diagnosis).
        self.rounds = 0
        self.last: tuple[int, int] = (0, 0)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="threadline-checkpoint", daemon=True)

    def start(self) -> Checkpointer:
        """Start the thread; returns ``self``."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop the thread after a last round (so a clean stop leaves little in the WAL)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def _run(self) -> None:
        # the file as it is (mode=rw): a file removed meanwhile is not created again, empty
        uri = f"file:{quote(self.path)}?mode=rw"
        while True:
            stopping = self._stop.wait(self.interval)
            if self.paused():
                if stopping:
                    return
                continue
            try:
                # a connection for the round only: one held open would keep a read-only mapping of
                # the -shm file alive for every connection of the process, and a store made writable
                # again would stay read-only (store/writable.py)
                connection = sqlite3.connect(uri, uri=True, timeout=0.2)
            except sqlite3.Error as exc:  # the file is gone: commits checkpoint by themselves
                log.warning("threadline: background checkpoints of %s stopped: %s", self.path, exc)
                return
            try:
                self.checkpoint(connection)
            finally:
                connection.close()
            if stopping:
                return

    def checkpoint(self, connection: sqlite3.Connection) -> None:
        """One ``PASSIVE`` checkpoint round on ``connection``."""
        try:
            busy, frames, copied = connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        except sqlite3.Error as exc:
            log.debug("threadline: checkpoint of %s skipped: %s", self.path, exc)
            return
        del busy  # PASSIVE never waits: a busy round copies less and the next one goes on
        self.rounds += 1
        self.last = (frames, copied)
