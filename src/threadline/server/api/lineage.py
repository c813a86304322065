"""The lineage endpoints: Marquez's ``/api/v1/lineage`` and ``/api/v1/column-lineage``, and more.

``GET /api/v1/lineage`` answers in Marquez's shape (``{"graph": [node, …]}``, each node with ``id``,
``type``, ``data``, ``inEdges``, ``outEdges``), so Marquez's web UI and clients read it unchanged. Asked
as Marquez asks (``nodeId`` and ``depth``), it returns Marquez's undirected neighbourhood; threadline's
extensions are further parameters: ``direction`` (``upstream``, ``downstream``, ``both`` or
``undirected``), ``depth=all`` (no limit), ``asOf`` (the graph as it was then) and ``format`` (``json``,
``dot``, ``mermaid``). Each node also carries its ``distance`` from the node asked about.

Beyond Marquez: ``/api/v1/lineage/impact`` (everything downstream, with latest run states and
owners), ``/api/v1/lineage/path`` (how two nodes connect) and ``/api/v1/lineage/runs`` (run-level
lineage: the exact dataset versions a run read and the runs that made them).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from sqlalchemy import Connection
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from threadline.graph.columns import ColumnGraph, column_lineage
from threadline.graph.describe import dataset_names, describe
from threadline.graph.export import column_view, render, run_view, subgraph_view, to_json
from threadline.graph.impact import column_impact, impact
from threadline.graph.model import DATASET, JOB, Node, Subgraph
from threadline.graph.nodes import NodeId, parse_node_id
from threadline.graph.paths import path
from threadline.graph.resolve import resolve_column, resolve_node
from threadline.graph.runs import run_lineage
from threadline.graph.traverse import lineage
from threadline.openlineage.timestamps import format_time
from threadline.params import ONE_WAY_OR_BOTH, parse_choice, required
from threadline.projection.readers.datasets import (
    current_versions,
    datasets_by_id,
    field_types,
)
from threadline.projection.readers.jobs import jobs_by_id
from threadline.projection.readers.runs import run_labels
from threadline.server.api.access import ReadKey, State
from threadline.server.api.models import (
    DRAWING,
    ERRORS,
    ColumnLineageGraph,
    Impact,
    LineageGraph,
    LineagePath,
    RunLineageGraph,
)
from threadline.server.api.params import (
    AsOf,
    Depth,
    DepthNoLimit,
    Direction,
    Format,
    NodeIdParam,
    RunDepth,
    direction_param,
    flag_param,
    node_param,
)
from threadline.server.api.shapes import dataset_json, job_json
from threadline.server.state import ServerState, json_response
from threadline.store.run_ids import resolve_run_id, short_run_ids
from threadline.vocabulary import RunState

router = APIRouter(responses=ERRORS)

_MEDIA = {"dot": "text/vnd.graphviz; charset=utf-8", "mermaid": "text/plain; charset=utf-8"}


# ---- running ---------------------------------------------------------------------------------------------


async def _run(state: ServerState, work: Any, *args: Any) -> Any:
    """Run ``work(state, connection, *args)`` in a read transaction (the key was checked already)."""

    def call() -> Any:
        with state.store.read() as connection:
            return work(state, connection, *args)

    return await run_in_threadpool(call)


def _text(body: str, fmt: str) -> Response:
    return Response(body, media_type=_MEDIA[fmt])


# ---- node data in Marquez's shape ------------------------------------------------------------------------


def node_data(connection: Connection, nodes: list[Node]) -> dict[Node, dict[str, Any]]:
    """Marquez's ``data`` of each job and dataset node (what ``/namespaces/…/jobs/…`` returns)."""
    datasets = datasets_by_id(connection, [n.id for n in nodes if n.kind == DATASET])
    jobs = jobs_by_id(connection, [n.id for n in nodes if n.kind == JOB], latest=1)
    data = {Node(DATASET, d.id): dataset_json(d) for d in datasets}
    data.update({Node(JOB, j.id): job_json(j) for j in jobs})
    return data


