"""``/api/v1/namespaces/{namespace}/datasets``: datasets, their versions, and tagging them.

A dataset is found by any spelling of its namespace, or by one of its symlink aliases. Tagging a
dataset or one of its fields appends a DatasetEvent carrying that one change, an addition or a
removal (see ``threadline.projection.readers.tags``), and answers once it is durable (see ``changes``).
"""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from threadline.errors import NotFound
from threadline.openlineage.tag_changes import ADD, REMOVE
from threadline.projection.readers import datasets as catalog
from threadline.projection.readers.tags import (
    TAG_SOURCE,
    TagOverlay,
    TagState,
    check_tag_name,
    tag_change,
    tag_change_event,
)
from threadline.server.api.access import ReadKey, State, WriteKey
from threadline.server.api.changes import append_change, wait_folded
from threadline.server.api.models import DatasetList, DatasetOut, DatasetVersionList, DatasetVersionOut
from threadline.server.api.params import Page
from threadline.server.api.routing import new_router, read
from threadline.server.api.shapes import dataset_json, dataset_version_json
from threadline.server.state import ServerState, json_response
from threadline.store.base import ApiKey

router = new_router()


@router.get("/api/v1/namespaces/{namespace}/datasets", response_model=DatasetList)
async def datasets(_key: ReadKey, state: State, namespace: str, page: Page) -> Response:
    """Datasets of a namespace by name: ``{"datasets": [...], "totalCount": N}``."""
    found = await read(state, catalog.list_datasets, namespace, **page.kwargs())
    return json_response({"datasets": [dataset_json(d) for d in found.items], "totalCount": found.total})


@router.get("/api/v1/namespaces/{namespace}/datasets/{dataset}/versions", response_model=DatasetVersionList)
async def versions(_key: ReadKey, state: State, namespace: str, dataset: str, page: Page) -> Response:
    """Versions of a dataset, newest first, each with the run that wrote it."""
    found = await read(state, catalog.list_dataset_versions, namespace, dataset, **page.kwargs())
    return json_response(
        {"versions": [dataset_version_json(v) for v in found.items], "totalCount": found.total}
    )


@router.get(
    "/api/v1/namespaces/{namespace}/datasets/{dataset}/versions/{version}", response_model=DatasetVersionOut
)
async def version(_key: ReadKey, state: State, namespace: str, dataset: str, version: str) -> Response:
    """One version of a dataset."""
    found = await read(state, catalog.get_dataset_version, namespace, dataset, version)
    return json_response(dataset_version_json(found))


def _field_path(dataset: catalog.Dataset, field: str) -> str:
    for candidate in dataset.fields:
        if field in (candidate.path, candidate.name):
            return candidate.path
    msg = f"dataset {dataset.name!r} has no field {field!r}"
    raise NotFound(msg)


async def _change_tags(
    state: ServerState,
    key: ApiKey | None,
    namespace: str,
    dataset: str,
    tag: str,
    field: str | None,
    *,
    add: bool,
) -> Response:
    name = check_tag_name(tag)
    current = await read(state, catalog.get_dataset, namespace, dataset)
    path = _field_path(current, field) if field is not None else None
    action = ADD if add else REMOVE
    change = tag_change(action, name, path, key.name if key is not None else None)
    event = await append_change(state, tag_change_event("dataset", current.namespace, current.name, [change]))
    folded = await wait_folded(state, event)
    updated = await run_in_threadpool(_reread, state, current)
    if not folded:  # durable, not yet folded: show the change as the projection soon will
        latest = TagState(path, name, action, "true", TAG_SOURCE, "\uffff")
        updated = catalog.with_tags(updated, TagOverlay(None, [latest]).apply(updated.tags))
    return json_response(dataset_json(updated))


def _reread(state: ServerState, dataset: catalog.Dataset) -> catalog.Dataset:
    with state.store.read() as connection:
        return catalog.get_dataset(connection, dataset.canonical_namespace, dataset.name)


@router.post("/api/v1/namespaces/{namespace}/datasets/{dataset}/tags/{tag}", response_model=DatasetOut)
async def add_tag(key: WriteKey, state: State, namespace: str, dataset: str, tag: str) -> Response:
    """Tag a dataset (``write`` scope); answers with the dataset."""
    return await _change_tags(state, key, namespace, dataset, tag, None, add=True)


@router.delete("/api/v1/namespaces/{namespace}/datasets/{dataset}/tags/{tag}", response_model=DatasetOut)
async def remove_tag(key: WriteKey, state: State, namespace: str, dataset: str, tag: str) -> Response:
    """Remove a tag from a dataset (``write`` scope); answers with the dataset."""
    return await _change_tags(state, key, namespace, dataset, tag, None, add=False)


@router.post(
    "/api/v1/namespaces/{namespace}/datasets/{dataset}/fields/{field}/tags/{tag}", response_model=DatasetOut
)
async def add_field_tag(
    key: WriteKey, state: State, namespace: str, dataset: str, field: str, tag: str
) -> Response:
    """Tag a field of a dataset (``write`` scope); answers with the dataset."""
    return await _change_tags(state, key, namespace, dataset, tag, field, add=True)


@router.delete(
    "/api/v1/namespaces/{namespace}/datasets/{dataset}/fields/{field}/tags/{tag}", response_model=DatasetOut
)
async def remove_field_tag(
    key: WriteKey, state: State, namespace: str, dataset: str, field: str, tag: str
) -> Response:
    """Remove a tag from a field of a dataset (``write`` scope); answers with the dataset."""
    return await _change_tags(state, key, namespace, dataset, tag, field, add=False)


@router.get("/api/v1/namespaces/{namespace}/datasets/{dataset}", response_model=DatasetOut)
async def dataset(_key: ReadKey, state: State, namespace: str, dataset: str) -> Response:
    """One dataset (found by name or by an alias): fields, tags, facets, current version."""
    return json_response(dataset_json(await read(state, catalog.get_dataset, namespace, dataset)))
