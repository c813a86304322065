"""The lineage graph the web UI draws: ``GET /api/v1/ui/lineage``.

It walks the graph as ``/api/v1/lineage`` does (same ``nodeId``, ``depth``, ``direction``, ``asOf``)
and answers in a compact shape, with what the canvas shows of each node and nothing more::

    {"graph": [{"id": "job:ns:name", "type": "JOB", "name": …, "namespace": …, "distance": 1,
                "outEdges": ["dataset:…", …],
                "jobType": {"integration": "DBT", "jobType": "MODEL", …},  # jobs: the producer
                "latestRunState": "FAILED",                                # jobs
                "model": false,                                            # datasets
                "fields": [{"name": …, "type": …}],                        # datasets, fields=true
                "more": ["up"],                                            # see below
                "tags": [{"name": "PII", "source": "CATALOG", …}]}, …],   # nodes with tags
     "direction": "both", "depth": 4, "asOf": null,
     "firstEventTime": "2024-05-01T…", "lastEventTime": "2024-05-02T…"}

Marquez's shape carries each node's whole dataset or job: about 2.3 kB a node, 5 MB and over a
second to build and parse for a 2,000-node view. This one is about 0.3 kB a node; the UI asks for
one node's details when it is selected.

``more`` is given for the nodes at the depth limit: the sides (``up``, ``down``) on which the node
has edges the answer does not hold, so the UI offers to expand exactly the nodes that have more.

``tags`` are the node's catalog tags, for its badges: those of the entries that link it and, for a
dataset, of the file-set entries that name it, and those its producers sent
(:func:`threadline.catalog.node_tags.node_tags` says what each holds); nodes without tags have none.

``firstEventTime`` and ``lastEventTime`` are the time span of the whole log (as ``/api/v1/ui/timespan``
gives it): the range of the view's as-of control, so the view needs no second request to draw it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Query
from sqlalchemy import Connection
from starlette.responses import Response

from threadline.catalog.node_tags import LineageNode, node_tags
from threadline.graph.describe import describe
from threadline.graph.edges import SqlEdges
from threadline.graph.model import DATASET, JOB, Edge, Node, Subgraph
from threadline.graph.resolve import resolve_node
from threadline.graph.traverse import lineage
from threadline.openlineage.timestamps import format_time
from threadline.params import DIRECTIONS, NODE_ID_HELP, required
from threadline.projection.readers.common import load_facet
from threadline.projection.readers.datasets import field_types
from threadline.server.api.access import ReadKey, State
from threadline.server.api.models import CompactLineage
from threadline.server.api.params import AsOf, Depth, direction_param, flag_param
from threadline.server.api.routing import new_router, read
from threadline.server.state import ServerState, json_response
from threadline.store.base import Store
from threadline.vocabulary import RunState

router = new_router()

#: The parts of a job's ``jobType`` facet the UI reads (the producer and what the job is).
_JOB_TYPE_KEYS = ("integration", "jobType", "processingType", "_producer")


@dataclass(slots=True)
class LineageQuery:
    """What to walk: from ``node_id``, ``direction``, ``depth`` edges (None: all), as of a time, and
    whether datasets come with their fields."""

    node_id: str
    direction: str
    depth: int | None
    as_of: int | None
    fields: bool


def _node_key(node: Node) -> tuple[str, int]:
    return node.kind, node.id


def _fields_of(connection: Connection, ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    return {
        dataset: [{"name": path, "type": kind} for path, kind in found]
        for dataset, found in field_types(connection, ids).items()
    }


def _beyond(connection: Connection, subgraph: Subgraph, depth: int | None, as_of: int | None) -> dict:
    """The sides (``up``, ``down``) on which each node at the depth limit has edges not in ``subgraph``."""
    if depth is None:
        return {}
    frontier = [node for node, distance in subgraph.distances.items() if distance >= depth]
    if not frontier:
        return {}
    held: set[Edge] = subgraph.edges
    edges = SqlEdges(connection, as_of)
    more: dict[Node, list[str]] = {}
    for side, upstream in (("up", True), ("down", False)):
        for edge in edges.next_to(frontier, upstream=upstream):
            if edge not in held:
                node = edge[1] if upstream else edge[0]
                sides = more.setdefault(node, [])
                if side not in sides:
                    sides.append(side)
    return more


def timespan(connection: Connection, store: Store) -> dict[str, Any]:
    """The times of the first and the last event of the log (``None`` for an empty log)."""
    first, last = store.event_timespan(connection)
    return {"firstEventTime": format_time(first), "lastEventTime": format_time(last)}


def compact_lineage(state: ServerState, connection: Connection, query: LineageQuery) -> dict[str, Any]:
    """The lineage graph of ``query`` in the compact shape of the module docstring."""
    start = resolve_node(connection, query.node_id)
    source = state.lineage_index if query.as_of is None else connection
    subgraph = lineage(source, start, direction=query.direction, depth=query.depth, as_of=query.as_of)
    distances = subgraph.distances
    info = describe(connection, distances)
    job_keys = [str(node.id) for node in info if node.kind == JOB]
    dataset_ids = sorted(node.id for node in info if node.kind == DATASET)
    dataset_keys = [str(i) for i in dataset_ids]
    job_types = load_facet(connection, "job", job_keys, "jobType")
    declared = load_facet(connection, "dataset", dataset_keys, "datasetType")
    artifacts = load_facet(connection, "dataset", dataset_keys, "threadline_artifact")
    fields = _fields_of(connection, dataset_ids) if query.fields else {}
    more = _beyond(connection, subgraph, query.depth, query.as_of)
    tags = node_tags(
        connection,
        [
            LineageNode(d.node_id, "job" if n.kind == JOB else "dataset", str(n.id), d.namespace, d.name)
            for n, d in info.items()
        ],
        as_of=query.as_of,
    )
    outgoing: dict[Node, list[str]] = {}
    # Sorting by plain tuples: the nodes' generated comparisons cost more than the rest of the answer.
    for source_node, target in sorted(subgraph.edges, key=lambda e: (_node_key(e[0]), _node_key(e[1]))):
        if source_node in info and target in info:
            outgoing.setdefault(source_node, []).append(info[target].node_id)
    nodes = []
    for node, distance in sorted(distances.items(), key=lambda item: (item[1], _node_key(item[0]))):
        described = info.get(node)
        if described is None:
            continue
        entry: dict[str, Any] = {
            "id": described.node_id,
            "type": "JOB" if node.kind == JOB else "DATASET",
            "name": described.name,
            "namespace": described.namespace,
            "distance": distance,
            "outEdges": outgoing.get(node, []),
        }
        if node.kind == JOB:
            job_type = job_types.get(str(node.id))
            entry["jobType"] = (
                {key: job_type[key] for key in _JOB_TYPE_KEYS if key in job_type}
                if isinstance(job_type, dict)
                else None
            )
            latest = described.latest_state
            entry["latestRunState"] = RunState.of(latest).value if latest else None
        else:
            kind = (declared.get(str(node.id)) or {}).get("datasetType")
            artifact = (artifacts.get(str(node.id)) or {}).get("kind")
            entry["model"] = str(kind).upper() == "MODEL" or artifact == "model"
            if query.fields:
                entry["fields"] = fields.get(node.id, [])
        if node in more:
            entry["more"] = more[node]
        if described.node_id in tags:
            entry["tags"] = tags[described.node_id]
        nodes.append(entry)
    return {
        "graph": nodes,
        "direction": query.direction,
        "depth": query.depth,
        "asOf": format_time(query.as_of),
        **timespan(connection, state.store),
    }


# ---- the endpoint --------------------------------------------------------------------------------


async def _node_id(node_id: Annotated[str, Query(alias="nodeId", description=NODE_ID_HELP)]) -> str:
    return required(node_id, "nodeId", "a node id such as dataset:<namespace>:<name>")


@router.get("/api/v1/ui/lineage", response_model=CompactLineage)
async def lineage_endpoint(
    _key: ReadKey,
    state: State,
    node_id: Annotated[str, Depends(_node_id)],
    direction: Annotated[str, Depends(direction_param(DIRECTIONS, "both"))],
    depth: Depth,
    as_of: AsOf,
    fields: Annotated[bool, Depends(flag_param("fields", "Datasets with their fields."))],
) -> Response:
    """The lineage graph around ``nodeId`` in a compact shape (see the module docstring)."""
    query = LineageQuery(node_id=node_id, direction=direction, depth=depth, as_of=as_of, fields=fields)
    return json_response(await read(state, lambda connection: compact_lineage(state, connection, query)))
