"""``/api/v1/jobs/runs/{id}``: one run, and its run or job facets (Marquez's run detail)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from starlette.responses import Response

from threadline.params import parse_choice
from threadline.projection.readers.runs import get_run, run_facets
from threadline.server.api.access import ReadKey, State
from threadline.server.api.models import RunFacets, RunOut
from threadline.server.api.params import text_param
from threadline.server.api.routing import new_router, read
from threadline.server.api.shapes import run_json
from threadline.server.state import json_response

router = new_router()


_facet_kind = text_param("type", "run (the run's facets, the default) or job (its job's).")


@router.get("/api/v1/jobs/runs/{run_id}/facets", response_model=RunFacets)
async def facets(
    _key: ReadKey, state: State, run_id: str, kind: Annotated[str | None, Depends(_facet_kind)]
) -> Response:
    """``{"runId", "facets"}``: the run's facets (``type=run``, the default) or its job's (``type=job``)."""
    return json_response(
        await read(state, run_facets, run_id, parse_choice(kind, "type", ("run", "job"), "run"))
    )


@router.get("/api/v1/jobs/runs/{run_id}", response_model=RunOut)
async def run(_key: ReadKey, state: State, run_id: str) -> Response:
    """One run: state (and every event's), times, facets, versions read and written, job version."""
    return json_response(run_json(await read(state, get_run, run_id)))
