"""``reindex``, ``db status|upgrade``, ``events`` and store URL errors."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests.cli.conftest import Run, error_lines
from tests.conftest import EXAMPLE_EVENTS
from tests.projection.helpers import state
from tests.server.helpers import make_event
from threadline.openlineage.events import parse_event
from threadline.projection import reindex
from threadline.store import migrate, open_store


def test_reindex(run: Run, sqlite_url: str) -> None:
    assert run("ingest", str(EXAMPLE_EVENTS), "--store", sqlite_url).exit_code == 0
    result = run("reindex", "--store", sqlite_url)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("reindexed 50 events in ")


def test_events_lists_newest(run: Run, sqlite_url: str) -> None:
    run("ingest", str(EXAMPLE_EVENTS), "--store", sqlite_url)
    result = run("events", "--limit", "3", "--store", sqlite_url)
    assert result.exit_code == 0, result.output
    assert "3 of 50 events" in result.stderr


def test_db_status_and_upgrade_of_a_new_database(run: Run, sqlite_url: str) -> None:
    head = migrate.head_revision()
    status = run("db", "status", "--store", sqlite_url)
    assert status.exit_code == 0, status.output
    assert "current: none (no such file" in status.stdout
    assert not Path(sqlite_url.removeprefix("sqlite:///")).exists()  # looking created nothing
    upgrade = run("db", "upgrade", "--store", sqlite_url)
    assert upgrade.exit_code == 0, upgrade.output
    assert f"empty → {head}" in upgrade.stdout
    again = run("db", "upgrade", "--store", sqlite_url)
    assert f"already at revision {head}" in again.stdout
    status = run("db", "status", "--store", sqlite_url)
    assert f"current: {head}" in status.stdout
    assert "up to date" in status.stdout


def test_unknown_schema_revision_is_one_line(run: Run, sqlite_url: str) -> None:
    run("db", "upgrade", "--store", sqlite_url)
    engine = create_engine(sqlite_url)
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    engine.dispose()
    for command in (["reindex"], ["token", "list"], ["db", "upgrade"]):
        result = run(*command, "--store", sqlite_url)
        assert result.exit_code == 1, command
        assert len(error_lines(result)) == 1, result.stderr
        assert "9999" in error_lines(result)[0]
    status = run("db", "status", "--store", sqlite_url)
    assert "current: 9999" in status.stdout


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("mysql://x/y", "only sqlite:///PATH and postgresql://"),
        ("not a url", "is not a URL"),
        ("sqlite://", "in-memory SQLite store"),
        ("postgresql://postgres@127.0.0.1:1/nowhere", "port 1 failed"),
    ],
)
@pytest.mark.parametrize("command", [["reindex"], ["ingest", str(EXAMPLE_EVENTS)], ["db", "status"]])
def test_bad_store_urls_are_one_line(run: Run, url: str, expected: str, command: list[str]) -> None:
    result = run(*command, "--store", url)
    assert result.exit_code == 1, result.output
    lines = error_lines(result)
    assert len(lines) == 1, result.stderr
    assert expected in lines[0]


def test_store_from_environment(run: Run, sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("THREADLINE_STORE", sqlite_url)
    assert run("ingest", str(EXAMPLE_EVENTS)).exit_code == 0
    assert "50 duplicate" in run("ingest", str(EXAMPLE_EVENTS), "--store", sqlite_url).stdout


def test_default_store_is_created_in_the_project_folder(run: Run) -> None:
    result = run("ingest", str(EXAMPLE_EVENTS))
    assert result.exit_code == 0, result.output
    assert (Path.cwd() / ".threadline" / "threadline.db").is_file()


def test_every_backend(run: Run, store_url: str) -> None:
    """The same commands on SQLite and PostgreSQL (``store_url`` is parametrised over both)."""
    assert run("db", "upgrade", "--store", store_url).exit_code == 0
    assert "50 accepted" in run("ingest", str(EXAMPLE_EVENTS), "--store", store_url).stdout
    assert "50 duplicate" in run("ingest", str(EXAMPLE_EVENTS), "--store", store_url).stdout
    assert "reindexed 50 events" in run("reindex", "--store", store_url).stdout
    assert "up to date" in run("db", "status", "--store", store_url).stdout
    assert run("token", "create", "--name", "k", "--scope", "read", "--store", store_url).exit_code == 0
    assert "k" in run("token", "list", "--store", store_url).stdout


def _children(pid: int) -> list[str]:
    found = subprocess.run(
        ["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True, check=False
    )
    return found.stdout.split()


def _running(pid: str) -> bool:
    """Whether process ``pid`` still runs (an exited one whose parent is gone may linger as a zombie
    where nothing reaps orphans, as in some containers)."""
    status = Path(f"/proc/{pid}/status")
    try:
        return "State:\tZ" not in status.read_text()
    except FileNotFoundError:
        return False


def test_reindex_with_workers_and_ctrl_c(sqlite_url: str) -> None:
    """``--workers 2`` folds the log with two worker processes, to the same state as folding in one
    process; Ctrl+C stops it in a moment, workers and all, without a traceback, and a reindex after
    finishes the job."""
    store = open_store(sqlite_url)
    store.append(
        [
            parse_event(make_event(job=f"j{i % 500}", inputs=[{"namespace": "db", "name": f"t{i % 300}"}]))
            for i in range(20_000)
        ]
    )
    reindex(store, workers=0)
    serial = state(store)
    command = [sys.executable, "-m", "threadline", "reindex", "--store", sqlite_url, "--workers", "2"]
    done = subprocess.run(command, capture_output=True, text=True, check=False, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("reindexed 20000 events in ")
    assert state(store) == serial
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # noqa: PLW1509 (as a terminal)
    )
    deadline = time.monotonic() + 60
    while len(_children(process.pid)) < 2 and time.monotonic() < deadline:  # the workers are folding
        time.sleep(0.02)
    workers = _children(process.pid)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert "Traceback" not in err
    assert len(workers) >= 2
    deadline = time.monotonic() + 10  # multiprocessing's resource tracker ends once its pipe closes
    while [pid for pid in workers if _running(pid)] and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not [pid for pid in workers if _running(pid)]  # none left behind
    assert store.projection_lag() > 0  # stopped on the way
    again = subprocess.run(command, capture_output=True, text=True, check=False, timeout=300)
    assert again.returncode == 0, again.stderr
    assert store.projection_lag() == 0
    assert state(store) == serial
    store.close()
