"""Inputs and outputs: OpenLineage names for paths and URIs, and the content hash of local files.

Names follow the OpenLineage naming conventions (``spec/Naming.md``): a local file is namespace
``file`` with its absolute path as the name; a URI ``scheme://authority/path`` is namespace
``scheme://authority`` and name ``path`` (without the leading slash for object stores and databases,
``s3://bucket`` + ``key``; with it for file systems such as ``hdfs://namenode:8020`` + ``/path``).

A local file's content id is ``blake3:<hex>``, a folder's ``blake3:<hex>.dir`` (the id of its manifest,
as the artifact store computes it), found through the project's hash cache: a file whose path, device,
inode, mtime and size are unchanged since it was last hashed is not read again. Remote URIs are named
but not hashed.
"""

from __future__ import annotations

import os
import stat
import time
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from threadline.artifacts.add import add_file, add_tree
from threadline.artifacts.hashcache import FileKey, HashCacheLike
from threadline.artifacts.hashing import hash_bytes, hash_file
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
    """Hashes (and optionally stores) local inputs and outputs through a hash cache."""

    def __init__(self, hash_cache: HashCacheLike, odb: ObjectDB) -> None:
        self.hash_cache = hash_cache
        self.odb = odb
        # Path to (key, hex): saves the cache's SQLite lookup for files seen before in this process.
        self._memo: dict[str, tuple[FileKey, str]] = {}

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
        if store:
            oid, size = add_file(self.odb, path, hash_cache=self.hash_cache)
            ref.oid, ref.size, ref.stored = str(oid), size, True
            return
        ref.oid, ref.size = f"blake3:{self.file_hash(path, key)}", st.st_size
        ref.stored = self.odb.has(ObjectId(ref.oid.removeprefix("blake3:")))

    def file_hash(self, path: str, key: FileKey) -> str:
        """The BLAKE3 hex of the file ``key`` describes: from memory, the hash cache, else by reading it."""
        known = self._memo.get(path)
        if known is not None and known[0] == key:
            return known[1]
        hex_value = self.hash_cache.get(key)
        if hex_value is None:
            started = time.time_ns()
            hex_value, size = hash_file(path)
            after = os.stat(path)  # noqa: PTH116
            if size == key.size and FileKey.from_stat(path, after) == key:
                self.hash_cache.put_many([(key, hex_value)], started)
        if len(self._memo) > 4096:
            self._memo.clear()
        self._memo[path] = (key, hex_value)
        return hex_value

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
