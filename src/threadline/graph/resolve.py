"""From a node id as users write it to the node the projections know.

Any spelling of a namespace finds the node (``threadline.openlineage.naming``), and a dataset is also
found by any of its symlink aliases (the table behind a path, the path behind a table). A node that does
not exist is a :class:`NotFound` that names it.
"""

from __future__ import annotations

from sqlalchemy import Connection, select

from threadline.errors import BadRequest, NotFound
from threadline.graph.columns import Column, dataset_fields
from threadline.graph.model import DATASET, JOB, Node
from threadline.graph.nodes import NodeId, parse_node_id
from threadline.openlineage.naming import normalize_namespace
from threadline.store import schema
from threadline.store.ids import dataset_id, job_id


def find_dataset(connection: Connection, namespace: str, name: str) -> int | None:
    """The id of dataset ``namespace``/``name``, or of the dataset that name is an alias of."""
    datasets = schema.datasets
    direct = dataset_id(namespace, name)
    if connection.scalar(select(datasets.c.id).where(datasets.c.id == direct)) is not None:
        return direct
    links = schema.dataset_symlinks
    return connection.scalar(
        select(links.c.dataset_id)
        .where(links.c.namespace == normalize_namespace(namespace), links.c.name == name)
        .order_by(links.c.first_seen, links.c.dataset_id)
        .limit(1)
    )


def find_job(connection: Connection, namespace: str, name: str) -> int | None:
    """The id of job ``namespace``/``name`` if it exists."""
    jobs = schema.jobs
    wanted = job_id(namespace, name)
    return connection.scalar(select(jobs.c.id).where(jobs.c.id == wanted))


def resolve_node(connection: Connection, text: str | NodeId) -> Node:
    """The job or dataset named by a node id (``job:ns:name`` or ``dataset:ns:name``)."""
    node = parse_node_id(text) if isinstance(text, str) else text
    assert node.namespace is not None
    assert node.name is not None
    if node.kind == "dataset":
        found = find_dataset(connection, node.namespace, node.name)
        if found is None:
            msg = f"no dataset {node.name!r} in namespace {node.namespace!r} (nor one with that alias)"
            raise NotFound(msg)
        return Node(DATASET, found)
    if node.kind == "job":
        found = find_job(connection, node.namespace, node.name)
        if found is None:
            msg = f"no job {node.name!r} in namespace {node.namespace!r}"
            raise NotFound(msg)
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
    found = find_dataset(connection, node.namespace, node.name)
    if found is None:
        msg = f"no dataset {node.name!r} in namespace {node.namespace!r} (nor one with that alias)"
        raise NotFound(msg)
    if node.kind == "datasetField":
        assert node.field is not None
        return [(found, node.field)]
    return dataset_fields(connection, found)
