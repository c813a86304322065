"""Everything one page of the web UI shows first, in one answer: ``GET /api/v1/ui/pages/…``.

A run page needs the run, its job's facets, its child runs and the job's other runs (for the compare
menu); a job page the job and its runs; a dataset page the dataset, its versions and the runs that
wrote and read it. Asked separately that is four, two and three requests; here each page is one
request, read in one transaction,
so the parts agree with each other even while events arrive, and the page waits for one answer
instead of the slowest of several. The parts have the shapes of the endpoints they replace, or a
brief one where the page shows less.

- ``GET /api/v1/ui/pages/run?runId=<id>[&compare=<id>]`` (each a run id or a unique prefix of one)::

      {"run": <Marquez run>, "shortIds": {"<run id>": "<short id>", ...}, "jobFacets": {...},
       "children": {"runs": [<run summary>], "totalCount"},
       "jobRuns": {"runs": [{"id", "shortId", "state", "createdAt", "startedAt"}], "totalCount"},
       "comparison": <run comparison> | null, "compareError": "…" | null}

  ``shortIds`` has the short id of the run, its parent and the run compared with;
  ``children`` are the first :data:`CHILD_RUNS` child runs, newest first, as ``/api/v1/ui/runs``
  gives them; ``jobRuns`` the job's latest :data:`JOB_RUNS` runs, the run itself included.
  ``comparison`` is what ``threadline diff RUN COMPARE --all --format json`` prints, each change with
  its values as people read them (``text``): one definition, ``catalog/compare.py``, so the page and
  the CLI say the same. A ``compare`` run that does not exist is not an error of the page:
  ``compareError`` says why it is missing.
- ``GET /api/v1/ui/pages/job?namespace=<ns>&name=<name>``::

      {"job": <Marquez job>, "runs": {"runs": [<run summary>], "totalCount"},
       "steps": [{"namespace", "name"}]}

  the job as ``/api/v1/namespaces/{ns}/jobs/{name}`` gives it, its latest :data:`JOB_PAGE_RUNS`
  runs as ``/api/v1/ui/runs`` gives them (with their error messages, without their facets), and the
  jobs whose parent it is (a pipeline's steps, by name; see ``catalog/pipelines.py``).
- ``GET /api/v1/ui/pages/dataset?namespace=<ns>&name=<name>``::

      {"dataset": <Marquez dataset>,
       "versions": {"versions": [{"version", "createdAt", "fieldCount",
                                  "createdByRun": {"id", "state"} | null}], "totalCount"},
       "runs": {"nodeId", "writes": [...], "reads": [...]}}

  ``dataset`` as ``/api/v1/namespaces/{ns}/datasets/{name}`` gives it (found by name or alias), its
  latest :data:`VERSIONS` versions in brief (``…/versions`` gives each with its whole schema, facets
  and run), and ``runs`` as ``/api/v1/ui/dataset-runs`` gives them (:data:`DATASET_RUNS` of each).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends
from sqlalchemy import Connection
from starlette.responses import Response

from threadline.artifacts.objects import ObjectDB
from threadline.errors import BadRequest, NotFound
from threadline.graph.nodes import NodeId
from threadline.openlineage.timestamps import format_time
from threadline.projection.readers import datasets as dataset_catalog
from threadline.projection.readers import jobs as job_catalog
from threadline.projection.readers.common import load_facets
from threadline.projection.readers.runs import RunFilter, get_run, list_run_summaries
from threadline.server.api.access import ReadKey, State
from threadline.server.api.insights import list_runs, runs_of_dataset
from threadline.server.api.models import DatasetPage, JobPage, RunPage
from threadline.server.api.params import name_param, text_param
from threadline.server.api.routing import new_router, read
from threadline.server.api.shapes import dataset_json, job_json, run_json
from threadline.server.state import json_response
from threadline.store.run_ids import resolve_run_id, short_run_ids
from threadline.tracking.compare import compare_runs
from threadline.vocabulary import RunState

router = new_router()

#: How many child runs, runs of the same job (run page, job page), versions and dataset runs a page shows.
CHILD_RUNS = 100
JOB_RUNS = 50
JOB_PAGE_RUNS = 100
VERSIONS = 50
DATASET_RUNS = 50


def _name(name: str, description: str, example: str) -> Any:
    return Depends(name_param(name, description, example))


# ---- a run ---------------------------------------------------------------------------------------


def _job_runs(connection: Connection, job_id: int) -> dict[str, Any]:
    page = list_run_summaries(connection, RunFilter(job_id=job_id), JOB_RUNS, 0)
    short = short_run_ids(connection, [run.id for run in page.items])
    found = [
        {
            "id": run.id,
            "shortId": short[run.id],
            "state": RunState.of(run.state),
            "createdAt": format_time(run.created_at),
            "startedAt": format_time(run.started_at),
        }
        for run in page.items
    ]
    return {"runs": found, "totalCount": page.total}


def run_page(
    connection: Connection, run_id: str, compare: str | None, objects: ObjectDB | None
) -> dict[str, Any]:
    """The run page's answer (see the module docstring); ``objects`` holds the package lists that the
    comparison reads, if the server keeps objects."""
    run = get_run(connection, resolve_run_id(connection, run_id))
    job_key = str(run.job_id)
    children, child_count = list_runs(connection, RunFilter(parent=run.id), CHILD_RUNS, 0)
    comparison: dict[str, Any] | None = None
    problem: str | None = None
    if compare is not None:
        try:
            other = resolve_run_id(connection, compare)
            comparison = compare_runs(connection, run.id, other, objects).to_dict(
                include_same=True, with_text=True
            )
        except (BadRequest, NotFound) as error:
            problem = str(error)
    related = [run.id, run.parent_run_id, comparison["b"]["id"] if comparison else None]
    return {
        "run": run_json(run),
        "shortIds": short_run_ids(connection, [r for r in related if r]),
        "jobFacets": load_facets(connection, "job", [job_key])[job_key],
        "children": {"runs": children, "totalCount": child_count},
        "jobRuns": _job_runs(connection, run.job_id),
        "comparison": comparison,
        "compareError": problem,
    }


@router.get("/api/v1/ui/pages/run", response_model=RunPage)
async def run_page_endpoint(
    _key: ReadKey,
    state: State,
    run_id: Annotated[
        str, _name("runId", "A run id or a unique prefix of one.", "a run's id, or a unique prefix of it")
    ],
    compare: Annotated[str | None, Depends(text_param("compare", "A run to compare with (id or prefix)."))],
) -> Response:
    """A run, its job's facets, its child runs and its job's other runs (and a comparison with another)."""
    return json_response(await read(state, run_page, run_id, compare, state.objects))


# ---- a job ---------------------------------------------------------------------------------------


def job_page(connection: Connection, namespace: str, name: str) -> dict[str, Any]:
    """The job page's answer (see the module docstring)."""
    job = job_catalog.get_job(connection, namespace, name)
    runs, total = list_runs(connection, RunFilter(job_id=job.id), JOB_PAGE_RUNS, 0)
    return {
        "job": job_json(job),
        "runs": {"runs": runs, "totalCount": total},
        "steps": [{"namespace": ns, "name": step} for ns, step in job_catalog.child_jobs(connection, job.id)],
    }


