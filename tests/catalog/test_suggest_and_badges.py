"""The search box's type-ahead (``catalog.suggest``) and the lineage view's tag badges
(``catalog.node_tags``), on both backends."""

from __future__ import annotations

import time
from typing import Any

from tests.projection.helpers import ds, feed, run_event
from threadline.catalog.local import change
from threadline.catalog.node_tags import LineageNode, node_tags
from threadline.catalog.suggest import suggest
from threadline.openlineage.timestamps import now_micros
from threadline.store.sql import SqlStore

BUCKET = "gs://bucket"
QUALITY = {
    "displayName": "Data quality",
    "fields": {
        "score": {"displayName": "Score", "type": {"primitiveType": "DOUBLE"}, "order": 2},
        "level": {"type": {"enumType": {"allowedValues": [{"displayName": "GOLD"}, {"displayName": "RAW"}]}}},
        "ok": {"type": {"primitiveType": "BOOL"}},
        "note": {"type": {"primitiveType": "STRING"}, "order": 1},
    },
}
PII = {"displayName": "PII", "fields": {"kind": {"type": {"primitiveType": "STRING"}}}}


def _catalog(store: SqlStore) -> None:
    def work(p: Any) -> None:
        p.put_template("quality", QUALITY)
        p.put_template("pii", PII)
        p.put_group("sales", {"displayName": "Sales"})
        p.put_entry(
            "sales",
            "orders",
            {
                "type": "TABLE",
                "displayName": "Orders table",
                "userSpecifiedSystem": "postgres",
                "linkedResource": "dataset:warehouse:public.orders",
                "schema": {"columns": [{"column": "email"}, {"column": "phone"}, {"column": "total"}]},
            },
        )
        p.put_entry(
            "sales",
            "order-files",
            {"type": "FILESET", "gcsFilesetSpec": {"filePatterns": [f"{BUCKET}/orders/*"]}},
        )
        p.put_entry("sales", "refunds", {"type": "TABLE", "description": "money back"})
        p.put_tag(
            "sales",
            "orders",
            {
                "template": "quality",
                "fields": {
                    "note": {"stringValue": "Checked by the finance team"},
                    "level": {"enumValue": {"displayName": "GOLD"}},
                },
            },
        )
        for column in ("email", "phone"):
            p.put_tag(
                "sales",
                "orders",
                {"template": "pii", "column": column, "fields": {"kind": {"stringValue": column}}},
            )
        p.put_tag(
            "sales",
            "order-files",
            {"template": "quality", "fields": {"note": {"stringValue": "finance exports"}}},
        )

    change(store, work)


def _texts(store: SqlStore, query: str, limit: int = 10) -> list[str]:
    with store.read() as connection:
        return [s["text"] for s in suggest(connection, query, limit=limit)["suggestions"]]


def test_the_last_word_is_completed(store: SqlStore) -> None:
    _catalog(store)
    assert _texts(store, "")[:3] == ["name:", "description:", "column:"]
    assert _texts(store, "ty") == ["type="]
    # a template by id or display name, then (one matching) its fields, with their operators
    assert _texts(store, "tag:qu") == [
        "tag:quality",
        "tag:quality.score>=",
        "tag:quality.note:",
        "tag:quality.level=",
        "tag:quality.ok=",
    ]
    assert _texts(store, "tag:pi")[:2] == ["tag:pii", "tag:pii.kind:"]
    assert _texts(store, "dat") == ["tag:quality"]  # "Data quality"
    assert _texts(store, "tag:quality.le") == ["tag:quality.level="]
    # values: an enum's, booleans, the words that text values hold (the most used first)
    assert _texts(store, "tag:quality.level=g") == ["tag:quality.level=GOLD"]
    assert _texts(store, "tag:quality.ok=") == ["tag:quality.ok=true", "tag:quality.ok=false"]
    assert _texts(store, "tag:quality.note:fin") == ["tag:quality.note:finance"]
    assert _texts(store, "tag:quality.note:")[0] == "tag:quality.note:finance"
    assert _texts(store, "tag:quality.score>=") == []
    assert _texts(store, "tag:nope.x:") == []
    # types in use first, systems, groups, entries
    assert _texts(store, "type=")[:2] == ["type=FILESET", "type=TABLE"]
    assert _texts(store, "system=p") == ["system=postgres"]
    assert _texts(store, "parent:") == ["parent:sales"]
    assert _texts(store, "name:ref") == ["name:refunds"]
    with store.read() as connection:
        words = suggest(connection, "ord", limit=10)["suggestions"]
    assert {s["entry"] for s in words if s["kind"] == "entry"} == {
        "entryGroups/sales/entries/orders",
        "entryGroups/sales/entries/order-files",
    }
    assert _texts(store, "label.env:") == []
    assert len(_texts(store, "", limit=2)) == 2


