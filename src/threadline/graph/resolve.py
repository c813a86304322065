"""From a node id as users write it to the node the projections know.

Any spelling of a namespace finds the node (``threadline.openlineage.naming``), and a dataset is also
found by any of its symlink aliases (the table behind a path, the path behind a table). A node that does
not exist is a :class:`NotFound` that names it.
"""

from __future__ import annotations

import difflib

from sqlalchemy import Connection

from threadline.errors import BadRequest, NotFound
from threadline.graph.columns import Column, dataset_fields
from threadline.graph.model import DATASET, JOB, Node
from threadline.graph.nodes import NodeId, namespace_only_hint, parse_node_id
from threadline.openlineage.naming import normalize_namespace
from threadline.store.lineage_sql import lineage_reads

#: How many near names a "no such node" message offers.
SUGGESTIONS = 3


def _no_such(connection: Connection, kind: str, namespace: str, name: str) -> str:
    """ "No dataset X in namespace N", with the nearest existing ids of that kind: the same name in
    another namespace, or a close name (most alike first)."""
    rows = lineage_reads(connection).names("dataset" if kind == "dataset" else "job")
    canonical = normalize_namespace(namespace)
    shown = {space for space, _ in rows}
    same_name = [f"{kind}:{space}:{other}" for space, other in rows if other == name]
    wanted = f"{canonical}:{name}"
    candidates = {f"{space}:{other}": f"{kind}:{space}:{other}" for space, other in rows}
    close = [candidates[key] for key in difflib.get_close_matches(wanted, candidates, SUGGESTIONS, 0.6)]
    if not close:  # a part of a name (`orders` for `analytics.jaffle_shop.orders`) in that namespace
        close = [
            f"{kind}:{space}:{other}"
            for space, other in rows
            if space == canonical and name.lower() in other.lower()
        ][:SUGGESTIONS]
    message = f"no {kind} {name!r} in namespace {namespace!r}"
    if kind == "dataset":
        message += " (nor one with that alias)"
    nearest = list(dict.fromkeys([*same_name, *close]))[:SUGGESTIONS]
    if nearest:
        return f"{message}; did you mean {' or '.join(nearest)}?"
    if not rows:
        return f"{message}; there are no {kind}s yet"
    if canonical not in shown:
        known = sorted(shown)
        listed = ", ".join(known[:8]) + (", …" if len(known) > 8 else "")
        return f"{message}, and no {kind} in that namespace; the {kind}s' namespaces are {listed}"
    return message


def _not_found(connection: Connection, node: NodeId) -> NotFound:
    """The error for a dataset or job id that names nothing the projections know."""
    hint = namespace_only_hint(node)
    if hint is not None:
        return NotFound(f"bad node id {str(node)!r}: {hint}")
    kind = "job" if node.kind == "job" else "dataset"
    assert node.namespace is not None
    assert node.name is not None
    return NotFound(_no_such(connection, kind, node.namespace, node.name))


def resolve_node(connection: Connection, text: str | NodeId) -> Node:
    """The job or dataset named by a node id (``job:ns:name`` or ``dataset:ns:name``)."""
    node = parse_node_id(text) if isinstance(text, str) else text
    assert node.namespace is not None
    assert node.name is not None
    reads = lineage_reads(connection)
    if node.kind == "dataset":
        found = reads.find_dataset(node.namespace, node.name)
        if found is None:
            raise _not_found(connection, node)
        return Node(DATASET, found)
    if node.kind == "job":
        found = reads.find_job(node.namespace, node.name)
        if found is None:
            raise _not_found(connection, node)
        return Node(JOB, found)
    msg = f"{node} is a {node.kind} id; this needs a dataset:… or job:… node id"
    raise BadRequest(msg)


def resolve_column(connection: Connection, text: str | NodeId) -> list[Column]:
    """The columns named by a node id: ``datasetField:ns:dataset:field`` gives that field, and
    ``dataset:ns:name`` every field column lineage knows of the dataset."""
    node = parse_node_id(text) if isinstance(text, str) else text
    if node.kind not in ("dataset", "datasetField"):
        msg = f"{node} is a {node.kind} id; column lineage needs a datasetField:… or dataset:… node id"
        raise BadRequest(msg)
    assert node.namespace is not None
    assert node.name is not None
    found = lineage_reads(connection).find_dataset(node.namespace, node.name)
    if found is None:
        raise _not_found(connection, node)
    if node.kind == "datasetField":
        assert node.field is not None
        return [(found, node.field)]
    return dataset_fields(connection, found)
