"""Lineage traversals: upstream, downstream, both or undirected, to any depth, now or as of a time.

:func:`lineage` answers from the in-memory :class:`~threadline.graph.index.LineageIndex` when it is
given one and the question is about the current graph; otherwise (a time in the past, or a one-off
command without an index) it walks the projections with SQL, one level per round of queries. Both give
the same answer for the same graph; the test suite holds them to it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from sqlalchemy import Connection

from threadline.errors import BadRequest
from threadline.graph.edges import SqlEdges
from threadline.graph.model import DIRECTIONS, Direction, Edge, Node, Subgraph

if TYPE_CHECKING:  # the index (and numpy) is loaded by what makes one, not by every command
    from threadline.graph.index import LineageIndex

#: Marquez's default depth for ``GET /api/v1/lineage``.
DEFAULT_DEPTH = 20


def check_direction(direction: str) -> Direction:
    """``direction`` if it is one of :data:`DIRECTIONS`, else a clear error."""
    if direction not in DIRECTIONS:
        msg = f"direction must be one of {', '.join(DIRECTIONS)}, got {direction!r}"
        raise BadRequest(msg)
    return direction  # type: ignore[return-value]


def sql_walk(
    connection: Connection,
    start: Node,
    *,
    upstream: bool,
    depth: int | None,
    both_ways: bool = False,
    as_of: int | None = None,
) -> Subgraph:
    """Breadth-first over the projections with SQL (see :func:`LineageIndex.walk` for the arguments)."""
    edges_of = SqlEdges(connection, as_of)
    ways = (True, False) if both_ways else (upstream,)
    distances: dict[Node, int] = {start: 0}
    edges: set[Edge] = set()
    frontier = [start]
    level = 0
    while frontier and (depth is None or level < depth):
        level += 1
        fresh: list[Node] = []
        for up in ways:
            for edge in edges_of.next_to(frontier, upstream=up):
                edges.add(edge)
                far = edge[0] if up else edge[1]
                if far not in distances:
                    distances[far] = level
                    fresh.append(far)
        frontier = fresh
    return Subgraph(start, distances, edges)


def lineage(
    source: LineageIndex | Connection,
    start: Node,
    *,
    direction: str = "both",
    depth: int | None = DEFAULT_DEPTH,
    as_of: int | None = None,
) -> Subgraph:
    """The lineage of ``start``: the nodes ``direction`` of it, at most ``depth`` edges away (``None``:
    unbounded), in the current graph or as of ``as_of`` (microseconds). ``source`` is the in-memory
    index (used for the current graph when it is ready) or a connection (SQL walks)."""
    check_direction(direction)
    if depth is not None and depth < 0:
        msg = f"depth must be 0 or more (or absent for no limit), got {depth}"
        raise BadRequest(msg)
    given = None if isinstance(source, Connection) else source
    graph = given.current() if given is not None and as_of is None else None
    if graph is not None:
        assert given is not None
        index = given

        def walk(*, upstream: bool, both_ways: bool = False) -> Subgraph:
            return index.walk(start, upstream=upstream, depth=depth, both_ways=both_ways, graph=graph)

        return _combine(walk, direction)
    if given is not None:  # a past time, or an index still being built
        with given.store.read() as connection:
            return lineage(connection, start, direction=direction, depth=depth, as_of=as_of)
    assert isinstance(source, Connection)
    connection = source

    def sql(*, upstream: bool, both_ways: bool = False) -> Subgraph:
        return sql_walk(connection, start, upstream=upstream, depth=depth, both_ways=both_ways, as_of=as_of)

    return _combine(sql, direction)


def _combine(walk: Callable[..., Subgraph], direction: str) -> Subgraph:
    if direction == "undirected":
        return walk(upstream=False, both_ways=True)
    if direction == "both":
        answer = walk(upstream=True)
        answer.merge(walk(upstream=False))
        return answer
    return walk(upstream=direction == "upstream")
