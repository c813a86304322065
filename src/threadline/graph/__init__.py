"""The lineage graph: traversals (job, dataset, column and run level, now or as of a time), impact
analysis, paths between nodes, and exports to JSON, DOT and Mermaid.

The names below are imported on first use (PEP 562): importing a light module of the package, such as
``threadline.graph.nodes`` (node ids, which the catalog and every command use), must not load the
in-memory index and numpy with it (about a tenth of every command's start-up).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from threadline.graph.columns import ColumnGraph, column_lineage
    from threadline.graph.impact import Impact, column_impact, impact
    from threadline.graph.index import LineageIndex
    from threadline.graph.model import DATASET, DIRECTIONS, JOB, Node, Subgraph
    from threadline.graph.paths import Path, path
    from threadline.graph.runs import RunGraph, run_lineage
    from threadline.graph.traverse import lineage

_WHERE = {
    "ColumnGraph": "columns",
    "column_lineage": "columns",
    "Impact": "impact",
    "column_impact": "impact",
    "impact": "impact",
    "LineageIndex": "index",
    "DATASET": "model",
    "DIRECTIONS": "model",
    "JOB": "model",
    "Node": "model",
    "Subgraph": "model",
    "Path": "paths",
    "path": "paths",
    "RunGraph": "runs",
    "run_lineage": "runs",
    "lineage": "traverse",
}

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


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        msg = f"module {__name__!r} has no attribute {name!r}"
        raise AttributeError(msg)
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value
