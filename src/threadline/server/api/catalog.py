"""``/api/v1/catalog/``: the Data Catalog over HTTP, in Data Catalog v1's JSON (``entryGroups``,
``entries``, ``tagTemplates``, ``tags``, ``catalog:search``, ``entries:lookup``).

Declared like every router of this package: the scope is a dependency (``ReadKey`` to browse and
search, ``WriteKey`` to edit entry groups, entries and tags, ``AdminKey`` for tag templates), whose key's
name is each change's ``by`` in the history; the query parameters are ``server.api.params``
dependencies (``asOf``, an ISO time, reads the catalog as it was then; ``pageSize``/``pageToken`` page a
list; ``force``); a body is documented from the pydantic mirrors of ``catalog_models`` and decoded by
the catalog's msgspec structs, which name the field at fault; each answer's ``response_model`` documents
it, while the handler answers msgspec-encoded JSON. Errors are threadline's (the one shape).

A write is planned against the catalog as it is (every check passes or nothing is written), appended
through the writer as events, and answered once folded, so the next read shows it.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

import msgspec
from fastapi import APIRouter, Depends, Path, Query
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from threadline.catalog import links, reads
from threadline.catalog.changes import Planner, change_events, entry_name, group_name, template_name
from threadline.catalog.propagation import propagated_tags
from threadline.catalog.search import MAX_PAGE, search
from threadline.catalog.suggest import MAX_SUGGESTIONS, suggest
from threadline.errors import BadRequest, InvalidParameter, NotFound
from threadline.openlineage.catalog_changes import ENTRY, GROUP, TAG, TEMPLATE, CatalogChange
from threadline.server.api import params
from threadline.server.api.access import AdminKey, ReadKey, State, WriteKey
from threadline.server.api.catalog_models import (
    CatalogEntry,
    CatalogEntryGroup,
    CatalogHistory,
    CatalogTag,
    CatalogTagList,
    CatalogTagOut,
    CatalogTagTemplate,
    Deleted,
    EntryGroupList,
    EntryGroupOut,
    EntryList,
    EntryOut,
    EnumValueRename,
    SearchAnswer,
    SearchRequest,
    SuggestAnswer,
    TagBatch,
    TagBatchAnswer,
    TagTemplateList,
    TagTemplateOut,
    body,
)
from threadline.server.api.changes import append_folded
from threadline.server.api.models import ERRORS
from threadline.server.api.routing import read
from threadline.server.bodies import read_body
from threadline.server.state import ServerState, json_response
from threadline.store.base import ApiKey

T = TypeVar("T")
PREFIX = "/api/v1/catalog"
router = APIRouter(prefix=PREFIX, tags=["catalog"], responses=ERRORS)
DEFAULT_PAGE = 100

# ---- parameters -----------------------------------------------------------------------------------------

#: ``asOf``: the catalog as it was at that time (microseconds), ``None`` for now.
AsOf = Annotated[int | None, Depends(params.as_of_param("The catalog"))]
#: ``force``: delete what depends on the resource too.
Force = Annotated[
    bool, Depends(params.flag_param("force", "Delete what depends on it too (true, 1 or yes)."))
]
_PAGE_TOKEN_HELP = "The nextPageToken of the previous answer, for the next page."


@dataclass(frozen=True, slots=True)
class TokenPage:
    """``pageSize`` and ``pageToken`` of a list request, checked (the token as an offset)."""

    size: int
    offset: int


def _offset(token: str | None) -> int:
    if not token:
        return 0
    try:
        offset = int(base64.urlsafe_b64decode(token.encode()).decode())
    except ValueError:
        offset = -1
    if offset < 0:
        msg = "pageToken is not one this server gave: pass the nextPageToken of the previous answer"
        raise InvalidParameter(msg, "pageToken")
    return offset


async def _token_page(
    size: Annotated[
        int, Depends(params.int_param("pageSize", "Most items in the answer", DEFAULT_PAGE, 1, MAX_PAGE))
    ],
    token: Annotated[str | None, Depends(params.text_param("pageToken", _PAGE_TOKEN_HELP))],
) -> TokenPage:
    return TokenPage(size, _offset(token))


#: ``pageSize`` (default 100) and ``pageToken``.
Page = Annotated[TokenPage, Depends(_token_page)]
EntryGroupId = Annotated[
    str, Depends(params.name_param("entryGroupId", "The new entry group's id.", "such as ml-pipelines"))
]
EntryId = Annotated[str, Depends(params.name_param("entryId", "The new entry's id.", "such as orders"))]
TagTemplateId = Annotated[
    str, Depends(params.name_param("tagTemplateId", "The new template's id.", "such as data_quality"))
]
LinkedResource = Annotated[
    str,
    Depends(
        params.name_param(
            "linkedResource",
            "The lineage dataset or job: dataset:NAMESPACE:NAME or job:NAMESPACE:NAME.",
            "such as dataset:postgres://db:5432:public.orders",
        )
    ),
]


#: The ids in the paths (a name is ``entryGroups/GROUP/entries/ENTRY/tags/TAG``, ``tagTemplates/ID``).
GroupId = Annotated[str, Path(description="The entry group's id.")]
EntryIdInPath = Annotated[str, Path(description="The entry's id, in its group.")]
TagId = Annotated[str, Path(description="The tag's id: its template's id, then @COLUMN if on a column.")]
TemplateId = Annotated[str, Path(description="The tag template's id.")]
FieldId = Annotated[str, Path(description="The enum field's id in the template.")]
EnumValueName = Annotated[str, Path(description="The enum value's current display name.")]


async def _json_body(request: Request, state: State) -> Any:
    """The request's JSON body (``{}`` when empty), read within the server's body limit; what it must
    hold is checked by the catalog's msgspec structs, which name the field at fault."""
    raw = await read_body(request.headers, request.stream(), state.max_body_bytes)
    if not raw.strip():
        return {}
    try:
        return msgspec.json.decode(raw)
    except msgspec.DecodeError as exc:
        msg = f"the body is not valid JSON: {exc}"
        raise BadRequest(msg) from None


