"""``/api/v1/tags``: every tag in use or described, and describing a tag (``PUT`` or ``POST``)."""

from __future__ import annotations

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from threadline.errors import BadRequest
from threadline.projection.readers.tags import TagInfo, check_tag_name, list_tags, tag_definition_event
from threadline.server.api.changes import append_change, wait_folded
from threadline.server.api.routing import new_router, page_params, read
from threadline.server.api.shapes import tag_json
from threadline.server.bodies import read_body
from threadline.server.state import json_response, state_of

router = new_router()


@router.get("/api/v1/tags")
async def tags(request: Request) -> Response:
    """Tags sorted by name: ``{"tags": [{"name", "description"}], "totalCount": N}``."""
    page = await read(request, list_tags, **page_params(request))
    return json_response({"tags": [tag_json(t) for t in page.items], "totalCount": page.total})


def _description(body: bytes) -> str | None:
    if not body.strip():
        return None
    try:
        doc = msgspec.json.decode(body)
    except msgspec.DecodeError as exc:
        msg = f"the body is not valid JSON: {exc}"
        raise BadRequest(msg) from None
    if not isinstance(doc, dict):
        msg = 'the body must be a JSON object such as {"description": "Contains personal data"}'
        raise BadRequest(msg)
    description = doc.get("description")
    if description is not None and not isinstance(description, str):
        msg = "description must be a string"
        raise BadRequest(msg)
    return description


@router.put("/api/v1/tags/{tag}")
@router.post("/api/v1/tags/{tag}")
async def describe_tag(request: Request, tag: str) -> Response:
    """Create or describe a tag (``write`` scope): body ``{"description": "..."}``, optional."""
    state = state_of(request)
    await state.auth.require(request.headers, "write")
    name = check_tag_name(tag)
    description = _description(await read_body(request.headers, request.stream(), state.max_body_bytes))
    event = await append_change(state, tag_definition_event(name, description))
    await wait_folded(state, event)  # durable already; folded, the next list shows it
    return json_response(tag_json(TagInfo(name, description or "", 0)))
