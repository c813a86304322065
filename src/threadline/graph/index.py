"""The current lineage graph in memory, walked node by node or level by level with array operations.

A server answers lineage questions from this index instead of asking the database one hop at a time:
the graph (every job's current edges, see :mod:`threadline.graph.edges`) is loaded once into two
compressed adjacency arrays (downstream and upstream, CSR). A walk goes node by node while it reaches
few nodes, and then expands a whole level with a few ``numpy`` operations however wide it is.

A server builds the index in a background thread at start (:meth:`LineageIndex.start`), which then
keeps it current; until it is built, or while it is far behind, questions are answered with SQL
(:meth:`LineageIndex.usable`), so no request waits for a build.

It stays current without being rebuilt: the index remembers up to which log sequence number the
projections it read were folded (``log_marks``); it reads the events folded since then, finds the
jobs they name, and re-reads those jobs' edges into a small *overlay* that replaces their edges in the
arrays. When the overlay grows past a share of the graph, the arrays are rebuilt. Every change is made
on a copy and swapped in whole, so a walk never sees a half-applied update.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from threadline.graph.model import DATASET, JOB, Edge, Node, Subgraph
from threadline.store.ids import job_id
from threadline.store.lineage_sql import lineage_reads
from threadline.store.sql import SqlStore

#: Rebuild the arrays when this many jobs have their edges in the overlay (or this share of all jobs).
REBUILD_OVERLAY_JOBS = 2_000
REBUILD_OVERLAY_SHARE = 0.05
#: A walk goes node by node until it has reached this many nodes, then a level at a time with arrays.
ARRAY_WALK_FROM = 2_048
#: A question catches the index up itself when at most this many events were folded since; beyond
#: that the background thread does it, and questions are answered with SQL until it is done.
INLINE_CATCH_UP = 5_000
#: How often the background thread looks for new events (seconds).
KEEPER_INTERVAL = 1.0
#: How long, in a server, a look at the store's projection mark stays good for the next questions
#: (seconds). A look is a database round trip (about 0.5 ms on PostgreSQL, more than a whole walk of
#: a few hundred nodes); the server's own projector calls :meth:`LineageIndex.changed` after each step,
#: so the index is exact for what the server folds, and what other processes fold into a shared store
#: shows at most this much later. Elsewhere (commands, tests) every question looks.
SERVER_MARK_CHECK_SECONDS = 0.25

_EMPTY = np.zeros(0, dtype=np.int64)
log = logging.getLogger(__name__)


def _csr(sources: np.ndarray, targets: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Compressed rows: ``targets[ptr[i]:ptr[i + 1]]`` are the neighbours of ``i``."""
    order = np.argsort(sources, kind="stable")
    counts = np.bincount(sources, minlength=size)
    ptr = np.zeros(size + 1, dtype=np.int64)
    np.cumsum(counts, out=ptr[1:])
    return ptr, targets[order].astype(np.int64)


@dataclass
class _Graph:
    """One immutable state of the index (an update makes a new one)."""

    mark: int
    nodes: list[Node]
    position: dict[Node, int]
    base_size: int
    down_ptr: np.ndarray
    down_idx: np.ndarray
    up_ptr: np.ndarray
    up_idx: np.ndarray
    #: Jobs (positions) whose edges in the arrays are stale: their edges are in the overlay.
    replaced: np.ndarray
    overlay_jobs: dict[int, list[tuple[int, str]]] = field(default_factory=dict)
    extra_down: dict[int, list[int]] = field(default_factory=dict)
    extra_up: dict[int, list[int]] = field(default_factory=dict)
    has_extra: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    #: The same, for walking node by node from Python: zero-copy views and sets.
    replaced_set: frozenset[int] = frozenset()
    extra_nodes: frozenset[int] = frozenset()

    def __post_init__(self) -> None:
        self.down_ptr_view = self.down_ptr.data
        self.down_idx_view = self.down_idx.data
        self.up_ptr_view = self.up_ptr.data
        self.up_idx_view = self.up_idx.data

    @property
    def size(self) -> int:
        return len(self.nodes)

    def edge_count(self) -> int:
        """How many edges the graph has now (arrays minus stale edges, plus the overlay)."""
        stale = int(self.replaced[: self.base_size].sum())
        if stale:
            sources = np.repeat(np.arange(self.base_size), np.diff(self.down_ptr))
            keep = ~self.replaced[sources] & ~self.replaced[self.down_idx]
            base = int(keep.sum())
        else:
            base = len(self.down_idx)
        return base + sum(len(edges) for edges in self.overlay_jobs.values())


