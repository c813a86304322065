"""The object database: bytes stored under their BLAKE3 id in a fan-out folder.

Layout under the root folder::

    ab/cdef…           the object whose id is blake3:abcdef… (first two hex digits as folder)
    ab/.tmp-…          a small object being written (its id, hence its folder, is known first)
    tmp/.tmp-…         a large object being written while it is hashed

An object is written under a temporary name, created read-only (mode 0o444 less the umask),
optionally fsynced, then renamed to its final name once its id is known; a reader therefore sees a
complete object or none. Adding an object that exists is a no-op: small inputs are hashed before
anything is written, large ones are streamed to a temporary file that is dropped if the object turns
out to exist. A small object's temporary file lives in its own fan-out folder because a rename within
one folder is cheaper than across folders (Linux serialises cross-folder renames on a filesystem-wide
lock) and parallel writers then spread over 256 folders instead of contending for one.

The database knows nothing of directories or hash caches (see ``manifest`` and ``hashcache``): it
stores bytes by id.
"""

# ruff: noqa: PTH103, PTH105, PTH108, PTH116
# Objects are handled as string paths with os.* calls on purpose: this module runs once or more per
# object in loops over tens of thousands of files, where building pathlib objects costs more than the
# system calls themselves.

from __future__ import annotations

import contextlib
import io
import itertools
import os
import secrets
import time
from collections.abc import Iterator
from pathlib import Path

from threadline.artifacts import reflink
from threadline.artifacts.hashing import (
    CHUNK_SIZE,
    Progress,
    ReadInto,
    copy_hashing,
    fd_reader,
    hash_bytes,
    hash_file,
    write_all,
)
from threadline.artifacts.object_id import ObjectId
from threadline.errors import CorruptObject, ObjectNotFound

TMP_DIR_NAME = "tmp"
#: Temporary files start with this; object names are 62 hex digits, so they never clash.
TMP_PREFIX = ".tmp-"
#: Mode of a stored object (the umask still applies).
OBJECT_MODE = 0o444
#: Temporary files older than this are litter from a crashed writer; :meth:`ObjectDB.clean_tmp` removes them.
STALE_TMP_SECONDS = 24 * 3600

_HEX_DIGITS = frozenset("0123456789abcdef")
# A per-process token plus a counter make temporary names unique across processes and threads
# without the retries of tempfile.mkstemp.
_TOKEN = secrets.token_hex(4)
_COUNTER = itertools.count()


def _is_hex(text: str, length: int) -> bool:
    return len(text) == length and _HEX_DIGITS.issuperset(text)


