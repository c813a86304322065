"""The edges of the lineage graph, read from the projections, now or as of any time.

A job's edges are the inputs and outputs of its *current run*: its latest completed run, else its
latest run (``jobs.current_run_id``, kept by the projector); a job that never ran (only JobEvents)
has the edges of ``job_io``. That is Marquez's notion of a job's current version, and it is what makes
lineage change when a pipeline changes: a dataset whose producer was replaced shows the new producer,
not both.

**As of a time T** the same rule is applied to the events with ``eventTime <= T`` only: the current run
of a job as of T is the run of its latest COMPLETE event at or before T (else of its latest event), and
its edges are the inputs and outputs that run had reported by T. That is exactly what folding only
those events would give, computed from the projections (``run_states`` keeps every state change with
its time, ``run_io`` when each edge was first seen).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy import Connection

from threadline.graph.model import DATASET, JOB, Edge, Node
from threadline.openlineage.versions import EventType
from threadline.store.lookups import fetch_in, sql_text

#: A job's current edges: its current run's inputs and outputs, else (never ran) its JobEvents'.
_CURRENT_JOB_EDGES = (
    "SELECT j.id, io.dataset_id, io.direction FROM {jobs} j "
    "JOIN {run_io} io ON io.run_id = j.current_run_id WHERE j.id IN ({keys}){only_io} "
    "UNION ALL SELECT io.job_id, io.dataset_id, io.direction FROM {job_io} io "
    "JOIN {jobs} j ON j.id = io.job_id WHERE io.job_id IN ({keys}){only_io} AND j.current_run_id IS NULL"
)
_CURRENT_DATASET_EDGES = (
    "SELECT j.id, io.dataset_id FROM {run_io} io JOIN {jobs} j ON j.current_run_id = io.run_id "
    "WHERE io.dataset_id IN ({keys}) AND io.direction = {p} "
    "UNION ALL SELECT io.job_id, io.dataset_id FROM {job_io} io JOIN {jobs} j ON j.id = io.job_id "
    "WHERE io.dataset_id IN ({keys}) AND io.direction = {p} AND j.current_run_id IS NULL"
)
_STATES_AS_OF = (
    "SELECT r.job_id, s.run_id, s.state, s.event_time, s.event_id FROM {runs} r "
    "JOIN {run_states} s ON s.run_id = r.id WHERE r.job_id IN ({keys}) AND s.event_time <= {p}"
)
_RUN_EDGES_AS_OF = (
    "SELECT run_id, dataset_id, direction FROM {run_io} WHERE run_id IN ({keys}) AND first_seen <= {p}{only}"
)
_JOB_IO_AS_OF = (
    "SELECT job_id, dataset_id, direction FROM {job_io} WHERE job_id IN ({keys}) AND first_seen <= {p}{only}"
)
_JOBS_TOUCHING_AS_OF = (
    "SELECT DISTINCT r.job_id FROM {run_io} io JOIN {runs} r ON r.id = io.run_id "
    "WHERE io.dataset_id IN ({keys}) AND io.direction = {p} AND io.first_seen <= {p} "
    "UNION SELECT job_id FROM {job_io} WHERE dataset_id IN ({keys}) AND direction = {p} AND first_seen <= {p}"
)
_ALL_CURRENT_EDGES = (
    "SELECT j.id, io.dataset_id, io.direction FROM {jobs} j JOIN {run_io} io ON io.run_id = j.current_run_id "
    "UNION ALL SELECT io.job_id, io.dataset_id, io.direction FROM {job_io} io "
    "JOIN {jobs} j ON j.id = io.job_id WHERE j.current_run_id IS NULL"
)
_JOBS = "SELECT id FROM {jobs} WHERE id IN ({keys})"


def _only(template: str, direction: str | None) -> str:
    """``template`` limited to one direction (``{only}``: a ``direction = {p}`` more), or not."""
    return template.replace("{only}", " AND direction = {p}" if direction else "").replace(
        "{only_io}", " AND io.direction = {p}" if direction else ""
    )


def _edge(job: int, dataset: int, direction: str) -> Edge:
    """The edge between a job and a dataset, pointing the way data flows."""
    if direction == "in":
        return Node(DATASET, dataset), Node(JOB, job)
    return Node(JOB, job), Node(DATASET, dataset)


class SqlEdges:
    """Edges next to given nodes, read with SQL: the current graph, or the graph as of ``as_of``."""

    def __init__(self, connection: Connection, as_of: int | None = None) -> None:
        self.connection = connection
        self.as_of = as_of

    # ---- the public question ---------------------------------------------------------------------

    def next_to(self, nodes: Sequence[Node], upstream: bool) -> list[Edge]:
        """The edges leading into (``upstream``) or out of ``nodes``."""
        jobs = [node.id for node in nodes if node.kind == JOB]
        datasets = [node.id for node in nodes if node.kind == DATASET]
        edges: list[Edge] = []
        if jobs:
            edges += self.job_edges(jobs, "in" if upstream else "out")
        if datasets:
            edges += self.dataset_edges(datasets, "out" if upstream else "in")
        return edges

    def job_edges(self, jobs: Sequence[int], direction: str | None = None) -> list[Edge]:
        """The edges of ``jobs`` (only inputs or outputs with ``direction`` ``in``/``out``)."""
        if self.as_of is None:
            return self._current_job_edges(jobs, direction)
        current = self._current_runs_as_of(jobs)
        edges = self._run_edges(current, direction)
        runless = [job for job in jobs if job not in current]
        return edges + self._job_io_edges(runless, direction)

    def dataset_edges(self, datasets: Sequence[int], direction: str) -> list[Edge]:
        """The edges from jobs that read (``direction`` ``in``) or write (``out``) ``datasets``."""
        if self.as_of is None:
            return self._current_dataset_edges(datasets, direction)
        candidates = self._jobs_touching_as_of(datasets, direction)
        wanted = set(datasets)
        return [
            (source, target)
            for source, target in self.job_edges(sorted(candidates), direction)
            if (source if direction == "in" else target).id in wanted
        ]

    # ---- now --------------------------------------------------------------------------------------

    def _current_job_edges(self, jobs: Sequence[int], direction: str | None) -> list[Edge]:
        extra = (direction,) if direction else ()
        rows = fetch_in(
            self.connection,
            _only(_CURRENT_JOB_EDGES, direction),
            jobs,
            lambda batch: (*batch, *extra, *batch, *extra),
        )
        return [_edge(job, dataset, way) for job, dataset, way in rows]

    def _current_dataset_edges(self, datasets: Sequence[int], direction: str) -> list[Edge]:
        rows = fetch_in(
            self.connection,
            _CURRENT_DATASET_EDGES,
            datasets,
            lambda batch: (*batch, direction, *batch, direction),
        )
        return [_edge(job, dataset, direction) for job, dataset in rows]

    # ---- as of a time -------------------------------------------------------------------------------

    def _current_runs_as_of(self, jobs: Sequence[int]) -> dict[int, str]:
        """Each job's current run as of ``as_of``: its latest COMPLETE event's run, else its latest
        event's run (ties broken by event id, as the projector's stamps do)."""
        best: dict[int, tuple[bool, int, str, str]] = {}
        rows = fetch_in(self.connection, _STATES_AS_OF, jobs, lambda batch: (*batch, self.as_of))
        for job, run, state, time, event in rows:
            rank = (state == EventType.COMPLETE, time, event[:16], run)
            if job not in best or rank > best[job]:
                best[job] = rank
        return {job: rank[3] for job, rank in best.items()}

    def _run_edges(self, current: dict[int, str], direction: str | None) -> list[Edge]:
        job_of = {run: job for job, run in current.items()}
        extra = (self.as_of, *((direction,) if direction else ()))
        rows = fetch_in(
            self.connection, _only(_RUN_EDGES_AS_OF, direction), list(job_of), lambda batch: (*batch, *extra)
        )
        return [_edge(job_of[run], dataset, way) for run, dataset, way in rows]

    def _job_io_edges(self, jobs: Sequence[int], direction: str | None) -> list[Edge]:
        extra = (self.as_of, *((direction,) if direction else ()))
        rows = fetch_in(
            self.connection, _only(_JOB_IO_AS_OF, direction), jobs, lambda batch: (*batch, *extra)
        )
        return [_edge(job, dataset, way) for job, dataset, way in rows]

    def _jobs_touching_as_of(self, datasets: Sequence[int], direction: str) -> set[int]:
        """Jobs that had, by ``as_of``, some run (or JobEvent) with ``datasets`` on side ``direction``."""
        at = (direction, self.as_of)
        rows = fetch_in(
            self.connection, _JOBS_TOUCHING_AS_OF, datasets, lambda batch: (*batch, *at, *batch, *at)
        )
        return {row[0] for row in rows}


def all_current_edges(connection: Connection) -> dict[int, list[tuple[int, str]]]:
    """Every job's current edges, ``job id -> [(dataset id, "in"|"out"), ...]`` (for the index)."""
    edges: dict[int, list[tuple[int, str]]] = defaultdict(list)
    for job, dataset, direction in connection.exec_driver_sql(sql_text(connection, _ALL_CURRENT_EDGES)):
        edges[job].append((dataset, direction))
    return edges


def current_edges_of(connection: Connection, jobs: Sequence[int]) -> dict[int, list[tuple[int, str]]]:
    """The current edges of each of ``jobs`` that exists (with no edges if it has none)."""
    edges: dict[int, list[tuple[int, str]]] = {job: [] for (job,) in fetch_in(connection, _JOBS, jobs)}
    for source, target in SqlEdges(connection).job_edges(sorted(edges)):
        if source.kind == JOB:
            edges[source.id].append((target.id, "out"))
        else:
            edges[target.id].append((source.id, "in"))
    return edges
