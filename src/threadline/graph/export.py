"""Any graph answer as JSON, Graphviz DOT or Mermaid.

A job/dataset subgraph, a column graph and a run graph each become a :class:`GraphView` (labelled nodes
and edges, nodes nearest first), which the three writers render. Labels are escaped for each format,
so a name that holds quotes, brackets or HTML stays text.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from threadline.errors import BadRequest
from threadline.graph.columns import ColumnGraph
from threadline.graph.describe import NodeInfo
from threadline.graph.model import DATASET, JOB, Node, Subgraph
from threadline.graph.nodes import NodeId
from threadline.graph.runs import RunGraph, RunNode
from threadline.vocabulary import RunState

FORMATS = ("json", "dot", "mermaid")


@dataclass(frozen=True)
class ViewNode:
    """A node to draw: its id (a node id string), kind, label and distance from the start."""

    id: str
    kind: str
    label: str
    distance: int
    attributes: dict[str, Any] = field(default_factory=dict, compare=False)


@dataclass(frozen=True, order=True)
class ViewEdge:
    """An edge to draw, from ``source`` to ``target`` (node ids), with an optional label."""

    source: str
    target: str
    label: str | None = None


@dataclass
class GraphView:
    """Nodes (nearest first) and edges, ready to render."""

    nodes: list[ViewNode]
    edges: list[ViewEdge]


def subgraph_view(subgraph: Subgraph, info: dict[Node, NodeInfo]) -> GraphView:
    """The view of a job/dataset subgraph; nodes ``info`` does not know are left out."""
    ids = {node: info[node].node_id for node in subgraph.distances if node in info}
    nodes = [
        ViewNode(
            ids[node],
            node.kind,
            info[node].name,
            distance,
            {
                "namespace": info[node].namespace,
                "name": info[node].name,
                **({"latestState": _state(info[node].latest_state)} if node.kind == JOB else {}),
                **({"owners": list(info[node].owners)} if info[node].owners else {}),
            },
        )
        for node, distance in sorted(subgraph.distances.items(), key=lambda item: (item[1], item[0]))
        if node in ids
    ]
    edges = sorted(
        ViewEdge(ids[source], ids[target])
        for source, target in subgraph.edges
        if source in ids and target in ids
    )
    return GraphView(nodes, edges)


def column_view(graph: ColumnGraph, datasets: dict[int, tuple[str, str]]) -> GraphView:
    """The view of a column graph; ``datasets`` maps dataset ids to (namespace, name)."""

    def node_id(column: tuple[int, str]) -> str | None:
        names = datasets.get(column[0])
        return None if names is None else str(NodeId.dataset_field(names[0], names[1], column[1]))

    nodes = []
    for column, distance in sorted(graph.distances.items(), key=lambda item: (item[1], item[0])):
        identifier = node_id(column)
        if identifier is None:
            continue
        namespace, name = datasets[column[0]]
        label = f"{name}.{column[1]}" if column[1] else f"{name} (whole dataset)"
        nodes.append(
            ViewNode(
                identifier,
                "datasetField",
                label,
                distance,
                {"namespace": namespace, "dataset": name, "field": column[1]},
            )
        )
    edges = []
    for edge in graph.edges:
        source, target = node_id(edge.source), node_id(edge.target)
        if source is not None and target is not None:
            kind = "/".join(part for part in (edge.transformation_type, edge.transformation_subtype) if part)
            edges.append(ViewEdge(source, target, kind or None))
    return GraphView(nodes, sorted(set(edges), key=lambda e: (e.source, e.target, e.label or "")))


def _state(latest: str | None) -> str | None:
    """A job's latest run state as Marquez spells it (``COMPLETED``), or None when it never ran."""
    return RunState.of(latest).value if latest else None


