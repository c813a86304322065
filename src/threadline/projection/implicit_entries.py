"""The implicit catalog entries: every lineage dataset and job as an entry of its namespace's system
group ``entryGroups/@NAMESPACE`` (:mod:`threadline.catalog.implicit` names them), so that search finds
them and people tag them without registering anything.

They are derived, not merged: after a fold's rows are written, :func:`refresh` reads the datasets,
jobs and namespaces the fold touched as they are now (merged) and writes their entries' rows in
``catalog_objects``, with the search columns the catalog's own fold derives
(``entry_search_columns``). So an entry is the same whatever order the events came in, and reindex
rebuilds it; its times are its dataset's or job's (created, last changed). An entry is written again
only when its body or its times changed, and only its times when only they did (on SQLite the
full-text index is left alone then). A dataset's entry is a TABLE (a DATA_STREAM for a stream or
topic), with its description (``documentation`` facet) and its schema's columns, nested ones as
``subcolumns``; a job's is a JOB. Its system is the namespace's scheme (``postgres``, ``s3``,
``kafka``), else ``openlineage``.

An entry that lineage forgets stays (lineage forgets nothing): tags on it are kept like any other.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Column, Connection, Table, bindparam, select, update

from threadline.catalog import implicit
from threadline.catalog.reads import LINEAGE_SOURCE
from threadline.graph.nodes import NodeId
from threadline.openlineage.canonical import canonical_json
from threadline.openlineage.catalog_changes import ENTRY, GROUP
from threadline.projection.catalog import entry_search_columns
from threadline.projection.entry_templates import refresh_tag_templates
from threadline.projection.readers.common import CATALOG_NAMESPACE, load_facet
from threadline.projection.readers.datasets import load_fields
from threadline.store import schema
from threadline.store.bulk import insert_rows
from threadline.store.lookups import batches

_objects = schema.catalog_objects
#: The stamp of an implicit resource: below every change's, which no change of it can carry anyway
#: (the planner refuses writes to a system group).
STAMP = "0"
_COLUMNS = tuple(column.name for column in _objects.c)
#: What an entry written again takes from its new row: everything but the key and the tag columns
#: (``tag_templates``, ``tag_mask``: derived from its tags, which did not change).
_CONTENT = (
    "body",
    "created_at",
    "changed_at",
    "entry_type",
    "entry_system",
    "t_name",
    "t_description",
    "t_columns",
    "linked_resource",
)
_STREAM_TYPES = {"STREAM", "TOPIC"}


@dataclass(slots=True)
class Touched:
    """The lineage rows a fold wrote: dataset and job ids and canonical namespaces."""

    datasets: set[int] = field(default_factory=set)
    jobs: set[int] = field(default_factory=set)
    namespaces: set[str] = field(default_factory=set)

    def __bool__(self) -> bool:
        return bool(self.datasets or self.jobs or self.namespaces)


def touched(rows: Mapping[str, Mapping[tuple[Any, ...], Any]]) -> Touched:
    """What a delta's (or a packed delta's) rows, ``{table: {key: row}}``, touch."""
    return Touched(
        {key[0] for key in rows.get("datasets") or ()},
        {key[0] for key in rows.get("jobs") or ()},
        {key[0] for key in rows.get("namespaces") or ()} - {CATALOG_NAMESPACE},
    )


def system_of(namespace: str) -> str:
    """The system of a namespace's entries: its scheme (``postgres://db:5432`` → ``postgres``), else
    ``openlineage``."""
    scheme, found, _ = namespace.partition("://")
    plain = scheme.isascii() and scheme.replace("+", "").isalnum()
    return scheme.lower() if found and plain else "openlineage"


def _columns(fields: Sequence[Any]) -> list[dict[str, Any]]:
    """A schema's fields (in their order, nested ones after their parent) as Data Catalog columns."""
    by_path: dict[str, dict[str, Any]] = {}
    top: list[dict[str, Any]] = []
    for f in fields:
        column: dict[str, Any] = {"column": f.name}
        if f.type:
            column["type"] = f.type
        if f.description:
            column["description"] = f.description
        by_path[f.path] = column
        parent = by_path.get(f.parent_path) if f.parent_path else None
        if parent is None:
            top.append(column)
        else:
            parent.setdefault("subcolumns", []).append(column)
    return top


