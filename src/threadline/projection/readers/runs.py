"""Runs, read with their state history, facets, inputs and outputs (a run named by a prefix of its id
is found by ``store/run_ids.py``): the one reader of runs for the HTTP API, the CLI and tracking
(``threadline runs``, ``diff``, ``snapshot`` and ``restore`` read runs here too)."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import ColumnElement, Connection, Select, and_, bindparam, func, select

from threadline.errors import BadRequest, NotFound
from threadline.openlineage.naming import normalize_namespace
from threadline.projection.readers.common import Page, load_facet, load_facets
from threadline.projection.readers.pipelines import pipeline_job_ids
from threadline.projection.readers.versions import job_version, location_of
from threadline.store import schema
from threadline.store.lineage_sql import lineage_reads
from threadline.store.lookups import batches, name_like
from threadline.store.run_ids import resolve_run_id
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
    def error(self) -> str | None:
        """The message of the error that failed the run (its ``errorMessage`` facet), if any."""
        facet = self.facets.get("errorMessage")
        message = facet.get("message") if isinstance(facet, dict) else None
        return message if isinstance(message, str) else None

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
    rows: dict[str, Any] = {}
    for part in batches(wanted):
        for row in connection.execute(_runs_query(), {"ids": part}):
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


# The statements of ``load_runs``, built once (building them cost more than running them: a run's read
# took 1.5 ms, most of it in SQLAlchemy's statement construction, the read-your-writes loop's bottleneck).


@cache
def _runs_query() -> Select[Any]:
    runs, jobs = schema.runs, schema.jobs
    return (
        select(
            runs,
            jobs.c.namespace.label("job_canonical_namespace"),
            jobs.c.display_namespace.label("job_display_namespace"),
            jobs.c.name.label("job_name"),
        )
        .join(jobs, jobs.c.id == runs.c.job_id)
        .where(runs.c.id.in_(bindparam("ids", expanding=True)))
    )


@cache
def _run_io_query(recorded_versions: bool) -> Select[Any]:
    io, datasets, runs = schema.run_io, schema.datasets, schema.runs
    version = io.c.version if recorded_versions else io_version(io, runs.c.created_at)
    return (
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
        .where(io.c.run_id.in_(bindparam("ids", expanding=True)))
        .order_by(io.c.run_id, datasets.c.namespace, datasets.c.name)
    )


@cache
def _states_query() -> Select[Any]:
    table = schema.run_states
    return (
        select(table.c.run_id, table.c.state, table.c.event_time, table.c.event_id)
        .where(table.c.run_id.in_(bindparam("ids", expanding=True)))
        .order_by(table.c.run_id, table.c.event_time, table.c.event_id)
    )


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


# ---- run lists ------------------------------------------------------------------------------------


@dataclass(slots=True)
class RunFilter:
    """Which runs to list (every field optional)."""

    #: OpenLineage event types (a Marquez state's: ``RunState.event_types``).
    states: tuple[str, ...] | None = None
    namespace: str | None = None
    #: Part of the job's name.
    job: str | None = None
    #: A run id or a unique prefix of it: its child runs.
    parent: str | None = None
    since: int | None = None
    until: int | None = None
    #: One job, by its id in the store.
    job_id: int | None = None
    #: A pipeline, by name: the runs of the jobs named so and of every job under them.
    pipeline: str | None = None
    #: The start of the runs' ids.
    id_prefix: str | None = None


@dataclass(slots=True)
class RunSummary:
    """A run as lists show it: its job, state and times, the message of the error that failed it, and
    its job's ``jobType`` facet (which tells the producer: dbt, Airflow, Spark, the SDK…)."""

    id: str
    job_id: int
    namespace: str  # the job's, as first spelled
    job: str
    state: str | None
    created_at: int
    started_at: int | None
    ended_at: int | None
    parent_run_id: str | None
    error_message: str | None
    job_type: dict[str, Any] | None

    @property
    def duration_ms(self) -> int | None:
        """From start to end, in milliseconds, once both are known."""
        if self.started_at is None or self.ended_at is None:
            return None
        return (self.ended_at - self.started_at) // 1000


@dataclass(slots=True)
class DatasetRun:
    """A run that wrote or read a dataset: the run, the version, when the run first named the dataset,
    and the run's facets of it."""

    run: RunSummary
    version: str | None
    seen_at: int
    facets: dict[str, Any]


def _summary_columns() -> tuple[Any, ...]:
    runs, jobs = schema.runs, schema.jobs
    return (
        runs.c.id,
        runs.c.job_id,
        runs.c.state,
        runs.c.created_at,
        runs.c.started_at,
        runs.c.ended_at,
        runs.c.parent_run_id,
        func.coalesce(jobs.c.display_namespace, jobs.c.namespace).label("namespace"),
        jobs.c.name.label("job"),
    )


