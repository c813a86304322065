"""The journal and the http transport: a server that is down slows and breaks nothing, and once it is
back every event arrives exactly once (against the real server, in a subprocess)."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

import threadline
from tests.server.conftest import ServerProcess, free_port
from tests.server.helpers import make_event
from threadline.tracking.journal import Journal, Outcome
from threadline.tracking.transports import HttpTransport

pytestmark = pytest.mark.slow

RUNS = 30


def _workload(tag: str) -> list[str]:
    ids = []
    for index in range(RUNS):
        with threadline.run(f"{tag}-{index % 3}", params={"i": index}) as run:
            for step in range(20):
                run.log_metric("loss", 1 / (step + 1))
        ids.append(run.id)
    return ids


def _lineage_count(server: ServerProcess) -> int:
    with server.client() as client:
        return client.get("/api/v1/events/lineage", params={"limit": 1}).json()["totalCount"]


def _wait_for(condition: object, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return True
        time.sleep(0.1)
    return False


@pytest.fixture
def down_port() -> int:
    """A port nothing listens on (yet)."""
    return free_port()


@pytest.fixture
def server_later(tmp_path: Path, down_port: int) -> Iterator[ServerProcess]:
    """A real server for ``down_port``, not started: the test starts it when it wants."""
    server = ServerProcess(
        f"sqlite:///{tmp_path / 'server.db'}", down_port, tmp_path / "server.log", {"auth": "none"}
    )
    yield server
    server.stop()


def test_a_down_server_neither_fails_nor_slows_runs_and_gets_everything_once_back(
    project: Path, down_port: int, server_later: ServerProcess
) -> None:
    threadline.configure(transport="off")
    _workload("warm-up")  # imports and first-use costs out of the way
    started = time.perf_counter()
    _workload("off")
    off_seconds = time.perf_counter() - started

    threadline.configure(transport="http", url=f"http://127.0.0.1:{down_port}")
    started = time.perf_counter()
    ids = _workload("down")
    down_seconds = time.perf_counter() - started
    assert down_seconds < 5 * off_seconds + 1.0, (down_seconds, off_seconds)
    assert threadline.flush(30)
    journal = Journal(project / ".threadline" / "journal")
    assert journal.status().events == 2 * RUNS

    server_later.start()
    # the tracking thread retries on its own (backing off at most a minute; here a few seconds)
    assert _wait_for(lambda: journal.status().events == 0, 90), journal.status()
    assert _lineage_count(server_later) == 2 * RUNS
    with server_later.client() as client:
        stored = client.get("/api/v1/events/lineage", params={"limit": 1000}).json()["events"]
    assert {e["run"]["runId"] for e in stored} == set(ids)

    # sending the same journal again (a lost answer, say) stores nothing twice
    threadline.flush(30)
    assert _lineage_count(server_later) == 2 * RUNS


def test_events_journaled_by_a_dead_process_are_sent_by_the_next_one(
    project: Path, down_port: int, server_later: ServerProcess
) -> None:
    url = f"http://127.0.0.1:{down_port}"
    code = (
        "import threadline\n"
        "for i in range(5):\n"
        "    with threadline.run('offline', params={'i': i}):\n"
        "        threadline.log_metric('x', i)\n"
    )
    environment = {"THREADLINE_URL": url, "HOME": str(project.parent / "home"), "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=project,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "cannot send events" in done.stderr  # one warning, no traceback
    assert "Traceback" not in done.stderr
    journal = Journal(project / ".threadline" / "journal")
    assert journal.status().events == 10

    server_later.start()
    done = subprocess.run(
        [sys.executable, "-c", "import threadline\nwith threadline.run('next'):\n    pass\n"],
        cwd=project,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert journal.status().events == 0
    assert _lineage_count(server_later) == 12


def test_events_the_server_refuses_are_set_aside(
    project: Path, down_port: int, server_later: ServerProcess
) -> None:
    journal = Journal(project / ".threadline" / "journal")
    good = make_event(job="good")
    bad = json.dumps({"eventType": "START", "eventTime": "yesterday", "run": {"runId": "x"}}).encode()
    journal.write([good, bad])
    server_later.start()
    transport = HttpTransport(server_later.url, journal)
    report = transport.retry(force=True)
    assert report is not None
    assert (report.sent_events, report.rejected_events, report.pending_segments) == (1, 1, 0)
    state = journal.status()
    assert state.events == 0
    assert state.rejected_events == 1
    reason = next((journal.folder / "rejected").glob("*.reason.txt")).read_text()
    assert "eventTime" in reason or "producer" in reason
    assert _lineage_count(server_later) == 1


def test_an_authenticated_server_gets_the_api_key(project: Path, tmp_path: Path) -> None:
    from threadline.store import open_store

    store_url = f"sqlite:///{tmp_path / 'auth.db'}"
    opened = open_store(store_url)
    secret, _ = opened.create_api_key("sdk", "write")
    opened.close()
    server = ServerProcess(store_url, free_port(), tmp_path / "auth.log", {"auth": "token"}).start()
    try:
        threadline.configure(url=server.url, api_key=secret)
        with threadline.run("secured"):
            pass
        assert threadline.flush(30)
        assert (
            httpx.get(
                f"{server.url}/api/v1/events/lineage", headers={"Authorization": f"Bearer {secret}"}
            ).json()["totalCount"]
            == 2
        )
    finally:
        server.stop()


def test_journal_segments_are_delivered_in_order_and_removed_only_when_acknowledged(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "journal")
    journal.write([b'{"n":1}', b'{"n":2}'])
    journal.write([b'{"n":3}'])
    delivered: list[bytes] = []

    def down(events: list[bytes]) -> Outcome:
        return Outcome(ok=False, retry="connection refused")

    report = journal.deliver(down)
    assert report.failure == "connection refused"
    assert journal.status().events == 3

    def up(events: list[bytes]) -> Outcome:
        delivered.extend(events)
        return Outcome(ok=True)

    report = journal.deliver(up)
    assert (report.sent_events, report.pending_segments) == (3, 0)
    assert delivered == [b'{"n":1}', b'{"n":2}', b'{"n":3}']
    assert not list((tmp_path / "journal").iterdir())


def test_a_segment_locked_by_another_sender_is_skipped(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "journal")
    (segment,) = journal.write([b'{"n":1}'])
    with journal.claim(segment) as events:
        assert events == [b'{"n":1}']
        report = journal.deliver(lambda batch: Outcome(ok=True))
        assert report.sent_events == 0
    assert journal.deliver(lambda batch: Outcome(ok=True)).sent_events == 1


_STUCK_SCRIPT = """
import threadline
for index in range(5):
    with threadline.run("stuck", params={"i": index}):
        pass