@router.get("/api/v1/ui/pages/job", response_model=JobPage)
async def job_page_endpoint(
    _key: ReadKey,
    state: State,
    namespace: Annotated[
        str, _name("namespace", "The job's namespace.", "a job's namespace, such as acme-dbt")
    ],
    name: Annotated[str, _name("name", "The job's name.", "a job's name, such as dbt-run-jaffle_shop")],
) -> Response:
    """A job and its latest runs."""
    return json_response(await read(state, job_page, namespace, name))


# ---- a dataset -----------------------------------------------------------------------------------


def _brief_run(run_id: str | None, state: str | None, short: dict[str, str]) -> dict[str, str] | None:
    return {"id": run_id, "shortId": short[run_id], "state": RunState.of(state)} if run_id else None


def _versions(connection: Connection, dataset: dataset_catalog.Dataset) -> dict[str, Any]:
    page = dataset_catalog.latest_versions(connection, dataset.id, VERSIONS)
    rows = page.items
    fields = dataset_catalog.load_fields(connection, [row.schema_hash for row in rows if row.schema_hash])
    short = short_run_ids(connection, [row.run_id for row in rows if row.run_id])
    found = [
        {
            "version": row.version,
            "createdAt": format_time(row.created_at),
            "fieldCount": len(fields[row.schema_hash]) if row.schema_hash else len(dataset.fields),
            "createdByRun": _brief_run(row.run_id, row.run_state, short),
        }
        for row in rows
    ]
    return {"versions": found, "totalCount": page.total}


def dataset_page(connection: Connection, namespace: str, name: str) -> dict[str, Any]:
    """The dataset page's answer (see the module docstring)."""
    dataset = dataset_catalog.get_dataset(connection, namespace, name)
    node_id = str(NodeId.dataset(dataset.namespace, dataset.name))
    return {
        "dataset": dataset_json(dataset),
        "versions": _versions(connection, dataset),
        "runs": runs_of_dataset(connection, dataset.id, node_id, DATASET_RUNS),
    }


@router.get("/api/v1/ui/pages/dataset", response_model=DatasetPage)
async def dataset_page_endpoint(
    _key: ReadKey,
    state: State,
    namespace: Annotated[
        str,
        _name("namespace", "The dataset's namespace.", "a dataset's namespace, such as postgres://host:5432"),
    ],
    name: Annotated[
        str, _name("name", "The dataset's name (or an alias).", "a dataset's name, such as public.orders")
    ],
) -> Response:
    """A dataset, its latest versions, and the runs that wrote and read it."""
    return json_response(await read(state, dataset_page, namespace, name))
