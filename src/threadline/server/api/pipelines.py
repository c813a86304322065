"""Staged pipelines (``threadline.pipeline``) over HTTP, for the web UI and scripts: read only.

- ``GET /api/v1/pipelines``: the pipelines that ran, each with its run count and newest run.
- ``GET /api/v1/pipelines/{name}/runs?limit=N``: a pipeline's newest runs, each as below.
- ``GET /api/v1/pipeline-runs/{runId}`` (a run id or a unique prefix of one): one pipeline run::

      {"id", "shortId", "pipeline", "env", "state", "error", "startedAt", "endedAt",
       "stages": [{"id", "shortId", "stage", "job", "state", "error", "startedAt", "endedAt",
                   "rows", "counts": {"passed", "warned", "failed"},
                   "checks": [{"check", "column", "severity", "status", "failures",
                               "quarantined", "message", "sample": [row, ...]}],
                   "inputs": [<version>], "outputs": [<version>]}],
       "versions": {"staging": [<version>], "production": [<version>]}}

  ``stages`` is the chain in the order the stages ran (extract, load, validate, transform, validate,
  promote); ``<version>`` is ``{"namespace", "name", "nodeId", "version", "rows"}``. The checks and
  their failing-row samples are what the validate stage recorded (``threadline_check_results``).
  ``versions.staging`` are the tables the loads and transforms wrote, ``versions.production`` what
  the promotion wrote (empty when the run was blocked).
- ``GET /api/v1/ui/dataset-quality?nodeId=dataset:<ns>:<name>&limit=N``: the dataset's quality history,
  newest first: each run that checked it (its ``dataQualityAssertions``), with the version checked
  and how many assertions passed and failed.

- ``POST /api/v1/pipeline-runs/{runId}/approve`` (write scope): promote a run awaiting approval
  (``pipeline/approval.py``), as ``threadline pipeline approve`` does; answers the run as above, now
  ``approval.status`` ``approved``. A run that is not awaiting approval (promoted, blocked, replaced by
  a newer run) is a 409 saying why; one that is not a pipeline run a 404. The key's name is recorded
  as ``approvedBy``.

``approval`` in a run's answer is ``null`` when its environment has no approval gate, else
``{"status": "awaiting" | "approved", "requestedAt", "approvedBy", "approvedAt", "tables"}``;
a run awaiting approval is still RUNNING (it has not ended).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Path
from sqlalchemy import Connection
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from threadline.errors import BadRequest, Conflict
from threadline.graph.model import DATASET
from threadline.graph.resolve import resolve_node
from threadline.openlineage.timestamps import format_time
from threadline.server.api.access import ReadKey, State, WriteKey
from threadline.server.api.changes import append_folded
from threadline.server.api.insights import runs_of_dataset
from threadline.server.api.models import (
    DatasetQuality,
    PipelineList,
    PipelineRunDetail,
    PipelineRunList,
)
from threadline.server.api.params import NodeIdParam, limit_param
from threadline.server.api.routing import new_router, read
from threadline.server.state import ServerState, json_response
from threadline.store.run_ids import short_run_ids
from threadline.vocabulary import RunState

router = new_router()

#: Runs of one pipeline listed by default; quality results of one dataset.
RUNS = 10
QUALITY = 100
#: The runs being approved by this server now (a second click waits for nothing: it is refused).
_approving: set[str] = set()


def pipeline_run(connection: Connection, run_ref: str) -> dict[str, Any]:
    """One pipeline run with its chain of stages, their checks and the versions (module docstring)."""
    from threadline.pipeline.history import run_detail

    return run_detail(connection, run_ref)


def pipeline_list(connection: Connection) -> dict[str, Any]:
    """The pipelines that ran, newest run first."""
    from threadline.pipeline.approval import approval_status
    from threadline.pipeline.history import pipelines

    found = pipelines(connection)
    short = short_run_ids(connection, [p.last.id for p in found])
    return {
        "pipelines": [
            {
                "name": p.name,
                "runs": p.runs,
                "lastRun": {
                    "id": p.last.id,
                    "shortId": short.get(p.last.id, p.last.id[:8]),
                    "env": str(p.last.params.get("env", "")),
                    "state": RunState.of(p.last.state).value,
                    "approval": approval_status(p.last),
                    "startedAt": format_time(p.last.started_at or p.last.created_at),
                },
            }
            for p in found
        ]
    }


def runs_of_pipeline(connection: Connection, name: str, limit: int) -> dict[str, Any]:
    """The newest ``limit`` runs of pipeline ``name`` (``NotFound`` naming it when none ran)."""
    from threadline.pipeline.history import pipeline_runs

    views = pipeline_runs(connection, name, limit)
    return {"pipeline": name, "runs": [pipeline_run(connection, view.run.id) for view in views]}


def quality_history(connection: Connection, node_id: str, limit: int) -> dict[str, Any]:
    """The ``dataQualityAssertions`` the runs reading ``node_id`` recorded, newest first."""
    node = resolve_node(connection, node_id)
    if node.kind != DATASET:
        msg = f"nodeId must be a dataset:… id, got {node_id!r}"
        raise BadRequest(msg)
    reads = runs_of_dataset(connection, node.id, node_id, limit)["reads"]
    history = []
    for entry in reads:
        assertions = (entry["facets"].get("dataQualityAssertions") or {}).get("assertions")
        if not isinstance(assertions, list):
            continue
        items = [a for a in assertions if isinstance(a, dict)]
        history.append(
            {
                "runId": entry["id"],
                "shortId": entry["shortId"],
                "job": entry["job"],
                "state": entry["state"],
                "time": entry.get("startedAt") or entry.get("createdAt"),
                "version": entry.get("version"),
                "passed": sum(bool(a.get("success")) for a in items),
                "failed": sum(not a.get("success") for a in items),
                "assertions": items,
            }
        )
    return {"nodeId": node_id, "history": history}


# ---- routes --------------------------------------------------------------------------------------


@router.get("/api/v1/pipelines", response_model=PipelineList)
async def list_pipelines(_key: ReadKey, state: State) -> Response:
    """The pipelines that ran (``threadline pipeline list``), each with its newest run."""
    return json_response(await read(state, pipeline_list))


@router.get("/api/v1/pipelines/{name}/runs", response_model=PipelineRunList)
async def pipeline_runs_endpoint(
    _key: ReadKey,
    state: State,
    name: Annotated[str, Path(description="The pipeline's name.")],
    limit: Annotated[int, Depends(limit_param(RUNS, 1))],
) -> Response:
    """A pipeline's newest runs, each with its chain of stages, checks and versions."""
    return json_response(await read(state, runs_of_pipeline, name, limit))