class ObjectDB:
    """Objects stored by id under ``root``; safe to use from several threads and processes."""

    def __init__(self, root: str | os.PathLike[str], *, fsync: bool = False) -> None:
        self.root = Path(root)
        self.tmp_dir = self.root / TMP_DIR_NAME
        self.fsync = fsync
        self._root = os.fspath(self.root)
        self._made_dirs: set[str] = set()

    def __repr__(self) -> str:
        return f"ObjectDB({self._root!r})"

    # -- paths and lookups -------------------------------------------------------------------------

    def path_of(self, oid: ObjectId) -> Path:
        """Where object ``oid`` lives (whether or not it is there)."""
        return Path(self._path(oid.value))

    def _path(self, hex_value: str) -> str:
        return f"{self._root}/{hex_value[:2]}/{hex_value[2:]}"

    def has(self, oid: ObjectId) -> bool:
        """Whether object ``oid`` is stored."""
        try:
            os.stat(self._path(oid.value))
        except FileNotFoundError:
            return False
        return True

    def size(self, oid: ObjectId) -> int:
        """The size of object ``oid`` in bytes; raises :class:`ObjectNotFound` when absent."""
        try:
            return os.stat(self._path(oid.value)).st_size
        except FileNotFoundError:
            raise self._not_found(oid) from None

    def iter_ids(self) -> Iterator[ObjectId]:
        """Every stored object, as plain (file) ids, in no particular order."""
        try:
            top = list(os.scandir(self._root))
        except FileNotFoundError:
            return
        for folder in top:
            if not (_is_hex(folder.name, 2) and folder.is_dir(follow_symlinks=False)):
                continue
            with os.scandir(folder.path) as entries:
                for entry in entries:
                    if _is_hex(entry.name, 62):
                        yield ObjectId(folder.name + entry.name)

    # -- reading -----------------------------------------------------------------------------------

    def open(self, oid: ObjectId) -> io.FileIO:
        """Open object ``oid`` for reading (unbuffered, not verified: see :meth:`read`)."""
        try:
            return open(self._path(oid.value), "rb", buffering=0)
        except FileNotFoundError:
            raise self._not_found(oid) from None

    def read(self, oid: ObjectId, *, verify: bool = True) -> bytes:
        """The bytes of object ``oid``, checked against its id unless ``verify`` is false.

        Meant for small objects such as manifests; stream large ones with :meth:`open`.
        """
        with self.open(oid) as fh:
            data = fh.read()
        if verify:
            actual = hash_bytes(data)
            if actual != oid.value:
                raise CorruptObject(str(oid), self._path(oid.value), actual)
        return data

    # -- writing -----------------------------------------------------------------------------------

    def add_bytes(self, data: bytes, *, known_id: ObjectId | None = None) -> ObjectId:
        """Store ``data``; returns its id. A no-op when it is already stored.

        ``known_id`` is the id of ``data`` when the caller has just hashed these very bytes (held in
        memory since): they are not hashed again.
        """
        oid = known_id if known_id is not None else ObjectId(hash_bytes(data))
        if not self.has(oid):
            fd, tmp = self._new_tmp(oid.value[:2])
            try:
                write_all(fd, data)
                self._finish(fd, tmp)
            except BaseException:
                self._discard(fd, tmp)
                raise
            self._install(tmp, oid.value, checked_absent=True)
        return oid

    def add_file(
        self, path: str | os.PathLike[str], *, progress: Progress | None = None
    ) -> tuple[ObjectId, int]:
        """Store a copy of the file at ``path``, hashing while copying: ``(id, size)``."""
        fd = os.open(path, os.O_RDONLY)
        try:
            return self.add_fd(fd, os.fstat(fd).st_size, progress=progress)
        finally:
            os.close(fd)

    def add_fd(self, fd: int, size_hint: int, *, progress: Progress | None = None) -> tuple[ObjectId, int]:
        """Store what is read from the open file descriptor ``fd``: ``(id, size)``.

        Files up to one chunk are read whole and hashed before anything is written, so a duplicate costs
        no write at all. A larger one is cloned (see ``reflink``) where the filesystem can, and the clone
        hashed; otherwise it is copied to a temporary file while being hashed, in one pass.
        """
        if size_hint <= CHUNK_SIZE:
            data = _read_small(fd, size_hint)
            if len(data) <= CHUNK_SIZE:
                oid = self.add_bytes(data)
                if progress is not None:
                    progress(len(data), len(data))
                return oid, len(data)
            return self._add_stream(_Prefixed(data, fd_reader(fd)), None, len(data), progress)
        cloned = self._add_by_clone(fd, progress)
        if cloned is not None:
            return cloned
        return self._add_stream(fd_reader(fd), None, size_hint, progress)

    def _add_by_clone(self, fd: int, progress: Progress | None) -> tuple[ObjectId, int] | None:
        """Store a copy-on-write clone of the whole file ``fd``, hashed; None where clones are impossible."""
        tmp_fd, tmp = self._new_tmp()
        try:
            if not reflink.clone(fd, tmp_fd):
                self._discard(tmp_fd, tmp)
                return None
            hex_value, size = hash_file(tmp)  # the clone's bytes are what is stored: hash those
            self._finish(tmp_fd, tmp)
        except BaseException:
            self._discard(tmp_fd, tmp)
            raise
        self._install(tmp, hex_value)
        if progress is not None:
            progress(size, size)
        return ObjectId(hex_value), size

    def add_stream(
        self,
        readinto: ReadInto,
        *,
        expected: ObjectId | None = None,
        size_hint: int = 0,
        source: str = "the stream",
        progress: Progress | None = None,
    ) -> tuple[ObjectId, int]:
        """Store what ``readinto(buffer)`` gives until it returns 0: ``(id, size)``.

        Wrap a file object with :func:`~threadline.artifacts.hashing.stream_reader`.

        With ``expected``, bytes that hash to anything else are not stored: :class:`CorruptObject`
        names ``source`` as where the bad bytes came from.
        """
        return self._add_stream(readinto, expected, size_hint, progress, source)

    def _add_stream(
        self,
        readinto: ReadInto,
        expected: ObjectId | None,
        size_hint: int,
        progress: Progress | None,
        source: str = "the stream",
    ) -> tuple[ObjectId, int]:
        fd, tmp = self._new_tmp()
        try:
            hex_value, size = copy_hashing(readinto, fd, size_hint=size_hint, progress=progress)
            if expected is not None and hex_value != expected.value:
                msg = "it was not stored; the copy there is damaged, re-push it from a good copy"
                raise CorruptObject(str(expected), source, hex_value, hint=msg)
            self._finish(fd, tmp)
        except BaseException:
            self._discard(fd, tmp)
            raise
        self._install(tmp, hex_value)
        return ObjectId(hex_value), size

    def remove(self, oid: ObjectId) -> bool:
        """Delete object ``oid``; returns whether it was there."""
        try:
            os.unlink(self._path(oid.value))
        except FileNotFoundError:
            return False
        return True

    def clean_tmp(self, older_than: float = STALE_TMP_SECONDS) -> int:
        """Remove temporary files left by writers that crashed ``older_than`` seconds ago or more."""
        cutoff = time.time() - older_than
        removed = 0
        try:
            folders = [e.path for e in os.scandir(self._root) if e.name == TMP_DIR_NAME or _is_hex(e.name, 2)]
        except FileNotFoundError:
            return 0
        for folder in folders:
            with contextlib.suppress(FileNotFoundError, NotADirectoryError), os.scandir(folder) as entries:
                for entry in entries:
                    if not entry.name.startswith(TMP_PREFIX) and not folder.endswith(f"/{TMP_DIR_NAME}"):
                        continue
                    with contextlib.suppress(FileNotFoundError):
                        if entry.is_file(follow_symlinks=False) and entry.stat().st_mtime < cutoff:
                            os.unlink(entry.path)
                            removed += 1
        return removed

    # -- internals ---------------------------------------------------------------------------------

    def _not_found(self, oid: ObjectId) -> ObjectNotFound:
        msg = (
            f"object {oid} is not in the object store {self._root}; "
            f"fetch it with `threadline artifacts pull REMOTE {oid}`"
        )
        return ObjectNotFound(msg, str(oid))

    def _new_tmp(self, folder: str = TMP_DIR_NAME) -> tuple[int, str]:
        """A new temporary file in ``folder`` (``tmp``, or the fan-out folder of a known id)."""
        where = f"{self._root}/{folder}"
        tmp = f"{where}/{TMP_PREFIX}{_TOKEN}-{os.getpid()}-{next(_COUNTER)}"
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
        try:
            return os.open(tmp, flags, OBJECT_MODE), tmp
        except FileNotFoundError:
            os.makedirs(where, exist_ok=True)
            return os.open(tmp, flags, OBJECT_MODE), tmp

    def _finish(self, fd: int, tmp: str) -> None:
        if self.fsync:
            os.fsync(fd)
        os.close(fd)

    @staticmethod
    def _discard(fd: int, tmp: str) -> None:
        with contextlib.suppress(OSError):
            os.close(fd)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)

    def _install(self, tmp: str, hex_value: str, *, checked_absent: bool = False) -> None:
        """Rename the finished temporary file to its final name (or drop it: the object exists).

        ``checked_absent`` skips looking again for an object just found missing; should another writer
        store it meanwhile, the rename replaces it with the very same bytes.
        """
        final = self._path(hex_value)
        prefix = hex_value[:2]
        if prefix not in self._made_dirs:
            os.makedirs(f"{self._root}/{prefix}", exist_ok=True)
            self._made_dirs.add(prefix)
        if not checked_absent:
            try:
                os.stat(final)
            except FileNotFoundError:
                pass
            else:
                os.unlink(tmp)  # the same bytes are already stored
                return
        try:
            os.replace(tmp, final)
        except FileNotFoundError:
            # The fan-out folder was removed behind our back (say, by hand): make it and retry once.
            os.makedirs(f"{self._root}/{prefix}", exist_ok=True)
            try:
                os.replace(tmp, final)
            except BaseException:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(tmp)
                raise
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
        if self.fsync:
            _fsync_dir(f"{self._root}/{prefix}")


class _Prefixed:
    """A :data:`ReadInto` that first gives bytes already read, then continues with ``readinto``."""

    def __init__(self, head: bytes, readinto: ReadInto) -> None:
        self._head = memoryview(head)
        self._readinto = readinto

    def __call__(self, buffer: memoryview) -> int:
        if self._head:
            count = min(len(buffer), len(self._head))
            buffer[:count] = self._head[:count]
            self._head = self._head[count:]
            return count
        return self._readinto(buffer)


def _read_small(fd: int, size_hint: int) -> bytes:
    """Read a file sized ``size_hint``: up to one chunk plus one byte, to notice a file that grew."""
    parts: list[bytes] = []
    got = 0
    wanted = size_hint + 1  # never ask for a whole chunk for a tiny file: os.read allocates what is asked
    while got <= CHUNK_SIZE:
        chunk = os.read(fd, wanted)
        parts.append(chunk)
        got += len(chunk)
        if len(chunk) < wanted:  # a short read of a regular file: the end (saves a read per file)
            break
        wanted = CHUNK_SIZE + 1 - got
    return parts[0] if len(parts) == 1 else b"".join(parts)


def _fsync_dir(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
