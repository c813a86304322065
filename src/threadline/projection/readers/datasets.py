"""Datasets: their schema, tags, facets, versions and the runs that made them.

A dataset is found by its namespace (any spelling) and name, or by any of its symlink aliases. Facets
are the latest value of each; description, owners, source and lifecycle state are read from the
standard facets (``documentation``, ``ownership``, ``dataSource``, ``lifecycleStateChange``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from functools import cache
from typing import Any

from sqlalchemy import Connection, Row, Select, and_, bindparam, func, select

from threadline.errors import NotFound
from threadline.openlineage.naming import normalize_namespace
from threadline.openlineage.versions import EventType
from threadline.projection.readers.common import (
    CATALOG_NAMESPACE,
    Page,
    check_page,
    get_namespace,
    load_facets,
)
from threadline.projection.readers.runs import Run, load_runs
from threadline.projection.readers.tags import Tag, load_overlays, parse_tags
from threadline.store import schema
from threadline.store.lineage_sql import lineage_reads
from threadline.store.lookups import batches

_COLUMNS = (
    schema.datasets.c.id,
    schema.datasets.c.namespace,
    schema.datasets.c.display_namespace,
    schema.datasets.c.name,
    schema.datasets.c.created_at,
    schema.datasets.c.updated_at,
    schema.datasets.c.schema_hash,
    schema.datasets.c.current_version,
)


@dataclass(slots=True)
class Field:
    """One column of a schema; nested columns have a dotted ``path`` and a ``depth`` above 0."""

    path: str
    name: str
    type: str | None
    description: str | None
    depth: int
    parent_path: str | None
    tags: list[Tag] = field(default_factory=list)


@dataclass(slots=True)
class Alias:
    """Another name of a dataset (a symlink, e.g. the table behind a file path)."""

    namespace: str
    name: str
    type: str


@dataclass(slots=True)
class Dataset:
    """A dataset as the projections know it now."""

    id: int
    namespace: str  # the spelling seen first
    canonical_namespace: str
    name: str
    created_at: int
    updated_at: int
    current_version: str | None
    schema_hash: str | None
    fields: list[Field]
    facets: dict[str, Any]
    tags: list[Tag]  # every tag, the field tags included
    last_modified_at: int | None = None
    aliases: list[Alias] = field(default_factory=list)

    @property
    def description(self) -> str | None:
        """From the ``documentation`` facet."""
        return _text(self.facets.get("documentation"), "description")

    @property
    def source_name(self) -> str:
        """The ``dataSource`` facet's name, else the namespace (OpenLineage names a source by it)."""
        return _text(self.facets.get("dataSource"), "name") or self.namespace

    @property
    def source_uri(self) -> str | None:
        """The ``dataSource`` facet's URI."""
        return _text(self.facets.get("dataSource"), "uri")

    @property
    def lifecycle_state(self) -> str | None:
        """From the ``lifecycleStateChange`` facet (CREATE, OVERWRITE, DROP, …)."""
        return _text(self.facets.get("lifecycleStateChange"), "lifecycleStateChange")

    @property
    def type(self) -> str:
        """Marquez's dataset type: STREAM for a stream or topic (``datasetType`` facet), else DB_TABLE."""
        kind = (_text(self.facets.get("datasetType"), "datasetType") or "").upper()
        return "STREAM" if kind in ("STREAM", "TOPIC") else "DB_TABLE"

    @property
    def owners(self) -> list[dict[str, Any]]:
        """The ``ownership`` facet's owners (name and type)."""
        return owners_of(self.facets)

    @property
    def dataset_tags(self) -> list[Tag]:
        """The tags on the dataset itself (not on one of its fields)."""
        return [tag for tag in self.tags if tag.field is None]


@dataclass(slots=True)
class DatasetVersion:
    """One version of a dataset: its schema then and the run that wrote it, if a run did."""

    dataset: Dataset
    version: str
    created_at: int
    run_id: str | None
    schema_hash: str | None
    fields: list[Field]
    facets: dict[str, Any]
    created_by: Run | None = None


def _text(facet: Any, key: str) -> str | None:
    value = facet.get(key) if isinstance(facet, dict) else None
    return value if isinstance(value, str) else None


