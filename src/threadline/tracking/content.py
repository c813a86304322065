"""Inputs and outputs: OpenLineage names for paths and URIs, and the content hash of local files.

Names follow the OpenLineage naming conventions (``spec/Naming.md``): a local file is namespace
``file`` with its absolute path as the name; a URI ``scheme://authority/path`` is namespace
``scheme://authority`` and name ``path`` (without the leading slash for object stores and databases,
``s3://bucket`` + ``key``; with it for file systems such as ``hdfs://namenode:8020`` + ``/path``).

A local file's content id is ``blake3:<hex>``, a folder's ``blake3:<hex>.dir`` (the id of its manifest,
as the artifact store computes it), found through the project's hash cache: a file whose path, device,
inode, mtime and size are unchanged since it was last hashed is not read again. Remote URIs are named
but not hashed.

What the user's thread does, and what it leaves to the tracking thread (``defer=True``, as the tracker
makes its reader): a file is stat'ed; if this process or the hash cache knows that version of it, and
the object store has its bytes (when they are to be stored), nothing is read. Otherwise the file is
hashed: read whole when it is to be stored and small (:data:`READ_WHOLE_BYTES`), else in place. When
it is to be stored and the object store lacks it, its bytes (up to :data:`SNAPSHOT_MAX_BYTES`) are held
in memory, hashed, and written later by the tracking thread (:meth:`ContentReader.settle`): those bytes
are the content recorded, so the file may change as soon as ``describe`` returns. A larger file is
copied into the store (a copy-on-write clone where the filesystem can) on the calling thread, and so
are bytes past :data:`PENDING_MAX_BYTES` waiting in memory. Entries for the hash cache
are collected and written by the tracking thread, many runs' in one transaction
(:meth:`ContentReader.remember_pending`). A file modified less than the hash cache's racy margin ago
(a file just written, as outputs are) cannot be in the cache, so it is not looked up there, and it is
not remembered in memory either: a second change in the same clock tick would not change its stat.
"""

from __future__ import annotations

import logging
import os
import stat
import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

from threadline.artifacts.add import add_tree
from threadline.artifacts.hashcache import FileKey, HashCacheLike, is_racy
from threadline.artifacts.hashing import CHUNK_SIZE, hash_bytes, hash_file
from threadline.artifacts.manifest import Manifest, ManifestEntry
from threadline.artifacts.object_id import ObjectId
from threadline.artifacts.objects import ObjectDB
from threadline.artifacts.tree import load_manifest, scan_tree
from threadline.errors import ArtifactError, TrackingError

LOCAL_NAMESPACE = "file"
#: Schemes whose names are file-system paths and keep their leading slash.
PATH_SCHEMES = frozenset({"hdfs", "dbfs", "sftp", "ftp", "webhdfs", "viewfs"})
#: File suffixes read as tables (schema and row count), and their format.
TABLE_FORMATS = {".csv": "csv", ".tsv": "tsv", ".parquet": "parquet", ".pq": "parquet"}
#: Files up to this size that are to be stored are read whole at once (hashing them in place first
#: would save little, and they are usually new to the store).
READ_WHOLE_BYTES = CHUNK_SIZE
#: Files up to this size that the store lacks are held in memory for the tracking thread to write;
#: larger ones are copied into the store on the calling thread.
SNAPSHOT_MAX_BYTES = 32 * 1024 * 1024
#: At most this many bytes wait in memory for the tracking thread to store them; past it the
#: user's thread stores them itself.
PENDING_MAX_BYTES = 64 * 1024 * 1024

log = logging.getLogger("threadline.tracking")


class _Recheck:
    """A marker: whether the object is stored is known once the writes queued before it are done."""


RECHECK: Any = _Recheck()


@dataclass(slots=True)
class DatasetRef:
    """An input or output as a run saw it: its OpenLineage name and, for local data, its content."""

    namespace: str
    name: str
    kind: str
    path: str | None = None
    oid: str | None = None
    size: int | None = None
    files: int | None = None
    stored: bool = False
    #: The file's stat identity when it was hashed, to tell whether it changed since.
    key: FileKey | None = None
    format: str | None = None
    #: Work left for the tracking thread: bytes to store under ``oid``, or :data:`RECHECK`.
    pending: Any = None
    #: Facets the caller gave: dataset facets (``schema``, ``columnLineage``, ...) and input or output
    #: facets (``dataQualityAssertions``, ``outputStatistics``, ...), each a JSON document by name.
    facets: dict[str, Any] | None = None
    io_facets: dict[str, Any] | None = None

    @property
    def is_local(self) -> bool:
        """Whether the dataset is a local file or folder."""
        return self.path is not None


