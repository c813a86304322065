"""What the web UI asks beyond Marquez's API: an overview, runs and events across every job with
filters, the runs that wrote and read a dataset (with their quality facets), and a column search.

Marquez's API lists runs per job only and has no global counts; these endpoints fill that gap under
``/api/v1/ui/``. They answer in the UI's own shapes (camelCase, times as ISO 8601, node ids as
``job:<ns>:<name>``), need the ``read`` scope like every read endpoint, and cost a fixed number of
queries per page.

- ``GET /api/v1/ui/overview``: counts, the time span of the log, recent runs and recent failures.
- ``GET /api/v1/ui/timespan``: the first and last event times only (the lineage view's time control).
- ``GET /api/v1/ui/runs``: runs newest first; ``state`` (Marquez's: COMPLETED, FAILED, RUNNING,
  ABORTED, NEW; any case), ``namespace``, ``job`` (part of a name), ``parent`` (a run id or a unique
  prefix: its child runs), ``pipeline`` (a pipeline's name: the runs of its job and of every job under
  it, see ``catalog/pipelines.py``), ``run`` (the start of their ids), ``since``/``until`` (ISO 8601),
  ``limit``, ``offset``. Each run
  has its ``shortId`` (and its parent's, ``parentShortId``): the shortest prefix of its id no other run
  shares, at least 8 characters.
- ``GET /api/v1/ui/events``: event summaries (no bodies) newest first; ``type``, ``job``, ``run``,
  ``producer`` (part of the URL), ``problems=true``, ``before``/``after``, ``limit``, ``offset``.
- ``GET /api/v1/ui/dataset-runs``: ``nodeId=dataset:<ns>:<name>``: the runs that wrote it and the runs
  that read it, newest first, with the version each wrote or read and the run's facets of the dataset
  (``outputStatistics``, ``dataQualityMetrics``, ``dataQualityAssertions``, ``threadline_artifact``).
- ``GET /api/v1/ui/columns``: ``q``: dataset fields whose name holds ``q``, as ``datasetField:`` ids.
- ``GET /api/v1/ui/lineage``: the lineage graph in the shape the UI draws (``ui_lineage.py``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Query
from sqlalchemy import Connection, and_, func, or_, select
from starlette.responses import Response

from threadline.errors import BadRequest, InvalidParameter
from threadline.graph.model import DATASET
from threadline.graph.nodes import NodeId
from threadline.graph.resolve import resolve_node
from threadline.openlineage.naming import normalize_namespace
from threadline.openlineage.timestamps import format_time
from threadline.openlineage.versions import EVENT_TYPES, EventType
from threadline.params import parse_choice
from threadline.projection.readers.common import (
    CATALOG_NAMESPACE,
    load_facet,
    load_facets,
    name_like,
)
from threadline.projection.readers.pipelines import pipeline_job_ids
from threadline.projection.readers.runs import io_version
from threadline.server.api.access import ReadKey, State
from threadline.server.api.models import (
    ColumnHits,
    DatasetRuns,
    Overview,
    RunSummaryList,
    Timespan,
    UiEventList,
)
from threadline.server.api.params import (
    NodeIdParam,
    PageParams,
    flag_param,
    limit_param,
    page_param,
    text_param,
    time_param,
)
from threadline.server.api.routing import new_router, read
from threadline.server.api.ui_lineage import timespan
from threadline.server.state import json_response
from threadline.store import schema
from threadline.store.run_ids import resolve_run_id, short_run_ids
from threadline.vocabulary import RunState

router = new_router()

RECENT = 8
DEFAULT_LIMIT = 50
#: The dataset facets of a run's input or output that the dataset page shows over time.
_IO_FACETS = (
    "outputStatistics",
    "dataQualityMetrics",
    "dataQualityAssertions",
    "threadline_artifact",
    "version",
)


# ---- parameters ----------------------------------------------------------------------------------


def _text(name: str, description: str) -> Any:
    return Depends(text_param(name, description))


def _exact(name: str, description: str) -> Any:
    """A name or node id as given: a name may be spaces, or begin or end with them."""
    return Depends(text_param(name, description, strip=False))


UiPage = Annotated[PageParams, Depends(page_param(DEFAULT_LIMIT))]


# ---- runs ----------------------------------------------------------------------------------------


@dataclass(slots=True)
class RunFilter:
    """Which runs to list (every field optional)."""

    states: tuple[str, ...] | None = None
    namespace: str | None = None
    job: str | None = None
    parent: str | None = None
    since: int | None = None
    until: int | None = None
    #: One job, by its id in the store.
    job_id: int | None = None
    #: A pipeline, by name: the runs of the jobs named so and of every job under them.
    pipeline: str | None = None
    #: The start of the runs' ids.
    id_prefix: str | None = None


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


def list_runs(connection: Connection, wanted: RunFilter, limit: int, offset: int) -> tuple[list[dict], int]:
    """Runs matching ``wanted``, newest first, as the UI shows them, and how many match in all."""
    runs, jobs = schema.runs, schema.jobs
    where = _run_conditions(connection, wanted)
    joined = runs.join(jobs, jobs.c.id == runs.c.job_id)
    rows = connection.execute(
        select(
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
        .select_from(joined)
        .where(*where)
        .order_by(runs.c.created_at.desc(), runs.c.id.desc())
        .limit(limit)
        .offset(offset)
    ).all()
    total = connection.scalar(select(func.count()).select_from(joined).where(*where)) or 0
    return run_summaries(connection, rows), total


def run_summaries(connection: Connection, rows: Sequence[Any]) -> list[dict[str, Any]]:
    """Rows of runs joined with their jobs as the UI's run summaries, with error messages and the
    job's ``jobType`` facet (which tells the producer: dbt, Airflow, Spark, the SDK…)."""
    errors = load_facet(connection, "run", [row.id for row in rows], "errorMessage")
    job_types = load_facet(connection, "job", [str(row.job_id) for row in rows], "jobType")
    short = short_run_ids(connection, [r for row in rows for r in (row.id, row.parent_run_id) if r])
    found = []
    for row in rows:
        error = errors.get(row.id)
        job_type = job_types.get(str(row.job_id))
        duration = None
        if row.started_at is not None and row.ended_at is not None:
            duration = (row.ended_at - row.started_at) // 1000
        found.append(
            {
                "id": row.id,
                "shortId": short[row.id],
                "nodeId": str(NodeId.run(row.id)),
                "namespace": row.namespace,
                "job": row.job,
                "jobNodeId": str(NodeId.job(row.namespace, row.job)),
                "state": RunState.of(row.state),
                "createdAt": format_time(row.created_at),
                "startedAt": format_time(row.started_at),
                "endedAt": format_time(row.ended_at),
                "durationMs": duration,
                "parentRunId": row.parent_run_id,
                "parentShortId": short.get(row.parent_run_id) if row.parent_run_id else None,
                "errorMessage": error.get("message") if isinstance(error, dict) else None,
                "jobType": job_type if isinstance(job_type, dict) else None,
            }
        )
    return found


