"""Transports: where the events of tracked runs go. One small class per kind, as in
``openlineage-python``: each has a ``kind``, ``emit(events)`` and ``close()``.

- ``embedded`` appends to the project's store (``parse_event`` then ``SqlStore.append``) and folds the
  new events into the projections. If the store cannot take them (locked for too long, a full disk),
  they are written to the journal instead, and ``threadline journal flush`` appends them later.
- ``http`` writes every batch to the journal first (fsync'ed), then posts what the journal holds to
  ``<url>/api/v1/lineage/batch``; a segment is removed only after a 2xx. A server that is down costs a
  refused connection, after which sending backs off (1 s doubling to 60 s) while events collect on disk.
- ``file`` appends JSON lines to a file; ``console`` writes them to stderr; ``off`` drops them.

Transports run on the tracking thread only (see ``emitter``), never on the user's thread.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import logging
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from threadline.errors import InvalidEvent, ThreadlineError
from threadline.tracking.journal import DeliveryReport, Journal, Outcome

if TYPE_CHECKING:
    from threadline.store.sql import SqlStore

log = logging.getLogger("threadline.tracking")

BATCH_PATH = "/api/v1/lineage/batch"
#: Bodies larger than this are sent gzip-compressed.
GZIP_FROM = 8 * 1024
BACKOFF_START = 1.0
BACKOFF_MAX = 60.0


class Transport:
    """Base of every transport."""

    kind: ClassVar[str] = ""
    #: Called at each step of a long delivery (the tracker's exit waits for as long as there are).
    progress: Callable[[], None] | None = None

    def emit(self, events: Sequence[bytes]) -> None:
        """Deliver (or durably queue) serialized events."""
        raise NotImplementedError

    def _step(self) -> None:
        if self.progress is not None:
            self.progress()

    def retry_in(self) -> float | None:
        """Seconds until :meth:`retry` should be called, or ``None`` when nothing waits."""
        return None

    def retry(self, *, force: bool = False) -> DeliveryReport | None:
        """Try again to deliver what waits in the journal (``force``: even while backing off)."""
        return None

    def close(self) -> None:
        """Release what the transport holds."""


class OffTransport(Transport):
    """Drops every event."""

    kind = "off"

    def emit(self, events: Sequence[bytes]) -> None:
        """Nothing to do."""


class ConsoleTransport(Transport):
    """Writes each event as a line of JSON to stderr."""

    kind = "console"

    def emit(self, events: Sequence[bytes]) -> None:
        """Print the events."""
        for event in events:
            sys.stderr.write(event.decode() + "\n")
        sys.stderr.flush()


class FileTransport(Transport):
    """Appends each event as a line of JSON to a file (``threadline ingest`` reads it back)."""

    kind = "file"

    def __init__(self, path: Path) -> None:
        self.path = path

    def emit(self, events: Sequence[bytes]) -> None:
        """Append the events."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("ab") as fh:
            fh.write(b"".join(event + b"\n" for event in events))


class EmbeddedTransport(Transport):
    """Appends to a store and folds the events into its projections."""

    kind = "embedded"

    def __init__(self, store_url: str, journal: Journal) -> None:
        self.store_url = store_url
        self.journal = journal
        self._store: SqlStore | None = None

    def _open(self) -> SqlStore:
        if self._store is None:
            from threadline import settings
            from threadline.store.sql import open_store

            self._store = open_store(
                self.store_url, sqlite_synchronous=settings.resolve("sqlite_synchronous")
            )
        return self._store

    def append(self, events: list[bytes]) -> Outcome:
        """Append events to the store and fold them; the outcome says what was refused."""
        from threadline.openlineage.events import parse_event
        from threadline.projection.projector import project_all

        parsed = []
        rejected: dict[int, str] = {}
        for index, raw in enumerate(events):
            try:
                parsed.append(parse_event(raw))
            except InvalidEvent as exc:
                rejected[index] = exc.message
        try:
            store = self._open()
            self._step()
            store.append(parsed)
            self._step()
        except ThreadlineError as exc:
            return Outcome(ok=False, retry=exc.message)
        except Exception as exc:
            return Outcome(ok=False, retry=f"{exc.__class__.__name__}: {exc}")
        try:
            project_all(store)
        except Exception as exc:  # the events are in the log; the projector catches up next time
            log.warning("threadline: events stored but not yet folded into the projections: %s", exc)
        return Outcome(ok=True, rejected=rejected)

    def emit(self, events: Sequence[bytes]) -> None:
        """Append, or keep the events in the journal when the store cannot take them now."""
        outcome = self.append(list(events))
        if not outcome.ok:
            self.journal.write(events)
            log.warning(
                "threadline: the store %s cannot take events now (%s); they wait in %s "
                "(`threadline journal flush` appends them)",
                self.store_url,
                outcome.retry,
                self.journal.folder,
            )
        elif outcome.rejected:
            for index, reason in outcome.rejected.items():
                log.warning(
                    "threadline: an event was refused (%s); it is dropped: %s", reason, events[index][:200]
                )

    def retry_in(self) -> float | None:
        """Journal left-overs are flushed by hand (``threadline journal flush``), not retried here."""
        return None

    def retry(self, *, force: bool = False) -> DeliveryReport | None:
        """Append what waits in the journal."""
        return self.journal.deliver(self.append)

    def close(self) -> None:
        """Close the store."""
        if self._store is not None:
            self._store.close()
            self._store = None


