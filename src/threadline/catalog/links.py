"""Where the catalog meets lineage: the lineage node an entry links to, the datasets its file
patterns name, the file-set entries that cover a dataset, and the implicit entry of every dataset and
job that lineage knows (in the system group ``@NAMESPACE``, like Data Catalog's ``@bigquery``).

A ``linkedResource`` is a lineage node id: ``dataset:NAMESPACE:NAME`` or ``job:NAMESPACE:NAME``.
Tags that producers sent in OpenLineage ``tags`` facets show on the linked entry as tags of source
``INTEGRATION``; they are read from lineage, so they never overwrite a person's tags.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select

from threadline.catalog import implicit, reads
from threadline.catalog.globs import dataset_uri, parse_pattern
from threadline.catalog.propagation import propagated_tags
from threadline.errors import BadRequest, NotFound
from threadline.graph.nodes import NodeId, parse_node_id
from threadline.openlineage.catalog_changes import ENTRY, TAG
from threadline.openlineage.naming import normalize_namespace
from threadline.projection.readers.datasets import get_dataset
from threadline.projection.readers.jobs import get_job
from threadline.projection.readers.tags import Tag
from threadline.store import schema

#: How many matching datasets an entry's page lists.
MAX_MATCHES = 500
INTEGRATION = "INTEGRATION"


def linked_node(linked_resource: str | None) -> NodeId | None:
    """The lineage node of a ``linkedResource``, if it names one."""
    if not linked_resource:
        return None
    try:
        node = parse_node_id(linked_resource)
    except Exception:  # any other resource name (a URL of another system) links to no node
        return None
    return node if node.is_dataset or node.is_job else None


def lineage_tags(connection: Connection, node: NodeId) -> list[Tag]:
    """The tags lineage knows for a dataset or job (its ``tags`` facet and Marquez tag changes)."""
    try:
        if node.is_dataset:
            return get_dataset(connection, node.namespace or "", node.name or "").tags
        return get_job(connection, node.namespace or "", node.name or "").tags
    except NotFound:
        return []


def integration_tags(connection: Connection, entry_name: str, node: NodeId | None) -> list[dict[str, Any]]:
    """An entry's tags from producers, in the shape of catalog tags (source ``INTEGRATION``)."""
    if node is None:
        return []
    return [
        {
            "name": f"{entry_name}/tags/integration:{tag.key}" + (f"@{tag.field}" if tag.field else ""),
            "template": "integration",
            "templateDisplayName": "Tag from the producer",
            "fields": {tag.key: {"stringValue": tag.value}},
            **({"column": tag.field} if tag.field else {}),
            "source": INTEGRATION,
            "producerSource": tag.source,
        }
        for tag in lineage_tags(connection, node)
    ]


def matching_datasets(connection: Connection, patterns: list[str]) -> list[str]:
    """The lineage datasets (as node ids) that ``patterns`` name, sorted; at most :data:`MAX_MATCHES`."""
    datasets = schema.datasets
    found: set[str] = set()
    for text in patterns:
        pattern = parse_pattern(text)
        namespace = normalize_namespace(pattern.location)
        prefix = pattern.literal_prefix[len(pattern.location) :].lstrip("/")
        query = select(datasets.c.display_namespace, datasets.c.namespace, datasets.c.name).where(
            datasets.c.namespace == namespace
        )
        if prefix:
            query = query.where(
                datasets.c.name.startswith(prefix, autoescape=True)
                | datasets.c.name.startswith("/" + prefix, autoescape=True)
            )
        for display, canonical, name in connection.execute(query):
            if pattern.matches(dataset_uri(pattern.location, name)):
                found.add(str(NodeId.dataset(display or canonical, name)))
    return sorted(found)[:MAX_MATCHES]


def covering_entries(connection: Connection, namespace: str, name: str) -> list[str]:
    """The entries whose file patterns name the dataset ``namespace``/``name``."""
    names = []
    for record in reads.fileset_entries(connection):
        patterns = (record.body.get("gcsFilesetSpec") or {}).get("filePatterns") or []
        for text in patterns:
            pattern = parse_pattern(text)
            if normalize_namespace(pattern.location) == normalize_namespace(namespace) and pattern.matches(
                dataset_uri(pattern.location, name)
            ):
                names.append(record.name)
                break
    return sorted(names)


def decorate(connection: Connection, record: reads.Record) -> dict[str, Any]:
    """An entry's JSON with what lineage adds under ``threadline``: the linked node, the datasets its
    file patterns name, its producers' tags."""
    doc = record.to_json()
    node = linked_node(record.body.get("linkedResource"))
    extra: dict[str, Any] = {}
    if node is not None:
        extra["linkedNode"] = str(node)
        extra["integrationTags"] = integration_tags(connection, record.name, node)
        if node.is_dataset:
            own = [r.body for r in reads.children_of(connection, TAG, [record.name])]
            extra["propagatedTags"] = propagated_tags(connection, node, own, record.name)
    patterns = (record.body.get("gcsFilesetSpec") or {}).get("filePatterns")
    if patterns:
        extra["matchingDatasets"] = matching_datasets(connection, patterns)
    if extra:
        doc["threadline"] = extra
    return doc


def implicit_entry(connection: Connection, linked_resource: str) -> str:
    """The name of the implicit entry (in ``@NAMESPACE``) of the lineage dataset or job
    ``linked_resource`` names, in any spelling of its namespace or by an alias of the dataset. A 404
    when lineage does not know it, a 400 when it names no dataset or job."""
    node = linked_node(linked_resource)
    if node is None:
        msg = (
            f"{linked_resource!r} names no lineage dataset or job "
            "(a linkedResource is dataset:NAMESPACE:NAME or job:NAMESPACE:NAME)"
        )
        raise BadRequest(msg)
    if node.is_dataset:
        dataset = get_dataset(connection, node.namespace or "", node.name or "")
        return implicit.entry_name(dataset.canonical_namespace, dataset.name)
    job = get_job(connection, node.namespace or "", node.name or "")
    return implicit.entry_name(job.canonical_namespace, job.name, job=True)


def lookup(connection: Connection, linked_resource: str) -> dict[str, Any]:
    """The entry of a lineage dataset or job: a registered one that links it, else its implicit
    entry in the system group ``@NAMESPACE``. A 404 when neither the catalog nor lineage knows it."""
    found = reads.entries_linked_to(connection, linked_resource)
    node = linked_node(linked_resource)
    if node is not None and str(node) != linked_resource:  # the node written another way
        found += reads.entries_linked_to(connection, str(node))
    registered = [record for record in found if not implicit.is_implicit(record.name)]
    if registered:
        return decorate(connection, min(registered, key=lambda record: record.name))
    if node is None:
        msg = (
            f"no entry links {linked_resource!r} "
            "(a linkedResource is dataset:NAMESPACE:NAME or job:NAMESPACE:NAME)"
        )
        raise NotFound(msg)
    name = implicit_entry(connection, linked_resource)
    record = reads.get(connection, ENTRY, name)
    if record is None:  # lineage knows it, the projector has not written its entry yet
        msg = f"{linked_resource} has no entry yet: its entry is written when lineage folds it"
        raise NotFound(msg)
    doc = decorate(connection, record)
    own = linked_node(record.body.get("linkedResource"))  # the dataset as lineage spells it
    if own is not None and own.is_dataset:
        doc["threadline"]["coveringEntries"] = covering_entries(
            connection, own.namespace or "", own.name or ""
        )
    return doc
