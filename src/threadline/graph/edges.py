"""The edges of the lineage graph, read from the projections (through
:class:`~threadline.store.lineage_reads.LineageReads`), now or as of any time.

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

from collections.abc import Sequence

from sqlalchemy import Connection

from threadline.graph.model import DATASET, JOB, Edge, Node
from threadline.openlineage.versions import EventType
from threadline.store.lineage_sql import lineage_reads


def _edge(job: int, dataset: int, direction: str) -> Edge:
    """The edge between a job and a dataset, pointing the way data flows."""
    if direction == "in":
        return Node(DATASET, dataset), Node(JOB, job)
    return Node(JOB, job), Node(DATASET, dataset)


class SqlEdges:
    """Edges next to given nodes, read from the projections (a read transaction's ``connection``): the
    current graph, or the graph as of ``as_of``."""

    def __init__(self, connection: Connection, as_of: int | None = None) -> None:
        self.reads = lineage_reads(connection)
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
            rows = self.reads.current_job_edges(jobs, direction)
            return [_edge(job, dataset, way) for job, dataset, way in rows]
        current = self._current_runs_as_of(jobs, self.as_of)
        job_of = {run: job for job, run in current.items()}
        run_edges = self.reads.run_edges_as_of(list(job_of), self.as_of, direction)
        runless = [job for job in jobs if job not in current]
        job_io = self.reads.job_io_as_of(runless, self.as_of, direction)
        return [_edge(job_of[run], dataset, way) for run, dataset, way in run_edges] + [
            _edge(job, dataset, way) for job, dataset, way in job_io
        ]

    def dataset_edges(self, datasets: Sequence[int], direction: str) -> list[Edge]:
        """The edges from jobs that read (``direction`` ``in``) or write (``out``) ``datasets``."""
        if self.as_of is None:
            rows = self.reads.current_dataset_edges(datasets, direction)
            return [_edge(job, dataset, direction) for job, dataset in rows]
        candidates = self.reads.jobs_touching_as_of(datasets, direction, self.as_of)
        wanted = set(datasets)
        return [
            (source, target)
            for source, target in self.job_edges(sorted(candidates), direction)
            if (source if direction == "in" else target).id in wanted
        ]

    def _current_runs_as_of(self, jobs: Sequence[int], as_of: int) -> dict[int, str]:
        """Each job's current run as of ``as_of``: its latest COMPLETE event's run, else its latest
        event's run (ties broken by event id, as the projector's stamps do)."""
        best: dict[int, tuple[bool, int, str, str]] = {}
        for job, run, state, time, event in self.reads.run_states_as_of(jobs, as_of):
            rank = (state == EventType.COMPLETE, time, event[:16], run)
            if job not in best or rank > best[job]:
                best[job] = rank
        return {job: rank[3] for job, rank in best.items()}
