"""Namespaces: listed in the order of their canonical names, shown with the spelling seen first."""

from __future__ import annotations

from sqlalchemy import Connection, func, select

from threadline.openlineage.naming import normalize_namespace
from threadline.projection.readers.common import CATALOG_NAMESPACE, Namespace, Page, check_page, get_namespace
from threadline.store import schema

__all__ = ["Namespace", "get_namespace", "list_namespaces", "namespace_members"]


def list_namespaces(connection: Connection, *, limit: int = 100, offset: int = 0) -> Page[Namespace]:
    """Namespaces sorted by canonical name (the catalog's own namespace is hidden)."""
    check_page(limit, offset)
    table = schema.namespaces
    visible = table.c.name != CATALOG_NAMESPACE
    rows = connection.execute(
        select(table.c.name, table.c.display_name, table.c.created_at, table.c.updated_at)
        .where(visible)
        .order_by(table.c.name)
        .limit(limit)
        .offset(offset)
    ).all()
    total = connection.scalar(select(func.count()).select_from(table).where(visible)) or 0
    items = [Namespace(r.name, r.display_name or r.name, r.created_at, r.updated_at) for r in rows]
    return Page(items, total)


def namespace_members(connection: Connection, namespace: str) -> list[int]:
    """The ids of the jobs and datasets of a namespace (any spelling), sorted; none for an unknown one."""
    wanted = normalize_namespace(namespace)
    jobs = connection.scalars(select(schema.jobs.c.id).where(schema.jobs.c.namespace == wanted))
    datasets = connection.scalars(select(schema.datasets.c.id).where(schema.datasets.c.namespace == wanted))
    return sorted({*jobs, *datasets})
