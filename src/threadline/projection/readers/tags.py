"""Tags: read from ``tags`` facets and from tag changes, changed by appending events to the log.

A tag in OpenLineage's TagsDatasetFacet is a key and a value (and optionally the field it applies to);
a Marquez tag is a name. A tag's *name* is its key when the value says nothing more (empty, ``true`` or
the key again), else ``key:value``.

Tagging goes through the event log like every other fact. A change made through the API is an
operation: :func:`tag_change_event` builds a DatasetEvent (for a dataset or one of its fields) or a
JobEvent whose ``threadline_tag_changes`` facet adds or removes one tag (see
:mod:`threadline.openlineage.tag_changes`), and the ``tag_changes`` projection keeps each tag's latest
change. An entity's tags are then its ``tags`` facet (what a producer says, or the whole set that
earlier versions of threadline wrote) with the changes laid over it: for each tag, whichever of the
two speaks of it later wins (:func:`merge_tags`). So two changes never undo each other unless they
are about the same tag, whatever order they are folded in, on any server or site.

Tag descriptions (Marquez's ``PUT /tags/{tag}``) are DatasetEvents too, on the dataset ``tags/<name>``
of the hidden namespace :data:`~threadline.projection.readers.common.CATALOG_NAMESPACE`, the
description in its ``documentation`` facet: one dataset per tag, so that two descriptions written at
once never overwrite each other.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, String, bindparam, cast, func, select

from threadline.errors import BadRequest
from threadline.openlineage import tag_changes
from threadline.openlineage.tag_changes import ADD, REMOVE, TagChange
from threadline.openlineage.timestamps import format_time, now_micros
from threadline.projection.readers.common import (
    CATALOG_NAMESPACE,
    Page,
    check_page,
    decode_json,
    is_deleted,
)
from threadline.store import schema
from threadline.store.ids import dataset_id
from threadline.store.lookups import batches

PRODUCER = "https://github.com/threadline-dev/threadline"
DATASET_EVENT_SCHEMA = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/DatasetEvent"
JOB_EVENT_SCHEMA = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/JobEvent"
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


# ---- tag changes ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TagState:
    """The latest change of one tag of an entity (from the ``tag_changes`` projection)."""

    field: str | None
    tag: str
    action: str
    value: str
    source: str | None
    stamp: str


def merge_tags(facet_tags: list[Tag], facet_stamp: str | None, changes: Iterable[TagState]) -> list[Tag]:
    """The tags of an entity: its ``tags`` facet (stamped ``facet_stamp``) with ``changes`` laid over.

    For each tag, the later of the facet and the tag's latest change wins: a change after the facet
    adds or removes the tag; a facet written after the change and naming the tag shows it as the facet
    says. A facet that does not name a tag says nothing of it, so it does not undo an addition.
    """
    result = list(facet_tags)
    for change in sorted(changes, key=lambda c: (c.stamp, c.tag)):
        matches = [t for t in result if t.field == change.field and change.tag in (t.name, t.key)]
        said_later = facet_stamp is not None and facet_stamp > change.stamp
        if said_later and any(t.field == change.field and change.tag in (t.name, t.key) for t in facet_tags):
            continue
        if change.action == REMOVE:
            result = [t for t in result if t not in matches]
        elif not matches:
            result.append(Tag(change.tag, change.value, change.source, change.field))
    return result


_changes = schema.tag_changes
_CHANGES_OF = select(
    _changes.c.entity_key,
    _changes.c.field,
    _changes.c.tag,
    _changes.c.action,
    _changes.c.value,
    _changes.c.source,
    _changes.c.stamp,
).where(
    _changes.c.entity_type == bindparam("entity_type"),
    _changes.c.entity_key.in_(bindparam("keys", expanding=True)),
)
_facets = schema.facets
_TAGS_STAMPS = select(_facets.c.entity_key, _facets.c.stamp).where(
    _facets.c.entity_type == bindparam("entity_type"),
    _facets.c.entity_key.in_(bindparam("keys", expanding=True)),
    _facets.c.name == "tags",
)


@dataclass(slots=True)
class TagOverlay:
    """What lies over an entity's ``tags`` facet: the facet's stamp and the latest change of each tag."""

    facet_stamp: str | None = None
    changes: list[TagState] = field(default_factory=list)

    def apply(self, facet_tags: list[Tag]) -> list[Tag]:
        """The entity's tags (see :func:`merge_tags`)."""
        return merge_tags(facet_tags, self.facet_stamp, self.changes) if self.changes else facet_tags


