"""Tags: read from ``tags`` facets, changed by appending DatasetEvents to the log.

A tag in OpenLineage's TagsDatasetFacet is a key and a value (and optionally the field it applies to);
a Marquez tag is a name. A tag's *name* is its key when the value says nothing more (empty, ``true`` or
the key again), else ``key:value``.

Tagging goes through the event log like every other fact: :func:`dataset_tags_event` builds a
DatasetEvent whose ``tags`` facet holds the dataset's whole tag set after the change (the facets
projection keeps the latest value of each facet, so the set must be complete). Tag descriptions
(Marquez's ``PUT /tags/{tag}``) are DatasetEvents too, on the dataset ``tags/<name>`` of the hidden
namespace :data:`~threadline.catalog.common.CATALOG_NAMESPACE`, the description in its
``documentation`` facet: one dataset per tag, so that two descriptions written at once never overwrite
each other.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, String, cast, func, select

from threadline.catalog.common import CATALOG_NAMESPACE, Page, check_page, decode_json
from threadline.errors import BadRequest
from threadline.openlineage.timestamps import format_time, now_micros
from threadline.store import schema
from threadline.store.ids import dataset_id

PRODUCER = "https://github.com/threadline-dev/threadline"
DATASET_EVENT_SCHEMA = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/DatasetEvent"
TAGS_FACET_SCHEMA = "https://openlineage.io/spec/facets/1-0-0/TagsDatasetFacet.json#/$defs/TagsDatasetFacet"
DOCUMENTATION_FACET_SCHEMA = (
    "https://openlineage.io/spec/facets/1-0-1/DocumentationDatasetFacet.json#/$defs/DocumentationDatasetFacet"
)
#: The ``source`` of the tags threadline adds.
TAG_SOURCE = "threadline"
#: Dataset names of tag descriptions in the catalog namespace: ``tags/<name>``.
DEFINITION_PREFIX = "tags/"
MAX_TAG_LENGTH = 255


@dataclass(frozen=True, slots=True)
class Tag:
    """One tag of a dataset or job; ``field`` names the column it applies to, if any."""

    key: str
    value: str
    source: str | None = None
    field: str | None = None

    @property
    def name(self) -> str:
        """The tag's Marquez name: the key, or ``key:value`` when the value adds something."""
        if self.value.strip().lower() in ("", "true") or self.value == self.key:
            return self.key
        return f"{self.key}:{self.value}"

    def to_dict(self) -> dict[str, str]:
        """The tag as a TagsDatasetFacet entry."""
        entry = {"key": self.key, "value": self.value}
        if self.source is not None:
            entry["source"] = self.source
        if self.field is not None:
            entry["field"] = self.field
        return entry


@dataclass(frozen=True, slots=True)
class TagInfo:
    """A tag name, its description if one was given, and how many datasets and jobs carry it."""

    name: str
    description: str | None
    uses: int


def check_tag_name(name: str) -> str:
    """``name`` without surrounding spaces; :class:`BadRequest` unless 1 to 255 printable characters."""
    stripped = name.strip()
    if not stripped or len(stripped) > MAX_TAG_LENGTH or any(ch < " " for ch in stripped):
        msg = f"a tag name must be 1 to {MAX_TAG_LENGTH} printable characters, got {name!r}"
        raise BadRequest(msg)
    return stripped


def parse_tags(facet: Any) -> list[Tag]:
    """The tags of a ``tags`` facet value; malformed entries are skipped."""
    if not isinstance(facet, dict) or not isinstance(facet.get("tags"), list):
        return []
    tags = []
    for entry in facet["tags"]:
        if not isinstance(entry, dict) or not isinstance(entry.get("key"), str):
            continue
        value = entry.get("value")
        source = entry.get("source")
        field = entry.get("field")
        tags.append(
            Tag(
                entry["key"],
                value if isinstance(value, str) else "",
                source if isinstance(source, str) else None,
                field if isinstance(field, str) and field else None,
            )
        )
    return tags