class HttpTransport(Transport):
    """Posts events to a threadline server (or any OpenLineage receiver with a batch endpoint)."""

    kind = "http"

    def __init__(
        self, url: str, journal: Journal, *, api_key: str | None = None, timeout: float = 5.0
    ) -> None:
        self.url = url.rstrip("/")
        self.journal = journal
        self.api_key = api_key
        self.timeout = timeout
        self._backoff = 0.0
        self._next_try = 0.0
        self._pending = journal.has_pending()  # left by an earlier process: sent at the first chance
        self._warned_down = False

    # ---- sending --------------------------------------------------------------------------------

    def post(self, events: list[bytes]) -> Outcome:
        """POST events as one batch; split in halves when the server says the batch is too large."""
        body = b"[" + b",".join(events) + b"]"
        headers = {"Content-Type": "application/json", "User-Agent": "threadline-tracking"}
        if len(body) >= GZIP_FROM:
            body = gzip.compress(body, compresslevel=5)
            headers["Content-Encoding"] = "gzip"
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        request = urllib.request.Request(f"{self.url}{BATCH_PATH}", data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                answer = response.read()
        except urllib.error.HTTPError as exc:
            return self._refused(exc, events)
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            return Outcome(ok=False, retry=f"{self.url} is unreachable: {reason}")
        rejected: dict[int, str] = {}
        try:
            report = json.loads(answer or b"{}")
            for failed in report.get("failed_events") or ():
                index = int(failed.get("index", -1))
                if 0 <= index < len(events) and not failed.get("retriable"):
                    rejected[index] = str(failed.get("reason", "refused"))
        except (ValueError, TypeError, AttributeError):
            pass
        return Outcome(ok=True, rejected=rejected)

    def _refused(self, exc: urllib.error.HTTPError, events: list[bytes]) -> Outcome:
        detail = ""
        with contextlib.suppress(ValueError, AttributeError, OSError):
            answer = json.loads(exc.read() or b"{}")  # server.api.errors's shape; an older server's "error"
            detail = str(answer.get("message") or answer.get("error") or "")
        reason = f"HTTP {exc.code}{f': {detail}' if detail else ''}"
        if exc.code == 413 and len(events) > 1:
            middle = len(events) // 2
            first, second = self.post(events[:middle]), self.post(events[middle:])
            if not (first.ok and second.ok):
                return Outcome(ok=False, retry=first.retry or second.retry)
            rejected = dict(first.rejected)
            rejected.update({middle + i: why for i, why in second.rejected.items()})
            return Outcome(ok=True, rejected=rejected)
        if exc.code in (400, 413, 415, 422):
            return Outcome(ok=True, rejected=dict.fromkeys(range(len(events)), reason))
        return Outcome(ok=False, retry=f"{self.url} answered {reason}")  # 401/403 (fix the key), 5xx, 429

    # ---- the transport --------------------------------------------------------------------------

    def emit(self, events: Sequence[bytes]) -> None:
        """Journal the events, then send what the journal holds unless the server is backing us off."""
        self.journal.write(events)
        self._pending = True
        if time.monotonic() >= self._next_try:
            self.retry()

    def retry_in(self) -> float | None:
        """Seconds until the next attempt, when something waits."""
        if not self._pending:
            return None
        return max(0.0, self._next_try - time.monotonic())

    def retry(self, *, force: bool = False) -> DeliveryReport | None:
        """Send what waits in the journal."""
        if not force and time.monotonic() < self._next_try:
            return None
        report = self.journal.deliver(self.post)
        self._pending = report.pending_segments > 0
        if report.failure is None:
            if self._warned_down:
                log.warning("threadline: %s is reachable again; queued events were sent", self.url)
            self._backoff = 0.0
            self._next_try = 0.0
            self._warned_down = False
        else:
            self._backoff = min(BACKOFF_MAX, max(BACKOFF_START, self._backoff * 2))
            self._next_try = time.monotonic() + self._backoff
            if not self._warned_down:
                self._warned_down = True
                log.warning(
                    "threadline: cannot send events (%s); they are kept in %s "
                    "and sent when the server is back",
                    report.failure,
                    self.journal.folder,
                )
        if report.rejected_events:
            log.warning(
                "threadline: the server refused %d event(s) for good; they are kept in %s",
                report.rejected_events,
                self.journal.folder / "rejected",
            )
        return report


def make_transport(
    kind: str,
    *,
    journal: Journal,
    store_url: str | None = None,
    url: str | None = None,
    api_key: str | None = None,
    timeout: float = 5.0,
    file: Path | None = None,
) -> Transport:
    """The transport of kind ``kind`` with its options."""
    if kind == "embedded":
        if store_url is None:
            msg = "the embedded transport needs a store URL"
            raise ValueError(msg)
        return EmbeddedTransport(store_url, journal)
    if kind == "http":
        if not url:
            msg = "the http transport needs a url"
            raise ValueError(msg)
        return HttpTransport(url, journal, api_key=api_key, timeout=timeout)
    if kind == "file":
        if file is None:
            msg = "the file transport needs a file"
            raise ValueError(msg)
        return FileTransport(file)
    if kind == "console":
        return ConsoleTransport()
    if kind == "off":
        return OffTransport()
    msg = f"unknown transport {kind!r}"
    raise ValueError(msg)
