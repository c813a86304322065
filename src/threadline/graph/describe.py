"""What a graph answer needs to be shown: each node's names, latest run state and owners."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import Connection

from threadline.graph.model import DATASET, JOB, Node
from threadline.graph.nodes import NodeId, format_node_id
from threadline.store.lineage_sql import lineage_reads


@dataclass(frozen=True, slots=True)
class NodeInfo:
    """How to show a node: kind, namespace (as first spelled), name, and what is known of its state."""

    kind: str
    namespace: str
    name: str
    canonical_namespace: str
    latest_state: str | None = None
    owners: tuple[str, ...] = field(default_factory=tuple)

    @property
    def node_id(self) -> str:
        """The Marquez-style node id (``dataset:ns:name`` / ``job:ns:name``), display spelling."""
        return format_node_id(NodeId(self.kind, self.namespace, self.name))  # type: ignore[arg-type]


def _owners(value: str | None) -> tuple[str, ...]:
    if not value:
        return ()
    try:
        owners = json.loads(value).get("owners") or []
    except (ValueError, AttributeError):
        return ()
    return tuple(str(owner.get("name")) for owner in owners if isinstance(owner, dict) and owner.get("name"))


def describe(connection: Connection, nodes: Iterable[Node]) -> dict[Node, NodeInfo]:
    """Names (and for jobs the latest run state) of ``nodes``; unknown nodes are left out."""
    reads = lineage_reads(connection)
    wanted = list(nodes)
    jobs = sorted({node.id for node in wanted if node.kind == JOB})
    datasets = sorted({node.id for node in wanted if node.kind == DATASET})
    owners = {
        (kind, int(key)): _owners(value)
        for kind, key, value in reads.ownership_facets([str(i) for i in (*jobs, *datasets)])
        if kind in (JOB, DATASET)
    }
    info: dict[Node, NodeInfo] = {}
    for job, namespace, name, display, state in reads.job_labels(jobs):
        node = Node(JOB, job)
        info[node] = NodeInfo(JOB, display or namespace, name, namespace, state, owners.get((JOB, job), ()))
    for dataset, namespace, name, display in reads.dataset_labels(datasets):
        node = Node(DATASET, dataset)
        info[node] = NodeInfo(
            DATASET, display or namespace, name, namespace, None, owners.get((DATASET, dataset), ())
        )
    return info


def dataset_names(connection: Connection, ids: Iterable[int]) -> dict[int, tuple[str, str]]:
    """``(namespace as first spelled, name)`` of each dataset id that exists."""
    return {
        dataset: (display or namespace, name)
        for dataset, namespace, name, display in lineage_reads(connection).dataset_labels(sorted(set(ids)))
    }