async def _run_filter(
    state: Annotated[str | None, _text("state", "COMPLETED, FAILED, RUNNING, ABORTED or NEW (any case).")],
    namespace: Annotated[str | None, _exact("namespace", "Only runs of jobs in this namespace.")],
    job: Annotated[str | None, _text("job", "Only runs of jobs whose name holds this.")],
    parent: Annotated[str | None, _text("parent", "A run id or unique prefix: its child runs.")],
    pipeline: Annotated[
        str | None, _text("pipeline", "A pipeline's name: runs of its job and every job under it.")
    ],
    run: Annotated[str | None, _text("run", "The start of the runs' ids.")],
    since: Annotated[int | None, Depends(time_param("since", "Only runs created at or after this time."))],
    until: Annotated[int | None, Depends(time_param("until", "Only runs created at or before this time."))],
) -> RunFilter:
    states = None
    if state is not None:
        try:
            states = RunState.parse(state).event_types
        except ValueError as error:
            raise InvalidParameter(str(error), "state") from None
    return RunFilter(
        states=states,
        namespace=namespace,
        job=job,
        parent=parent,
        pipeline=pipeline,
        id_prefix=run,
        since=since,
        until=until,
    )


@router.get("/api/v1/ui/runs", response_model=RunSummaryList)
async def runs_endpoint(
    _key: ReadKey, db: State, wanted: Annotated[RunFilter, Depends(_run_filter)], page: UiPage
) -> Response:
    """Runs of every job, newest first, filtered (see the module docstring)."""
    found, total = await read(db, list_runs, wanted, page.limit, page.offset)
    return json_response({"runs": found, "totalCount": total})


