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

from typing import Annotated, Any

from fastapi import Depends, Query
from sqlalchemy import Connection
from starlette.responses import Response

from threadline.errors import BadRequest, InvalidParameter
from threadline.graph.model import DATASET
from threadline.graph.nodes import NodeId
from threadline.graph.resolve import resolve_node
from threadline.openlineage.timestamps import format_time
from threadline.openlineage.versions import EVENT_TYPES
from threadline.params import parse_choice
from threadline.projection.readers.namespaces import store_counts
from threadline.projection.readers.runs import (
    RunFilter,
    RunSummary,
    dataset_io_runs,
    list_run_summaries,
)
from threadline.projection.readers.search import search_fields
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
from threadline.store.base import EventFilter, Store
from threadline.store.run_ids import short_run_ids
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


def list_runs(connection: Connection, wanted: RunFilter, limit: int, offset: int) -> tuple[list[dict], int]:
    """Runs matching ``wanted``, newest first, as the UI shows them, and how many match in all."""
    page = list_run_summaries(connection, wanted, limit, offset)
    return run_summaries(connection, page.items), page.total


def run_summaries(connection: Connection, runs: list[RunSummary]) -> list[dict[str, Any]]:
    """Runs as the UI's run summaries, with their short ids (and their parents')."""
    short = short_run_ids(connection, [r for run in runs for r in (run.id, run.parent_run_id) if r])
    return [
        {
            "id": run.id,
            "shortId": short[run.id],
            "nodeId": str(NodeId.run(run.id)),
            "namespace": run.namespace,
            "job": run.job,
            "jobNodeId": str(NodeId.job(run.namespace, run.job)),
            "state": RunState.of(run.state),
            "createdAt": format_time(run.created_at),
            "startedAt": format_time(run.started_at),
            "endedAt": format_time(run.ended_at),
            "durationMs": run.duration_ms,
            "parentRunId": run.parent_run_id,
            "parentShortId": short.get(run.parent_run_id) if run.parent_run_id else None,
            "errorMessage": run.error_message,
            "jobType": run.job_type,
        }
        for run in runs
    ]


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


def overview(connection: Connection, store: Store) -> dict[str, Any]:
    """Counts, the log's time span, and the most recent runs and failures."""
    counted = store_counts(connection)
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
        **timespan(connection, store),
        "recentRuns": recent,
        "recentFailures": failures,
    }


@router.get("/api/v1/ui/timespan", response_model=Timespan)
async def timespan_endpoint(_key: ReadKey, state: State) -> Response:
    """The first and last event times: the range of the lineage view's as-of control."""
    return json_response(await read(state, timespan, state.store))


@router.get("/api/v1/ui/overview", response_model=Overview)
async def overview_endpoint(_key: ReadKey, state: State) -> Response:
    """Counts, the time span of the log, recent runs and recent failures (the home page)."""
    return json_response(await read(state, overview, state.store))


# ---- events --------------------------------------------------------------------------------------


def list_events(
    connection: Connection, store: Store, wanted: EventFilter, limit: int, offset: int
) -> tuple[list, int]:
    """Summaries of the events matching ``wanted``, newest first, and how many match in all."""
    found, total = store.event_summaries(connection, wanted, limit, offset)
    short = short_run_ids(connection, [event.run_id for event in found if event.run_id])
    summaries = [
        {
            "id": event.id,
            "eventTime": format_time(event.event_time),
            "receivedAt": format_time(event.received_at),
            "kind": event.kind,
            "eventType": event.event_type,
            "runId": event.run_id,
            "runShortId": short.get(event.run_id) if event.run_id else None,
            "jobNamespace": event.job_namespace,
            "jobName": event.job_name,
            "producer": event.producer,
            "hasProblems": event.has_problems,
        }
        for event in found
    ]
    return summaries, total


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
    found, total = await read(state, list_events, state.store, wanted, page.limit, page.offset)
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
    answer: dict[str, Any] = {"nodeId": node_id}
    for direction, key in (("out", "writes"), ("in", "reads")):
        found = dataset_io_runs(connection, dataset_id, direction, limit, _IO_FACETS)
        summaries = run_summaries(connection, [entry.run for entry in found])
        answer[key] = [
            {
                **summary,
                "version": entry.version,
                "seenAt": format_time(entry.seen_at),
                "facets": entry.facets,
            }
            for entry, summary in zip(found, summaries, strict=True)
        ]
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
    page = search_fields(connection, query, limit)
    return {
        "totalCount": page.total,
        "results": [
            {
                "nodeId": str(NodeId.dataset_field(hit.namespace, hit.dataset, hit.path)),
                "namespace": hit.namespace,
                "dataset": hit.dataset,
                "field": hit.path,
                "type": hit.type,
            }
            for hit in page.items
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
