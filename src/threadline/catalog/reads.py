"""Reading the projected catalog: one resource, a list of them, a resource's history, and the
catalog as of any time (folded from ``catalog_history``, as lineage's as-of folds events)."""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import msgspec
from sqlalchemy import Connection, Text, and_, any_, bindparam, func, or_, select
from sqlalchemy.dialects import postgresql

from threadline.openlineage.catalog_changes import DELETE, ENTRY, GROUP, TAG, TEMPLATE
from threadline.openlineage.timestamps import format_time
from threadline.store import schema

_objects = schema.catalog_objects
_decode = msgspec.json.Decoder(dict).decode
_history = schema.catalog_history
#: The ``source`` of the rows of lineage's own groups and entries (``projection.implicit_entries``).
LINEAGE_SOURCE = "LINEAGE"


@dataclass(frozen=True, slots=True)
class Record:
    """A catalog resource as last changed (at or before the time asked)."""

    kind: str
    name: str
    body: dict[str, Any]
    created_at: int
    changed_at: int
    changed_by: str | None
    source: str | None
    stamp: str

    def to_json(self) -> dict[str, Any]:
        """The resource's Data Catalog v1 JSON with its name and times."""
        doc = {"name": self.name, **self.body}
        if self.kind == TAG:
            if self.source:
                doc["source"] = self.source
            return doc
        doc["dataCatalogTimestamps"] = {
            "createTime": format_time(self.created_at),
            "updateTime": format_time(self.changed_at),
        }
        return doc


def _record(row: Any) -> Record:
    return Record(
        row.kind,
        row.name,
        _decode(row.body),
        row.created_at,
        row.changed_at,
        row.changed_by,
        row.source,
        row.stamp,
    )


_COLUMNS = (
    _objects.c.kind,
    _objects.c.name,
    _objects.c.body,
    _objects.c.created_at,
    _objects.c.changed_at,
    _objects.c.changed_by,
    _objects.c.source,
    _objects.c.stamp,
)


def get(connection: Connection, kind: str, name: str, *, as_of: int | None = None) -> Record | None:
    """The resource ``name`` of ``kind``; ``None`` when it does not exist (or was deleted)."""
    if as_of is not None:
        found = _fold_history(connection, kind, as_of, names=[name])
        return found.get(name)
    row = connection.execute(
        select(*_COLUMNS).where(
            _objects.c.kind == kind, _objects.c.name == name, _objects.c.deleted.is_(False)
        )
    ).first()
    return None if row is None else _record(row)


#: The live resources of a kind among an array of names (PostgreSQL).
_AMONG = select(*_COLUMNS).where(
    _objects.c.kind == bindparam("kind"),
    _objects.c.name == any_(bindparam("names", type_=postgresql.ARRAY(Text))),
    _objects.c.deleted.is_(False),
)


def get_many(connection: Connection, kind: str, names: list[str]) -> Iterator[Record]:
    """The live resources of ``kind`` among ``names`` (those that exist), a few queries in all.

    On PostgreSQL the names are one array parameter (``= ANY``): an ``IN`` list of 500 is rendered by
    SQLAlchemy and parsed by psycopg for each statement, 20 of the 75 ms that reading the entries and
    tags of a 1,000-tag ``tags:batch`` took."""
    if connection.dialect.name == "postgresql":
        if names:
            yield from (_record(r) for r in connection.execute(_AMONG, {"kind": kind, "names": names}))
        return
    for start in range(0, len(names), 500):
        rows = connection.execute(
            select(*_COLUMNS).where(
                _objects.c.kind == kind,
                _objects.c.name.in_(names[start : start + 500]),
                _objects.c.deleted.is_(False),
            )
        )
        yield from (_record(r) for r in rows)


def children_of(connection: Connection, kind: str, parents: list[str]) -> Iterator[Record]:
    """The live resources of ``kind`` under any of ``parents``, a few queries in all."""
    for start in range(0, len(parents), 500):
        rows = connection.execute(
            select(*_COLUMNS).where(
                _objects.c.kind == kind,
                _objects.c.parent.in_(parents[start : start + 500]),
                _objects.c.deleted.is_(False),
            )
        )
        yield from (_record(r) for r in rows)