def marquez_graph(connection: Connection, subgraph: Subgraph) -> list[dict[str, Any]]:
    """A subgraph as Marquez's ``graph`` list, nodes nearest first."""
    info = describe(connection, subgraph.distances)
    data = node_data(connection, [node for node in subgraph.distances if node in info])
    ids = {node: info[node].node_id for node in info}
    ins: dict[Node, list[dict[str, str]]] = defaultdict(list)
    outs: dict[Node, list[dict[str, str]]] = defaultdict(list)
    for source, target in sorted(subgraph.edges):
        if source in ids and target in ids:
            edge = {"origin": ids[source], "destination": ids[target]}
            outs[source].append(edge)
            ins[target].append(edge)
    return [
        {
            "id": ids[node],
            "type": "DATASET" if node.kind == DATASET else "JOB",
            "data": data.get(node),
            "inEdges": ins[node],
            "outEdges": outs[node],
            "distance": distance,
        }
        for node, distance in sorted(
            subgraph.distances.items(), key=lambda item: (item[1], ids.get(item[0], ""))
        )
        if node in ids
    ]


# ---- /api/v1/lineage --------------------------------------------------------------------------------------


def _lineage(state: ServerState, connection: Connection, request_args: dict[str, Any]) -> Any:
    start = resolve_node(connection, request_args["node_id"])
    source = state.lineage_index if request_args["as_of"] is None else connection
    subgraph = lineage(
        source,
        start,
        direction=request_args["direction"],
        depth=request_args["depth"],
        as_of=request_args["as_of"],
    )
    if request_args["format"] != "json":
        view = subgraph_view(subgraph, describe(connection, subgraph.distances))
        return render(view, request_args["format"])
    return {
        "graph": marquez_graph(connection, subgraph),
        "direction": request_args["direction"],
        "depth": request_args["depth"],
        "asOf": format_time(request_args["as_of"]),
    }


@router.get("/api/v1/lineage", response_model=LineageGraph, responses=DRAWING)
async def get_lineage(
    _key: ReadKey,
    state: State,
    node_id: NodeIdParam,
    direction: Direction,
    depth: Depth,
    as_of: AsOf,
    fmt: Format,
) -> Response:
    """The lineage graph around ``nodeId`` (see the module docstring for the parameters)."""
    args = {"node_id": node_id, "direction": direction, "depth": depth, "as_of": as_of, "format": fmt}
    answer = await _run(state, _lineage, args)
    return _text(answer, fmt) if isinstance(answer, str) else json_response(answer)


# ---- /api/v1/column-lineage ------------------------------------------------------------------------------


def column_graph_json(connection: Connection, graph: ColumnGraph) -> list[dict[str, Any]]:
    """A column graph in Marquez's ``/column-lineage`` shape (``DATASET_FIELD`` nodes)."""
    ids = sorted({dataset for dataset, _ in graph.distances})
    names = dataset_names(connection, ids)
    types = {
        (dataset, path): kind
        for dataset, found in field_types(connection, ids).items()
        for path, kind in found
    }
    versions = current_versions(connection, ids)

    def node_id(column: tuple[int, str]) -> str:
        namespace, name = names[column[0]]
        return str(NodeId.dataset_field(namespace, name, column[1]))

    inputs: dict[tuple[int, str], list[Any]] = defaultdict(list)
    for edge in graph.edges:
        if edge.source[0] in names and edge.target[0] in names:
            inputs[edge.target].append(edge)
    nodes = []
    for column, distance in sorted(graph.distances.items(), key=lambda item: (item[1], item[0])):
        if column[0] not in names:
            continue
        namespace, name = names[column[0]]
        edges_in = sorted(inputs[column], key=lambda e: (e.source, e.transformation_type or ""))
        first = edges_in[0] if edges_in else None
        nodes.append(
            {
                "id": node_id(column),
                "type": "DATASET_FIELD",
                "data": {
                    "namespace": namespace,
                    "dataset": name,
                    "datasetVersion": versions.get(column[0]),
                    "field": column[1],
                    "fieldType": types.get(column),
                    "transformationDescription": first.description if first else None,
                    "transformationType": first.transformation_type if first else None,
                    "inputFields": [
                        {
                            "namespace": names[e.source[0]][0],
                            "dataset": names[e.source[0]][1],
                            "datasetVersion": versions.get(e.source[0]),
                            "field": e.source[1],
                            "transformationDescription": e.description,
                            "transformationType": e.transformation_type,
                            "transformations": [
                                {
                                    "type": e.transformation_type,
                                    "subtype": e.transformation_subtype,
                                    "description": e.description,
                                    "masking": e.masking,
                                }
                            ],
                        }
                        for e in edges_in
                    ],
                },
                "inEdges": [{"origin": node_id(e.source), "destination": node_id(column)} for e in edges_in],
                "outEdges": sorted(
                    (
                        {"origin": node_id(column), "destination": node_id(e.target)}
                        for e in graph.edges
                        if e.source == column and e.target[0] in names
                    ),
                    key=lambda edge: edge["destination"],
                ),
                "distance": distance,
            }
        )
    return nodes


