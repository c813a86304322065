"""Lineage's own entries: every dataset and job an entry of its namespace's system group
``@NAMESPACE`` without anyone registering it, found by search, tagged like any entry, written the
same in any order of the events, rebuilt by reindex; on both backends."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.projection.helpers import ds, feed, run_event
from threadline.catalog import implicit, reads
from threadline.catalog.files import export, load, plan_file
from threadline.catalog.links import lookup
from threadline.catalog.local import change, plan
from threadline.catalog.node_tags import LineageNode, node_tags
from threadline.catalog.query import parse
from threadline.catalog.search import load_docs, load_template_kinds, matches, search
from threadline.catalog.suggest import suggest
from threadline.errors import BadRequest, NotFound
from threadline.projection.projector import reindex
from threadline.store.sql import SqlStore

_SCHEMA = "https://openlineage.io/spec/facets/1-1-1/SchemaDatasetFacet.json"
PII = {"fields": {"kind": {"type": {"enumType": {"allowedValues": [{"displayName": "EMAIL"}]}}}}}
ORDERS_NS = "postgres://db.example.com:5432"


def _schema(*fields: dict[str, Any]) -> dict[str, Any]:
    return {"_schemaURL": _SCHEMA, "fields": list(fields)}


def _events() -> list[dict[str, Any]]:
    users = ds(
        "public.users",
        ORDERS_NS,
        schema=_schema(
            {"name": "email", "type": "text", "description": "where we write"},
            {"name": "address", "type": "struct", "fields": [{"name": "city", "type": "text"}]},
        ),
        documentation={"description": "Every customer who signed up"},
    )
    files = ds("/landing/orders 2026.csv", "s3://lake")
    return [
        run_event("START", 1, 1, job="load_users", inputs=[files], outputs=[users]),
        run_event("COMPLETE", 2, 1, job="load_users", inputs=[files], outputs=[users]),
        # a dataset and a job of the same name, in one namespace
        run_event(
            "COMPLETE", 3, 2, job="public.users", namespace=ORDERS_NS, outputs=[ds("public.users", ORDERS_NS)]
        ),
    ]


def _found(store: SqlStore, query: str) -> list[str]:
    with store.read() as connection:
        answer = search(connection, query, page_size=100)
        docs = load_docs(connection)
        kinds = load_template_kinds(connection)
    names = sorted(r["relativeResourceName"] for r in answer["results"])
    brute = sorted(d.name for d in docs if matches(parse(query), d, kinds))
    assert names == brute, query  # the index answers what the brute force answers
    return names


def _rows(store: SqlStore) -> list[tuple[Any, ...]]:
    with store.read() as connection:
        return [
            tuple(row)
            for row in connection.exec_driver_sql(
                "SELECT kind, name, parent, body, created_at, changed_at, t_name, t_columns, "
                "linked_resource, tag_templates FROM catalog_objects WHERE source = 'LINEAGE' "
                "ORDER BY kind, name"
            )
        ]


USERS = implicit.entry_name(ORDERS_NS, "public.users")
USERS_JOB = implicit.entry_name(ORDERS_NS, "public.users", job=True)


def test_every_dataset_and_job_is_an_entry_of_its_namespace(store: SqlStore) -> None:
    feed(store, _events())
    group = f"entryGroups/{implicit.group_id(ORDERS_NS)}"
    assert group == "entryGroups/@postgres___db.example.com_5432~" + group.rsplit("~", 1)[1]
    assert f"{group}/entries/public.users" == USERS
    assert f"{group}/entries/public.users~job" == USERS_JOB
    files = implicit.entry_name("s3://lake", "/landing/orders 2026.csv")
    assert files.rsplit("/", 1)[1].startswith("landing_orders_2026.csv~")
    with store.read() as connection:
        groups = [r.name for r in reads.list_records(connection, "group")[0]]
        users = reads.get(connection, "entry", USERS)
        job = reads.get(connection, "entry", USERS_JOB)
        found = lookup(connection, f"dataset:{ORDERS_NS}:public.users")
        by_job = lookup(connection, "job:ns:load_users")
    assert group in groups
    assert f"entryGroups/{implicit.group_id('ns')}" in groups
    assert users is not None
    assert job is not None
    assert users.body == {
        "type": "TABLE",
        "userSpecifiedSystem": "postgres",
        "displayName": "public.users",
        "description": "Every customer who signed up",
        "linkedResource": f"dataset:{ORDERS_NS}:public.users",
        "schema": {
            "columns": [
                {"column": "email", "type": "text", "description": "where we write"},
                {"column": "address", "type": "struct", "subcolumns": [{"column": "city", "type": "text"}]},
            ]
        },
    }
    assert (job.body["type"], job.body["linkedResource"]) == ("JOB", f"job:{ORDERS_NS}:public.users")
    assert found["name"] == USERS
    assert found["threadline"]["linkedNode"] == f"dataset:{ORDERS_NS}:public.users"
    assert by_job["name"] == implicit.entry_name("ns", "load_users", job=True)
    # found by search like any entry: by name, column, description, type and system
    assert _found(store, "customer") == [USERS]
    assert _found(store, "column:city") == [USERS]
    assert _found(store, "type=JOB system=postgres") == [USERS_JOB]
    assert _found(store, "orders") == [files]
    # type-ahead offers them by their dataset's name, whose words search finds
    with store.read() as connection:
        offered = [s for s in suggest(connection, "name:landing")["suggestions"] if s["kind"] == "entry"]
    assert [(s["entry"], s["query"]) for s in offered] == [(files, 'name:"/landing/orders 2026.csv" ')]
    assert _found(store, offered[0]["query"]) == [files]


def test_they_take_tags_are_read_only_and_are_the_same_in_any_order(store: SqlStore) -> None:
    feed(store, _events())
    before = _rows(store)
    change(store, lambda p: p.put_template("pii", PII))
    group, entry = USERS.split("/")[1], USERS.split("/")[3]
    tag = {
        "template": "pii",
        "column": "address.city",
        "fields": {"kind": {"enumValue": {"displayName": "EMAIL"}}},
    }
    change(store, lambda p: p.put_tag(group, entry, tag))
    assert _found(store, "tag:pii.kind=EMAIL") == [USERS]
    # the lineage view's badge of the dataset: the tag, where it is, and the entry that holds it
    dataset_id = next(str(r["id"]) for r in store.table_rows("datasets") if r["name"] == "public.users")
    node = f"dataset:{ORDERS_NS}:public.users"
    with store.read() as connection:
        (badge,) = node_tags(
            connection, [LineageNode(node, "dataset", dataset_id, ORDERS_NS, "public.users")]
        )[node]
    assert (badge["source"], badge["columns"], badge["entry"]) == ("CATALOG", ["address.city"], USERS)
    with pytest.raises(BadRequest, match="system group"):
        change(store, lambda p: p.put_entry(group, "mine", {"type": "TABLE"}))
    with pytest.raises(BadRequest, match="system group"):
        change(store, lambda p: p.delete_entry(group, entry))
    with pytest.raises(BadRequest, match="system group"):
        change(store, lambda p: p.delete_group(group, force=True))
    with pytest.raises(BadRequest, match="column"):  # the schema lineage knows is checked
        change(store, lambda p: p.put_tag(group, entry, {**tag, "column": "address.zip"}))
    # more events of the same datasets: the entries follow, the tags stay
    feed(store, [run_event("COMPLETE", 9, 3, job="load_users", outputs=[ds("public.users", ORDERS_NS)])])
    after = _rows(store)
    assert [r[:5] for r in after] == [r[:5] for r in before]  # the same bodies, created the same
    was = {b[1]: b[5] for b in before}
    changed = {r[1] for r in after if r[5] != was[r[1]]}
    assert USERS in changed  # the dataset changed last now
    assert USERS_JOB not in changed
    assert _found(store, "tag:pii") == [USERS]
    reindex(store)
    assert _rows(store) == after
    assert _found(store, "tag:pii") == [USERS]


def test_a_tag_that_came_before_its_dataset_counts_once_the_dataset_comes(store: SqlStore) -> None:
    """Another site's tag on lineage's entry can come before the events of the dataset (sync)."""
    feed(store, _events())
    change(store, lambda p: p.put_template("pii", PII))
    group, entry = USERS.split("/")[1], USERS.split("/")[3]
    tag = {"template": "pii", "fields": {"kind": {"enumValue": {"displayName": "EMAIL"}}}}
    change(store, lambda p: p.put_tag(group, entry, tag))
    expected = _rows(store)
    # a store that folds the catalog's events first (the dataset's come later): the same rows
    with store.write() as connection:
        connection.exec_driver_sql("DELETE FROM catalog_objects WHERE source = 'LINEAGE'")
    reindex(store)
    assert _rows(store) == expected
    assert _found(store, "tag:pii") == [USERS]


def test_catalog_files_tag_them_by_the_node_and_export_says_so(store: SqlStore, tmp_path: Path) -> None:
    feed(store, _events())
    change(store, lambda p: p.put_template("pii", PII))
    path = tmp_path / "catalog.yaml"
    path.write_text(
        "lineage:\n"
        f"  - linkedResource: dataset:{ORDERS_NS.upper().replace('POSTGRES', 'postgres')}:public.users\n"
        "    tags:\n"
        "      - {template: pii, column: email, fields: {kind: EMAIL}}\n"
    )
    doc = load(path)
    change(store, lambda p: plan_file(p, doc))
    assert _found(store, "tag:pii.kind=EMAIL") == [USERS]
    assert plan(store, lambda p: plan_file(p, doc))[1] == []  # applying twice: nothing to do
    with store.read() as connection:
        exported = export(connection)
    assert exported["lineage"] == [
        {
            "linkedResource": f"dataset:{ORDERS_NS}:public.users",
            "tags": [{"template": "pii", "column": "email", "fields": {"kind": "EMAIL"}}],
        }
    ]
    assert all(not g["id"].startswith("@") for g in exported["entryGroups"])
    for bad, says in (
        ({"linkedResource": "dataset:nowhere:x"}, "lineage\\[0\\].linkedResource: .*nowhere"),
        ({"linkedResource": "s3://x"}, "names no lineage dataset or job"),
        ({"linkedResource": "job:ns:load_users", "description": "x"}, "unknown key"),
        ({"tags": []}, "linkedResource is required"),
    ):
        with pytest.raises(BadRequest, match=says):
            change(store, lambda p, b=bad: plan_file(p, {"lineage": [b]}))
    with store.read() as connection, pytest.raises(NotFound):
        lookup(connection, "dataset:db:never.seen")
