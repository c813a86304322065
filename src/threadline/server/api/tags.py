"""``/api/v1/tags``: every tag in use or described, and describing a tag (``PUT`` or ``POST``)."""

from __future__ import annotations

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from threadline.errors import BadRequest
from threadline.projection.readers.tags import TagInfo, check_tag_name, list_tags, tag_definition_event
from threadline.server.api.access import ReadKey, State, WriteKey
from threadline.server.api.changes import append_change, wait_folded
from threadline.server.api.models import TagDescription, TagList, TagOut
from threadline.server.api.params import Page
from threadline.server.api.routing import new_router, read
from threadline.server.api.shapes import tag_json
from threadline.server.bodies import read_body
from threadline.server.state import json_response

router = new_router()


@router.get("/api/v1/tags", response_model=TagList)
async def tags(_key: ReadKey, state: State, page: Page) -> Response:
    """Tags sorted by name: ``{"tags": [{"name", "description"}], "totalCount": N}``."""
    found = await read(state, list_tags, **page.kwargs())
    return json_response({"tags": [tag_json(t) for t in found.items], "totalCount": found.total})


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


#: The body is read as a stream (within ``max_body_bytes``) and may be empty, so it is documented here
#: rather than declared as a parameter.
_TAG_BODY = {
    "requestBody": {
        "required": False,
        "content": {"application/json": {"schema": TagDescription.model_json_schema()}},
    }
}


@router.put("/api/v1/tags/{tag}", response_model=TagOut, openapi_extra=_TAG_BODY)
@router.post("/api/v1/tags/{tag}", response_model=TagOut, openapi_extra=_TAG_BODY)
async def describe_tag(_key: WriteKey, state: State, request: Request, tag: str) -> Response:
    """Create or describe a tag (``write`` scope): body ``{"description": "..."}``, optional."""
    name = check_tag_name(tag)
    description = _description(await read_body(request.headers, request.stream(), state.max_body_bytes))
    event = await append_change(state, tag_definition_event(name, description))
    await wait_folded(state, event)  # durable already; folded, the next list shows it
    return json_response(tag_json(TagInfo(name, description or "", 0)))
