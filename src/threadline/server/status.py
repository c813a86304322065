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
    """``ok``, the version, the store backend, how many events are logged and await projection, and
    what the writer thread has done since the server started."""
    state = state_of(request)
    store = state.store

    def numbers() -> tuple[int, int]:
        return store.count_events(), store.projection_lag()

    events, lag = await run_in_threadpool(numbers)
    content = {
        "status": "ok",
        "version": __version__,
        "store": store.backend,
        "events": events,
        "projectionLag": lag,
        "writer": state.writer.stats.to_dict(),
        "lineageIndex": state.lineage_index.status(),
        "objects": str(state.objects.root) if state.objects is not None else None,
    }
    if state.federation is not None and state.federation.remotes:
        content["federation"] = state.federation.to_dict()
    return json_response(content)
