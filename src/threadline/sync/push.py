"""Push: send a remote every event of this store it lacks, resumably, without duplicates.

What the remote lacks is known without asking it: this store remembers, per remote site, the last
of its own sequence numbers it has pushed there (a push mark), and leaves out the events that came
from that remote. So a push reads the log after the mark, in order, and sends it in batches; each
batch the remote acknowledges moves the mark past it. An interrupted push (a dropped connection, a
killed server) resumes after the last acknowledged batch; a batch sent again is harmless, because the
remote stores an event once by its content id. Several batches are in flight at once, so the remote's
parse workers stay busy while the next batch is read and compressed; the mark only ever moves past
batches acknowledged with every batch before them.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from threadline.errors import SyncError
from threadline.store import sync
from threadline.store.sql import SqlStore
from threadline.sync.client import SyncClient
from threadline.sync.remotes import ServerRemote

BATCH = 2_000
IN_FLIGHT = 3

#: Called with (events sent so far, events to send).
Progress = Callable[[int, int], None]


@dataclass
class PushReport:
    """What a push did."""

    remote: str
    remote_site: str
    to_send: int = 0
    sent: int = 0
    stored: int = 0
    duplicates: int = 0
    rejected: list[dict[str, Any]] = field(default_factory=list)
    batches: int = 0


def push(
    store: SqlStore,
    remote: ServerRemote,
    *,
    batch: int = BATCH,
    in_flight: int = IN_FLIGHT,
    progress: Progress | None = None,
) -> PushReport:
    """Push every event the remote lacks (see the module docstring)."""
    local = sync.site_id(store)
    with SyncClient(remote) as client:
        info = client.info()
        if info.site_id == local:
            msg = f"remote {remote} is this very store (same site id {local}); nothing to push"
            raise SyncError(msg)
        report = PushReport(str(remote), info.site_id)
        batch = max(1, min(batch, info.max_batch_events))  # the server's limits win
        mark = sync.get_mark(store, info.site_id, "push")
        upto = sync.last_seq(store)
        report.to_send = sync.count_after(store, mark, not_from=info.site_id, upto=upto)
        if progress is not None:
            progress(0, report.to_send)
        pending: list[tuple[int, int, Future[dict[str, Any]]]] = []  # (last seq, count, answer)
        cursor = mark
        with ThreadPoolExecutor(max_workers=in_flight, thread_name_prefix="threadline-push") as pool:
            try:
                while True:
                    while len(pending) < in_flight:
                        entries = sync.read_after(store, cursor, batch, not_from=info.site_id, upto=upto)
                        if not entries:
                            break
                        entries = _within(entries, info.max_body_bytes)
                        cursor = entries[-1].seq
                        answer = pool.submit(client.push, local, [entry.raw for entry in entries])
                        pending.append((cursor, len(entries), answer))
                    if not pending:
                        break
                    last, count, answer = pending.pop(0)
                    _count(report, answer.result(), count)
                    sync.save_mark(store, info.site_id, "push", last)
                    if progress is not None:
                        progress(report.sent, report.to_send)
            finally:
                for _, _, answer in pending:
                    answer.cancel()
        if upto > cursor:  # the rest of the log came from the remote itself: nothing to send
            sync.save_mark(store, info.site_id, "push", upto)
    return report


def _within(entries: list[sync.LogEntry], max_bytes: int) -> list[sync.LogEntry]:
    """The first of ``entries`` that fit in a request body of ``max_bytes`` (at least one)."""
    size = 2
    for count, entry in enumerate(entries):
        size += len(entry.raw) + 1
        if size > max_bytes and count:
            return entries[:count]
    return entries


def _count(report: PushReport, answer: dict[str, Any], count: int) -> None:
    report.batches += 1
    report.sent += count
    report.stored += int(answer.get("stored", 0))
    report.duplicates += int(answer.get("duplicates", 0))
    report.rejected += list(answer.get("failed", []))
