"""Changes made through the read API (tags, tag descriptions) go through the event log like every other fact.

A change is an OpenLineage event that says what changed, not what the whole state became: a tag added
to or removed from one dataset, field or job (see ``threadline.projection.readers.tags``), one tag's
description.
Such changes merge in any order and need no lock, across threads, servers sharing a store, and sites.

:func:`append_change` returns once the writer thread has committed the event: the change is durable,
and only then is it answered with a 2xx (a failed append is an error answer). The answer then waits,
at most :data:`WAIT_SECONDS`, for the projector to fold the event (:func:`wait_folded`, which asks it to
fold at once rather than after ingest's quiet pause), so that it and
the next read show the change; when the projector is further behind, the endpoint lays the change over
what is folded.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

from sqlalchemy import bindparam, select
from starlette.concurrency import run_in_threadpool

from threadline.openlineage.events import ParsedEvent, parse_event
from threadline.server.state import ServerState
from threadline.store import schema
from threadline.store.codec import encode

#: How long a change waits for the projector before answering with the change laid over the projection.
WAIT_SECONDS = 10.0
_POLL_SECONDS = 0.02
_FOLDED = select(schema.event_ids.c.id).where(schema.event_ids.c.id == bindparam("id"))


async def append_change(state: ServerState, raw: bytes) -> ParsedEvent:
    """Append the event ``raw``; return it once it is committed."""
    return (await append_changes(state, [raw]))[0]


async def append_changes(state: ServerState, raws: Iterable[bytes]) -> list[ParsedEvent]:
    """Append the events ``raws`` in one batch (all or none); return them once they are committed."""
    events = []
    for raw in raws:
        event = parse_event(raw)
        event.codec, event.payload = encode(event.raw)
        events.append(event)
    if events:
        await state.writer.submit(events)
    return events


async def append_folded(state: ServerState, raws: Iterable[bytes]) -> bool:
    """Append the events ``raws`` in one batch and wait until the last is folded (see
    :func:`wait_folded`); whether it was within :data:`WAIT_SECONDS` (none: ``True``)."""
    events = await append_changes(state, raws)
    return await wait_folded(state, events[-1]) if events else True


async def wait_folded(state: ServerState, event: ParsedEvent, seconds: float = WAIT_SECONDS) -> bool:
    """Wait until the projector has folded ``event``, asking it for a step at once; whether it did
    within ``seconds``."""
    deadline = time.monotonic() + seconds
    # fold at once rather than after ingest's quiet pause (Writer.QUIET_SECONDS): someone waits
    state.writer.hurry()
    while True:
        if await run_in_threadpool(_folded, state, event.id):
            return True
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        # woken by this server's fold; the poll finds another server's (a shared PostgreSQL store)
        await state.clock.next_fold(min(remaining, _POLL_SECONDS))


def _folded(state: ServerState, event_id: str) -> bool:
    with state.store.read() as connection:
        return connection.execute(_FOLDED, {"id": event_id}).first() is not None