#: The JSON body, decoded (documented on each route by ``openapi_extra``).
JsonBody = Annotated[Any, Depends(_json_body)]


# ---- helpers ------------------------------------------------------------------------------------


def _page(key: str, items: list[dict[str, Any]], total: int, offset: int) -> dict[str, Any]:
    answer: dict[str, Any] = {key: items, "totalSize": total}
    if offset + len(items) < total:
        answer["nextPageToken"] = base64.urlsafe_b64encode(str(offset + len(items)).encode()).decode()
    return answer


def _plan(state: ServerState, work: Callable[[Planner], T], by: str | None) -> tuple[T, list[CatalogChange]]:
    with state.store.read() as connection:
        planner = Planner(connection, by=by)
        return work(planner), planner.changes


async def _write(state: ServerState, key: ApiKey | None, work: Callable[[Planner], T]) -> T:
    """Plan ``work`` as ``key`` (its name is each change's ``by``), append its changes as events (all
    or none) and wait until they are folded (the key's scope was checked by the route's dependency)."""
    by = key.name if key is not None else None
    result, changes = await run_in_threadpool(_plan, state, work, by)
    if changes:
        await append_folded(state, change_events(changes))
    return result


def _get(connection: Any, kind: str, name: str, as_of: int | None, what: str) -> reads.Record:
    record = reads.get(connection, kind, name, as_of=as_of)
    if record is None:
        raise NotFound(reads.missing(connection, kind, name, what, as_of=as_of))
    return record


def _list(
    connection: Any, kind: str, parent: str | None, size: int, offset: int, as_of: int | None
) -> tuple[list[reads.Record], int]:
    return reads.list_records(connection, kind, parent=parent, limit=size, offset=offset, as_of=as_of)


