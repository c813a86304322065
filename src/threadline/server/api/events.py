"""Reading the log back: ``/api/v1/events/lineage`` (Marquez's shape), one event, facet problems.

Events are embedded in responses as the exact bytes received, never re-serialized.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Annotated

import msgspec
from fastapi import APIRouter, Depends, Query
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from threadline.errors import NotFound
from threadline.openlineage.timestamps import format_time
from threadline.params import parse_choice
from threadline.server.api.access import ReadKey, State
from threadline.server.api.models import ERRORS, EventList, EventSummary, ProblemEventList, raw
from threadline.server.api.params import PageParams, page_param, time_param
from threadline.server.state import ServerState, json_response
from threadline.store.base import StoredEvent

router = APIRouter(responses=ERRORS)

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000


@dataclass(frozen=True, slots=True)
class EventPage:
    """Which page of the log: ``limit``, ``offset``, and events ``before``/``after`` a time."""

    limit: int
    offset: int
    before: int | None
    after: int | None


async def _event_page(
    page: Annotated[PageParams, Depends(page_param(DEFAULT_LIMIT, 1, MAX_LIMIT))],
    before: Annotated[int | None, Depends(time_param("before", "Only events before this time."))],
    after: Annotated[int | None, Depends(time_param("after", "Only events after this time."))],
) -> EventPage:
    return EventPage(page.limit, page.offset, before, after)


async def _ascending(
    direction: Annotated[
        str | None,
        Query(
            alias="sortDirection",
            description="desc (newest first, the default) or asc.",
            json_schema_extra={"enum": ["asc", "desc"], "default": "desc"},
        ),
    ] = None,
) -> bool:
    return parse_choice(direction, "sortDirection", ("asc", "desc"), "desc") == "asc"


def _summary(event: StoredEvent) -> dict[str, object]:
    return {
        "id": event.id,
        "eventTime": format_time(event.event_time),
        "receivedAt": format_time(event.received_at),
        "problems": event.problems,
        "event": msgspec.Raw(event.raw),
    }


@router.get("/api/v1/events/lineage", response_model=EventList)
async def list_lineage_events(
    _key: ReadKey,
    state: State,
    wanted: Annotated[EventPage, Depends(_event_page)],
    ascending: Annotated[bool, Depends(_ascending)],
) -> Response:
    """Events as received, newest first (``sortDirection=asc`` for oldest first), with ``totalCount``."""
    params = asdict(wanted)
    page = await run_in_threadpool(lambda: state.store.list_events(**params, ascending=ascending))
    content = {"events": [msgspec.Raw(event.raw) for event in page.events], "totalCount": page.total}
    return json_response(content)


@router.get("/api/v1/events/problems", response_model=ProblemEventList)
async def list_problem_events(
    _key: ReadKey, state: State, wanted: Annotated[EventPage, Depends(_event_page)]
) -> Response:
    """Events that were kept although some facet failed validation, with what is wrong."""
    params = asdict(wanted)
    page = await run_in_threadpool(lambda: state.store.list_events(**params, with_problems=True))
    return json_response({"events": [_summary(event) for event in page.events], "totalCount": page.total})


async def _get(state: ServerState, event_id: str) -> StoredEvent:
    event = await run_in_threadpool(state.store.get_event, event_id)
    if event is None:
        msg = f"no event with id {event_id!r}"
        raise NotFound(msg)
    return event


@router.get("/api/v1/events/{event_id}", response_model=EventSummary)
async def get_event(_key: ReadKey, state: State, event_id: str) -> Response:
    """One event: id, times, facet problems, and the event itself exactly as received."""
    return json_response(_summary(await _get(state, event_id)))


@router.get(
    "/api/v1/events/{event_id}/raw", responses=raw("application/json", "The event's bytes as received")
)
async def get_event_raw(_key: ReadKey, state: State, event_id: str) -> Response:
    """The exact bytes received for one event."""
    event = await _get(state, event_id)
    return Response(event.raw, media_type="application/json")
