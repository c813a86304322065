"""``/api/v1/catalog/``: the Data Catalog over HTTP, in Data Catalog v1's JSON (``entryGroups``,
``entries``, ``tagTemplates``, ``tags``, ``catalog:search``, ``entries:lookup``).

Scopes: ``read`` to browse and search, ``write`` to edit entry groups, entries and tags, ``admin`` for
tag templates. A write is planned against the catalog as it is (every check passes or nothing is
written), appended through the writer as events, and answered once folded, so the next read shows it.
Reads take ``asOf`` (an ISO time) to read the catalog as it was then.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

import msgspec
from fastapi import APIRouter, Query
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from threadline.catalog import links, reads
from threadline.catalog.changes import Planner, change_events, entry_name, group_name, template_name
from threadline.catalog.propagation import propagated_tags
from threadline.catalog.search import MAX_PAGE, search
from threadline.errors import BadRequest, NotFound
from threadline.openlineage.catalog_changes import ENTRY, GROUP, TAG, TEMPLATE, CatalogChange
from threadline.openlineage.events import parse_event
from threadline.openlineage.timestamps import parse_time
from threadline.server.api import routing
from threadline.server.api.changes import wait_folded
from threadline.server.bodies import read_body
from threadline.server.state import ServerState, json_response, state_of
from threadline.store.codec import encode

T = TypeVar("T")
router = APIRouter(prefix="/api/v1/catalog", tags=["catalog"])
PREFIX = "/api/v1/catalog"
DEFAULT_PAGE = 100

AsOf = Annotated[str | None, Query(alias="asOf", description="Read the catalog as it was at this ISO time.")]
PageSize = Annotated[int, Query(alias="pageSize", ge=1, le=MAX_PAGE)]
PageToken = Annotated[str | None, Query(alias="pageToken")]
Force = Annotated[bool, Query(description="Delete what depends on it too.")]


# ---- helpers ------------------------------------------------------------------------------------


def _as_of(text: str | None) -> int | None:
    if text is None or not text.strip():
        return None
    try:
        return parse_time(text)
    except ValueError:
        msg = f"asOf must be an ISO 8601 time such as 2026-01-31T12:00:00Z, not {text!r}"
        raise BadRequest(msg) from None


def _offset(token: str | None) -> int:
    if not token:
        return 0
    try:
        offset = int(base64.urlsafe_b64decode(token.encode()).decode())
    except ValueError:
        offset = -1
    if offset < 0:
        msg = "pageToken is not one this server gave: pass the nextPageToken of the previous answer"
        raise BadRequest(msg)
    return offset


def _page(key: str, items: list[dict[str, Any]], total: int, offset: int) -> dict[str, Any]:
    answer: dict[str, Any] = {key: items, "totalSize": total}
    if offset + len(items) < total:
        answer["nextPageToken"] = base64.urlsafe_b64encode(str(offset + len(items)).encode()).decode()
    return answer


async def _body(request: Request) -> Any:
    state = state_of(request)
    raw = await read_body(request.headers, request.stream(), state.max_body_bytes)
    if not raw.strip():
        return {}
    try:
        return msgspec.json.decode(raw)
    except msgspec.DecodeError as exc:
        msg = f"the body is not valid JSON: {exc}"
        raise BadRequest(msg) from None


def _plan(state: ServerState, work: Callable[[Planner], T], by: str | None) -> tuple[T, list[CatalogChange]]:
    with state.store.read() as connection:
        planner = Planner(connection, by=by)
        return work(planner), planner.changes


async def _write(request: Request, scope: str, work: Callable[[Planner], T]) -> T:
    """Check the key, plan ``work``, append its changes as events (all or none) and wait until folded."""
    state = state_of(request)
    key = await state.auth.require(request.headers, scope)
    result, changes = await run_in_threadpool(_plan, state, work, key.name if key is not None else None)
    if changes:
        events = []
        for raw in change_events(changes):
            event = parse_event(raw)
            event.codec, event.payload = encode(event.raw)
            events.append(event)
        await state.writer.submit(events)
        await wait_folded(state, events[-1])
    return result


async def read(request: Request, work: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Check the key's read scope, then run ``work(connection, *args, **kwargs)`` in a read transaction."""
    state = state_of(request)
    await state.auth.require(request.headers, "read")
    return await routing.read(state, work, *args, **kwargs)


