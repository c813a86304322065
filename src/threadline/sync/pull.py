"""Pull: bring a remote's events (all, or a part of its graph) into this store.

The remote sends its events after a sequence number of its own, in order, leaving out those that came
from this store; this store remembers, per remote site and filter (scope), the remote sequence number
it has pulled up to. Each page is validated here like any ingested event, stored (an event already
here is a duplicate, not an error), and the mark moved past it in the same step, so an interrupted pull
resumes where it stopped. The pulled events are remembered as coming from the remote, so that a later
push does not send them back.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from threadline.errors import InvalidEvent, SyncError
from threadline.openlineage.events import ParsedEvent, parse_event
from threadline.store import sync
from threadline.store.base import AppendResult
from threadline.store.sql import SqlStore
from threadline.sync.client import SyncClient
from threadline.sync.filters import PullFilter
from threadline.sync.remotes import ServerRemote

PAGE = 5_000

#: Called with the number of events pulled so far.
Progress = Callable[[int], None]
#: Stores a page of parsed events.
Append = Callable[[list[ParsedEvent]], AppendResult]


@dataclass
class PullReport:
    """What a pull did."""

    remote: str
    remote_site: str
    scope: str
    received: int = 0
    stored: int = 0
    duplicates: int = 0
    rejected: list[str] = field(default_factory=list)
    pages: int = 0


def pull(
    store: SqlStore,
    remote: ServerRemote,
    wanted: PullFilter | None = None,
    *,
    page: int = PAGE,
    progress: Progress | None = None,
    append: Append | None = None,
) -> PullReport:
    """Pull what the remote has of ``wanted`` (everything by default) that this store lacks.

    ``append`` stores a page (default: :meth:`SqlStore.append`); a server pulling on a schedule passes
    its writer's, so that one thread writes its store.
    """
    wanted = wanted or PullFilter()
    append = append or store.append
    local = sync.site_id(store)
    with SyncClient(remote) as client:
        info = client.info()
        if info.site_id == local:
            msg = f"remote {remote} is this very store (same site id {local}); nothing to pull"
            raise SyncError(msg)
        report = PullReport(str(remote), info.site_id, wanted.scope)
        mark = sync.get_mark(store, info.site_id, "pull", wanted.scope)
        digest_key = f"pull-entities:{info.site_id}:{wanted.scope}"
        known = (sync.get_meta(store, digest_key) or "") if wanted.selects_entities else ""
        while True:
            answer = client.pull(mark, page, exclude=local, wanted=wanted, entities=known)
            parsed = []
            for raw in answer.events:
                try:
                    event = parse_event(raw)
                except InvalidEvent as exc:
                    report.rejected.append(exc.message)
                    continue
                event.origin = info.site_id
                parsed.append(event)
            result = append(parsed)
            report.pages += 1
            report.received += len(answer.events)
            report.stored += len(result.inserted)
            report.duplicates += len(result.duplicates)
            if answer.entities != known:  # the part grew: the remote started again from its first event
                known = answer.entities
                sync.save_mark(store, info.site_id, "pull", answer.next, wanted.scope)
                sync.set_meta(store, digest_key, known)
                mark = answer.next
            elif answer.next > mark:
                mark = answer.next
                sync.save_mark(store, info.site_id, "pull", mark, wanted.scope)
            if progress is not None:
                progress(report.received)
            if not answer.more:
                return report
