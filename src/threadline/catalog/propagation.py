"""Tag propagation along column lineage, as the catalog shows it: a tag on a column whose template
field is marked ``propagate: downstream`` also applies to every column downstream of it, shown as
*propagated from X via job Y*.

The values are a projection, ``catalog_propagated``, kept by the fold and rebuilt by reindex (the
rules, and how it is kept, are in :mod:`threadline.projection.propagation`); search finds them like
the others (``tag:T.F=v`` answers the entries linking a dataset whose columns hold the value). Here
they are read back in the shape of catalog tags.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Connection

from threadline.graph.nodes import NodeId
from threadline.projection.propagation import BREAKING_SUBTYPES, MAX_DEPTH, propagating_fields, stored_tags
from threadline.store.ids import dataset_id

PROPAGATED = "PROPAGATED"

__all__ = ["BREAKING_SUBTYPES", "MAX_DEPTH", "PROPAGATED", "propagated_tags", "propagating_fields"]


def propagated_tags(
    connection: Connection, node: NodeId, own: list[dict[str, Any]], entry_name: str
) -> list[dict[str, Any]]:
    """The tags that reach the columns of dataset ``node`` from upstream, in the shape of catalog tags
    (source ``PROPAGATED``, with ``propagatedFrom`` and ``via``, the jobs from there to here);
    ``own`` are the entry's own tags, whose values win."""
    if not node.is_dataset:
        return []
    person = {(t.get("template", "").rsplit("/", 1)[-1], t.get("column", "")): t for t in own}
    by_tag: dict[tuple[str, str], dict[str, Any]] = {}
    for row in stored_tags(connection, dataset_id(node.namespace or "", node.name or "")):
        mine = person.get((row.template, row.column_name))
        if mine is not None and row.field in mine.get("fields", {}):
            continue  # a person's value on this column wins
        tag = by_tag.setdefault(
            (row.column_name, row.template),
            {
                "name": f"{entry_name}/tags/propagated:{row.template}@{row.column_name}",
                "template": f"tagTemplates/{row.template}",
                "column": row.column_name,
                "fields": {},
                "source": PROPAGATED,
                "propagatedFrom": {"tag": row.origin_tag, "column": row.origin_column},
                "via": json.loads(row.via),
            },
        )
        tag["fields"][row.field] = json.loads(row.value)
    return list(by_tag.values())
