"""The object database: layout, atomic writes, read-only objects, dedup, reading and removal."""

from __future__ import annotations

import io
import os
import stat
import time
from pathlib import Path

import pytest

from tests.artifacts.conftest import LARGE_SIZE
from threadline.artifacts import ObjectDB, ObjectId, hashing
from threadline.artifacts import objects as objects_module
from threadline.artifacts.hashing import hash_bytes
from threadline.errors import CorruptObject, ObjectNotFound


def test_layout_is_fan_out_by_the_first_two_hex_digits(odb: ObjectDB) -> None:
    oid = odb.add_bytes(b"hello")
    assert oid == ObjectId(hash_bytes(b"hello"))
    path = odb.path_of(oid)
    assert path == odb.root / oid.value[:2] / oid.value[2:]
    assert path.read_bytes() == b"hello"


def test_objects_are_read_only(odb: ObjectDB, large_file: Path) -> None:
    small = odb.add_bytes(b"small")
    large, _ = odb.add_file(large_file)
    for oid in (small, large):
        mode = stat.S_IMODE(odb.path_of(oid).stat().st_mode)
        assert mode & 0o222 == 0, oct(mode)
        assert mode & 0o400


def test_adding_again_is_a_no_op(odb: ObjectDB, large_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    oid = odb.add_bytes(b"same")
    mtime = odb.path_of(oid).stat().st_mtime_ns
    large, size = odb.add_file(large_file)
    large_mtime = odb.path_of(large).stat().st_mtime_ns
    time.sleep(0.01)

    def no_writes(*args: object) -> None:
        raise AssertionError("a duplicate small object must not be written at all")

    with monkeypatch.context() as patch:
        patch.setattr(odb, "_new_tmp", no_writes)
        assert odb.add_bytes(b"same") == oid
        with odb.open(oid) as fh:
            assert odb.add_fd(fh.fileno(), 4)[0] == oid
    assert odb.add_file(large_file) == (large, size)
    assert odb.path_of(oid).stat().st_mtime_ns == mtime
    assert odb.path_of(large).stat().st_mtime_ns == large_mtime  # not replaced
    assert sorted(odb.iter_ids()) == sorted([oid, large])
    assert not list(odb.tmp_dir.iterdir())


def test_large_files_are_streamed_and_hashed_while_copied(odb: ObjectDB, large_file: Path) -> None:
    progress: list[tuple[int, int]] = []
    oid, size = odb.add_file(large_file, progress=lambda d, t: progress.append((d, t)))
    data = large_file.read_bytes()
    assert (oid.value, size) == (hash_bytes(data), LARGE_SIZE)
    assert odb.path_of(oid).read_bytes() == data
    assert len(progress) >= 3
    assert progress[-1] == (LARGE_SIZE, LARGE_SIZE)


def test_a_file_that_grows_past_a_chunk_after_sizing_is_stored_whole(odb: ObjectDB, large_file: Path) -> None:
    fd = os.open(large_file, os.O_RDONLY)
    try:
        oid, size = odb.add_fd(fd, 10)  # a stale size hint: the small path must notice and stream
    finally:
        os.close(fd)
    assert size == LARGE_SIZE
    assert oid.value == hash_bytes(large_file.read_bytes())


def test_failure_mid_write_leaves_no_object_and_no_litter(
    odb: ObjectDB, large_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = hashing.write_all
    calls = []

    def fail_on_second_chunk(fd: int, data: bytes) -> None:
        calls.append(len(data))
        if len(calls) == 2:
            raise OSError(28, "No space left on device")
        real(fd, data)

    monkeypatch.setattr(hashing, "write_all", fail_on_second_chunk)
    with pytest.raises(OSError, match="No space left"):
        odb.add_file(large_file)
    assert list(odb.iter_ids()) == []
    assert list(odb.tmp_dir.iterdir()) == []
    assert [p for p in odb.root.rglob("*") if p.is_file()] == []


def test_failure_writing_a_small_object_leaves_no_litter(
    odb: ObjectDB, monkeypatch: pytest.MonkeyPatch
) -> None:
    def full_disk(fd: int, data: bytes) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(objects_module, "write_all", full_disk)
    with pytest.raises(OSError, match="No space left"):
        odb.add_bytes(b"small")
    assert list(odb.iter_ids()) == []
    assert [p for p in odb.root.rglob("*") if p.is_file()] == []


def test_failure_while_reading_leaves_no_litter(odb: ObjectDB) -> None:
    class Boom(Exception):
        pass

    def readinto(buffer: memoryview) -> int:
        raise Boom

    with pytest.raises(Boom):
        odb.add_stream(readinto, size_hint=LARGE_SIZE)
    assert list(odb.tmp_dir.iterdir()) == []


def test_add_stream_refuses_bytes_that_do_not_match_the_expected_id(odb: ObjectDB) -> None:
    expected = ObjectId(hash_bytes(b"good"))
    with pytest.raises(CorruptObject, match="was not stored") as caught:
        odb.add_stream(io.BytesIO(b"evil").readinto, expected=expected, source="remote X")
    assert caught.value.object_id == str(expected)
    assert caught.value.path == "remote X"
    assert not odb.has(expected)
    assert list(odb.tmp_dir.iterdir()) == []
    assert odb.add_stream(io.BytesIO(b"good").readinto, expected=expected) == (expected, 4)


def test_read_verifies_and_open_streams(odb: ObjectDB) -> None:
    oid = odb.add_bytes(b"content")
    assert odb.read(oid) == b"content"
    with odb.open(oid) as fh:
        assert fh.read() == b"content"
    assert odb.size(oid) == 7
    path = odb.path_of(oid)
    path.chmod(0o644)
    path.write_bytes(b"tampered")
    with pytest.raises(CorruptObject, match=f"object {oid} at .* is corrupt"):
        odb.read(oid)
    assert odb.read(oid, verify=False) == b"tampered"


def test_missing_objects_raise_object_not_found(odb: ObjectDB) -> None:
    missing = ObjectId("0" * 64)
    assert not odb.has(missing)
    for call in (odb.open, odb.read, odb.size):
        with pytest.raises(ObjectNotFound, match="threadline artifacts pull REMOTE") as caught:
            call(missing)
        assert caught.value.status == 404
        assert caught.value.object_id == str(missing)
    assert odb.remove(missing) is False


def test_remove_and_iterate(odb: ObjectDB) -> None:
    ids = {odb.add_bytes(str(i).encode()) for i in range(20)}
    (odb.root / "hashcache.db").write_bytes(b"")  # other files beside the objects are ignored
    (odb.root / "zz").mkdir()
    assert set(odb.iter_ids()) == ids
    victim = next(iter(ids))
    assert odb.remove(victim) is True
    assert set(odb.iter_ids()) == ids - {victim}


def test_an_empty_or_absent_database_iterates_nothing(tmp_path: Path) -> None:
    assert list(ObjectDB(tmp_path / "nowhere").iter_ids()) == []


def test_fsync_mode_stores_the_same(tmp_path: Path, large_file: Path) -> None:
    odb = ObjectDB(tmp_path / "synced", fsync=True)
    small = odb.add_bytes(b"x")
    large, _ = odb.add_file(large_file)
    assert odb.read(small) == b"x"
    assert odb.path_of(large).read_bytes() == large_file.read_bytes()


def test_a_vanished_fan_out_folder_is_made_again(odb: ObjectDB) -> None:
    oid = odb.add_bytes(b"one")
    odb.remove(oid)
    odb.path_of(oid).parent.rmdir()
    assert odb.add_bytes(b"one") == oid
    assert odb.read(oid) == b"one"


def test_clean_tmp_removes_only_stale_files(odb: ObjectDB) -> None:
    odb.tmp_dir.mkdir(parents=True)
    stale = odb.tmp_dir / "stale"
    fresh = odb.tmp_dir / "fresh"
    stale.write_bytes(b"")
    fresh.write_bytes(b"")
    old = time.time() - 2 * 24 * 3600
    os.utime(stale, (old, old))
    oid = odb.add_bytes(b"kept")
    stale_small = odb.path_of(oid).parent / ".tmp-crashed"
    stale_small.write_bytes(b"")
    os.utime(stale_small, (old, old))
    assert odb.clean_tmp() == 2
    assert not stale.exists()
    assert not stale_small.exists()
    assert fresh.exists()
    assert odb.read(oid) == b"kept"
