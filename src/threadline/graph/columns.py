"""Column-level lineage: which fields a field is derived from, and which fields derive from it.

Column edges come from the ``columnLineage`` facets producers send on output datasets
(``column_lineage`` table): an input field, an output field, the job, and how the input becomes the
output (the transformation type and subtype of the current spec, or the older description form).

**Current edges.** A producer reports the whole column lineage of an output each time; when a job's
SQL changes, some edges stop being reported. So for each output dataset and job, only the edges of the
latest report are current: those last seen when that group was last seen. **As of a time T**, an edge
is shown if it had been reported by T (a report replaced before T still shows: the projections keep when
an edge was first and last seen, not every report).

A field's lineage also includes the dataset-level entries of the facet (``dataset``: inputs that
affect the whole output, such as join or filter columns). They are edges into the output's field
``""`` ("the whole dataset"): walking upstream from any field of a dataset takes them too; walking
downstream reaches the whole dataset and stops there.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import Connection

from threadline.errors import BadRequest
from threadline.store.lineage_reads import ColumnLineageRow
from threadline.store.lineage_sql import lineage_reads

#: A column: (dataset id, field path); field ``""`` is the dataset as a whole.
Column = tuple[int, str]


@dataclass(frozen=True, slots=True)
class ColumnEdge:
    """``source`` (an input field) flows into ``target`` (an output field) through ``job``."""

    source: Column
    target: Column
    transformation_type: str | None
    transformation_subtype: str | None
    description: str | None
    masking: bool | None
    job_id: int | None


@dataclass
class ColumnGraph:
    """The fields a column traversal reached, with their distance, and the edges walked."""

    start: list[Column]
    distances: dict[Column, int] = field(default_factory=dict)
    edges: set[ColumnEdge] = field(default_factory=set)


def _edge(row: ColumnLineageRow) -> ColumnEdge:
    return ColumnEdge(
        source=(row[2], row[3]),
        target=(row[0], row[1]),
        transformation_type=row[4],
        transformation_subtype=row[5],
        description=row[6],
        masking=None if row[7] is None else bool(row[7]),
        job_id=row[8],
    )


class _ColumnEdges:
    """Column edges next to given fields, current or as of a time."""

    def __init__(self, connection: Connection, as_of: int | None) -> None:
        self.reads = lineage_reads(connection)
        self.as_of = as_of

    def _current(self, rows: list[ColumnLineageRow]) -> list[ColumnEdge]:
        if self.as_of is not None:
            return [_edge(row) for row in rows]
        latest = self.reads.latest_column_reports(sorted({row[0] for row in rows}))
        return [_edge(row) for row in rows if row[10] == latest[(row[0], row[8])]]

    def into(self, columns: Sequence[Column]) -> list[ColumnEdge]:
        """Edges whose target is one of ``columns`` (or the whole of its dataset)."""
        wanted = set(columns)
        datasets = sorted({dataset for dataset, _ in columns})
        rows = [
            row
            for row in self.reads.column_edges_into(datasets, self.as_of)
            if (row[0], row[1]) in wanted or row[1] == ""
        ]
        return self._current(rows)

    def out_of(self, columns: Sequence[Column]) -> list[ColumnEdge]:
        """Edges whose source is one of ``columns``."""
        wanted = set(columns)
        datasets = sorted({dataset for dataset, _ in columns})
        rows = [
            row for row in self.reads.column_edges_out_of(datasets, self.as_of) if (row[2], row[3]) in wanted
        ]
        return self._current(rows)


def dataset_fields(connection: Connection, dataset: int) -> list[Column]:
    """Every field of ``dataset`` that column lineage knows, as an output or an input."""
    return sorted((dataset, name) for name in lineage_reads(connection).column_fields(dataset))


def column_lineage(
    connection: Connection,
    start: Sequence[Column],
    *,
    upstream: bool = True,
    downstream: bool = False,
    depth: int | None = 20,
    as_of: int | None = None,
) -> ColumnGraph:
    """The column lineage of the fields ``start``: upstream (where they come from), downstream
    (what derives from them) or both, at most ``depth`` edges away (``None``: unbounded)."""
    if depth is not None and depth < 0:
        msg = f"depth must be 0 or more (or absent for no limit), got {depth}"
        raise BadRequest(msg)
    edges_of = _ColumnEdges(connection, as_of)
    graph = ColumnGraph(list(start), dict.fromkeys(start, 0))
    for up in (True, False):
        if (up and not upstream) or (not up and not downstream):
            continue
        frontier = list(start)
        level = 0
        while frontier and (depth is None or level < depth):
            level += 1
            fresh: list[Column] = []
            for edge in edges_of.into(frontier) if up else edges_of.out_of(frontier):
                graph.edges.add(edge)
                far = edge.source if up else edge.target
                if far not in graph.distances:
                    graph.distances[far] = level
                    if up or far[1] != "":  # downstream stops at "the whole dataset"
                        fresh.append(far)
            frontier = fresh
    return graph
