"""Outputs and inputs with content: what the run records when the file changes after the run ends,
what the tracking thread does in the user's thread's place (storing bytes, writing the hash cache),
and the embedded store taking the events of many runs in one append."""

from __future__ import annotations

import errno
import logging
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import threadline
from tests.tracking.conftest import events_of, write_old
from threadline.artifacts import ArtifactStore, ObjectId
from threadline.artifacts.hashcache import HashCache
from threadline.artifacts.hashing import hash_bytes
from threadline.artifacts.objects import ObjectDB
from threadline.store import SqlStore
from threadline.tracking import content, tracker


def _artifact(event: dict[str, Any], side: str = "outputs", index: int = 0) -> dict[str, Any]:
    return event[side][index]["facets"]["threadline_artifact"]


def _odb(project: Path) -> ObjectDB:
    return ArtifactStore.for_project(project / ".threadline").odb


@pytest.fixture
def held(monkeypatch: pytest.MonkeyPatch) -> Iterator[threading.Event]:
    """Hold the tracking thread before it handles anything: set the event to let it go."""
    release = threading.Event()
    real = tracker.Tracker._deliver

    def deliver(self: tracker.Tracker, records: list[Any]) -> None:
        assert release.wait(60), "the test never released the tracking thread"
        real(self, records)

    monkeypatch.setattr(tracker.Tracker, "_deliver", deliver)
    yield release
    release.set()


def _just_written(path: Path) -> Path:
    """Date ``path`` a little ahead, so that it counts as just written whenever it is hashed (on a
    busy machine the hashing may start more than the racy margin after the write itself)."""
    ahead = path.stat().st_mtime_ns + 5 * 10**9
    os.utime(path, ns=(ahead, ahead))
    return path


def _same_stat_rewrite(path: Path, data: bytes) -> None:
    """Rewrite ``path`` in place with ``data`` (same size) and put its mtime back: a second write in
    the same clock tick, which leaves the file's stat as it was."""
    before = path.stat()
    with path.open("r+b") as fh:
        fh.write(data)
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = path.stat()
    assert (after.st_ino, after.st_size, after.st_mtime_ns) == (
        before.st_ino,
        before.st_size,
        before.st_mtime_ns,
    )


@pytest.mark.parametrize(
    ("size", "in_memory_up_to"),
    [(50_000, None), (6 * 1024 * 1024, None), (6 * 1024 * 1024, 1024 * 1024)],
    ids=["50 KB read whole", "6 MiB hashed then held", "6 MiB copied by the user's thread"],
)
def test_an_output_changed_right_after_its_run_is_recorded_and_stored_as_it_was(
    project: Path, store: SqlStore, monkeypatch: pytest.MonkeyPatch, size: int, in_memory_up_to: int | None
) -> None:
    if in_memory_up_to is not None:
        monkeypatch.setattr(content, "SNAPSHOT_MAX_BYTES", in_memory_up_to)
    first = os.urandom(size)
    second = os.urandom(size)
    model = project / "model.bin"
    model.write_bytes(first)
    _just_written(model)
    with threadline.run("train") as run:
        run.output(model, kind="model", store=True)
    if in_memory_up_to is not None:  # too large to hold: the user's thread stored it
        assert _odb(project).has(ObjectId(hash_bytes(first)))
    _same_stat_rewrite(model, second)  # before the tracking thread has had a chance to look
    assert threadline.flush(60)
    recorded = _artifact(events_of(store, run.id)[-1])
    assert recorded["hash"] == f"blake3:{hash_bytes(first)}"
    assert recorded["stored"] is True
    assert _odb(project).read(ObjectId(hash_bytes(first))) == first  # the bytes of the run, verified

    with threadline.run("again") as again:  # same path, same stat, other bytes: not taken from memory
        again.output(model, kind="model", store=True)
    assert threadline.flush(60)
    assert _artifact(events_of(store, again.id)[-1])["hash"] == f"blake3:{hash_bytes(second)}"


def test_a_file_rewritten_in_the_same_clock_tick_is_hashed_again(project: Path, store: SqlStore) -> None:
    data = project / "data.csv"
    data.write_text("a\n1\n")
    _just_written(data)
    with threadline.run("one") as one:
        one.input(data)
    _same_stat_rewrite(data, b"a\n2\n")
    with threadline.run("two") as two:
        two.input(data)
    assert threadline.flush(30)
    for run, text in ((one, b"a\n1\n"), (two, b"a\n2\n")):
        assert _artifact(events_of(store, run.id)[-1], "inputs")["hash"] == f"blake3:{hash_bytes(text)}"


