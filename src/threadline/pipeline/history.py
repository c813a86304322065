"""Pipeline runs as the store knows them: which pipelines ran, and each run's stages with their
state and check results (read from the projections, as ``threadline runs`` does)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection

from threadline.projection.readers.pipelines import pipeline_job_ids
from threadline.projection.readers.runs import Run, load_runs, newest_runs, run_tree
from threadline.vocabulary import RunState

#: The tag every pipeline run carries: the pipeline's name.
PIPELINE_TAG = "threadline.pipeline"
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
        """The check results a validate stage recorded."""
        found = stage.params.get("checks")
        return [c for c in found if isinstance(c, dict)] if isinstance(found, list) else []


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
        stages = sorted((r for r in tree if r.id != info.id), key=lambda r: r.started_at or r.created_at)
        views.append(PipelineRunView(info, stages))
        if len(views) >= limit:
            break
    return views


def state_of(info: Run) -> RunState:
    """A run's state."""
    return RunState.of(info.state)