# ---- overview ------------------------------------------------------------------------------------


def _count(table: Any, *where: Any) -> Any:
    return select(func.count()).select_from(table).where(*where).scalar_subquery()


_ns, _ds, _runs = schema.namespaces, schema.datasets, schema.runs
#: The overview's counts in one statement (each a subquery), built once.
_COUNTS = select(
    _count(_ns, _ns.c.name != CATALOG_NAMESPACE).label("namespaces"),
    _count(_ds, _ds.c.namespace != CATALOG_NAMESPACE).label("datasets"),
    _count(schema.jobs).label("jobs"),
    _count(_runs, _runs.c.has_events.is_(True)).label("runs"),
    _count(_runs, _runs.c.has_events.is_(True), _runs.c.state.in_(RunState.RUNNING.event_types)).label(
        "running"
    ),
    _count(schema.events).label("events"),
)


def overview(connection: Connection) -> dict[str, Any]:
    """Counts, the log's time span, and the most recent runs and failures."""
    counted = connection.execute(_COUNTS).one()
    recent, _ = list_runs(connection, RunFilter(), RECENT, 0)
    failures, failed = list_runs(connection, RunFilter(states=RunState.FAILED.event_types), RECENT, 0)
    return {
        "counts": {
            "namespaces": counted.namespaces,
            "datasets": counted.datasets,
            "jobs": counted.jobs,
            "runs": counted.runs,
            "failedRuns": failed,
            "runningRuns": counted.running,
            "events": counted.events,
        },
        **timespan(connection),
        "recentRuns": recent,
        "recentFailures": failures,
    }


@router.get("/api/v1/ui/timespan", response_model=Timespan)
async def timespan_endpoint(_key: ReadKey, state: State) -> Response:
    """The first and last event times: the range of the lineage view's as-of control."""
    return json_response(await read(state, timespan))


@router.get("/api/v1/ui/overview", response_model=Overview)
async def overview_endpoint(_key: ReadKey, state: State) -> Response:
    """Counts, the time span of the log, recent runs and recent failures (the home page)."""
    return json_response(await read(state, overview))


# ---- events --------------------------------------------------------------------------------------


@dataclass(slots=True)
class EventFilter:
    """Which events to list (every field optional)."""

    event_type: str | None = None
    job: str | None = None
    run: str | None = None
    producer: str | None = None
    problems: bool = False
    before: int | None = None
    after: int | None = None