def owners_of(facets: dict[str, Any]) -> list[dict[str, Any]]:
    """The owners listed by an ``ownership`` facet among ``facets``."""
    facet = facets.get("ownership")
    owners = facet.get("owners") if isinstance(facet, dict) else None
    return [owner for owner in owners or () if isinstance(owner, dict) and owner.get("name")]


# ---- lookup ---------------------------------------------------------------------------------------


def find_dataset_row(connection: Connection, namespace: str, name: str) -> Row[*tuple[Any, ...]] | None:
    """The projected row of dataset ``namespace``/``name``, found directly or through an alias."""
    found = lineage_reads(connection).find_dataset(namespace, name)
    if found is None:
        return None
    return connection.execute(select(*_COLUMNS).where(schema.datasets.c.id == found)).first()


def get_dataset(connection: Connection, namespace: str, name: str) -> Dataset:
    """Dataset ``namespace``/``name`` (or the dataset that name is an alias of), with its aliases.

    Raises :class:`NotFound` naming the namespace or the dataset that does not exist.
    """
    row = find_dataset_row(connection, namespace, name)
    if row is None or row.namespace == CATALOG_NAMESPACE:
        links = schema.dataset_symlinks
        canonical = normalize_namespace(namespace)
        if not connection.scalar(select(links.c.name).where(links.c.namespace == canonical).limit(1)):
            get_namespace(connection, namespace)  # an unknown namespace is the clearer message
        msg = f"no dataset {name!r} in namespace {namespace!r}"
        raise NotFound(msg)
    dataset = load_datasets(connection, [row])[0]
    links = schema.dataset_symlinks
    dataset.aliases = [
        Alias(r.namespace, r.name, r.type)
        for r in connection.execute(
            select(links.c.namespace, links.c.name, links.c.type)
            .where(links.c.dataset_id == dataset.id)
            .order_by(links.c.namespace, links.c.name)
        )
    ]
    return dataset


def list_datasets(
    connection: Connection, namespace: str | None = None, *, limit: int = 100, offset: int = 0
) -> Page[Dataset]:
    """Datasets of a namespace (any spelling; all namespaces when ``None``), sorted by name."""
    check_page(limit, offset)
    datasets = schema.datasets
    order: tuple[Any, ...]
    if namespace is not None:
        where = datasets.c.namespace == get_namespace(connection, namespace).name
        order = (datasets.c.name,)
    else:
        where = datasets.c.namespace != CATALOG_NAMESPACE
        order = (datasets.c.namespace, datasets.c.name)
    rows = connection.execute(
        select(*_COLUMNS).where(where).order_by(*order).limit(limit).offset(offset)
    ).all()
    total = connection.scalar(select(func.count()).select_from(datasets).where(where)) or 0
    return Page(load_datasets(connection, rows), total)


# ---- loading --------------------------------------------------------------------------------------


def load_fields(connection: Connection, schema_hashes: Sequence[str]) -> dict[str, list[Field]]:
    """The fields of each schema, in their order in the schema facet."""
    table = schema.schema_fields
    found: dict[str, list[Field]] = {h: [] for h in schema_hashes}
    for part in batches(sorted(set(schema_hashes))):
        rows = connection.execute(
            select(
                table.c.schema_hash,
                table.c.path,
                table.c.name,
                table.c.type,
                table.c.description,
                table.c.depth,
                table.c.parent_path,
            )
            .where(table.c.schema_hash.in_(part))
            .order_by(table.c.schema_hash, table.c.ordinal)
        )
        for r in rows:
            found[r.schema_hash].append(Field(r.path, r.name, r.type, r.description, r.depth, r.parent_path))
    return found


def field_types(connection: Connection, ids: Sequence[int]) -> dict[int, list[tuple[str, str | None]]]:
    """The fields of each dataset's current schema, ``(path, type)`` in their order in the schema (a
    dataset without a schema is left out): what lineage graphs show of a dataset's columns."""
    datasets, fields = schema.datasets, schema.schema_fields
    found: dict[int, list[tuple[str, str | None]]] = {}
    for part in batches(ids):
        rows = connection.execute(
            select(datasets.c.id, fields.c.path, fields.c.type)
            .join(fields, fields.c.schema_hash == datasets.c.schema_hash)
            .where(datasets.c.id.in_(part))
            .order_by(datasets.c.id, fields.c.ordinal, fields.c.path)
        )
        for row in rows:
            found.setdefault(row.id, []).append((row.path, row.type))
    return found