def _column_lineage(state: ServerState, connection: Connection, args: dict[str, Any]) -> Any:
    columns = resolve_column(connection, args["node_id"])
    direction = args["direction"]
    graph = column_lineage(
        connection,
        columns,
        upstream=direction in ("upstream", "both"),
        downstream=direction in ("downstream", "both"),
        depth=args["depth"],
        as_of=args["as_of"],
    )
    if args["format"] != "json":
        names = dataset_names(connection, sorted({d for d, _ in graph.distances}))
        return render(column_view(graph, names), args["format"])
    return {"graph": column_graph_json(connection, graph), "direction": direction, "depth": args["depth"]}


_COLUMN_DIRECTION = {"enum": list(ONE_WAY_OR_BOTH), "default": "upstream"}


async def _column_direction_or_downstream(
    direction: Annotated[
        str | None,
        Query(description="Which way to walk (default upstream).", json_schema_extra=_COLUMN_DIRECTION),
    ] = None,
    with_downstream: Annotated[
        bool, Depends(flag_param("withDownstream", "Marquez's: downstream too (direction=both)."))
    ] = False,
) -> str:
    default = "both" if with_downstream else "upstream"
    return parse_choice(direction, "direction", ONE_WAY_OR_BOTH, default, "for column lineage")


@router.get("/api/v1/column-lineage", response_model=ColumnLineageGraph, responses=DRAWING)
async def get_column_lineage(
    _key: ReadKey,
    state: State,
    node_id: NodeIdParam,
    direction: Annotated[str, Depends(_column_direction_or_downstream)],
    depth: Depth,
    as_of: AsOf,
    fmt: Format,
) -> Response:
    """Column lineage of ``nodeId`` (a ``datasetField:…`` or ``dataset:…`` id): upstream by default,
    and downstream too with ``withDownstream=true`` (Marquez's parameters), or ``direction=…``."""
    args = {"node_id": node_id, "direction": direction, "depth": depth, "as_of": as_of, "format": fmt}
    answer = await _run(state, _column_lineage, args)
    return _text(answer, fmt) if isinstance(answer, str) else json_response(answer)


# ---- impact, path, runs ------------------------------------------------------------------------------------


def _impact(state: ServerState, connection: Connection, args: dict[str, Any]) -> Any:
    parsed = parse_node_id(args["node_id"])
    if parsed.kind == "datasetField":
        result = column_impact(
            connection, resolve_column(connection, parsed)[0], depth=args["depth"], as_of=args["as_of"]
        )
    else:
        start = resolve_node(connection, parsed)
        index = state.lineage_index if args["as_of"] is None else None
        result = impact(connection, start, index=index, depth=args["depth"], as_of=args["as_of"])
    return {
        "nodeId": args["node_id"],
        "impacted": [
            {
                "id": item.info.node_id,
                "type": item.node.kind,
                "namespace": item.info.namespace,
                "name": item.info.name,
                "distance": item.distance,
                "latestRunState": RunState.of(item.info.latest_state).value
                if item.info.latest_state
                else None,
                "owners": list(item.info.owners),
                **({"fields": list(item.fields)} if item.fields else {}),
            }
            for item in result.impacted
        ],
        "owners": result.owners,
        "failingJobs": [item.info.node_id for item in result.failing],
        "totalCount": len(result.impacted),
    }