def list_events(connection: Connection, wanted: EventFilter, limit: int, offset: int) -> tuple[list, int]:
    """Summaries of the events matching ``wanted``, newest first, and how many match in all."""
    events = schema.events
    where: list[Any] = []
    if wanted.event_type is not None:
        if wanted.event_type == EventType.OTHER:
            where.append(or_(events.c.event_type == EventType.OTHER.value, events.c.event_type.is_(None)))
        else:
            where.append(events.c.event_type == wanted.event_type)
    if wanted.job is not None:
        where.append(name_like(events.c.job_name, wanted.job))
    if wanted.run is not None:
        prefix = wanted.run.lower().removeprefix("run:")
        where.append(and_(events.c.run_id >= prefix, events.c.run_id < prefix + "\uffff"))
    if wanted.producer is not None:
        where.append(name_like(events.c.producer, wanted.producer))
    if wanted.problems:
        where.append(events.c.problems.is_not(None))
    if wanted.before is not None:
        where.append(events.c.event_time < wanted.before)
    if wanted.after is not None:
        where.append(events.c.event_time > wanted.after)
    rows = connection.execute(
        select(
            events.c.id,
            events.c.event_time,
            events.c.received_at,
            events.c.kind,
            events.c.event_type,
            events.c.run_id,
            events.c.job_namespace,
            events.c.job_name,
            events.c.producer,
            events.c.problems,
        )
        .where(*where)
        .order_by(events.c.event_time.desc(), events.c.id.desc())
        .limit(limit)
        .offset(offset)
    ).all()
    total = connection.scalar(select(func.count()).select_from(events).where(*where)) or 0
    short = short_run_ids(connection, [row.run_id for row in rows if row.run_id])
    found = [
        {
            "id": row.id,
            "eventTime": format_time(row.event_time),
            "receivedAt": format_time(row.received_at),
            "kind": row.kind,
            "eventType": row.event_type,
            "runId": row.run_id,
            "runShortId": short.get(row.run_id) if row.run_id else None,
            "jobNamespace": row.job_namespace,
            "jobName": row.job_name,
            "producer": row.producer,
            "hasProblems": bool(row.problems),
        }
        for row in rows
    ]
    return found, total


async def _event_filter(
    event_type: Annotated[str | None, _text("type", f"One of {', '.join(EVENT_TYPES)} (any case).")],
    job: Annotated[str | None, _text("job", "Only events of jobs whose name holds this.")],
    run: Annotated[str | None, _text("run", "The start of the events' run ids.")],
    producer: Annotated[str | None, _text("producer", "Only events whose producer URL holds this.")],
    problems: Annotated[bool, Depends(flag_param("problems", "Only events with facet problems."))],
    before: Annotated[int | None, Depends(time_param("before", "Only events before this time."))],
    after: Annotated[int | None, Depends(time_param("after", "Only events after this time."))],
) -> EventFilter:
    if event_type is not None:
        event_type = parse_choice(event_type, "type", EVENT_TYPES, "OTHER")
    return EventFilter(
        event_type=event_type,
        job=job,
        run=run,
        producer=producer,
        problems=problems,
        before=before,
        after=after,
    )


@router.get("/api/v1/ui/events", response_model=UiEventList)
async def events_endpoint(
    _key: ReadKey, state: State, wanted: Annotated[EventFilter, Depends(_event_filter)], page: UiPage
) -> Response:
    """Event summaries, newest first, filtered (see the module docstring); bodies come from
    ``/api/v1/events/{id}``."""
    found, total = await read(state, list_events, wanted, page.limit, page.offset)
    return json_response({"events": found, "totalCount": total})


# ---- a dataset's runs ----------------------------------------------------------------------------


def dataset_runs(connection: Connection, node_id: str, limit: int) -> dict[str, Any]:
    """The runs that wrote and read a dataset, newest first, with their facets of the dataset."""
    node = resolve_node(connection, node_id)
    if node.kind != DATASET:
        msg = f"nodeId must be a dataset:… id, got {node_id!r}"
        raise BadRequest(msg)
    return runs_of_dataset(connection, node.id, node_id, limit)