def _summaries(connection: Connection, rows: Sequence[Any]) -> list[RunSummary]:
    """Rows of :func:`_summary_columns` as summaries, with error messages and job types."""
    errors = load_facet(connection, "run", [row.id for row in rows], "errorMessage")
    job_types = load_facet(connection, "job", [str(row.job_id) for row in rows], "jobType")
    found = []
    for row in rows:
        error = errors.get(row.id)
        job_type = job_types.get(str(row.job_id))
        found.append(
            RunSummary(
                id=row.id,
                job_id=row.job_id,
                namespace=row.namespace,
                job=row.job,
                state=row.state,
                created_at=row.created_at,
                started_at=row.started_at,
                ended_at=row.ended_at,
                parent_run_id=row.parent_run_id,
                error_message=error.get("message") if isinstance(error, dict) else None,
                job_type=job_type if isinstance(job_type, dict) else None,
            )
        )
    return found


def _run_conditions(connection: Connection, wanted: RunFilter) -> list[Any]:
    runs, jobs = schema.runs, schema.jobs
    where: list[Any] = [runs.c.has_events.is_(True)]
    if wanted.states is not None:
        where.append(runs.c.state.in_(wanted.states))
    if wanted.namespace is not None:
        where.append(jobs.c.namespace == normalize_namespace(wanted.namespace))
    if wanted.job is not None:
        where.append(name_like(jobs.c.name, wanted.job))
    if wanted.job_id is not None:
        where.append(runs.c.job_id == wanted.job_id)
    if wanted.parent is not None:
        where.append(runs.c.parent_run_id == resolve_run_id(connection, wanted.parent))
    if wanted.id_prefix is not None:
        prefix = wanted.id_prefix.strip().lower().removeprefix("run:")
        where.append(and_(runs.c.id >= prefix, runs.c.id < prefix + "\uffff"))
    if wanted.pipeline is not None:
        where.append(runs.c.job_id.in_(pipeline_job_ids(connection, wanted.pipeline)))
    if wanted.since is not None:
        where.append(runs.c.created_at >= wanted.since)
    if wanted.until is not None:
        where.append(runs.c.created_at <= wanted.until)
    return where


def list_run_summaries(
    connection: Connection, wanted: RunFilter, limit: int, offset: int
) -> Page[RunSummary]:
    """Runs (that have events) matching ``wanted``, newest first, and how many match in all."""
    runs, jobs = schema.runs, schema.jobs
    where = _run_conditions(connection, wanted)
    joined = runs.join(jobs, jobs.c.id == runs.c.job_id)
    rows = connection.execute(
        select(*_summary_columns())
        .select_from(joined)
        .where(*where)
        .order_by(runs.c.created_at.desc(), runs.c.id.desc())
        .limit(limit)
        .offset(offset)
    ).all()
    total = connection.scalar(select(func.count()).select_from(joined).where(*where)) or 0
    return Page(_summaries(connection, rows), total)


def dataset_io_runs(
    connection: Connection, dataset_id: int, direction: str, limit: int, facet_names: Sequence[str]
) -> list[DatasetRun]:
    """The runs that wrote (``direction`` ``out``) or read (``in``) a dataset, newest first (by when they
    first named it), each with the version (:func:`io_version`) and its facets ``facet_names`` of it."""
    io, runs, jobs = schema.run_io, schema.runs, schema.jobs
    rows = connection.execute(
        select(*_summary_columns(), io_version(io, runs.c.created_at).label("version"), io.c.first_seen)
        .select_from(io.join(runs, runs.c.id == io.c.run_id).join(jobs, jobs.c.id == runs.c.job_id))
        .where(io.c.dataset_id == dataset_id, io.c.direction == direction)
        .order_by(io.c.first_seen.desc(), runs.c.id.desc())
        .limit(limit)
    ).all()
    kind = "output" if direction == "out" else "input"
    facets = load_facets(connection, kind, [f"{row.id}/{dataset_id}" for row in rows])
    found = []
    for row, summary in zip(rows, _summaries(connection, rows), strict=True):
        mine = facets.get(f"{row.id}/{dataset_id}", {})
        found.append(
            DatasetRun(
                summary,
                row.version,
                row.first_seen,
                {name: mine[name] for name in facet_names if name in mine},
            )
        )
    return found


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
    reads = lineage_reads(connection)
    found = [run_id]
    seen = {run_id}
    frontier = [run_id]
    while frontier:
        frontier = [child for child in reads.child_runs(frontier) if child not in seen]
        seen.update(frontier)
        found += frontier
    return found


def _run_io(
    connection: Connection, run_ids: Sequence[str], *, recorded_versions: bool = False
) -> dict[str, tuple[list[RunDataset], list[RunDataset]]]:
    """Each run's inputs and outputs, by dataset name, with their versions (:func:`io_version`, or only
    the recorded ones)."""
    rows: list[Any] = []
    for part in batches(run_ids):
        rows += connection.execute(_run_io_query(recorded_versions), {"ids": part}).all()
    keys: dict[str, list[str]] = {"input": [], "output": []}
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
    found: dict[str, list[StateChange]] = {}
    for part in batches(run_ids):
        for row in connection.execute(_states_query(), {"ids": part}):
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