def load_overlays(connection: Connection, entity_type: str, keys: Iterable[str]) -> dict[str, TagOverlay]:
    """The tag changes of each entity that has any, with its ``tags`` facet's stamp (two statements,
    the second only for entities with changes)."""
    found: dict[str, TagOverlay] = {}
    for part in batches(sorted(set(keys))):
        rows = connection.execute(_CHANGES_OF, {"entity_type": entity_type, "keys": list(part)})
        for key, field_name, tag, action, value, source, stamp in rows:
            found.setdefault(key, TagOverlay()).changes.append(
                TagState(field_name or None, tag, action, value, source, stamp)
            )
    for part in batches(sorted(found)):
        stamps = connection.execute(_TAGS_STAMPS, {"entity_type": entity_type, "keys": list(part)})
        for key, stamp in stamps:
            found[key].facet_stamp = stamp
    return found


def tag_change_event(
    kind: str,
    namespace: str,
    name: str,
    changes: list[TagChange],
    *,
    event_time: int | None = None,
) -> bytes:
    """A DatasetEvent (``kind`` ``dataset``) or JobEvent (``job``) carrying ``changes`` (JSON bytes)."""
    facets = {tag_changes.FACET: tag_changes.facet(changes, PRODUCER)}
    when = format_time(event_time if event_time is not None else now_micros())
    doc: dict[str, Any]
    if kind == "job":
        doc = {
            "eventTime": when,
            "producer": PRODUCER,
            "schemaURL": JOB_EVENT_SCHEMA,
            "job": {"namespace": namespace, "name": name, "facets": facets},
        }
    else:
        doc = {
            "eventTime": when,
            "producer": PRODUCER,
            "schemaURL": DATASET_EVENT_SCHEMA,
            "dataset": {"namespace": namespace, "name": name, "facets": facets},
        }
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode()


def tag_change(action: str, tag: str, field: str | None, by: str | None) -> TagChange:
    """One tag change made through the API (``source`` threadline)."""
    if action not in (ADD, REMOVE):
        msg = f"a tag change is {ADD} or {REMOVE}, not {action!r}"
        raise ValueError(msg)
    return TagChange(action, tag, "true", field, TAG_SOURCE, by)  # type: ignore[arg-type]


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
    """A DatasetEvent setting the whole tag set of dataset ``namespace``/``name`` (JSON bytes).

    What threadline wrote for a tag change before changes were operations; still read the same way
    (it is a ``tags`` facet), and useful to set a whole tag set at once.
    """
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
    _count_changes(connection, uses)
    uses = {name: count for name, count in uses.items() if count > 0}
    descriptions = _descriptions(connection)
    names = sorted(uses.keys() | descriptions.keys())
    items = [TagInfo(n, descriptions.get(n), uses.get(n, 0)) for n in names[offset : offset + limit]]
    return Page(items, len(names))


def _count_changes(connection: Connection, uses: dict[str, int]) -> None:
    """Correct the counts of ``tags`` facets for the entities whose tags were changed through the API:
    their facet's names out, their merged tags' names in."""
    for entity_type in ("dataset", "job"):
        keys = connection.scalars(
            select(_changes.c.entity_key).where(_changes.c.entity_type == entity_type).distinct()
        ).all()
        if not keys:
            continue
        overlays = load_overlays(connection, entity_type, keys)
        values: dict[str, Any] = {}
        for part in batches(sorted(overlays)):
            values.update(
                connection.execute(
                    select(_facets.c.entity_key, _facets.c.value).where(
                        _facets.c.entity_type == entity_type,
                        _facets.c.entity_key.in_(list(part)),
                        _facets.c.name == "tags",
                    )
                ).all()
            )
        for key, overlay in overlays.items():
            facet_tags = parse_tags(decode_json(values.get(key)))
            for tag_name in {tag.name for tag in facet_tags}:
                uses[tag_name] = uses.get(tag_name, 0) - 1
            for tag_name in {tag.name for tag in overlay.apply(facet_tags)}:
                uses[tag_name] = uses.get(tag_name, 0) + 1


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
        if isinstance(doc, dict) and not is_deleted(doc):
            found[name.removeprefix(DEFINITION_PREFIX)] = str(doc.get("description") or "")
    return found