def _history(connection: Any, kind: str, name: str, what: str, with_tags: bool = False) -> dict[str, Any]:
    changes = reads.history(connection, kind, name, with_tags=with_tags)
    if not changes and reads.get(connection, kind, name) is None:  # lineage's own: no change of theirs
        msg = f"{what} {name} has never existed"
        raise NotFound(msg)
    return {"name": name, "changes": changes}


# ---- entry groups -------------------------------------------------------------------------------


@router.get("/entryGroups", response_model=EntryGroupList)
async def list_entry_groups(_key: ReadKey, state: State, page: Page, as_of: AsOf) -> Response:
    """Entry groups by name."""
    items, total = await read(state, _list, GROUP, None, page.size, page.offset, as_of)
    return json_response(_page("entryGroups", [r.to_json() for r in items], total, page.offset))


@router.post(
    "/entryGroups",
    response_model=EntryGroupOut,
    openapi_extra=body(CatalogEntryGroup, "The entry group's fields."),
)
async def create_entry_group(
    key: WriteKey, state: State, entry_group_id: EntryGroupId, doc: JsonBody
) -> Response:
    """Create an entry group (``write``)."""
    await _write(state, key, lambda p: p.put_group(entry_group_id, doc, create=True))
    return await _answer(state, GROUP, group_name(entry_group_id), "entry group")


@router.get("/entryGroups/{group_id}", response_model=EntryGroupOut)
async def get_entry_group(_key: ReadKey, state: State, group_id: GroupId, as_of: AsOf) -> Response:
    """One entry group."""
    record = await read(state, _get, GROUP, group_name(group_id), as_of, "entry group")
    return json_response(record.to_json())


@router.patch(
    "/entryGroups/{group_id}",
    response_model=EntryGroupOut,
    openapi_extra=body(CatalogEntryGroup, "The fields to change."),
)
async def update_entry_group(key: WriteKey, state: State, group_id: GroupId, doc: JsonBody) -> Response:
    """Update an entry group's fields given in the body (``write``)."""
    await _write(state, key, lambda p: p.put_group(group_id, doc, create=False))
    return await _answer(state, GROUP, group_name(group_id), "entry group")


@router.delete("/entryGroups/{group_id}", response_model=Deleted)
async def delete_entry_group(key: WriteKey, state: State, group_id: GroupId, force: Force) -> Response:
    """Delete an entry group; one with entries needs ``force`` (``write``)."""
    await _write(state, key, lambda p: p.delete_group(group_id, force=force))
    return json_response({})


@router.get("/entryGroups/{group_id}/history", response_model=CatalogHistory)
async def entry_group_history(_key: ReadKey, state: State, group_id: GroupId) -> Response:
    """Every change of an entry group: what, when, by which key."""
    return json_response(await read(state, _history, GROUP, group_name(group_id), "entry group"))


async def _answer(state: ServerState, kind: str, name: str, what: str) -> Response:
    record = await read(state, _get, kind, name, None, what)
    if kind == ENTRY:
        return json_response(await read(state, links.decorate, record))
    return json_response(record.to_json())


# ---- entries ------------------------------------------------------------------------------------


@router.get("/entryGroups/{group_id}/entries", response_model=EntryList)
async def list_entries(_key: ReadKey, state: State, group_id: GroupId, page: Page, as_of: AsOf) -> Response:
    """The entries of a group, by name."""
    await read(state, _get, GROUP, group_name(group_id), as_of, "entry group")
    items, total = await read(state, _list, ENTRY, group_name(group_id), page.size, page.offset, as_of)
    return json_response(_page("entries", [r.to_json() for r in items], total, page.offset))


@router.post(
    "/entryGroups/{group_id}/entries",
    response_model=EntryOut,
    openapi_extra=body(CatalogEntry, "The entry's fields."),
)
async def create_entry(
    key: WriteKey, state: State, group_id: GroupId, entry_id: EntryId, doc: JsonBody
) -> Response:
    """Create an entry (``write``)."""
    await _write(state, key, lambda p: p.put_entry(group_id, entry_id, doc, create=True))
    return await _answer(state, ENTRY, entry_name(group_id, entry_id), "entry")