def dataset_name(target: str | os.PathLike[str]) -> tuple[str, str, str | None]:
    """``(namespace, name, local path or None)`` of a path or URI, by the OpenLineage conventions."""
    text = os.fspath(target)
    if isinstance(target, os.PathLike) or "://" not in text:
        path = os.path.abspath(os.path.expanduser(text))  # noqa: PTH100, PTH111 - plain strings, fast
        return LOCAL_NAMESPACE, path, path
    parts = urlsplit(text)
    scheme = parts.scheme.lower()
    if scheme == "file":
        path = unquote(parts.path) or "/"
        if parts.netloc in ("", "localhost"):
            return LOCAL_NAMESPACE, path, path
        return f"file://{parts.netloc}", path, None
    namespace = f"{scheme}://{parts.netloc}"
    name = parts.path if scheme in PATH_SCHEMES else parts.path.lstrip("/")
    if parts.query:
        name += f"?{parts.query}"
    return namespace, name or "/", None


def table_format(path: str) -> str | None:
    """``csv``, ``tsv`` or ``parquet`` when the file's suffix says it is a table, else ``None``."""
    return TABLE_FORMATS.get(os.path.splitext(path)[1].lower())  # noqa: PTH122 - hot path


class ContentReader:
    """Hashes (and optionally stores) local inputs and outputs through a hash cache.

    With ``defer``, writes that can wait (stored bytes, hash cache entries) are left for
    :meth:`settle` and :meth:`remember_pending`, which the tracking thread calls.
    """

    def __init__(self, hash_cache: HashCacheLike, odb: ObjectDB, *, defer: bool = False) -> None:
        self.hash_cache = hash_cache
        self.odb = odb
        self.defer = defer
        # Path to (key, hex): saves the cache's SQLite lookup for files seen before in this process.
        self._memo: dict[str, tuple[FileKey, str]] = {}
        self._lock = threading.Lock()
        self._pending_bytes = 0
        self._pending_ids: dict[str, int] = {}
        self._remember: list[tuple[FileKey, str]] = []

    def describe(self, target: str | os.PathLike[str], kind: str, *, store: bool, role: str) -> DatasetRef:
        """Name ``target`` and, when it is local, hash it (and store it when ``store``).

        Raises :class:`TrackingError` naming the path when a local path does not exist or cannot be read.
        """
        namespace, name, path = dataset_name(target)
        ref = DatasetRef(namespace, name, kind, path=path)
        if path is None:
            return ref
        try:
            st = os.stat(path)  # noqa: PTH116 - the stat result feeds the hash cache key
        except FileNotFoundError:
            msg = f"{role} {os.fspath(target)} does not exist ({path})"
            raise TrackingError(msg) from None
        except PermissionError:
            msg = f"cannot read {role} {os.fspath(target)}: permission denied"
            raise TrackingError(msg) from None
        try:
            if stat.S_ISDIR(st.st_mode):
                self._folder(ref, path, store)
            elif stat.S_ISREG(st.st_mode):
                self._file(ref, path, st, store)
            else:
                msg = f"{role} {os.fspath(target)} is neither a regular file nor a folder"
                raise TrackingError(msg)
        except PermissionError:
            msg = f"cannot read {role} {os.fspath(target)}: permission denied"
            raise TrackingError(msg) from None
        except FileNotFoundError:
            msg = f"{role} {os.fspath(target)} disappeared while it was being read"
            raise TrackingError(msg) from None
        except ArtifactError as exc:
            msg = f"{role} {os.fspath(target)}: {exc.message}"
            raise TrackingError(msg) from exc
        return ref

    def _file(self, ref: DatasetRef, path: str, st: os.stat_result, store: bool) -> None:
        key = FileKey.from_stat(path, st)
        ref.key = key
        ref.format = table_format(path)
        ref.size = key.size
        hex_value = self._known(key)
        data = None
        if hex_value is None:
            if store and key.size <= READ_WHOLE_BYTES:
                hex_value, data = self._read(path, key)
                ref.size = len(data)
            else:
                hex_value = self._hash(path, key)
        ref.oid = f"blake3:{hex_value}"
        oid = ObjectId(hex_value)
        if self.odb.has(oid):
            ref.stored = True
            return
        if hex_value in self._pending_ids:
            ref.stored = True
            ref.pending = RECHECK  # queued for the tracking thread: settle() sees whether it was stored
            return
        if not store:
            return
        if data is None and key.size <= SNAPSHOT_MAX_BYTES:
            hex_value, data = self._read(path, key)  # new to the store: what it will hold, in memory
            ref.oid, ref.size = f"blake3:{hex_value}", len(data)
        if data is None:
            stored, size = self.odb.add_file(path)  # large: hashes what it copies (or clones)
            ref.oid, ref.size = str(stored), size
        elif self.defer and self._reserve(hex_value, len(data)):
            ref.pending = data
        else:
            self.odb.add_bytes(data, known_id=ObjectId(hex_value))
        ref.stored = True

    def _known(self, key: FileKey) -> str | None:
        """The hex of this file version if this process or the hash cache knows it."""
        known = self._memo.get(key.path)
        if known is not None and known[0] == key:
            return known[1]
        if is_racy(key, time.time_ns()):
            return None  # modified just now: no entry can describe it (see the module docstring)
        return self.hash_cache.get(key)

    def _read(self, path: str, key: FileKey) -> tuple[str, bytes]:
        """Read a small file whole: the hex of the bytes read, and the bytes."""
        started = time.time_ns()
        with open(path, "rb", buffering=0) as fh:
            data = fh.read()
            after = os.fstat(fh.fileno())
        hex_value = hash_bytes(data)
        if len(data) == key.size and FileKey.from_stat(path, after) == key:
            self._learn(key, hex_value, started)
        return hex_value, data

    def _hash(self, path: str, key: FileKey) -> str:
        started = time.time_ns()
        hex_value, size = hash_file(path)
        after = os.stat(path)  # noqa: PTH116
        if size == key.size and FileKey.from_stat(path, after) == key:
            self._learn(key, hex_value, started)
        return hex_value

    def _learn(self, key: FileKey, hex_value: str, started: int) -> None:
        """Remember a file version hashed from ``started`` on, unless it may still change unseen."""
        if is_racy(key, started):
            return
        if len(self._memo) > 4096:
            self._memo.clear()
        self._memo[key.path] = (key, hex_value)
        if not self.defer:
            self.hash_cache.put_many([(key, hex_value)], started)
            return
        with self._lock:
            self._remember.append((key, hex_value))

    def file_hash(self, path: str, key: FileKey) -> str:
        """The BLAKE3 hex of the file ``key`` describes: from memory, the hash cache, else by reading it."""
        known = self._known(key)
        return known if known is not None else self._hash(path, key)

    # ---- the tracking thread's part -------------------------------------------------------------

    def _reserve(self, hex_value: str, size: int) -> bool:
        with self._lock:
            if self._pending_bytes + size > PENDING_MAX_BYTES:
                return False
            self._pending_bytes += size
            self._pending_ids[hex_value] = self._pending_ids.get(hex_value, 0) + 1
            return True

    def settle(self, ref: DatasetRef) -> None:
        """Do what :meth:`describe` left for later: store the bytes it read, or see whether they are.

        A write that fails (a full disk) leaves the dataset recorded as not stored, with a warning.
        """
        pending = ref.pending
        if pending is None:
            return
        ref.pending = None
        assert ref.oid is not None
        oid = ObjectId(ref.oid.removeprefix("blake3:"))
        if pending is RECHECK:
            ref.stored = self.odb.has(oid)
            return
        try:
            self.odb.add_bytes(pending, known_id=oid)
        except OSError as exc:
            ref.stored = False
            log.warning(
                "threadline: cannot store %s in %s (%s); it is recorded as not stored",
                ref.path,
                self.odb.root,
                exc,
            )
        finally:
            with self._lock:
                self._pending_bytes -= len(pending)
                left = self._pending_ids.get(oid.value, 1) - 1
                if left:
                    self._pending_ids[oid.value] = left
                else:
                    self._pending_ids.pop(oid.value, None)

    def remember_pending(self) -> int:
        """Write the hash cache entries collected since the last call, in one transaction."""
        with self._lock:
            items, self._remember = self._remember, []
        if not items:
            return 0
        # Entries were not racy when they were hashed, so they are not now either.
        return self.hash_cache.put_many(items, time.time_ns())

    def _folder(self, ref: DatasetRef, path: str, store: bool) -> None:
        if store:
            oid = add_tree(self.odb, path, hash_cache=self.hash_cache)
            manifest = load_manifest(self.odb, oid)
            ref.stored = True
        else:
            entries = []
            for tree_file in scan_tree(path):
                key = FileKey.from_stat(tree_file.path, tree_file.st)
                hex_value = self.file_hash(tree_file.path, key)
                entries.append(
                    ManifestEntry(tree_file.rel, ObjectId(hex_value), key.size, tree_file.executable)
                )
            manifest = Manifest(entries)
            oid = ObjectId(hash_bytes(manifest.to_bytes()), is_dir=True)
            ref.stored = self.odb.has(oid.file_id)
        ref.oid = str(oid)
        ref.size = manifest.size
        ref.files = len(manifest)
