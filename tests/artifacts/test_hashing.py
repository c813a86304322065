"""BLAKE3 helpers: bytes, files, and hashing while copying (small and pipelined paths)."""

from __future__ import annotations

import io
import os
from pathlib import Path

import blake3
import pytest

from threadline.artifacts import hashing
from threadline.artifacts.hashing import CHUNK_SIZE, copy_hashing, hash_bytes, hash_file


def test_hash_bytes_is_blake3() -> None:
    assert hash_bytes(b"abc") == blake3.blake3(b"abc").hexdigest()
    assert hash_bytes(b"") == blake3.blake3(b"").hexdigest()


@pytest.mark.parametrize("size", [0, 10, CHUNK_SIZE, CHUNK_SIZE + 1, 3 * CHUNK_SIZE + 7])
def test_hash_file_matches_hash_bytes(tmp_path: Path, size: int) -> None:
    data = os.urandom(size)
    path = tmp_path / "f"
    path.write_bytes(data)
    assert hash_file(path) == (hash_bytes(data), size)


def test_multithreaded_hasher_gives_the_same_digest() -> None:
    data = os.urandom(1 << 20)
    assert hashing.new_hasher(hashing.PARALLEL_THRESHOLD).update(data).hexdigest() == hash_bytes(data)


@pytest.mark.parametrize("size", [0, 100, CHUNK_SIZE - 1, CHUNK_SIZE * 2 + 3, CHUNK_SIZE * 10])
@pytest.mark.parametrize("hinted", [True, False])
def test_copy_hashing_copies_and_hashes_in_one_pass(tmp_path: Path, size: int, hinted: bool) -> None:
    data = os.urandom(size)
    counts: list[int] = []
    buffers: set[int] = set()
    source = io.BytesIO(data)

    def readinto(buffer: memoryview) -> int:
        buffers.add(id(buffer.obj))
        counts.append(source.readinto(buffer))
        return counts[-1]

    progress: list[tuple[int, int]] = []
    fd = os.open(tmp_path / "out", os.O_WRONLY | os.O_CREAT)
    try:
        digest, copied = copy_hashing(
            readinto, fd, size_hint=size if hinted else 0, progress=lambda d, t: progress.append((d, t))
        )
    finally:
        os.close(fd)
    assert (digest, copied) == (hash_bytes(data), size)
    assert (tmp_path / "out").read_bytes() == data
    assert sum(counts) == size  # every byte read exactly once
    assert counts[-1] == 0
    assert len(buffers) <= 4  # a few buffers go round; none is allocated per read
    if size:
        assert progress[-1][0] == size


def test_stream_reader_uses_readinto_or_read() -> None:
    class OnlyRead:
        def __init__(self, data: bytes) -> None:
            self.source = io.BytesIO(data)

        def read(self, size: int) -> bytes:
            return self.source.read(size)

    for stream in (io.BytesIO(b"abcdef"), OnlyRead(b"abcdef")):
        readinto = hashing.stream_reader(stream)
        buffer = bytearray(4)
        assert readinto(buffer) == 4
        assert buffer == b"abcd"
        assert readinto(buffer) == 2
        assert buffer[:2] == b"ef"
        assert readinto(buffer) == 0


def test_a_write_failure_in_the_pipeline_surfaces(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []

    def failing_write(fd: int, data: bytes) -> None:
        calls.append(len(data))
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(hashing, "write_all", failing_write)
    source = io.BytesIO(os.urandom(CHUNK_SIZE * 6))
    fd = os.open(tmp_path / "out", os.O_WRONLY | os.O_CREAT)
    try:
        with pytest.raises(OSError, match="No space left"):
            copy_hashing(source.readinto, fd, size_hint=CHUNK_SIZE * 6)
    finally:
        os.close(fd)
    assert len(calls) == 1  # the writer stopped at the first failure


def test_write_all_handles_short_writes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real_write = os.write

    def short_write(fd: int, data: bytes) -> int:
        return real_write(fd, bytes(data)[:3])

    monkeypatch.setattr(hashing.os, "write", short_write)
    fd = os.open(tmp_path / "out", os.O_WRONLY | os.O_CREAT)
    try:
        hashing.write_all(fd, b"0123456789")
    finally:
        os.close(fd)
    assert (tmp_path / "out").read_bytes() == b"0123456789"
