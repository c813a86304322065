"""The storage contract, run against every backend through the ``store`` fixture."""

from __future__ import annotations

import json
import uuid

import pytest

from threadline.errors import BadRequest, NotFound
from threadline.openlineage.events import ParsedEvent, parse_event
from threadline.openlineage.timestamps import parse_time
from threadline.projection import project_all
from threadline.store import schema
from threadline.store.base import EventFilter

BASE = "2024-05-01T12:00:{:02d}Z"


def event_doc(second: int, *, job: str = "job", run_id: str | None = None, **extra) -> dict:
    return {
        "eventType": "COMPLETE",
        "eventTime": BASE.format(second),
        "run": {"runId": run_id or str(uuid.UUID(int=second + 1))},
        "job": {"namespace": "ns", "name": job},
        "inputs": [{"namespace": "db", "name": "in"}],
        "outputs": [{"namespace": "db", "name": "out"}],
        "producer": "https://example.com/p",
        **extra,
    }


def make(second: int, **kwargs) -> ParsedEvent:
    return parse_event(json.dumps(event_doc(second, **kwargs)).encode())


def micros(second: int) -> int:
    return parse_time(BASE.format(second))


# ---- append -----------------------------------------------------------------------------------------


def test_append_reports_inserted_and_duplicates(store) -> None:
    a, b, c = make(1), make(2), make(3)
    first = store.append([a, b])
    assert first.inserted == [a.id, b.id]
    assert first.duplicates == []
    second = store.append([b, c, a])
    assert second.inserted == [c.id]
    assert second.duplicates == [b.id, a.id]
    assert store.count_events() == 3


def test_duplicates_inside_one_call_are_stored_once(store) -> None:
    a, b = make(1), make(2)
    result = store.append([a, b, a, a])
    assert result.inserted == [a.id, b.id]
    assert result.duplicates == [a.id, a.id]
    assert store.count_events() == 2
    assert store.projection_lag() == 2


def test_append_nothing(store) -> None:
    result = store.append([])
    assert result.inserted == []
    assert result.duplicates == []
    assert store.count_events() == 0


@pytest.mark.parametrize(
    "raw",
    [
        b'{"eventTime":"2024-05-01T12:00:01Z","producer":"p","dataset":{"namespace":"n","name":"a"}}',
        b'{\n\t"producer" :  "p" ,\r\n "eventTime":"2024-05-01T12:00:01Z",\n'
        b'  "dataset" : { "name":"a" , "namespace":"n" }\n}\n',
        '{"eventTime":"2024-05-01T12:00:01Z","producer":"prödücér ✓ \\u00e9",'
        '"dataset":{"namespace":"名前空間","name":"表 🚀"}}'.encode(),
        b'{"dataset":{"namespace":"n","name":"a","facets":{"x":{"_producer":"p","_schemaURL":"s",'
        b'"n":1.50,"e":1e3,"z":-0.0}}},"eventTime":"2024-05-01T12:00:01Z","producer":"p"}',
    ],
    ids=["compact", "odd-whitespace", "unicode", "numbers"],
)
def test_raw_bytes_are_kept_byte_for_byte(store, raw: bytes) -> None:
    event = parse_event(raw)
    store.append([event])
    stored = store.get_event(event.id)
    assert stored is not None
    assert stored.raw == raw
    assert isinstance(stored.raw, bytes)
    page = store.list_events()
    assert [e.raw for e in page.events] == [raw]
    assert next(iter(store.iter_events()))[0].raw == raw


def test_the_same_event_with_other_whitespace_or_key_order_is_a_duplicate(store) -> None:
    doc = event_doc(5)
    compact = parse_event(json.dumps(doc, separators=(",", ":")).encode())
    pretty = parse_event(json.dumps(doc, indent=4, sort_keys=True).encode())
    assert compact.raw != pretty.raw
    assert store.append([compact]).inserted == [compact.id]
    result = store.append([pretty])
    assert result.inserted == []
    assert result.duplicates == [compact.id]
    # The first bytes received are the ones kept.
    assert store.get_event(compact.id).raw == compact.raw


def test_stored_event_columns(store) -> None:
    doc = event_doc(7, job="the_job", run_id="run_id")
    event = parse_event(json.dumps(doc).encode())
    store.append([event])
    stored = store.get_event(event.id)
    assert stored.event_time == micros(7)
    assert stored.kind == "RunEvent"
    assert stored.event_type == "COMPLETE"
    assert stored.run_id == event.run_id
    assert (stored.job_namespace, stored.job_name) == ("ns", "the_job")
    assert stored.producer == "https://example.com/p"
    assert stored.problems == [p.to_dict() for p in event.problems]
    assert stored.problems[0]["path"] == "run.runId"
    assert stored.seq > 0
    assert stored.received_at > micros(7)
    assert store.get_event("0" * 64) is None