def test_the_tracking_thread_stores_the_bytes_read_when_the_run_ended(
    project: Path, store: SqlStore, held: threading.Event
) -> None:
    payload = os.urandom(50_000)
    (project / "a.bin").write_bytes(payload)
    (project / "b.bin").write_bytes(payload)
    with threadline.run("first") as first:
        first.output("a.bin", store=True)
    with threadline.run("second") as second:  # the same new bytes, still waiting to be written
        second.output("b.bin", store=True)
    oid = ObjectId(hash_bytes(payload))
    assert not _odb(project).has(oid)  # the user's thread did not write them
    (project / "a.bin").write_bytes(b"changed")
    held.set()
    assert threadline.flush(30)
    assert _odb(project).read(oid) == payload
    for run in (first, second):
        recorded = _artifact(events_of(store, run.id)[-1])
        assert (recorded["hash"], recorded["stored"]) == (f"blake3:{oid.value}", True)
    reader = tracker.get_tracker().reader()
    assert reader._pending_bytes == 0
    assert reader._pending_ids == {}


def test_past_the_memory_budget_the_users_thread_stores_the_bytes(
    project: Path, store: SqlStore, held: threading.Event, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(content, "PENDING_MAX_BYTES", 100_000)
    blobs = [os.urandom(60_000), os.urandom(60_000)]
    for index, blob in enumerate(blobs):
        (project / f"{index}.bin").write_bytes(blob)
    with threadline.run("big") as run:
        run.output("0.bin", store=True)
        run.output("1.bin", store=True)
    odb = _odb(project)
    assert [odb.has(ObjectId(hash_bytes(blob))) for blob in blobs] == [False, True]
    held.set()
    assert threadline.flush(30)
    assert all(odb.has(ObjectId(hash_bytes(blob))) for blob in blobs)
    outputs = events_of(store, run.id)[-1]["outputs"]
    assert [d["facets"]["threadline_artifact"]["stored"] for d in outputs] == [True, True]


def test_an_output_that_cannot_be_stored_is_recorded_as_not_stored(
    project: Path, store: SqlStore, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def full(self: ObjectDB, data: bytes, **_: Any) -> ObjectId:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(ObjectDB, "add_bytes", full)
    (project / "model.bin").write_bytes(b"model")
    with caplog.at_level(logging.WARNING, logger="threadline.tracking"), threadline.run("train") as run:
        run.output("model.bin", store=True)
    assert threadline.flush(30)
    recorded = _artifact(events_of(store, run.id)[-1])
    assert (recorded["hash"], recorded["stored"]) == (f"blake3:{hash_bytes(b'model')}", False)
    assert "No space left on device" in caplog.text
    assert "recorded as not stored" in caplog.text


def test_hash_cache_entries_of_many_runs_are_written_together_off_the_users_thread(
    project: Path, held: threading.Event, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[tuple[str, int]] = []
    real = HashCache.put_many

    def put_many(self: HashCache, items: Any, started_ns: int) -> int:
        items = list(items)
        calls.append((threading.current_thread().name, len(items)))
        return real(self, items, started_ns)

    monkeypatch.setattr(HashCache, "put_many", put_many)
    for index in range(20):
        write_old(project / "in" / f"{index}.csv", f"x\n{index}\n")
    for index in range(20):
        with threadline.run("reads") as run:
            run.input(project / "in" / f"{index}.csv")
    assert calls == []
    held.set()
    assert threadline.flush(30)
    assert {name for name, _ in calls} == {"threadline-tracking"}
    assert sum(count for _, count in calls) == 20
    assert len(calls) <= 2  # the batch the thread was holding, and the rest


def test_the_embedded_store_appends_many_runs_at_once(
    project: Path, store: SqlStore, held: threading.Event, monkeypatch: pytest.MonkeyPatch
) -> None:
    appends: list[int] = []
    real = SqlStore.append

    def append(self: SqlStore, events: Any) -> Any:
        appends.append(len(events))
        return real(self, events)

    monkeypatch.setattr(SqlStore, "append", append)
    ids = []
    for index in range(50):
        with threadline.run("many", params={"i": index}) as run:
            ids.append(run.id)
    held.set()
    assert threadline.flush(30)
    assert sum(appends) == 100
    assert len(appends) <= 2
    stored = {event["run"]["runId"] for event in events_of(store)}
    assert stored == set(ids)