@router.get("/entryGroups/{group_id}/entries/{entry_id}", response_model=EntryOut)
async def get_entry(
    _key: ReadKey, state: State, group_id: GroupId, entry_id: EntryIdInPath, as_of: AsOf
) -> Response:
    """One entry, with what lineage adds (``threadline``: linked node, matching datasets, producers' tags)."""
    record = await read(state, _get, ENTRY, entry_name(group_id, entry_id), as_of, "entry")
    return json_response(await read(state, links.decorate, record))


@router.patch(
    "/entryGroups/{group_id}/entries/{entry_id}",
    response_model=EntryOut,
    openapi_extra=body(CatalogEntry, "The fields to change."),
)
async def update_entry(
    key: WriteKey, state: State, group_id: GroupId, entry_id: EntryIdInPath, doc: JsonBody
) -> Response:
    """Update the entry's fields given in the body (``write``)."""
    await _write(state, key, lambda p: p.put_entry(group_id, entry_id, doc, create=False))
    return await _answer(state, ENTRY, entry_name(group_id, entry_id), "entry")


@router.delete("/entryGroups/{group_id}/entries/{entry_id}", response_model=Deleted)
async def delete_entry(key: WriteKey, state: State, group_id: GroupId, entry_id: EntryIdInPath) -> Response:
    """Delete an entry and its tags (``write``)."""
    await _write(state, key, lambda p: p.delete_entry(group_id, entry_id))
    return json_response({})


WithTags = Annotated[
    bool,
    Query(
        alias="tags",
        description="With the changes of the entry's tags (on the entry or a column, deleted ones too), "
        "in the order they were made; each change says its kind and name.",
    ),
]


@router.get("/entryGroups/{group_id}/entries/{entry_id}/history", response_model=CatalogHistory)
async def entry_history(
    _key: ReadKey, state: State, group_id: GroupId, entry_id: EntryIdInPath, with_tags: WithTags = False
) -> Response:
    """Every change of an entry (``tags=true``: and of its tags)."""
    name = entry_name(group_id, entry_id)
    return json_response(await read(state, _history, ENTRY, name, "entry", with_tags))


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


@router.get("/entryGroups/{group_id}/entries/{entry_id}/tags", response_model=CatalogTagList)
async def list_tags(
    _key: ReadKey, state: State, group_id: GroupId, entry_id: EntryIdInPath, as_of: AsOf
) -> Response:
    """An entry's tags (its columns' included), with the templates' display names; then the tags its
    producers sent (source ``INTEGRATION``)."""
    tags = await read(state, _tags, group_id, entry_id, as_of)
    return json_response({"tags": tags})


@router.post(
    "/entryGroups/{group_id}/entries/{entry_id}/tags",
    response_model=CatalogTagOut,
    openapi_extra=body(CatalogTag, "The tag: its template, its field values, its column if on one."),
)
async def create_tag(
    key: WriteKey, state: State, group_id: GroupId, entry_id: EntryIdInPath, doc: JsonBody
) -> Response:
    """Write a tag on the entry or one of its columns; writing the same template (and column) again
    updates it (``write``)."""
    tag = await _write(state, key, lambda p: p.put_tag(group_id, entry_id, doc))
    return json_response(tag)


@router.patch(
    "/entryGroups/{group_id}/entries/{entry_id}/tags/{tag_id}",
    response_model=CatalogTagOut,
    openapi_extra=body(CatalogTag, "The field values to change (template and column are the tag's)."),
)
async def update_tag(
    key: WriteKey, state: State, group_id: GroupId, entry_id: EntryIdInPath, tag_id: TagId, doc: JsonBody
) -> Response:
    """Update the fields given of one tag (``write``)."""
    name = f"{entry_name(group_id, entry_id)}/tags/{tag_id}"

    def work(planner: Planner) -> dict[str, Any]:
        current = planner.current(TAG, name)
        if current is None:
            raise NotFound(reads.missing(planner.connection, TAG, name, "tag"))
        fields = doc.get("fields") if isinstance(doc, dict) else None
        patch = {"template": current["template"], "column": current.get("column", ""), "fields": fields or {}}
        return planner.put_tag(group_id, entry_id, patch, create=False)

    return json_response(await _write(state, key, work))