def _get(connection: Any, kind: str, name: str, as_of: int | None, what: str) -> reads.Record:
    record = reads.get(connection, kind, name, as_of=as_of)
    if record is None:
        when = " at that time" if as_of is not None else ""
        msg = f"{what} {name} does not exist{when}"
        raise NotFound(msg)
    return record


def _list(
    connection: Any, kind: str, parent: str | None, size: int, offset: int, as_of: int | None
) -> tuple[list[reads.Record], int]:
    return reads.list_records(connection, kind, parent=parent, limit=size, offset=offset, as_of=as_of)


def _history(connection: Any, kind: str, name: str, what: str) -> dict[str, Any]:
    changes = reads.history(connection, kind, name)
    if not changes:
        msg = f"{what} {name} has never existed"
        raise NotFound(msg)
    return {"name": name, "changes": changes}


# ---- entry groups -------------------------------------------------------------------------------


@router.get("/entryGroups")
async def list_entry_groups(
    request: Request, page_size: PageSize = DEFAULT_PAGE, page_token: PageToken = None, as_of: AsOf = None
) -> Response:
    """Entry groups by name."""
    offset, when = _offset(page_token), _as_of(as_of)
    items, total = await read(request, _list, GROUP, None, page_size, offset, when)
    return json_response(_page("entryGroups", [r.to_json() for r in items], total, offset))


@router.post("/entryGroups")
async def create_entry_group(
    request: Request, entry_group_id: Annotated[str, Query(alias="entryGroupId")]
) -> Response:
    """Create an entry group (``write``)."""
    body = await _body(request)
    await _write(request, "write", lambda p: p.put_group(entry_group_id, body, create=True))
    return await _answer(request, GROUP, group_name(entry_group_id), "entry group")


@router.get("/entryGroups/{group_id}")
async def get_entry_group(request: Request, group_id: str, as_of: AsOf = None) -> Response:
    """One entry group."""
    record = await read(request, _get, GROUP, group_name(group_id), _as_of(as_of), "entry group")
    return json_response(record.to_json())


@router.patch("/entryGroups/{group_id}")
async def update_entry_group(request: Request, group_id: str) -> Response:
    """Update an entry group's fields given in the body (``write``)."""
    body = await _body(request)
    await _write(request, "write", lambda p: p.put_group(group_id, body, create=False))
    return await _answer(request, GROUP, group_name(group_id), "entry group")


@router.delete("/entryGroups/{group_id}")
async def delete_entry_group(request: Request, group_id: str, force: Force = False) -> Response:
    """Delete an entry group; one with entries needs ``force`` (``write``)."""
    await _write(request, "write", lambda p: p.delete_group(group_id, force=force))
    return json_response({})


@router.get("/entryGroups/{group_id}/history")
async def entry_group_history(request: Request, group_id: str) -> Response:
    """Every change of an entry group: what, when, by which key."""
    return json_response(await read(request, _history, GROUP, group_name(group_id), "entry group"))


async def _answer(request: Request, kind: str, name: str, what: str) -> Response:
    record = await read(request, _get, kind, name, None, what)
    if kind == ENTRY:
        return json_response(await read(request, links.decorate, record))
    return json_response(record.to_json())


# ---- entries ------------------------------------------------------------------------------------


@router.get("/entryGroups/{group_id}/entries")
async def list_entries(
    request: Request,
    group_id: str,
    page_size: PageSize = DEFAULT_PAGE,
    page_token: PageToken = None,
    as_of: AsOf = None,
) -> Response:
    """The entries of a group, by name."""
    offset, when = _offset(page_token), _as_of(as_of)
    await read(request, _get, GROUP, group_name(group_id), when, "entry group")
    items, total = await read(request, _list, ENTRY, group_name(group_id), page_size, offset, when)
    return json_response(_page("entries", [r.to_json() for r in items], total, offset))


