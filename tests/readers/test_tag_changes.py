"""Tag changes as operations: each tag's latest change wins, over the ``tags`` facet when it is later,
in any order of folding, and the events are valid OpenLineage with a valid facet."""

from __future__ import annotations

import json
import random
from pathlib import Path

import jsonschema
import pytest
from referencing import Registry, Resource

from tests.projection.helpers import ds, feed, micros
from tests.readers.helpers import dataset_event, facet, job_event
from threadline.openlineage.events import parse_event
from threadline.openlineage.tag_changes import SCHEMA_URL
from threadline.projection.readers.datasets import get_dataset
from threadline.projection.readers.jobs import get_job
from threadline.projection.readers.tags import (
    Tag,
    TagState,
    dataset_tags_event,
    list_tags,
    merge_tags,
    tag_change,
    tag_change_event,
)
from threadline.store import open_store

SPEC_ID = "https://openlineage.io/spec/2-0-2/OpenLineage.json"
SCHEMAS = Path(__file__).resolve().parents[2] / "src" / "threadline" / "tracking" / "schemas"


def _change(second: int, action: str, tag: str, field: str | None = None, kind: str = "dataset") -> bytes:
    name = "orders" if kind == "dataset" else "load"
    namespace = "db" if kind == "dataset" else "ns"
    return tag_change_event(
        kind, namespace, name, [tag_change(action, tag, field, "alice")], event_time=micros(second)
    )


def _tags_facet(second: int, *names: str) -> bytes:
    return dataset_tags_event(
        "db", "orders", [Tag(n, "true", "dbt") for n in names], event_time=micros(second)
    )


def _state(stamp: str, action: str, tag: str, field: str | None = None) -> TagState:
    return TagState(field, tag, action, "true", "threadline", stamp)


def test_the_later_of_facet_and_change_speaks_for_each_tag() -> None:
    facet_tags = [Tag("gold", "true"), Tag("pii", "true", field="email")]

    def own(tags: list[Tag]) -> list[str]:
        return [t.name for t in tags if t.field is None]

    # a change after the facet: it applies
    assert own(merge_tags(facet_tags, "05", [_state("07", "remove", "gold")])) == []
    # the facet, written after the change, names the tag: the facet says it
    assert own(merge_tags(facet_tags, "09", [_state("07", "remove", "gold")])) == ["gold"]
    # a facet that does not name a tag says nothing of it: an older addition stands
    added = merge_tags(facet_tags, "09", [_state("07", "add", "new")])
    assert own(added) == ["gold", "new"]
    # field tags are their own tags
    removed = merge_tags(facet_tags, "05", [_state("07", "remove", "pii")])
    assert [(t.name, t.field) for t in removed] == [("gold", None), ("pii", "email")]
    removed = merge_tags(facet_tags, "05", [_state("07", "remove", "pii", "email")])
    assert [(t.name, t.field) for t in removed] == [("gold", None)]


