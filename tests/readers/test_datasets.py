"""Datasets: lookup by any spelling and by alias, schema, tags, facets, versions, paging."""

from __future__ import annotations

import pytest

from tests.projection.helpers import ds, feed, micros, run_event, run_id
from tests.readers.helpers import dataset_event, facet
from threadline.errors import BadRequest, NotFound
from threadline.projection.readers.datasets import (
    get_dataset,
    get_dataset_version,
    list_dataset_versions,
    list_datasets,
)
from threadline.projection.readers.namespaces import get_namespace, list_namespaces

SCHEMA = {
    "fields": [
        {"name": "id", "type": "BIGINT", "description": "key"},
        {
            "name": "address",
            "type": "STRUCT",
            "fields": [{"name": "city", "type": "STRING"}, {"name": "zip", "type": "STRING"}],
        },
    ]
}


def test_any_spelling_finds_a_dataset_and_the_first_spelling_is_shown(store) -> None:
    feed(
        store,
        [
            run_event("COMPLETE", 10, 1, outputs=[ds("public.t", "POSTGRES://DB.example.com/")]),
            run_event("COMPLETE", 20, 2, outputs=[ds("public.t", "postgresql://db.example.com:5432")]),
        ],
    )
    with store.read() as connection:
        for spelling in (
            "postgres://db.example.com:5432",
            "Postgres://DB.EXAMPLE.COM",
            "postgresql://db.example.com/",
        ):
            dataset = get_dataset(connection, spelling, "public.t")
            assert dataset.namespace == "POSTGRES://DB.example.com/"
            assert dataset.canonical_namespace == "postgres://db.example.com:5432"
        namespace = get_namespace(connection, "postgres://DB.example.com")
        assert namespace.display_name == "POSTGRES://DB.example.com/"
        assert [n.name for n in list_namespaces(connection).items] == ["ns", "postgres://db.example.com:5432"]
        page = list_datasets(connection, "postgresql://db.example.com")
        assert [d.name for d in page.items] == ["public.t"]


def test_schema_tags_and_standard_facets(store) -> None:
    tags = {
        "tags": [
            {"key": "pii", "value": "true"},
            {"key": "tier", "value": "gold", "source": "dbt"},
            {"key": "PII", "value": "true", "field": "address.city"},
        ]
    }
    feed(
        store,
        [
            run_event(
                "COMPLETE",
                10,
                1,
                outputs=[
                    ds(
                        "customers",
                        schema=SCHEMA,
                        tags=tags,
                        documentation={"description": "All customers"},
                        ownership={"owners": [{"name": "team:data", "type": "OWNER"}]},
                        dataSource={"name": "warehouse", "uri": "postgres://db:5432/wh"},
                        lifecycleStateChange={"lifecycleStateChange": "CREATE"},
                    )
                ],
            )
        ],
    )
    with store.read() as connection:
        dataset = get_dataset(connection, "db", "customers")
    assert [(f.path, f.name, f.depth, f.parent_path) for f in dataset.fields] == [
        ("id", "id", 0, None),
        ("address", "address", 0, None),
        ("address.city", "city", 1, "address"),
        ("address.zip", "zip", 1, "address"),
    ]
    assert [tag.name for tag in dataset.dataset_tags] == ["pii", "tier:gold"]
    assert [tag.name for tag in dataset.fields[2].tags] == ["PII"]
    assert dataset.description == "All customers"
    assert dataset.owners == [{"name": "team:data", "type": "OWNER"}]
    assert dataset.source_name == "warehouse"
    assert dataset.source_uri == "postgres://db:5432/wh"
    assert dataset.lifecycle_state == "CREATE"
    assert dataset.type == "DB_TABLE"
    assert set(dataset.facets) >= {"schema", "tags", "documentation", "ownership", "dataSource"}
    assert dataset.current_version == run_id(1)
    assert dataset.last_modified_at == micros(10)