@router.post("/entryGroups/{group_id}/entries")
async def create_entry(
    request: Request, group_id: str, entry_id: Annotated[str, Query(alias="entryId")]
) -> Response:
    """Create an entry (``write``)."""
    body = await _body(request)
    await _write(request, "write", lambda p: p.put_entry(group_id, entry_id, body, create=True))
    return await _answer(request, ENTRY, entry_name(group_id, entry_id), "entry")


@router.get("/entryGroups/{group_id}/entries/{entry_id}")
async def get_entry(request: Request, group_id: str, entry_id: str, as_of: AsOf = None) -> Response:
    """One entry, with what lineage adds (``threadline``: linked node, matching datasets, producers' tags)."""
    record = await read(request, _get, ENTRY, entry_name(group_id, entry_id), _as_of(as_of), "entry")
    return json_response(await read(request, links.decorate, record))


@router.patch("/entryGroups/{group_id}/entries/{entry_id}")
async def update_entry(request: Request, group_id: str, entry_id: str) -> Response:
    """Update the entry's fields given in the body (``write``)."""
    body = await _body(request)
    await _write(request, "write", lambda p: p.put_entry(group_id, entry_id, body, create=False))
    return await _answer(request, ENTRY, entry_name(group_id, entry_id), "entry")


@router.delete("/entryGroups/{group_id}/entries/{entry_id}")
async def delete_entry(request: Request, group_id: str, entry_id: str) -> Response:
    """Delete an entry and its tags (``write``)."""
    await _write(request, "write", lambda p: p.delete_entry(group_id, entry_id))
    return json_response({})


@router.get("/entryGroups/{group_id}/entries/{entry_id}/history")
async def entry_history(request: Request, group_id: str, entry_id: str) -> Response:
    """Every change of an entry."""
    return json_response(await read(request, _history, ENTRY, entry_name(group_id, entry_id), "entry"))


# ---- tags ---------------------------------------------------------------------------------------


def _tags(connection: Any, group_id: str, entry_id: str, as_of: int | None) -> list[dict[str, Any]]:
    parent = entry_name(group_id, entry_id)
    entry = _get(connection, ENTRY, parent, as_of, "entry")
    records, _ = reads.list_records(connection, TAG, parent=parent, as_of=as_of)
    titles = {}
    for record in records:
        template = record.body.get("template", "")
        if template not in titles:
            found = reads.get(connection, TEMPLATE, template)
            titles[template] = found.body if found is not None else {}
    out = []
    for record in records:
        doc = record.to_json()
        template = titles[record.body.get("template", "")]
        doc["templateDisplayName"] = template.get("displayName") or doc["template"].rsplit("/", 1)[-1]
        for field_id, value in doc.get("fields", {}).items():
            field = template.get("fields", {}).get(field_id, {})
            value["displayName"] = field.get("displayName") or field_id
            value["order"] = field.get("order", 0)
        out.append(doc)
    node = links.linked_node(entry.body.get("linkedResource"))
    out.extend(links.integration_tags(connection, parent, node))
    if node is not None and node.is_dataset:
        out.extend(propagated_tags(connection, node, [r.body for r in records], parent))
    return out


@router.get("/entryGroups/{group_id}/entries/{entry_id}/tags")
async def list_tags(request: Request, group_id: str, entry_id: str, as_of: AsOf = None) -> Response:
    """An entry's tags (its columns' included), with the templates' display names; then the tags its
    producers sent (source ``INTEGRATION``)."""
    tags = await read(request, _tags, group_id, entry_id, _as_of(as_of))
    return json_response({"tags": tags})


