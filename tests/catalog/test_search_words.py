"""A free-text word is the start of a word of an entry's texts (SQLite: FTS5's ``"word"*``;
PostgreSQL: ``word:*`` against the stored vector ``t_search``, a qualifier against its own weight),
with AND, OR and NOT, and a word no entry has."""

from __future__ import annotations

from collections.abc import Callable

from threadline.catalog.changes import Planner
from threadline.catalog.local import change
from threadline.catalog.search import search
from threadline.store.sql import SqlStore


def _entries(planner: Planner) -> None:
    planner.put_group("sales", {})
    for index in range(12):
        planner.put_entry(
            "sales",
            f"orders_{index}",
            {
                "type": "TABLE",
                "description": f"daily revenue{index} of shop{index % 3}",
                "schema": {"columns": [{"column": f"amount{index}", "type": "DOUBLE"}]},
            },
        )
    planner.put_entry("sales", "refunds", {"type": "VIEW", "description": "money back"})


def _names(store: SqlStore, query: str) -> list[str]:
    with store.read() as connection:
        answer = search(connection, query, page_size=100)
        names = sorted(r["displayName"] for r in answer["results"])
        assert answer["totalSize"] == len(names)
        return names


ORDERS = sorted(f"orders_{i}" for i in range(12))


def test_a_word_finds_the_entries_with_a_word_it_starts(new_store: Callable[[], SqlStore]) -> None:
    store = new_store()
    change(store, _entries)
    assert _names(store, "revenue") == ORDERS  # revenue0 … revenue11
    assert _names(store, "revenue1") == ["orders_1", "orders_10", "orders_11"]
    assert _names(store, "revenue11") == ["orders_11"]
    assert _names(store, "shop1 amount") == ["orders_1", "orders_10", "orders_4", "orders_7"]
    assert _names(store, "amount1 OR money") == ["orders_1", "orders_10", "orders_11", "refunds"]
    assert _names(store, "-revenue") == ["refunds"]
    assert _names(store, "nowhere") == []  # no word starts so
    assert _names(store, "-nowhere") == [*ORDERS, "refunds"]
    assert _names(store, "revenue nowhere") == []
    assert _names(store, "description:revenue1") == ["orders_1", "orders_10", "orders_11"]
    assert _names(store, "name:revenue") == []  # in the description only
    assert _names(store, "column:amount11") == ["orders_11"]
    assert _names(store, "name:refund") == ["refunds"]
