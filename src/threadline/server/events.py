"""Reading the log back: ``/api/v1/events/lineage`` (Marquez's shape), one event, facet problems.

Events are embedded in responses as the exact bytes received, never re-serialized.
"""

from __future__ import annotations

from typing import Any

import msgspec
from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from threadline.errors import BadRequest, NotFound
from threadline.openlineage.timestamps import format_time, parse_time
from threadline.projection.readers.common import MAX_OFFSET
from threadline.server.state import json_response, state_of
from threadline.store.base import StoredEvent

router = APIRouter()

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000


def _int_param(request: Request, name: str, default: int, low: int, high: int | None = None) -> int:
    text = request.query_params.get(name)
    if text is None or text == "":
        return default
    try:
        value = int(text)
    except ValueError:
        msg = f"{name} must be an integer, got {text!r}"
        raise BadRequest(msg) from None
    if value < low or (high is not None and value > high):
        bounds = f"between {low} and {high}" if high is not None else f"at least {low}"
        msg = f"{name} must be {bounds}, got {value}"
        raise BadRequest(msg)
    return value


def _time_param(request: Request, name: str) -> int | None:
    text = request.query_params.get(name)
    if text is None or text == "":
        return None
    try:
        return parse_time(text.replace(" ", "+"))  # an unencoded '+' in a query string arrives as ' '
    except ValueError:
        msg = f"{name} must be an ISO 8601 date-time such as 2024-05-01T12:00:00Z, got {text!r}"
        raise BadRequest(msg) from None


def _page_params(request: Request) -> dict[str, Any]:
    return {
        "limit": _int_param(request, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT),
        "offset": _int_param(request, "offset", 0, 0, MAX_OFFSET),
        "before": _time_param(request, "before"),
        "after": _time_param(request, "after"),
    }


def _ascending(request: Request) -> bool:
    direction = request.query_params.get("sortDirection", "desc").lower()
    if direction not in ("asc", "desc"):
        msg = f"sortDirection must be asc or desc, got {direction!r}"
        raise BadRequest(msg)
    return direction == "asc"


def _summary(event: StoredEvent) -> dict[str, object]:
    return {
        "id": event.id,
        "eventTime": format_time(event.event_time),
        "receivedAt": format_time(event.received_at),
        "problems": event.problems,
        "event": msgspec.Raw(event.raw),
    }


@router.get("/api/v1/events/lineage")
async def list_lineage_events(request: Request) -> Response:
    """Events as received, newest first (``sortDirection=asc`` for oldest first), with ``totalCount``."""
    state = state_of(request)
    await state.auth.require(request.headers, "read")
    params = _page_params(request)
    ascending = _ascending(request)
    page = await run_in_threadpool(lambda: state.store.list_events(**params, ascending=ascending))
    content = {"events": [msgspec.Raw(event.raw) for event in page.events], "totalCount": page.total}
    return json_response(content)


@router.get("/api/v1/events/problems")
async def list_problem_events(request: Request) -> Response:
    """Events that were kept although some facet failed validation, with what is wrong."""
    state = state_of(request)
    await state.auth.require(request.headers, "read")
    params = _page_params(request)
    page = await run_in_threadpool(lambda: state.store.list_events(**params, with_problems=True))
    return json_response({"events": [_summary(event) for event in page.events], "totalCount": page.total})


async def _get(request: Request, event_id: str) -> StoredEvent:
    state = state_of(request)
    await state.auth.require(request.headers, "read")
    event = await run_in_threadpool(state.store.get_event, event_id)
    if event is None:
        msg = f"no event with id {event_id!r}"
        raise NotFound(msg)
    return event


@router.get("/api/v1/events/{event_id}")
async def get_event(request: Request, event_id: str) -> Response:
    """One event: id, times, facet problems, and the event itself exactly as received."""
    return json_response(_summary(await _get(request, event_id)))


@router.get("/api/v1/events/{event_id}/raw")
async def get_event_raw(request: Request, event_id: str) -> Response:
    """The exact bytes received for one event."""
    event = await _get(request, event_id)
    return Response(event.raw, media_type="application/json")
