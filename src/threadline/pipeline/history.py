"""Pipeline runs as the store knows them: which pipelines ran, and each run's stages with their
state and check results (read from the projections, as ``threadline runs`` does)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection

from threadline.errors import NotFound
from threadline.graph.nodes import NodeId
from threadline.openlineage.timestamps import format_time
from threadline.projection.readers.pipelines import pipeline_job_ids
from threadline.projection.readers.runs import Run, RunDataset, load_runs, newest_runs, run_tree
from threadline.store.run_ids import resolve_run_id, short_run_ids
from threadline.vocabulary import RunState

#: The tag every pipeline run carries: the pipeline's name.
PIPELINE_TAG = "threadline.pipeline"
#: The job (``<pipeline>.notify``) of the runs recording webhook deliveries.
NOTIFY_STAGE = "notify"
#: Runs looked through by ``threadline pipeline list``.
LIST_LOOK_BACK = 2000


def _tags(info: Run) -> dict[str, str]:
    return {
        str(t.get("key")): str(t.get("value"))
        for t in (info.facets.get("tags") or {}).get("tags") or []
        if isinstance(t, dict)
    }


@dataclass
class PipelineSummary:
    """A pipeline and its newest run."""

    name: str
    runs: int
    last: Run


@dataclass
class PipelineRunView:
    """One run of a pipeline with its stage runs, oldest stage first."""

    run: Run
    stages: list[Run] = field(default_factory=list)

    @property
    def env(self) -> str:
        """The environment it ran in."""
        return str(self.run.params.get("env", ""))

    def checks(self, stage: Run) -> list[dict[str, Any]]:
        """The check results a validate stage recorded: its failing-rows facet's, whose sample rows
        keep their values' JSON types (the ``checks`` parameter's are strings: a null read "None")."""
        return _checks(stage)


def pipelines(connection: Connection) -> list[PipelineSummary]:
    """The pipelines with runs in the store, newest run first."""
    found: dict[str, PipelineSummary] = {}
    for info in newest_runs(connection, limit=LIST_LOOK_BACK):
        name = _tags(info).get(PIPELINE_TAG)
        if name is None or (info.parent_run_id is not None and name != info.job_name):
            continue
        if name in found:
            found[name].runs += 1
        else:
            found[name] = PipelineSummary(name, 1, info)
    return list(found.values())


def pipeline_runs(connection: Connection, name: str, limit: int = 5) -> list[PipelineRunView]:
    """The newest runs of pipeline ``name`` with their stages (raises ``NotFound`` naming it)."""
    job_ids = pipeline_job_ids(connection, name, hint="`threadline pipeline list` lists the pipelines")
    views = []
    for info in newest_runs(connection, job_ids=job_ids, limit=LIST_LOOK_BACK):
        if info.job_name != name or _tags(info).get(PIPELINE_TAG) != name:
            continue
        tree = load_runs(connection, run_tree(connection, info.id))
        stages = sorted(
            (r for r in tree if r.id != info.id and r.job_name != f"{name}.{NOTIFY_STAGE}"),
            key=lambda r: r.started_at or r.created_at,
        )
        views.append(PipelineRunView(info, stages))
        if len(views) >= limit:
            break
    return views


def state_of(info: Run) -> RunState:
    """A run's state."""
    return RunState.of(info.state)


# ---- one run in detail (the API's and `threadline pipeline status`'s) -----------------------------

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


def _delivery(recorded: dict[str, Any]) -> dict[str, Any]:
    """A recorded webhook delivery for readers: ``url`` and ``problem`` are null when not known
    (records made before they were left out hold the text ``"None"``, as a run parameter keeps
    ``None``)."""
    found = {key: value for key, value in recorded.items() if value != "None"}
    return {**found, "url": found.get("url"), "problem": found.get("problem")}


def _rows(run: Any) -> Any:
    points = ((run.facets.get("threadline_metrics") or {}).get("metrics") or {}).get("rows")
    return points[-1][1] if isinstance(points, list) and points else None


def _approval(run: Any) -> dict[str, Any] | None:
    """The run's approval gate for readers: ``status`` (``awaiting``, ``approved``), who
    approved it and when, and the tables it promotes (``None`` when its environment has no gate).
    A run still open after its checks is *awaiting*; its state stays RUNNING (it has not ended)."""
    found = _params(run).get("approval")
    if not isinstance(found, dict):
        return None
    status = str(found.get("status") or "")
    if status == "awaiting" and RunState.of(run.state).is_terminal:
        status = RunState.of(run.state).label  # ended some other way (aborted by hand)
    return {
        "status": status,
        "requestedAt": found.get("requestedAt"),
        "approvedBy": found.get("approvedBy") or None,
        "approvedAt": found.get("approvedAt"),
        "tables": [str(t) for t in found.get("tables") or []],
    }


def run_detail(connection: Connection, run_ref: str) -> dict[str, Any]:
    """One pipeline run with its chain of stages, their checks and the versions (module docstring)."""
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
    notifications = []
    for stage in stages:
        checks = _checks(stage)
        label = stage.job_name.removeprefix(f"{top.job_name}.")
        if label == NOTIFY_STAGE:  # a webhook delivery, not a stage of the chain
            delivery = _params(stage).get("notification")
            if isinstance(delivery, dict):
                notifications.append({**_delivery(delivery), "id": stage.id})
            continue
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
        "approval": _approval(top),
        "error": _error(top),
        "startedAt": format_time(top.started_at),
        "endedAt": format_time(top.ended_at),
        "stages": chain,
        "versions": {"staging": list(staging.values()), "production": production},
        "notifications": notifications,
    }