@router.delete("/entryGroups/{group_id}/entries/{entry_id}/tags/{tag_id}", response_model=Deleted)
async def delete_tag(
    key: WriteKey, state: State, group_id: GroupId, entry_id: EntryIdInPath, tag_id: TagId
) -> Response:
    """Delete one tag (``write``)."""
    await _write(state, key, lambda p: p.delete_tag(group_id, entry_id, tag_id))
    return json_response({})


@router.get("/entryGroups/{group_id}/entries/{entry_id}/tags/{tag_id}/history", response_model=CatalogHistory)
async def tag_history(
    _key: ReadKey, state: State, group_id: GroupId, entry_id: EntryIdInPath, tag_id: TagId
) -> Response:
    """Every change of one tag."""
    name = f"{entry_name(group_id, entry_id)}/tags/{tag_id}"
    return json_response(await read(state, _history, TAG, name, "tag"))


@router.post(
    "/tags:batch",
    response_model=TagBatchAnswer,
    openapi_extra=body(TagBatch, "The tags, each with its entry."),
)
async def batch_tags(key: WriteKey, state: State, doc: JsonBody) -> Response:
    """Write many tags at once, all or none (``write``): ``{"tags": [{"entry": "entryGroups/G/entries/E",
    "tag": {…}}]}``. A tag that is already as given changes nothing."""
    items = doc.get("tags") if isinstance(doc, dict) else None
    if not isinstance(items, list):
        msg = 'the body must be {"tags": [{"entry": "entryGroups/G/entries/E", "tag": {...}}]}'
        raise BadRequest(msg)

    def work(planner: Planner) -> dict[str, Any]:
        written = []
        planner.prefetch_batch(items)
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

    return json_response(await _write(state, key, work))


# ---- tag templates ------------------------------------------------------------------------------


@router.get("/tagTemplates", response_model=TagTemplateList)
async def list_tag_templates(_key: ReadKey, state: State, page: Page, as_of: AsOf) -> Response:
    """Tag templates by name."""
    items, total = await read(state, _list, TEMPLATE, None, page.size, page.offset, as_of)
    return json_response(_page("tagTemplates", [r.to_json() for r in items], total, page.offset))


@router.post(
    "/tagTemplates",
    response_model=TagTemplateOut,
    openapi_extra=body(CatalogTagTemplate, "The template's typed fields by id."),
)
async def create_tag_template(
    key: AdminKey, state: State, tag_template_id: TagTemplateId, doc: JsonBody
) -> Response:
    """Create a tag template (``admin``)."""
    await _write(state, key, lambda p: p.put_template(tag_template_id, doc, create=True))
    return await _answer(state, TEMPLATE, template_name(tag_template_id), "tag template")


@router.get("/tagTemplates/{template_id}", response_model=TagTemplateOut)
async def get_tag_template(_key: ReadKey, state: State, template_id: TemplateId, as_of: AsOf) -> Response:
    """One tag template."""
    record = await read(state, _get, TEMPLATE, template_name(template_id), as_of, "tag template")
    return json_response(record.to_json())


@router.patch(
    "/tagTemplates/{template_id}",
    response_model=TagTemplateOut,
    openapi_extra=body(CatalogTagTemplate, "The fields of the template to change."),
)
async def update_tag_template(
    key: AdminKey, state: State, template_id: TemplateId, doc: JsonBody
) -> Response:
    """Update a template (``admin``) by Data Catalog's evolution rules: a field's type never changes,
    enum values are only added (or renamed), no required field is added while tags use it."""
    await _write(state, key, lambda p: p.put_template(template_id, doc, create=False))
    return await _answer(state, TEMPLATE, template_name(template_id), "tag template")


