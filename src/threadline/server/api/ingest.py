"""OpenLineage ingest: ``POST /api/v1/lineage`` (one event) and ``POST /api/v1/lineage/batch``.

Events are parsed and validated (large batches by the parse workers), then handed to the writer
thread, which answers once they are committed. Sending an event that is already stored is not an error:
the answer is still 201 with ``"status": "duplicate"`` (OpenLineage clients treat anything but 2xx as a
failure).

These two endpoints carry nearly all of a server's traffic, so :class:`IngestFastPath` serves them
straight from ASGI, ahead of FastAPI: FastAPI's per-request machinery (its middleware stack, routing
and dependency solving) costs more than parsing an event. Measured with ``benchmarks/ingest.py``
(SQLite, single-event POSTs): ~1,800/s without it and ~2,400/s with it on a quiet machine (2026-11);
on 2026-12-06, under load, the server's CPU per single event was about 690 us without it and 350-550
us with it, side by side. The FastAPI routes below run the same handlers (and answer errors in the
same shape, ``server.api.errors``); they exist for the OpenAPI document and for any request the fast
path does not take. The key is checked inside the handlers, which both paths share, so the routes
declare the bearer scheme for the document only.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Mapping
from typing import Any

from fastapi import APIRouter, Depends
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from threadline.errors import BadRequest, PayloadTooLarge, ThreadlineError
from threadline.openlineage.events import ParsedEvent, split_batch
from threadline.server.api.access import bearer
from threadline.server.api.errors import error_answer
from threadline.server.api.models import ERRORS, BatchAnswer, Ingested
from threadline.server.bodies import read_body
from threadline.server.memory import LARGE_REQUEST_BYTES, release_memory_soon
from threadline.server.metrics import event_rejection_reason
from threadline.server.state import ServerState, encode_json, json_response, state_of
from threadline.store.base import AppendResult
from threadline.store.codec import encode

log = logging.getLogger(__name__)
router = APIRouter(responses=ERRORS)

LINEAGE_PATH = "/api/v1/lineage"
BATCH_PATH = "/api/v1/lineage/batch"


def _statuses(events: list[ParsedEvent], result: AppendResult) -> list[str]:
    """``created`` or ``duplicate`` for each event, in order (a repeat within one request is a duplicate)."""
    inserted = set(result.inserted)
    seen: set[str] = set()
    statuses = []
    for event in events:
        statuses.append("created" if event.id in inserted and event.id not in seen else "duplicate")
        seen.add(event.id)
    return statuses


def _count_accepted(state: ServerState, statuses: list[str]) -> None:
    if state.metrics is not None:
        created = statuses.count("created")
        state.metrics.accepted(created, len(statuses) - created)


async def ingest_one(
    state: ServerState, headers: Mapping[str, str], chunks: AsyncIterator[bytes]
) -> tuple[int, dict[str, Any]]:
    """Store one OpenLineage event: 201 with its id, ``created`` or ``duplicate``, and facet problems."""
    await state.auth.require(headers, "write")
    if state.pressure is not None:
        state.pressure.check()  # before the body is read: a refusal costs next to nothing
    body = await read_body(headers, chunks, state.max_body_bytes)
    event = await state.parser.parse_one(body)  # a large one by a parse worker, off the event loop
    if event.payload is None:
        event.codec, event.payload = encode(event.raw)
    result = await state.writer.submit([event])
    if len(body) >= LARGE_REQUEST_BYTES:
        release_memory_soon()
    statuses = _statuses([event], result)
    _count_accepted(state, statuses)
    content = {
        "id": event.id,
        "status": statuses[0],
        "problems": [problem.to_dict() for problem in event.problems],
    }
    return 201, content


async def ingest_batch(
    state: ServerState, headers: Mapping[str, str], chunks: AsyncIterator[bytes]
) -> tuple[int, dict[str, Any]]:
    """Store a JSON array of events; answer with the spec's (partial) success report.

    Valid events are stored even when others are rejected. The answer is 200 with ``status``
    ``success`` or ``partial_success``, a ``summary`` and ``failed_events`` (index, reason, field) as
    OpenLineage-api.yml defines, plus ``events``: the id and status of each stored event by index.
    """
    await state.auth.require(headers, "write")
    if state.pressure is not None:
        state.pressure.check()
    body = await read_body(headers, chunks, state.max_body_bytes)
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
    refused: list[tuple[str, str, int]] = []
    parsed_elements, folded = await state.parser.parse_and_fold(elements)
    for index, parsed in enumerate(parsed_elements):
        if isinstance(parsed, tuple):
            refused.append(parsed)
            reason, field = parsed[:2]
            failed.append({"index": index, "reason": reason, "field": field, "retriable": False})
            continue
        accepted.append(parsed)
        indexes.append(index)
    # The workers folded exactly the accepted events (those they did not reject).
    result = await state.writer.submit(accepted, folded=folded)
    if len(body) >= LARGE_REQUEST_BYTES:
        release_memory_soon()
    statuses = _statuses(accepted, result)
    _count_accepted(state, statuses)
    if failed and state.metrics is not None:
        state.metrics.rejected_events(event_rejection_reason(parsed[0], parsed[2]) for parsed in refused)
    stored = [
        {
            "index": index,
            "id": event.id,
            "status": status,
            "problems": [problem.to_dict() for problem in event.problems],
        }
        for index, event, status in zip(indexes, accepted, statuses, strict=True)
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
    return 200, content


def _body(schema: dict[str, Any], description: str) -> dict[str, Any]:
    # Read as a stream within max_body_bytes (gzip, deflate or zstd encoded) and parsed by the parse
    # workers, so documented here rather than declared as a parameter FastAPI would parse.
    content = {"application/json": {"schema": schema}}
    return {"requestBody": {"required": True, "description": description, "content": content}}


_EVENT = {"type": "object", "description": "An OpenLineage RunEvent, DatasetEvent or JobEvent"}


@router.post(
    LINEAGE_PATH,
    status_code=201,
    response_model=Ingested,
    dependencies=[Depends(bearer)],
    openapi_extra=_body(_EVENT, "One OpenLineage event."),
)
async def post_lineage(request: Request) -> Response:
    """Store one OpenLineage event; 201 with its id, ``created`` or ``duplicate``, and facet problems."""
    status, content = await ingest_one(state_of(request), request.headers, request.stream())
    return json_response(content, status=status)


@router.post(
    BATCH_PATH,
    response_model=BatchAnswer,
    dependencies=[Depends(bearer)],
    openapi_extra=_body({"type": "array", "items": _EVENT}, "A JSON array of OpenLineage events."),
)
async def post_lineage_batch(request: Request) -> Response:
    """Store a JSON array of events; answer with the spec's (partial) success report."""
    status, content = await ingest_batch(state_of(request), request.headers, request.stream())
    return json_response(content, status=status)


