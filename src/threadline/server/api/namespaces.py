"""``/api/v1/namespaces``: list and get namespaces (any spelling of a name finds it)."""

from __future__ import annotations

from starlette.responses import Response

from threadline.projection.readers.namespaces import get_namespace, list_namespaces
from threadline.server.api.access import ReadKey, State
from threadline.server.api.models import NamespaceList, NamespaceOut
from threadline.server.api.params import Page
from threadline.server.api.routing import new_router, read
from threadline.server.api.shapes import namespace_json
from threadline.server.state import json_response

router = new_router()


@router.get("/api/v1/namespaces", response_model=NamespaceList)
async def namespaces(_key: ReadKey, state: State, page: Page) -> Response:
    """Namespaces sorted by name: ``{"namespaces": [...], "totalCount": N}``."""
    found = await read(state, list_namespaces, **page.kwargs())
    return json_response({"namespaces": [namespace_json(n) for n in found.items], "totalCount": found.total})


@router.get("/api/v1/namespaces/{namespace}", response_model=NamespaceOut)
async def namespace(_key: ReadKey, state: State, namespace: str) -> Response:
    """One namespace, shown with the spelling first sent."""
    return json_response(namespace_json(await read(state, get_namespace, namespace)))