def test_the_rest_of_the_query_is_kept(store: SqlStore) -> None:
    _catalog(store)
    with store.read() as connection:
        found = suggest(connection, 'description:"a b" -(tag:quality.level=R', limit=5)
    assert found["word"] == "tag:quality.level=R"
    assert [s["query"] for s in found["suggestions"]] == ['description:"a b" -(tag:quality.level=RAW ']
    with store.read() as connection:
        spaced = suggest(connection, "type=TABLE ", limit=1)["suggestions"]
    assert spaced[0]["query"] == "type=TABLE name:"


def test_lineage_nodes_carry_their_entries_tags(store: SqlStore) -> None:
    producer = {"tags": [{"key": "gdpr", "value": "true", "source": "producer"}]}
    feed(
        store,
        [
            run_event(
                "COMPLETE",
                1,
                1,
                job="export",
                namespace="sales",
                inputs=[ds("public.orders", "warehouse", tags=producer)],
                outputs=[ds("orders/part-0", BUCKET), ds("other/part-0", BUCKET)],
            )
        ],
    )
    _catalog(store)
    nodes = [
        LineageNode(
            "dataset:warehouse:public.orders",
            "dataset",
            _key(store, "public.orders"),
            "warehouse",
            "public.orders",
        ),
        LineageNode(
            f"dataset:{BUCKET}:orders/part-0",
            "dataset",
            _key(store, "orders/part-0"),
            BUCKET,
            "orders/part-0",
        ),
        LineageNode(
            f"dataset:{BUCKET}:other/part-0", "dataset", _key(store, "other/part-0"), BUCKET, "other/part-0"
        ),
    ]
    with store.read() as connection:
        badges = node_tags(connection, nodes)
    orders = badges["dataset:warehouse:public.orders"]
    assert [(b["name"], b["source"]) for b in orders] == [
        ("PII", "CATALOG"),
        ("Data quality", "CATALOG"),
        ("gdpr", "INTEGRATION"),
    ]
    assert orders[0]["columns"] == ["email", "phone"]  # one badge for the template's column tags
    assert "onEntry" not in orders[0]
    assert orders[1]["onEntry"] is True
    assert orders[1]["entry"] == "entryGroups/sales/entries/orders"
    # a file-set entry's tags on the datasets its patterns name, and on no other
    part = badges[f"dataset:{BUCKET}:orders/part-0"]
    assert [(b["name"], b["via"], b["entry"]) for b in part] == [
        ("Data quality", "filePattern", "entryGroups/sales/entries/order-files")
    ]
    assert f"dataset:{BUCKET}:other/part-0" not in badges
    with store.read() as connection:
        assert node_tags(connection, []) == {}
    # the file-set patterns are kept between calls, and read again after a catalog change
    feed(store, [run_event("COMPLETE", 2, 2, job="other", namespace="sales")])  # not a catalog change
    with store.read() as connection:
        assert f"dataset:{BUCKET}:other/part-0" not in node_tags(connection, nodes)
    change(
        store,
        lambda p: p.put_entry(
            "sales",
            "other-files",
            {"type": "FILESET", "gcsFilesetSpec": {"filePatterns": [f"{BUCKET}/other/*"]}},
        ),
    )
    change(store, lambda p: p.put_tag("sales", "other-files", {"template": "pii", "fields": {}}))
    with store.read() as connection:
        assert [b["name"] for b in node_tags(connection, nodes)[f"dataset:{BUCKET}:other/part-0"]] == ["PII"]
    tagged = now_micros()
    time.sleep(0.002)
    change(store, lambda p: p.delete_entry("sales", "other-files"))
    with store.read() as connection:
        now = node_tags(connection, nodes)
        assert f"dataset:{BUCKET}:other/part-0" not in now
        # as of a time: the catalog's tags as they were then (the file-set entry, deleted since)
        then = node_tags(connection, nodes, as_of=tagged)
        other = then[f"dataset:{BUCKET}:other/part-0"]
        assert [(b["name"], b["via"]) for b in other] == [("PII", "filePattern")]
        assert then["dataset:warehouse:public.orders"] == now["dataset:warehouse:public.orders"]
        before = node_tags(connection, nodes, as_of=1)  # before the catalog: the producer's tags only
        assert [(b["name"], b["source"]) for b in before["dataset:warehouse:public.orders"]] == [
            ("gdpr", "INTEGRATION")
        ]
        assert f"dataset:{BUCKET}:orders/part-0" not in before


def _key(store: SqlStore, name: str) -> str:
    rows = [r for r in store.table_rows("datasets") if r["name"] == name]
    return str(rows[0]["id"])