def test_alias_lookup(store) -> None:
    symlinks = {
        "identifiers": [{"namespace": "HIVE://metastore:9083", "name": "default.tbl", "type": "TABLE"}]
    }
    feed(store, [run_event("COMPLETE", 10, 1, outputs=[ds("/warehouse/tbl", "file", symlinks=symlinks)])])
    with store.read() as connection:
        dataset = get_dataset(connection, "hive://metastore:9083", "default.tbl")
        assert (dataset.namespace, dataset.name) == ("file", "/warehouse/tbl")
        assert [(a.namespace, a.name, a.type) for a in dataset.aliases] == [
            ("hive://metastore:9083", "default.tbl", "TABLE")
        ]
        with pytest.raises(NotFound, match=r"no dataset 'other\.tbl'"):
            get_dataset(connection, "hive://metastore:9083", "other.tbl")


def test_unknown_namespace_and_dataset_are_named(store) -> None:
    feed(store, [run_event("COMPLETE", 10, 1, outputs=[ds("t")])])
    with store.read() as connection:
        with pytest.raises(NotFound, match="no namespace 'nowhere'"):
            get_dataset(connection, "nowhere", "t")
        with pytest.raises(NotFound, match="no dataset 'missing' in namespace 'db'"):
            get_dataset(connection, "db", "missing")
        with pytest.raises(NotFound, match="no namespace 'nowhere'"):
            list_datasets(connection, "nowhere")
        with pytest.raises(BadRequest, match="limit"):
            list_datasets(connection, "db", limit=-1)
        with pytest.raises(BadRequest, match="offset"):
            list_datasets(connection, "db", offset=-5)


def test_paging_is_sorted_across_pages(store) -> None:
    names = [f"t{i:02d}" for i in range(23)]
    shuffled = names[7:] + names[:7]
    feed(store, [run_event("COMPLETE", i, i + 1, outputs=[ds(name)]) for i, name in enumerate(shuffled)])
    seen = []
    with store.read() as connection:
        for offset in range(0, 30, 5):
            page = list_datasets(connection, "db", limit=5, offset=offset)
            assert page.total == 23
            seen += [d.name for d in page.items]
        everywhere = list_datasets(connection, None, limit=100)
    assert seen == names
    assert [d.name for d in everywhere.items] == names


def test_versions_newest_first_with_the_run_that_wrote_them(store) -> None:
    feed(
        store,
        [
            run_event("START", 10, 1, outputs=[ds("t", schema={"fields": [{"name": "a", "type": "INT"}]})]),
            run_event("COMPLETE", 20, 1),
            run_event("FAIL", 30, 2, outputs=[ds("t", schema=SCHEMA)]),
            run_event("COMPLETE", 40, 3, job="other", outputs=[ds("t", version={"datasetVersion": "v3"})]),
        ],
    )
    with store.read() as connection:
        page = list_dataset_versions(connection, "db", "t")
        assert page.total == 3
        assert [v.version for v in page.items] == ["v3", run_id(2), run_id(1)]
        assert [v.created_by.id if v.created_by else None for v in page.items] == [
            run_id(3),
            run_id(2),
            run_id(1),
        ]
        assert [f.name for f in page.items[2].fields] == ["a"]  # each version has its own schema
        assert page.items[1].created_by.state == "FAIL"
        second = list_dataset_versions(connection, "db", "t", limit=1, offset=1)
        assert [v.version for v in second.items] == [run_id(2)]
        one = get_dataset_version(connection, "db", "t", run_id(1))
        assert one.created_at == micros(10)
        with pytest.raises(NotFound, match="no version 'nope'"):
            get_dataset_version(connection, "db", "t", "nope")
        dataset = get_dataset(connection, "db", "t")
    # only runs that completed count as modifying the dataset
    assert dataset.last_modified_at == micros(40)


def test_dataset_events_and_deleted_facets(store) -> None:
    feed(
        store,
        [
            dataset_event(10, "t", documentation=facet(description="first")),
            dataset_event(20, "t", documentation={"_deleted": True}),
        ],
    )
    with store.read() as connection:
        dataset = get_dataset(connection, "db", "t")
    assert dataset.description is None
    assert "documentation" not in dataset.facets