"""


def test_a_store_stuck_at_exit_leaves_the_events_in_the_journal(project: Path, tmp_path: Path) -> None:
    """The store is locked by another writer for longer than flush_timeout when the process ends: it
    exits after flush_timeout without progress, its events kept in the journal (not lost), and
    `threadline journal flush` delivers each once the store is free."""
    database = project / ".threadline" / "threadline.db"
    from threadline.store import open_store

    open_store(f"sqlite:///{database}").close()  # the store exists (with its schema) before it is locked
    lock = sqlite3.connect(database, isolation_level=None)
    lock.execute("BEGIN IMMEDIATE")
    try:
        started = time.monotonic()
        done = subprocess.run(
            [sys.executable, "-c", _STUCK_SCRIPT],
            cwd=project,
            env={**os.environ, "THREADLINE_TRACKING_FLUSH_TIMEOUT": "1"},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        took = time.monotonic() - started
    finally:
        lock.execute("ROLLBACK")
        lock.close()
    assert done.returncode == 0, done.stderr
    assert took < 25, took  # not the store's 30 s busy timeout: one second without progress
    assert "events wait in the journal" in done.stderr, done.stderr
    assert "lost" not in done.stderr
    flushed = subprocess.run(
        [sys.executable, "-m", "threadline", "journal", "flush"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert flushed.returncode == 0, flushed.stderr
    store = open_store(f"sqlite:///{database}")
    try:
        with store.read() as connection:
            jobs = [row[0] for row in connection.exec_driver_sql("SELECT job_name FROM events")]
    finally:
        store.close()
    assert jobs.count("stuck") == 10  # START and COMPLETE of five runs, each once