def current_versions(connection: Connection, ids: Sequence[int]) -> dict[int, str | None]:
    """The current version of each dataset of ``ids`` that exists."""
    datasets = schema.datasets
    found: dict[int, str | None] = {}
    for part in batches(ids):
        rows = connection.execute(
            select(datasets.c.id, datasets.c.current_version).where(datasets.c.id.in_(part))
        )
        found.update((row.id, row.current_version) for row in rows)
    return found


def _with_tags(fields: list[Field], tags: list[Tag]) -> list[Field]:
    by_field: dict[str, list[Tag]] = {}
    for tag in tags:
        if tag.field is not None:
            by_field.setdefault(tag.field, []).append(tag)
    return [
        Field(f.path, f.name, f.type, f.description, f.depth, f.parent_path, by_field.get(f.path, []))
        for f in fields
    ]


def with_tags(dataset: Dataset, tags: list[Tag]) -> Dataset:
    """``dataset`` with ``tags`` as its tags (its fields' tags included)."""
    return replace(dataset, tags=tags, fields=_with_tags(dataset.fields, tags))


def load_datasets(connection: Connection, rows: Sequence[Row[*tuple[Any, ...]]]) -> list[Dataset]:
    """Datasets from their projected rows, with fields, facets and tags (a fixed number of queries)."""
    if not rows:
        return []
    ids = [row.id for row in rows]
    facets = load_facets(connection, "dataset", [str(i) for i in ids])
    overlays = load_overlays(connection, "dataset", [str(i) for i in ids])
    fields = load_fields(connection, [row.schema_hash for row in rows if row.schema_hash])
    modified = _last_modified(connection, ids)
    result = []
    for row in rows:
        own = facets.get(str(row.id), {})
        tags = parse_tags(own.get("tags"))
        if str(row.id) in overlays:
            tags = overlays[str(row.id)].apply(tags)
        result.append(
            Dataset(
                id=row.id,
                namespace=row.display_namespace or row.namespace,
                canonical_namespace=row.namespace,
                name=row.name,
                created_at=row.created_at,
                updated_at=row.updated_at,
                current_version=row.current_version,
                schema_hash=row.schema_hash,
                fields=_with_tags(fields.get(row.schema_hash, []) if row.schema_hash else [], tags),
                facets=own,
                tags=tags,
                last_modified_at=modified.get(row.id),
            )
        )
    return result


def datasets_by_id(connection: Connection, ids: Sequence[int]) -> list[Dataset]:
    """The datasets with these ids (unknown ids are skipped), as :func:`load_datasets` reads them."""
    rows: list[Any] = []
    for part in batches(ids):
        rows += connection.execute(select(*_COLUMNS).where(schema.datasets.c.id.in_(part))).all()
    return load_datasets(connection, rows)


def _last_modified(connection: Connection, ids: Sequence[int]) -> dict[int, int]:
    """When each dataset was last written by a run that completed (Marquez's ``lastModifiedAt``)."""
    found: dict[int, int] = {}
    for part in batches(ids):
        rows = connection.execute(_last_modified_query(), {"ids": part})
        found.update((dataset, time) for dataset, time in rows if time is not None)
    return found


@cache
def _last_modified_query() -> Select[Any]:
    # Each dataset's versions newest first, down to the first whose run completed: one or a few index
    # steps (ix_dataset_versions_created) where max() over a join visited every version of the
    # dataset and its run (a table written by 1,667 runs took 5 ms to read, most of it here).
    versions, runs, datasets = schema.dataset_versions, schema.runs, schema.datasets
    newest = (
        select(versions.c.created_at)
        .join(runs, and_(runs.c.id == versions.c.run_id, runs.c.state == EventType.COMPLETE.value))
        .where(versions.c.dataset_id == datasets.c.id, versions.c.created_at.is_not(None))
        .order_by(versions.c.created_at.desc())
        .limit(1)
        .scalar_subquery()
    )
    return select(datasets.c.id, newest).where(datasets.c.id.in_(bindparam("ids", expanding=True)))


