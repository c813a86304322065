"""Tag propagation along column lineage: a tag on a column whose template field is marked
``propagate: downstream`` also applies to every column downstream of it, shown as *propagated from
X via job Y*.

For a dataset's columns, the column lineage is walked upstream, nearest hop first, until a column
with a tag of such a template is found on an entry linked to that dataset. The walk does not cross a
transformation that masks (``masking: true`` in the column-lineage facet) or aggregates (subtype
``AGGREGATION``). A value a person set on the column itself wins over a propagated one, and the
nearest tagged column wins over those further up.

The walk reads the projections when asked (an entry's page, its tags), so it is always as current
as lineage and the catalog, and reindex has nothing extra to rebuild. Search does not see
propagated tags yet.
"""

from __future__ import annotations

from collections import deque
from typing import Any

from sqlalchemy import Connection, select

from threadline.catalog import reads
from threadline.graph.nodes import NodeId
from threadline.openlineage.catalog_changes import TAG, TEMPLATE
from threadline.store import schema
from threadline.store.ids import dataset_id

PROPAGATED = "PROPAGATED"
#: How many hops upstream a walk goes at most.
MAX_DEPTH = 20
BREAKING_SUBTYPES = ("AGGREGATION",)

_edges = schema.column_lineage
_datasets = schema.datasets
_jobs = schema.jobs


def propagating_fields(connection: Connection) -> dict[str, set[str]]:
    """The templates (by id) with fields that propagate downstream, and those fields."""
    out: dict[str, set[str]] = {}
    for record in reads.list_records(connection, TEMPLATE)[0]:
        fields = {f for f, v in record.body.get("fields", {}).items() if v.get("propagate") == "downstream"}
        if fields:
            out[record.name.rsplit("/", 1)[-1]] = fields
    return out


def _node(connection: Connection, table: Any, kind: str, entity: int | None) -> str | None:
    if entity is None:
        return None
    row = connection.execute(
        select(table.c.display_namespace, table.c.namespace, table.c.name).where(table.c.id == entity)
    ).first()
    if row is None:
        return None
    namespace = row.display_namespace or row.namespace
    return str(NodeId.dataset(namespace, row.name) if kind == "dataset" else NodeId.job(namespace, row.name))


def _column_tags(
    connection: Connection, node: str, templates: dict[str, set[str]]
) -> dict[str, list[tuple[str, dict[str, Any]]]]:
    """The tags of propagating templates on the columns of the entries linked to ``node``: column ->
    [(entry tag name, body)]."""
    found: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    entries = [e.name for e in reads.entries_linked_to(connection, node)]
    for record in reads.children_of(connection, TAG, entries):
        template = record.body.get("template", "").rsplit("/", 1)[-1]
        if record.body.get("column") and template in templates:
            found.setdefault(record.body["column"], []).append((record.name, record.body))
    return found


def propagated_tags(
    connection: Connection, node: NodeId, own: list[dict[str, Any]], entry_name: str
) -> list[dict[str, Any]]:
    """The tags that reach the columns of dataset ``node`` from upstream, in the shape of catalog tags
    (source ``PROPAGATED``, with ``propagatedFrom`` and ``via``, the jobs from there to here);
    ``own`` are the entry's own tags, whose values win."""
    templates = propagating_fields(connection)
    if not templates or not node.is_dataset:
        return []
    start = dataset_id(node.namespace or "", node.name or "")
    columns = sorted(
        set(connection.scalars(select(_edges.c.output_field).where(_edges.c.output_dataset_id == start)))
    )
    person = {(t.get("template", "").rsplit("/", 1)[-1], t.get("column", "")): t for t in own}
    tag_cache: dict[int, dict[str, list[tuple[str, dict[str, Any]]]]] = {}
    out: list[dict[str, Any]] = []
    for column in columns:
        wanted = {(t, f) for t, fields in templates.items() for f in fields}
        values: dict[tuple[str, str], tuple[Any, str, str, list[str], str]] = {}
        queue: deque[tuple[int, str, int, tuple[int | None, ...]]] = deque([(start, column, 0, ())])
        seen = {(start, column)}
        while queue and len(values) < len(wanted):
            dataset, field, depth, path = queue.popleft()
            if depth >= MAX_DEPTH:
                continue
            rows = connection.execute(
                select(
                    _edges.c.input_dataset_id,
                    _edges.c.input_field,
                    _edges.c.job_id,
                    _edges.c.masking,
                    _edges.c.transformation_subtype,
                ).where(_edges.c.output_dataset_id == dataset, _edges.c.output_field == field)
            ).all()
            for source, source_field, job, masking, subtype in rows:
                if (
                    masking
                    or str(subtype or "").upper() in BREAKING_SUBTYPES
                    or (source, source_field) in seen
                ):
                    continue
                seen.add((source, source_field))
                if source not in tag_cache:
                    source_node = _node(connection, _datasets, "dataset", source)
                    tag_cache[source] = (
                        _column_tags(connection, source_node, templates) if source_node else {}
                    )
                for tag_name, body in tag_cache[source].get(source_field, []):
                    template = body["template"].rsplit("/", 1)[-1]
                    for field_id, value in body.get("fields", {}).items():
                        key = (template, field_id)
                        if key in wanted and key not in values:
                            jobs = [_node(connection, _jobs, "job", j) for j in (job, *path)]
                            values[key] = (value, tag_name, source_field, [j for j in jobs if j], template)
                queue.append((source, source_field, depth + 1, (job, *path)))
        by_template: dict[str, dict[str, Any]] = {}
        for (template, field_id), (value, origin, origin_column, via, _) in sorted(values.items()):
            mine = person.get((template, column))
            if mine is not None and field_id in mine.get("fields", {}):
                continue  # a person's value on this column wins
            tag = by_template.setdefault(
                template,
                {
                    "name": f"{entry_name}/tags/propagated:{template}@{column}",
                    "template": f"tagTemplates/{template}",
                    "column": column,
                    "fields": {},
                    "source": PROPAGATED,
                    "propagatedFrom": {"tag": origin, "column": origin_column},
                    "via": via,
                },
            )
            tag["fields"][field_id] = value
        out.extend(by_template.values())
    return out
