"""Search, sources and tags, read from the projections; tag events folded like any other event."""

from __future__ import annotations

import json

import pytest

from tests.projection.helpers import ds, feed, run_event, run_id
from tests.readers.helpers import facet
from threadline.errors import BadRequest, NotFound
from threadline.openlineage.events import parse_event
from threadline.projection.readers.common import CATALOG_NAMESPACE
from threadline.projection.readers.datasets import get_dataset, list_datasets
from threadline.projection.readers.namespaces import list_namespaces
from threadline.projection.readers.search import parse_filter, parse_sort, search
from threadline.projection.readers.sources import get_source, list_sources
from threadline.projection.readers.tags import (
    Tag,
    check_tag_name,
    dataset_tags_event,
    list_tags,
    parse_tags,
    tag_definition_event,
    with_tag,
    without_tag,
)


@pytest.fixture
def loaded(store):
    feed(
        store,
        [
            run_event(
                "COMPLETE",
                10,
                1,
                job="load_Customers",
                inputs=[
                    ds(
                        "raw.orders",
                        "postgres://pg:5432",
                        dataSource={"name": "pg", "uri": "postgres://pg:5432/x"},
                    )
                ],
                outputs=[
                    ds(
                        "lake/customers",
                        "s3://lake",
                        schema={"fields": [{"name": "email", "type": "STRING"}]},
                    )
                ],
            ),
            run_event(
                "COMPLETE",
                20,
                2,
                job="report",
                inputs=[ds("lake/customers", "s3://lake")],
                outputs=[ds("CUSTOMER_report", "s3://lake")],
            ),
        ],
    )
    return store


def test_search_names_case_insensitively_sorted(loaded) -> None:
    with loaded.read() as connection:
        page = search(connection, "customer")
        assert page.total == 3
        assert [(r.type, r.name) for r in page.items] == [
            ("DATASET", "CUSTOMER_report"),
            ("DATASET", "lake/customers"),
            ("JOB", "load_Customers"),
        ]
        assert page.items[1].node_id == "dataset:s3://lake:lake/customers"
        assert page.items[2].node_id == "job:ns:load_Customers"
        newest = search(connection, "customer", sort="UPDATE_AT", limit=1)
        assert (newest.total, [r.name for r in newest.items]) == (3, ["CUSTOMER_report"])
        jobs_only = search(connection, "CUSTOMER", kind="JOB")
        assert [r.name for r in jobs_only.items] == ["load_Customers"]
        in_lake = search(connection, "customer", namespace="S3://LAKE/", kind="DATASET")
        assert [r.name for r in in_lake.items] == ["CUSTOMER_report", "lake/customers"]
        # '_' and '%' are wildcards, as in Marquez
        assert [r.name for r in search(connection, "lake_cust", kind="DATASET").items] == ["lake/customers"]
        assert [r.name for r in search(connection, "lake%report", kind="DATASET").items] == []
        assert [r.name for r in search(connection, "c%report", kind="DATASET").items] == ["CUSTOMER_report"]


def test_search_extensions_fields_and_run_ids(loaded) -> None:
    with loaded.read() as connection:
        by_field = search(connection, "EMAIL")
        assert [(r.type, r.name, r.match) for r in by_field.items] == [("DATASET", "lake/customers", "field")]
        runs = search(connection, run_id(2))
        assert [(r.type, r.name, r.node_id) for r in runs.items] == [("RUN", run_id(2), f"run:{run_id(2)}")]
        assert search(connection, run_id(2), kind="DATASET").total == 0


def test_search_refuses_bad_input(loaded) -> None:
    with loaded.read() as connection, pytest.raises(BadRequest, match="q must not be empty"):
        search(connection, "  ")
    with pytest.raises(BadRequest, match="filter must be one of"):
        parse_filter("tables")
    with pytest.raises(BadRequest, match="sort must be NAME, UPDATE_AT or RELEVANCE"):
        parse_sort("size")
    assert parse_filter("all") is None
    assert parse_filter("dataset") == "DATASET"
    assert parse_sort("updated_at") == "UPDATE_AT"


def test_sources_from_datasource_facets_else_namespaces(loaded) -> None:
    with loaded.read() as connection:
        page = list_sources(connection)
        assert [(s.name, s.connection_url, s.dataset_count, s.type) for s in page.items] == [
            ("pg", "postgres://pg:5432/x", 1, "POSTGRES"),
            ("s3://lake", "s3://lake", 2, "S3"),
        ]
        assert [s.name for s in list_sources(connection, limit=1, offset=1).items] == ["s3://lake"]
        assert get_source(connection, "pg").dataset_count == 1
        with pytest.raises(NotFound, match="no source 'nope'"):
            get_source(connection, "nope")


def test_tag_names_and_changes() -> None:
    tags = parse_tags(
        {
            "tags": [
                {"key": "pii", "value": "true"},
                {"key": "tier", "value": "gold"},
                {"bad": 1},
                {"key": "x", "value": "x"},
            ]
        }
    )
    assert [t.name for t in tags] == ["pii", "tier:gold", "x"]
    assert with_tag(tags, "pii") is None
    added = with_tag(tags, "pii", "email")
    assert added is not None
    assert added[-1] == Tag("pii", "true", "threadline", "email")
    assert without_tag(tags, "nope") is None
    assert [t.name for t in without_tag(tags, "tier") or []] == ["pii", "x"]
    assert check_tag_name("  PII ") == "PII"
    for bad in ("", "a\nb", "x" * 256):
        with pytest.raises(BadRequest, match="tag name"):
            check_tag_name(bad)


def test_tag_events_fold_into_tags(loaded) -> None:
    event = dataset_tags_event(
        "S3://lake/", "lake/customers", [Tag("PII", "true", "threadline"), Tag("K", "true", field="email")]
    )
    doc = json.loads(event)
    assert doc["schemaURL"].endswith("/2-0-2/OpenLineage.json#/$defs/DatasetEvent")
    assert doc["producer"] == "https://github.com/threadline-dev/threadline"
    parsed = parse_event(event)
    assert parsed.problems == []
    feed(loaded, [event, tag_definition_event("PII", "personal data")])
    with loaded.read() as connection:
        dataset = get_dataset(connection, "s3://lake", "lake/customers")
        assert [t.name for t in dataset.dataset_tags] == ["PII"]
        assert [t.name for t in dataset.fields[0].tags] == ["K"]
        assert dataset.namespace == "s3://lake"  # the display spelling is the first seen, not the tag event's
        tags = list_tags(connection)
        assert [(t.name, t.description, t.uses) for t in tags.items] == [
            ("K", None, 1),
            ("PII", "personal data", 1),
        ]
        assert [t.name for t in list_tags(connection, limit=1, offset=1).items] == ["PII"]
        # the catalog's own namespace stays hidden
        assert CATALOG_NAMESPACE not in [n.name for n in list_namespaces(connection).items]
        assert list_datasets(connection, None).total == 3
        assert search(connection, "tags/").total == 0
        with pytest.raises(NotFound):
            list_datasets(connection, CATALOG_NAMESPACE)
    assert facet(a=1)["a"] == 1