def row_of(kind: str, name: str, body: dict[str, Any], created_at: int, changed_at: int) -> dict[str, Any]:
    """The ``catalog_objects`` row of an implicit entry or group, with its search columns."""
    row: dict[str, Any] = dict.fromkeys(_COLUMNS)
    row.update(
        kind=kind,
        name=name,
        parent=name.rsplit("/", 2)[0] if kind == ENTRY else None,
        deleted=False,
        body=canonical_json(body).decode(),
        source=LINEAGE_SOURCE,
        changed_at=changed_at,
        created_at=created_at,
        stamp=STAMP,
    )
    if kind == ENTRY:
        row.update(entry_search_columns(body, None))
    return row


def _text(facet: Any, key: str) -> str:
    value = facet.get(key) if isinstance(facet, dict) else None
    return value if isinstance(value, str) else ""


def _lineage_rows(connection: Connection, table: Table, ids: Iterable[int], *more: Column[Any]) -> list[Any]:
    """The rows of ``ids`` in ``table`` (datasets or jobs) but the hidden catalog namespace's."""
    found: list[Any] = []
    columns = (table.c.id, table.c.namespace, table.c.display_namespace, table.c.name)
    times = (table.c.created_at, table.c.updated_at)
    for part in batches(sorted(ids)):
        query = select(*columns, *times, *more)
        found += connection.execute(
            query.where(table.c.id.in_(part), table.c.namespace != CATALOG_NAMESPACE)
        ).all()
    return found


def _dataset_rows(connection: Connection, ids: Iterable[int]) -> list[dict[str, Any]]:
    found = _lineage_rows(connection, schema.datasets, ids, schema.datasets.c.schema_hash)
    keys = [str(r.id) for r in found]
    docs = load_facet(connection, "dataset", keys, "documentation")
    kinds = load_facet(connection, "dataset", keys, "datasetType")
    fields = load_fields(connection, [r.schema_hash for r in found if r.schema_hash])
    rows = []
    for r in found:
        namespace = r.display_namespace or r.namespace
        kind = _text(kinds.get(str(r.id)), "datasetType").upper()
        body: dict[str, Any] = {
            "type": "DATA_STREAM" if kind in _STREAM_TYPES else "TABLE",
            "userSpecifiedSystem": system_of(r.namespace),
            "displayName": r.name,
            "linkedResource": str(NodeId.dataset(namespace, r.name)),
        }
        description = _text(docs.get(str(r.id)), "description")
        if description:
            body["description"] = description
        columns = _columns(fields.get(r.schema_hash, []) if r.schema_hash else [])
        if columns:
            body["schema"] = {"columns": columns}
        name = implicit.entry_name(r.namespace, r.name)
        rows.append(row_of(ENTRY, name, body, r.created_at, r.updated_at))
    return rows


def _job_rows(connection: Connection, ids: Iterable[int]) -> list[dict[str, Any]]:
    found = _lineage_rows(connection, schema.jobs, ids)
    docs = load_facet(connection, "job", [str(r.id) for r in found], "documentation")
    rows = []
    for r in found:
        body: dict[str, Any] = {
            "type": "JOB",
            "userSpecifiedSystem": system_of(r.namespace),
            "displayName": r.name,
            "linkedResource": str(NodeId.job(r.display_namespace or r.namespace, r.name)),
        }
        description = _text(docs.get(str(r.id)), "description")
        if description:
            body["description"] = description
        name = implicit.entry_name(r.namespace, r.name, job=True)
        rows.append(row_of(ENTRY, name, body, r.created_at, r.updated_at))
    return rows