def dataset_refs(connection: Connection, ids: Sequence[int]) -> dict[int, tuple[str, str]]:
    """The shown namespace and the name of each dataset id."""
    datasets = schema.datasets
    found: dict[int, tuple[str, str]] = {}
    for part in batches(sorted(set(ids))):
        rows = connection.execute(
            select(datasets.c.id, datasets.c.namespace, datasets.c.display_namespace, datasets.c.name).where(
                datasets.c.id.in_(part)
            )
        )
        found.update({r.id: (r.display_namespace or r.namespace, r.name) for r in rows})
    return found


# ---- versions -------------------------------------------------------------------------------------

_VERSION_COLUMNS = (
    schema.dataset_versions.c.version,
    schema.dataset_versions.c.created_at,
    schema.dataset_versions.c.run_id,
    schema.dataset_versions.c.schema_hash,
)


@dataclass(slots=True)
class VersionMade:
    """A version of a dataset as its history lists it: when it was made, its schema, and the run that
    made it with that run's state."""

    version: str
    created_at: int
    schema_hash: str | None
    run_id: str | None
    run_state: str | None


def latest_versions(connection: Connection, dataset_id: int, limit: int) -> Page[VersionMade]:
    """The newest ``limit`` versions of a dataset, and how many it has."""
    versions, runs = schema.dataset_versions, schema.runs
    where = versions.c.dataset_id == dataset_id
    rows = connection.execute(
        select(
            versions.c.version, versions.c.created_at, versions.c.schema_hash, versions.c.run_id, runs.c.state
        )
        .select_from(versions.outerjoin(runs, runs.c.id == versions.c.run_id))
        .where(where)
        .order_by(versions.c.created_at.desc(), versions.c.version.desc())
        .limit(limit)
    ).all()
    total = connection.scalar(select(func.count()).select_from(versions).where(where)) or 0
    return Page([VersionMade(*row) for row in rows], total)


def list_dataset_versions(
    connection: Connection, namespace: str, name: str, *, limit: int = 100, offset: int = 0
) -> Page[DatasetVersion]:
    """Versions of a dataset, newest first (then by version, so the order is total)."""
    check_page(limit, offset)
    dataset = get_dataset(connection, namespace, name)
    versions = schema.dataset_versions
    where = versions.c.dataset_id == dataset.id
    rows = connection.execute(
        select(*_VERSION_COLUMNS)
        .where(where)
        .order_by(versions.c.created_at.desc(), versions.c.version.desc())
        .limit(limit)
        .offset(offset)
    ).all()
    total = connection.scalar(select(func.count()).select_from(versions).where(where)) or 0
    return Page(_versions(connection, dataset, rows), total)


def get_dataset_version(connection: Connection, namespace: str, name: str, version: str) -> DatasetVersion:
    """One version of a dataset; :class:`NotFound` when the dataset has no such version."""
    dataset = get_dataset(connection, namespace, name)
    versions = schema.dataset_versions
    row = connection.execute(
        select(*_VERSION_COLUMNS).where(versions.c.dataset_id == dataset.id, versions.c.version == version)
    ).first()
    if row is None:
        msg = f"dataset {name!r} in namespace {namespace!r} has no version {version!r}"
        raise NotFound(msg)
    return _versions(connection, dataset, [row])[0]


def _versions(
    connection: Connection, dataset: Dataset, rows: Sequence[Row[*tuple[Any, ...]]]
) -> list[DatasetVersion]:
    """Versions with their own schema; their facets are the dataset's, overlaid with the output facets
    of the run that wrote the version (facets of past versions are not kept apart)."""
    fields = load_fields(connection, [row.schema_hash for row in rows if row.schema_hash])
    run_keys = [f"{row.run_id}/{dataset.id}" for row in rows if row.run_id]
    outputs = load_facets(connection, "output", run_keys) if run_keys else {}
    runs = {run.id: run for run in load_runs(connection, [row.run_id for row in rows if row.run_id])}
    result = []
    for row in rows:
        own_fields = fields.get(row.schema_hash, []) if row.schema_hash else dataset.fields
        facets = dict(dataset.facets)
        if row.run_id:
            facets.update(outputs.get(f"{row.run_id}/{dataset.id}", {}))
        result.append(
            DatasetVersion(
                dataset=dataset,
                version=row.version,
                created_at=row.created_at,
                run_id=row.run_id,
                schema_hash=row.schema_hash,
                fields=_with_tags(own_fields, dataset.tags),
                facets=facets,
                created_by=runs.get(row.run_id) if row.run_id else None,
            )
        )
    return result
