"""The writer thread in-process: group commit, per-submission results, errors, idle projection."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.server.helpers import make_event
from threadline.errors import StoreError
from threadline.openlineage.events import ParsedEvent, parse_event
from threadline.server.writer import Writer, split_result
from threadline.store import AppendResult, SqlStore, open_store


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqlStore]:
    """A fresh SQLite store."""
    opened = open_store(f"sqlite:///{tmp_path / 'threadline.db'}")
    yield opened
    opened.close()


def _events(n: int, job: str = "w") -> list[ParsedEvent]:
    return [parse_event(make_event(job=f"{job}-{i}")) for i in range(n)]


def _run_until_folded(writer: Writer, store: SqlStore, main: Callable[[], Coroutine[Any, Any, None]]) -> None:
    """Run ``main``, wait (at most 10 s) until the writer's projector has folded everything, and stop
    the writer."""
    try:
        asyncio.run(main())
        deadline = time.monotonic() + 10
        while store.projection_lag() and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        writer.stop()


def _long_pauses(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the writer's projector wait a minute after an append unless hurried (the quiet pause and
    the longest delay alike): what folds within a test was asked for."""
    from threadline.server import writer as writer_module

    monkeypatch.setattr(writer_module, "QUIET_SECONDS", 60.0)
    monkeypatch.setattr(writer_module, "MAX_PROJECTION_DELAY", 60.0)


def test_split_result_gives_each_id_to_its_first_submission() -> None:
    a, b, c = _events(3)
    results = split_result([[a, b], [b, c], [a]], {a.id, b.id})
    assert results == [
        AppendResult(inserted=[a.id, b.id], duplicates=[]),
        AppendResult(inserted=[], duplicates=[b.id, c.id]),
        AppendResult(inserted=[], duplicates=[a.id]),
    ]


def test_concurrent_submissions_are_grouped_and_split(store: SqlStore) -> None:
    calls: list[int] = []
    append = store.append

    def counting_append(events):  # type: ignore[no-untyped-def]
        calls.append(len(events))
        time.sleep(0.05)  # a slow commit lets the next submissions pile up
        return append(events)

    store.append = counting_append  # type: ignore[method-assign]
    writer = Writer(store)
    writer.start()
    shared = _events(1, "shared")[0]

    async def main() -> list[AppendResult]:
        submissions = [[*_events(2, f"s{i}"), shared] for i in range(20)]
        return await asyncio.gather(*(writer.submit(events) for events in submissions))

    try:
        results = asyncio.run(main())
    finally:
        writer.stop()
    assert len(calls) < 20  # group commit: fewer transactions than submissions
    assert sum(calls) == 60
    assert sum(len(r.inserted) for r in results) == 41  # 40 own events + the shared one once
    assert sum(shared.id in r.inserted for r in results) == 1
    assert sum(shared.id in r.duplicates for r in results) == 19
    assert store.count_events() == 41


def test_a_failing_submission_does_not_sink_the_others(store: SqlStore) -> None:
    poison = _events(1, "poison")[0]
    append = store.append
    gate = threading.Event()

    def picky_append(events):  # type: ignore[no-untyped-def]
        gate.wait(5)
        if any(event.id == poison.id for event in events):
            msg = "the database refused the events"
            raise StoreError(msg)
        return append(events)

    store.append = picky_append  # type: ignore[method-assign]
    writer = Writer(store)
    writer.start()

    async def main() -> list[object]:
        tasks = [asyncio.ensure_future(writer.submit(_events(1, f"ok{i}"))) for i in range(3)]
        tasks.insert(1, asyncio.ensure_future(writer.submit([poison])))
        await asyncio.sleep(0.1)
        gate.set()
        return await asyncio.gather(*tasks, return_exceptions=True)

    try:
        results = asyncio.run(main())
    finally:
        writer.stop()
    assert isinstance(results[1], StoreError)
    assert all(isinstance(r, AppendResult) and len(r.inserted) == 1 for i, r in enumerate(results) if i != 1)
    assert store.count_events() == 3


def test_projection_runs_when_idle_and_survives_failures(store: SqlStore) -> None:
    from threadline.projection import project_pending

    failures = [RuntimeError("projection bug")]
    calls = []

    def idle_work() -> int:
        calls.append(1)
        if failures:
            raise failures.pop()
        return project_pending(store, batch_size=10)

    writer = Writer(store, idle_work)
    writer.start()

    async def main() -> None:
        await writer.submit(_events(25))
        await writer.submit(_events(5, "more"))

    _run_until_folded(writer, store, main)
    assert store.projection_lag() == 0
    assert store.count_events() == 30


