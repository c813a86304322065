"""``/api/v1/sources``: the data sources datasets live in (``dataSource`` facets, else namespaces)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from threadline.projection.readers.sources import get_source, list_sources
from threadline.server.api.routing import new_router, page_params, read
from threadline.server.api.shapes import source_json
from threadline.server.state import json_response

router = new_router()


@router.get("/api/v1/sources")
async def sources(request: Request) -> Response:
    """Sources sorted by name: ``{"sources": [...], "totalCount": N}``."""
    page = await read(request, list_sources, **page_params(request))
    return json_response({"sources": [source_json(s) for s in page.items], "totalCount": page.total})


@router.get("/api/v1/sources/{source}")
async def source(request: Request, source: str) -> Response:
    """One source by name."""
    return json_response(source_json(await read(request, get_source, source)))
