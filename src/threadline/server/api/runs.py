"""``/api/v1/jobs/runs/{id}``: one run, and its run or job facets (Marquez's run detail)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from threadline.projection.readers.runs import get_run, run_facets
from threadline.server.api.routing import new_router, read
from threadline.server.api.shapes import run_json
from threadline.server.state import json_response

router = new_router()


@router.get("/api/v1/jobs/runs/{run_id}/facets")
async def facets(request: Request, run_id: str) -> Response:
    """``{"runId", "facets"}``: the run's facets (``type=run``, the default) or its job's (``type=job``)."""
    kind = request.query_params.get("type", "run").strip().lower()
    return json_response(await read(request, run_facets, run_id, kind))


@router.get("/api/v1/jobs/runs/{run_id}")
async def run(request: Request, run_id: str) -> Response:
    """One run: state (and every event's), times, facets, versions read and written, job version."""
    return json_response(run_json(await read(request, get_run, run_id)))