def test_changes_merge_in_any_order_and_any_batching(new_store) -> None:
    events = [dataset_event(1, "orders", schema=facet(fields=[{"name": "email", "type": "string"}]))]
    events += [job_event(1, job="load", outputs=[ds("orders")])]
    raw = [json.dumps(e).encode() for e in events]
    raw += [_tags_facet(2, "gold", "dbt_model")]
    raw += [_change(3, "add", f"t{i}") for i in range(8)]
    raw += [_change(4, "remove", f"t{i}") for i in range(0, 8, 2)]
    raw += [_change(4, "add", "pii", "email"), _change(5, "remove", "gold"), _tags_facet(6, "gold")]
    raw += [_change(3, "add", "tier1", kind="job"), _change(5, "add", "tier2", kind="job")]
    raw += [_change(6, "remove", "tier1", kind="job")]
    expected = None
    for seed in range(6):
        order = raw[:]
        random.Random(seed).shuffle(order)
        store = new_store()
        cut = random.Random(seed).randrange(1, len(order))
        feed(store, order[:cut])
        feed(store, order[cut:] + order[: cut // 2])  # and some twice
        with store.read() as connection:
            dataset = get_dataset(connection, "db", "orders")
            job = get_job(connection, "ns", "load")
            tags = list_tags(connection)
        got = (
            sorted(t.name for t in dataset.dataset_tags),
            {f.name: [t.name for t in f.tags] for f in dataset.fields},
            sorted(t.name for t in job.tags),
            sorted((t.name, t.uses) for t in tags.items),
        )
        if expected is None:
            expected = got
        assert got == expected, seed
    assert expected == (
        ["gold", "t1", "t3", "t5", "t7"],  # the facet at 6 drops dbt_model and names gold again
        {"email": ["pii"]},
        ["tier2"],
        sorted([("gold", 1), ("pii", 1), ("tier2", 1), *((f"t{i}", 1) for i in (1, 3, 5, 7))]),
    )


def test_a_tag_change_is_no_facet_of_its_entity(store) -> None:
    feed(store, [dataset_event(1, "orders"), _change(2, "add", "pii")])
    with store.read() as connection:
        dataset = get_dataset(connection, "db", "orders")
    assert [t.name for t in dataset.tags] == ["pii"]
    assert "threadline_tag_changes" not in dataset.facets


@pytest.fixture(scope="module")
def registry(conformance: Path) -> Registry:
    spec = json.loads((conformance / "spec" / "2-0-2" / "OpenLineage.json").read_text())
    resources = [(SPEC_ID, Resource.from_contents(spec))]
    for path in SCHEMAS.glob("*/*.json"):
        document = json.loads(path.read_text())
        resources.append((document["$id"], Resource.from_contents(document)))
    return Registry().with_resources(resources)


@pytest.mark.parametrize("kind", ["dataset", "job"])
def test_tag_change_events_are_valid_openlineage_with_a_valid_facet(registry: Registry, kind: str) -> None:
    raw = _change(1, "add", "pii", "email" if kind == "dataset" else None, kind=kind)
    event = json.loads(raw)
    defs = {"dataset": "DatasetEvent", "job": "JobEvent"}
    for instance, url in (
        (event, f"{SPEC_ID}#/$defs/{defs[kind]}"),
        (event[kind]["facets"]["threadline_tag_changes"], SCHEMA_URL),
    ):
        validator = jsonschema.Draft202012Validator({"$ref": url}, registry=registry)
        assert not [e.message for e in validator.iter_errors(instance)]
    assert parse_event(raw).problems == []
    path = SCHEMAS / SCHEMA_URL.split("/schemas/", 1)[1].split("#", 1)[0]
    jsonschema.Draft202012Validator.check_schema(json.loads(path.read_text()))


def test_a_store_before_tag_changes_upgrades(tmp_path: Path) -> None:
    """The migration adds the table; tag sets written before keep reading the same."""
    from threadline.store.migrate import head_revision, upgrade

    url = f"sqlite:///{tmp_path / 'old.db'}"
    store = open_store(url)
    feed(store, [dataset_event(1, "orders"), _tags_facet(2, "gold")])
    with store.engine.begin() as connection:
        connection.exec_driver_sql("DROP TABLE tag_changes")
        connection.exec_driver_sql("DROP TABLE catalog_propagated")  # revision 0008's
        for table in ("catalog_fts", "catalog_history", "catalog_tag_values", "catalog_objects"):
            connection.exec_driver_sql(f"DROP TABLE {table}")  # revision 0007's, after this one
        connection.exec_driver_sql("UPDATE alembic_version SET version_num = '0005'")
    store.close()
    with pytest.raises(Exception, match=head_revision()):
        open_store(url)
    from sqlalchemy import create_engine

    engine = create_engine(url)
    assert upgrade(engine) == ("0005", head_revision())
    engine.dispose()
    store = open_store(url)
    feed(store, [_change(3, "add", "pii")])
    with store.read() as connection:
        assert sorted(t.name for t in get_dataset(connection, "db", "orders").tags) == ["gold", "pii"]
    store.close()
