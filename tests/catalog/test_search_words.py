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


def test_type_and_system_are_equality_and_any_value_is_safe(new_store: Callable[[], SqlStore]) -> None:
    """``type=`` and ``system=`` are equality (PostgreSQL: lexemes of ``t_search`` the full-text index
    applies); a value with a space, a quote, a backslash or a tsquery operator finds nothing, safely."""
    store = new_store()

    def entries(planner: Planner) -> None:
        planner.put_group("odd", {})
        for entry, kind, system in (("feed", "data_feed", "kafka"), ("feeds", "data_feeds", "kafka_eu")):
            body = {"userSpecifiedType": kind, "userSpecifiedSystem": system, "description": "odd one"}
            planner.put_entry("odd", entry, body)
        planner.put_entry("odd", "table", {"type": "TABLE", "description": "odd one"})

    change(store, entries)
    assert _names(store, "type=data_feed") == ["feed"]
    assert _names(store, "type=DATA_FEEDS odd") == ["feeds"]
    assert _names(store, "type=data") == []  # the whole type, not a prefix
    assert _names(store, "system=kafka") == ["feed"]
    assert _names(store, "odd -type=TABLE") == ["feed", "feeds"]
    assert _names(store, "type=TABLE OR system=kafka_eu") == ["feeds", "table"]
    for odd in ('"it\'s a\\b"', '"a & b | !c"', '"x:*"', "'"):
        assert _names(store, f"type={odd}") == []
        assert _names(store, f"system={odd} OR odd") == ["feed", "feeds", "table"]