def _group_rows(connection: Connection, names: Iterable[str]) -> list[dict[str, Any]]:
    table = schema.namespaces
    rows = []
    for part in batches(sorted(names)):
        for r in connection.execute(select(table).where(table.c.name.in_(part))):
            shown = r.display_name or r.name
            body = {
                "displayName": shown,
                "description": f"The datasets and jobs of lineage namespace {shown}",
            }
            name = f"entryGroups/{implicit.group_id(r.name)}"
            rows.append(row_of(GROUP, name, body, r.created_at, r.updated_at))
    return rows


def refresh(connection: Connection, what: Touched) -> list[str]:
    """Write the implicit entries and groups of what a fold touched (in its transaction); return the
    names of the entries written for the first time that already have tags (a tag written before its
    dataset was known: another site's), whose template lists it writes too, and whose propagated values
    the caller computes again."""
    if not what:
        return []
    rows = _dataset_rows(connection, what.datasets) + _job_rows(connection, what.jobs)
    rows += _group_rows(connection, what.namespaces)
    stored: dict[tuple[str, str], tuple[Any, ...]] = {}
    for kind in (ENTRY, GROUP):
        names = [row["name"] for row in rows if row["kind"] == kind]
        for part in batches(names):
            query = select(
                _objects.c.name, _objects.c.body, _objects.c.created_at, _objects.c.changed_at
            ).where(_objects.c.kind == kind, _objects.c.name.in_(part))
            for r in connection.execute(query):
                stored[kind, r.name] = (r.body, r.created_at, r.changed_at)
    new, changed, times = [], [], []
    for row in rows:
        before = stored.get((row["kind"], row["name"]))
        if before is None:
            new.append(row)
        elif before[0] != row["body"]:
            changed.append(row)
        elif before[1:] != (row["created_at"], row["changed_at"]):
            times.append(row)
    insert_rows(connection, _objects, _COLUMNS, [tuple(map(row.get, _COLUMNS)) for row in new])
    _update(connection, changed, _CONTENT)
    _update(connection, times, ("created_at", "changed_at"))
    fresh = [row["name"] for row in new if row["kind"] == ENTRY]
    tagged: list[str] = []
    for part in batches(fresh):
        tagged += connection.scalars(
            select(_objects.c.parent)
            .where(_objects.c.kind == "tag", _objects.c.deleted.is_(False), _objects.c.parent.in_(part))
            .distinct()
        )
    if tagged:
        refresh_tag_templates(connection, tagged)
    return tagged


def _update(connection: Connection, rows: list[dict[str, Any]], columns: Sequence[str]) -> None:
    if not rows:
        return
    statement = (
        update(_objects)
        .where(_objects.c.kind == bindparam("k_kind"), _objects.c.name == bindparam("k_name"))
        .values({column: bindparam(f"v_{column}") for column in columns})
    )
    params = [
        {"k_kind": row["kind"], "k_name": row["name"], **{f"v_{c}": row[c] for c in columns}} for row in rows
    ]
    connection.execute(statement, params)


def backfill(connection: Connection, *, batch: int = 5_000) -> None:
    """Write the implicit entries and groups of every dataset, job and namespace folded (the migration
    that brings them to a store folded before them), ``batch`` of each kind at a time."""
    for table, kind in ((schema.datasets, "datasets"), (schema.jobs, "jobs")):
        ids = list(connection.scalars(select(table.c.id).order_by(table.c.id)))
        for start in range(0, len(ids), batch):
            part = set(ids[start : start + batch])
            refresh(connection, Touched(**{kind: part}))
    namespaces = set(connection.scalars(select(schema.namespaces.c.name))) - {CATALOG_NAMESPACE}
    refresh(connection, Touched(namespaces=namespaces))
