"""``/api/v1/sources``: the data sources datasets live in (``dataSource`` facets, else namespaces)."""

from __future__ import annotations

from starlette.responses import Response

from threadline.projection.readers.sources import get_source, list_sources
from threadline.server.api.access import ReadKey, State
from threadline.server.api.models import SourceList, SourceOut
from threadline.server.api.params import Page
from threadline.server.api.routing import new_router, read
from threadline.server.api.shapes import source_json
from threadline.server.state import json_response

router = new_router()


@router.get("/api/v1/sources", response_model=SourceList)
async def sources(_key: ReadKey, state: State, page: Page) -> Response:
    """Sources sorted by name: ``{"sources": [...], "totalCount": N}``."""
    found = await read(state, list_sources, **page.kwargs())
    return json_response({"sources": [source_json(s) for s in found.items], "totalCount": found.total})


@router.get("/api/v1/sources/{source}", response_model=SourceOut)
async def source(_key: ReadKey, state: State, source: str) -> Response:
    """One source by name."""
    return json_response(source_json(await read(state, get_source, source)))
