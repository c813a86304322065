"""The hash cache: remembers a file's BLAKE3 id so that an unchanged file is never hashed twice.

An entry is keyed by the file's path and checked against its (device, inode, mtime_ns, size): any
change to one of them makes the entry a miss. Entries live in a small SQLite file (WAL mode) and are
only an optimisation: deleting the file loses nothing but time.

A file modified twice within one tick of the filesystem clock keeps the same mtime, so an entry
written right after a change could later describe different bytes (git calls this "racily clean").
Entries are therefore stored only for files whose mtime is older than :data:`RACY_MARGIN_NS` (two
seconds on filesystems with whole-second times) before hashing began; a file hashed within that
margin is simply hashed again next time, by which time it is old enough to be remembered.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import NamedTuple, Protocol

from threadline.errors import ArtifactError

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
#: An mtime this close to the start of hashing may hide a later change in the same clock tick.
RACY_MARGIN_NS = 100_000_000
#: The margin on filesystems whose times have whole seconds (FAT has two-second times).
COARSE_RACY_MARGIN_NS = 2_000_000_000
#: SQLite limits the number of parameters in one statement; look paths up in slices this long.
_LOOKUP_SLICE = 500


class FileKey(NamedTuple):
    """What identifies one version of a file: its path and the stat fields that change with it."""

    path: str
    device: int
    inode: int
    mtime_ns: int
    size: int

    @classmethod
    def from_stat(cls, path: str, st: os.stat_result) -> FileKey:
        """The key of ``path`` as ``st`` (its ``os.stat``) describes it."""
        return cls(path, st.st_dev, st.st_ino, st.st_mtime_ns, st.st_size)


def is_racy(key: FileKey, started_ns: int) -> bool:
    """Whether the file may still change without its mtime changing (see the module docstring)."""
    margin = COARSE_RACY_MARGIN_NS if key.mtime_ns % 1_000_000_000 == 0 else RACY_MARGIN_NS
    return key.mtime_ns > started_ns - margin


def _storable(path: str) -> bool:
    """Whether SQLite can hold ``path`` (names that are not UTF-8 are simply not cached)."""
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


class HashCacheLike(Protocol):
    """What the artifact store needs of a hash cache; :class:`HashCache` and :class:`NullHashCache`."""

    def get(self, key: FileKey) -> str | None:
        """The id hex of the file version ``key``, or None."""
        ...

    def get_many(self, keys: Sequence[FileKey]) -> dict[str, str]:
        """Path to id hex for every key that has a matching entry."""
        ...

    def put_many(self, items: Iterable[tuple[FileKey, str]], started_ns: int) -> int:
        """Remember ``(key, hex)`` pairs of files hashed from ``started_ns`` on; returns how many."""
        ...

    def close(self) -> None:
        """Release the cache's resources."""
        ...


class NullHashCache:
    """A hash cache that remembers nothing: every file is hashed every time (for tests)."""

    def get(self, key: FileKey) -> str | None:
        """Always a miss."""
        return None

    def get_many(self, keys: Sequence[FileKey]) -> dict[str, str]:
        """Always misses."""
        return {}

    def put_many(self, items: Iterable[tuple[FileKey, str]], started_ns: int) -> int:
        """Forgets everything."""
        return 0

    def close(self) -> None:
        """Nothing to release."""


class HashCache:
    """A hash cache in an SQLite file; one connection shared by every thread behind a lock."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = self._open()
        except sqlite3.DatabaseError as exc:
            if isinstance(exc, sqlite3.OperationalError) and not self.path.exists():
                msg = f"cannot create the hash cache {self.path}: {exc}"
                raise ArtifactError(msg) from exc
            # Not a database (or damaged): it is only a cache, so start it afresh.
            log.warning("hash cache %s is unreadable (%s); starting a new one", self.path, exc)
            self._remove_files()
            try:
                self._db = self._open()
            except sqlite3.DatabaseError as again:
                msg = f"cannot open the hash cache {self.path}: {again}; delete it (it is only a cache)"
                raise ArtifactError(msg) from again

    def _open(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=10)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            if db.execute("PRAGMA user_version").fetchone()[0] != SCHEMA_VERSION:
                db.execute("DROP TABLE IF EXISTS hashes")
                db.execute(
                    "CREATE TABLE hashes (path TEXT PRIMARY KEY, device INTEGER NOT NULL, "
                    "inode INTEGER NOT NULL, mtime_ns INTEGER NOT NULL, size INTEGER NOT NULL, "
                    "hash TEXT NOT NULL) WITHOUT ROWID"
                )
                db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        except BaseException:
            db.close()
            raise
        return db

    def _remove_files(self) -> None:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{self.path}{suffix}").unlink(missing_ok=True)

    def get(self, key: FileKey) -> str | None:
        """The id hex recorded for exactly this version of the file, else None."""
        return self.get_many([key]).get(key.path)

    def get_many(self, keys: Sequence[FileKey]) -> dict[str, str]:
        """Path to id hex for every key whose entry matches its device, inode, mtime and size."""
        wanted = {key.path: key for key in keys if _storable(key.path)}
        found: dict[str, str] = {}
        paths = list(wanted)
        with self._lock:
            try:
                for start in range(0, len(paths), _LOOKUP_SLICE):
                    part = paths[start : start + _LOOKUP_SLICE]
                    marks = ",".join("?" * len(part))
                    rows = self._db.execute(
                        "SELECT path, device, inode, mtime_ns, size, hash FROM hashes "
                        f"WHERE path IN ({marks})",
                        part,
                    )
                    found.update(
                        (path, hex_value)
                        for path, device, inode, mtime_ns, size, hex_value in rows
                        if wanted[path][1:] == (device, inode, mtime_ns, size)
                    )
            except sqlite3.Error as exc:
                log.warning("hash cache %s cannot be read (%s); hashing instead", self.path, exc)
        return found

    def put_many(self, items: Iterable[tuple[FileKey, str]], started_ns: int) -> int:
        """Remember the id hex of each file version, except racy ones (see the module docstring)."""
        rows = [
            (*key, hex_value)
            for key, hex_value in items
            if not is_racy(key, started_ns) and _storable(key.path)
        ]
        if not rows:
            return 0
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                try:
                    self._db.executemany("INSERT OR REPLACE INTO hashes VALUES (?, ?, ?, ?, ?, ?)", rows)
                except BaseException:
                    self._db.execute("ROLLBACK")
                    raise
                self._db.execute("COMMIT")
            except sqlite3.Error as exc:
                # A cache that cannot be written (read-only folder, disk full) only costs time.
                log.warning("hash cache %s cannot be written (%s)", self.path, exc)
                return 0
        return len(rows)

    def __len__(self) -> int:
        with self._lock:
            return self._db.execute("SELECT count(*) FROM hashes").fetchone()[0]

    def close(self) -> None:
        """Close the SQLite connection."""
        with self._lock:
            self._db.close()

    def __enter__(self) -> HashCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
