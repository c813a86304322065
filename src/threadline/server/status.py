"""``GET /api/v1/health``: liveness plus a few numbers, open to all (it reveals nothing sensitive)."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from threadline import __version__
from threadline.server.state import json_response, state_of

router = APIRouter()


@router.get("/api/v1/health")
async def health(request: Request) -> Response:
    """``ok``, the version, the store backend, how many events are logged and how many await projection."""
    store = state_of(request).store

    def numbers() -> tuple[int, int]:
        return store.count_events(), store.projection_lag()

    events, lag = await run_in_threadpool(numbers)
    content = {
        "status": "ok",
        "version": __version__,
        "store": store.backend,
        "events": events,
        "projectionLag": lag,
    }
    return json_response(content)
