"""Search's template facet stays exact however the templates come and go: counted from the entries'
tag masks while each template has a place in them, and from the entries' lists of templates when one
does not (a tag that came before its template) or when there are too many templates for a mask."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import event

from tests.projection.helpers import ds, feed, run_event
from threadline.catalog import implicit
from threadline.catalog.changes import Planner
from threadline.catalog.local import change, commit, plan
from threadline.catalog.search import search
from threadline.projection.entry_templates import MAX_SLOTS, rebuild_tag_masks
from threadline.store.sql import SqlStore, open_store

_STRING = {"note": {"type": {"primitiveType": "STRING"}}}


def _tag(template: str, column: str = "") -> dict[str, object]:
    fields = {"note": {"stringValue": "x"}}
    return {"template": f"tagTemplates/{template}", "column": column, "fields": fields}


def _entries(planner: Planner, count: int) -> None:
    planner.put_group("sales", {"displayName": "Sales"})
    for index in range(count):
        planner.put_entry(
            "sales",
            f"orders_{index}",
            {"type": "TABLE", "schema": {"columns": [{"column": "id", "type": "STRING"}]}},
        )


def _template_facet(store: SqlStore, query: str = "orders") -> dict[str, int]:
    with store.read() as connection:
        facet: dict[str, int] = search(connection, query)["facets"]["template"]
        return facet


def _masks(store: SqlStore) -> dict[str, int | None]:
    with store.read() as connection:
        rows = connection.exec_driver_sql(
            "SELECT name, tag_mask FROM catalog_objects WHERE kind = 'entry' ORDER BY name"
        )
        return {str(name): mask for name, mask in rows}


def test_a_template_created_later_moves_the_places_and_the_facet_stays_exact(
    new_store: Callable[[], SqlStore],
) -> None:
    store = new_store()
    change(store, lambda p: _entries(p, 3))
    change(store, lambda p: p.put_template("middle", {"fields": _STRING}))
    change(store, lambda p: p.put_tag("sales", "orders_0", _tag("middle")))
    change(store, lambda p: p.put_tag("sales", "orders_1", _tag("middle", "id")))
    assert _template_facet(store) == {"middle": 2}
    # "first" sorts before "middle": middle's place moves from 0 to 1 in every mask
    change(store, lambda p: p.put_template("first", {"fields": _STRING}))
    change(store, lambda p: p.put_tag("sales", "orders_2", _tag("first")))
    change(store, lambda p: p.put_tag("sales", "orders_1", _tag("first")))
    assert _template_facet(store) == {"first": 2, "middle": 2}
    assert _template_facet(store, "orders -tag:first") == {"middle": 1}
    kept = _masks(store)
    assert kept["entryGroups/sales/entries/orders_1"] == 0b11
    with store.write() as connection:
        rebuild_tag_masks(connection)
    assert _masks(store) == kept  # what the fold kept is what a rebuild writes


def test_a_tag_that_came_before_its_template_is_counted(new_store: Callable[[], SqlStore]) -> None:
    store = new_store()
    change(store, lambda p: _entries(p, 2))
    change(store, lambda p: p.put_template("known", {"fields": _STRING}))
    change(store, lambda p: p.put_tag("sales", "orders_0", _tag("known")))

    def late(planner: Planner) -> None:
        planner.put_template("late", {"fields": _STRING})
        planner.put_tag("sales", "orders_1", _tag("late"))

    _, changes = plan(store, late)
    # another site's tag arrives first: its template has no row here yet, so no place in the masks
    commit(store, [c for c in changes if c.kind == "tag"])
    assert _template_facet(store) == {"known": 1, "late": 1}
    commit(store, [c for c in changes if c.kind == "template"])
    assert _template_facet(store) == {"known": 1, "late": 1}
    assert set(_masks(store).values()) == {0b01, 0b10}  # the template's row gave it a place


def test_more_templates_than_a_mask_holds(new_store: Callable[[], SqlStore]) -> None:
    store = new_store()
    many = [f"t{index:03d}" for index in range(MAX_SLOTS + 1)]

    def templates(planner: Planner) -> None:
        _entries(planner, 3)
        for template in many:
            planner.put_template(template, {"fields": _STRING})

    change(store, templates)
    change(store, lambda p: p.put_tag("sales", "orders_0", _tag(many[0])))
    change(store, lambda p: p.put_tag("sales", "orders_1", _tag(many[-1], "id")))
    change(store, lambda p: p.put_tag("sales", "orders_2", _tag(many[-1])))
    assert set(_masks(store).values()) == {None}
    assert _template_facet(store) == {many[0]: 1, many[-1]: 2}
    assert _template_facet(store, f"orders -tag:{many[0]}") == {many[-1]: 2}


def test_every_place_of_a_full_mask_is_counted(new_store: Callable[[], SqlStore]) -> None:
    """As many templates as the masks hold: every place (each bit of all eight bytes but the last
    place's) is counted, and equals the entries holding a tag of it."""
    store = new_store()
    full = [f"t{index:03d}" for index in range(MAX_SLOTS)]

    def catalog(planner: Planner) -> None:
        _entries(planner, 7)
        for template in full:
            planner.put_template(template, {"fields": _STRING})
        for place, template in enumerate(full):
            for entry in range(7):
                if (place + 1) % (entry + 2) == 0:  # orders_0: every other place, up to the last (61)
                    planner.put_tag("sales", f"orders_{entry}", _tag(template))
        planner.put_tag("sales", "orders_6", _tag(full[0], "id"))

    change(store, catalog)
    expected = {
        template: count
        for place, template in enumerate(full)
        if (
            count := sum(
                1 for entry in range(7) if (place + 1) % (entry + 2) == 0 or (place, entry) == (0, 6)
            )
        )
    }
    assert max(value for value in _masks(store).values() if value is not None) >= 1 << (MAX_SLOTS - 1)
    assert _template_facet(store) == expected


def _statements(store: SqlStore, query: str) -> tuple[dict[str, int], int]:
    """The template facet of ``query`` and how many times the search ran its statement."""
    ran: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_rest: object) -> None:
        if statement.startswith("WITH m AS"):
            ran.append(statement)

    event.listen(store.engine, "before_cursor_execute", count)
    try:
        facet = _template_facet(store, query)
    finally:
        event.remove(store.engine, "before_cursor_execute", count)
    return facet, len(ran)