@router.post("/entryGroups/{group_id}/entries/{entry_id}/tags")
async def create_tag(request: Request, group_id: str, entry_id: str) -> Response:
    """Write a tag on the entry or one of its columns; writing the same template (and column) again
    updates it (``write``)."""
    body = await _body(request)
    tag = await _write(request, "write", lambda p: p.put_tag(group_id, entry_id, body))
    return json_response(tag)


@router.patch("/entryGroups/{group_id}/entries/{entry_id}/tags/{tag_id}")
async def update_tag(request: Request, group_id: str, entry_id: str, tag_id: str) -> Response:
    """Update the fields given of one tag (``write``)."""
    body = await _body(request)
    name = f"{entry_name(group_id, entry_id)}/tags/{tag_id}"

    def work(planner: Planner) -> dict[str, Any]:
        current = planner.current(TAG, name)
        if current is None:
            msg = f"tag {name} does not exist"
            raise NotFound(msg)
        fields = body.get("fields") if isinstance(body, dict) else None
        patch = {"template": current["template"], "column": current.get("column", ""), "fields": fields or {}}
        return planner.put_tag(group_id, entry_id, patch, create=False)

    return json_response(await _write(request, "write", work))


@router.delete("/entryGroups/{group_id}/entries/{entry_id}/tags/{tag_id}")
async def delete_tag(request: Request, group_id: str, entry_id: str, tag_id: str) -> Response:
    """Delete one tag (``write``)."""
    await _write(request, "write", lambda p: p.delete_tag(group_id, entry_id, tag_id))
    return json_response({})


@router.get("/entryGroups/{group_id}/entries/{entry_id}/tags/{tag_id}/history")
async def tag_history(request: Request, group_id: str, entry_id: str, tag_id: str) -> Response:
    """Every change of one tag."""
    name = f"{entry_name(group_id, entry_id)}/tags/{tag_id}"
    return json_response(await read(request, _history, TAG, name, "tag"))


@router.post("/tags:batch")
async def batch_tags(request: Request) -> Response:
    """Write many tags at once, all or none (``write``): ``{"tags": [{"entry": "entryGroups/G/entries/E",
    "tag": {…}}]}``. A tag that is already as given changes nothing."""
    body = await _body(request)
    items = body.get("tags") if isinstance(body, dict) else None
    if not isinstance(items, list):
        msg = 'the body must be {"tags": [{"entry": "entryGroups/G/entries/E", "tag": {...}}]}'
        raise BadRequest(msg)

    def work(planner: Planner) -> dict[str, Any]:
        written = []
        entries = [i["entry"] for i in items if isinstance(i, dict) and isinstance(i.get("entry"), str)]
        planner.prefetch(ENTRY, entries)
        planner.prefetch_tags(entries)
        for index, item in enumerate(items):
            entry = item.get("entry") if isinstance(item, dict) else None
            parts = entry.split("/") if isinstance(entry, str) else []
            if len(parts) != 4 or parts[0] != "entryGroups" or parts[2] != "entries":
                msg = f"tags[{index}].entry must be entryGroups/GROUP/entries/ENTRY"
                raise BadRequest(msg)
            try:
                written.append(planner.put_tag(parts[1], parts[3], item.get("tag")))
            except (BadRequest, NotFound) as exc:
                raise type(exc)(f"tags[{index}]: {exc.message}") from None
        return {"tags": written, "changed": len(planner.changes)}

    return json_response(await _write(request, "write", work))


# ---- tag templates ------------------------------------------------------------------------------


@router.get("/tagTemplates")
async def list_tag_templates(
    request: Request, page_size: PageSize = DEFAULT_PAGE, page_token: PageToken = None, as_of: AsOf = None
) -> Response:
    """Tag templates by name."""
    offset, when = _offset(page_token), _as_of(as_of)
    items, total = await read(request, _list, TEMPLATE, None, page_size, offset, when)
    return json_response(_page("tagTemplates", [r.to_json() for r in items], total, offset))


