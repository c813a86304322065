"""Tags propagated along column lineage: downstream through identity and transformation edges, not
through masking or aggregation, a person's value winning, shown with where they came from; on both
backends."""

from __future__ import annotations

from typing import Any

from tests.projection.helpers import ds, feed, run_event
from threadline.catalog.links import lookup
from threadline.catalog.local import change
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