class LineageIndex:
    """The current job/dataset graph of a store, in memory; thread-safe."""

    def __init__(self, store: SqlStore, *, mark_check_seconds: float = 0.0) -> None:
        """``mark_check_seconds``: how long a look at the store's mark is trusted (see
        :data:`SERVER_MARK_CHECK_SECONDS`; a process that folds events itself must call
        :meth:`changed` after each fold when this is not 0)."""
        self.store = store
        self.mark_check_seconds = mark_check_seconds
        self._graph: _Graph | None = None
        self._lock = threading.Lock()
        self._keeper: threading.Thread | None = None
        self._stopping = threading.Event()
        self.builds = 0
        #: When the store's mark was last seen equal to the graph's (``time.monotonic``), and how many
        #: times :meth:`changed` was called (a look that raced with a change is not trusted).
        self._fresh_at = float("-inf")
        self._changes = 0

    # ---- keeping it current ---------------------------------------------------------------------

    def graph(self) -> _Graph:
        """The current state, caught up with the store first (however far behind it is)."""
        with self._lock:
            self._refresh()
            assert self._graph is not None
            return self._graph

    def current(self) -> _Graph | None:
        """The current state, caught up with the store, if that is quick: ``None`` while the index
        is not built yet or is more than :data:`INLINE_CATCH_UP` events behind (the background thread
        catches up then; callers walk with SQL meanwhile)."""
        graph = self._graph
        if graph is None:
            return None
        now = time.monotonic()
        if now - self._fresh_at < self.mark_check_seconds:
            return graph
        changes = self._changes
        with self.store.read() as connection:
            mark = self.store.log_mark(connection)
        if mark == graph.mark:
            if changes == self._changes:
                self._fresh_at = now
            return graph
        if mark - graph.mark > INLINE_CATCH_UP or mark < graph.mark:
            return None
        return self.graph()

    def changed(self) -> None:
        """Say that the projections have changed (the server's projector folded events): the next
        question looks at the store's mark again instead of trusting the last look."""
        self._changes += 1
        self._fresh_at = float("-inf")

    def usable(self) -> bool:
        """Whether a walk can use the index now (see :meth:`current`)."""
        return self.current() is not None

    def start(self) -> None:
        """Build the index, then keep it current, in a background thread (a server does this)."""
        if self._keeper is not None:
            return
        self._stopping.clear()
        self._keeper = threading.Thread(target=self._keep, name="threadline-lineage-index", daemon=True)
        self._keeper.start()

    def stop(self) -> None:
        """Stop the background thread."""
        self._stopping.set()
        if self._keeper is not None:
            self._keeper.join(10)
            self._keeper = None

    def _keep(self) -> None:
        while not self._stopping.is_set():
            try:
                self.refresh()
            except Exception:
                log.exception("the lineage index could not be refreshed; walks use SQL meanwhile")
            self._stopping.wait(KEEPER_INTERVAL)

    def refresh(self) -> None:
        """Catch up with the store now."""
        with self._lock:
            self._refresh()

    def _refresh(self) -> None:
        with self.store.read() as connection:
            mark = self.store.log_mark(connection)
            graph = self._graph
            if graph is not None and mark == graph.mark:
                return
            if graph is None or mark < graph.mark:  # first use, or a reindex started over
                self._graph = self._build(connection, mark)
                return
            touched = {job_id(*job) for job in self.store.logged_jobs(connection, graph.mark, mark)}
            overlay = dict(graph.overlay_jobs)
            overlay.update(lineage_reads(connection).current_edges_of(sorted(touched)))
            limit = max(REBUILD_OVERLAY_JOBS, int(REBUILD_OVERLAY_SHARE * graph.base_size))
            if len(overlay) > limit:
                self._graph = self._build(connection, mark)
            else:
                self._graph = self._with_overlay(graph, overlay, mark)

    def _build(self, connection: Any, mark: int) -> _Graph:
        self.builds += 1
        edges = lineage_reads(connection).all_current_edges()
        nodes: list[Node] = []
        position: dict[Node, int] = {}
        sources: list[int] = []
        targets: list[int] = []

        def place(node: Node) -> int:
            found = position.get(node)
            if found is None:
                found = position[node] = len(nodes)
                nodes.append(node)
            return found

        for job, job_edges in edges.items():
            job_at = place(Node(JOB, job))
            for dataset, direction in job_edges:
                dataset_at = place(Node(DATASET, dataset))
                if direction == "in":
                    sources.append(dataset_at)
                    targets.append(job_at)
                else:
                    sources.append(job_at)
                    targets.append(dataset_at)
        size = len(nodes)
        source_array = np.asarray(sources, dtype=np.int64)
        target_array = np.asarray(targets, dtype=np.int64)
        down_ptr, down_idx = _csr(source_array, target_array, size)
        up_ptr, up_idx = _csr(target_array, source_array, size)
        return _Graph(
            mark=mark,
            nodes=nodes,
            position=position,
            base_size=size,
            down_ptr=down_ptr,
            down_idx=down_idx,
            up_ptr=up_ptr,
            up_idx=up_idx,
            replaced=np.zeros(size, dtype=bool),
            has_extra=np.zeros(size, dtype=bool),
        )

    @staticmethod
    def _with_overlay(graph: _Graph, overlay: dict[int, list[tuple[int, str]]], mark: int) -> _Graph:
        nodes = list(graph.nodes)
        position = dict(graph.position)

        def place(node: Node) -> int:
            found = position.get(node)
            if found is None:
                found = position[node] = len(nodes)
                nodes.append(node)
            return found

        extra_down: dict[int, list[int]] = {}
        extra_up: dict[int, list[int]] = {}
        replaced_jobs = []
        for job, job_edges in overlay.items():
            job_at = place(Node(JOB, job))
            replaced_jobs.append(job_at)
            for dataset, direction in job_edges:
                dataset_at = place(Node(DATASET, dataset))
                source, target = (dataset_at, job_at) if direction == "in" else (job_at, dataset_at)
                extra_down.setdefault(source, []).append(target)
                extra_up.setdefault(target, []).append(source)
        replaced = np.zeros(len(nodes), dtype=bool)
        replaced[replaced_jobs] = True
        has_extra = np.zeros(len(nodes), dtype=bool)
        has_extra[list(extra_down.keys() | extra_up.keys())] = True
        return _Graph(
            mark=mark,
            nodes=nodes,
            position=position,
            base_size=graph.base_size,
            down_ptr=graph.down_ptr,
            down_idx=graph.down_idx,
            up_ptr=graph.up_ptr,
            up_idx=graph.up_idx,
            replaced=replaced,
            overlay_jobs=overlay,
            extra_down=extra_down,
            extra_up=extra_up,
            has_extra=has_extra,
            replaced_set=frozenset(replaced_jobs),
            extra_nodes=frozenset(extra_down.keys() | extra_up.keys()),
        )

    # ---- walking it ---------------------------------------------------------------------------------

    def walk(
        self,
        start: Node,
        *,
        upstream: bool,
        depth: int | None = None,
        both_ways: bool = False,
        graph: _Graph | None = None,
    ) -> Subgraph:
        """Breadth-first from ``start`` against (``upstream``) or with the flow of data, at most
        ``depth`` edges away (``None``: no limit); ``both_ways`` follows every edge either way.

        A walk starts node by node in Python (cheapest while it reaches few nodes) and switches to
        whole levels of array operations once it has reached :data:`ARRAY_WALK_FROM` nodes. ``graph``
        is the state to walk (from :meth:`current`); by default the index catches up first.
        """
        graph = graph or self.graph()
        begin = graph.position.get(start)
        if begin is None:
            return Subgraph(start, {start: 0}, set())
        ways = (True, False) if both_ways else (upstream,)
        small = _small_walk(graph, begin, ways, depth)
        distances, pairs, frontier, level = small
        nodes = graph.nodes
        if frontier is None:
            return Subgraph(
                start,
                load_distances=lambda: {nodes[p]: d for p, d in distances.items()},
                load_edges=lambda: {(nodes[a], nodes[b]) for a, b in set(pairs)},
                size=len(distances),
            )
        visited = np.zeros(graph.size, dtype=bool)
        known = np.fromiter(distances.keys(), dtype=np.int64, count=len(distances))
        visited[known] = True
        reached = [known]
        levels = [np.fromiter(distances.values(), dtype=np.int32, count=len(distances))]
        edge_sources = [np.fromiter((a for a, _ in pairs), dtype=np.int64, count=len(pairs))]
        edge_targets = [np.fromiter((b for _, b in pairs), dtype=np.int64, count=len(pairs))]
        while frontier.size and (depth is None or level < depth):
            level += 1
            found: list[np.ndarray] = []
            for up in ways:
                near, far = _expand(graph, frontier, up)
                found.append(far)
                # Edges are kept the way data flows: upstream, the far node is the source.
                edge_sources.append(far if up else near)
                edge_targets.append(near if up else far)
            candidates = np.concatenate(found) if len(found) > 1 else found[0]
            fresh = np.unique(candidates[~visited[candidates]])
            visited[fresh] = True
            reached.append(fresh)
            levels.append(np.full(fresh.size, level, dtype=np.int32))
            frontier = fresh
        positions = np.concatenate(reached)
        distances_array = np.concatenate(levels)
        sources = np.concatenate(edge_sources)
        targets = np.concatenate(edge_targets)

        def load_distances() -> dict[Node, int]:
            return dict(zip([nodes[p] for p in positions.tolist()], distances_array.tolist(), strict=True))

        def load_edges() -> set[Edge]:
            return {
                (nodes[a], nodes[b]) for a, b in set(zip(sources.tolist(), targets.tolist(), strict=True))
            }

        return Subgraph(start, load_distances=load_distances, load_edges=load_edges, size=int(positions.size))

    def status(self) -> dict[str, object]:
        """What the index holds now, without building or refreshing it (``GET /api/v1/health``):
        ``ready`` is false while the first build runs (walks use SQL meanwhile)."""
        graph = self._graph
        if graph is None:
            return {"ready": False, "builds": self.builds}
        return {"ready": True, "nodes": graph.size, "mark": graph.mark, "builds": self.builds}

    def stats(self) -> dict[str, int]:
        """Sizes, for health and benchmarks."""
        graph = self.graph()
        return {
            "nodes": graph.size,
            "edges": graph.edge_count(),
            "overlayJobs": len(graph.overlay_jobs),
            "mark": graph.mark,
            "builds": self.builds,
        }


