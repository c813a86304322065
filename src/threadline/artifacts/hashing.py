"""BLAKE3 hashing of bytes, files and streams, and hashing while copying.

Large inputs are streamed in :data:`CHUNK_SIZE` chunks and never held whole in memory. Copying hashes
exactly the bytes it writes, in one pass: the reading thread reads each chunk into a buffer and hashes
it, and a writer thread writes it, so reading, hashing and writing overlap (BLAKE3 and file I/O
release the GIL). Chunks are read with ``readinto`` into a few buffers that go round between the two
threads, rather than into a new 4 MiB ``bytes`` per read that the allocator would map (and the kernel
zero) afresh each time. Copying then runs at the speed of ``dd`` and ``cp`` on the same machine: the
kernel's writing into the page cache is the limit, not Python.

Hashing with ``max_threads=AUTO`` took BLAKE3 from about 5 to 8.5 GB/s there, so it is used from
:data:`PARALLEL_THRESHOLD` up, where it is worth a thread pool's start-up.
"""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Callable
from typing import Any

import blake3

#: Bytes read, hashed and written at a time.
CHUNK_SIZE = 4 * 1024 * 1024
#: From this size on, BLAKE3 may use every core for one input.
PARALLEL_THRESHOLD = 64 * 1024 * 1024
#: Buffers going round between the reader and the writer thread (memory: this many chunks).
_BUFFERS = 4
#: The smallest buffer used for a stream of unknown or small size.
_MIN_BUFFER = 64 * 1024

#: Reads into the buffer given, returns how many bytes it read (0 at the end), like ``readinto``.
ReadInto = Callable[[Any], int]
#: Called with (bytes done, bytes expected in all) as work proceeds.
Progress = Callable[[int, int], None]


def new_hasher(size_hint: int = 0) -> blake3.blake3:
    """A BLAKE3 hasher, multi-threaded when ``size_hint`` says the input is large."""
    if size_hint >= PARALLEL_THRESHOLD:
        return blake3.blake3(max_threads=blake3.blake3.AUTO)
    return blake3.blake3()


def hash_bytes(data: bytes | bytearray | memoryview) -> str:
    """The BLAKE3 hex digest of ``data``."""
    return new_hasher(len(data)).update(data).hexdigest()


def hash_file(path: str | os.PathLike[str]) -> tuple[str, int]:
    """Hash a file without copying it: ``(hex digest, size)``; large files are memory-mapped."""
    with open(path, "rb", buffering=0) as fh:
        size = os.fstat(fh.fileno()).st_size
        if size <= CHUNK_SIZE:
            data = fh.read()
            return hash_bytes(data), len(data)
    hasher = new_hasher(size)
    hasher.update_mmap(path)
    return hasher.hexdigest(), size


def fd_reader(fd: int) -> ReadInto:
    """A :data:`ReadInto` over an open file descriptor."""

    def readinto(buffer: Any) -> int:
        return os.readv(fd, [buffer])

    return readinto


def stream_reader(stream: Any) -> ReadInto:
    """A :data:`ReadInto` over a binary file object (its ``readinto``, or ``read`` when it has none)."""
    readinto = getattr(stream, "readinto", None)
    if readinto is not None:
        return lambda buffer: readinto(buffer) or 0

    def by_read(buffer: Any) -> int:
        data = stream.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    return by_read


def write_all(fd: int, data: bytes | bytearray | memoryview) -> None:
    """Write every byte of ``data`` to ``fd`` (``os.write`` may write less than asked)."""
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def copy_hashing(
    readinto: ReadInto,
    fd: int,
    *,
    size_hint: int = 0,
    progress: Progress | None = None,
) -> tuple[str, int]:
    """Copy everything ``readinto`` gives into ``fd``, hashing it on the way: ``(hex digest, size)``.

    ``size_hint`` (the expected size, if known) selects the strategy: a single buffer for small
    inputs, the reader/writer pipeline for larger ones. The digest is always that of the bytes written.
    """
    if size_hint < CHUNK_SIZE:
        return _copy_simple(readinto, fd, size_hint, progress)
    return _copy_pipelined(readinto, fd, new_hasher(size_hint), size_hint, progress)


def _copy_simple(readinto: ReadInto, fd: int, size_hint: int, progress: Progress | None) -> tuple[str, int]:
    hasher = blake3.blake3()
    buffer = bytearray(min(CHUNK_SIZE, max(_MIN_BUFFER, size_hint + 1)))
    view = memoryview(buffer)
    total = 0
    while count := readinto(view):
        chunk = view[:count]
        hasher.update(chunk)
        write_all(fd, chunk)
        total += count
        if progress is not None:
            progress(total, size_hint)
    return hasher.hexdigest(), total


def _copy_pipelined(
    readinto: ReadInto, fd: int, hasher: blake3.blake3, size_hint: int, progress: Progress | None
) -> tuple[str, int]:
    free: queue.Queue[memoryview] = queue.Queue()
    for _ in range(_BUFFERS):
        free.put(memoryview(bytearray(CHUNK_SIZE)))
    full: queue.Queue[memoryview | None] = queue.Queue()
    failure: list[BaseException] = []

    def writer() -> None:
        try:
            while (chunk := full.get()) is not None:
                write_all(fd, chunk)
                free.put(memoryview(chunk.obj))  # the whole buffer again, not the slice written
        except BaseException as exc:
            failure.append(exc)
            while (chunk := full.get()) is not None:  # hand buffers back so the reader never blocks
                free.put(memoryview(chunk.obj))

    thread = threading.Thread(target=writer, name="threadline-copy-writer", daemon=True)
    thread.start()
    total = 0
    try:
        while not failure:
            buffer = free.get()
            count = readinto(buffer)
            if not count:
                break
            chunk = buffer[:count]
            hasher.update(chunk)
            full.put(chunk)
            total += count
            if progress is not None:
                progress(total, size_hint)
    finally:
        full.put(None)
        thread.join()
    if failure:
        raise failure[0]
    return hasher.hexdigest(), total
