"""``/api/v1/search``: datasets and jobs by name (and, as threadline extensions, by field or run id)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from threadline.projection.readers import search as catalog
from threadline.server.api.routing import new_router, page_params, read
from threadline.server.api.shapes import search_json
from threadline.server.state import json_response

router = new_router()

#: Marquez's default number of search results.
SEARCH_LIMIT = 10


@router.get("/api/v1/search")
async def search(request: Request) -> Response:
    """``q`` (required), ``filter`` (DATASET, JOB or RUN), ``sort`` (NAME or UPDATE_AT), ``limit``
    (default 10), ``offset`` and ``namespace``: ``{"totalCount", "results": [...]}``."""
    params = request.query_params
    page = await read(
        request,
        catalog.search,
        params.get("q", ""),
        kind=catalog.parse_filter(params.get("filter")),
        sort=catalog.parse_sort(params.get("sort")),
        **page_params(request, SEARCH_LIMIT),
        namespace=params.get("namespace") or None,
    )
    return json_response(search_json(page))
