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
from collections.abc import Iterable, Sequence

from sqlalchemy import Connection

from threadline.graph.model import DATASET, JOB, Edge, Node
from threadline.openlineage.versions import EventType

_IN_CHUNK = 400  # ids per IN (...) list


def _chunks(ids: Sequence[int] | Sequence[str]) -> Iterable[list]:
    for start in range(0, len(ids), _IN_CHUNK):
        yield list(ids[start : start + _IN_CHUNK])


def _marks(count: int, placeholder: str) -> str:
    return ", ".join([placeholder] * count)


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
        self.placeholder = "%s" if connection.dialect.name == "postgresql" else "?"

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
        return edges + self._job_io_edges(runless, direction, by="job_id")

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
        ph = self.placeholder
        only = f" AND io.direction = {ph}" if direction else ""
        extra = (direction,) if direction else ()
        edges: list[Edge] = []
        for chunk in _chunks(jobs):
            marks = _marks(len(chunk), ph)
            sql = (
                "SELECT j.id, io.dataset_id, io.direction FROM jobs j "
                f"JOIN run_io io ON io.run_id = j.current_run_id WHERE j.id IN ({marks}){only} "
                "UNION ALL SELECT io.job_id, io.dataset_id, io.direction FROM job_io io "
                f"JOIN jobs j ON j.id = io.job_id WHERE io.job_id IN ({marks}){only} "
                "AND j.current_run_id IS NULL"
            )
            rows = self.connection.exec_driver_sql(sql, (*chunk, *extra, *chunk, *extra))
            edges += [_edge(job, dataset, way) for job, dataset, way in rows]
        return edges

    def _current_dataset_edges(self, datasets: Sequence[int], direction: str) -> list[Edge]:
        ph = self.placeholder
        edges: list[Edge] = []
        for chunk in _chunks(datasets):
            marks = _marks(len(chunk), ph)
            sql = (
                "SELECT j.id, io.dataset_id FROM run_io io JOIN jobs j ON j.current_run_id = io.run_id "
                f"WHERE io.dataset_id IN ({marks}) AND io.direction = {ph} "
                "UNION ALL SELECT io.job_id, io.dataset_id FROM job_io io JOIN jobs j ON j.id = io.job_id "
                f"WHERE io.dataset_id IN ({marks}) AND io.direction = {ph} AND j.current_run_id IS NULL"
            )
            rows = self.connection.exec_driver_sql(sql, (*chunk, direction, *chunk, direction))
            edges += [_edge(job, dataset, direction) for job, dataset in rows]
        return edges

    # ---- as of a time -------------------------------------------------------------------------------

    def _current_runs_as_of(self, jobs: Sequence[int]) -> dict[int, str]:
        """Each job's current run as of ``as_of``: its latest COMPLETE event's run, else its latest
        event's run (ties broken by event id, as the projector's stamps do)."""
        ph = self.placeholder
        best: dict[int, tuple[bool, int, str, str]] = {}
        for chunk in _chunks(jobs):
            sql = (
                "SELECT r.job_id, s.run_id, s.state, s.event_time, s.event_id FROM runs r "
                f"JOIN run_states s ON s.run_id = r.id WHERE r.job_id IN ({_marks(len(chunk), ph)}) "
                f"AND s.event_time <= {ph}"
            )
            for job, run, state, time, event in self.connection.exec_driver_sql(sql, (*chunk, self.as_of)):
                rank = (state == EventType.COMPLETE, time, event[:16], run)
                if job not in best or rank > best[job]:
                    best[job] = rank
        return {job: rank[3] for job, rank in best.items()}

    def _run_edges(self, current: dict[int, str], direction: str | None) -> list[Edge]:
        ph = self.placeholder
        job_of = {run: job for job, run in current.items()}
        only = f" AND direction = {ph}" if direction else ""
        edges: list[Edge] = []
        for chunk in _chunks(list(job_of)):
            sql = (
                "SELECT run_id, dataset_id, direction FROM run_io "
                f"WHERE run_id IN ({_marks(len(chunk), ph)}) AND first_seen <= {ph}{only}"
            )
            params = (*chunk, self.as_of, *((direction,) if direction else ()))
            edges += [
                _edge(job_of[run], dataset, way)
                for run, dataset, way in self.connection.exec_driver_sql(sql, params)
            ]
        return edges

    def _job_io_edges(self, ids: Sequence[int], direction: str | None, *, by: str) -> list[Edge]:
        ph = self.placeholder
        only = f" AND direction = {ph}" if direction else ""
        edges: list[Edge] = []
        for chunk in _chunks(ids):
            sql = (
                f"SELECT job_id, dataset_id, direction FROM job_io WHERE {by} IN ({_marks(len(chunk), ph)}) "
                f"AND first_seen <= {ph}{only}"
            )
            params = (*chunk, self.as_of, *((direction,) if direction else ()))
            edges += [
                _edge(job, dataset, way) for job, dataset, way in self.connection.exec_driver_sql(sql, params)
            ]
        return edges

    def _jobs_touching_as_of(self, datasets: Sequence[int], direction: str) -> set[int]:
        """Jobs that had, by ``as_of``, some run (or JobEvent) with ``datasets`` on side ``direction``."""
        ph = self.placeholder
        jobs: set[int] = set()
        for chunk in _chunks(datasets):
            marks = _marks(len(chunk), ph)
            sql = (
                "SELECT DISTINCT r.job_id FROM run_io io JOIN runs r ON r.id = io.run_id "
                f"WHERE io.dataset_id IN ({marks}) AND io.direction = {ph} AND io.first_seen <= {ph} "
                "UNION SELECT job_id FROM job_io "
                f"WHERE dataset_id IN ({marks}) AND direction = {ph} AND first_seen <= {ph}"
            )
            params = (*chunk, direction, self.as_of, *chunk, direction, self.as_of)
            jobs.update(row[0] for row in self.connection.exec_driver_sql(sql, params))
        return jobs


def all_current_edges(connection: Connection) -> dict[int, list[tuple[int, str]]]:
    """Every job's current edges, ``job id -> [(dataset id, "in"|"out"), ...]`` (for the index)."""
    sql = (
        "SELECT j.id, io.dataset_id, io.direction FROM jobs j JOIN run_io io ON io.run_id = j.current_run_id "
        "UNION ALL SELECT io.job_id, io.dataset_id, io.direction FROM job_io io "
        "JOIN jobs j ON j.id = io.job_id WHERE j.current_run_id IS NULL"
    )
    edges: dict[int, list[tuple[int, str]]] = defaultdict(list)
    for job, dataset, direction in connection.exec_driver_sql(sql):
        edges[job].append((dataset, direction))
    return edges


def current_edges_of(connection: Connection, jobs: Sequence[int]) -> dict[int, list[tuple[int, str]]]:
    """The current edges of each of ``jobs`` that exists (with no edges if it has none)."""
    placeholder = "%s" if connection.dialect.name == "postgresql" else "?"
    edges: dict[int, list[tuple[int, str]]] = {}
    for chunk in _chunks(jobs):
        sql = f"SELECT id FROM jobs WHERE id IN ({_marks(len(chunk), placeholder)})"
        edges.update((job, []) for (job,) in connection.exec_driver_sql(sql, tuple(chunk)))
    for source, target in SqlEdges(connection).job_edges(sorted(edges)):
        if source.kind == JOB:
            edges[source.id].append((target.id, "out"))
        else:
            edges[target.id].append((source.id, "in"))
    return edges
