"""Tags propagated along column lineage: downstream through identity and transformation edges, not
through masking or aggregation, a person's value winning, shown with where they came from; on both
backends."""

from __future__ import annotations

from typing import Any

from tests.projection.helpers import ds, feed, run_event
from threadline.catalog.links import lookup
from threadline.catalog.local import change
from threadline.catalog.node_tags import LineageNode, node_tags
from threadline.catalog.query import parse
from threadline.catalog.search import load_docs, load_template_kinds, matches, search
from threadline.openlineage.timestamps import now_micros
from threadline.projection.projector import reindex
from threadline.projection.propagation import rebuild
from threadline.store.sql import SqlStore

_FACET = "https://openlineage.io/spec/facets/1-2-0/ColumnLineageDatasetFacet.json"
PII = {
    "fields": {
        "kind": {
            "type": {"enumType": {"allowedValues": [{"displayName": "EMAIL"}, {"displayName": "PHONE"}]}},
            "propagate": "downstream",
        },
        "note": {"type": {"primitiveType": "STRING"}},  # not propagated
    }
}


def _step(job: str, run: int, source: str, target: str, field: str, out: str, **transformation: Any) -> dict:
    facet = {
        "_schemaURL": _FACET,
        "fields": {
            out: {
                "inputFields": [
                    {
                        "namespace": "db",
                        "name": source,
                        "field": field,
                        "transformations": [{"type": "DIRECT", **transformation}],
                    }
                ]
            }
        },
    }
    return run_event(
        "COMPLETE", run, run, job=job, inputs=[ds(source)], outputs=[ds(target, columnLineage=facet)]
    )


def _lineage() -> list[dict]:
    return [
        _step("copy", 1, "raw.users", "stage.users", "email", "email", subtype="IDENTITY"),
        _step("enrich", 2, "stage.users", "mart.users", "email", "contact", subtype="TRANSFORMATION"),
        _step(
            "mask",
            3,
            "raw.users",
            "safe.users",
            "email",
            "email_hash",
            subtype="TRANSFORMATION",
            masking=True,
        ),
        _step("count", 4, "raw.users", "stats.users", "email", "emails", subtype="AGGREGATION"),
        _step("copy_again", 5, "stage.users", "person.users", "email", "email", subtype="IDENTITY"),
    ]


def _tags(store: SqlStore, name: str) -> list[dict]:
    with store.read() as connection:
        return lookup(connection, f"dataset:db:{name}")["threadline"]["propagatedTags"]


def test_tags_propagate_downstream_until_a_breaker(store: SqlStore) -> None:
    feed(store, _lineage())
    change(store, lambda p: p.put_group("lake", {}))
    change(store, lambda p: p.put_template("pii", PII))
    for entry, dataset in (("raw", "raw.users"), ("person", "person.users")):
        change(
            store,
            lambda p, e=entry, d=dataset: p.put_entry(
                "lake",
                e,
                {
                    "type": "TABLE",
                    "linkedResource": f"dataset:db:{d}",
                    "schema": {"columns": [{"column": "email"}]},
                },
            ),
        )
    tag = {
        "template": "pii",
        "column": "email",
        "fields": {"kind": {"enumValue": {"displayName": "EMAIL"}}, "note": {"stringValue": "x"}},
    }
    change(store, lambda p: p.put_tag("lake", "raw", tag))
    # a person says the copy two hops down holds phone numbers: their value wins there
    mine = {"template": "pii", "column": "email", "fields": {"kind": {"enumValue": {"displayName": "PHONE"}}}}
    change(store, lambda p: p.put_tag("lake", "person", mine))

    stage = _tags(store, "stage.users")
    assert [(t["column"], t["fields"], t["via"], t["propagatedFrom"]) for t in stage] == [
        (
            "email",
            {"kind": {"enumValue": {"displayName": "EMAIL"}}},  # only the field marked propagate
            ["job:ns:copy"],
            {"tag": "entryGroups/lake/entries/raw/tags/pii@email", "column": "email"},
        )
    ]
    assert stage[0]["source"] == "PROPAGATED"
    mart = _tags(store, "mart.users")  # two hops, through a transformation, onto another column name
    assert [(t["column"], t["via"]) for t in mart] == [("contact", ["job:ns:copy", "job:ns:enrich"])]
    assert _tags(store, "safe.users") == []  # masked
    assert _tags(store, "stats.users") == []  # aggregated
    with store.read() as connection:
        person = lookup(connection, "dataset:db:person.users")
    assert person["threadline"]["propagatedTags"] == []  # the person's own value wins


# ---- stored: a projection kept by the fold, rebuilt by reindex, found by search --------------------


def _story(store: SqlStore, *, lineage_first: bool = True) -> None:
    """The lineage above plus one more hop below the person's value, the entries linking the datasets
    and the tags, with the lineage folded before or after the catalog."""
    lineage = [*_lineage(), _step("copy_more", 6, "person.users", "person2.users", "email", "email")]
    if lineage_first:
        feed(store, lineage)
    change(store, lambda p: p.put_group("lake", {}))
    change(store, lambda p: p.put_template("pii", PII))
    for dataset in ("raw", "stage", "mart", "safe", "stats", "person", "person2"):
        change(
            store,
            lambda p, d=dataset: p.put_entry(
                "lake", d, {"type": "TABLE", "linkedResource": f"dataset:db:{d}.users"}
            ),
        )

    def kind(value: str) -> dict:
        return {
            "template": "pii",
            "column": "email",
            "fields": {"kind": {"enumValue": {"displayName": value}}},
        }

    change(store, lambda p: p.put_tag("lake", "raw", kind("EMAIL")))
    change(store, lambda p: p.put_tag("lake", "person", kind("PHONE")))
    if not lineage_first:
        feed(store, lineage)


