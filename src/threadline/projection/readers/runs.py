"""Runs, read with their state history, facets, inputs and outputs (a run named by a prefix of its id
is found by ``store/run_ids.py``): the one reader of runs for the HTTP API, the CLI and tracking
(``threadline runs``, ``diff``, ``snapshot`` and ``restore`` read runs here too)."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Connection, func, select

from threadline.errors import BadRequest, NotFound
from threadline.projection.readers.common import load_facet, load_facets
from threadline.projection.readers.versions import job_version, location_of
from threadline.store import schema
from threadline.store.lookups import batches
from threadline.vocabulary import RunState

# ---- reading runs -----------------------------------------------------------------------------------


#: Where a run's tracked content lives among its facets (``threadline.tracking``).
_PARAMS, _METRICS, _ENVIRONMENT = "threadline_params", "threadline_metrics", "threadline_environment"


@dataclass(slots=True)
class RunDataset:
    """A dataset a run read or wrote, the version it read or wrote, and the run's facets about it."""

    id: int
    namespace: str
    name: str
    version: str | None
    facets: dict[str, Any]

    @property
    def local_path(self) -> str | None:
        """The local path of a ``file`` dataset."""
        return self.name if self.namespace == "file" else None

    @property
    def object_id(self) -> str | None:
        """The content id of the version (``blake3:…``), when it is one."""
        return self.version if self.version and self.version.startswith("blake3:") else None

    @property
    def label(self) -> str:
        """``namespace/name`` for people, or the path of a local file."""
        return self.name if self.namespace == "file" else f"{self.namespace}/{self.name}"


@dataclass(slots=True)
class StateChange:
    """One event of a run: its type (``None`` when the producer sent none) and time."""

    state: str | None
    time: int
    event_id: str


@dataclass(slots=True)
class Run:
    """A run with its job, state history, facets, inputs and outputs."""

    id: str
    job_id: int
    job_namespace: str  # the spelling seen first
    job_name: str
    state: str | None  # OpenLineage's: START, RUNNING, COMPLETE, FAIL, ABORT
    created_at: int
    updated_at: int
    started_at: int | None
    ended_at: int | None
    parent_run_id: str | None
    has_events: bool
    facets: dict[str, Any]
    inputs: list[RunDataset]
    outputs: list[RunDataset]
    states: list[StateChange]
    job_version: str

    @property
    def marquez_state(self) -> RunState:
        """The state as Marquez names it: NEW, RUNNING, COMPLETED, FAILED or ABORTED."""
        return RunState.of(self.state)

    @property
    def duration_micros(self) -> int | None:
        """From start to end, in microseconds, once both are known."""
        if self.started_at is None or self.ended_at is None:
            return None
        return self.ended_at - self.started_at

    @property
    def duration_ms(self) -> int | None:
        """From start to end, in milliseconds, once both are known."""
        micros = self.duration_micros
        return None if micros is None else micros // 1000

    @property
    def params(self) -> dict[str, Any]:
        """Parameters (the ``threadline_params`` facet)."""
        return dict(_field(self.facets.get(_PARAMS), "params"))

    @property
    def metrics(self) -> dict[str, list[list[Any]]]:
        """Metric series: name to ``[step, value, timestamp ms]`` points (``threadline_metrics``)."""
        return dict(_field(self.facets.get(_METRICS), "metrics"))

    @property
    def final_metrics(self) -> dict[str, Any]:
        """The last value of each metric series."""
        return {name: points[-1][1] for name, points in self.metrics.items() if points}

    @property
    def environment(self) -> dict[str, Any]:
        """The ``threadline_environment`` facet (Python, packages object, host, command line, git)."""
        facet = self.facets.get(_ENVIRONMENT)
        return dict(facet) if isinstance(facet, dict) else {}

    @property
    def git(self) -> dict[str, Any]:
        """Commit, branch, dirty flag and remote of the code, when it was in git."""
        return dict(_field(self.environment, "git"))

    def nominal_time(self, which: str) -> str | None:
        """``nominalStartTime`` or ``nominalEndTime`` of the ``nominalTime`` facet."""
        facet = self.facets.get("nominalTime")
        value = facet.get(which) if isinstance(facet, dict) else None
        return value if isinstance(value, str) else None


def _field(facet: Any, key: str) -> dict[str, Any]:
    """The object under ``key`` of a facet, or an empty one (no facet, or not the shape expected)."""
    value = facet.get(key) if isinstance(facet, dict) else None
    return value if isinstance(value, dict) else {}


def is_run_uuid(text: str) -> bool:
    """Whether ``text`` is a UUID (what a run id must be)."""
    try:
        uuid.UUID(text)
    except (ValueError, AttributeError, TypeError):
        return False
    return True


