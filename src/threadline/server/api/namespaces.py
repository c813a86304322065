"""``/api/v1/namespaces``: list and get namespaces (any spelling of a name finds it)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from threadline.projection.readers.namespaces import get_namespace, list_namespaces
from threadline.server.api.routing import new_router, page_params, read
from threadline.server.api.shapes import namespace_json
from threadline.server.state import json_response

router = new_router()


@router.get("/api/v1/namespaces")
async def namespaces(request: Request) -> Response:
    """Namespaces sorted by name: ``{"namespaces": [...], "totalCount": N}``."""
    page = await read(request, list_namespaces, **page_params(request))
    return json_response({"namespaces": [namespace_json(n) for n in page.items], "totalCount": page.total})


@router.get("/api/v1/namespaces/{namespace}")
async def namespace(request: Request, namespace: str) -> Response:
    """One namespace, shown with the spelling first sent."""
    return json_response(namespace_json(await read(request, get_namespace, namespace)))