@router.delete("/tagTemplates/{template_id}", response_model=Deleted)
async def delete_tag_template(key: AdminKey, state: State, template_id: TemplateId, force: Force) -> Response:
    """Delete a template; one that tags use needs ``force``, which deletes them too (``admin``)."""
    await _write(state, key, lambda p: p.delete_template(template_id, force=force))
    return json_response({})


@router.post(
    "/tagTemplates/{template_id}/fields/{field_id}/enumValues/{value}:rename",
    response_model=TagTemplateOut,
    openapi_extra=body(EnumValueRename, "The value's new name."),
)
async def rename_enum_value(
    key: AdminKey,
    state: State,
    template_id: TemplateId,
    field_id: FieldId,
    value: EnumValueName,
    doc: JsonBody,
) -> Response:
    """Rename an enum value, in the template and every tag that holds it (``admin``):
    ``{"newEnumValueDisplayName": "…"}``."""
    new = doc.get("newEnumValueDisplayName") if isinstance(doc, dict) else None
    if not isinstance(new, str) or not new.strip():
        msg = "newEnumValueDisplayName must be a non-empty string"
        raise BadRequest(msg)
    await _write(state, key, lambda p: p.rename_enum_value(template_id, field_id, value, new))
    return await _answer(state, TEMPLATE, template_name(template_id), "tag template")


@router.get("/tagTemplates/{template_id}/history", response_model=CatalogHistory)
async def tag_template_history(_key: ReadKey, state: State, template_id: TemplateId) -> Response:
    """Every change of a tag template."""
    return json_response(await read(state, _history, TEMPLATE, template_name(template_id), "tag template"))


# ---- search and lookup --------------------------------------------------------------------------


@router.post(
    "/catalog:search",
    response_model=SearchAnswer,
    openapi_extra=body(SearchRequest, "The query, and the page wanted."),
)
async def search_catalog(_key: ReadKey, state: State, doc: JsonBody) -> Response:
    """Search entries: ``{"query", "pageSize", "pageToken", "orderBy"}`` → ``{"results", "totalSize",
    "nextPageToken", "facets"}``; a malformed query is a 400 naming its position."""
    if not isinstance(doc, dict) or not isinstance(doc.get("query"), str):
        msg = 'the body must be {"query": "..."} (with pageSize, pageToken, orderBy if wanted)'
        raise BadRequest(msg)
    size = doc.get("pageSize", 10)
    if not isinstance(size, int) or isinstance(size, bool):
        msg = "pageSize must be an integer"
        raise BadRequest(msg)
    token, order = doc.get("pageToken"), doc.get("orderBy", "relevance")
    if token is not None and not isinstance(token, str):
        msg = "pageToken must be a string"
        raise BadRequest(msg)
    if not isinstance(order, str):
        msg = "orderBy must be a string"
        raise BadRequest(msg)
    answer = await read(state, search, doc["query"], page_size=size, page_token=token, order_by=order)
    return json_response(answer)


@router.get("/entries:lookup", response_model=EntryOut)
async def lookup_entry(_key: ReadKey, state: State, linked_resource: LinkedResource) -> Response:
    """The entry of a lineage dataset or job (``dataset:NAMESPACE:NAME``, ``job:NAMESPACE:NAME``): the
    registered entry that links it, else its implicit entry in the group ``@NAMESPACE``; with the
    file-set entries whose patterns cover a dataset."""
    return json_response(await read(state, links.lookup, linked_resource))


@router.get("/catalog:suggest", response_model=SuggestAnswer)
async def suggest_catalog(
    _key: ReadKey,
    state: State,
    query: Annotated[
        str | None,
        Depends(params.text_param("q", "The query as typed; its last word is completed.", strip=False)),
    ],
    limit: Annotated[int, Depends(params.int_param("limit", "Most suggestions", 10, 1, MAX_SUGGESTIONS))],
) -> Response:
    """Type-ahead for the search box: what the query's last word may become (qualifiers, templates,
    their fields and values, entry types, systems, groups, entries)."""
    return json_response(await read(state, suggest, query or "", limit=limit))