def _small_walk(
    graph: _Graph, begin: int, ways: tuple[bool, ...], depth: int | None
) -> tuple[dict[int, int], list[tuple[int, int]], np.ndarray | None, int]:
    """The start of a walk, node by node: distances and edges (positions), and, when the walk grew
    past :data:`ARRAY_WALK_FROM` nodes, the frontier and level to go on from with arrays."""
    distances = {begin: 0}
    pairs: list[tuple[int, int]] = []
    frontier = [begin]
    level = 0
    base_size, replaced, extra_nodes = graph.base_size, graph.replaced_set, graph.extra_nodes
    lists = {
        True: (graph.up_ptr_view, graph.up_idx_view, graph.extra_up),
        False: (graph.down_ptr_view, graph.down_idx_view, graph.extra_down),
    }
    while frontier and (depth is None or level < depth):
        level += 1
        fresh: list[int] = []
        for up in ways:
            ptr, idx, extra = lists[up]
            for node in frontier:
                if node < base_size and node not in replaced:
                    for far in idx[ptr[node] : ptr[node + 1]]:
                        if far in replaced:
                            continue  # a replaced job's edges in the arrays are stale
                        pairs.append((far, node) if up else (node, far))
                        if far not in distances:
                            distances[far] = level
                            fresh.append(far)
                if node in extra_nodes:
                    for far in extra.get(node, ()):
                        pairs.append((far, node) if up else (node, far))
                        if far not in distances:
                            distances[far] = level
                            fresh.append(far)
        frontier = fresh
        if len(distances) >= ARRAY_WALK_FROM and frontier:
            return distances, pairs, np.asarray(frontier, dtype=np.int64), level
    return distances, pairs, None, level


