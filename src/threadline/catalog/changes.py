"""Planning catalog changes: requests checked against the catalog as it is, turned into events.

:class:`Planner` reads the projected catalog through one connection and keeps the changes it has
planned so far, so a batch (a catalog file, a batch of tags) is checked as a whole: a template created
earlier in the batch can be used by a tag later in it, and a failure anywhere rejects the batch before
anything is written. A change that would leave a resource as it is plans nothing, which makes
``catalog apply`` and repeated writes idempotent.
"""

from __future__ import annotations

import json
from typing import Any, TypeVar

import msgspec
from sqlalchemy import Connection

from threadline.catalog import implicit, reads
from threadline.catalog.model import (
    ENTRY_ID,
    GROUP_ID,
    TEMPLATE_ID,
    Entry,
    EntryGroup,
    Tag,
    TagTemplate,
    check_id,
    decode,
    to_json,
)
from threadline.catalog.validation import check_entry, check_evolution, check_tag, check_template
from threadline.errors import BadRequest, Conflict, NotFound
from threadline.openlineage import catalog_changes
from threadline.openlineage.catalog_changes import (
    DELETE,
    ENTRY,
    GROUP,
    TAG,
    TEMPLATE,
    UPSERT,
    CatalogChange,
)
from threadline.openlineage.timestamps import format_time, now_micros
from threadline.projection.readers.common import CATALOG_NAMESPACE

PRODUCER = "https://github.com/threadline-dev/threadline"
DATASET_EVENT_SCHEMA = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/DatasetEvent"
USER = "USER"

T = TypeVar("T")


def group_name(group_id: str) -> str:
    """``entryGroups/{group_id}``."""
    return f"entryGroups/{group_id}"


def entry_name(group_id: str, entry_id: str) -> str:
    """``entryGroups/{group_id}/entries/{entry_id}``."""
    return f"entryGroups/{group_id}/entries/{entry_id}"


def template_name(template_id: str) -> str:
    """``tagTemplates/{template_id}``."""
    return f"tagTemplates/{template_id}"


def tag_id(template_id: str, column: str) -> str:
    """A tag's id: its template's, with ``@column`` for a column's tag (one tag per template per
    entry or column, so writing again updates it)."""
    return f"{template_id}@{column}" if column else template_id


def template_id_of(template: str) -> str:
    """The template id of ``tagTemplates/x`` (or of ``x``, or a Data Catalog full name)."""
    return template.rsplit("/", 1)[-1]