@router.post("/tagTemplates")
async def create_tag_template(
    request: Request, tag_template_id: Annotated[str, Query(alias="tagTemplateId")]
) -> Response:
    """Create a tag template (``admin``)."""
    body = await _body(request)
    await _write(request, "admin", lambda p: p.put_template(tag_template_id, body, create=True))
    return await _answer(request, TEMPLATE, template_name(tag_template_id), "tag template")


@router.get("/tagTemplates/{template_id}")
async def get_tag_template(request: Request, template_id: str, as_of: AsOf = None) -> Response:
    """One tag template."""
    record = await read(request, _get, TEMPLATE, template_name(template_id), _as_of(as_of), "tag template")
    return json_response(record.to_json())


@router.patch("/tagTemplates/{template_id}")
async def update_tag_template(request: Request, template_id: str) -> Response:
    """Update a template (``admin``) by Data Catalog's evolution rules: a field's type never changes,
    enum values are only added (or renamed), no required field is added while tags use it."""
    body = await _body(request)
    await _write(request, "admin", lambda p: p.put_template(template_id, body, create=False))
    return await _answer(request, TEMPLATE, template_name(template_id), "tag template")


@router.delete("/tagTemplates/{template_id}")
async def delete_tag_template(request: Request, template_id: str, force: Force = False) -> Response:
    """Delete a template; one that tags use needs ``force``, which deletes them too (``admin``)."""
    await _write(request, "admin", lambda p: p.delete_template(template_id, force=force))
    return json_response({})


@router.post("/tagTemplates/{template_id}/fields/{field_id}/enumValues/{value}:rename")
async def rename_enum_value(request: Request, template_id: str, field_id: str, value: str) -> Response:
    """Rename an enum value, in the template and every tag that holds it (``admin``):
    ``{"newEnumValueDisplayName": "…"}``."""
    body = await _body(request)
    new = body.get("newEnumValueDisplayName") if isinstance(body, dict) else None
    if not isinstance(new, str) or not new.strip():
        msg = "newEnumValueDisplayName must be a non-empty string"
        raise BadRequest(msg)
    await _write(request, "admin", lambda p: p.rename_enum_value(template_id, field_id, value, new))
    return await _answer(request, TEMPLATE, template_name(template_id), "tag template")


@router.get("/tagTemplates/{template_id}/history")
async def tag_template_history(request: Request, template_id: str) -> Response:
    """Every change of a tag template."""
    return json_response(await read(request, _history, TEMPLATE, template_name(template_id), "tag template"))


# ---- search and lookup --------------------------------------------------------------------------


@router.post("/catalog:search")
async def search_catalog(request: Request) -> Response:
    """Search entries: ``{"query", "pageSize", "pageToken", "orderBy"}`` → ``{"results", "totalSize",
    "nextPageToken", "facets"}``; a malformed query is a 400 naming its position."""
    body = await _body(request)
    if not isinstance(body, dict) or not isinstance(body.get("query"), str):
        msg = 'the body must be {"query": "..."} (with pageSize, pageToken, orderBy if wanted)'
        raise BadRequest(msg)
    size = body.get("pageSize", 10)
    if not isinstance(size, int) or isinstance(size, bool):
        msg = "pageSize must be an integer"
        raise BadRequest(msg)
    token, order = body.get("pageToken"), body.get("orderBy", "relevance")
    if token is not None and not isinstance(token, str):
        msg = "pageToken must be a string"
        raise BadRequest(msg)
    if not isinstance(order, str):
        msg = "orderBy must be a string"
        raise BadRequest(msg)
    answer = await read(request, search, body["query"], page_size=size, page_token=token, order_by=order)
    return json_response(answer)


@router.get("/entries:lookup")
async def lookup_entry(
    request: Request, linked_resource: Annotated[str, Query(alias="linkedResource")]
) -> Response:
    """The entry of a lineage dataset or job (``dataset:NAMESPACE:NAME``, ``job:NAMESPACE:NAME``): the
    registered entry that links it, else its implicit entry in the group ``@NAMESPACE``; with the
    file-set entries whose patterns cover a dataset."""
    return json_response(await read(request, links.lookup, linked_resource))
