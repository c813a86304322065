"""Impact analysis: everything downstream of a dataset, job or column, and who to tell.

For each node reached: its distance, its kind and names, for jobs the state of their latest run (a
failed job downstream is worth knowing about first), and the owners named by ``ownership`` facets. For
a column, the fields derived from it (at any depth) and the datasets and jobs they belong to.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import Connection

from threadline.graph.columns import Column, column_lineage
from threadline.graph.describe import NodeInfo, describe
from threadline.graph.model import DATASET, JOB, Node, Subgraph
from threadline.graph.traverse import lineage
from threadline.openlineage.versions import EventType

if TYPE_CHECKING:
    from threadline.graph.index import LineageIndex


@dataclass(frozen=True, slots=True)
class Impacted:
    """One node downstream of the start."""

    node: Node
    distance: int
    info: NodeInfo
    fields: tuple[str, ...] = ()


@dataclass
class Impact:
    """What depends on a node: the nodes in order of distance, and the subgraph behind them."""

    start: Node
    impacted: list[Impacted]
    subgraph: Subgraph

    @property
    def owners(self) -> list[str]:
        """Every owner of anything impacted, once each, nearest first."""
        seen: dict[str, None] = {}
        for item in self.impacted:
            for owner in item.info.owners:
                seen.setdefault(owner, None)
        return list(seen)

    @property
    def failing(self) -> list[Impacted]:
        """Impacted jobs whose latest run failed or was aborted."""
        failed = (EventType.FAIL, EventType.ABORT)
        return [item for item in self.impacted if item.info.latest_state in failed]


def impact(
    connection: Connection,
    start: Node,
    *,
    index: LineageIndex | None = None,
    depth: int | None = None,
    as_of: int | None = None,
) -> Impact:
    """Everything downstream of the job or dataset ``start`` (unbounded unless ``depth``)."""
    subgraph = lineage(index or connection, start, direction="downstream", depth=depth, as_of=as_of)
    distances = subgraph.distances
    info = describe(connection, distances)
    impacted = [
        Impacted(node, distance, info[node])
        for node, distance in sorted(distances.items(), key=lambda item: (item[1], item[0]))
        if node != start and node in info
    ]
    return Impact(start, impacted, subgraph)


def column_impact(
    connection: Connection, start: Column, *, depth: int | None = None, as_of: int | None = None
) -> Impact:
    """Everything derived from the column ``start``: the fields, grouped by dataset, and their jobs."""
    graph = column_lineage(connection, [start], upstream=False, downstream=True, depth=depth, as_of=as_of)
    fields: dict[int, dict[str, int]] = {}
    for (dataset, name), distance in graph.distances.items():
        if (dataset, name) != start:
            fields.setdefault(dataset, {})[name] = distance
    jobs = {edge.job_id: graph.distances[edge.target] for edge in graph.edges if edge.job_id is not None}
    nodes = {Node(DATASET, dataset): min(names.values()) for dataset, names in fields.items()}
    nodes.update({Node(JOB, job): distance for job, distance in jobs.items()})
    info = describe(connection, nodes)
    impacted = [
        Impacted(
            node,
            distance,
            info[node],
            tuple(sorted(fields.get(node.id, {}), key=lambda f: fields[node.id][f]))
            if node.kind == DATASET
            else (),
        )
        for node, distance in sorted(nodes.items(), key=lambda item: (item[1], item[0]))
        if node in info
    ]
    origin = Node(DATASET, start[0])
    subgraph = Subgraph(origin, {origin: 0, **nodes}, set())
    return Impact(origin, impacted, subgraph)