class Planner:
    """Plans changes against the catalog read through ``connection`` plus the changes planned so far."""

    def __init__(self, connection: Connection, *, by: str | None = None) -> None:
        self.connection = connection
        self.by = by
        self.changes: list[CatalogChange] = []
        self._pending: dict[tuple[str, str], dict[str, Any] | None] = {}
        self._loaded: dict[tuple[str, str], dict[str, Any]] | None = None
        self._loaded_by_template: dict[str, set[str]] | None = None  # the preloaded tags by template
        self._fetched: dict[tuple[str, str], dict[str, Any] | None] = {}
        self._tags_of: set[str] = set()  # entries whose tags were all read (prefetch_tags)
        self._decoded: dict[tuple[str, str], tuple[dict[str, Any], Any]] = {}

    def preload(self) -> None:
        """Read the whole catalog once (for a large batch such as a catalog file), instead of one
        resource at a time."""
        self._loaded = {}
        self._loaded_by_template = None
        for kind in (GROUP, ENTRY, TEMPLATE, TAG):  # lineage's own entries when asked (current)
            records, _ = reads.list_records(self.connection, kind, implicit=False)
            for record in records:
                self._loaded[kind, record.name] = record.body

    # ---- reading through the plan ----------------------------------------------------------------

    def current(self, kind: str, name: str) -> dict[str, Any] | None:
        """The body ``name`` has now, with the changes planned so far; ``None`` if it does not exist."""
        if (kind, name) in self._pending:
            return self._pending[kind, name]
        if self._loaded is not None and (kind == TAG or not implicit.is_implicit(name)):
            return self._loaded.get((kind, name))  # lineage's own entries are read when asked
        if (kind, name) in self._fetched:
            return self._fetched[kind, name]
        if kind == TAG and name.rsplit("/", 2)[0] in self._tags_of:
            return None  # every tag of its entry was read: it has none of this name
        record = reads.get(self.connection, kind, name)
        body = self._fetched[kind, name] = None if record is None else record.body
        return body

    def prefetch_tags(self, entries: list[str]) -> None:
        """Read every tag of the entries ``entries`` at once (for a batch of tags)."""
        wanted = [e for e in dict.fromkeys(entries) if e not in self._tags_of]
        for record in reads.children_of(self.connection, TAG, wanted):
            self._fetched.setdefault((TAG, record.name), record.body)
        self._tags_of.update(wanted)

    def prefetch_batch(self, items: list[Any]) -> None:
        """Read at once what writing a batch of tags (``{"entry", "tag"}`` items) reads: the entries
        and the tags of the names being written (not every tag of those entries)."""
        entries, tags = [], []
        for item in items:
            entry = item.get("entry") if isinstance(item, dict) else None
            tag = item.get("tag") if isinstance(item, dict) else None
            if not isinstance(entry, str):
                continue
            entries.append(entry)
            if isinstance(tag, dict) and isinstance(tag.get("template"), str):
                column = tag.get("column") or ""
                if isinstance(column, str):
                    tags.append(f"{entry}/tags/{tag_id(template_id_of(tag['template']), column)}")
        self.prefetch(ENTRY, entries)
        self.prefetch(TAG, tags)

    def prefetch(self, kind: str, names: list[str]) -> None:
        """Read the resources ``names`` of ``kind`` at once (for a batch), instead of one at a time."""
        wanted = [n for n in dict.fromkeys(names) if (kind, n) not in self._fetched]
        for name in wanted:
            self._fetched[kind, name] = None
        for record in reads.get_many(self.connection, kind, wanted):
            self._fetched[kind, record.name] = record.body

    def _children(self, kind: str, parent: str) -> list[str]:
        if self._loaded is not None:
            names = {n for (k, n) in self._loaded if k == kind and n.rsplit("/", 2)[0] == parent}
        else:
            names = set(reads.child_names(self.connection, kind, parent))
        for (k, name), body in self._pending.items():
            if k == kind and name.rsplit("/", 2)[0] == parent:
                if body is None:
                    names.discard(name)
                else:
                    names.add(name)
        return sorted(names)

    def _template_tags(self, template_id: str) -> list[str]:
        if self._loaded is not None:
            if self._loaded_by_template is None:  # one pass over the preloaded tags for every template
                self._loaded_by_template = {}
                for (k, n), loaded in self._loaded.items():
                    if k == TAG:
                        by = template_id_of(loaded.get("template", ""))
                        self._loaded_by_template.setdefault(by, set()).add(n)
            names = set(self._loaded_by_template.get(template_id, ()))
        else:
            names = set(reads.template_tag_names(self.connection, template_id))
        for (k, name), body in self._pending.items():
            if k == TAG:
                if body is None:
                    names.discard(name)
                elif template_id_of(body.get("template", "")) == template_id:
                    names.add(name)
        return sorted(names)

    def _plan(self, kind: str, name: str, body: dict[str, Any] | None) -> bool:
        before = self.current(kind, name)
        if before == body:
            return False
        action = DELETE if body is None else UPSERT
        self.changes.append(CatalogChange(kind, action, name, body, USER if kind == TAG else None, self.by))  # type: ignore[arg-type]
        self._pending[kind, name] = body
        return True

    def _decode(self, model: type[T], kind: str, name: str, body: dict[str, Any], what: str) -> T:
        """``body`` (the current body of ``name``) as ``model``, decoded once while it stays the same
        (a batch of tags checks each against the same template and often the same entry)."""
        cached = self._decoded.get((kind, name))
        if cached is not None and cached[0] is body:
            return cached[1]
        value = decode(model, body, what)
        self._decoded[kind, name] = (body, value)
        return value

    @staticmethod
    def _writable(group_id: str) -> None:
        """A 400 for a change of a system group or its entries: lineage writes them."""
        if implicit.is_system_group(group_id):
            msg = (
                f"entryGroups/{group_id} is a lineage namespace's system group: its entries are the "
                "datasets and jobs lineage knows, written by lineage; tag them, or register an entry "
                "of your own (in a group of yours) whose linkedResource names the dataset or job"
            )
            raise BadRequest(msg)

    def _require(self, kind: str, name: str, what: str) -> dict[str, Any]:
        body = self.current(kind, name)
        if body is None:
            raise NotFound(reads.missing(self.connection, kind, name, what))
        return body

    @staticmethod
    def _merge(before: dict[str, Any] | None, patch: dict[str, Any], create: bool | None) -> dict[str, Any]:
        """The new body: ``patch`` merged over ``before`` (top-level fields) for an update."""
        if create is False and before is not None:
            return {**before, **patch}
        return patch

    def _check_create(self, kind: str, name: str, create: bool | None, what: str) -> dict[str, Any] | None:
        before = self.current(kind, name)
        if create is True and before is not None:
            msg = f"{what} {name} exists already: update it (PATCH) instead"
            raise Conflict(msg)
        if create is False and before is None:
            raise NotFound(reads.missing(self.connection, kind, name, what))
        return before

    # ---- entry groups ----------------------------------------------------------------------------

    def put_group(self, group_id: str, body: Any, *, create: bool | None = None) -> dict[str, Any]:
        """Create (``create``), update (not ``create``) or set (``None``) an entry group."""
        self._writable(group_id)
        check_id(GROUP_ID, group_id, "entry group id")
        name = group_name(group_id)
        before = self._check_create(GROUP, name, create, "entry group")
        group = decode(EntryGroup, self._merge(before, _plain(body), create), "entry group")
        new = to_json(group)
        self._plan(GROUP, name, new)
        return new

    def delete_group(self, group_id: str, *, force: bool = False) -> None:
        """Delete an entry group; with ``force``, its entries and their tags too."""
        self._writable(group_id)
        name = group_name(group_id)
        self._require(GROUP, name, "entry group")
        entries = self._children(ENTRY, name)
        if entries and not force:
            msg = f"entry group {name} has {len(entries)} entries: delete them first, or use force"
            raise Conflict(msg)
        for entry in entries:
            self._delete_entry(entry)
        self._plan(GROUP, name, None)

    # ---- entries ---------------------------------------------------------------------------------

    def put_entry(
        self, group_id: str, entry_id: str, body: Any, *, create: bool | None = None
    ) -> dict[str, Any]:
        """Create, update or set an entry of an existing group."""
        self._writable(group_id)
        check_id(ENTRY_ID, entry_id, "entry id")
        self._require(GROUP, group_name(group_id), "entry group")
        name = entry_name(group_id, entry_id)
        before = self._check_create(ENTRY, name, create, "entry")
        entry = check_entry(decode(Entry, self._merge(before, _plain(body), create), "entry"))
        new = to_json(entry)
        self._plan(ENTRY, name, new)
        return new

    def delete_entry(self, group_id: str, entry_id: str) -> None:
        """Delete an entry and its tags."""
        self._writable(group_id)
        name = entry_name(group_id, entry_id)
        self._require(ENTRY, name, "entry")
        self._delete_entry(name)

    def _delete_entry(self, name: str) -> None:
        for tag in self._children(TAG, name):
            self._plan(TAG, tag, None)
        self._plan(ENTRY, name, None)

    # ---- tag templates ---------------------------------------------------------------------------

    def put_template(self, template_id: str, body: Any, *, create: bool | None = None) -> dict[str, Any]:
        """Create, update or set a tag template, by Data Catalog's evolution rules."""
        check_id(TEMPLATE_ID, template_id, "tag template id")
        name = template_name(template_id)
        before = self._check_create(TEMPLATE, name, create, "tag template")
        template = check_template(
            decode(TagTemplate, self._merge(before, _plain(body), create), "tag template")
        )
        if before is not None:
            old = decode(TagTemplate, before, "tag template")
            check_evolution(old, template, has_tags=bool(self._template_tags(template_id)))
        new = to_json(template)
        self._plan(TEMPLATE, name, new)
        return new

    def rename_enum_value(self, template_id: str, field_id: str, old: str, new: str) -> dict[str, Any]:
        """Rename one enum value of a field, and the tags that hold it."""
        name = template_name(template_id)
        body = json.loads(json.dumps(self._require(TEMPLATE, name, "tag template")))
        field = body.get("fields", {}).get(field_id)
        values = (((field or {}).get("type") or {}).get("enumType") or {}).get("allowedValues")
        if values is None:
            msg = f"fields.{field_id} of {name} is not an enum field"
            raise BadRequest(msg)
        if not any(v["displayName"] == old for v in values):
            msg = f"fields.{field_id}: {old!r} is not one of its values"
            raise NotFound(msg)
        for value in values:
            if value["displayName"] == old:
                value["displayName"] = new
        # a rename is the one change that takes a value away: checked as a template, not as an evolution
        result = to_json(check_template(decode(TagTemplate, body, "tag template")))
        self._plan(TEMPLATE, name, result)
        for tag in self._template_tags(template_id):
            tag_body = json.loads(json.dumps(self.current(TAG, tag)))
            value = tag_body.get("fields", {}).get(field_id, {}).get("enumValue")
            if value is not None and value.get("displayName") == old:
                value["displayName"] = new
                self._plan(TAG, tag, tag_body)
        return result

    def delete_template(self, template_id: str, *, force: bool = False) -> None:
        """Delete a tag template; one that tags use needs ``force``, which deletes them too."""
        name = template_name(template_id)
        self._require(TEMPLATE, name, "tag template")
        tags = self._template_tags(template_id)
        if tags and not force:
            msg = f"tag template {name} is used by {len(tags)} tags: delete with force to delete them too"
            raise Conflict(msg)
        for tag in tags:
            self._plan(TAG, tag, None)
        self._plan(TEMPLATE, name, None)

    # ---- tags ------------------------------------------------------------------------------------

    def put_tag(
        self, group_id: str, entry_id: str, body: Any, *, create: bool | None = None
    ) -> dict[str, Any]:
        """Write a tag on an entry or one of its columns (writing again updates it)."""
        parent = entry_name(group_id, entry_id)
        entry_body = self._require(ENTRY, parent, "entry")
        tag = decode(Tag, _plain(body, drop=("source",)), "tag")
        if "/" in tag.column or "@" in tag.column:
            msg = f"column {tag.column!r}: a column path has no '/' or '@' (nest with '.': outer.inner)"
            raise BadRequest(msg)
        template_id = template_id_of(tag.template)
        template_body = self.current(TEMPLATE, template_name(template_id))
        if template_body is None:
            msg = reads.missing(self.connection, TEMPLATE, template_name(template_id), "tag template")
            raise BadRequest(f"template: {msg}")
        name = f"{parent}/tags/{tag_id(template_id, tag.column)}"
        before = self.current(TAG, name)
        if create is False and before is None:
            raise NotFound(reads.missing(self.connection, TAG, name, "tag"))
        if create is False and before is not None:  # an update changes the fields given, keeps the rest
            tag = decode(
                Tag,
                {**before, "fields": {**before.get("fields", {}), **_plain(body).get("fields", {})}},
                "tag",
            )
        template = self._decode(
            TagTemplate, TEMPLATE, template_name(template_id), template_body, "tag template"
        )
        entry = self._decode(Entry, ENTRY, parent, entry_body, "entry")
        check_tag(tag, template, entry)
        new = to_json(tag)
        new["template"] = template_name(template_id)
        new["fields"] = {k: _value_only(v) for k, v in sorted(new.get("fields", {}).items())}
        self._plan(TAG, name, new)
        return {"name": name, **new}

    def delete_tag(self, group_id: str, entry_id: str, tag: str) -> None:
        """Delete one tag of an entry."""
        name = f"{entry_name(group_id, entry_id)}/tags/{tag}"
        self._require(TAG, name, "tag")
        self._plan(TAG, name, None)