def with_tag(tags: list[Tag], name: str, field: str | None = None) -> list[Tag] | None:
    """``tags`` plus tag ``name`` (on ``field``), or ``None`` when it is already there."""
    if any(tag.field == field and name in (tag.name, tag.key) for tag in tags):
        return None
    return [*tags, Tag(name, "true", TAG_SOURCE, field)]


def without_tag(tags: list[Tag], name: str, field: str | None = None) -> list[Tag] | None:
    """``tags`` less every tag called ``name`` (on ``field``), or ``None`` when there is none."""
    kept = [tag for tag in tags if not (tag.field == field and name in (tag.name, tag.key))]
    return None if len(kept) == len(tags) else kept


def _event(namespace: str, name: str, facets: dict[str, Any], event_time: int | None) -> bytes:
    doc = {
        "eventTime": format_time(event_time if event_time is not None else now_micros()),
        "producer": PRODUCER,
        "schemaURL": DATASET_EVENT_SCHEMA,
        "dataset": {"namespace": namespace, "name": name, "facets": facets},
    }
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode()


def dataset_tags_event(
    namespace: str, name: str, tags: Iterable[Tag], *, event_time: int | None = None
) -> bytes:
    """A DatasetEvent setting the whole tag set of dataset ``namespace``/``name`` (JSON bytes)."""
    facet = {"_producer": PRODUCER, "_schemaURL": TAGS_FACET_SCHEMA, "tags": [t.to_dict() for t in tags]}
    return _event(namespace, name, {"tags": facet}, event_time)


def tag_definition_event(name: str, description: str | None, *, event_time: int | None = None) -> bytes:
    """A DatasetEvent recording the description of tag ``name`` (JSON bytes)."""
    facet = {
        "_producer": PRODUCER,
        "_schemaURL": DOCUMENTATION_FACET_SCHEMA,
        "description": description or "",
    }
    return _event(CATALOG_NAMESPACE, DEFINITION_PREFIX + name, {"documentation": facet}, event_time)


def definition_key(name: str) -> str:
    """The facets key of the catalog dataset that describes tag ``name``."""
    return str(dataset_id(CATALOG_NAMESPACE, DEFINITION_PREFIX + name))


def list_tags(connection: Connection, *, limit: int = 100, offset: int = 0) -> Page[TagInfo]:
    """Every tag in use on a dataset, a dataset field or a job, and every described tag, by name.

    Tag names come out of JSON facets, so the whole set is gathered and sorted before the page is cut.
    """
    check_page(limit, offset)
    facets = schema.facets
    uses: dict[str, int] = {}
    # Many entities carry the very same facet value: each distinct value is decoded once.
    rows = connection.execute(
        select(facets.c.value, func.count())
        .where(facets.c.entity_type.in_(("dataset", "job")), facets.c.name == "tags")
        .group_by(facets.c.value)
    )
    for value, count in rows:
        for tag_name in {tag.name for tag in parse_tags(decode_json(value))}:
            uses[tag_name] = uses.get(tag_name, 0) + count
    descriptions = _descriptions(connection)
    names = sorted(uses.keys() | descriptions.keys())
    items = [TagInfo(n, descriptions.get(n), uses.get(n, 0)) for n in names[offset : offset + limit]]
    return Page(items, len(names))


def _descriptions(connection: Connection) -> dict[str, str]:
    """Tag descriptions given through the API, by tag name."""
    datasets, facets = schema.datasets, schema.facets
    rows = connection.execute(
        select(datasets.c.name, facets.c.value)
        .join(
            facets,
            (facets.c.entity_type == "dataset")
            & (facets.c.entity_key == cast(datasets.c.id, String))
            & (facets.c.name == "documentation"),
        )
        .where(datasets.c.namespace == CATALOG_NAMESPACE, datasets.c.name.startswith(DEFINITION_PREFIX))
    )
    found = {}
    for name, value in rows:
        doc = decode_json(value)
        if isinstance(doc, dict) and doc.get("_deleted") is not True:
            found[name.removeprefix(DEFINITION_PREFIX)] = str(doc.get("description") or "")
    return found