def get_run(connection: Connection, run_id: str) -> Run:
    """The run with this exact id; :class:`BadRequest` if it is not a UUID, :class:`NotFound` if unknown."""
    if not is_run_uuid(run_id):
        msg = f"run id {run_id!r} is not a UUID"
        raise BadRequest(msg)
    wanted = str(uuid.UUID(run_id))
    runs = load_runs(connection, [wanted])
    if not runs:
        msg = f"no run with id {wanted!r}"
        raise NotFound(msg)
    return runs[0]


def load_runs(
    connection: Connection, run_ids: Sequence[str], *, recorded_versions: bool = False
) -> list[Run]:
    """The runs with these ids, in the order given (unknown ids are skipped); a fixed number of queries.

    Every reader of a run's Marquez shape (one run, a job's runs, a job's latest runs, a dataset
    version's run) reads it here, so they all give the same versions: an input read without a version
    facet has the version :func:`io_version` gives it. With ``recorded_versions`` an input has only the
    version its run recorded (``None`` without one): what ``snapshot`` and ``restore`` need, which
    promise the exact bytes a run read and so must not take the version current then for them.
    """
    wanted = list(dict.fromkeys(run_ids))
    if not wanted:
        return []
    runs, jobs = schema.runs, schema.jobs
    rows: dict[str, Any] = {}
    for part in batches(wanted):
        for row in connection.execute(
            select(
                runs,
                jobs.c.namespace.label("job_canonical_namespace"),
                jobs.c.display_namespace.label("job_display_namespace"),
                jobs.c.name.label("job_name"),
            )
            .join(jobs, jobs.c.id == runs.c.job_id)
            .where(runs.c.id.in_(part))
        ):
            rows[row.id] = row
    found = [rows[run_id] for run_id in wanted if run_id in rows]
    ids = [row.id for row in found]
    facets = load_facets(connection, "run", ids)
    io = _run_io(connection, ids, recorded_versions=recorded_versions)
    states = _states(connection, ids)
    locations = load_facet(connection, "job", [str(row.job_id) for row in found], "sourceCodeLocation")
    result = []
    for row in found:
        inputs, outputs = io.get(row.id, ([], []))
        location = location_of({"sourceCodeLocation": locations.get(str(row.job_id))})
        namespace = row.job_display_namespace or row.job_canonical_namespace
        result.append(
            Run(
                id=row.id,
                job_id=row.job_id,
                job_namespace=namespace,
                job_name=row.job_name,
                state=row.state,
                created_at=row.created_at,
                updated_at=row.updated_at,
                started_at=row.started_at,
                ended_at=row.ended_at,
                parent_run_id=row.parent_run_id,
                has_events=bool(row.has_events),
                facets=facets.get(row.id, {}),
                inputs=inputs,
                outputs=outputs,
                states=states.get(row.id, []),
                job_version=job_version(
                    row.job_canonical_namespace,
                    row.job_name,
                    [d.id for d in inputs],
                    [d.id for d in outputs],
                    location,
                ),
            )
        )
    return result


def io_version(io: Any, run_created: ColumnElement[Any]) -> ColumnElement[Any]:
    """The version of a dataset that a run read or wrote (``io`` the ``run_io`` table or an alias of it,
    ``run_created`` the run's ``runs.created_at``, joined by the caller).

    The ``version`` facet's, when the producer sent one (an output without one is a version of its own,
    named by the run's id: see the fold); else, for an input, the dataset's version that was current
    when the run began: the latest made at or before the run's first event (``ix_dataset_versions_created``
    finds it), the rule of the run-level lineage (``graph/runs.py``) too. ``None`` when the dataset had
    no version then.
    """
    versions = schema.dataset_versions.alias("dv")
    then = (
        select(versions.c.version)
        .where(versions.c.dataset_id == io.c.dataset_id, versions.c.created_at <= run_created)
        .order_by(versions.c.created_at.desc(), versions.c.version.desc())
        .limit(1)
        .scalar_subquery()
    )
    return func.coalesce(io.c.version, then)


def child_runs(connection: Connection, run_id: str, limit: int = 100) -> tuple[list[Run], int]:
    """The runs whose parent is ``run_id`` (those that have events), newest first: at most ``limit``
    of them, and how many there are."""
    runs = schema.runs
    where = (runs.c.parent_run_id == run_id, runs.c.has_events.is_(True))
    ids = connection.scalars(
        select(runs.c.id).where(*where).order_by(runs.c.created_at.desc(), runs.c.id.desc()).limit(limit)
    ).all()
    total = connection.scalar(select(func.count()).select_from(runs).where(*where)) or 0
    return load_runs(connection, ids), total


