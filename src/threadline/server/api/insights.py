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

from typing import Any

from sqlalchemy import Connection
from starlette.requests import Request
from starlette.responses import Response

from threadline.errors import BadRequest
from threadline.graph.model import DATASET
from threadline.graph.nodes import NodeId
from threadline.graph.resolve import resolve_node
from threadline.openlineage.timestamps import format_time, parse_time
from threadline.projection.readers.common import (
    check_page,
)
from threadline.projection.readers.namespaces import store_counts
from threadline.projection.readers.runs import RunFilter, RunSummary, dataset_io_runs, list_run_summaries
from threadline.projection.readers.search import search_fields
from threadline.server.api import ui_lineage
from threadline.server.api.routing import int_param, new_router, read
from threadline.server.api.ui_lineage import timespan
from threadline.server.state import json_response, state_of
from threadline.store.base import EventFilter, Store
from threadline.store.run_ids import short_run_ids
from threadline.vocabulary import RunState

router = new_router()

_EVENT_TYPES = ("START", "RUNNING", "COMPLETE", "FAIL", "ABORT", "OTHER")
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


def _text(request: Request, name: str) -> str | None:
    value = request.query_params.get(name, "").strip()
    return value or None


def _exact(request: Request, name: str) -> str | None:
    """A name or node id as given: a name may be spaces, or begin or end with them."""
    return request.query_params.get(name) or None


def _time(request: Request, name: str) -> int | None:
    text = _text(request, name)
    if text is None:
        return None
    try:
        return parse_time(text.replace(" ", "+"))  # an unencoded '+' arrives as ' '
    except ValueError:
        msg = f"{name} must be an ISO 8601 date-time such as 2024-05-01T12:00:00Z, got {text!r}"
        raise BadRequest(msg) from None


def _page(request: Request) -> tuple[int, int]:
    limit, offset = int_param(request, "limit", DEFAULT_LIMIT), int_param(request, "offset", 0)
    check_page(limit, offset)
    return limit, offset


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


def _run_filter(request: Request) -> RunFilter:
    state = _text(request, "state")
    states = None
    if state is not None:
        try:
            states = RunState.parse(state).event_types
        except ValueError as error:
            raise BadRequest(str(error)) from None
    return RunFilter(
        states=states,
        namespace=_exact(request, "namespace"),
        job=_text(request, "job"),
        parent=_text(request, "parent"),
        pipeline=_text(request, "pipeline"),
        id_prefix=_text(request, "run"),
        since=_time(request, "since"),
        until=_time(request, "until"),
    )


@router.get("/api/v1/ui/runs")
async def runs_endpoint(request: Request) -> Response:
    """Runs of every job, newest first, filtered (see the module docstring)."""
    wanted = _run_filter(request)
    limit, offset = _page(request)
    found, total = await read(request, list_runs, wanted, limit, offset)
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


@router.get("/api/v1/ui/timespan")
async def timespan_endpoint(request: Request) -> Response:
    """The first and last event times: the range of the lineage view's as-of control."""
    return json_response(await read(request, timespan, state_of(request).store))


@router.get("/api/v1/ui/overview")
async def overview_endpoint(request: Request) -> Response:
    """Counts, the time span of the log, recent runs and recent failures (the home page)."""
    return json_response(await read(request, overview, state_of(request).store))


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


@router.get("/api/v1/ui/events")
async def events_endpoint(request: Request) -> Response:
    """Event summaries, newest first, filtered (see the module docstring); bodies come from
    ``/api/v1/events/{id}``."""
    event_type = _text(request, "type")
    if event_type is not None:
        event_type = event_type.upper()
        if event_type not in _EVENT_TYPES:
            msg = f"type must be one of {', '.join(_EVENT_TYPES)}, got {event_type!r}"
            raise BadRequest(msg)
    wanted = EventFilter(
        event_type=event_type,
        job=_text(request, "job"),
        run=_text(request, "run"),
        producer=_text(request, "producer"),
        problems=(_text(request, "problems") or "").lower() in ("1", "true", "yes"),
        before=_time(request, "before"),
        after=_time(request, "after"),
    )
    limit, offset = _page(request)
    found, total = await read(request, list_events, state_of(request).store, wanted, limit, offset)
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


@router.get("/api/v1/ui/dataset-runs")
async def dataset_runs_endpoint(request: Request) -> Response:
    """The runs that wrote and read ``nodeId`` (a dataset), with statistics and quality facets."""
    node_id = _exact(request, "nodeId")
    if node_id is None:
        msg = "the query parameter nodeId is required (dataset:<namespace>:<name>)"
        raise BadRequest(msg)
    limit = int_param(request, "limit", DEFAULT_LIMIT)
    check_page(limit, 0)
    return json_response(await read(request, dataset_runs, node_id, limit))


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


@router.get("/api/v1/ui/columns")
async def columns_endpoint(request: Request) -> Response:
    """Dataset fields whose name holds ``q`` (type-ahead search of columns)."""
    query = _text(request, "q")
    if query is None:
        msg = "q must not be empty: give part of a field name"
        raise BadRequest(msg)
    limit = int_param(request, "limit", 10)
    check_page(limit, 0)
    return json_response(await read(request, search_columns, query, limit))


# The lineage graph the UI draws has a module of its own; it is served under this router.
router.include_router(ui_lineage.router)