def _held(store: SqlStore) -> list[tuple[str, str, str, str, int]]:
    return sorted(
        (r["node"], r["column_name"], r["value"], r["origin_tag"], r["hops"])
        for r in store.table_rows("catalog_propagated")
    )


def _found(store: SqlStore, query: str) -> list[str]:
    with store.read() as connection:
        answer = search(connection, query, page_size=100)
        docs = load_docs(connection)
        kinds = load_template_kinds(connection)
    names = sorted(r["relativeResourceName"].rsplit("/", 1)[-1] for r in answer["results"])
    brute = sorted(d.name.rsplit("/", 1)[-1] for d in docs if matches(parse(query), d, kinds))
    assert names == brute, query  # the index answers what the brute force answers
    return names


def test_propagated_tags_are_stored_searchable_and_rebuilt_by_reindex(store: SqlStore) -> None:
    _story(store)
    held = _held(store)
    email = '{"enumValue": {"displayName": "EMAIL"}}'
    phone = '{"enumValue": {"displayName": "PHONE"}}'
    raw_tag = "entryGroups/lake/entries/raw/tags/pii@email"
    person_tag = "entryGroups/lake/entries/person/tags/pii@email"
    assert held == [
        ("dataset:db:mart.users", "contact", email, raw_tag, 2),
        # the person's value wins on their column and is what flows further down
        ("dataset:db:person2.users", "email", phone, person_tag, 1),
        ("dataset:db:stage.users", "email", email, raw_tag, 1),
    ]
    assert _found(store, "parent:lake tag:pii.kind=EMAIL") == ["mart", "raw", "stage"]
    assert _found(store, "parent:lake tag:pii.kind=PHONE") == ["person", "person2"]
    assert _found(store, "parent:lake tag:pii") == ["mart", "person", "person2", "raw", "stage"]
    assert _found(store, "parent:lake type=TABLE -tag:pii") == ["safe", "stats"]  # masked, aggregated
    assert _found(store, "parent:lake type=TABLE -tag:pii.kind=EMAIL") == [
        "person",
        "person2",
        "safe",
        "stats",
    ]
    # the datasets' own entries (lineage's, in @db) hold what propagated to their columns too
    assert _found(store, "parent:@db tag:pii.kind=EMAIL") == ["mart.users", "stage.users"]
    with store.read() as connection:
        answer = search(connection, "parent:lake tag:pii.kind=EMAIL", order_by="default")
    marks = {r["relativeResourceName"].rsplit("/", 1)[-1]: r.get("propagatedTags") for r in answer["results"]}
    assert marks == {"mart": ["pii.kind@contact"], "raw": None, "stage": ["pii.kind@email"]}
    reindex(store)
    assert _held(store) == held


def test_lineage_badges_show_propagated_tags(store: SqlStore) -> None:
    """A dataset's lineage badges hold the tags propagated to its columns (where from, through which
    jobs); an answer as of a time has none (propagation is kept for the present only)."""
    _story(store)
    ids = {r["name"]: str(r["id"]) for r in store.table_rows("datasets")}
    nodes = [LineageNode(f"dataset:db:{n}", "dataset", ids[n], "db", n) for n in ("mart.users", "raw.users")]
    with store.read() as connection:
        badges = node_tags(connection, nodes)
        assert "dataset:db:mart.users" not in node_tags(connection, nodes, as_of=now_micros())
    (mart,) = badges["dataset:db:mart.users"]
    assert (mart["source"], mart["template"], mart["columns"]) == ("PROPAGATED", "pii", ["contact"])
    assert [o["tag"] for o in mart["from"]] == ["entryGroups/lake/entries/raw/tags/pii@email"]
    assert len(mart["from"][0]["via"]) == 2  # two jobs from raw to mart
    assert [(b["source"], b["columns"]) for b in badges["dataset:db:raw.users"]] == [("CATALOG", ["email"])]


def test_stored_propagation_does_not_depend_on_the_order_and_follows_changes(
    store: SqlStore, store_url: str
) -> None:
    _story(store, lineage_first=False)  # the catalog first, lineage after it
    held = _held(store)
    assert [(node, hops) for node, *_, hops in held] == [
        ("dataset:db:mart.users", 2),
        ("dataset:db:person2.users", 1),
        ("dataset:db:stage.users", 1),
    ]
    # the source tag deleted: only the person's value is left; the template no longer propagating
    # leaves nothing; each state equals what a full rebuild computes
    change(store, lambda p: p.delete_tag("lake", "raw", "pii@email"))
    assert [node for node, *_ in _held(store)] == ["dataset:db:person2.users"]
    _assert_rebuild_agrees(store)
    plain = {"fields": {"kind": {**PII["fields"]["kind"], "propagate": None}, "note": PII["fields"]["note"]}}
    change(store, lambda p: p.put_template("pii", plain))
    assert _held(store) == []
    _assert_rebuild_agrees(store)


def _assert_rebuild_agrees(store: SqlStore) -> None:
    kept = _held(store)
    with store.write() as connection:
        rebuild(connection)
    assert _held(store) == kept