# ---- listing ----------------------------------------------------------------------------------------


@pytest.fixture
def ten(store):
    """Ten events with event times 10..19 s, appended in a scrambled order."""
    events = {second: make(second) for second in range(10, 20)}
    order = [13, 19, 10, 15, 11, 18, 12, 17, 14, 16]
    store.append([events[s] for s in order])
    return events


def seconds(page) -> list[int]:
    return [(e.event_time - micros(0)) // 1_000_000 for e in page.events]


def test_list_events_newest_event_time_first(store, ten) -> None:
    page = store.list_events()
    assert seconds(page) == list(range(19, 9, -1))
    assert page.total == 10


def test_list_events_limit_and_offset(store, ten) -> None:
    assert seconds(store.list_events(limit=3)) == [19, 18, 17]
    assert seconds(store.list_events(limit=3, offset=3)) == [16, 15, 14]
    page = store.list_events(limit=4, offset=8)
    assert seconds(page) == [11, 10]
    assert page.total == 10
    assert store.list_events(limit=5, offset=50).events == []


def test_list_events_before_and_after(store, ten) -> None:
    page = store.list_events(before=micros(15))
    assert seconds(page) == [15, 14, 13, 12, 11, 10]
    assert page.total == 6
    page = store.list_events(after=micros(15))
    assert seconds(page) == [19, 18, 17, 16]
    assert page.total == 4
    page = store.list_events(after=micros(11), before=micros(14), limit=2)
    assert seconds(page) == [14, 13]
    assert page.total == 3
    assert store.list_events(after=micros(19)).total == 0


def test_events_with_the_same_time_list_newest_arrival_first(store) -> None:
    a, b = make(3, job="a"), make(3, job="b")
    store.append([a])
    store.append([b])
    assert [e.id for e in store.list_events().events] == [b.id, a.id]


def test_list_events_with_problems(store, ten) -> None:
    odd = make(30, run_id="not-a-uuid")
    store.append([odd])
    page = store.list_events(with_problems=True)
    assert [e.id for e in page.events] == [odd.id]
    assert page.total == 1
    assert page.events[0].problems[0]["path"] == "run.runId"
    assert store.list_events().total == 11


def test_count_events(store, ten) -> None:
    assert store.count_events() == 10
    store.append([make(40), make(10)])
    assert store.count_events() == 11


def test_iter_events_in_arrival_order_and_batches(store, ten) -> None:
    batches = list(store.iter_events(batch_size=3))
    assert [len(b) for b in batches] == [3, 3, 3, 1]
    flat = [e for batch in batches for e in batch]
    assert [(e.event_time - micros(0)) // 1_000_000 for e in flat] == [13, 19, 10, 15, 11, 18, 12, 17, 14, 16]
    seqs = [e.seq for e in flat]
    assert seqs == sorted(seqs)
    assert len(set(seqs)) == 10
    rest = [e for batch in store.iter_events(after_seq=seqs[6]) for e in batch]
    assert [e.seq for e in rest] == seqs[7:]
    assert list(store.iter_events(after_seq=seqs[-1])) == []


# ---- API keys ---------------------------------------------------------------------------------------


def test_api_keys_create_verify_list_revoke(store) -> None:
    assert store.has_api_keys() is False
    secret, key = store.create_api_key("ci", "write")
    assert secret not in repr(store.list_api_keys())
    assert key.name == "ci"
    assert key.scope == "write"
    assert key.active
    assert store.has_api_keys() is True
    verified = store.verify_api_key(secret)
    assert verified is not None
    assert verified.id == key.id
    assert store.verify_api_key(secret + "x") is None
    assert store.verify_api_key("tl_" + key.id + "_wrong") is None
    assert store.verify_api_key("") is None
    assert store.verify_api_key("Bearer " + secret) is None

    other_secret, other = store.create_api_key("  reader  ", "read")
    assert other.name == "reader"
    assert [k.name for k in store.list_api_keys()] == ["ci", "reader"]

    revoked = store.revoke_api_key("ci")
    assert revoked.revoked_at is not None
    assert not revoked.active
    assert store.verify_api_key(secret) is None
    assert store.verify_api_key(other_secret).name == "reader"
    assert {k.name: k.active for k in store.list_api_keys()} == {"ci": False, "reader": True}
    store.revoke_api_key(other.id)  # by id
    assert store.has_api_keys() is False
    # Revoking again keeps the first revocation time.
    assert store.revoke_api_key("ci").revoked_at == revoked.revoked_at


def test_api_keys_are_stored_hashed(store) -> None:
    secret, _ = store.create_api_key("hashed", "admin")
    from sqlalchemy import select

    with store.read() as connection:
        row = connection.execute(select(schema.api_keys)).one()
    assert secret not in [str(v) for v in row]
    assert row.key_hash != secret
    assert len(row.key_hash) == 64


def test_api_key_errors(store) -> None:
    store.create_api_key("one", "read")
    with pytest.raises(BadRequest, match="one"):
        store.create_api_key("one", "admin")
    with pytest.raises(BadRequest, match="scope"):
        store.create_api_key("two", "superuser")
    with pytest.raises(BadRequest):
        store.create_api_key("   ", "read")
    with pytest.raises(NotFound):
        store.revoke_api_key("nobody")
    assert [k.name for k in store.list_api_keys()] == ["one"]


@pytest.mark.parametrize(
    ("scope", "allowed"),
    [("read", {"read"}), ("write", {"read", "write"}), ("admin", {"read", "write", "admin"})],
)
def test_api_key_scopes(store, scope: str, allowed: set[str]) -> None:
    secret, _ = store.create_api_key(f"k-{scope}", scope)
    key = store.verify_api_key(secret)
    assert {needed for needed in ("read", "write", "admin") if key.allows(needed)} == allowed


# ---- projections ------------------------------------------------------------------------------------


def test_table_rows_of_an_unknown_table_is_not_found(store) -> None:
    with pytest.raises(NotFound, match="nope"):
        store.table_rows("nope")
    with pytest.raises(NotFound):
        store.table_rows("events")  # the log is not a projection table
    with pytest.raises(NotFound):
        store.table_rows("api_keys")
    for table in schema.PROJECTION_TABLES:
        assert store.table_rows(table.name) == []


def test_projection_lag_counts_queued_events(store) -> None:
    assert store.projection_lag() == 0
    store.append([make(1), make(2), make(3)])
    assert store.projection_lag() == 3
    store.append([make(1)])
    assert store.projection_lag() == 3
    assert project_all(store) == 3
    assert store.projection_lag() == 0
    assert len(store.table_rows("runs")) == 3
    store.append([make(4)])
    assert store.projection_lag() == 1
    assert project_all(store, batch_size=1) == 1
    assert store.projection_lag() == 0
    assert project_all(store) == 0


def test_table_rows_are_sorted(store) -> None:
    store.append([make(s, job=f"job{9 - s}") for s in range(5)])
    project_all(store)
    rows = store.table_rows("jobs")
    assert len(rows) == 5
    assert [r["id"] for r in rows] == sorted(r["id"] for r in rows)


@pytest.mark.postgres
def test_the_projection_lock_is_per_store_on_postgresql(pg_url: str, tmp_path) -> None:
    from tests.conftest import StoreFactory
    from threadline.projection import project_pending
    from threadline.store import open_store

    mine = open_store(pg_url)
    others = StoreFactory("postgresql", tmp_path)
    try:
        other = others()
        mine.append([make(1)])
        other.append([make(1), make(2)])
        with mine.write() as connection:
            assert mine.try_projection_lock(connection)
            # Another store in another schema of the same database projects regardless...
            assert project_all(other) == 2
            # ...while this store's own projector waits for the holder.
            assert project_pending(mine) == 0
        assert project_all(mine) == 1
    finally:
        mine.close()
        others.close()


# ---- reads inside a caller's transaction ------------------------------------------------------------


def test_event_summaries_filter_and_page(store, ten) -> None:
    store.append([make(30, job="etl.Load_Orders", producer="https://example.com/airflow")])
    with store.read() as connection:
        everything, total = store.event_summaries(connection, EventFilter(), 3, 0)
        loads, loaded = store.event_summaries(
            connection, EventFilter(job="load_o", producer="AIRFLOW"), 10, 0
        )
        window, inside = store.event_summaries(
            connection, EventFilter(after=micros(12), before=micros(15)), 10, 0
        )
        first, last = store.event_timespan(connection)
    assert total == 11
    assert [e.event_time for e in everything] == [micros(30), micros(19), micros(18)]
    assert (loaded, [e.job_name for e in loads]) == (1, ["etl.Load_Orders"])
    assert inside == 2
    assert [e.event_time for e in window] == [micros(14), micros(13)]
    assert not any(e.has_problems for e in everything)
    assert (first, last) == (micros(10), micros(30))


def test_logged_jobs_of_a_span_of_the_log(store) -> None:
    store.append([make(1, job="a"), make(2, job="b"), make(3, job="a")])
    with store.read() as connection:
        assert store.logged_jobs(connection, 0, 3) == {("ns", "a"), ("ns", "b")}
        assert store.logged_jobs(connection, 2, 3) == {("ns", "a")}
        assert store.logged_jobs(connection, 3, 3) == set()