class IngestFastPath:
    """ASGI middleware that serves the two ingest endpoints itself and passes everything else on."""

    def __init__(self, app: ASGIApp, state: ServerState) -> None:
        self.app = app
        self.state = state
        self.handlers = {LINEAGE_PATH: ingest_one, BATCH_PATH: ingest_batch}
        #: The ``endpoint`` label of each path in the rejection metrics.
        self.endpoints = {LINEAGE_PATH: "single", BATCH_PATH: "batch"}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        handler = self.handlers.get(scope.get("path", "")) if scope["type"] == "http" else None
        if handler is None or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return

        async def chunks() -> AsyncIterator[bytes]:
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    msg = "the client closed the connection before sending the whole body"
                    raise BadRequest(msg)
                yield message.get("body", b"")
                if not message.get("more_body", False):
                    return

        headers: list[tuple[bytes, bytes]] = []
        try:
            status, content = await handler(self.state, Headers(scope=scope), chunks())
        except Exception as exc:
            if not isinstance(exc, ThreadlineError):
                log.exception("unexpected error on POST %s", scope["path"])
            self._count_rejected(scope, exc)
            status, content, extra = error_answer(exc)  # the app's one error shape
            headers += [(name.lower().encode(), value.encode()) for name, value in extra.items()]
        body = encode_json(content)
        headers += [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    def _count_rejected(self, scope: Scope, exc: BaseException) -> None:
        if self.state.metrics is not None:
            self.state.metrics.rejected_request(self.endpoints[scope["path"]], exc)