@router.get("/api/v1/lineage/impact", response_model=Impact)
async def get_impact(
    _key: ReadKey, state: State, node_id: NodeIdParam, depth: DepthNoLimit, as_of: AsOf
) -> Response:
    """Everything downstream of ``nodeId`` (a dataset, job or dataset field), nearest first."""
    args = {"node_id": node_id, "depth": depth, "as_of": as_of}
    return json_response(await _run(state, _impact, args))


def _path(state: ServerState, connection: Connection, args: dict[str, Any]) -> Any:
    source = resolve_node(connection, args["from"])
    target = resolve_node(connection, args["to"])
    found = path(connection, source, target)
    # Unconnected nodes have an empty path, and are still named in the answer (relation ``none``).
    info = describe(connection, list(dict.fromkeys([source, target, *found.nodes])))
    return {
        "from": info[source].node_id,
        "to": info[target].node_id,
        "relation": found.relation,
        "nodes": [info[node].node_id for node in found.nodes],
        "edges": [{"origin": info[a].node_id, "destination": info[b].node_id} for a, b in found.edges],
    }


@router.get("/api/v1/lineage/path", response_model=LineagePath)
async def get_path(
    _key: ReadKey,
    state: State,
    source: Annotated[str, Depends(node_param("from"))],
    target: Annotated[str, Depends(node_param("to"))],
) -> Response:
    """The shortest path between the nodes ``from`` and ``to``, and how they relate."""
    return json_response(await _run(state, _path, {"from": source, "to": target}))


def _runs(state: ServerState, connection: Connection, args: dict[str, Any]) -> Any:
    run_id = resolve_run_id(connection, args["run_id"])
    direction = args["direction"]
    graph = run_lineage(
        connection,
        run_id,
        upstream=direction in ("upstream", "both"),
        downstream=direction in ("downstream", "both"),
        depth=args["depth"],
        with_children=args["with_children"],
    )
    dataset_ids = sorted({node.dataset_id for node in graph.distances if node.dataset_id is not None})
    names = dataset_names(connection, dataset_ids)
    run_ids = [node.run for node in graph.distances if node.run is not None]
    labels = run_labels(connection, run_ids)
    jobs = {run: job for run, (job, _) in labels.items()}
    states = {run: state for run, (_, state) in labels.items()}
    view = run_view(graph, names, jobs, states, short_run_ids(connection, run_ids))
    if args["format"] != "json":
        return render(view, args["format"])
    answer = {"runId": run_id, "direction": direction, "depth": args["depth"], "graph": to_json(view)}
    if args["with_children"]:
        answer["children"] = len(graph.children)
    return answer


async def _run_id(
    run_id: Annotated[str, Query(alias="runId", description="A run id, or a unique prefix of one.")],
) -> str:
    return required(run_id, "runId", "a run id or a unique prefix of one")


_run_direction = direction_param(ONE_WAY_OR_BOTH, "upstream", "for run lineage")
_with_children = flag_param("withChildren", "Of the run and every run below it (marked child).")


@router.get("/api/v1/lineage/runs", response_model=RunLineageGraph, responses=DRAWING)
async def get_run_lineage(
    _key: ReadKey,
    state: State,
    run_id: Annotated[str, Depends(_run_id)],
    direction: Annotated[str, Depends(_run_direction)],
    depth: RunDepth,
    fmt: Format,
    with_children: Annotated[bool, Depends(_with_children)],
) -> Response:
    """Run-level lineage of ``runId`` (a run id or a unique prefix): ``direction`` upstream (the
    default), downstream or both; ``depth`` in runs (default 10, ``all`` for no limit);
    ``withChildren=true``: of the run and every run below it (a pipeline's or a dbt invocation's
    steps), which are then marked ``child``. Nodes at the depth limit with more beyond it list the
    sides in ``more``."""
    args = {
        "run_id": run_id,
        "direction": direction,
        "depth": depth,
        "format": fmt,
        "with_children": with_children,
    }
    answer = await _run(state, _runs, args)
    return _text(answer, fmt) if isinstance(answer, str) else json_response(answer)
