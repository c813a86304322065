"""``/api/v1/namespaces/{namespace}/jobs`` and ``/api/v1/jobs``: jobs, their runs and versions."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from threadline.openlineage.tag_changes import ADD, REMOVE
from threadline.projection.readers import jobs as catalog
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
from threadline.server.api.models import JobList, JobOut, JobVersionList, JobVersionOut, RunList
from threadline.server.api.params import Page
from threadline.server.api.routing import new_router, read
from threadline.server.api.shapes import job_json, job_version_json, run_json
from threadline.server.state import ServerState, json_response
from threadline.store.base import ApiKey

router = new_router()


@router.get("/api/v1/jobs", response_model=JobList)
async def all_jobs(_key: ReadKey, state: State, page: Page) -> Response:
    """Jobs of every namespace, by namespace then name: ``{"jobs": [...], "totalCount": N}``."""
    found = await read(state, catalog.list_jobs, None, **page.kwargs())
    return json_response({"jobs": [job_json(j) for j in found.items], "totalCount": found.total})


@router.get("/api/v1/namespaces/{namespace}/jobs", response_model=JobList)
async def jobs(_key: ReadKey, state: State, namespace: str, page: Page) -> Response:
    """Jobs of a namespace by name: ``{"jobs": [...], "totalCount": N}``."""
    found = await read(state, catalog.list_jobs, namespace, **page.kwargs())
    return json_response({"jobs": [job_json(j) for j in found.items], "totalCount": found.total})


@router.get("/api/v1/namespaces/{namespace}/jobs/{job}/runs", response_model=RunList)
async def runs(_key: ReadKey, state: State, namespace: str, job: str, page: Page) -> Response:
    """Runs of a job, newest first: ``{"runs": [...], "totalCount": N}``."""
    found = await read(state, catalog.list_job_runs, namespace, job, **page.kwargs())
    return json_response({"runs": [run_json(r) for r in found.items], "totalCount": found.total})


@router.get("/api/v1/namespaces/{namespace}/jobs/{job}/versions", response_model=JobVersionList)
async def versions(_key: ReadKey, state: State, namespace: str, job: str, page: Page) -> Response:
    """Versions of a job, newest first: ``{"versions": [...], "totalCount": N}``."""
    found = await read(state, catalog.list_job_versions, namespace, job, **page.kwargs())
    return json_response({"versions": [job_version_json(v) for v in found.items], "totalCount": found.total})


@router.get("/api/v1/namespaces/{namespace}/jobs/{job}/versions/{version}", response_model=JobVersionOut)
async def version(_key: ReadKey, state: State, namespace: str, job: str, version: str) -> Response:
    """One version of a job."""
    found = await read(state, catalog.get_job_version, namespace, job, version)
    return json_response(job_version_json(found))


async def _change_tags(
    state: ServerState, key: ApiKey | None, namespace: str, job: str, tag: str, *, add: bool
) -> Response:
    name = check_tag_name(tag)
    current = await read(state, catalog.get_job, namespace, job)
    action = ADD if add else REMOVE
    change = tag_change(action, name, None, key.name if key is not None else None)
    event = await append_change(state, tag_change_event("job", current.namespace, current.name, [change]))
    folded = await wait_folded(state, event)
    updated = await run_in_threadpool(_reread, state, current)
    if not folded:  # durable, not yet folded: show the change as the projection soon will
        overlay = updated.tag_overlay or TagOverlay()
        latest = TagState(None, name, action, "true", TAG_SOURCE, "\uffff")
        updated.tag_overlay = TagOverlay(overlay.facet_stamp, [*overlay.changes, latest])
    return json_response(job_json(updated))


def _reread(state: ServerState, job: catalog.Job) -> catalog.Job:
    with state.store.read() as connection:
        return catalog.get_job(connection, job.canonical_namespace, job.name)


@router.post("/api/v1/namespaces/{namespace}/jobs/{job}/tags/{tag}", response_model=JobOut)
async def add_tag(key: WriteKey, state: State, namespace: str, job: str, tag: str) -> Response:
    """Tag a job (``write`` scope); answers with the job."""
    return await _change_tags(state, key, namespace, job, tag, add=True)


@router.delete("/api/v1/namespaces/{namespace}/jobs/{job}/tags/{tag}", response_model=JobOut)
async def remove_tag(key: WriteKey, state: State, namespace: str, job: str, tag: str) -> Response:
    """Remove a tag from a job (``write`` scope); answers with the job."""
    return await _change_tags(state, key, namespace, job, tag, add=False)


@router.get("/api/v1/namespaces/{namespace}/jobs/{job}", response_model=JobOut)
async def job(_key: ReadKey, state: State, namespace: str, job: str) -> Response:
    """One job: type, current inputs and outputs, location, latest runs, facets, current version."""
    return json_response(job_json(await read(state, catalog.get_job, namespace, job)))
