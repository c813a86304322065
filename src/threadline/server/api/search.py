"""``/api/v1/search``: datasets and jobs by name (and, as threadline extensions, by field or run id)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from starlette.responses import Response

from threadline.projection.readers import search as catalog
from threadline.server.api.access import ReadKey, State
from threadline.server.api.models import SearchResults
from threadline.server.api.params import PageParams, page_param, text_param
from threadline.server.api.routing import new_router, read
from threadline.server.api.shapes import search_json
from threadline.server.state import json_response

router = new_router()

#: Marquez's default number of search results.
SEARCH_LIMIT = 10


_q = text_param("q", "What to look for in names (and fields and run ids).", strip=False)
_filter = text_param("filter", "DATASET, JOB or RUN: only results of that type.")
_sort = text_param(
    "sort",
    "NAME (the default), UPDATE_AT (most recently updated first) or RELEVANCE (name matches before "
    "field matches, then the shortest names: what a type-ahead shows).",
)
_namespace = text_param("namespace", "Only results in this namespace.", strip=False)


@router.get("/api/v1/search", response_model=SearchResults)
async def search(
    _key: ReadKey,
    state: State,
    q: Annotated[str | None, Depends(_q)],
    result_filter: Annotated[str | None, Depends(_filter)],
    sort: Annotated[str | None, Depends(_sort)],
    namespace: Annotated[str | None, Depends(_namespace)],
    page: Annotated[PageParams, Depends(page_param(SEARCH_LIMIT))],
) -> Response:
    """``q`` (required), ``filter`` (DATASET, JOB or RUN), ``sort`` (NAME, UPDATE_AT or RELEVANCE), ``limit``
    (default 10), ``offset`` and ``namespace``: ``{"totalCount", "results": [...]}``."""
    found = await read(
        state,
        catalog.search,
        q or "",
        kind=catalog.parse_filter(result_filter),
        sort=catalog.parse_sort(sort),
        **page.kwargs(),
        namespace=namespace,
    )
    return json_response(search_json(found))
