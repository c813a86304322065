"""Background WAL checkpoints of a SQLite store (``store/checkpoint.py``): the store's connections
leave checkpoints to the thread up to their limit, the thread copies what was committed into the
database file, nothing written is lost, and closing the store stops the thread."""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from threadline.store import open_store
from threadline.store.checkpoint import WRITER_LIMIT_PAGES, Checkpointer
from threadline.store.sql import SqlStore


def _autocheckpoint(store: SqlStore) -> int:
    with store.engine.connect() as connection:
        return int(connection.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar_one())


def _write_rows(store: SqlStore, count: int) -> None:
    for i in range(count):
        with store.write() as connection:
            connection.execute(
                text("INSERT INTO log_marks (name, seq) VALUES (:name, :seq)"),
                {"name": f"mark-{i}", "seq": i},
            )


def test_the_thread_checkpoints_and_the_commits_do_not(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    store = open_store(f"sqlite:///{path}", background_checkpoint=True)
    try:
        checkpointer = store.checkpointer
        assert checkpointer is not None
        assert _autocheckpoint(store) == WRITER_LIMIT_PAGES
        _write_rows(store, 50)
        # a round that began after the writes has copied every frame of the WAL (a complete copy by a
        # round that ran during them, of the first three rows, is no proof: a CI run under load saw
        # it). Rounds counted from here: the next may have copied before the last write, the one
        # after it began after the writes, and its figures are ``last`` once a third is counted.
        after = checkpointer.rounds + 3
        deadline = time.monotonic() + 30
        while True:
            frames, copied = checkpointer.last
            if checkpointer.rounds >= after and frames > 0 and copied == frames:
                break
            assert time.monotonic() < deadline, f"no complete checkpoint in 30 s: {checkpointer.last}"
            time.sleep(0.05)
        # what was committed is in the database file itself: a reader without the WAL sees it
        copy = tmp_path / "copy.db"
        copy.write_bytes(path.read_bytes())
        with sqlite3.connect(copy) as plain:
            assert plain.execute("SELECT count(*) FROM log_marks WHERE name LIKE 'mark-%'").fetchone() == (
                50,
            )
    finally:
        store.close()
    assert store.checkpointer is not None
    assert not store.checkpointer._thread.is_alive()


def test_without_it_commits_checkpoint_as_sqlite_does_by_default(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'store.db'}")
    try:
        assert store.checkpointer is None
        assert _autocheckpoint(store) == 1000
    finally:
        store.close()


def test_a_file_that_cannot_be_opened_stops_the_thread_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="threadline.store.checkpoint"):
        checkpointer = Checkpointer(str(tmp_path / "no-such-folder" / "store.db"), interval=0.01).start()
        checkpointer._thread.join(10)
    assert not checkpointer._thread.is_alive()
    assert "background checkpoints of" in caplog.text
    assert "stopped" in caplog.text
    checkpointer.stop()  # stopping a thread that ended is harmless


def test_no_round_opens_a_connection_while_paused(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """A paused thread opens nothing (here, a file it cannot open would stop it with a warning), and
    goes on once resumed."""
    paused = threading.Event()
    paused.set()
    missing = str(tmp_path / "no-such-folder" / "store.db")
    with caplog.at_level(logging.WARNING, logger="threadline.store.checkpoint"):
        checkpointer = Checkpointer(missing, interval=0.01, paused=paused.is_set).start()
        time.sleep(0.3)  # some thirty rounds' time
        assert checkpointer._thread.is_alive()
        assert "background checkpoints of" not in caplog.text
        paused.clear()
        checkpointer._thread.join(10)
    assert not checkpointer._thread.is_alive()
    assert "stopped" in caplog.text


def test_the_server_store_pauses_its_thread_while_writes_are_refused(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'store.db'}", background_checkpoint=True)
    try:
        assert store.checkpointer is not None
        assert not store.checkpointer.paused()
        store.write_problem = "the SQLite file cannot be written"
        assert store.checkpointer.paused()
        with store.write():
            pass  # a write that succeeds clears the problem
        assert not store.checkpointer.paused()
    finally:
        store.close()
