"""The objects of the artifact store that the runs of a store refer to: what garbage collection keeps
and what sync sends along with the events (``threadline gc``, ``threadline push --objects``)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select

from threadline.projection.readers.common import decode_json, is_deleted
from threadline.store import schema

#: Facets whose values name objects of the artifact store.
_OBJECT_FACETS = ("threadline_artifact", "threadline_snapshot", "threadline_environment", "version")
_OBJECT_PREFIX = "blake3:"


def _named_objects(name: str, data: Any) -> list[str]:
    """The object ids a facet's value names."""
    if not isinstance(data, dict) or is_deleted(data):
        return []
    if name == "threadline_artifact":
        return [str(data.get("hash", ""))]
    if name == "version":
        return [str(data.get("datasetVersion", ""))]
    if name == "threadline_environment":
        return [str(data.get("packages_object") or "")]
    return [str(item.get("object", "")) for item in data.get("objects") or () if isinstance(item, dict)]


def referenced_objects(connection: Connection) -> set[str]:
    """Every object id that runs in the store refer to: content ids of dataset versions and run inputs
    and outputs, ``threadline_artifact`` hashes, snapshot objects and package lists (a facet deleted
    since refers to nothing)."""
    ids: set[str] = set()
    for column in (schema.dataset_versions.c.version, schema.run_io.c.version):
        ids.update(connection.scalars(select(column).where(column.like(_OBJECT_PREFIX + "%"))))
    facets = schema.facets
    rows = connection.execute(select(facets.c.name, facets.c.value).where(facets.c.name.in_(_OBJECT_FACETS)))
    for name, value in rows:
        try:
            ids.update(_named_objects(name, decode_json(value)))
        except ValueError:
            continue
    return {value for value in ids if value and value.startswith(_OBJECT_PREFIX)}