def runs_of_dataset(connection: Connection, dataset_id: int, node_id: str, limit: int) -> dict[str, Any]:
    """:func:`dataset_runs` of the dataset with the store's id ``dataset_id`` (``node_id`` is echoed)."""
    io, runs, jobs = schema.run_io, schema.runs, schema.jobs
    answer: dict[str, Any] = {"nodeId": node_id}
    for direction, key in (("out", "writes"), ("in", "reads")):
        rows = connection.execute(
            select(
                runs.c.id,
                runs.c.job_id,
                runs.c.state,
                runs.c.created_at,
                runs.c.started_at,
                runs.c.ended_at,
                runs.c.parent_run_id,
                func.coalesce(jobs.c.display_namespace, jobs.c.namespace).label("namespace"),
                jobs.c.name.label("job"),
                io_version(io, runs.c.created_at).label("version"),
                io.c.first_seen,
            )
            .select_from(io.join(runs, runs.c.id == io.c.run_id).join(jobs, jobs.c.id == runs.c.job_id))
            .where(io.c.dataset_id == dataset_id, io.c.direction == direction)
            .order_by(io.c.first_seen.desc(), runs.c.id.desc())
            .limit(limit)
        ).all()
        kind = "output" if direction == "out" else "input"
        facets = load_facets(connection, kind, [f"{row.id}/{dataset_id}" for row in rows])
        entries = []
        for row, summary in zip(rows, run_summaries(connection, rows), strict=True):
            mine = facets.get(f"{row.id}/{dataset_id}", {})
            entries.append(
                {
                    **summary,
                    "version": row.version,
                    "seenAt": format_time(row.first_seen),
                    "facets": {name: mine[name] for name in _IO_FACETS if name in mine},
                }
            )
        answer[key] = entries
    return answer


@router.get("/api/v1/ui/dataset-runs", response_model=DatasetRuns)
async def dataset_runs_endpoint(
    _key: ReadKey,
    state: State,
    node_id: NodeIdParam,
    limit: Annotated[int, Depends(limit_param(DEFAULT_LIMIT))],
) -> Response:
    """The runs that wrote and read ``nodeId`` (a dataset), with statistics and quality facets."""
    return json_response(await read(state, dataset_runs, node_id, limit))


# ---- columns -------------------------------------------------------------------------------------


def search_columns(connection: Connection, query: str, limit: int) -> dict[str, Any]:
    """Fields of current dataset schemas whose name holds ``query``, by field name then dataset."""
    fields, datasets = schema.schema_fields, schema.datasets
    namespace = func.coalesce(datasets.c.display_namespace, datasets.c.namespace)
    where = [name_like(fields.c.name, query), datasets.c.namespace != CATALOG_NAMESPACE]
    joined = fields.join(datasets, datasets.c.schema_hash == fields.c.schema_hash)
    rows = connection.execute(
        select(namespace.label("namespace"), datasets.c.name, fields.c.path, fields.c.type)
        .select_from(joined)
        .where(*where)
        .order_by(fields.c.name, datasets.c.name, fields.c.path)
        .limit(limit)
    ).all()
    total = connection.scalar(select(func.count()).select_from(joined).where(*where)) or 0
    return {
        "totalCount": total,
        "results": [
            {
                "nodeId": str(NodeId.dataset_field(row.namespace, row.name, row.path)),
                "namespace": row.namespace,
                "dataset": row.name,
                "field": row.path,
                "type": row.type,
            }
            for row in rows
        ],
    }


async def _column_query(q: Annotated[str, Query(description="Part of a field's name.")]) -> str:
    if not q.strip():
        msg = "q must not be empty: give part of a field name"
        raise InvalidParameter(msg, "q")
    return q.strip()


@router.get("/api/v1/ui/columns", response_model=ColumnHits)
async def columns_endpoint(
    _key: ReadKey,
    state: State,
    query: Annotated[str, Depends(_column_query)],
    limit: Annotated[int, Depends(limit_param(10))],
) -> Response:
    """Dataset fields whose name holds ``q`` (type-ahead search of columns)."""
    return json_response(await read(state, search_columns, query, limit))
