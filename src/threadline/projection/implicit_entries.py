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
from functools import partial
from typing import Any

from sqlalchemy import Connection, Table, select

from threadline.catalog import implicit
from threadline.catalog.reads import LINEAGE_SOURCE
from threadline.graph.nodes import NodeId
from threadline.openlineage.canonical import canonical_json
from threadline.openlineage.catalog_changes import ENTRY, GROUP
from threadline.projection.catalog import entry_search_columns
from threadline.projection.entry_templates import NO_TAGS_MASK, refresh_tag_templates
from threadline.projection.readers.common import CATALOG_NAMESPACE, load_facet
from threadline.projection.readers.datasets import load_fields
from threadline.store import schema
from threadline.store.bulk import insert_rows
from threadline.store.lookups import batches, fetch_in

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


@dataclass(slots=True)
class _Candidate:
    """An implicit entry or group as lineage says it is now; its row is made only when it is written
    with a new body (its search columns tokenise its names, description and columns)."""

    kind: str
    name: str
    body: dict[str, Any]
    created_at: int
    changed_at: int
    encoded: str = ""

    def __post_init__(self) -> None:
        self.encoded = canonical_json(self.body).decode()

    def row(self, *, search: bool = True) -> dict[str, Any]:
        """Its row (without the search columns when only its times are written)."""
        row: dict[str, Any] = dict.fromkeys(_COLUMNS)
        row.update(
            kind=self.kind,
            name=self.name,
            parent=self.name.rsplit("/", 2)[0] if self.kind == ENTRY else None,
            deleted=False,
            body=self.encoded,
            source=LINEAGE_SOURCE,
            changed_at=self.changed_at,
            created_at=self.created_at,
            stamp=STAMP,
        )
        if search and self.kind == ENTRY:
            row.update(entry_search_columns(self.body, None), tag_mask=NO_TAGS_MASK)
        return row


def _text(facet: Any, key: str) -> str:
    value = facet.get(key) if isinstance(facet, dict) else None
    return value if isinstance(value, str) else ""


#: A fold's datasets or jobs, but the hidden catalog namespace's (``{extra}``: more columns).
_LINEAGE = (
    "SELECT id, namespace, display_namespace, name, created_at, updated_at{extra} FROM {table} "
    "WHERE id IN ({keys}) AND namespace <> {p}"
)


def _lineage_rows(connection: Connection, table: Table, ids: Iterable[int], *more: str) -> list[Any]:
    """The rows of ``ids`` in ``table`` (datasets or jobs) but the hidden catalog namespace's."""
    template = _LINEAGE.replace("{table}", table.name).replace("{extra}", "".join(f", {c}" for c in more))
    return fetch_in(connection, template, sorted(ids), lambda batch: (*batch, CATALOG_NAMESPACE))


def _dataset_rows(connection: Connection, ids: Iterable[int]) -> list[_Candidate]:
    found = _lineage_rows(connection, schema.datasets, ids, "schema_hash")
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
        rows.append(_Candidate(ENTRY, name, body, r.created_at, r.updated_at))
    return rows


def _job_rows(connection: Connection, ids: Iterable[int]) -> list[_Candidate]:
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
        rows.append(_Candidate(ENTRY, name, body, r.created_at, r.updated_at))
    return rows


def _group_rows(connection: Connection, names: Iterable[str]) -> list[_Candidate]:
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
            rows.append(_Candidate(GROUP, name, body, r.created_at, r.updated_at))
    return rows


#: The stored rows of implicit resources: what :func:`refresh` compares lineage's with.
_STORED = (
    "SELECT name, body, created_at, changed_at FROM {catalog_objects} WHERE kind = {p} AND name IN ({keys})"
)


def refresh(connection: Connection, what: Touched) -> list[str]:
    """Write the implicit entries and groups of what a fold touched (in its transaction); return the
    names of the entries written for the first time that already have tags (a tag written before its
    dataset was known: another site's), whose template lists it writes too, and whose propagated values
    the caller computes again."""
    if not what:
        return []
    candidates = _dataset_rows(connection, what.datasets) + _job_rows(connection, what.jobs)
    candidates += _group_rows(connection, what.namespaces)
    stored: dict[tuple[str, str], tuple[Any, ...]] = {}
    for kind in (ENTRY, GROUP):
        names = [c.name for c in candidates if c.kind == kind]
        for name, body, created_at, changed_at in fetch_in(connection, _STORED, names, partial(_with, kind)):
            stored[kind, name] = (body, created_at, changed_at)
    new, changed, times = [], [], []
    for candidate in candidates:
        before = stored.get((candidate.kind, candidate.name))
        if before is None:
            new.append(candidate.row())
        elif before[0] != candidate.encoded:
            changed.append(candidate.row())
        elif before[1:] != (candidate.created_at, candidate.changed_at):
            times.append(candidate.row(search=False))
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


def _with(first: str, batch: list[str]) -> tuple[str, ...]:
    return (first, *batch)


def _update(connection: Connection, rows: list[dict[str, Any]], columns: Sequence[str]) -> None:
    """Write ``columns`` of ``rows``, which are stored: an upsert of the whole rows that sets only those
    (a statement for many rows, where an ``UPDATE`` is a statement per row)."""
    if not rows:
        return
    sets = ", ".join(f'"{column}" = excluded."{column}"' for column in columns)
    conflict = f' ON CONFLICT ("kind", "name") DO UPDATE SET {sets}'
    insert_rows(connection, _objects, _COLUMNS, [tuple(map(row.get, _COLUMNS)) for row in rows], conflict)


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
