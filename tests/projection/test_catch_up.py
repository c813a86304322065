"""A backlog folded by worker processes (``projection.catch_up``) gives the same projections as the
serial fold, on both backends; and it gives way to the serial fold when it should."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.projection.helpers import state
from threadline.openlineage.events import parse_event
from threadline.projection import catch_up, project_all
from threadline.projection.projector import reindex
from threadline.store import SqlStore


@pytest.fixture(scope="module")
def stream(example_events: list[bytes], conformance: Path) -> list[bytes]:
    """The example pipeline's events and every conformance scenario's, newest first (folds merge in
    any order), then the first quarter again (duplicates the log refuses)."""
    scenarios = sorted((conformance / "scenarios").glob("*/events/*.json"))
    events = list(example_events) + [path.read_bytes() for path in scenarios]
    return list(reversed(events)) + events[: len(events) // 4]


@pytest.fixture
def in_process_pool(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The workers as a pool of one thread in this process: the steps are folded in order, the first
    before any is merged (so that what a test's ``_fold_step`` does happens in a known order); the
    stores the steps opened are closed after the test."""
    opened: dict[str, SqlStore] = {}
    monkeypatch.setattr(catch_up, "_stores", opened)
    monkeypatch.setattr(catch_up, "_start_pool", lambda count: ThreadPoolExecutor(max_workers=1))
    yield
    for other in opened.values():
        other.close()


def test_workers_fold_a_backlog_as_the_serial_fold_does(store, new_store, stream) -> None:
    store.append([parse_event(raw) for raw in stream])
    steps: list[int] = []
    done = catch_up.fold_backlog(store, batch_size=7, workers=2, progress=steps.append, min_events=1)
    assert done == store.count_events() == sum(steps)
    assert len(steps) > 2
    assert max(steps) == 7
    assert store.projection_lag() == 0
    reference = new_store()
    reference.append([parse_event(raw) for raw in stream])
    assert project_all(reference, workers=0) == reference.count_events()
    assert state(store) == state(reference)
    # and again from the log (reindex), with the backlog cut differently
    reindex(store, batch_size=11, workers=2)
    assert state(store) == state(reference)


def test_a_small_backlog_or_one_worker_is_left_to_the_serial_fold(store, stream) -> None:
    store.append([parse_event(raw) for raw in stream])
    assert catch_up.fold_backlog(store, batch_size=7, workers=2) == 0  # below MIN_EVENTS
    assert catch_up.fold_backlog(store, batch_size=7, workers=1, min_events=1) == 0
    assert store.projection_lag() == store.count_events()
    assert project_all(store, batch_size=7) == store.count_events()


@pytest.mark.usefixtures("in_process_pool")
def test_it_stops_when_another_projector_moved_the_mark(store, stream, monkeypatch) -> None:
    """Another server on the store folded part of the backlog meanwhile: the workers' folds are
    dropped and the serial fold goes on from the mark (nothing folded twice, nothing skipped)."""
    store.append([parse_event(raw) for raw in stream])
    with store.read() as connection:
        (_, second_end, _), *_ = store.backlog_steps(connection, 7)[1:]
    fold_step = catch_up._fold_step
    moved = []

    def racing(url: str, after: int, upto: int):  # type: ignore[no-untyped-def]
        if not moved:  # before the first step is merged, another projector folds the first two
            from threadline.projection.projector import project_pending

            moved.append(project_pending(store, batch_size=14))
        return fold_step(url, after, upto)

    monkeypatch.setattr(catch_up, "_fold_step", racing)
    assert catch_up.fold_backlog(store, batch_size=7, workers=2, min_events=1) == 0
    assert moved == [14]
    with store.read() as connection:
        assert store.log_mark(connection) == second_end
    assert project_all(store, workers=0) == store.count_events() - 14
    assert store.projection_lag() == 0


@pytest.mark.usefixtures("in_process_pool")
def test_a_worker_that_dies_leaves_the_rest_to_the_serial_fold(store, new_store, stream, monkeypatch) -> None:
    from concurrent.futures import BrokenExecutor

    store.append([parse_event(raw) for raw in stream])
    fold_step = catch_up._fold_step
    calls = []

    def dying(url: str, after: int, upto: int):  # type: ignore[no-untyped-def]
        calls.append(after)
        if len(calls) == 2:
            raise BrokenExecutor("a worker was killed")
        return fold_step(url, after, upto)

    monkeypatch.setattr(catch_up, "_fold_step", dying)
    assert catch_up.fold_backlog(store, batch_size=7, workers=2, min_events=1) == 7  # the first step
    assert project_all(store, workers=0) == store.count_events() - 7
    reference = new_store()
    reference.append([parse_event(raw) for raw in stream])
    project_all(reference, workers=0)
    assert state(store) == state(reference)