def list_records(
    connection: Connection,
    kind: str,
    *,
    parent: str | None = None,
    limit: int | None = None,
    offset: int = 0,
    as_of: int | None = None,
    implicit: bool = True,
) -> tuple[list[Record], int]:
    """Resources of ``kind`` (under ``parent``) by name, a page of them and how many there are.
    ``implicit=False``: without lineage's own groups and entries (``@NAMESPACE``)."""
    if as_of is not None:
        found = _fold_history(connection, kind, as_of, parent=parent)
        items = [found[n] for n in sorted(found)]
        return items[offset : None if limit is None else offset + limit], len(items)
    where = [_objects.c.kind == kind, _objects.c.deleted.is_(False)]
    if parent is not None:
        where.append(_objects.c.parent == parent)
    if not implicit:
        where.append(or_(_objects.c.source.is_(None), _objects.c.source != LINEAGE_SOURCE))
    total = connection.scalar(select(func.count()).select_from(_objects).where(*where)) or 0
    query = select(*_COLUMNS).where(*where).order_by(_objects.c.name).offset(offset)
    if limit is not None:
        query = query.limit(limit)
    return [_record(r) for r in connection.execute(query)], total


def _fold_history(
    connection: Connection,
    kind: str,
    as_of: int,
    *,
    names: list[str] | None = None,
    parent: str | None = None,
) -> dict[str, Record]:
    where = [_history.c.kind == kind, _history.c.changed_at <= as_of]
    if names is not None:
        where.append(_history.c.name.in_(names))
    if parent is not None:
        where.append(_history.c.name.startswith(parent + "/", autoescape=True))
    rows = connection.execute(select(_history).where(*where).order_by(_history.c.name, _history.c.stamp))
    latest: dict[str, Any] = {}
    created: dict[str, int] = {}
    for row in rows:
        if parent is not None and row.name.rsplit("/", 2)[0] != parent:
            continue
        created.setdefault(row.name, row.changed_at)
        if row.action == DELETE:
            created.pop(row.name, None)
        latest[row.name] = row
    return {
        name: Record(
            kind,
            name,
            json.loads(row.body),
            created.get(name, row.changed_at),
            row.changed_at,
            row.changed_by,
            row.source,
            row.stamp,
        )
        for name, row in latest.items()
        if row.action != DELETE
    }


def history(connection: Connection, kind: str, name: str, *, with_tags: bool = False) -> list[dict[str, Any]]:
    """Every change of a resource, oldest first: what (``kind``, ``name``, the resource after it),
    when, by whom. ``with_tags``: an entry's history with the changes of its tags (on the entry or a
    column, those deleted since too), in the order they were made."""
    condition = (_history.c.kind == kind) & (_history.c.name == name)
    if with_tags and kind == ENTRY:
        # the entry's tags, those deleted too (their rows stay, marked deleted), by the parent index
        tags = select(_objects.c.name).where(_objects.c.kind == TAG, _objects.c.parent == name)
        condition |= (_history.c.kind == TAG) & _history.c.name.in_(tags)
    rows = connection.execute(select(_history).where(condition).order_by(_history.c.stamp))
    return [
        {
            "kind": row.kind,
            "name": row.name,
            "action": row.action,
            "time": format_time(row.changed_at),
            "by": row.changed_by,
            "source": row.source,
            "resource": None if row.action == DELETE else {"name": row.name, **json.loads(row.body)},
        }
        for row in rows
    ]


def template_tag_count(connection: Connection, template_id: str) -> int:
    """How many tags use the template ``template_id``."""
    return (
        connection.scalar(
            select(func.count())
            .select_from(_objects)
            .where(_objects.c.kind == TAG, _objects.c.template == template_id, _objects.c.deleted.is_(False))
        )
        or 0
    )


