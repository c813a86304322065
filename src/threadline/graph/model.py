"""The values lineage queries return: nodes, directed edges and the subgraph they form.

A node is a job or a dataset, named by its 64-bit projection id. An edge points the way data flows:
``dataset -> job`` for a job's input, ``job -> dataset`` for its output. A :class:`Subgraph` is the
answer of a traversal: every node reached, with its distance (in edges) from where the traversal
started, and the edges among them that the traversal walked.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

JOB = "job"
DATASET = "dataset"
NodeKind = Literal["job", "dataset"]
#: Which way a traversal walks: against the flow of data, with it, both (each on its own), or
#: undirected (Marquez's neighbourhood: every edge either way, so siblings are reached too).
Direction = Literal["upstream", "downstream", "both", "undirected"]
DIRECTIONS: tuple[str, ...] = ("upstream", "downstream", "both", "undirected")


@dataclass(frozen=True, slots=True, order=True)
class Node:
    """A job or a dataset, by kind and projection id."""

    kind: str
    id: int


Edge = tuple[Node, Node]


class Subgraph:
    """What a traversal reached: each node with its distance from the start, and the edges walked.

    A traversal over the in-memory index answers with arrays; they become :class:`Node` objects only
    when asked for (``distances``, ``edges``, each on its own), so that counting or paging a large
    answer stays cheap.
    """

    def __init__(
        self,
        start: Node,
        distances: dict[Node, int] | None = None,
        edges: set[Edge] | None = None,
        *,
        load_distances: Callable[[], dict[Node, int]] | None = None,
        load_edges: Callable[[], set[Edge]] | None = None,
        size: int | None = None,
    ) -> None:
        self.start = start
        self._distances = distances
        self._edges = edges
        self._load_distances = load_distances
        self._load_edges = load_edges
        self._size = size

    @property
    def distances(self) -> dict[Node, int]:
        """Each node reached and its distance from the start (the start itself at 0)."""
        if self._distances is None:
            self._distances = self._load_distances() if self._load_distances else {self.start: 0}
            self._load_distances = None
        return self._distances

    @property
    def edges(self) -> set[Edge]:
        """The edges walked, each ``(source, target)`` in the direction data flows."""
        if self._edges is None:
            self._edges = self._load_edges() if self._load_edges else set()
            self._load_edges = None
        return self._edges

    def __len__(self) -> int:
        if self._size is not None and self._distances is None:
            return self._size
        return len(self.distances)

    @property
    def nodes(self) -> list[Node]:
        """The nodes, nearest first (then by kind and id, so the order is stable)."""
        distances = self.distances
        return sorted(distances, key=lambda node: (distances[node], node))

    def merge(self, other: Subgraph) -> None:
        """Add ``other``'s nodes (keeping the shorter distance) and edges."""
        distances, edges = self.distances, self.edges
        for node, distance in other.distances.items():
            known = distances.get(node)
            if known is None or distance < known:
                distances[node] = distance
        edges |= other.edges
        self._size = None
