"""Copy-on-write clones: used where the filesystem can, the clone (not the source) hashed, else a copy.

The real clone test needs a filesystem with reflinks (XFS, btrfs): set ``THREADLINE_TEST_REFLINK_DIR``
to a folder on one (for example a loop-mounted ``mkfs.xfs -m reflink=1`` image); it is skipped otherwise.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.artifacts.conftest import LARGE_SIZE, make_old
from threadline.artifacts import ObjectDB, add_path, checkout, reflink
from threadline.artifacts import objects as objects_module
from threadline.artifacts.hashing import hash_bytes
from threadline.errors import CorruptObject


def fake_clone(payload: bytes | None = None) -> object:
    """A stand-in for a working FICLONE: copies the source's bytes (or ``payload``) into the target."""

    def clone(source_fd: int, target_fd: int) -> bool:
        data = payload if payload is not None else Path(f"/proc/self/fd/{source_fd}").read_bytes()
        os.pwrite(target_fd, data, 0)
        return True

    return clone


def test_clone_never_raises_for_an_unsupported_filesystem(tmp_path: Path) -> None:
    (tmp_path / "a").write_bytes(b"x" * 10)
    with open(tmp_path / "a", "rb") as source, open(tmp_path / "b", "wb") as target:
        assert reflink.clone(source.fileno(), target.fileno()) in (True, False)


def test_a_clone_is_used_and_the_clone_itself_is_hashed(
    odb: ObjectDB, large_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cloned = b"what the clone holds" * 300_000  # e.g. the source changed right after the clone
    monkeypatch.setattr(reflink, "clone", fake_clone(cloned))
    monkeypatch.setattr(objects_module, "copy_hashing", None)  # a copy must not happen
    oid = add_path(odb, large_file)
    assert oid.value == hash_bytes(cloned)
    assert odb.read(oid) == cloned
    assert list(odb.tmp_dir.iterdir()) == []


def test_without_clones_large_files_are_copied(
    odb: ObjectDB, large_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(reflink, "clone", lambda source_fd, target_fd: False)
    oid = add_path(odb, large_file)
    assert odb.read(oid) == large_file.read_bytes()
    assert list(odb.tmp_dir.iterdir()) == []


def test_checkout_verifies_a_clone(
    odb: ObjectDB, large_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    oid = add_path(odb, large_file)
    monkeypatch.setattr(reflink, "clone", fake_clone())
    checkout(odb, oid, tmp_path / "good.bin")
    assert (tmp_path / "good.bin").read_bytes() == large_file.read_bytes()
    monkeypatch.setattr(reflink, "clone", fake_clone(b"x" * LARGE_SIZE))  # a clone of damaged blocks
    with pytest.raises(CorruptObject):
        checkout(odb, oid, tmp_path / "bad.bin")
    assert not (tmp_path / "bad.bin").exists()


@pytest.fixture
def cow_dir(tmp_path: Path) -> Iterator[Path]:
    """A fresh folder on a filesystem with reflinks, from THREADLINE_TEST_REFLINK_DIR; else skipped."""
    base = os.environ.get("THREADLINE_TEST_REFLINK_DIR")
    if not base:
        pytest.skip("THREADLINE_TEST_REFLINK_DIR is not set (a folder on XFS or btrfs)")
    folder = Path(base) / f"threadline-test-{os.getpid()}-{tmp_path.name}"
    folder.mkdir(parents=True)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def test_real_clones_on_a_copy_on_write_filesystem(cow_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[bool] = []
    real = reflink.clone

    def spy(source_fd: int, target_fd: int) -> bool:
        calls.append(real(source_fd, target_fd))
        return calls[-1]

    monkeypatch.setattr(reflink, "clone", spy)
    source = cow_dir / "big.bin"
    original = os.urandom(LARGE_SIZE)
    source.write_bytes(original)
    make_old(source)
    odb = ObjectDB(cow_dir / "objects")
    oid = add_path(odb, source)
    assert calls == [True]
    with open(source, "r+b") as fh:  # change the source in place: the clone must not see it
        fh.write(b"CHANGED")
    assert odb.read(oid) == original
    checkout(odb, oid, cow_dir / "restored.bin")
    assert calls == [True, True]
    assert (cow_dir / "restored.bin").read_bytes() == original