def _plain(body: Any, drop: tuple[str, ...] = ()) -> dict[str, Any]:
    if not isinstance(body, dict):
        msg = "the body must be a JSON object"
        raise BadRequest(msg)
    return {k: v for k, v in body.items() if k not in drop}


def _value_only(value: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in value.items() if k not in ("displayName", "order")}


#: How many changes one event carries at most (a catalog file or a batch of tags is a few events).
CHANGES_PER_EVENT = 200


def change_events(changes: list[CatalogChange], *, event_time: int | None = None) -> list[bytes]:
    """DatasetEvents of the hidden catalog namespace carrying ``changes`` in order (JSON bytes),
    :data:`CHANGES_PER_EVENT` each, a microsecond apart."""
    start = event_time if event_time is not None else now_micros()
    events = []
    for index in range(0, len(changes), CHANGES_PER_EVENT):
        part = changes[index : index + CHANGES_PER_EVENT]
        doc = {
            "eventTime": format_time(start + index // CHANGES_PER_EVENT),
            "producer": PRODUCER,
            "schemaURL": DATASET_EVENT_SCHEMA,
            "dataset": {
                "namespace": CATALOG_NAMESPACE,
                "name": "catalog/changes",
                "facets": {catalog_changes.FACET: catalog_changes.facet(part, PRODUCER)},
            },
        }
        events.append(msgspec.json.encode(doc))
    return events
