"""Fixtures for the artifact store tests: object databases, hash caches and small trees on disk."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from threadline.artifacts import ArtifactStore, HashCache, ObjectDB
from threadline.artifacts.hashing import CHUNK_SIZE

#: Bigger than one chunk, so that it takes the streaming (pipelined) paths.
LARGE_SIZE = 2 * CHUNK_SIZE + 12345


def make_old(*paths: Path, seconds: float = 3600) -> None:
    """Move the mtime of files back, so that the hash cache does not treat them as racy."""
    when = time.time_ns() - int(seconds * 1e9)
    for path in paths:
        os.utime(path, ns=(when, when))


def write_tree(root: Path, files: dict[str, bytes | str], *, old: bool = True) -> Path:
    """Create ``root`` with the given files (relative POSIX path to content)."""
    root.mkdir(parents=True, exist_ok=True)
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content.encode() if isinstance(content, str) else content)
        if old:
            make_old(path)
    return root


def tree_bytes(root: Path) -> dict[str, tuple[bytes, bool]]:
    """Every file under ``root``: relative path to (content, executable)."""
    found = {}
    for path in sorted(root.rglob("*")):
        if path.is_file():
            found[path.relative_to(root).as_posix()] = (path.read_bytes(), os.access(path, os.X_OK))
    return found


def litter(folder: Path) -> list[str]:
    """Names of temporary files left anywhere below ``folder``."""
    return sorted(
        p.name for p in folder.rglob("*") if "threadline-tmp" in p.name or "threadline-old" in p.name
    )


@pytest.fixture
def odb(tmp_path: Path) -> ObjectDB:
    """An empty object database."""
    return ObjectDB(tmp_path / "objects")


@pytest.fixture
def hash_cache(tmp_path: Path) -> Iterator[HashCache]:
    """An empty SQLite hash cache."""
    cache = HashCache(tmp_path / "hashcache.db")
    yield cache
    cache.close()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[ArtifactStore]:
    """An artifact store with a real hash cache."""
    opened = ArtifactStore(tmp_path / "store")
    yield opened
    opened.close()


@pytest.fixture
def large_file(tmp_path: Path) -> Path:
    """A file of a bit more than two chunks of random-ish bytes, with an old mtime."""
    path = tmp_path / "large.bin"
    block = os.urandom(1 << 16)
    path.write_bytes((block * (LARGE_SIZE // len(block) + 1))[:LARGE_SIZE])
    make_old(path)
    return path


@pytest.fixture
def sample_tree(tmp_path: Path) -> Path:
    """A small folder: nested files, a duplicate, an empty file and an executable."""
    root = write_tree(
        tmp_path / "data",
        {
            "a.txt": "alpha",
            "b/c.csv": "x,y\n1,2\n",
            "b/d/e.txt": "alpha",  # same bytes as a.txt: one object
            "empty.txt": "",
            "run.sh": "#!/bin/sh\necho hi\n",
        },
    )
    (root / "run.sh").chmod(0o755)
    make_old(root / "run.sh")
    return root
