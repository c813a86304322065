"""How are two nodes connected: the shortest path from one to the other.

Data flows one way, so the path is looked for downstream of ``source`` first (``target`` depends on
``source``), then upstream (``source`` depends on ``target``); failing both, through undirected edges
(they share an ancestor or a descendant somewhere), which is still an answer worth having.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection

from threadline.graph.edges import SqlEdges
from threadline.graph.model import Edge, Node


@dataclass
class Path:
    """The nodes from ``source`` to ``target`` and the edges between them (in the way data flows)."""

    source: Node
    target: Node
    nodes: list[Node]
    edges: list[Edge]
    #: ``downstream`` (target depends on source), ``upstream`` (source depends on target),
    #: ``undirected``, or ``none`` when they are not connected.
    relation: str


def _search(
    connection: Connection, source: Node, target: Node, ways: tuple[bool, ...], limit: int | None
) -> Path | None:
    edges_of = SqlEdges(connection)
    parent: dict[Node, tuple[Node, Edge] | None] = {source: None}
    frontier = [source]
    level = 0
    while frontier and target not in parent and (limit is None or level < limit):
        level += 1
        fresh: list[Node] = []
        for up in ways:
            for edge in edges_of.next_to(frontier, upstream=up):
                near, far = (edge[1], edge[0]) if up else (edge[0], edge[1])
                if far not in parent:
                    parent[far] = (near, edge)
                    fresh.append(far)
        frontier = sorted(set(fresh))
    if target not in parent:
        return None
    nodes = [target]
    edges: list[Edge] = []
    step = parent[target]
    while step is not None:
        near, edge = step
        nodes.append(near)
        edges.append(edge)
        step = parent[near]
    nodes.reverse()
    edges.reverse()
    return Path(source, target, nodes, edges, "")


def path(connection: Connection, source: Node, target: Node, *, limit: int | None = None) -> Path:
    """The shortest path between ``source`` and ``target`` (see the module docstring for the order)."""
    if source == target:
        return Path(source, target, [source], [], "downstream")
    for relation, ways in (("downstream", (False,)), ("upstream", (True,)), ("undirected", (True, False))):
        found = _search(connection, source, target, ways, limit)
        if found is not None:
            found.relation = relation
            return found
    return Path(source, target, [], [], "none")
