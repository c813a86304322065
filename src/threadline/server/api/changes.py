"""Changes made through the read API (tags) go through the event log like every other fact.

A change is an OpenLineage event appended by the writer thread; the answer waits until the projector
has folded it (at most :data:`WAIT_SECONDS`), so that the next read shows it. Changes are made one at a
time per server: each one writes a facet's whole value, computed from the current one.
"""

from __future__ import annotations

import asyncio
import time

from starlette.concurrency import run_in_threadpool

from threadline.catalog.common import facet_stamp
from threadline.openlineage.events import parse_event
from threadline.projection.model import stamp
from threadline.server.state import ServerState
from threadline.store.codec import encode

#: How long a change waits for the projector before answering with what is visible.
WAIT_SECONDS = 10.0
_POLL_SECONDS = 0.02

#: Held while a change reads the current value and appends the new one.
change_lock = asyncio.Lock()


async def append_and_wait(state: ServerState, raw: bytes, entity_type: str, key: str, facet: str) -> bool:
    """Append the event ``raw``; wait until facet ``facet`` of ``entity_type`` ``key`` shows it (or a
    later value). Return whether it did within :data:`WAIT_SECONDS`."""
    event = parse_event(raw)
    event.codec, event.payload = encode(event.raw)
    await state.writer.submit([event])
    wanted = stamp(0, event.event_time, event.id)
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        current = await run_in_threadpool(_stamp, state, entity_type, key, facet)
        if current is not None and current >= wanted:
            return True
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(_POLL_SECONDS)


def _stamp(state: ServerState, entity_type: str, key: str, facet: str) -> str | None:
    with state.store.read() as connection:
        return facet_stamp(connection, entity_type, key, facet)
