"""A SQLite store whose files were read-only writes again once they are writable, without a restart,
even while other connections of the process come and go (``store/writable.py``,
``ConnectionGenerations``).

SQLite shares a read-only ``-shm`` mapping among every connection a process opens to the file while
any of them is open; a connection opened after the files were fixed, but while an older one was still
open, keeps that mapping alive. The store must close such connections instead of pooling them. The
scenario runs in a child process held to file modes (root ignores them), step by step, so the order
of the connections is exact.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

from tests.file_modes import held_to_file_modes

SCENARIO = textwrap.dedent(
    """
    import os, sys
    from pathlib import Path
    from sqlalchemy import text
    from threadline.errors import StoreReadOnly
    from threadline.store import open_store

    path = Path(sys.argv[1])
    store = open_store(f"sqlite:///{path}", create=False)
    assert store.check_writable() is not None, "the files are read-only: writes are refused"
    held = store.engine.connect()  # a thread's connection, opened while the files are read-only
    held.execute(text("SELECT count(*) FROM events"))
    for file in path.parent.glob(path.name + "*"):
        file.chmod(0o644)
    try:
        with store.write() as connection:  # the pool's connection: opened read-only, refused
            connection.execute(text("DELETE FROM log_marks WHERE name = 'nothing'"))
        raise SystemExit("a connection opened read-only wrote")
    except StoreReadOnly:
        pass
    other = store.engine.connect()  # another thread's, while the old one is still open
    other.execute(text("SELECT count(*) FROM events"))
    held.close()
    other.close()
    with store.write() as connection:  # the first write after every connection was given back
        connection.execute(text("DELETE FROM log_marks WHERE name = 'nothing'"))
    print("written; stale connections left:", store._generations.stale_open())
    store.close()
    """
)


#: Why the checkpoint thread pauses while writes are refused (``store/checkpoint.py``): a connection
#: that is not the engine's, opened while the engine's old one is open and still open when the
#: engine opens its next, hands the read-only mapping on to it; that one counts as fresh (no older
#: connection of the engine is open) and is refused.
OUTSIDER = textwrap.dedent(
    """
    import sqlite3, sys
    from pathlib import Path
    from sqlalchemy import text
    from threadline.errors import StoreReadOnly
    from threadline.store import open_store

    path = Path(sys.argv[1])
    store = open_store(f"sqlite:///{path}", create=False)
    assert store.check_writable() is not None, "the files are read-only: writes are refused"
    held = store.engine.connect()
    held.execute(text("SELECT count(*) FROM events"))
    for file in path.parent.glob(path.name + "*"):
        file.chmod(0o644)
    outsider = sqlite3.connect(f"file:{path}?mode=rw", uri=True)  # as the checkpoint thread's was
    outsider.execute("SELECT count(*) FROM events").fetchall()
    held.close()
    try:
        with store.write() as connection:
            connection.execute(text("DELETE FROM log_marks WHERE name = 'nothing'"))
        print("written")
    except StoreReadOnly:
        print("refused")
    outsider.close()
    store.close()
    """
)


def _run_on_read_only_files(tmp_path: Path, scenario: str) -> subprocess.CompletedProcess[str]:
    from threadline.store import open_store

    prefix = held_to_file_modes()
    path = tmp_path / "threadline.db"
    open_store(f"sqlite:///{path}").close()
    # another process keeps the store open, so its -wal and -shm stay, and they are read-only too
    keeper = sqlite3.connect(path)
    keeper.execute("SELECT count(*) FROM events").fetchall()
    try:
        for file in tmp_path.glob("threadline.db*"):
            file.chmod(0o444)
        return subprocess.run(
            [*prefix, sys.executable, "-c", scenario, str(path)],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    finally:
        keeper.close()


def test_a_connection_outside_the_engine_keeps_the_files_read_only(tmp_path: Path) -> None:
    done = _run_on_read_only_files(tmp_path, OUTSIDER)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.strip() == "refused", done.stdout + done.stderr


def test_writes_work_again_while_other_connections_come_and_go(tmp_path: Path) -> None:
    done = _run_on_read_only_files(tmp_path, SCENARIO)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "written; stale connections left: 0" in done.stdout, done.stdout
