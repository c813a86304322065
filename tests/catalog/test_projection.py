"""The catalog as a projection of the log: rebuilt by reindex, the same whatever order its events
arrive in (as at two sites syncing), readable as of any time; on both backends."""

from __future__ import annotations

from collections.abc import Callable

from threadline.catalog import reads
from threadline.catalog.local import change
from threadline.catalog.search import search
from threadline.openlineage.events import parse_event
from threadline.openlineage.timestamps import parse_time
from threadline.projection.projector import project_all, reindex
from threadline.store.sql import SqlStore

TABLES = ("catalog_objects", "catalog_tag_values", "catalog_history")
NOTES = {
    "fields": {"usage": {"type": {"primitiveType": "STRING"}}, "n": {"type": {"primitiveType": "DOUBLE"}}}
}


def _at(text: str) -> int:
    return parse_time(text)


def _build(store: SqlStore) -> None:
    change(store, lambda p: p.put_group("ml", {"displayName": "ML"}), event_time=_at("2024-01-01T00:00:00Z"))
    change(store, lambda p: p.put_template("notes", NOTES), event_time=_at("2024-01-02T00:00:00Z"))
    for name, when in (("pipe", "2024-01-03"), ("model", "2024-01-04")):
        change(
            store,
            lambda p, n=name: p.put_entry("ml", n, {"type": "MODEL", "description": f"the {n}"}),
            event_time=_at(f"{when}T00:00:00Z"),
        )
    tag = {
        "template": "tagTemplates/notes",
        "fields": {"usage": {"stringValue": "training"}, "n": {"doubleValue": 1}},
    }
    change(store, lambda p: p.put_tag("ml", "pipe", tag), event_time=_at("2024-02-01T00:00:00Z"))
    later = {"template": "tagTemplates/notes", "fields": {"usage": {"stringValue": "serving"}}}
    change(store, lambda p: p.put_tag("ml", "pipe", later), event_time=_at("2024-03-01T00:00:00Z"))
    change(store, lambda p: p.delete_entry("ml", "model"), event_time=_at("2024-04-01T00:00:00Z"))


def _snapshot(store: SqlStore) -> dict[str, list[dict]]:
    return {table: store.table_rows(table) for table in TABLES}


def _names(store: SqlStore, query: str) -> list[str]:
    with store.read() as connection:
        return [r["relativeResourceName"] for r in search(connection, query)["results"]]


def test_reindex_rebuilds_the_catalog_and_its_index(store: SqlStore) -> None:
    _build(store)
    before = _snapshot(store)
    assert _names(store, "tag:notes.usage:serving") == ["entryGroups/ml/entries/pipe"]
    reindex(store)
    assert _snapshot(store) == before
    assert _names(store, "tag:notes.usage:serving") == ["entryGroups/ml/entries/pipe"]
    assert _names(store, "tag:notes.usage:training") == []  # the tag's older value is not indexed
    assert _names(store, "tag:notes.n") == []  # nor the field the newer value dropped
    assert _names(store, "model") == []  # the deleted entry


def test_any_order_of_the_events_gives_the_same_catalog(
    store: SqlStore, new_store: Callable[[], SqlStore]
) -> None:
    _build(store)
    events = [e for batch in store.iter_events() for e in batch]
    other = new_store()
    for event in reversed(events):  # one at a time, newest first
        other.append([parse_event(bytes(event.raw))])
        project_all(other)
    assert _snapshot(other) == _snapshot(store)
    assert _names(other, "tag:notes.usage:serving") == ["entryGroups/ml/entries/pipe"]


def test_the_catalog_as_of_a_time(store: SqlStore) -> None:
    _build(store)
    with store.read() as connection:
        tag = "entryGroups/ml/entries/pipe/tags/notes"
        old = reads.get(connection, "tag", tag, as_of=_at("2024-02-15T00:00:00Z"))
        assert old is not None
        assert old.body["fields"]["usage"] == {"stringValue": "training"}
        assert reads.get(connection, "tag", tag, as_of=_at("2024-01-15T00:00:00Z")) is None
        entries, total = reads.list_records(
            connection, "entry", parent="entryGroups/ml", as_of=_at("2024-03-15T00:00:00Z")
        )
        assert [e.name for e in entries] == ["entryGroups/ml/entries/model", "entryGroups/ml/entries/pipe"]
        assert total == 2
        entries, _ = reads.list_records(connection, "entry", parent="entryGroups/ml")
        assert [e.name for e in entries] == ["entryGroups/ml/entries/pipe"]
        history = reads.history(connection, "tag", tag)
        assert [h["time"][:10] for h in history] == ["2024-02-01", "2024-03-01"]
