"""The lineage graph: traversals (job, dataset, column and run level, now or as of a time), impact
analysis, paths between nodes, and exports to JSON, DOT and Mermaid."""

from __future__ import annotations

from threadline.graph.columns import ColumnGraph, column_lineage
from threadline.graph.impact import Impact, column_impact, impact
from threadline.graph.index import LineageIndex
from threadline.graph.model import DATASET, DIRECTIONS, JOB, Node, Subgraph
from threadline.graph.paths import Path, path
from threadline.graph.runs import RunGraph, run_lineage
from threadline.graph.traverse import lineage

__all__ = [
    "DATASET",
    "DIRECTIONS",
    "JOB",
    "ColumnGraph",
    "Impact",
    "LineageIndex",
    "Node",
    "Path",
    "RunGraph",
    "Subgraph",
    "column_impact",
    "column_lineage",
    "impact",
    "lineage",
    "path",
    "run_lineage",
]