def test_lineages_own_entries_have_a_mask_and_a_search_runs_once(new_store: Callable[[], SqlStore]) -> None:
    """Lineage's entries are written with the mask of no tags: a search that finds them counts the
    facet from the masks, in one statement (a match without a mask made it count again from the lists)."""
    store = new_store()
    orders = ds("public.orders", "postgres://db:5432")
    feed(store, [run_event("COMPLETE", 1, job="load_orders", outputs=[orders])])
    change(store, lambda p: _entries(p, 1))
    assert set(_masks(store).values()) == {0}
    assert _statements(store, "orders") == ({}, 1)
    change(store, lambda p: p.put_template("pii", {"fields": _STRING}))
    dataset = implicit.entry_name("postgres://db:5432", "public.orders")
    group, entry = dataset.split("/")[1], dataset.split("/")[3]
    change(store, lambda p: p.put_tag(group, entry, _tag("pii")))
    assert _statements(store, "orders") == ({"pii": 1}, 1)
    assert _masks(store)[dataset] == 0b1


@pytest.mark.postgres
def test_a_refresh_that_changes_nothing_writes_no_row_on_postgresql(pg_url: str) -> None:
    """A tag written again with other values, an entry written again, a template created after the
    others: the entries' lists and masks stay as they are, and PostgreSQL keeps their rows (a new
    version of a wide row for nothing, which also scatters the entries over more pages)."""
    store = open_store(pg_url)
    try:
        _refresh_keeps_rows(store)
    finally:
        store.close()


def _refresh_keeps_rows(store: SqlStore) -> None:
    change(store, lambda p: _entries(p, 2))
    change(store, lambda p: p.put_template("middle", {"fields": _STRING}))
    change(store, lambda p: p.put_tag("sales", "orders_0", _tag("middle")))

    def versions() -> dict[str, str]:
        with store.read() as connection:
            rows = connection.exec_driver_sql(
                "SELECT name, xmin::text FROM catalog_objects WHERE kind = 'entry' ORDER BY name"
            )
            return {str(name): str(xmin) for name, xmin in rows}

    kept = versions()
    again = {**_tag("middle"), "fields": {"note": {"stringValue": "changed"}}}
    change(store, lambda p: p.put_tag("sales", "orders_0", again))
    change(store, lambda p: p.put_template("zzz_last", {"fields": _STRING}))  # no place moves
    assert versions() == kept
    change(store, lambda p: p.put_template("a_first", {"fields": _STRING}))  # every place moves
    moved = versions()
    assert moved["entryGroups/sales/entries/orders_0"] != kept["entryGroups/sales/entries/orders_0"]
    assert moved["entryGroups/sales/entries/orders_1"] == kept["entryGroups/sales/entries/orders_1"]
    assert _masks(store) == {
        "entryGroups/sales/entries/orders_0": 0b10,
        "entryGroups/sales/entries/orders_1": 0,
    }
    assert _template_facet(store) == {"middle": 1}
