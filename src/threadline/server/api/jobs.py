"""``/api/v1/namespaces/{namespace}/jobs`` and ``/api/v1/jobs``: jobs, their runs and versions."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from threadline.catalog import jobs as catalog
from threadline.server.api.routing import new_router, page_params, read
from threadline.server.api.shapes import job_json, job_version_json, run_json
from threadline.server.state import json_response

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


@router.get("/api/v1/namespaces/{namespace}/jobs/{job}")
async def job(request: Request, namespace: str, job: str) -> Response:
    """One job: type, current inputs and outputs, location, latest runs, facets, current version."""
    return json_response(job_json(await read(request, catalog.get_job, namespace, job)))