def _expand(graph: _Graph, frontier: np.ndarray, upstream: bool) -> tuple[np.ndarray, np.ndarray]:
    """Every edge from ``frontier`` one step on: ``(frontier end, far end)`` position arrays."""
    ptr, idx, extra = (
        (graph.up_ptr, graph.up_idx, graph.extra_up)
        if upstream
        else (graph.down_ptr, graph.down_idx, graph.extra_down)
    )
    replaced = graph.replaced
    base = frontier[(frontier < graph.base_size)]
    base = base[~replaced[base]]  # a replaced job's edges in the arrays are stale
    starts = ptr[base]
    counts = ptr[base + 1] - starts
    total = int(counts.sum())
    if total:
        offsets = np.repeat(starts - np.cumsum(counts) + counts, counts) + np.arange(total)
        far = idx[offsets]
        near = np.repeat(base, counts)
        keep = ~replaced[far]  # ... and so are edges to it
        near, far = near[keep], far[keep]
    else:
        near = far = _EMPTY
    if extra:
        with_extra = frontier[graph.has_extra[frontier]]
        if with_extra.size:
            extra_near: list[int] = []
            extra_far: list[int] = []
            for node in with_extra.tolist():
                for other in extra.get(node, ()):
                    extra_near.append(node)
                    extra_far.append(other)
            if extra_near:
                near = np.concatenate([near, np.asarray(extra_near, dtype=np.int64)])
                far = np.concatenate([far, np.asarray(extra_far, dtype=np.int64)])
    return near, far