def run_view(
    graph: RunGraph,
    datasets: dict[int, tuple[str, str]],
    jobs: dict[str, str],
    states: dict[str, str | None] | None = None,
    short: dict[str, str] | None = None,
) -> GraphView:
    """The view of a run graph; ``jobs`` maps run ids to their job's name, ``states`` to their state
    (as the projections keep it; shown as Marquez spells it), ``short`` to their short ids
    (``store/run_ids.py``; 8 characters when absent).

    Each node's attributes name its parts (a run's ``job``, ``runId``, ``shortId`` and ``state``; a
    version's ``namespace``, ``name`` and ``version``), ``more`` the sides with lineage beyond the depth
    limit, and ``child`` marks the runs below the start run that the walk started from."""
    short = short or {}
    children = set(graph.children)

    def node_id(node: RunNode) -> str:
        if node.run is not None:
            return f"run:{node.run}"
        namespace, name = datasets.get(node.dataset_id or 0, ("?", str(node.dataset_id)))
        return str(NodeId.dataset(namespace, name, str(node.version)))

    def label(node: RunNode) -> str:
        if node.run is not None:
            return f"{jobs.get(node.run, 'run')} {short.get(node.run, node.run[:8])}"
        _, name = datasets.get(node.dataset_id or 0, ("?", str(node.dataset_id)))
        return f"{name} @ {str(node.version)[:12]}"

    def attributes(node: RunNode) -> dict[str, Any]:
        if node.run is not None:
            found: dict[str, Any] = {
                "job": jobs.get(node.run),
                "runId": node.run,
                "shortId": short.get(node.run, node.run[:8]),
            }
            if states is not None:
                found["state"] = _state(states.get(node.run))
            if node.run in children:
                found["child"] = True
        else:
            namespace, name = datasets.get(node.dataset_id or 0, ("?", str(node.dataset_id)))
            found = {"namespace": namespace, "name": name, "version": node.version}
        if node in graph.more:
            found["more"] = sorted(graph.more[node])
        return found

    nodes = [
        ViewNode(
            node_id(node), "run" if node.run else "datasetVersion", label(node), distance, attributes(node)
        )
        for node, distance in sorted(graph.distances.items(), key=lambda item: (item[1], item[0]))
    ]
    edges = sorted({ViewEdge(node_id(source), node_id(target)) for source, target in graph.edges})
    return GraphView(nodes, edges)


# ---- writers ------------------------------------------------------------------------------------------


def to_json(view: GraphView) -> dict[str, Any]:
    """``{"nodes": [...], "edges": [...]}``."""
    return {
        "nodes": [
            {"id": n.id, "type": n.kind, "label": n.label, "distance": n.distance, **n.attributes}
            for n in view.nodes
        ],
        "edges": [
            {"source": e.source, "target": e.target, **({"label": e.label} if e.label else {})}
            for e in view.edges
        ],
    }


def _dot_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


_DOT_SHAPES = {
    DATASET: "cylinder",
    JOB: "box",
    "datasetField": "ellipse",
    "run": "box",
    "datasetVersion": "cylinder",
}


def to_dot(view: GraphView) -> str:
    """A Graphviz ``digraph``, left to right."""
    lines = ["digraph lineage {", "  rankdir=LR;", '  node [fontname="Helvetica", fontsize=10];']
    for node in view.nodes:
        shape = _DOT_SHAPES.get(node.kind, "ellipse")
        lines.append(f"  {_dot_string(node.id)} [label={_dot_string(node.label)}, shape={shape}];")
    for edge in view.edges:
        label = f" [label={_dot_string(edge.label)}]" if edge.label else ""
        lines.append(f"  {_dot_string(edge.source)} -> {_dot_string(edge.target)}{label};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _mermaid_text(text: str) -> str:
    # Mermaid takes entity codes inside quoted labels; these keep a name from ending the label early.
    replacements = {"&": "#amp;", '"': "#quot;", "<": "#lt;", ">": "#gt;", "\n": " "}
    return "".join(replacements.get(char, char) for char in text)


_MERMAID_SHAPES: dict[str, Callable[[str], str]] = {
    DATASET: lambda label: f'[("{label}")]',
    JOB: lambda label: f'["{label}"]',
    "datasetField": lambda label: f'("{label}")',
    "run": lambda label: f'["{label}"]',
    "datasetVersion": lambda label: f'[("{label}")]',
}


def to_mermaid(view: GraphView) -> str:
    """A Mermaid ``flowchart LR``; node ids become ``n0``, ``n1``, … (the labels carry the names)."""
    short = {node.id: f"n{index}" for index, node in enumerate(view.nodes)}
    lines = ["flowchart LR"]
    for node in view.nodes:
        shape = _MERMAID_SHAPES.get(node.kind, _MERMAID_SHAPES[JOB])
        lines.append(f"  {short[node.id]}{shape(_mermaid_text(node.label))}")
    for edge in view.edges:
        if edge.source in short and edge.target in short:
            arrow = f' -->|"{_mermaid_text(edge.label)}"| ' if edge.label else " --> "
            lines.append(f"  {short[edge.source]}{arrow}{short[edge.target]}")
    return "\n".join(lines) + "\n"


def render(view: GraphView, fmt: str) -> str:
    """``view`` in ``fmt`` (json, dot or mermaid) as text."""
    if fmt == "json":
        return json.dumps(to_json(view), indent=2)
    if fmt == "dot":
        return to_dot(view)
    if fmt == "mermaid":
        return to_mermaid(view)
    msg = f"format must be one of {', '.join(FORMATS)}, got {fmt!r}"
    raise BadRequest(msg)