def test_an_announced_submission_holds_projection_back(store: SqlStore) -> None:
    """While a request announced by ``expect`` is being parsed, the pause is not taken for quiet:
    idle work waits for the submission (or its withdrawal), then runs."""
    steps: list[float] = []

    def idle_work() -> int:
        steps.append(time.monotonic())
        return 0

    writer = Writer(store, idle_work)
    writer.start()

    async def main() -> None:
        await writer.submit(_events(2))
        writer.expect()
        writer.expect()
        steps.clear()
        await asyncio.sleep(0.4)  # far longer than QUIET_SECONDS: the parse of the next batch
        assert steps == []
        await writer.submit(_events(2, "next"), expected=True)
        await asyncio.sleep(0.3)
        assert steps == []  # one announcement is still out
        writer.unexpect()  # that request failed before submitting
        await asyncio.sleep(0.3)
        assert steps

    try:
        asyncio.run(main())
    finally:
        writer.stop()
    assert store.count_events() == 4


def test_stop_drains_and_then_refuses(store: SqlStore) -> None:
    writer = Writer(store)
    writer.start()

    async def main() -> None:
        task = asyncio.ensure_future(writer.submit(_events(3)))
        await asyncio.sleep(0)
        await asyncio.to_thread(writer.stop)
        assert len((await task).inserted) == 3
        with pytest.raises(StoreError, match="shutting down"):
            await writer.submit(_events(1, "late"))

    asyncio.run(main())
    assert store.count_events() == 3


def test_a_change_waiting_for_its_fold_hurries_the_projector(
    store: SqlStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A write through the read API (a catalog tag, a dataset's tag) waits until its event is folded:
    it asks for a projection step at once instead of waiting for ingest's quiet pause, which is made
    far longer than the wait here (without the hurry the wait runs out and answers ``False``)."""
    from types import SimpleNamespace

    from threadline.projection import project_pending
    from threadline.server.api.changes import append_changes, wait_folded
    from threadline.server.freshness import ProjectionClock

    _long_pauses(monkeypatch)
    writer = Writer(store, lambda: project_pending(store))
    writer.start()
    state = SimpleNamespace(store=store, writer=writer, clock=ProjectionClock(store, wait_seconds=2.0))

    async def main() -> bool:
        await asyncio.sleep(0.3)  # the writer's first catch-up step (an empty log) is done
        (event,) = await append_changes(state, [make_event(job="tagged")])  # type: ignore[arg-type]
        return await wait_folded(state, event, seconds=5.0)  # type: ignore[arg-type]

    try:
        assert asyncio.run(main()) is True
    finally:
        writer.stop()
    assert store.projection_lag() == 0


def test_next_fold_wakes_when_the_projector_folds(store: SqlStore) -> None:
    """A waiter on the clock is woken by a fold from another thread (the writer's), not by its
    timeout, here a minute; and it returns at its timeout when nothing is folded."""
    from threadline.server.freshness import ProjectionClock

    clock = ProjectionClock(store, wait_seconds=2.0)

    async def main() -> tuple[bool, bool, bool]:
        timer = threading.Timer(0.1, clock.fold, args=(5,))
        timer.start()
        waiter = asyncio.ensure_future(clock.next_fold(60.0))
        woken = await asyncio.wait_for(asyncio.shield(waiter), 30.0)
        timed_out = not await clock.next_fold(0.01)  # nothing folded: back at its timeout
        return woken, timed_out, clock.folded == 5

    assert asyncio.run(main()) == (True, True, True)


def test_a_hurry_asked_for_while_the_writer_appends_is_not_lost(
    store: SqlStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A read may ask for a projection step while the writer thread is busy appending (no one waits on
    the condition then): the thread must see it before it waits, here for a quiet pause of a minute
    (a CI run under load lost it so, and a change waiting for its fold timed out)."""
    from threadline.projection import project_pending

    _long_pauses(monkeypatch)
    writer = Writer(store, lambda: project_pending(store))
    append = store.append

    def appending_then_hurried(events):  # type: ignore[no-untyped-def]
        result = append(events)
        writer.hurry()  # from the writer thread itself, as if a read asked at this moment
        return result

    store.append = appending_then_hurried  # type: ignore[method-assign]
    writer.start()

    async def main() -> None:
        await asyncio.sleep(0.3)  # the writer's first catch-up step (an empty log) is done
        await writer.submit(_events(3))

    _run_until_folded(writer, store, main)
    assert store.projection_lag() == 0
