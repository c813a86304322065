"""``/api/v1/namespaces/{namespace}/jobs`` and ``/api/v1/jobs``: jobs, their runs and versions."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
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
from threadline.server.api.changes import append_change, wait_folded
from threadline.server.api.routing import new_router, page_params, read
from threadline.server.api.shapes import job_json, job_version_json, run_json
from threadline.server.state import ServerState, json_response, state_of

router = new_router()


@router.get("/api/v1/jobs")
async def all_jobs(request: Request) -> Response:
    """Jobs of every namespace, by namespace then name: ``{"jobs": [...], "totalCount": N}``."""
    page = await read(request, catalog.list_jobs, None, **page_params(request))
    return json_response({"jobs": [job_json(j) for j in page.items], "totalCount": page.total})


@router.get("/api/v1/namespaces/{namespace}/jobs")
async def jobs(request: Request, namespace: str) -> Response:
    """Jobs of a namespace by name: ``{"jobs": [...], "totalCount": N}``."""
    page = await read(request, catalog.list_jobs, namespace, **page_params(request))
    return json_response({"jobs": [job_json(j) for j in page.items], "totalCount": page.total})


@router.get("/api/v1/namespaces/{namespace}/jobs/{job}/runs")
async def runs(request: Request, namespace: str, job: str) -> Response:
    """Runs of a job, newest first: ``{"runs": [...], "totalCount": N}``."""
    page = await read(request, catalog.list_job_runs, namespace, job, **page_params(request))
    return json_response({"runs": [run_json(r) for r in page.items], "totalCount": page.total})


@router.get("/api/v1/namespaces/{namespace}/jobs/{job}/versions")
async def versions(request: Request, namespace: str, job: str) -> Response:
    """Versions of a job, newest first: ``{"versions": [...], "totalCount": N}``."""
    page = await read(request, catalog.list_job_versions, namespace, job, **page_params(request))
    return json_response({"versions": [job_version_json(v) for v in page.items], "totalCount": page.total})


@router.get("/api/v1/namespaces/{namespace}/jobs/{job}/versions/{version}")
async def version(request: Request, namespace: str, job: str, version: str) -> Response:
    """One version of a job."""
    found = await read(request, catalog.get_job_version, namespace, job, version)
    return json_response(job_version_json(found))


async def _change_tags(request: Request, namespace: str, job: str, tag: str, *, add: bool) -> Response:
    state = state_of(request)
    key = await state.auth.require(request.headers, "write")
    name = check_tag_name(tag)
    current = await read(request, catalog.get_job, namespace, job)
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


@router.post("/api/v1/namespaces/{namespace}/jobs/{job}/tags/{tag}")
async def add_tag(request: Request, namespace: str, job: str, tag: str) -> Response:
    """Tag a job (``write`` scope); answers with the job."""
    return await _change_tags(request, namespace, job, tag, add=True)


@router.delete("/api/v1/namespaces/{namespace}/jobs/{job}/tags/{tag}")
async def remove_tag(request: Request, namespace: str, job: str, tag: str) -> Response:
    """Remove a tag from a job (``write`` scope); answers with the job."""
    return await _change_tags(request, namespace, job, tag, add=False)


@router.get("/api/v1/namespaces/{namespace}/jobs/{job}")
async def job(request: Request, namespace: str, job: str) -> Response:
    """One job: type, current inputs and outputs, location, latest runs, facets, current version."""
    return json_response(job_json(await read(request, catalog.get_job, namespace, job)))
