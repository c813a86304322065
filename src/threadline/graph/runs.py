"""Run-level lineage: the exact dataset versions a run read, and the runs that produced them.

The job graph says which jobs feed which; this says which *run* produced the bytes a run read. Each run
that writes a dataset makes a version of it (``dataset_versions``: the version a producer named with
the ``version`` facet, such as a content hash or a table snapshot id, else the run's id). A run's input
carries the version it read when the producer said so (``run_io.version``); otherwise it read the
version current when the run began: the latest version made at or before the run's first event.

Upstream of a run: its input versions, the runs that made them, their input versions, and so on.
Downstream: the versions it made and the runs that read them, and on. A run that reads and writes
nothing itself (a dbt invocation, an Airflow DAG run, a pipeline) is the sum of its child runs: asked
``with_children``, the walk starts from the run and every run below it. Where the depth limit stops
the walk, ``more`` says which runs have more beyond it (``up``, ``down``).
"""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import Connection

from threadline.errors import BadRequest
from threadline.store.lineage_sql import lineage_reads

#: At most this many runs below a run start a ``with_children`` walk.
MAX_CHILDREN = 500


@dataclass(frozen=True, slots=True, order=True)
class RunNode:
    """A run (``version`` None) or a dataset version (``run`` None) in the run-level graph."""

    run: str | None = None
    dataset_id: int | None = None
    version: str | None = None


@dataclass
class RunGraph:
    """Runs and dataset versions reached from a run, with distances, and the edges walked."""

    start: RunNode
    distances: dict[RunNode, int] = field(default_factory=dict)
    edges: set[tuple[RunNode, RunNode]] = field(default_factory=set)
    #: The runs below the start run the walk also started from (``with_children``).
    children: list[str] = field(default_factory=list)
    #: Runs at the depth limit with more lineage beyond it, and on which sides ("up", "down").
    more: dict[RunNode, set[str]] = field(default_factory=dict)


def _run(run: str) -> RunNode:
    return RunNode(run=run)


def _version(dataset: int, version: str) -> RunNode:
    return RunNode(dataset_id=dataset, version=version)


class _RunEdges:
    """Run-level edges next to given runs and versions."""

    def __init__(self, connection: Connection) -> None:
        self.reads = lineage_reads(connection)

    def _versions_of(self, datasets: Sequence[int]) -> dict[int, list[tuple[int, str, str | None]]]:
        """Every version of ``datasets``: (created_at, version, producing run), oldest first."""
        versions: dict[int, list[tuple[int, str, str | None]]] = defaultdict(list)
        rows = self.reads.dataset_versions(datasets)
        for dataset, created, version, run in sorted(rows, key=lambda r: (r[0], r[1], r[2])):
            versions[dataset].append((created, version, run))
        return versions

    @staticmethod
    def _version_at(versions: list[tuple[int, str, str | None]], when: int) -> str | None:
        """The version current at ``when``: the latest made at or before it."""
        at = bisect_right([created for created, _, _ in versions], when)
        return versions[at - 1][1] if at else None

    def inputs(self, runs: Sequence[str]) -> list[tuple[RunNode, RunNode, str | None]]:
        """``(input version, run, producing run)`` for every input of ``runs``."""
        rows = self.reads.run_inputs(runs)
        versions = self._versions_of(sorted({row[1] for row in rows}))
        answer = []
        for run, dataset, stated, started in rows:
            known = versions.get(dataset, [])
            version = stated if stated is not None else self._version_at(known, started)
            if version is None:
                continue  # read before any version we know of was made
            producer = next((made_by for _, v, made_by in known if v == version), None)
            answer.append((_version(dataset, version), _run(run), producer))
        return answer

    def outputs(self, runs: Sequence[str]) -> list[tuple[RunNode, RunNode]]:
        """``(run, output version)`` for every output of ``runs``."""
        return [
            (_run(run), _version(dataset, version)) for run, dataset, version in self.reads.run_outputs(runs)
        ]

    def descendants(self, run: str, limit: int) -> list[str]:
        """The runs below ``run`` (its children, theirs, …), nearest first, at most ``limit``."""
        found: list[str] = []
        seen = {run}
        frontier = [run]
        while frontier and len(found) < limit:
            children = self.reads.child_runs(frontier)
            frontier = [child for child in children if child not in seen][: limit - len(found)]
            seen.update(frontier)
            found += frontier
        return found

    def readers(self, versions: Sequence[RunNode]) -> list[tuple[RunNode, RunNode]]:
        """``(version, run)`` for every run that read one of ``versions``."""
        datasets = sorted({node.dataset_id for node in versions if node.dataset_id is not None})
        wanted = set(versions)
        history = self._versions_of(datasets)
        rows = self.reads.dataset_readers(datasets)
        answer = []
        for run, dataset, stated, started in rows:
            version = stated if stated is not None else self._version_at(history.get(dataset, []), started)
            if version is None:
                continue
            node = _version(dataset, version)
            if node in wanted:
                answer.append((node, _run(run)))
        return answer


def run_lineage(
    connection: Connection,
    run_id: str,
    *,
    upstream: bool = True,
    downstream: bool = False,
    depth: int | None = 10,
    with_children: bool = False,
) -> RunGraph:
    """The run-level lineage of ``run_id`` (a full run id; resolve prefixes first), ``depth`` runs
    away at most (``None``: unbounded); ``with_children``: of the run and the runs below it."""
    if depth is not None and depth < 0:
        msg = f"depth must be 0 or more (or absent for no limit), got {depth}"
        raise BadRequest(msg)
    edges_of = _RunEdges(connection)
    start = _run(run_id)
    graph = RunGraph(start, {start: 0})
    starts = [run_id]
    if with_children:
        graph.children = edges_of.descendants(run_id, MAX_CHILDREN)
        starts += graph.children
        for child in graph.children:
            graph.distances[_run(child)] = 0
    if upstream:
        frontier, level = list(starts), 0
        while frontier and (depth is None or level < depth):
            level += 1
            fresh: list[str] = []
            for version, run, producer in edges_of.inputs(frontier):
                graph.edges.add((version, run))
                graph.distances.setdefault(version, 2 * level - 1)
                if producer is not None:
                    made_by = _run(producer)
                    graph.edges.add((made_by, version))
                    if made_by not in graph.distances:
                        graph.distances[made_by] = 2 * level
                        fresh.append(producer)
            frontier = fresh
        if frontier:  # stopped by the depth limit: which of the last runs read something not shown
            for version, run, producer in edges_of.inputs(frontier):
                if version not in graph.distances or (producer and _run(producer) not in graph.distances):
                    graph.more.setdefault(run, set()).add("up")
    if downstream:
        frontier, level = list(starts), 0
        while frontier and (depth is None or level < depth):
            level += 1
            made = edges_of.outputs(frontier)
            for run, version in made:
                graph.edges.add((run, version))
                graph.distances.setdefault(version, 2 * level - 1)
            fresh = []
            for version, reader in edges_of.readers([version for _, version in made]):
                graph.edges.add((version, reader))
                if reader not in graph.distances:
                    graph.distances[reader] = 2 * level
                    fresh.append(reader.run)  # type: ignore[arg-type]
            frontier = fresh
        if frontier:
            for run, version in edges_of.outputs(frontier):
                if version not in graph.distances:
                    graph.more.setdefault(run, set()).add("down")
    return graph
