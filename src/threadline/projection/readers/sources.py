"""Sources: where datasets live, as Marquez lists them.

A dataset's source is named by its ``dataSource`` facet (``name`` and ``uri``); a dataset without one
belongs to the source named by its namespace, which is what OpenLineage's naming makes a namespace
(``postgres://host:5432``, ``s3://bucket``). Sources are gathered from the datasets, in SQL, so that
listing them pages by name like every other list.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import Connection, String, and_, cast, func, select

from threadline.errors import NotFound
from threadline.projection.readers.common import CATALOG_NAMESPACE, Page, check_page, json_text
from threadline.store import schema


@dataclass(slots=True)
class Source:
    """A data source and the datasets in it."""

    name: str
    connection_url: str
    created_at: int
    updated_at: int
    dataset_count: int

    @property
    def type(self) -> str:
        """The scheme of its URL in capitals (``POSTGRES``, ``S3``), or ``UNKNOWN``."""
        scheme = urlsplit(self.connection_url).scheme if "://" in self.connection_url else ""
        return scheme.upper() or "UNKNOWN"


def _grouped(connection: Connection) -> Any:
    datasets, facets = schema.datasets, schema.facets
    shown = func.coalesce(datasets.c.display_namespace, datasets.c.namespace)
    name = func.coalesce(json_text(connection, facets.c.value, "name"), shown).label("source")
    uri = func.min(func.coalesce(json_text(connection, facets.c.value, "uri"), shown)).label("uri")
    return (
        select(
            name,
            uri,
            func.min(datasets.c.created_at).label("created_at"),
            func.max(datasets.c.updated_at).label("updated_at"),
            func.count().label("datasets"),
        )
        .select_from(datasets)
        .outerjoin(
            facets,
            and_(
                facets.c.entity_type == "dataset",
                facets.c.entity_key == cast(datasets.c.id, String),
                facets.c.name == "dataSource",
            ),
        )
        .where(datasets.c.namespace != CATALOG_NAMESPACE)
        .group_by(name)
    )


def _source(row: Any) -> Source:
    return Source(row.source, row.uri, row.created_at, row.updated_at, row.datasets)


def list_sources(connection: Connection, *, limit: int = 100, offset: int = 0) -> Page[Source]:
    """Every source, sorted by name."""
    check_page(limit, offset)
    grouped = _grouped(connection).subquery()
    rows = connection.execute(select(grouped).order_by(grouped.c.source).limit(limit).offset(offset)).all()
    total = connection.scalar(select(func.count()).select_from(grouped)) or 0
    return Page([_source(row) for row in rows], total)


def get_source(connection: Connection, name: str) -> Source:
    """The source called ``name``; :class:`NotFound` when no dataset lives in it."""
    grouped = _grouped(connection).subquery()
    row = connection.execute(select(grouped).where(grouped.c.source == name)).first()
    if row is None:
        msg = f"no source {name!r}; GET /api/v1/sources lists them"
        raise NotFound(msg)
    return _source(row)
