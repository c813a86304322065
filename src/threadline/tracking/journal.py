"""The local journal: events wait here, on disk, until their destination has acknowledged them.

The journal is a folder (``.threadline/journal``, or ``~/.threadline/journal`` outside a project) of
*segments*: files of JSON lines, one event per line, written once and never changed. A segment is
written to a temporary name, fsync'ed, renamed into place and the folder fsync'ed, so a segment is
either complete or absent, whatever happens to the process. It is deleted only after the destination
acknowledged every event in it (a 2xx answer from a server, a committed append to a store). Sending
a segment twice (after a lost answer, or by two processes) is harmless: events are stored by content
id, so the server keeps one copy.

While a process sends a segment it holds an exclusive ``flock`` on it; another process skips a locked
segment, and a lock dies with its process, so a segment of a crashed process is picked up by the next
one. Events the destination refuses for good (invalid, or too large for it) are moved to
``journal/rejected/`` with the reason, so that one bad event never blocks the rest.
"""

from __future__ import annotations

import contextlib
import fcntl
import itertools
import os
import secrets
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

SEGMENT_SUFFIX = ".jsonl"
REJECTED_DIR = "rejected"
#: Events per segment: small enough for any server's batch limit.
SEGMENT_EVENTS = 50
_TOKEN = secrets.token_hex(3)
_COUNTER = itertools.count()


@dataclass
class Outcome:
    """What a destination did with a list of events.

    ``ok`` means every event not listed in ``rejected`` is stored; otherwise ``retry`` says why
    nothing can be known to be stored (a server down, a 5xx) and the events stay in the journal.
    ``rejected`` maps an event's index to why it is refused for good.
    """

    ok: bool
    retry: str | None = None
    rejected: dict[int, str] = field(default_factory=dict)


#: Delivers events somewhere and says what happened.
Sender = Callable[[list[bytes]], Outcome]


@dataclass
class DeliveryReport:
    """What one delivery pass did."""

    sent_segments: int = 0
    sent_events: int = 0
    rejected_events: int = 0
    pending_segments: int = 0
    failure: str | None = None


@dataclass
class JournalStatus:
    """How much the journal holds."""

    folder: Path
    segments: int
    events: int
    bytes: int
    oldest: float | None
    rejected_events: int


class Journal:
    """A folder of event segments waiting to be delivered."""

    def __init__(self, folder: str | os.PathLike[str], *, fsync: bool = True) -> None:
        self.folder = Path(folder)
        self.fsync = fsync

    # ---- writing --------------------------------------------------------------------------------

    def write(self, events: Sequence[bytes]) -> list[Path]:
        """Append ``events`` to the journal as one or more new segments; durable when this returns."""
        return [
            self._write_segment(events[start : start + SEGMENT_EVENTS])
            for start in range(0, len(events), SEGMENT_EVENTS)
        ]

    def _write_segment(self, events: Sequence[bytes], folder: Path | None = None) -> Path:
        target_dir = folder or self.folder
        target_dir.mkdir(parents=True, exist_ok=True)
        # Names sort by time, so segments are delivered in the order they were written.
        name = f"{time.time_ns():020d}-{os.getpid()}-{_TOKEN}-{next(_COUNTER):06d}{SEGMENT_SUFFIX}"
        final = target_dir / name
        tmp = target_dir / f".tmp-{name}"
        data = b"".join(event.rstrip(b"\n") + b"\n" for event in events)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o600)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            if self.fsync:
                os.fsync(fd)
        except BaseException:
            os.close(fd)
            tmp.unlink(missing_ok=True)
            raise
        os.close(fd)
        tmp.rename(final)
        if self.fsync:
            _fsync_dir(target_dir)
        return final

    # ---- reading --------------------------------------------------------------------------------

    def segments(self) -> list[Path]:
        """The segments waiting, oldest first."""
        try:
            names = sorted(
                entry.name
                for entry in os.scandir(self.folder)
                if entry.name.endswith(SEGMENT_SUFFIX) and not entry.name.startswith(".")
            )
        except FileNotFoundError:
            return []
        return [self.folder / name for name in names]

    def has_pending(self) -> bool:
        """Whether any segment waits."""
        return bool(self.segments())

    @contextlib.contextmanager
    def claim(self, path: Path) -> Iterator[list[bytes] | None]:
        """Lock a segment and read its events; ``None`` when another process holds it or it is gone."""
        try:
            fd = os.open(path, os.O_RDWR | getattr(os, "O_CLOEXEC", 0))
        except FileNotFoundError:
            yield None
            return
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                yield None
                return
            if not path.exists():  # delivered and removed by the previous holder of the lock
                yield None
                return
            with os.fdopen(os.dup(fd), "rb") as fh:
                data = fh.read()
            yield [line for line in data.split(b"\n") if line.strip()]
        finally:
            os.close(fd)

    def status(self) -> JournalStatus:
        """Segments, events and bytes waiting, the oldest segment's time, and events rejected."""
        segments = self.segments()
        events = 0
        size = 0
        oldest = None
        for path in segments:
            try:
                data = path.read_bytes()
                stat = path.stat()
            except FileNotFoundError:
                continue
            events += sum(1 for line in data.split(b"\n") if line.strip())
            size += len(data)
            oldest = stat.st_mtime if oldest is None else min(oldest, stat.st_mtime)
        rejected = 0
        for path in sorted((self.folder / REJECTED_DIR).glob(f"*{SEGMENT_SUFFIX}")):
            with contextlib.suppress(OSError):
                rejected += sum(1 for line in path.read_bytes().split(b"\n") if line.strip())
        return JournalStatus(self.folder, len(segments), events, size, oldest, rejected)

    # ---- delivering -----------------------------------------------------------------------------

    def deliver(self, send: Sender, *, stop_on_failure: bool = True) -> DeliveryReport:
        """Send every waiting segment, oldest first; remove each once ``send`` says it is stored.

        Stops at the first segment that cannot be delivered now (the destination is down), leaving it
        and the later ones for the next attempt.
        """
        report = DeliveryReport()
        for path in self.segments():
            with self.claim(path) as events:
                if events is None:
                    continue
                outcome = send(events) if events else Outcome(ok=True)
                if not outcome.ok:
                    report.failure = outcome.retry or "not delivered"
                    if stop_on_failure:
                        break
                    continue
                if outcome.rejected:
                    refused = [events[i] for i in sorted(outcome.rejected)]
                    reasons = [f"{i}: {outcome.rejected[i]}" for i in sorted(outcome.rejected)]
                    self._reject(refused, reasons)
                    report.rejected_events += len(refused)
                report.sent_events += len(events) - len(outcome.rejected)
                report.sent_segments += 1
                path.unlink(missing_ok=True)
        report.pending_segments = len(self.segments())
        return report

    def _reject(self, events: list[bytes], reasons: list[str]) -> None:
        folder = self.folder / REJECTED_DIR
        path = self._write_segment(events, folder)
        path.with_suffix(".reason.txt").write_text("\n".join(reasons) + "\n", encoding="utf-8")


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    except OSError:  # some file systems cannot fsync a folder; the rename is still atomic
        pass
    finally:
        os.close(fd)
