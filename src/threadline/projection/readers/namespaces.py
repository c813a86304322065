"""Namespaces: listed in the order of their canonical names, shown with the spelling seen first."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, func, select

from threadline.openlineage.naming import normalize_namespace
from threadline.projection.readers.common import CATALOG_NAMESPACE, Namespace, Page, check_page, get_namespace
from threadline.store import schema
from threadline.vocabulary import RunState

__all__ = ["Namespace", "get_namespace", "list_namespaces", "namespace_members", "store_counts"]


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


def _count(table: Any, *where: Any) -> Any:
    return select(func.count()).select_from(table).where(*where).scalar_subquery()


_ns, _ds, _runs = schema.namespaces, schema.datasets, schema.runs
#: The counts of :func:`store_counts` in one statement (each a subquery), built once.
_COUNTS = select(
    _count(_ns, _ns.c.name != CATALOG_NAMESPACE).label("namespaces"),
    _count(_ds, _ds.c.namespace != CATALOG_NAMESPACE).label("datasets"),
    _count(schema.jobs).label("jobs"),
    _count(_runs, _runs.c.has_events.is_(True)).label("runs"),
    _count(_runs, _runs.c.has_events.is_(True), _runs.c.state.in_(RunState.RUNNING.event_types)).label(
        "running"
    ),
    _count(schema.events).label("events"),
)


def store_counts(connection: Connection) -> Any:
    """How much the store holds, in one statement: ``namespaces``, ``datasets``, ``jobs``, ``runs`` (that
    have events), ``running`` (runs RUNNING as Marquez says) and ``events`` (of the log)."""
    return connection.execute(_COUNTS).one()
