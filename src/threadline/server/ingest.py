"""OpenLineage ingest: ``POST /api/v1/lineage`` (one event) and ``POST /api/v1/lineage/batch``.

Events are parsed and validated in the event loop, then handed to the writer thread, which answers
once they are committed. Sending an event that is already stored is not an error: the answer is
still 201 with ``"status": "duplicate"`` (OpenLineage clients treat anything but 2xx as a failure).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from threadline.errors import PayloadTooLarge
from threadline.openlineage.events import ParsedEvent, parse_event, split_batch
from threadline.server.bodies import read_body
from threadline.server.state import json_response, state_of
from threadline.store.base import AppendResult

router = APIRouter()


def _statuses(events: list[ParsedEvent], result: AppendResult) -> list[str]:
    """``created`` or ``duplicate`` for each event, in order (a repeat within one request is a duplicate)."""
    inserted = set(result.inserted)
    seen: set[str] = set()
    statuses = []
    for event in events:
        statuses.append("created" if event.id in inserted and event.id not in seen else "duplicate")
        seen.add(event.id)
    return statuses


@router.post("/api/v1/lineage")
async def post_lineage(request: Request) -> Response:
    """Store one OpenLineage event; 201 with its id, ``created`` or ``duplicate``, and facet problems."""
    state = state_of(request)
    await state.auth.require(request, "write")
    body = await read_body(request, state.max_body_bytes)
    event = parse_event(body)
    result = await state.writer.submit([event])
    content = {
        "id": event.id,
        "status": _statuses([event], result)[0],
        "problems": [problem.to_dict() for problem in event.problems],
    }
    return json_response(content, status=201)


@router.post("/api/v1/lineage/batch")
async def post_lineage_batch(request: Request) -> Response:
    """Store a JSON array of events; answer with the spec's (partial) success report.

    Valid events are stored even when others are rejected. The answer is 200 with ``status``
    ``success`` or ``partial_success``, a ``summary`` and ``failed_events`` (index, reason, field) as
    OpenLineage-api.yml defines, plus ``events``: the id and status of each stored event by index.
    """
    state = state_of(request)
    await state.auth.require(request, "write")
    body = await read_body(request, state.max_body_bytes)
    elements = split_batch(body)
    if len(elements) > state.max_batch_events:
        msg = (
            f"a batch may hold at most {state.max_batch_events} events (max_batch_events), "
            f"got {len(elements)}; split it into smaller batches"
        )
        raise PayloadTooLarge(msg)
    accepted: list[ParsedEvent] = []
    indexes: list[int] = []
    failed: list[dict[str, Any]] = []
    for index, parsed in enumerate(await state.parser.parse(elements)):
        if isinstance(parsed, tuple):
            reason, field = parsed
            failed.append({"index": index, "reason": reason, "field": field, "retriable": False})
            continue
        accepted.append(parsed)
        indexes.append(index)
    result = await state.writer.submit(accepted)
    stored = [
        {
            "index": index,
            "id": event.id,
            "status": status,
            "problems": [problem.to_dict() for problem in event.problems],
        }
        for index, event, status in zip(indexes, accepted, _statuses(accepted, result), strict=True)
    ]
    content = {
        "status": "partial_success" if failed else "success",
        "summary": {
            "received": len(elements),
            "successful": len(accepted),
            "failed": len(failed),
            "retriable": 0,
            "non_retriable": len(failed),
        },
        "failed_events": failed,
        "events": stored,
    }
    return json_response(content)
