"""Pull: bring a remote's events (all, or a part of its graph) into this store.

The remote sends its events after a sequence number of its own, in order, leaving out those that came
from this store; this store remembers, per remote site and filter (scope), the remote sequence number
it has pulled up to. Each page is validated here like any ingested event, stored (an event already
here is a duplicate, not an error), and the mark moved past it in the same step, so an interrupted pull
resumes where it stopped. The pulled events are remembered as coming from the remote, so that a later
push does not send them back.

The remote is not trusted to end the pull (see also :mod:`threadline.sync.limits` for the bounds on
each page): a page that says there is more must bring events and move the remote's position forward,
and the pull stops once it has passed the last sequence number the remote reported when the pull
began (events that arrive meanwhile come with the next pull, so a busy remote cannot keep a pull
going). A part that keeps changing its digest may make the remote start again only a few times. A
page larger than the remote's ``max_page_bytes`` is asked for again as smaller pages, down to one
event.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from threadline.errors import InvalidEvent, SyncError
from threadline.openlineage.events import ParsedEvent, parse_event
from threadline.store import sync
from threadline.store.base import AppendResult
from threadline.store.sql import SqlStore
from threadline.sync.client import Page, SyncClient
from threadline.sync.filters import PullFilter
from threadline.sync.limits import TooLarge
from threadline.sync.remotes import ServerRemote

PAGE = 5_000
#: How many times one pull lets the remote start a part again because the part's digest changed.
MAX_RESTARTS = 5

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
        restarts = 0
        while True:
            try:
                answer = client.pull(mark, page, exclude=local, wanted=wanted, entities=known)
            except TooLarge as exc:
                if page == 1:
                    table = f"[remotes.{remote.name}]" if remote.name != remote.url else "a [remotes.NAME]"
                    msg = (
                        f"{exc.message}; if that one event is genuine, raise max_page_bytes in {table} of "
                        ".threadline/config.toml"
                    )
                    raise SyncError(msg) from exc
                page = max(1, page // 4)
                continue
            _check_progress(remote, answer, mark, known)
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
                restarts += 1
                if restarts > MAX_RESTARTS:
                    msg = (
                        f"remote {remote} started the part over {restarts} times in one pull (its "
                        "digest keeps changing); stopped: pull again later"
                    )
                    raise SyncError(msg)
                known = answer.entities
                sync.save_mark(store, info.site_id, "pull", answer.next, wanted.scope)
                sync.set_meta(store, digest_key, known)
                mark = answer.next
            elif answer.next > mark:
                mark = answer.next
                sync.save_mark(store, info.site_id, "pull", mark, wanted.scope)
            if progress is not None:
                progress(report.received)
            if not answer.more or mark >= info.last_seq:
                return report


def _check_progress(remote: ServerRemote, answer: Page, mark: int, known: str) -> None:
    """Refuse a page that would keep a pull going without end: one that says there is more but brings
    no events, or does not move past the position it was asked for (a remote that starts the part
    over, with a new digest, moves back on purpose)."""
    if answer.entities != known:
        return
    if answer.more and not answer.events:
        msg = f"remote {remote} said there were more events after {mark:,} but sent none; pull stopped"
        raise SyncError(msg)
    if answer.next < mark or (answer.more and answer.next == mark):
        msg = (
            f"remote {remote} answered the page after {mark:,} with next={answer.next:,}: it does "
            "not move forward; pull stopped"
        )
        raise SyncError(msg)
