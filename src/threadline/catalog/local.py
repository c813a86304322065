"""Changing the catalog of a store directly (the CLI, tests, benchmarks): plan, append, fold.

The server does the same through its writer thread (``threadline.server.api.catalog``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from threadline.catalog.changes import Planner, change_events
from threadline.openlineage.catalog_changes import CatalogChange
from threadline.openlineage.events import parse_event
from threadline.projection.projector import project_all
from threadline.store.sql import SqlStore

T = TypeVar("T")


def plan(
    store: SqlStore, work: Callable[[Planner], T], *, by: str | None = None
) -> tuple[T, list[CatalogChange]]:
    """Run ``work`` on a planner over ``store``'s catalog; its result and the changes it planned."""
    with store.read() as connection:
        planner = Planner(connection, by=by)
        result = work(planner)
        return result, planner.changes


def commit(store: SqlStore, changes: list[CatalogChange], *, event_time: int | None = None) -> int:
    """Append ``changes`` as events (one transaction) and fold them; how many there were.
    ``event_time``: when they were made (now unless given)."""
    if changes:
        store.append([parse_event(raw) for raw in change_events(changes, event_time=event_time)])
        project_all(store)
    return len(changes)


def change(
    store: SqlStore, work: Callable[[Planner], T], *, by: str | None = None, event_time: int | None = None
) -> T:
    """Plan ``work`` and commit what it planned; its result."""
    result, changes = plan(store, work, by=by)
    commit(store, changes, event_time=event_time)
    return result