@router.get("/api/v1/pipeline-runs/{run_id}", response_model=PipelineRunDetail)
async def pipeline_run_endpoint(
    _key: ReadKey,
    state: State,
    run_id: Annotated[str, Path(description="The pipeline run's id, or a unique prefix of it.")],
) -> Response:
    """One pipeline run: its stages as a chain, each stage's checks with their failing rows, and the
    staging and production versions."""
    return json_response(await read(state, pipeline_run, run_id))


@router.get("/api/v1/ui/dataset-quality", response_model=DatasetQuality)
async def dataset_quality(
    _key: ReadKey,
    state: State,
    node_id: NodeIdParam,
    limit: Annotated[int, Depends(limit_param(QUALITY, 1))],
) -> Response:
    """A dataset's quality history: the data quality assertions of each run that checked it."""
    return json_response(await read(state, quality_history, node_id, limit))


def _approve(state: ServerState, run_ref: str, by: str | None) -> tuple[Any, list[bytes]]:
    """In a worker thread: the pending run and the events of its promotion (raises what refused it
    or failed the promotion: then nothing is recorded)."""
    from threadline.pipeline.approval import approval_lock, pending_approval, promote

    with approval_lock():
        with state.store.read() as connection:
            pending = pending_approval(connection, run_ref)
        if pending.run.id in _approving:
            msg = f"run {pending.run.id[:8]} is being approved already"
            raise Conflict(msg)
        _approving.add(pending.run.id)
        try:
            raw = promote(pending, by)
        except BaseException:
            _approving.discard(pending.run.id)
            raise
    return pending, raw


@router.post("/api/v1/pipeline-runs/{run_id}/approve", response_model=PipelineRunDetail)
async def approve_pipeline_run(
    key: WriteKey,
    state: State,
    run_id: Annotated[str, Path(description="The pipeline run's id, or a unique prefix of it.")],
) -> Response:
    """Approve a pipeline run awaiting approval: promote the staging tables it checked to production
    (one transaction) and end the run; answers the run. 409 when it is not awaiting approval."""
    from threadline.pipeline.approval import notify_approved

    by = key.name if key is not None else None
    pending, raw = await run_in_threadpool(_approve, state, run_id, by)
    try:
        await append_folded(state, raw)
    finally:
        _approving.discard(pending.run.id)
    delivered = await run_in_threadpool(notify_approved, pending)
    if delivered:  # the webhook's delivery, recorded under the run
        await append_folded(state, delivered)
    return json_response(await read(state, pipeline_run, pending.run.id))
