"""Everything one page of the web UI shows first, in one answer: ``GET /api/v1/ui/pages/…``.

A run page needs the run, its job's facets, its child runs and the job's other runs (for the compare
menu); a dataset page needs the dataset, its versions and the runs that wrote and read it. Asked
separately that is four and three requests; here each page is one request, read in one transaction,
so the parts agree with each other even while events arrive, and the page waits for one answer
instead of the slowest of several. The parts have the shapes of the endpoints they replace, so an API
client can use either.

- ``GET /api/v1/ui/pages/run?runId=<uuid>[&compare=<uuid>]``::

      {"run": <Marquez run>, "jobFacets": {...}, "children": {"runs": [<run summary>], "totalCount"},
       "jobRuns": {"runs": [{"id", "state", "createdAt", "startedAt"}], "totalCount"},
       "compare": <Marquez run> | null, "compareError": "…" | null}

  ``children`` are the first :data:`CHILD_RUNS` child runs, newest first, as ``/api/v1/ui/runs``
  gives them; ``jobRuns`` the job's latest :data:`JOB_RUNS` runs, the run itself included. A
  ``compare`` run that does not exist is not an error of the page: ``compareError`` says why it is
  missing.
- ``GET /api/v1/ui/pages/dataset?namespace=<ns>&name=<name>``::

      {"dataset": <Marquez dataset>, "versions": {"versions": [...], "totalCount"},
       "runs": {"nodeId", "writes": [...], "reads": [...]}}

  as ``/api/v1/namespaces/{ns}/datasets/{name}`` (found by name or alias), its ``/versions`` (the
  latest :data:`VERSIONS`) and ``/api/v1/ui/dataset-runs`` (:data:`DATASET_RUNS` of each) give them.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, func, select
from starlette.requests import Request
from starlette.responses import Response

from threadline.catalog import datasets as dataset_catalog
from threadline.catalog.common import load_facets
from threadline.catalog.runs import MARQUEZ_STATES, get_run
from threadline.errors import BadRequest, NotFound
from threadline.graph.nodes import NodeId
from threadline.openlineage.timestamps import format_time
from threadline.server.api.insights import RunFilter, list_runs, runs_of_dataset
from threadline.server.api.routing import new_router, read
from threadline.server.api.shapes import dataset_json, dataset_version_json, run_json
from threadline.server.state import json_response
from threadline.store import schema

router = new_router()

#: How many child runs, runs of the same job, versions and dataset runs a page shows.
CHILD_RUNS = 100
JOB_RUNS = 50
VERSIONS = 50
DATASET_RUNS = 50


def _required(request: Request, name: str, example: str) -> str:
    value = request.query_params.get(name, "").strip()
    if not value:
        msg = f"the query parameter {name} is required ({example})"
        raise BadRequest(msg)
    return value


# ---- a run ---------------------------------------------------------------------------------------


def _job_runs(connection: Connection, job_id: int) -> dict[str, Any]:
    runs = schema.runs
    where = (runs.c.job_id == job_id, runs.c.has_events.is_(True))
    rows = connection.execute(
        select(runs.c.id, runs.c.state, runs.c.created_at, runs.c.started_at)
        .where(*where)
        .order_by(runs.c.created_at.desc(), runs.c.id.desc())
        .limit(JOB_RUNS)
    ).all()
    total = connection.scalar(select(func.count()).select_from(runs).where(*where)) or 0
    found = [
        {
            "id": row.id,
            "state": MARQUEZ_STATES.get(row.state or "", "NEW"),
            "createdAt": format_time(row.created_at),
            "startedAt": format_time(row.started_at),
        }
        for row in rows
    ]
    return {"runs": found, "totalCount": total}


def run_page(connection: Connection, run_id: str, compare: str | None) -> dict[str, Any]:
    """The run page's answer (see the module docstring)."""
    run = get_run(connection, run_id)
    job_key = str(run.job_id)
    children, child_count = list_runs(connection, RunFilter(parent=run.id), CHILD_RUNS, 0)
    other: dict[str, Any] | None = None
    problem: str | None = None
    if compare is not None:
        try:
            other = run_json(get_run(connection, compare))
        except (BadRequest, NotFound) as error:
            problem = str(error)
    return {
        "run": run_json(run),
        "jobFacets": load_facets(connection, "job", [job_key])[job_key],
        "children": {"runs": children, "totalCount": child_count},
        "jobRuns": _job_runs(connection, run.job_id),
        "compare": other,
        "compareError": problem,
    }


@router.get("/api/v1/ui/pages/run")
async def run_page_endpoint(request: Request) -> Response:
    """A run, its job's facets, its child runs and its job's other runs (and a run to compare)."""
    run_id = _required(request, "runId", "a run's UUID")
    compare = request.query_params.get("compare", "").strip() or None
    return json_response(await read(request, run_page, run_id, compare))


# ---- a dataset -----------------------------------------------------------------------------------


def dataset_page(connection: Connection, namespace: str, name: str) -> dict[str, Any]:
    """The dataset page's answer (see the module docstring)."""
    dataset = dataset_catalog.get_dataset(connection, namespace, name)
    versions = dataset_catalog.list_dataset_versions(
        connection, dataset.canonical_namespace, dataset.name, limit=VERSIONS
    )
    node_id = str(NodeId.dataset(dataset.namespace, dataset.name))
    return {
        "dataset": dataset_json(dataset),
        "versions": {
            "versions": [dataset_version_json(v) for v in versions.items],
            "totalCount": versions.total,
        },
        "runs": runs_of_dataset(connection, dataset.id, node_id, DATASET_RUNS),
    }


@router.get("/api/v1/ui/pages/dataset")
async def dataset_page_endpoint(request: Request) -> Response:
    """A dataset, its latest versions, and the runs that wrote and read it."""
    namespace = _required(request, "namespace", "a dataset's namespace, such as postgres://host:5432")
    name = _required(request, "name", "a dataset's name, such as public.orders")
    return json_response(await read(request, dataset_page, namespace, name))
