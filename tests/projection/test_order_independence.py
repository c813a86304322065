"""The same set of events, in any order, with any duplicates, in any chunks, gives the same projections."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import StoreFactory
from tests.projection.helpers import state
from threadline.openlineage.events import parse_event
from threadline.projection import project_all, reindex


@pytest.fixture(scope="module")
def stream(example_events: list[bytes], conformance: Path) -> list[bytes]:
    """The example pipeline's events and every conformance scenario's, in their natural order."""
    scenarios = sorted((conformance / "scenarios").glob("*/events/*.json"))
    return list(example_events) + [path.read_bytes() for path in scenarios]


def _reference(factory: StoreFactory, stream: list[bytes]) -> dict:
    store = factory()
    store.append([parse_event(raw) for raw in stream])
    project_all(store)
    return state(store)


@st.composite
def deliveries(draw, n: int):
    """An arrival plan: order with duplicates (some re-spaced), chunk sizes, and when to project."""
    order = draw(st.permutations(range(n)))
    arrivals = [(index, False) for index in order]
    for index, position, respaced in draw(
        st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n), st.booleans()), max_size=20)
    ):
        arrivals.insert(position, (index, respaced))
    chunks = draw(st.lists(st.integers(1, 25), min_size=1, max_size=10))
    projects = draw(st.lists(st.booleans(), min_size=1, max_size=10))
    batch_size = draw(st.sampled_from([2, 7, 500]))
    return arrivals, chunks, projects, batch_size


def _deliver(factory: StoreFactory, stream: list[bytes], plan) -> dict:
    arrivals, chunks, projects, batch_size = plan
    store = factory()
    try:
        position, step = 0, 0
        while position < len(arrivals):
            size = chunks[step % len(chunks)]
            chunk = arrivals[position : position + size]
            raws = [
                json.dumps(json.loads(stream[i]), indent=2).encode() if respaced else stream[i]
                for i, respaced in chunk
            ]
            store.append([parse_event(raw) for raw in raws])
            if projects[step % len(projects)]:
                project_all(store, batch_size=batch_size)
            position += size
            step += 1
        project_all(store, batch_size=batch_size)
        assert store.count_events() == len(stream)
        assert store.projection_lag() == 0
        return state(store)
    finally:
        store.close()


def _check(factory: StoreFactory, stream: list[bytes], max_examples: int) -> None:
    reference = _reference(factory, stream)
    assert reference["runs"]
    assert reference["column_lineage"]
    assert reference["schema_fields"]

    @settings(
        max_examples=max_examples,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        derandomize=False,
    )
    @given(plan=deliveries(len(stream)))
    def property_(plan) -> None:
        got = _deliver(factory, stream, plan)
        for table, rows in reference.items():
            assert got[table] == rows, table

    property_()


def test_order_and_duplicates_do_not_matter_on_sqlite(stream: list[bytes], tmp_path: Path) -> None:
    factory = StoreFactory("sqlite", tmp_path)
    try:
        _check(factory, stream, max_examples=25)
    finally:
        factory.close()


@pytest.mark.postgres
def test_order_and_duplicates_do_not_matter_on_postgresql(
    stream: list[bytes], tmp_path: Path, pg_server: str
) -> None:
    factory = StoreFactory("postgresql", tmp_path)
    try:
        _check(factory, stream, max_examples=10)
    finally:
        factory.close()


def test_reverse_order_one_event_at_a_time(store, new_store, stream: list[bytes]) -> None:
    """The plainest adversary: every event alone and projected at once, newest first."""
    for raw in reversed(stream):
        store.append([parse_event(raw)])
        project_all(store)
    reference = new_store()
    reference.append([parse_event(raw) for raw in stream])
    project_all(reference)
    assert state(store) == state(reference)


def test_reindex_gives_the_state_of_incremental_projection(store, stream: list[bytes]) -> None:
    for start in range(0, len(stream), 9):
        store.append([parse_event(raw) for raw in stream[start : start + 9]])
        project_all(store, batch_size=4)
    before = state(store)
    assert reindex(store) == len(stream)
    assert store.projection_lag() == 0
    assert state(store) == before
    # Reindexing twice changes nothing either.
    reindex(store, batch_size=5)
    assert state(store) == before


@pytest.mark.postgres
def test_both_backends_project_the_same_rows(stream: list[bytes], tmp_path: Path, pg_server: str) -> None:
    sqlite, postgres = StoreFactory("sqlite", tmp_path), StoreFactory("postgresql", tmp_path)
    try:
        assert _reference(sqlite, stream) == _reference(postgres, stream)
    finally:
        sqlite.close()
        postgres.close()