def template_tag_names(connection: Connection, template_id: str) -> list[str]:
    """The tags that use the template ``template_id``."""
    return list(
        connection.scalars(
            select(_objects.c.name).where(
                _objects.c.kind == TAG, _objects.c.template == template_id, _objects.c.deleted.is_(False)
            )
        )
    )


def child_names(connection: Connection, kind: str, parent: str) -> list[str]:
    """The live resources of ``kind`` directly under ``parent``."""
    return list(
        connection.scalars(
            select(_objects.c.name).where(
                _objects.c.kind == kind, _objects.c.parent == parent, _objects.c.deleted.is_(False)
            )
        )
    )


def entries_linked_to(connection: Connection, linked_resource: str) -> list[Record]:
    """The entries whose ``linkedResource`` is ``linked_resource``."""
    rows = connection.execute(
        select(*_COLUMNS).where(
            and_(
                _objects.c.kind == ENTRY,
                _objects.c.linked_resource == linked_resource,
                _objects.c.deleted.is_(False),
            )
        )
    )
    return [_record(r) for r in rows]


def records_as_of(connection: Connection, kind: str, names: list[str], as_of: int) -> list[Record]:
    """The resources ``names`` of ``kind`` that existed at ``as_of``, as they were then, by name."""
    found = _fold_history(connection, kind, as_of, names=names) if names else {}
    return [found[n] for n in sorted(found)]


def fileset_entries(connection: Connection) -> list[Record]:
    """The entries that have file patterns."""
    rows = connection.execute(
        select(*_COLUMNS).where(
            _objects.c.kind == ENTRY,
            _objects.c.deleted.is_(False),
            _objects.c.body.like('%"gcsFilesetSpec"%'),
        )
    )
    return [_record(r) for r in rows]


#: How many names a "did you mean" offers at most, and how many of a kind it compares at most.
SUGGESTIONS = 3
_COMPARED = 20_000


def nearest(connection: Connection, kind: str, name: str) -> list[str]:
    """The live resources of ``kind`` whose names are closest to ``name``, one that does not exist
    (a mistyped id): a like id beside it (the entries of the same group, the tags of the same entry,
    the groups, the templates), most alike first; for an entry, also one of the same id in another
    group. At most :data:`SUGGESTIONS`."""
    prefix, _, wanted = name.rpartition("/")
    parent = prefix.rsplit("/", 1)[0] if kind in (ENTRY, TAG) else None
    query = select(_objects.c.name).where(_objects.c.kind == kind, _objects.c.deleted.is_(False))
    query = query.where(_objects.c.parent == parent) if parent is not None else query
    ids = {row.name.rpartition("/")[2]: row.name for row in connection.execute(query.limit(_COMPARED))}
    found = [ids[close] for close in difflib.get_close_matches(wanted, ids, SUGGESTIONS, 0.6)]
    if kind == ENTRY and len(found) < SUGGESTIONS:  # the same id in another group
        groups = connection.execute(
            select(_objects.c.name).where(_objects.c.kind == GROUP, _objects.c.deleted.is_(False))
        ).scalars()
        elsewhere = [f"{group}/entries/{wanted}" for group in groups if f"{group}/entries" != prefix]
        found += sorted(record.name for record in get_many(connection, ENTRY, elsewhere))
    return found[:SUGGESTIONS]


def missing(connection: Connection, kind: str, name: str, what: str, *, as_of: int | None = None) -> str:
    """What to say of ``name``, a resource of ``kind`` that does not exist (at ``as_of``): that, and
    the names it may have meant (:func:`nearest`; not as of a time: those are today's names)."""
    if as_of is not None:
        return f"{what} {name} does not exist at that time"
    message = f"{what} {name} does not exist"
    close = [n for n in nearest(connection, kind, name) if n != name]
    return f"{message}; did you mean {' or '.join(close)}?" if close else message


__all__ = [
    "ENTRY",
    "GROUP",
    "TAG",
    "TEMPLATE",
    "Record",
    "child_names",
    "entries_linked_to",
    "fileset_entries",
    "get",
    "history",
    "list_records",
    "missing",
    "nearest",
    "template_tag_count",
    "template_tag_names",
]