def newest_runs(
    connection: Connection, *, job_ids: Collection[int] | None = None, limit: int = 20
) -> list[Run]:
    """The newest runs that have events, newest first, optionally only those of the jobs ``job_ids``
    (a pipeline's: :func:`~threadline.projection.readers.pipelines.pipeline_job_ids`)."""
    runs = schema.runs
    query = select(runs.c.id).where(runs.c.has_events.is_(True))
    if job_ids is not None:
        query = query.where(runs.c.job_id.in_(list(job_ids)))
    ids = connection.scalars(query.order_by(runs.c.created_at.desc(), runs.c.id).limit(limit)).all()
    return load_runs(connection, ids)


def run_labels(connection: Connection, run_ids: Sequence[str]) -> dict[str, tuple[str, str | None]]:
    """The job name and state of each run of ``run_ids`` that exists (what a run graph labels runs by)."""
    runs, jobs = schema.runs, schema.jobs
    found: dict[str, tuple[str, str | None]] = {}
    query = select(runs.c.id, runs.c.state, jobs.c.name).join(jobs, jobs.c.id == runs.c.job_id)
    for part in batches(run_ids):
        found.update(
            (row.id, (row.name, row.state)) for row in connection.execute(query.where(runs.c.id.in_(part)))
        )
    return found


def run_tree(connection: Connection, run_id: str) -> list[str]:
    """``run_id`` and every run below it (its children, theirs, …), breadth first."""
    runs = schema.runs
    found = [run_id]
    seen = {run_id}
    frontier = [run_id]
    while frontier:
        children: list[str] = []
        for part in batches(frontier):
            children += connection.scalars(
                select(runs.c.id).where(runs.c.parent_run_id.in_(part)).order_by(runs.c.id)
            ).all()
        frontier = [child for child in children if child not in seen]
        seen.update(frontier)
        found += frontier
    return found


def _run_io(
    connection: Connection, run_ids: Sequence[str], *, recorded_versions: bool = False
) -> dict[str, tuple[list[RunDataset], list[RunDataset]]]:
    """Each run's inputs and outputs, by dataset name, with their versions (:func:`io_version`, or only
    the recorded ones)."""
    io, datasets = schema.run_io, schema.datasets
    runs = schema.runs
    version = io.c.version if recorded_versions else io_version(io, runs.c.created_at)
    rows = []
    for part in batches(run_ids):
        rows += connection.execute(
            select(
                io.c.run_id,
                io.c.dataset_id,
                io.c.direction,
                version.label("version"),
                datasets.c.namespace,
                datasets.c.display_namespace,
                datasets.c.name,
            )
            .join(datasets, datasets.c.id == io.c.dataset_id)
            .join(runs, runs.c.id == io.c.run_id)
            .where(io.c.run_id.in_(part))
            .order_by(io.c.run_id, datasets.c.namespace, datasets.c.name)
        ).all()
    keys = {"input": [], "output": []}
    for row in rows:
        keys["input" if row.direction == "in" else "output"].append(f"{row.run_id}/{row.dataset_id}")
    io_facets = {kind: load_facets(connection, kind, values) for kind, values in keys.items() if values}
    found: dict[str, tuple[list[RunDataset], list[RunDataset]]] = {}
    for row in rows:
        kind = "input" if row.direction == "in" else "output"
        entry = RunDataset(
            row.dataset_id,
            row.display_namespace or row.namespace,
            row.name,
            row.version,
            io_facets.get(kind, {}).get(f"{row.run_id}/{row.dataset_id}", {}),
        )
        pair = found.setdefault(row.run_id, ([], []))
        pair[0 if kind == "input" else 1].append(entry)
    return found


def _states(connection: Connection, run_ids: Sequence[str]) -> dict[str, list[StateChange]]:
    table = schema.run_states
    found: dict[str, list[StateChange]] = {}
    for part in batches(run_ids):
        rows = connection.execute(
            select(table.c.run_id, table.c.state, table.c.event_time, table.c.event_id)
            .where(table.c.run_id.in_(part))
            .order_by(table.c.run_id, table.c.event_time, table.c.event_id)
        )
        for row in rows:
            found.setdefault(row.run_id, []).append(StateChange(row.state, row.event_time, row.event_id))
    return found


def run_facets(connection: Connection, run_id: str, kind: str) -> dict[str, Any]:
    """Marquez's ``{"runId", "facets"}`` of a run (``kind`` ``run``) or of its job (``job``).

    The projections keep a job's latest facets, not those of each run, so ``job`` gives the job's
    current facets.
    """
    run = get_run(connection, run_id)
    if kind == "run":
        return {"runId": run.id, "facets": run.facets}
    if kind == "job":
        return {"runId": run.id, "facets": load_facets(connection, "job", [str(run.job_id)])[str(run.job_id)]}
    msg = f"type must be run or job, got {kind!r}"
    raise BadRequest(msg)
