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

No approval endpoint: the pipeline core has no approval gate (a run is promoted or blocked when it
runs), so there is nothing to approve.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Path
from sqlalchemy import Connection
from starlette.responses import Response

from threadline.errors import BadRequest, NotFound
from threadline.graph.model import DATASET
from threadline.graph.nodes import NodeId
from threadline.graph.resolve import resolve_node
from threadline.openlineage.timestamps import format_time
from threadline.projection.readers.runs import RunDataset, load_runs, run_tree
from threadline.server.api.access import ReadKey, State
from threadline.server.api.insights import runs_of_dataset
from threadline.server.api.models import (
    DatasetQuality,
    PipelineList,
    PipelineRunDetail,
    PipelineRunList,
)
from threadline.server.api.params import NodeIdParam, limit_param
from threadline.server.api.routing import new_router, read
from threadline.server.state import json_response
from threadline.store.run_ids import resolve_run_id, short_run_ids
from threadline.vocabulary import RunState

router = new_router()

#: Runs of one pipeline listed by default; quality results of one dataset.
RUNS = 10
QUALITY = 100
_CHECK_STATES = ("passed", "warned", "failed")


def _version(entry: RunDataset) -> dict[str, Any]:
    stats = entry.facets.get("outputStatistics") or {}
    return {
        "namespace": entry.namespace,
        "name": entry.name,
        "nodeId": str(NodeId.dataset(entry.namespace, entry.name)),
        "version": entry.version,
        "rows": stats.get("rowCount") if isinstance(stats, dict) else None,
    }


def _checks(stage: Any) -> list[dict[str, Any]]:
    """A validate stage's check results: the failing-rows facet's (every sample row) when there is
    one, else the run's ``checks`` parameter (three sample rows each)."""
    for entry in stage.inputs:
        results = (entry.facets.get("threadline_check_results") or {}).get("results")
        if isinstance(results, list):
            return [r for r in results if isinstance(r, dict)]
    params = (stage.facets.get("threadline_params") or {}).get("params") or {}
    found = params.get("checks")
    return [c for c in found if isinstance(c, dict)] if isinstance(found, list) else []


def _error(run: Any) -> str | None:
    message = (run.facets.get("errorMessage") or {}).get("message")
    return str(message) if message else None


def _params(run: Any) -> dict[str, Any]:
    return dict((run.facets.get("threadline_params") or {}).get("params") or {})


def _rows(run: Any) -> Any:
    points = ((run.facets.get("threadline_metrics") or {}).get("metrics") or {}).get("rows")
    return points[-1][1] if isinstance(points, list) and points else None


def pipeline_run(connection: Connection, run_ref: str) -> dict[str, Any]:
    """One pipeline run with its chain of stages, their checks and the versions (module docstring)."""
    from threadline.pipeline.history import PIPELINE_TAG

    run_id = resolve_run_id(connection, run_ref)
    found = load_runs(connection, run_tree(connection, run_id))
    by_id = {run.id: run for run in found}
    top = by_id.get(run_id)
    tags = ((top.facets.get("tags") or {}).get("tags") or []) if top is not None else []
    named = {str(t.get("key")): str(t.get("value")) for t in tags if isinstance(t, dict)}
    if top is None or named.get(PIPELINE_TAG) != top.job_name:
        msg = f"run {run_ref!r} is not a pipeline run; `threadline pipeline list` lists the pipelines"
        raise NotFound(msg)
    stages = sorted(
        (run for run in found if run.id != run_id),
        key=lambda run: (run.started_at or run.created_at, run.created_at),
    )
    short = short_run_ids(connection, [run.id for run in found])
    chain = []
    staging: dict[str, dict[str, Any]] = {}
    production: list[dict[str, Any]] = []
    for stage in stages:
        checks = _checks(stage)
        label = stage.job_name.removeprefix(f"{top.job_name}.")
        outputs = [_version(entry) for entry in stage.outputs]
        if label == "promote":
            production = outputs
        elif label.startswith(("load.", "transform.")):
            for out in outputs:
                staging[out["nodeId"]] = out
        chain.append(
            {
                "id": stage.id,
                "shortId": short.get(stage.id, stage.id[:8]),
                "stage": label,
                "job": stage.job_name,
                "state": stage.marquez_state.value,
                "error": _error(stage),
                "startedAt": format_time(stage.started_at),
                "endedAt": format_time(stage.ended_at),
                "rows": _rows(stage),
                "counts": {s: sum(c.get("status") == s for c in checks) for s in _CHECK_STATES},
                "checks": checks,
                "inputs": [_version(entry) for entry in stage.inputs],
                "outputs": outputs,
            }
        )
    return {
        "id": top.id,
        "shortId": short.get(top.id, top.id[:8]),
        "pipeline": top.job_name,
        "namespace": top.job_namespace,
        "env": str(_params(top).get("env", "")),
        "state": top.marquez_state.value,
        "error": _error(top),
        "startedAt": format_time(top.started_at),
        "endedAt": format_time(top.ended_at),
        "stages": chain,
        "versions": {"staging": list(staging.values()), "production": production},
    }


def pipeline_list(connection: Connection) -> dict[str, Any]:
    """The pipelines that ran, newest run first."""
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
